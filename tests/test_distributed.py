"""A crawl shared by workers over Redis (crawler/distributed.py, pipelines/distributed.py),
with a real ``redis-server`` started on a free loopback port: the same archive as one
process, one request at a time per host, robots.txt once per host, a worker killed
mid-crawl losing nothing, Redis unreachable refused with exit 2.

``redis-server`` is a system package (Debian: ``apt-get install redis-server``); without
it these tests skip, unless ``NEWSARCHIVE_REQUIRE_REDIS=1`` (CI) makes them fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import redis

from archive import __version__
from demo.replay import ReplayWeb, page_from_folder
from tests.conftest import NEWS_SITES, child_env, db_rows, run_cli
from tests.pages import DATA
from tests.servers import free_port

REDIS_SERVER = shutil.which("redis-server")
INSTALL_HINT = "needs redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)"


def start_redis() -> tuple[subprocess.Popen, str]:
    """A ``redis-server`` on a free loopback port, without persistence, answering; its URL."""
    if REDIS_SERVER is None:
        if os.environ.get("NEWSARCHIVE_REQUIRE_REDIS"):
            pytest.fail(INSTALL_HINT + " (NEWSARCHIVE_REQUIRE_REDIS is set)")
        pytest.skip(INSTALL_HINT)
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.05)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    """The module's ``redis-server``; its URL."""
    process, url = start_redis()
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The module's Redis, emptied."""
    redis.Redis.from_url(redis_server).flushall()
    return redis_server


def newsarchive(*args: object, cwd: Path, log: Path) -> subprocess.Popen:
    """``newsarchive ARGS`` started in its own process group (so that a kill reaches its
    extraction workers too), logging to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "newsarchive", *map(str, args)], cwd=cwd, env=child_env(),
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait(process: subprocess.Popen, log: Path, timeout: float = 120) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"{process.args} did not end:\n{log.read_text()[-3000:]}") from None


def worker(redis_url: str, tmp_path: Path, n: int, *extra: object) -> subprocess.Popen:
    return newsarchive("worker", "--redis", redis_url, "--workers", "1", "--allow-private", "-v", *extra,
                       cwd=tmp_path, log=tmp_path / f"worker{n}.log")


def summary(db: Path) -> dict:
    """What a crawl left in the archive, free of times and ids: articles with their titles
    and version counts, captures' (URL, outcome, body digest) counts, failures' (URL, kind)."""
    articles = db_rows(db, "SELECT a.canonical_url, s.title, (SELECT count(*) FROM snapshots WHERE article_id = a.id) AS versions "
                           "FROM articles a JOIN snapshots s ON s.id = a.latest_snapshot_id")
    return {
        "articles": sorted((r["canonical_url"], r["title"], r["versions"]) for r in articles),
        # with each body's digest: bytes travel intact
        "captures": Counter((r["url"], r["outcome"], r["body_digest"]) for r in db_rows(db, "SELECT url, outcome, body_digest FROM captures")),
        "failures": sorted((r["url"], r["kind"]) for r in db_rows(db, "SELECT url, kind FROM failures")),
    }


@pytest.fixture
def web() -> Iterator[ReplayWeb]:
    """Two replay sites of real news pages whose answers take 50 ms (overlaps would show)."""
    if not DATA.is_dir():
        pytest.skip(f"needs the shared real pages at {DATA}")
    sites = {name: [page_from_folder(DATA / f) for f in folders] for name, folders in NEWS_SITES.items()}
    with ReplayWeb(sites) as replay:
        for site in replay.sites.values():
            site.latency = 0.05
        yield replay


def test_redis_unreachable_at_the_start_exits_2_with_the_reason(tmp_path):
    (tmp_path / "sources.toml").write_text('[[source]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/feed"]\n')
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    crawl = run_cli("crawl", "--redis", url, "--config", "sources.toml", "--db", "archive.db", cwd=tmp_path)
    assert crawl.returncode == 2, crawl.stderr
    assert f"cannot reach Redis at {url}" in crawl.stderr
    assert not (tmp_path / "archive.db").exists()  # refused before the archive was touched
    work = run_cli("worker", "--redis", url, cwd=tmp_path)
    assert work.returncode == 2, work.stderr
    assert f"cannot reach Redis at {url}" in work.stderr
    bad = run_cli("worker", "--redis", "notaurl", cwd=tmp_path)
    assert bad.returncode == 2 and "not a Redis URL: notaurl" in bad.stderr and "running" not in bad.stderr, bad.stderr


def test_a_worker_on_another_code_version_is_refused(tmp_path, redis_url):
    redis.Redis.from_url(redis_url).hset("newsarchive:run", mapping={"state": "running", "code_version": "0.0.1", "config": ""})
    work = run_cli("worker", "--redis", redis_url, "--wait", "1", cwd=tmp_path)
    assert work.returncode == 2, work.stderr
    assert f"refused: the writer runs newsarchive 0.0.1, this worker {__version__}" in work.stderr


def distributed_crawl(tmp_path: Path, redis_url: str, workers: int = 2) -> list[str]:
    """``crawl --redis`` into dist.db with ``workers`` workers; the workers' logs."""
    writer = newsarchive("crawl", "--redis", redis_url, "--config", "sources.toml", "--db", "dist.db", cwd=tmp_path, log=tmp_path / "writer.log")
    processes = [worker(redis_url, tmp_path, n) for n in range(workers)]
    assert wait(writer, tmp_path / "writer.log") == 0, (tmp_path / "writer.log").read_text()[-3000:]
    for n, w in enumerate(processes):
        assert wait(w, tmp_path / f"worker{n}.log", timeout=30) == 0, (tmp_path / f"worker{n}.log").read_text()[-3000:]
    return [(tmp_path / f"worker{n}.log").read_text() for n in range(workers)]


