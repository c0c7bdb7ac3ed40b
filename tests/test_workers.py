"""The extraction pool (pipelines/workers.py): same results as in-process, a time limit that
cuts a hostile page off, a worker killed with SIGKILL costing only the page it held."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.options import ExtractOptions
from pipelines.jobs import map_jobs, run_job
from pipelines.workers import ExtractionPool, ExtractJob, ExtractResult
from tests.conftest import child_env
from tests.hostile import slow_story_page, story_html


def job(body: bytes, url: str = "http://news.example.com/story") -> ExtractJob:
    return ExtractJob(body, url, "text/html; charset=utf-8", ExtractOptions(timezone="Europe/Paris"), None, "2026-11-29T12:00:00Z")


def pid_then_sleep(task: tuple[str, float]) -> int:
    """A job for the tests: write this worker's pid to a file, then sleep."""
    path, secs = task
    Path(path).write_text(str(os.getpid()))
    time.sleep(secs)
    return os.getpid()


def loaded_modules(_) -> tuple[set[str], bool, bool]:
    """A job for the tests: the modules a worker had before its first job (no initializer
    runs), whether trafilatura's jusText stop list was built, and whether htmldate's month
    names were read."""
    import sys

    from htmldate import extractors
    from trafilatura import external

    return set(sys.modules), external.JT_STOPLIST is not None, extractors.month_words.cache_info().currsize == 1


def wait_for_file(path: Path, secs: float = 30.0) -> str:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


@pytest.fixture(scope="module")
def pool():
    with ExtractionPool(2, 3.0, job=run_job) as pool:
        yield pool


def test_a_worker_extracts_what_this_process_extracts(pool):
    pages = [job(story_html(f"Story {n}")) for n in range(4)] + [job(b""), job(b"%PDF-1.4 binary")]
    in_pool = list(pool.map(pages))
    here = [run_job(p) for p in pages]
    assert in_pool == here
    assert [r.extraction.title for r in in_pool[:4]] == [f"Story {n}" for n in range(4)]
    assert [r.error[0] for r in in_pool[4:]] == ["empty", "content_type_mismatch"]


def test_map_jobs_without_workers_runs_here_in_order():
    results = list(map_jobs([job(story_html("One")), job(b""), job(story_html("Two"))], workers=0, timeout_secs=None))
    assert [r.extraction.title if r.extraction else r.error[0] for r in results] == ["One", "empty", "Two"]


def test_a_page_that_overruns_the_time_limit_is_cut_off_and_the_next_page_extracts(pool):
    started = time.monotonic()
    slow = pool.submit(job(slow_story_page()))  # seconds of extraction in-process
    fast = [pool.submit(job(story_html(f"Fast {n}"))) for n in range(3)]
    assert [f.result(timeout=60).extraction.title for f in fast] == [f"Fast {n}" for n in range(3)]
    result = slow.result(timeout=60)
    assert result == ExtractResult(error=("extract_timeout", "extraction cut off after 3 s"))
    assert time.monotonic() - started < 30
    assert pool.submit(job(story_html("After"))).result(timeout=60).extraction.title == "After"


def test_a_worker_killed_mid_page_costs_that_page_only(tmp_path):
    marker = tmp_path / "pid"
    with ExtractionPool(2, None, job=pid_then_sleep, initializer=None) as pool:
        held = pool.submit((str(marker), 60.0))
        pid = int(wait_for_file(marker))
        others = [pool.submit((str(tmp_path / f"other{n}"), 0.2)) for n in range(4)]
        os.kill(pid, signal.SIGKILL)
        result = held.result(timeout=30)
        assert result.error[0] == "extract_crash" and "exit code -9" in result.error[1]
        assert all(isinstance(f.result(timeout=30), int) for f in others)
        assert pid not in {f.result() for f in others}
        assert len(pool.pids()) == 2 and pid not in pool.pids()  # replaced
        assert pool.restarts == 0


def test_a_worker_killed_while_idle_is_replaced_and_nothing_is_lost(tmp_path):
    with ExtractionPool(1, None, job=pid_then_sleep, initializer=None) as pool:
        pid = pool.submit((str(tmp_path / "first"), 0)).result(timeout=30)
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)  # pebble 5 gives the whole pool up when a worker dies idle
        after = [pool.submit((str(tmp_path / f"after{n}"), 0)) for n in range(3)]
        assert all(isinstance(f.result(timeout=60), int) and f.result() != pid for f in after)


def test_a_worker_is_replaced_after_its_tasks_and_every_job_is_answered(tmp_path, monkeypatch):
    monkeypatch.setattr("pipelines.workers.TASKS_PER_WORKER", 3)
    with ExtractionPool(1, None, job=pid_then_sleep, initializer=None) as pool:
        pids = [pool.submit((str(tmp_path / f"job{n}"), 0)).result(timeout=60) for n in range(7)]
        assert pool.restarts == 0
    assert all(isinstance(pid, int) for pid in pids)
    # one worker at a time, each running 3 jobs (the pool's start-up task counts as one)
    assert len(set(pids)) == 3 and pids[2] != pids[1] and pids[5] != pids[4]


