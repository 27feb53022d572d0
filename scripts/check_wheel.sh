#!/usr/bin/env bash
# The desktop install (issue 14): build the wheel, install it into a fresh virtual
# environment outside the repository, and run bpgui from there — a headless training run,
# the window offscreen, and the desktop entry into a temporary folder.  Run by CI after
# the tests (`make check-wheel`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$ROOT/.venv/bin/python" -m pip wheel -v --no-deps --wheel-dir "$WORK/dist" "$ROOT" > "$WORK/build.log" 2>&1 \
  || { tail -n 40 "$WORK/build.log"; exit 1; }
# a clean build: no setuptools warnings (issue 18 #24: "Package would be ignored")
if grep -E "would be ignored|_Warning|SetuptoolsDeprecationWarning" "$WORK/build.log"; then
  echo "the build printed setuptools warnings (above)"; exit 1
fi
WHEEL="$(ls "$WORK"/dist/bpgui-*.whl)"
echo "built $(basename "$WHEEL")"
# what lands in site-packages: our two top-level packages and nothing else
"$ROOT/.venv/bin/python" - "$WHEEL" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
tops = sorted({n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))})
assert tops == ["bpgui", "bpgui_engine"], tops
for need in ("bpgui/guide/index.md", "bpgui/icons/bpgui.svg", "bpgui/icons/bpgui-256.png"):
    assert need in names, need
print("wheel contents:", ", ".join(tops), "+ package data")
PY
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL"
cd "$WORK"  # away from the repository: only the installed package can be imported
"$WORK/venv/bin/python" -c "import bpgui, bpgui_engine; assert 'site-packages' in bpgui_engine.__file__, bpgui_engine.__file__; print('imports from', bpgui_engine.__file__)"
"$WORK/venv/bin/bpgui" train --start -4 -4 --epochs 2000 --json > "$WORK/train.json"
"$WORK/venv/bin/python" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['epochs']==2000, d; print('bpgui train:', d['stop_reason'], d['kernel'])" "$WORK/train.json"
QT_QPA_PLATFORM=offscreen BPGUI_EXIT_AFTER_SHOW=1 BPGUI_CONFIG_DIR="$WORK/cfg" \
  "$WORK/venv/bin/bpgui" | grep -q "^shown " && echo "the window opened offscreen"
XDG_DATA_HOME="$WORK/share" "$WORK/venv/bin/bpgui" --install-desktop
test -f "$WORK/share/applications/bpgui.desktop"
XDG_DATA_HOME="$WORK/share" "$WORK/venv/bin/bpgui" --uninstall-desktop
echo "wheel check passed"
