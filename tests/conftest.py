"""Shared fixtures: the CLI in a subprocess, replay webs of real pages, fresh archives."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.database import Archive
from demo.replay import ReplayWeb, page_from_folder
from tests.pages import DATA, SHARED

ROOT = Path(__file__).resolve().parents[1]

requires_shared = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"needs the shared real pages at {DATA} (beside the project; CI has them)"
)

# Real news pages with a title in their ground truth, two sites.
NEWS_SITES = {
    "nytimes": ["readability-testpages/nytimes-1", "readability-testpages/nytimes-2"],
    "wapo": ["readability-testpages/wapo-1", "readability-testpages/wapo-2", "readability-testpages/bbc-1"],
}


def child_env() -> dict[str, str]:
    """The environment of a child ``newsarchive``/``scrapy`` process: this checkout first on
    the path, and no ``NEWSARCHIVE_DB`` from the caller's shell."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSARCHIVE_DB", None)
    return env


def run_cli(*args: object, cwd: Path, timeout: float = 300, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``newsarchive ARGS`` in a fresh process (Twisted's reactor runs once per process)."""
    return subprocess.run(
        [sys.executable, "-m", "newsarchive", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        input=stdin,
    )


def run_cli_on_terminal(*args: object, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``newsarchive ARGS`` with its standard error on a pseudo-terminal (as in a shell)
    and its standard output into a pipe (as with ``> file``); ``stderr`` is what the terminal
    showed, with the terminal's line endings (``\\r\\n``)."""
    import pty
    import select

    main, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "newsarchive", *map(str, args)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=terminal, env=child_env(),
    )
    os.close(terminal)
    shown, out = b"", b""
    streams = {main: "terminal", child.stdout.fileno(): "out"}
    while streams:
        ready, _, _ = select.select(list(streams), [], [], timeout)
        if not ready:
            child.kill()
            raise TimeoutError(f"newsarchive {args[0]} did not end within {timeout} s")
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                data = b""
            if not data:
                del streams[fd]
            elif streams[fd] == "terminal":
                shown += data
            else:
                out += data
    os.close(main)
    child.stdout.close()
    returncode = child.wait(timeout)
    return subprocess.CompletedProcess(child.args, returncode, out.decode(), shown.decode(errors="replace"))


@pytest.fixture
def cli(tmp_path: Path):
    """``cli("archive", url, ...)`` -> CompletedProcess; runs in ``tmp_path``."""

    def run(*args: object, **kwargs):
        return run_cli(*args, cwd=tmp_path, **kwargs)

    return run


@pytest.fixture
def archive() -> Iterator[Archive]:
    """A fresh in-memory archive."""
    with Archive.open(":memory:") as a:
        yield a


@pytest.fixture
def news_web() -> Iterator[ReplayWeb]:
    """Two replay sites (127.0.0.2, 127.0.0.3) serving five real news pages."""
    if not DATA.is_dir():
        pytest.skip(f"needs the shared real pages at {DATA}")
    sites = {name: [page_from_folder(DATA / f) for f in folders] for name, folders in NEWS_SITES.items()}
    with ReplayWeb(sites) as web:
        yield web


def db_rows(db: Path, sql: str, params=()) -> list[dict]:
    """Query an archive file (read-only use)."""
    with Archive.open(db, create=False) as a:
        return list(a.db.query(sql, params))


__all__ = ["ROOT", "SHARED", "db_rows", "requires_shared", "run_cli"]