def forget_requests(web: ReplayWeb) -> None:
    for site in web.sites.values():
        site.requests.clear()
        site.max_in_flight = 0


@pytest.mark.slow
def test_two_workers_and_a_writer_archive_what_one_process_does(tmp_path, web, redis_url):
    # and a source that cannot be read at all (nothing listens there)
    broken = f'[[source]]\nname = "broken"\nfeeds = ["http://127.0.0.2:{free_port()}/feed.xml"]\nallow_private = true\n'
    (tmp_path / "sources.toml").write_text(web.sources_toml() + "\n" + broken)
    for run in (1, 2):  # a first crawl, then one that re-checks every known story and skips known URLs
        single = run_cli("crawl", "--config", "sources.toml", "--db", "single.db", cwd=tmp_path)
        assert single.returncode == 0, single.stderr
        forget_requests(web)
        site = web.sites["nytimes"]
        busy = next(iter(site.pages))
        site.route_once(busy, 503, b"busy", {"Retry-After": "2"})  # then answered: its retry succeeds
        logs = distributed_crawl(tmp_path, redis_url)
        # Retry-After holds for the host across workers: its next request, whoever sent it, waited
        times = site.request_times()
        after = times.index(site.request_times(busy)[0]) + 1
        assert times[after] - times[after - 1] >= 1.9
        expected = summary(tmp_path / "single.db")
        assert len(expected["articles"]) == 5
        assert sum(expected["captures"].values()) == 13 * run
        assert summary(tmp_path / "dist.db") == expected, run
        assert len(expected["failures"]) == run  # the broken source's feed, once per run
        unreadable = "source broken: nothing could be read (feeds, sitemaps, start pages)"
        assert unreadable in single.stderr and unreadable in (tmp_path / "writer.log").read_text()
        assert all(re.search(r"\d+ items? handed to the writer", log) for log in logs)
        # the crawl's record holds the workers' counters too, added up: every answer the sites gave
        stats = json.loads(db_rows(tmp_path / "dist.db", "SELECT stats FROM crawls ORDER BY id DESC LIMIT 1")[0]["stats"])
        assert stats["distributed/workers"] == 2
        assert stats["downloader/response_count"] == sum(len(site.requests) for site in web.sites.values()), stats
        assert stats["distributed/robots_fetched"] == len(web.sites)
        stored = sum(stats.get(f"archive/{outcome}", 0) for outcome in ("new", "changed", "unchanged", "not_article", "failed"))
        assert stats["distributed/streamed"] == stored == 14, stats  # 13 captures and the broken feed's failure
        one = json.loads(db_rows(tmp_path / "single.db", f"SELECT stats FROM crawls WHERE id = {run}")[0]["stats"])
        for name in ("extract/pages", "robotstxt/request_count"):
            assert stats.get(name) == one.get(name), (name, stats, one)
        # a URL found again: known by then, or filtered by the seen-set (which, depends on timing)
        again = ("dupefilter/filtered", "discovery/known")
        assert sum(stats.get(n, 0) for n in again) == sum(one.get(n, 0) for n in again) > 0
        for site in web.sites.values():
            assert site.max_in_flight == 1, site.name  # one request at a time per host, cluster-wide
            assert site.request_paths().count("/robots.txt") == 1, site.name  # once per host per run


