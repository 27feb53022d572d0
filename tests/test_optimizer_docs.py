"""Issue 23: every optimizer is documented where a user looks — its guide section (the
optimizer form links to it), the README's table, and what to watch in the equations
panel."""

from pathlib import Path

import pytest

from bpgui_engine.optim import OPTIMIZERS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_has_its_guide_section_readme_row_and_watch_text(name):
    from bpgui.panes.equations import WATCH

    guide = (ROOT / "bpgui" / "guide" / "optimizer.md").read_text(encoding="utf-8")
    assert f'<a name="{name}"></a>' in guide
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"| `{name}` |" in readme
    assert WATCH.get(name), name
