"""Issue 18 #1b / issue 25: a randomized soak of user actions in CI.

``benchmarks/soak.py`` walks a seeded random sequence of what a user does (every menu
action, dock buttons, table rows, docks closed and floated, resizes, free-set changes, a
save followed at once by another action, a quit while jobs run) and fails on a native
crash, a Python exception in a slot, a hang, or a Qt warning about a deleted object.  It
runs in its own process, so a crash is a failed test with faulthandler's stacks, not a
dead test run.  The long soak (``make soak``: 30 minutes offscreen, then under Xvfb) is
the same script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


@pytest.mark.slow  # ~100 s each: `make test-slow` (CI runs it after `make test`)
@pytest.mark.parametrize("seed", [11, 12])
def test_a_random_walk_of_user_actions_finds_nothing(tmp_path, seed):
    env = dict(os.environ, BPGUI_CONFIG_DIR=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    p = subprocess.run(
        [sys.executable, str(SOAK), "--steps", "1000", "--seed", str(seed)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    tail = (p.stdout[-2500:] + "\n" + p.stderr[-6000:]).strip()
    assert p.returncode == 0, tail
    assert "no crash, no exception, no Qt warning" in p.stdout
