"""Session files: an experiment, where its training stands, its history and its view.

A session file (``*.bpgui``) is a ZIP archive -- the layout NumPy's ``.npz`` uses -- with

* ``session.json``: the description (format, schema version, setup, run state, view,
  restarts' settings), plain JSON that any tool can read;
* ``history.<column>.npy``, ``restarts.<name>.npy`` (and since schema 3 ``basins.*``,
  ``sweep.*``, ``race.*``, see :mod:`bpgui_engine.session.maps`): standard NumPy arrays, so
  ``numpy.load("run.bpgui")["history.sse"]`` works without this app.

No pickles, no code.  Every field is described in ``docs/session-format.md``.  Reading
validates everything and raises :class:`SessionError` with one clear line naming the
field at fault; writing is atomic (a temporary file in the same folder, then a rename),
so a failed save never touches the file it was replacing.

Qt-free: used by the app, by ``bpgui train SESSION`` and by ``bpgui surface SESSION``.
"""

from __future__ import annotations

import json

import numpy as np

from bpgui_engine.model.setup import Setup
from bpgui_engine.session.io import load_session, read_session_bytes
from bpgui_engine.session.lighter import LighterCopy, lighten, save_lighter_copy
from bpgui_engine.session.schema import (
    FORMAT,
    MIGRATIONS,
    SCHEMA_VERSION,
    SUFFIX,
    VIEW_KEYS,
    RunState,
    Session,
    SessionError,
    _enc,
    check_state_shapes,
    migrate,
    one_line,
    run_state_from_dict,
    run_state_to_dict,
)
from bpgui_engine.session.write import save_session, session_bytes, session_to_dict
from bpgui_engine.train.fast import FastTrainer
from bpgui_engine.train.trainer import StopCriteria

__all__ = [
    "FORMAT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SUFFIX",
    "VIEW_KEYS",
    "LighterCopy",
    "RunState",
    "Session",
    "SessionError",
    "check_state_shapes",
    "lighten",
    "load_session",
    "migrate",
    "one_line",
    "read_session_bytes",
    "resume_trainer",
    "run_state_from_dict",
    "run_state_to_dict",
    "save_lighter_copy",
    "save_session",
    "session_bytes",
    "session_to_dict",
    "session_trainer",
    "trainer_state",
]


# ---- continuing a session headless -----------------------------------------------------------
def session_trainer(
    s: Session, extra_epochs: int | None = None, *, wait: bool = True, dtype: str = "float64"
) -> tuple[FastTrainer, bool]:
    """A :class:`~engine.train.fast.FastTrainer` (the compiled kernel where there is one; its
    ``blocks()`` for speed, ``run()`` for records) that continues ``s`` exactly where it
    stands, and whether it is a fresh run (no saved run: from the session's start point or
    the setup's seeded start).  The session file does not depend on the kernel: one saved
    after a run on either continues on either.

    ``extra_epochs``: how many more epochs (default: up to the run's ``max_epochs`` if it
    was saved mid-run, else the setup's ``criteria.epochs`` more).  ``wait``: see
    :class:`~engine.train.fast.FastTrainer`; ``dtype="float32"``: the BLAS path in single
    precision (faster on large networks; not for the book's exact figures)."""
    setup = s.setup
    if s.run is None:
        x0 = s.start if s.start is not None else setup.start()
        crit = setup.criteria
        if extra_epochs is not None:
            crit = StopCriteria.from_dict({**crit.to_dict(), "epochs": int(extra_epochs)})
        trainer = FastTrainer(
            setup.objective(), setup.make_optimizer(), x0, crit, wait=wait, dtype=dtype
        )
        return trainer, True
    r = s.run
    if extra_epochs is None:
        target = r.max_epochs if r.stop is None else r.epoch + setup.criteria.epochs
    else:
        target = r.epoch + int(extra_epochs)
    return resume_trainer(setup, r, target, wait=wait, dtype=dtype), False


def resume_trainer(
    setup: Setup, run: RunState, until: int, *, wait: bool = True, dtype: str = "float64"
) -> FastTrainer:
    """A :class:`~engine.train.fast.FastTrainer` that continues ``run`` of ``setup`` exactly, up to
    epoch ``until``: the optimizer's saved state, the current point and the trainer's
    counters."""
    opt = setup.make_optimizer()
    opt.load_state_dict(run.optimizer_state)
    crit = StopCriteria.from_dict({**setup.criteria.to_dict(), "epochs": int(until)})
    return FastTrainer(
        setup.objective(),
        opt,
        run.x,
        crit,
        epoch=run.epoch,
        val_best=run.val_best,
        val_fails=run.val_fails,
        wait=wait,
        dtype=dtype,
    )


def trainer_state(trainer, start: np.ndarray, max_epochs: int, stop: str | None) -> RunState:
    """The :class:`RunState` of a trainer between epochs."""
    return RunState(
        start=np.array(start, float),
        x=np.array(trainer.x, float),
        epoch=int(trainer.epoch),
        stop=stop,
        max_epochs=int(max_epochs),
        optimizer_state=json.loads(json.dumps(_enc(trainer.optimizer.state_dict()))),
        val_best=float(trainer.val_best),
        val_fails=int(trainer.val_fails),
    )
