"""Tools as components (issue 19), checked on the source (no Qt needed):

- no class in ``bpgui/`` derives from a ``*Mixin``;
- tools do not import each other: a tool module (one defining a subclass of
  :class:`bpgui.tools.base.Tool`) is imported by no other module of ``bpgui/tools`` but the
  registration (``bpgui/tools/__init__.py``); a tool module imports from ``bpgui/tools``
  only ``base`` and helper modules of its own (a helper defines no tool and serves one
  tool module);
- the main window imports no tool module (it gets them through the registration);
- every module of ``bpgui/`` and ``engine/`` is at most 400 lines, unless its docstring
  says why it is longer ("A long module (…): why").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BPGUI = ROOT / "bpgui"
TOOLS = BPGUI / "tools"
MAX_LINES = 400


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _base_names(cls: ast.ClassDef) -> list[str]:
    names = []
    for b in cls.bases:
        if isinstance(b, ast.Name):
            names.append(b.id)
        elif isinstance(b, ast.Attribute):
            names.append(b.attr)
    return names


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports (module level and inside functions)."""
    out: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _tool_modules() -> set[str]:
    """The modules of bpgui/tools that define a tool (a class deriving from Tool)."""
    found = set()
    for path in TOOLS.glob("*.py"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef) and "Tool" in _base_names(node):
                found.add(f"bpgui.tools.{path.stem}")
    return found


def test_no_class_in_bpgui_is_made_of_mixins():
    offenders = []
    for path in BPGUI.rglob("*.py"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                offenders += [
                    f"{path.relative_to(ROOT)}: {node.name}({b})"
                    for b in _base_names(node)
                    if b.endswith("Mixin")
                ]
    assert offenders == []


def test_every_tool_is_registered_and_found():
    tools = _tool_modules()
    assert len(tools) >= 8, tools  # race, maps, checks, critical, explain, inspector, …
    registry = _imports(TOOLS / "__init__.py")
    assert tools <= registry, tools - registry


def test_tools_do_not_import_each_other():
    tools = _tool_modules()
    mine = {f"bpgui.tools.{p.stem}" for p in TOOLS.glob("*.py") if p.stem != "__init__"}
    helpers = mine - tools - {"bpgui.tools.base"}
    users: dict[str, set[str]] = {h: set() for h in helpers}
    for path in TOOLS.glob("*.py"):
        if path.stem == "__init__":
            continue
        me = f"bpgui.tools.{path.stem}"
        imported = _imports(path) & mine - {me}
        others = imported & tools
        assert not others, f"{me} imports the tool module(s) {sorted(others)}"
        for h in imported & helpers:
            users[h].add(me)
    shared = {h: sorted(u) for h, u in users.items() if len(u) > 1}
    assert not shared, f"a helper serves one tool; shared: {shared} (put it in base)"
    assert not any(h in _imports(TOOLS / "base.py") for h in mine - {"bpgui.tools.base"})


def test_the_main_window_gets_the_tools_only_through_the_registration():
    imported = _imports(BPGUI / "window" / "main.py")
    tool_modules = {m for m in imported if m.startswith("bpgui.tools.")} - {"bpgui.tools.TOOLS"}
    assert tool_modules == set(), tool_modules
    assert "bpgui.tools.TOOLS" in imported


def test_nothing_outside_the_tools_imports_a_tool_module():
    """The window, the document, the panes, … know the tools only as Tools."""
    tools = _tool_modules()
    offenders = []
    for path in BPGUI.rglob("*.py"):
        if path.parent == TOOLS:
            continue
        hits = _imports(path) & tools
        offenders += [f"{path.relative_to(ROOT)} imports {m}" for m in sorted(hits)]
    assert offenders == []


def test_every_module_is_at_most_400_lines_or_says_why():
    too_long = []
    for path in sorted([*BPGUI.rglob("*.py"), *(ROOT / "engine").rglob("*.py")]):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n <= MAX_LINES:
            continue
        doc = ast.get_docstring(_tree(path)) or ""
        if not re.search(r"\ba long module\b[^.]*:", doc, re.I):  # "A long module (…): why"
            too_long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert too_long == []