def wait_mid_crawl(client: redis.Redis, process: subprocess.Popen, log: Path) -> None:
    """Until ``process`` (a worker) has started on a running crawl that has leases, then a
    little more (it holds some then)."""
    deadline = time.monotonic() + 60
    while "Spider opened" not in log.read_text() or not client.zcard("newsarchive:leases") or client.hget("newsarchive:run", "state") != b"running":
        assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.02)
    time.sleep(0.7)  # mid-crawl: some pages stored, some leased


@pytest.mark.slow
def test_a_worker_killed_or_stopped_mid_crawl_loses_nothing(tmp_path, web, redis_url):
    # a delay between requests to a host: the crawl takes seconds, time to stop two workers
    # and still leave work for the third (at 0.25 s the second could finish the crawl first)
    (tmp_path / "sources.toml").write_text(web.sources_toml(delay_secs=0.6))
    writer = newsarchive("crawl", "--redis", redis_url, "--config", "sources.toml", "--db", "dist.db", cwd=tmp_path, log=tmp_path / "writer.log")
    client = redis.Redis.from_url(redis_url)
    killed = worker(redis_url, tmp_path, 0, "--lease-secs", "2")
    wait_mid_crawl(client, killed, tmp_path / "worker0.log")
    os.killpg(killed.pid, signal.SIGKILL)  # with its extraction process
    killed.wait()
    assert client.zcard("newsarchive:leases") >= 1  # its requests, until their leases run out

    stopped = worker(redis_url, tmp_path, 1)
    wait_mid_crawl(client, stopped, tmp_path / "worker1.log")
    stopped.send_signal(signal.SIGTERM)
    assert wait(stopped, tmp_path / "worker1.log", timeout=30) == 1
    assert "worker stopped: SIGTERM; its unfinished requests return to the queue" in (tmp_path / "worker1.log").read_text()
    # its own leases (60 s) returned at once; the killed worker's run out 2 s after it died,
    # and the writer takes them back within REAP_SECS (1 s)
    deadline = time.monotonic() + 2 + 1 + 5
    while client.zcard("newsarchive:leases"):
        assert time.monotonic() < deadline, client.zrange("newsarchive:leases", 0, -1)
        time.sleep(0.05)

    survivor = worker(redis_url, tmp_path, 2)
    assert wait(writer, tmp_path / "writer.log") == 0, (tmp_path / "writer.log").read_text()[-3000:]
    assert wait(survivor, tmp_path / "worker2.log", timeout=30) == 0

    got = summary(tmp_path / "dist.db")
    assert len(got["articles"]) == 5
    assert {v for _, _, v in got["articles"]} == {1}
    assert got["failures"] == []
    # every page stored once: nothing lost, nothing twice (5 articles; per site its home
    # page, section page, feed and sitemap)
    assert all(n == 1 for n in got["captures"].values()), got["captures"]
    assert len(got["captures"]) == 13
    # the three took part: the killed one with what it published before it died
    assert json.loads(db_rows(tmp_path / "dist.db", "SELECT stats FROM crawls")[0]["stats"])["distributed/workers"] == 3


