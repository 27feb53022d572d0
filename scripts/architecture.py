"""The package diagram in docs/architecture.md, generated from the code's imports.

``python scripts/architecture.py`` prints it; ``--write`` puts it into the document
between its ``<!-- graph:begin -->`` and ``<!-- graph:end -->`` markers.  A test
(tests/test_architecture.py) fails when the document's copy differs from the code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- graph:begin -->", "<!-- graph:end -->"


def _package(path: Path) -> str:
    """The package a module belongs to, as the diagram names it (``bpgui.tools``,
    ``engine.maps``; top-level modules count as their package's root)."""
    rel = path.relative_to(ROOT)
    parts = list(rel.parts[:-1])
    return ".".join(parts[:2])


def _target(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] == "bpgui_engine":
        parts[0] = "engine"
    if parts[0] not in ("bpgui", "engine"):
        return None
    pkg = ROOT.joinpath(*parts[:2])
    return ".".join(parts[:2]) if pkg.is_dir() else parts[0]


def edges() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for top in ("bpgui", "engine"):
        for path in sorted((ROOT / top).rglob("*.py")):
            src = _package(path)
            out.setdefault(src, set())
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                for n in names:
                    t = _target(n)
                    if t is not None and t != src:
                        out[src].add(t)
    return out


def mermaid() -> str:
    lines = ["```mermaid", "flowchart LR"]
    for src, dsts in sorted(edges().items()):
        for dst in sorted(dsts):
            lines.append(f"    {src.replace('.', '_')}[{src}] --> {dst.replace('.', '_')}[{dst}]")
    lines.append("```")
    return "\n".join(lines)


def in_document(text: str) -> str:
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[a:b].strip()


def main(argv: list[str]) -> int:
    graph = mermaid()
    if "--write" in argv:
        text = DOC.read_text(encoding="utf-8")
        a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:a] + "\n" + graph + "\n" + text[b:], encoding="utf-8")
    else:
        print(graph)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
