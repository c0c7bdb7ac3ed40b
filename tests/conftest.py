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
