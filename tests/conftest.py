import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the kernel choice's per-machine cache (bpgui_engine.train.choose): never the user's own
os.environ.setdefault(
    "BPGUI_KERNEL_CACHE", os.path.join(tempfile.mkdtemp(prefix="bpgui-tests-"), "kernels.json")
)


@pytest.fixture(autouse=True)
def _numba_cache_dir_unchanged():
    """No test may leave NUMBA_CACHE_DIR changed: every process started after it (engine
    and compute processes, Dask workers, the soak's app) would compile the kernels again
    into an empty cache -- a leak that once cost the suite minutes."""
    before = os.environ.get("NUMBA_CACHE_DIR")
    yield
    assert os.environ.get("NUMBA_CACHE_DIR") == before, "a test left NUMBA_CACHE_DIR changed"
