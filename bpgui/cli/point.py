"""Where a headless analysis looks (``bpgui spectrum``, ``bpgui landscape``): a saved
session's current point, or a preset's ``--start``.  No Qt."""

from __future__ import annotations

import argparse

import numpy as np

from bpgui_engine.model.problem import setup_from_options

__all__ = ["session_or_preset"]


def session_or_preset(args: argparse.Namespace, flags: tuple[str, ...]):
    """``(setup, x, history)``: a SESSION's setup, current point (its run's, else its
    start) and history, or a preset built from ``flags`` of ``args`` (its ``--start``,
    no history).  A flag given beside a SESSION is refused in one line."""
    if args.session is not None:
        given = [f for f in flags if getattr(args, f, None)]
        if given:
            raise ValueError(f"--{given[0]}: not with a SESSION, which brings its own")
        from bpgui_engine.session import load_session

        s = load_session(args.session)
        x = s.run.x if s.run is not None else s.start if s.start is not None else None
        return s.setup, np.array(s.setup.start() if x is None else x, float), s.history
    setup, x0 = setup_from_options(
        preset=args.preset or "book-1-2-1", free=args.free, start=args.start,
        performance=getattr(args, "performance", None) or "sse",
    )  # fmt: skip
    return setup, x0, None
