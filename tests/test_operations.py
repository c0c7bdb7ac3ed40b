"""Cron-grade operations (issue 15): stopping when asked, the frontier, cron output, the log,
schedules, one lock, politeness of ad hoc archiving, error wording.

Real processes throughout: `newsarchive` in a subprocess, real signals, a real `kill -9`,
loopback servers only (no shared data needed)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from demo.replay import ReplayPage, ReplaySite
from tests.conftest import ROOT, child_env, db_rows, run_cli
from tests.servers import hanging_server

pytestmark = pytest.mark.slow

STORY = "".join(
    f"<p>Paragraph {i} of a story about the harbour, with enough words to read as prose in any extractor.</p>"
    for i in range(8)
)
EMPTY_FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description></channel></rss>'
#: the bound on stopping (issue 15): a signal, then the process is gone within this, seconds
STOP_BOUND_SECS = 5.0


def story_page(path: str, title: str) -> ReplayPage:
    body = (
        f"<html><head><title>{title}</title><meta property='og:type' content='article'></head>"
        f"<body><article><h1>{title}</h1>{STORY}</article></body></html>"
    )
    return ReplayPage(path=path, body=body.encode(), original_url=f"https://news.example.com{path}", title=title)


def config(tmp_path: Path, site: ReplaySite, *, name: str | None = None, **keys: str) -> Path:
    """A config with one source (values are TOML) written to tmp_path/sources.toml."""
    lines = ["[crawl]", "delay_secs = 0", 'contact = "mailto:archive@example.org"', 'revisit_steps = ["*=1d"]', "[[source]]",
             f'name = "{name or site.name}"', "allow_private = true"]
    lines += [f"{k} = {v}" for k, v in keys.items()]
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def newsarchive(*args: object) -> list[str]:
    return [sys.executable, "-m", "newsarchive", *map(str, args)]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())


def count(db: Path, sql: str) -> int:
    """A read-only count (as a second process would read while a crawl writes); 0 before the schema exists."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def wait_until(predicate, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def stop_and_time(process: subprocess.Popen, signum: int = signal.SIGINT) -> tuple[float, str, str]:
    """Send ``signum``; returns (seconds until the process was gone, stdout, stderr)."""
    sent = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    return time.monotonic() - sent, out, err


# -- 5. found, then lost: the frontier -------------------------------------------------------


