import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the kernel choice's per-machine cache (bpgui_engine.train.choose): never the user's own
os.environ.setdefault(
    "BPGUI_KERNEL_CACHE", os.path.join(tempfile.mkdtemp(prefix="bpgui-tests-"), "kernels.json")
)
