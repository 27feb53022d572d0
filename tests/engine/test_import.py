"""The engine and the CLI must import without loading Qt."""

import subprocess
import sys

import pytest

CHECK = (
    "import sys; import {mod}; "
    "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken6'))]; "
    "print(bad); sys.exit(1 if bad else 0)"
)


@pytest.mark.parametrize(
    "mod", ["bpgui_engine", "bpgui_engine.optim", "bpgui_engine.train.trainer", "bpgui.cli"]
)
def test_import_loads_no_qt(mod):
    r = subprocess.run(
        [sys.executable, "-c", CHECK.format(mod=mod)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_qt_is_importable_in_this_environment():
    # the check above would pass trivially if Qt were missing altogether
    r = subprocess.run([sys.executable, "-c", CHECK.format(mod="pyqtgraph")], capture_output=True)
    assert r.returncode == 1
