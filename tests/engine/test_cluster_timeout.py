"""Issue 18 #19: ``--scheduler`` at something that is not a Dask scheduler fails within
``--timeout``, in one line.

Before: a server that accepts and says nothing, or one that speaks HTTP, kept the client
waiting past the timeout (distributed bounds only the TCP connection, not its handshake);
``--timeout nan`` gave a KeyError traceback and ``1e300`` waited for ever; every failure
was followed by a ``Client.__del__`` traceback.  Only loopback addresses are used here, and
every wait is bounded."""

from __future__ import annotations

import contextlib
import http.server
import math
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("distributed")

from bpgui_engine.maps.cluster import MAX_TIMEOUT, check_timeout, connect


@contextlib.contextmanager
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    held, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(srv.accept()[0])

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        stop.set()
        th.join(5)
        for c in held:
            c.close()
        srv.close()


@contextlib.contextmanager
def http_server():
    """An HTTP server on 127.0.0.1 (answers the Dask handshake with 400 Bad Request)."""

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    th.start()
    try:
        yield f"tcp://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(5)


@pytest.mark.parametrize("server", [silent_server, http_server], ids=["silent", "http"])
def test_a_server_that_is_not_a_scheduler_fails_within_the_timeout(server):
    with server() as address:
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="^scheduler: cannot reach ") as info:
            connect(address, timeout=1.0)
        took = time.monotonic() - t0
    assert took < 4.0, took  # before: no end
    msg = str(info.value)
    assert "\n" not in msg and address in msg


@pytest.mark.parametrize("bad", [math.nan, math.inf, 1e300, 0.0, -1.0, "soon", True, None])
def test_the_timeout_must_be_a_sane_number_of_seconds(bad):
    with pytest.raises(ValueError, match=r"^timeout: must be a number of seconds in \(0, 3600\]"):
        check_timeout(bad)
    with pytest.raises(ValueError, match="^timeout: "):  # before any connection attempt
        connect("tcp://127.0.0.1:9", timeout=bad)
    assert check_timeout(MAX_TIMEOUT) == MAX_TIMEOUT and check_timeout("2.5") == 2.5


def _cli(*args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "bpgui", "basins", "--x", "W1[1,1]", "-5", "15", "--y",
            "W2[1,1]", "-5", "15", "--resolution", "3", "--epochs", "10", "--out",
            "/dev/null", *args]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("server", [silent_server, http_server], ids=["silent", "http"])
def test_the_cli_says_one_line_and_exits_2(server):
    with server() as address:
        r = _cli("--scheduler", address, "--timeout", "1")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpgui: error: scheduler: "), r.stderr
    assert "Traceback" not in r.stderr and "__del__" not in r.stderr


def test_the_cli_refuses_a_bad_timeout_in_one_line():
    for bad in ("nan", "1e300"):
        r = _cli("--scheduler", "tcp://127.0.0.1:9", "--timeout", bad)
        assert r.returncode == 2
        assert r.stderr.strip().splitlines() == [
            f"bpgui: error: timeout: must be a number of seconds in (0, 3600], got {float(bad)!r}"
        ]