def test_the_workers_are_forks_of_a_forkserver_that_loaded_the_extraction():
    with ExtractionPool(1, None, job=loaded_modules, initializer=None) as pool:
        loaded, stoplist_built, month_names_read = pool.submit(None).result(timeout=120)
    assert {"pipelines.preload", "pipelines.jobs", "py3langid", "datasketch.minhash", "dateparser"} <= loaded
    assert not {"scrapy", "twisted"} & loaded  # a worker extracts: it needs no crawler
    assert not {"scipy", "aiohttp"} & loaded  # datasketch's MinHash alone (archive.similarity.minhash_class)
    assert stoplist_built and month_names_read


def parent_of_this_worker(_) -> int:
    """A job for the tests: the process this worker was forked from."""
    return os.getppid()


def test_a_forkserver_started_early_is_the_one_the_pool_forks_its_workers_from():
    from multiprocessing import forkserver

    from pipelines.forkserver import start_forkserver

    start_forkserver(1)
    server = forkserver._forkserver._forkserver_pid  # multiprocessing's one server per process
    assert server is not None and Path(f"/proc/{server}").exists()
    with ExtractionPool(1, None, job=parent_of_this_worker, initializer=None) as pool:
        assert pool.submit(None).result(timeout=120) == server
    assert forkserver._forkserver._forkserver_pid == server  # still the same: none started again


@pytest.mark.parametrize("workers, started", [(2, True), (None, True), (0, False)])
def test_the_forkserver_is_started_unless_extraction_runs_in_this_process(workers, started):
    probe = (
        "import os\n"
        "from multiprocessing import forkserver\n"
        "from pipelines.forkserver import start_forkserver\n"
        f"start_forkserver({workers})\n"
        "pid = forkserver._forkserver._forkserver_pid\n"
        "print(pid is not None and os.waitpid(pid, os.WNOHANG) == (0, 0))\n"  # started and alive
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=child_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(started)


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError, match="at least 1"):
        ExtractionPool(0, None, job=run_job)


def test_a_body_compressed_by_a_worker_is_used_only_for_that_body(archive):
    from archive import bodies
    from archive.records import CaptureRecord

    page, other = story_html("Kept"), story_html("Another")
    crawl = archive.start_crawl("test")
    for n, compressed in enumerate([bodies.compress_full(page), bodies.compress_full(other), b"not zstd"]):
        body = page + b" " * n  # three distinct bodies
        url = f"http://news.example.com/{n}"
        capture = CaptureRecord(url=url, final_url=url, fetched_at="2026-11-29T12:00:00Z", status=200, body=body,
                                compressed=compressed if n else bodies.compress_full(body))
        archive.record_capture(crawl, capture)
        assert archive.read_body(bodies.digest(body)) == body  # exact, whatever it was given


def test_a_worker_makes_the_version_identity_and_the_compressed_body():
    from archive import bodies
    from pipelines.content import version_identity

    page = job(story_html("Precomputed"))
    result = run_job(ExtractJob(page.body, page.url, page.content_type, page.options, None, page.fetched_at, precompute=True))
    assert result.identity == version_identity(result.extraction)
    assert bodies.decompress("zstd", result.compressed) == page.body


def test_a_closed_pool_starts_no_new_workers():
    pool = ExtractionPool(1, None, job=run_job, initializer=None)
    pool.close()
    assert pool.submit(job(story_html("Late"))).result(timeout=5).error == ("extract_error", "the extraction pool is closed")
    assert pool.pids() == []



def test_a_ctrl_c_while_the_forkserver_preloads_is_left_to_the_crawl_process():
    # a Ctrl-C reaches every process of the terminal's group; CPython's forkserver ignores
    # it only after preloading (seconds), so one pressed meanwhile printed a KeyboardInterrupt
    # traceback from the import; the command's own process stops the run and its workers
    from tests.conftest import ROOT, child_env

    loading = subprocess.Popen(
        [sys.executable, "-c", "import pipelines.preload; print('loaded', flush=True)"],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(0.5)  # inside the imports (they take seconds)
    loading.send_signal(signal.SIGINT)
    out, err = loading.communicate(timeout=120)
    assert loading.returncode == 0 and out.strip() == "loaded" and "KeyboardInterrupt" not in err


def test_a_pool_that_did_not_start_says_why_even_when_its_exception_says_nothing(caplog):
    from concurrent.futures import CancelledError

    from twisted.python.failure import Failure

    from pipelines.extract import ExtractPipeline

    pipeline = ExtractPipeline(workers=1)
    with caplog.at_level("ERROR", logger="pipelines.extract"):
        pipeline._started(Failure(CancelledError()))  # a pool stopped while it started
    assert caplog.messages == ["the extraction workers did not start: CancelledError"]
