"""Whole runs with extraction in worker processes: a page that overruns the time limit is cut
off while other hosts go on; a worker killed with SIGKILL mid-crawl costs exactly the page
it held, recorded as a failure, and the run goes on with a new worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import child_env, db_rows, run_cli
from tests.hostile import HostileServer, slow_story_page

pytestmark = pytest.mark.slow

QUICK_PAGES = 6


def quick_urls(server: HostileServer, delay: float) -> list[str]:
    return [server.url(f"/page/story-{n}?delay={delay}&title=Story+{n}") for n in range(QUICK_PAGES)]


def outcomes(db: Path) -> dict[str, str]:
    return {r["url"]: r["outcome"] for r in db_rows(db, "SELECT url, outcome FROM captures")}


def failure_kinds(db: Path) -> dict[str, str]:
    return {r["url"]: r["kind"] for r in db_rows(db, "SELECT url, kind FROM failures")}


def test_a_page_over_the_time_limit_is_cut_off_while_other_hosts_go_on(tmp_path):
    db = tmp_path / "archive.db"
    with HostileServer("127.0.0.2", name="slow") as slow, HostileServer("127.0.0.3", name="quick") as quick:
        hostile = slow.fixture("/slow", slow_story_page())  # seconds of extraction, over the time limit
        others = quick_urls(quick, delay=1.0)  # answered while the hostile page is extracted
        started = time.monotonic()
        result = run_cli("archive", "--allow-private", "--workers", "2", "--extract-timeout", "3", "--db", db, hostile, *others, cwd=tmp_path)
        seconds = time.monotonic() - started
    assert result.returncode == 1, result.stderr  # one URL failed
    assert failure_kinds(db) == {hostile: "extract_timeout"}
    assert "extraction cut off after 3 s" in result.stdout
    assert {outcomes(db)[u] for u in others} == {"new"}
    # the other host's pages were stored while the hostile page was being extracted (the
    # rest of them later: archive keeps the crawl's delay between two requests to a host)
    order = [r["url"] for r in db_rows(db, "SELECT url FROM captures ORDER BY id")]
    assert order.index(hostile) > 0
    assert seconds < 120


def descendants(pid: int, *, below: int = 1) -> list[int]:
    """The processes ``below`` levels or more under ``pid`` (1: children and theirs; from
    /proc: Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [(pid, 0)]
    while todo:
        parent, level = todo.pop()
        for child in children.get(parent, []):
            if level + 1 >= below:
                found.append(child)
            todo.append((child, level + 1))
    return found


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def busy_worker(pid: int, cpu_secs: float, timeout: float = 180.0) -> int:
    """The extraction worker below ``pid`` that has used ``cpu_secs`` of CPU (user + system):
    with one worker, only the hostile page makes it that busy. A worker is a fork of the
    pool's forkserver, a child of ``pid``: the forkserver itself, which loads the extraction
    for its workers (seconds of CPU on a loaded machine), is not one. Polls until
    ``timeout`` (a loaded machine gives each process a small share)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        used = {p: cpu_ticks(p) / os.sysconf("SC_CLK_TCK") for p in descendants(pid, below=2)}
        if used and max(used.values()) >= cpu_secs:
            return max(used, key=used.get)
        time.sleep(0.2)
    raise AssertionError(f"no process below {pid} used {cpu_secs} s of CPU")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker through /proc (Linux)")
def test_a_worker_killed_mid_crawl_costs_exactly_the_page_it_held(tmp_path):
    db = tmp_path / "archive.db"
    with HostileServer("127.0.0.2", name="slow") as slow, HostileServer("127.0.0.3", name="quick") as quick:
        hostile = slow.fixture("/slow", slow_story_page(12_000))  # about 17 MiB (under DOWNLOAD_MAXSIZE): many seconds of CPU
        # answered after the hostile page: queued behind it for the only worker
        others = quick_urls(quick, delay=1.0)
        command = [sys.executable, "-m", "newsarchive", "archive", "--allow-private", "--workers", "1",
                   "--extract-timeout", "600", "--db", str(db), hostile, *others]
        run = subprocess.Popen(command, cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            worker = busy_worker(run.pid, cpu_secs=3.0)
            os.kill(worker, signal.SIGKILL)
            stdout, stderr = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
    assert run.returncode == 1, stderr
    assert failure_kinds(db) == {hostile: "extract_crash"}
    assert "the extraction worker died (exit code -9)" in stdout
    assert {outcomes(db)[u] for u in others} == {"new"}
    # stored after the hostile page's failure: extracted by the worker that replaced it
    order = [r["url"] for r in db_rows(db, "SELECT url FROM captures ORDER BY id")]
    assert order[0] == hostile
    assert worker not in descendants(os.getpid())