@pytest.mark.slow
def test_a_writer_killed_mid_stream_loses_nothing_and_stores_nothing_twice(tmp_path, web, redis_url):
    (tmp_path / "sources.toml").write_text(web.sources_toml(delay_secs=0.25))
    client = redis.Redis.from_url(redis_url)
    first = newsarchive("crawl", "--redis", redis_url, "--config", "sources.toml", "--db", "dist.db", cwd=tmp_path, log=tmp_path / "writer.log")
    work = worker(redis_url, tmp_path, 0)
    wait_mid_crawl(client, work, tmp_path / "worker0.log")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    # the worker goes on; what it streams waits for the next writer. Each item entry is
    # also added a second time, as if a writer had stored it and died before acknowledging it.
    deadline = time.monotonic() + 30
    while not (entries := [fields for _, fields in client.xrange("newsarchive:items") if fields[b"kind"] == b"item"]):
        assert time.monotonic() < deadline  # (the stream's first entries may be discovered URLs, not items)
        time.sleep(0.05)
    for fields in entries:
        client.xadd("newsarchive:items", fields)

    second = newsarchive("crawl", "--redis", redis_url, "--config", "sources.toml", "--db", "dist.db", cwd=tmp_path, log=tmp_path / "writer2.log")
    assert wait(second, tmp_path / "writer2.log") == 0, (tmp_path / "writer2.log").read_text()[-3000:]
    assert wait(work, tmp_path / "worker0.log", timeout=30) == 0

    runs = db_rows(tmp_path / "dist.db", "SELECT status, stats FROM crawls ORDER BY id")
    assert [r["status"] for r in runs] == ["interrupted", "finished"]
    # the entries added again, and any the killed writer stored but had not acknowledged
    assert json.loads(runs[1]["stats"])["distributed/duplicates"] >= len(entries) > 0
    got = summary(tmp_path / "dist.db")
    assert len(got["articles"]) == 5
    assert {v for _, _, v in got["articles"]} == {1}
    assert got["failures"] == []
    keys = db_rows(tmp_path / "dist.db", "SELECT url, final_url, fetched_at, count(*) AS n FROM captures GROUP BY 1, 2, 3")
    assert all(r["n"] == 1 for r in keys)


@pytest.mark.slow
def test_redis_lost_mid_crawl_stops_writer_and_worker_with_the_run_interrupted(tmp_path, web):
    server, url = start_redis()
    try:
        (tmp_path / "sources.toml").write_text(web.sources_toml(delay_secs=0.25))
        writer = newsarchive("crawl", "--redis", url, "--redis-wait", "1", "--config", "sources.toml", "--db", "dist.db",
                             cwd=tmp_path, log=tmp_path / "writer.log")
        work = worker(url, tmp_path, 0, "--redis-wait", "1")
        wait_mid_crawl(redis.Redis.from_url(url), work, tmp_path / "worker0.log")
    finally:
        server.kill()
        server.wait()
    assert wait(writer, tmp_path / "writer.log", timeout=60) == 1
    assert "lost Redis" in (tmp_path / "writer.log").read_text()
    assert wait(work, tmp_path / "worker0.log", timeout=60) == 1
    assert "worker stopped: redis_lost" in (tmp_path / "worker0.log").read_text()
    runs = db_rows(tmp_path / "dist.db", "SELECT status FROM crawls")
    assert [r["status"] for r in runs] == ["interrupted"]
    stored = db_rows(tmp_path / "dist.db", "SELECT count(*) AS n FROM captures")[0]["n"]
    assert 0 < stored < 13  # what was stored stays stored; the next run takes up the rest


