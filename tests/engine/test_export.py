"""Exports: written atomically with the permissions a new file gets under the user's umask."""

from __future__ import annotations

import os
import stat

import pytest

from bpgui_engine.model.setup import Setup
from bpgui_engine.session.export import atomic_write_text, params_csv


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_export_gets_the_umask_mode_not_0600(tmp_path, umask_022):
    path = tmp_path / "p.csv"
    atomic_write_text(path, params_csv(Setup.from_preset()))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text().startswith("label,value,free")
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]  # no temporary file left


def test_an_other_umask_is_respected(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write_text(tmp_path / "a.csv", "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o600


def test_overwriting_keeps_the_existing_files_mode(tmp_path, umask_022):
    path = tmp_path / "p.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    atomic_write_text(path, "new\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new\n"
