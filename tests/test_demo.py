"""``make demo`` (demo/run.py) stopped by the user: the crawl it runs stops as a crawl does."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, child_env


def crawl_status(db) -> str | None:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT status FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


@pytest.mark.parametrize("after", [0.0, 0.5], ids=["while Scrapy starts", "while fetching"])
def test_ctrl_c_during_the_demo_stops_its_crawl_gracefully(tmp_path, after):
    db = tmp_path / "demo.db"
    demo = subprocess.Popen(
        [sys.executable, "-m", "demo.run", "--db", str(db)], cwd=ROOT, env=child_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while crawl_status(db) != "running" and time.monotonic() < deadline and demo.poll() is None:
        time.sleep(0.1)
    assert crawl_status(db) == "running", "the demo's first crawl did not start"
    time.sleep(after)  # at once: the signal may come before the crawl's own handler is in place
    demo.send_signal(signal.SIGINT)  # as Ctrl-C does, to the demo's process
    stdout, stderr = demo.communicate(timeout=120)
    assert demo.returncode == 1
    assert "demo stopped: the crawl was interrupted (SIGINT)" in stderr and "Traceback" not in stderr
    # the crawl stopped itself: its run is recorded interrupted, not left running
    assert crawl_status(db) == "interrupted"
    # its one line: the run's summary, or, stopped while Scrapy was still loading, the error
    assert "interrupted by SIGINT" in stdout + stderr


def test_a_ctrl_c_as_the_crawl_ends_still_stops_the_demo(tmp_path, monkeypatch):
    """A signal that reaches the crawl as it finishes (exit 0) is still the user's stop: the
    demo went on to its next crawl (a new user's finding)."""
    import os

    from demo import run

    class FinishingCrawl:
        returncode = 0
        signals: list[int] = []

        def __init__(self, *args, **kwargs):
            pass

        def send_signal(self, signum):
            self.signals.append(signum)

        def communicate(self):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C on the terminal, passed on to the crawl
            return "crawl 1 finished in 1.0 s: ...", ""

    monkeypatch.setattr(run.subprocess, "Popen", FinishingCrawl)
    with pytest.raises(SystemExit, match=r"demo stopped: the crawl was stopped after it finished \(SIGINT\)"):
        run.crawl(tmp_path / "demo.toml", tmp_path / "demo.db")
    assert FinishingCrawl.signals == [signal.SIGINT]