def test_a_lease_is_acknowledged_only_once_its_items_are_streamed_and_returns_when_it_runs_out(redis_url):
    from crawler.distributed import Keys, Leases

    client = redis.Redis.from_url(redis_url)
    keys = Keys()
    client.zadd(keys.queue, {b"first": 0, b"second": 1})
    leases = Leases(client, keys, lease_secs=0.2)
    lease = leases.pop()
    assert lease == b"first" and client.zrange(keys.queue, 0, -1) == [b"second"]
    item = object()
    leases.track(lease, item)
    assert leases.finished_by(item) is None  # its callback may produce more
    leases.output_done(lease)  # the callback is done, its item still on its way
    assert leases.finished_by(item) == lease  # the stream acknowledges it with the item
    assert client.zscore(keys.leases, lease) is not None
    leases.item_done(item)
    assert client.zcard(keys.leases) == 0  # finished: gone for good
    held = leases.pop()
    assert held == b"second" and leases.reap() == 0  # not run out yet
    time.sleep(0.3)  # its worker died: nobody renewed it
    assert leases.reap() == 1
    assert client.zrange(keys.queue, 0, -1, withscores=True) == [(b"second", 1.0)]  # back, with its priority


def test_an_item_waits_for_its_request_s_other_output_and_enters_the_stream_with_the_lease_acknowledged(redis_url, monkeypatch):
    """A section page's item comes before the links its callback follows: streamed at once,
    a worker killed before the callback's end left the item stored and the request leased,
    fetched and stored again when the lease ran out."""
    import asyncio
    from types import SimpleNamespace

    from scrapy.utils.test import get_crawler

    from crawler.distributed import Keys, Leases
    from pipelines.distributed import StreamPipeline

    monkeypatch.setattr("pipelines.distributed.pause", asyncio.sleep)  # no reactor here
    client = redis.Redis.from_url(redis_url)
    keys = Keys()
    client.zadd(keys.queue, {b"section": 0})
    leases = Leases(client, keys, lease_secs=60)
    crawler = get_crawler(settings_dict={"REDIS_URL": redis_url})
    crawler.spider = SimpleNamespace(leases=leases)
    pipeline = StreamPipeline(crawler, client, keys, max_items=100)
    lease = leases.pop()
    item = {"url": "http://example.com/section"}
    leases.track(lease, item)  # the callback's first output; it goes on with the links

    async def crawl() -> list[tuple[int, bool]]:
        seen = []
        streaming = asyncio.ensure_future(pipeline.process_item(item))
        for _ in range(5):
            await asyncio.sleep(0.02)
            seen.append((client.xlen(keys.items), client.zscore(keys.leases, lease) is not None))
        leases.output_done(lease)  # the callback has ended
        await streaming
        seen.append((client.xlen(keys.items), client.zscore(keys.leases, lease) is not None))
        return seen

    seen = asyncio.run(crawl())
    assert seen[:5] == [(0, True)] * 5  # not streamed while its request may produce more
    assert seen[5] == (1, False)  # streamed, and the lease acknowledged with it
    assert leases.held == set()


@pytest.mark.slow
def test_sigterm_stops_the_writer_with_its_run_interrupted(tmp_path, web, redis_url):
    (tmp_path / "sources.toml").write_text(web.sources_toml())
    client = redis.Redis.from_url(redis_url)
    writer = newsarchive("crawl", "--redis", redis_url, "--config", "sources.toml", "--db", "dist.db", cwd=tmp_path, log=tmp_path / "writer.log")
    deadline = time.monotonic() + 60
    while client.hget("newsarchive:run", "state") != b"running":  # seeded; no worker comes
        assert time.monotonic() < deadline and writer.poll() is None, (tmp_path / "writer.log").read_text()[-3000:]
        time.sleep(0.05)
    assert client.zcard("newsarchive:queue") == 6  # 2 sites x (feed, sitemap, home page)
    writer.send_signal(signal.SIGTERM)
    assert wait(writer, tmp_path / "writer.log", timeout=30) == 1
    assert "interrupted by SIGTERM" in (tmp_path / "writer.log").read_text()
    assert [r["status"] for r in db_rows(tmp_path / "dist.db", "SELECT status FROM crawls")] == ["interrupted"]
    assert run_cli("crawl", "--config", "sources.toml", "--db", "dist.db", "--revisit-only", cwd=tmp_path).returncode == 0  # lock released