def test_kill_9_mid_crawl_loses_no_discovered_url_when_the_feed_drops_them(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(6)]
    with ReplaySite("slow", pages, host="127.0.0.2", robots_txt="User-agent: *\nCrawl-delay: 1\n") as site:
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')
        db = tmp_path / "a.db"
        victim = start(newsarchive("crawl", "--config", cfg, "--db", db), tmp_path)
        wait_until(lambda: count(db, "SELECT count(*) FROM articles") >= 2)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        stored = count(db, "SELECT count(*) FROM articles")
        assert 2 <= stored < 6
        # every URL found and not stored waits in the frontier
        assert count(db, "SELECT count(*) FROM frontier") == 6 - stored
        site.route("/feed.xml", 200, EMPTY_FEED, {"Content-Type": "application/rss+xml"})  # the feed forgets them
        again = run_cli("crawl", "--config", cfg, "--db", db, "--log-file", tmp_path / "crawl.log", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
    assert count(db, "SELECT count(*) FROM articles") == 6  # 0 URLs lost
    log = (tmp_path / "crawl.log").read_text()
    assert "crawl 1 (started " in log and "did not end: marked interrupted" in log  # the killed run, in the log
    assert count(db, "SELECT count(*) FROM frontier") == 0
    assert [r["status"] for r in db_rows(db, "SELECT status FROM crawls ORDER BY id")] == ["interrupted", "finished"]


# -- 1. stopping ------------------------------------------------------------------------


def test_sigint_stops_archive_on_a_server_that_never_answers_within_the_bound(tmp_path):
    with hanging_server() as (base, accepted):
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{base}/story\n{base}/next\n")  # one at a time per host: the second waits
        process = start(newsarchive("archive", "--from-file", urls, "--allow-private", "--db", tmp_path / "a.db"), tmp_path)
        assert accepted.wait(90)
        seconds, out, err = stop_and_time(process, signal.SIGINT)
    assert seconds < STOP_BOUND_SECS
    assert process.returncode == 1
    assert "stopping: finishing 1 page in flight" in err
    assert "interrupted by SIGINT" in err
    # every URL given has its line, the one never fetched too, in the order given
    lines = out.splitlines()
    assert lines[-1] == f"error          {base}/next: not fetched: the run was interrupted by SIGINT; archive it again", out
    assert [line.split()[1].rstrip(":") for line in lines] == [f"{base}/story", f"{base}/next"], out
    assert db_rows(tmp_path / "a.db", "SELECT command, status FROM crawls") == [{"command": "archive", "status": "interrupted"}]


def test_sigterm_stops_a_crawl_fetches_nothing_queued_and_the_next_run_takes_it_up(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(8)]
    with ReplaySite("slow", pages, host="127.0.0.2", robots_txt="User-agent: *\nCrawl-delay: 1\n") as site:
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')
        db = tmp_path / "a.db"
        process = start(newsarchive("crawl", "--config", cfg, "--db", db, "-q"), tmp_path)
        wait_until(lambda: count(db, "SELECT count(*) FROM articles") >= 2)
        sent = time.monotonic()
        seconds, out, err = stop_and_time(process, signal.SIGTERM)
        late = [r for r in site.requests if r["time"] > sent + 0.2]
        assert seconds < STOP_BOUND_SECS
        assert process.returncode == 1
        assert "stopping: finishing" in err and "interrupted by SIGTERM" in err
        assert late == []  # nothing queued was fetched after the signal
        stored = count(db, "SELECT count(*) FROM articles")
        assert stored < 8
        assert count(db, "SELECT count(*) FROM frontier") == 8 - stored
        assert db_rows(db, "SELECT status FROM crawls") == [{"status": "interrupted"}]
        site.route("/feed.xml", 200, EMPTY_FEED, {"Content-Type": "application/rss+xml"})
        again = run_cli("crawl", "--config", cfg, "--db", db, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
    assert count(db, "SELECT count(*) FROM articles") == 8


def test_a_crawl_stuck_on_a_server_that_never_answers_stops_within_the_bound(tmp_path):
    with hanging_server("127.0.0.3") as (base, accepted), ReplaySite("site", [], host="127.0.0.2") as site:
        site.extra_links.append(f"{base}/story")
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')
        process = start(newsarchive("crawl", "--config", cfg, "--db", tmp_path / "a.db", "--allow-private"), tmp_path)
        assert accepted.wait(90)
        seconds, out, err = stop_and_time(process, signal.SIGINT)
    assert seconds < STOP_BOUND_SECS
    assert process.returncode == 1
    assert "stopping: finishing 1 page in flight" in err
    assert db_rows(tmp_path / "a.db", "SELECT status FROM crawls") == [{"status": "interrupted"}]
    assert db_rows(tmp_path / "a.db", "SELECT url FROM frontier") == [{"url": f"{base}/story"}]


def test_scrapy_crawl_news_stops_on_one_signal_within_the_bound(tmp_path):
    """Started as a Scrapy command, the crawl stops as `newsarchive crawl` does: Scrapy's own
    handlers would wait for the hanging download and its retries (90 s)."""
    with hanging_server("127.0.0.3") as (base, accepted), ReplaySite("site", [], host="127.0.0.2") as site:
        site.extra_links.append(f"{base}/story")
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')
        db = tmp_path / "a.db"
        command = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"config={cfg}", "-s", f"ARCHIVE_DB={db}", "-s", "ARCHIVE_ALLOW_PRIVATE=True"]
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
        assert accepted.wait(90)
        seconds, out, err = stop_and_time(process, signal.SIGINT)
    assert seconds < STOP_BOUND_SECS
    assert "stopping: finishing 1 page in flight" in err
    assert db_rows(db, "SELECT status FROM crawls") == [{"status": "interrupted"}]
    assert db_rows(db, "SELECT url FROM frontier") == [{"url": f"{base}/story"}]


def test_a_second_signal_exits_at_once_and_the_next_run_repairs_the_row(tmp_path):
    with hanging_server() as (base, accepted):
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{base}/story\n")
        process = start(newsarchive("archive", "--from-file", urls, "--allow-private", "--db", tmp_path / "a.db"), tmp_path)
        assert accepted.wait(90)
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        seconds, out, err = stop_and_time(process, signal.SIGINT)
    assert seconds < 1.5
    assert process.returncode == 1
    assert "stopped at once" in err
    db = tmp_path / "a.db"
    assert db_rows(db, "SELECT status FROM crawls") == [{"status": "running"}]
    again = run_cli("archive", "not-a-url", "--db", db, cwd=tmp_path)
    assert again.returncode == 1
    assert [r["status"] for r in db_rows(db, "SELECT status FROM crawls ORDER BY id")] == ["interrupted", "finished"]


def test_commands_without_scrapy_stop_on_the_first_signal_and_exit_on_the_second(tmp_path):
    script = (
        "import sys, time\n"
        "from archive import interrupt\n"
        "try:\n"
        "    with interrupt.installed():\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(60)\n"
        "except interrupt.Interrupted as exc:\n"
        "    print('cleaned up after', exc.signum, flush=True)\n"
        "    if sys.argv[1] == 'twice':\n"
        "        time.sleep(60)\n"
        "    sys.exit(interrupt.EXIT_INTERRUPTED)\n"
    )
    for mode in ("once", "twice"):
        process = subprocess.Popen([sys.executable, "-c", script, mode], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=child_env())  # fmt: skip
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGTERM)
        if mode == "twice":
            assert process.stdout.readline().startswith("cleaned up after")
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 1
        assert "stopping (SIGTERM)" in err
        if mode == "twice":
            assert "stopped at once (SIGINT again)" in err
        else:
            assert f"cleaned up after {int(signal.SIGTERM)}" in out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stopped_by_a_signal_removes_its_temporary_files(tmp_path, signum):
    from tests.servers import free_port, wait_for

    db = tmp_path / "a.db"
    assert run_cli("archive", "not-a-url", "--db", db, cwd=tmp_path).returncode == 1  # makes an archive
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    env = {**child_env(), "TMPDIR": str(temp)}
    process = subprocess.Popen(newsarchive("serve", "--db", db, "--port", port), cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(f"http://127.0.0.1:{port}/-/versions.json", process)
    assert [p.name for p in temp.iterdir() if p.name.startswith("newsarchive-serve-")]
    seconds, out, err = stop_and_time(process, signum)
    assert seconds < STOP_BOUND_SECS
    assert process.returncode == 0, err
    assert list(temp.iterdir()) == []
    # without -v: its own line, the stop's, nothing of uvicorn's start or of the request
    assert out.startswith(f"serving {db} at http://127.0.0.1:{port}/")
    assert err.splitlines() == [f"stopping ({signal.Signals(signum).name}): send it again to exit at once"]


def test_serve_stopped_while_it_starts_exits_0(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import newsarchive.cli as cli_module
    from archive.interrupt import Interrupted

    def signal_comes(*args, **kwargs):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(cli_module, "open_archive", signal_comes)  # the signal, before the server runs
    result = CliRunner().invoke(cli_module.cli, ["serve", "--db", str(tmp_path / "a.db"), "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "stored" not in result.output


# -- 2. quiet when it should speak ------------------------------------------------------------


def test_a_source_that_cannot_be_read_at_all_speaks_even_with_q_and_strict_exits_5(tmp_path):
    with ReplaySite("alive", [story_page("/s0", "S0")], host="127.0.0.2") as alive, ReplaySite("dead", [], host="127.0.0.3") as dead:
        dead.route("/feed.xml", 404, b"not here")
        closed = "http://127.0.0.3:9/feed.xml"
        dead_feed, dead_section = dead.url("/feed.xml"), dead.url("/section/gone")
        text = "\n".join([
            "[crawl]", "delay_secs = 0", 'contact = "mailto:archive@example.org"',
            "[[source]]", 'name = "alive"', "allow_private = true", f'feeds = ["{alive.url("/feed.xml")}"]',
            "[[source]]", 'name = "dead"', "allow_private = true", f'feeds = ["{dead.url("/feed.xml")}", "{closed}"]',
            f'start_urls = ["{dead.url("/section/gone")}"]',
        ]) + "\n"  # fmt: skip
        cfg = tmp_path / "sources.toml"
        cfg.write_text(text)
        quiet = run_cli("crawl", "--config", cfg, "--db", tmp_path / "a.db", "-q", cwd=tmp_path)
        strict = run_cli("crawl", "--config", cfg, "--db", tmp_path / "a.db", "-q", "--strict", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == ""
    (line,) = quiet.stderr.splitlines()
    assert line.startswith("source dead: nothing could be read (feeds, sitemaps, start pages): ")
    assert f"{dead_feed}: HTTP 404" in line
    assert f"{closed}: connection refused (robots.txt not reachable" in line
    assert f"{dead_section}: HTTP 404" in line
    assert "alive" not in line
    assert strict.returncode == 5
    assert strict.stderr.splitlines()[0].startswith("source dead: nothing could be read")


# -- 8. errors that name the cause first ----------------------------------------------------


def test_errors_name_the_cause_first(tmp_path):
    with ReplaySite("plain", [story_page("/s0", "S0")], host="127.0.0.2") as site:
        https = site.url("/s0").replace("http://", "https://")
        result = run_cli("archive", "http://127.0.0.2:9/story", https, "--allow-private", "--db", tmp_path / "a.db", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "error          http://127.0.0.2:9/story: connection refused (robots.txt not reachable: host skipped for this run, RFC 9309)"
    assert lines[1].startswith(f"error          {https}: TLS failed")
    assert "(robots.txt not reachable: host skipped for this run, RFC 9309)" in lines[1]


# -- 3. a log worth reading ----------------------------------------------------------------


def test_the_log_file_has_one_line_per_stored_article_and_failure_and_per_run_start_and_end(tmp_path):
    from archive.lock import ArchiveLock

    pages = [story_page(f"/s{i}", f"S{i}") for i in range(3)]
    with ReplaySite("news", pages, host="127.0.0.2") as site:
        site.edit("/s1", "Paragraph 3 of", "Paragraph three of")
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}", "{site.url("/missing.xml")}"]')
        cfg.write_text(cfg.read_text().replace('["*=1d"]', '["*=0s"]'))
        db, log = tmp_path / "a.db", tmp_path / "crawl.log"
        first = run_cli("crawl", "--config", cfg, "--db", db, "-q", "--log-file", log, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        site.edits.clear()  # the story changes back: a new version
        second = run_cli("crawl", "--config", cfg, "--db", db, "-q", "--log-file", log, cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        with ArchiveLock(db):
            refused = run_cli("crawl", "--config", cfg, "--db", db, "-q", "--log-file", log, cwd=tmp_path)
        assert refused.returncode == 3
        verbose = run_cli("crawl", "--config", cfg, "--db", db, "-vv", "--log-file", tmp_path / "vv.log", cwd=tmp_path)
        assert verbose.returncode == 0, verbose.stderr
        base = site.base_url
    lines = log.read_text().splitlines()
    messages = [line.split(": ", 1)[1] for line in lines]
    assert all("[newsarchive.run]" in line for line in lines), lines
    assert messages[0].startswith("crawl 1 started (pid ")
    assert sorted(m for m in messages[1:5]) == sorted(
        [f"failed {base}/missing.xml: HTTP 404"] + [f"new article {base}/s{i} v1: S{i}" for i in range(3)]
    )
    assert messages[5].startswith("crawl 1 finished in ")
    assert messages[6].startswith("crawl 2 started")
    assert sorted(messages[7:9]) == [f"failed {base}/missing.xml: HTTP 404", f"new version {base}/s1 v2: S1"]
    assert messages[9].startswith("crawl 2 finished in ")
    assert messages[10].startswith("crawl refused: another run holds")
    assert len(lines) == 11
    everything = (tmp_path / "vv.log").read_text()
    assert "Scrapy 2." in everything and "Dumping Scrapy stats" in everything and "Overridden settings" in everything


# -- 4. schedules from the current steps ------------------------------------------------------


def story_requests(site: ReplaySite, since: int) -> list[dict]:
    return [r for r in site.requests[since:] if r["path"].startswith("/s")]


def test_changed_revisit_steps_reschedule_stories_already_scheduled(tmp_path):
    with ReplaySite("news", [story_page("/s0", "S0")], host="127.0.0.2") as site:
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')  # *=1d
        db = tmp_path / "a.db"
        assert run_cli("crawl", "--config", cfg, "--db", db, cwd=tmp_path).returncode == 0
        before = len(site.requests)
        assert run_cli("crawl", "--config", cfg, "--db", db, "--revisit-only", cwd=tmp_path).returncode == 0
        assert story_requests(site, before) == []  # not due for a day
        cfg.write_text(cfg.read_text().replace('["*=1d"]', '["*=0s"]'))
        before = len(site.requests)
        result = run_cli("crawl", "--config", cfg, "--db", db, "--revisit-only", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert [r["path"] for r in story_requests(site, before)] == ["/s0"]
    (row,) = db_rows(db, "SELECT next_check_at, last_seen FROM articles")
    assert row["next_check_at"] == row["last_seen"]  # *=0s: due again at once


def test_recheck_makes_stories_due_now_by_source_url_alias_or_all(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(3)]
    with ReplaySite("news", pages, host="127.0.0.2") as site:
        site.extra_links.append("/s1?utm_source=feed")
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')  # *=1d: nothing due
        db = tmp_path / "a.db"
        assert run_cli("crawl", "--config", cfg, "--db", db, cwd=tmp_path).returncode == 0

        def recheck(*targets: str) -> list[str]:
            before = len(site.requests)
            args = [a for t in targets for a in ("--recheck", t)]
            result = run_cli("crawl", "--config", cfg, "--db", db, "--revisit-only", *args, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            return sorted(r["path"] for r in story_requests(site, before))

        assert recheck() == []
        # an alias names its story (whose canonical URL is fetched), a canonical URL its own
        assert recheck(site.url("/s1?utm_source=feed"), site.url("/s0")) == ["/s0", "/s1"]
        assert recheck("news") == ["/s0", "/s1", "/s2"]
        assert recheck("all") == ["/s0", "/s1", "/s2"]
        unknown = run_cli("crawl", "--config", cfg, "--db", db, "--recheck", "nosuch", cwd=tmp_path)
    assert unknown.returncode == 2 and "--recheck 'nosuch': not 'all', a source of the config (news), or a URL" in unknown.stderr


def test_rechecks_request_the_canonical_url_with_its_own_validators(tmp_path):
    with ReplaySite("news", [story_page("/s0", "S0")], host="127.0.0.2", conditional=True) as site:
        # found only through a tracking-tagged link: the first capture is of the alias
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')
        cfg.write_text(cfg.read_text().replace('["*=1d"]', '["*=0s"]'))
        site.extra_links.append("/s0?utm_source=rss")
        db = tmp_path / "a.db"
        site_feed = site.feed
        site.feed = lambda: site_feed().replace(f"<link>{site.url('/s0')}</link>".encode(), b"<link>/nowhere</link>")
        assert run_cli("crawl", "--config", cfg, "--db", db, "--no-revisit", cwd=tmp_path).returncode == 0
        assert [r["path"] for r in story_requests(site, 0)] == ["/s0?utm_source=rss"]
        before = len(site.requests)
        assert run_cli("crawl", "--config", cfg, "--db", db, "--revisit-only", cwd=tmp_path).returncode == 0
        second = story_requests(site, before)
        before = len(site.requests)
        assert run_cli("crawl", "--config", cfg, "--db", db, "--revisit-only", cwd=tmp_path).returncode == 0
        third = story_requests(site, before)
    # the canonical URL, unconditionally: the alias's ETag does not describe it
    assert [r["path"] for r in second] == ["/s0"] and "If-None-Match" not in second[0]["headers"]
    # then with the validators of its own last capture: 304
    assert [r["path"] for r in third] == ["/s0"] and third[0]["headers"]["If-None-Match"].startswith('"')
    assert [r["outcome"] for r in db_rows(db, "SELECT outcome FROM captures WHERE url LIKE '%/s0%' ORDER BY id")] == [
        "new", "unchanged", "not_modified"]  # fmt: skip


# -- 6. one lock for every way to crawl ----------------------------------------------------------


def test_scrapy_crawl_news_takes_the_same_lock(tmp_path):
    from archive.lock import ArchiveLock

    with ReplaySite("news", [story_page("/s0", "S0")], host="127.0.0.2") as site:
        cfg = config(tmp_path, site, feeds=f'["{site.url("/feed.xml")}"]')
        db = tmp_path / "a.db"
        scrapy = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"config={cfg}", "-s", f"ARCHIVE_DB={db}", "-s", "LOG_LEVEL=ERROR"]
        with ArchiveLock(db):
            refused = subprocess.run(scrapy, cwd=ROOT, capture_output=True, text=True, env=child_env(), timeout=300)
        assert "not crawling: another run holds" in refused.stderr and f"pid {os.getpid()}" in refused.stderr
        assert site.requests == [] and not db.exists()
        ran = subprocess.run(scrapy, cwd=ROOT, capture_output=True, text=True, env=child_env(), timeout=300)
        assert ran.returncode == 0, ran.stderr
    assert count(db, "SELECT count(*) FROM articles") == 1
    assert ArchiveLock(db).path.read_text() == ""  # released


# -- 7. politeness everywhere -----------------------------------------------------------------


def test_archive_of_several_urls_is_polite_fetches_each_once_and_answers_in_input_order(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(4)]
    with ReplaySite("news", pages, host="127.0.0.2") as site:
        given = [site.url("/gone"), *(site.url(f"/s{i}") for i in range(4)), site.url("/s1"), "not-a-url"]
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join(given) + "\n")
        result = run_cli("archive", "--from-file", listing, "--allow-private", "--db", tmp_path / "a.db", cwd=tmp_path)
        stories = [r for r in site.requests if r["path"] != "/robots.txt"]
    assert result.returncode == 1  # /gone and not-a-url failed
    assert sorted(r["path"] for r in stories) == ["/gone", "/s0", "/s1", "/s2", "/s3"]  # /s1 once
    times = sorted(r["time"] for r in site.requests)
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.9  # DOWNLOAD_DELAY between requests to one host
    lines = result.stdout.splitlines()
    urls = [line[15:].split(" v1:")[0].split(": ")[0] for line in lines]
    assert urls == given[:5] + ["not-a-url"]  # the order given, errors in their place
    assert lines[0].startswith(f"error          {given[0]}: HTTP 404") and lines[1].startswith("new article")


# -- 10. fast small commands (the figures: benchmarks/commands.py) --------------------------------


def test_stats_loads_no_crawler_or_extraction_library_and_never_waits_for_a_writer(tmp_path):
    db = tmp_path / "a.db"
    assert run_cli("archive", "not-a-url", "--db", db, cwd=tmp_path).returncode == 1  # makes an archive
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from newsarchive.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['stats', '--db', {str(db)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scrapy', 'twisted', 'trafilatura', 'datasketch', 'crawler', 'pipelines'}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=child_env(), timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
    writer = sqlite3.connect(db)
    writer.execute("BEGIN IMMEDIATE")  # a crawl's transaction in progress
    try:
        result = run_cli("stats", "--db", db, cwd=tmp_path, timeout=20)  # the busy timeout is 30 s
    finally:
        writer.rollback()
        writer.close()
    assert result.returncode == 0, result.stderr
    assert "crawls:    1" in result.stdout


def test_serve_stops_when_its_archive_file_is_replaced(tmp_path):
    from tests.servers import free_port, wait_for

    db = tmp_path / "demo.db"
    assert run_cli("archive", "not-a-url", "--db", db, cwd=tmp_path).returncode == 1
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    process = subprocess.Popen(newsarchive("serve", "--db", db, "--port", port), cwd=tmp_path, env={**child_env(), "TMPDIR": str(temp)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(f"http://127.0.0.1:{port}/-/versions.json", process)
    for name in ("demo.db", "demo.db-wal", "demo.db-shm"):  # as `make demo` remakes it
        (tmp_path / name).unlink(missing_ok=True)
    assert run_cli("archive", "not-a-url", "--db", db, cwd=tmp_path).returncode == 1
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"{db} was re" in err and "start serve again" in err
    assert list(temp.iterdir()) == []


def test_a_stop_message_starts_a_clean_line_on_a_terminal(monkeypatch):
    # a progress bar may be drawn on the terminal's line, its cursor hidden: the message
    # erases the line and shows the cursor; into a file or a pipe it writes no escape codes
    import io

    from archive import interrupt

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    assert interrupt.line_start() == "\r\x1b[K\x1b[?25h"
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert interrupt.line_start() == ""
