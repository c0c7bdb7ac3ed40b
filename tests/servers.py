"""Local servers for tests: free loopback ports, waiting for a server to answer, and
``newsarchive serve`` in a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> bytes:
    """GET ``url`` until it answers (returns the body); fails if ``process`` exits first.

    Raises:
        OSError: no answer within ``timeout`` seconds.
        RuntimeError: ``process`` exited before answering.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url) as response:
                return response.read()
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@contextmanager
def serving(db: Path, cwd: Path | None = None) -> Iterator[str]:
    """``newsarchive serve --db DB`` on a free port; yields its base URL, stops it after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "newsarchive", "serve", "--db", str(db), "--port", str(port)],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/-/versions.json", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def html_pages() -> Iterator:
    """A loopback HTTP server for pages made in a test: yields ``put(body: bytes) -> url``,
    each body served as ``text/html; charset=utf-8`` at a URL of its own."""
    import http.server
    import threading

    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def put(body: bytes) -> str:
        path = f"/page-{len(pages)}"
        pages[path] = body
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    try:
        yield put
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def hanging_server(host: str = "127.0.0.1") -> Iterator[tuple[str, threading.Event]]:
    """A server that accepts connections and never answers (nor closes them): yields its base
    URL and an event set at the first connection accepted."""
    accepted = threading.Event()
    held: list[socket.socket] = []
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen(64)
    listener.settimeout(0.2)
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            accepted.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{listener.getsockname()[1]}", accepted
    finally:
        done.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