def test_the_workers_stats_counters_are_added_up_for_the_crawls_record(redis_url):
    from scrapy.utils.test import get_crawler

    from crawler.distributed import Keys, WorkerStats, add_up, published_worker_stats
    from pipelines.warcimport import Stats

    client, keys = redis.Redis.from_url(redis_url), Keys()
    client.hset(keys.run, "crawl_id", 7)
    running, stopped = (WorkerStats.from_crawler(get_crawler(settings_dict={"REDIS_URL": redis_url, "ARCHIVE_REDIS_PREFIX": keys.prefix})) for _ in range(2))
    for extension, responses in ((running, 3), (stopped, 4)):
        stats = extension.crawler.stats
        stats.set_value("start_time", datetime.now(timezone.utc))  # not a number: not added up
        stats.set_value("elapsed_time_seconds", 2.5)  # one process's: not added up either
        stats.inc_value("downloader/response_count", responses)
        stats.max_value("request_depth_max", responses)
    running.publish()  # every STATS_SECS while it runs
    stopped.spider_closed()  # its last (final)
    started = time.monotonic()
    assert len(published_worker_stats(client, keys, 7, wait_secs=0.3)) == 2
    assert time.monotonic() - started >= 0.3  # waited for the running one's last counters, in vain
    # a worker that stopped publishing long ago is gone (killed): what it published last counts
    client.zadd(keys.worker_stats_times(7), {running.worker: 0})
    started = time.monotonic()
    published = published_worker_stats(client, keys, 7, wait_secs=5)
    assert time.monotonic() - started < 1
    record = Stats({"downloader/response_count": 0, "archive/new": 2, "finish_reason": "finished"})  # the writer's
    add_up(record, published)
    assert record == {
        "downloader/response_count": 7, "request_depth_max": 4, "archive/new": 2, "finish_reason": "finished", "distributed/workers": 2,
    }


def test_a_url_listed_twice_keeps_the_hints_of_the_listing_that_queued_it_as_in_one_process(tmp_path, redis_url):
    from crawler.scrapy_internals import crawler_for
    from crawler.spiders.news import NewsSpider
    from crawler.spiders.worker import WorkerSpider
    from newsarchive.runner import project_settings

    config = '[[source]]\nname = "daily"\nfeeds = ["http://news.example/feed.xml", "http://news.example/other.xml"]\n'
    (tmp_path / "sources.toml").write_text(config)
    settings = project_settings(str(tmp_path / "archive.db"))
    url = "http://news.example/a/story"
    undated, dated = [(url, None, None, None)], [(url, "Story", "2024-01-02T03:04:05Z", 1704164645.0)]

    def queued(spiders, *listings) -> list[dict]:
        """The hints of the requests the listings (read in turn, each by the next spider) queued."""
        return [o.meta["hints"] for spider, (document, found) in zip(spiders, listings)
                for o in spider._queue(document, spider.sources["daily"], list(found), "feed", 0, [], [])]

    for first, then in ((undated, dated), (dated, undated)):
        redis.Redis.from_url(redis_url).flushall()
        one = crawler_for(NewsSpider, settings, config=str(tmp_path / "sources.toml"), revisit="no").spider
        two = [crawler_for(WorkerSpider, settings, config_text=config, redis_url=redis_url).spider for _ in range(2)]
        listings = (("http://news.example/feed.xml", first), ("http://news.example/other.xml", then))
        # one request, with the first listing's hints: the second listing's are not merged in, by one process or by two workers
        expected = [{"title": first[0][1]} | ({"published": first[0][2], "published_source": "feed"} if first[0][2] else {})]
        assert queued([one, one], *listings) == expected
        assert queued(two, *listings) == expected
