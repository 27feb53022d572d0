"""``python -m bpgui_engine.jit``: compile every kernel into the on-disk cache now (or load
it, if it is there already) and say how long each stage took.

``make run`` and ``make test`` run it once after installing, so the app's first start and
every test process load the kernels from the cache (~0.5 s) instead of compiling them
(about a minute on a 2-core machine).  Exit status 0 also when numba is unavailable: the
NumPy engine then runs, and the line says why."""

from __future__ import annotations

import sys
import time

from bpgui_engine import jit


def main() -> int:
    quiet = "--quiet" in sys.argv[1:]
    t0 = time.perf_counter()
    mod = jit.kernels()
    ew = jit.activations_module() if mod is not None else None
    block = jit.block_kernels()
    total = time.perf_counter() - t0
    if mod is None:
        print(f"bpgui kernels: the NumPy engine runs ({jit.unavailable_reason()})")
        return 0
    if not quiet or total > 2.0:
        row, rest, blk = (
            jit.compile_seconds(row=True),
            jit.compile_seconds(),
            jit.compile_seconds(block=True),
        )
        print(
            f"bpgui kernels ready in {total:.1f} s (run loop {row:.1f} s, batch and surface "
            f"{rest - row:.1f} s, block {blk or 0:.1f} s; activations "
            f"{'ok' if ew is not None else 'unavailable'}, block "
            f"{'ok' if block is not None else 'unavailable'}) in {jit.cache_dir()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
