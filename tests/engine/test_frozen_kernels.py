"""Issue 11: the window's worker threads never compile.  After jit.load_cached / freeze,
every call the window makes (random restarts, basin maps, sweeps, surfaces) must hit a
specialization the warm-up made -- a miss would fall back to NumPy (or refuse vlbp) --
and a worker thread in a main-thread-only process gets the loaded kernels, never a
compile.  Each case runs in a fresh interpreter: freezing is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bpgui_engine import jit

pytestmark = pytest.mark.skipif(jit.kernels() is None, reason="numba unavailable")


def run(code: str) -> str:
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_every_window_call_hits_a_frozen_specialization():
    out = run(
        """
        import numpy as np
        from bpgui_engine import jit, fast
        from bpgui_engine.data import Dataset
        from bpgui_engine.network import NetworkSpec
        from bpgui_engine.objective import Objective
        from bpgui_engine.setup import Setup

        assert jit.load_cached() is not None  # the test run's cache is warm
        def no_numpy(*a, **k):
            raise AssertionError("fell back to NumPy: a specialization the warm-up missed")
        fast.train_batch = no_numpy
        fast.evaluate_surface = no_numpy
        book = Setup.from_preset().objective()
        P = np.linspace(-2, 2, 9)[None, :]
        T2 = np.vstack([(P[0] > 0) * 1.0, (P[0] <= 0) * 1.0])
        every = Setup.from_preset()
        objs = [book, book.copy(), every.replace(free=every.spec.labels).objective()]
        for spec, T, perf in [
            (NetworkSpec(1, (3, 2), ("tansig", "softmax")), T2, "ce"),
            (NetworkSpec(1, (4, 3, 1), ("poslin", "logsig", "purelin")), np.sin(P), "mse"),
        ]:
            th = np.random.default_rng(0).normal(size=spec.n_params)
            objs.append(Objective(spec, Dataset(P, T), th, None, perf))
            objs.append(Objective(spec, Dataset(P, T), th, [0, spec.n_params - 1], perf))
        n = 0
        for obj in objs:
            X0 = np.random.default_rng(1).uniform(-2, 2, (5, obj.n_free))
            for method in ("sd", "momentum", "vlbp"):
                for stride in (1, 3):
                    # the restarts pane's starts are a Fortran-ordered fancy index
                    X0 = np.asfortranarray(X0) if stride == 3 else X0
                    r = fast.fast_train_batch(obj, X0, method, {}, 6, stride=stride)
                    assert r.x.shape == X0.shape
                    n += 1
            s = fast.fast_surface(obj.spec, obj.data, np.array(obj.base), obj.spec.label(0),
                                  (-1, 1), obj.spec.label(1), (-1, 1), 7, obj.perf.name)
            assert s.values.shape == (7, 7)
        print(n)
        """
    )
    assert int(out.split()[-1]) == 7 * 6


def test_a_worker_thread_never_compiles_in_a_main_thread_only_process():
    out = run(
        """
        import threading
        from bpgui_engine import jit

        jit.main_thread_only()
        got = []
        t = threading.Thread(target=lambda: got.append(jit.kernels(True)))
        t.start(); t.join()
        assert got == [None] and jit.kernels(False) is None  # nothing compiled or loaded
        assert jit.load_cached() is not None  # on the main thread, from the cache
        t = threading.Thread(target=lambda: got.append(jit.kernels(True)))
        t.start(); t.join()
        assert got[-1] is jit.kernels(False) is not None
        from bpgui_engine.jit import compiled
        assert compiled.run_batch._can_compile is False  # frozen
        print("ok")
        """
    )
    assert out.strip() == "ok"
