"""docs/architecture.md matches the code: its tree lists every package, its job table every
job, and its package diagram is the one the imports give (issue 19)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def _script():
    spec = importlib.util.spec_from_file_location(
        "architecture", ROOT / "scripts" / "architecture.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    a = text.index(f"<!-- {name}:begin -->") + len(f"<!-- {name}:begin -->")
    return text[a : text.index(f"<!-- {name}:end -->")]


def test_the_tree_lists_every_package_and_nothing_else():
    listed = set(re.findall(r"^((?:bpgui|engine)/[\w/]*)\s", _block("tree"), re.M))
    actual = {"bpgui/", "engine/"}
    for top in ("bpgui", "engine"):
        for d in (ROOT / top).iterdir():
            if d.is_dir() and not d.name.startswith(("_", ".")) and any(d.iterdir()):
                actual.add(f"{top}/{d.name}/")
    assert listed == actual, (sorted(listed - actual), sorted(actual - listed))


def test_the_job_table_names_every_job():
    from bpgui_engine.jobs import JOBS

    text = DOC.read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `(\w+)` \|", text, re.M))
    assert set(JOBS) <= table, sorted(set(JOBS) - table)


def test_the_package_diagram_is_generated_from_the_imports():
    arch = _script()
    assert arch.in_document(DOC.read_text(encoding="utf-8")) == arch.mermaid(), (
        "run: python scripts/architecture.py --write"
    )


def test_the_packages_of_the_window_form_layers_without_a_cycle():
    """The window's packages, at package level (not only module level): e.g. plots never
    import panes while panes import plots, and the service never imports the document
    while it imports the service.  (The engine's packages use each other both ways: a
    setup names its optimizer, an optimizer takes the model's objective.)"""
    graph = {
        k: {d for d in v if d.startswith("bpgui.")}
        for k, v in _script().edges().items()
        if k.startswith("bpgui.")
    }
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, " -> ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
