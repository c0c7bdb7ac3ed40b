"""Crawling like a news archivist: discovery, politeness, revisits, cron (issue 4).

Every test runs the real `newsarchive crawl` against replay sites of real pages on loopback."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest

from archive.lock import ArchiveLock
from crawler.discovery import read_json_feed
from demo.replay import ReplayPage, ReplaySite, ReplayWeb, page_from_folder
from tests.conftest import NEWS_SITES, ROOT, db_rows, requires_shared, run_cli
from tests.pages import CASES, DATA

pytestmark = [pytest.mark.slow, requires_shared]

STORY = "".join(
    f"<p>Paragraph {i} of a story about the harbour, with enough words to read as prose in any extractor.</p>"
    for i in range(8)
)


def story_page(path: str, title: str) -> ReplayPage:
    body = f"<html><head><title>{title}</title><meta property='og:type' content='article'></head><body><article><h1>{title}</h1>{STORY}</article></body></html>"
    return ReplayPage(path=path, body=body.encode(), original_url=f"https://news.example.com{path}", title=title)


def crawl(tmp_path: Path, config_text: str, *extra: str, db: str = "archive.db") -> subprocess.CompletedProcess:
    config = tmp_path / "sources.toml"
    config.write_text(config_text)
    return run_cli("crawl", "--config", config, "--db", tmp_path / db, *extra, cwd=tmp_path)


def one_source(site: ReplaySite, **keys: str) -> str:
    """A config with one source; values are TOML."""
    lines = ["[crawl]", "delay_secs = 0", 'contact = "mailto:archive@example.org"', 'revisit_steps = ["*=0s"]', "[[source]]",
             f'name = "{site.name}"', "allow_private = true"]
    lines += [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


# -- discovery ----------------------------------------------------------------------


def test_feeds_sitemap_index_gzip_and_news_sitemaps_find_every_page(tmp_path):
    sites = {name: [page_from_folder(DATA / f) for f in folders] for name, folders in NEWS_SITES.items()}
    with ReplayWeb(sites) as web:
        result = crawl(tmp_path, web.sources_toml(sections=False, sitemap_path="/sitemap_index.xml"))
        assert result.returncode == 0, result.stderr
        for site in web.sites.values():
            assert {"/sitemap_index.xml", "/sitemap-pages.xml.gz", "/news-sitemap.xml", "/feed.xml"} <= set(site.request_paths())
    pages = sum(len(p) for p in sites.values())
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM articles")[0]["n"] == pages


def test_news_sitemap_dates_reach_the_archive(tmp_path):
    """shared/cases/17: <news:publication_date> is the publication date (not <lastmod>)."""
    case = json.loads((CASES / "17-scrapy-news-sitemap-publication-date" / "expected.json").read_text())
    entries = case["entries"]
    pages = [story_page("/" + e["loc"].split("/", 3)[3], f"Story {i}") for i, e in enumerate(entries)]
    with ReplaySite("news", pages, host="127.0.0.2") as site:
        xml = (CASES / "17-scrapy-news-sitemap-publication-date" / "input.xml").read_bytes()
        site.route("/sitemap-news.xml", 200, xml.replace(b"https://news.example.com", site.base_url.encode()), {"Content-Type": "application/xml"})
        result = crawl(tmp_path, one_source(site, sitemaps=f'["{site.url("/sitemap-news.xml")}"]'))
        assert result.returncode == 0, result.stderr
        expected = {site.url("/" + e["loc"].split("/", 3)[3]): e["publication_date"] for e in entries}
    rows = db_rows(tmp_path / "archive.db", "SELECT a.canonical_url, s.published, s.published_source FROM snapshots s JOIN articles a ON a.id = s.article_id")
    assert {r["canonical_url"]: (r["published"], r["published_source"]) for r in rows} == {
        url: (date, "sitemap") for url, date in expected.items()
    }


def test_child_sitemap_served_as_text_html_without_xml_suffix_is_read(tmp_path):
    """shared/cases/13. The child sitemaps (in /sitemap/stellenangebote/) list pages outside
    their folder: the site's robots.txt lists the index, so the location rule lets them in
    (sitemaps.org cross-submits), as it does on the sites that lay out their sitemaps so."""
    folder = CASES / "13-scrapy-sitemap-served-as-text-html"
    case = json.loads((folder / "expected.json").read_text())
    with ReplaySite("jobs", [], host="127.0.0.2", robots_txt="User-agent: *\nSitemap: {base}/index.xml\n") as site:
        base = site.base_url.encode()
        site.route("/index.xml", 200, (folder / "index.xml").read_bytes().replace(b"https://jobs.example.de", base), {"Content-Type": "application/xml"})
        child = (folder / "input.xml").read_bytes().replace(b"https://jobs.example.de", base)
        for n in (1, 2):
            site.route(f"/sitemap/stellenangebote/{n}", 200, child, {"Content-Type": "text/html; charset=utf-8"})
        result = crawl(tmp_path, one_source(site, sitemaps=f'["{site.url("/index.xml")}"]'))
        assert result.returncode == 0, result.stderr
        requested = set(site.request_paths())
    for url in case["expected_requests"]:
        assert url.replace("https://jobs.example.de", "") in requested


def test_blank_sitemap_is_a_failure_not_an_exception(tmp_path):
    """shared/cases/14."""
    body = (CASES / "14-scrapy-sitemap-blank-body" / "input.xml").read_bytes()
    with ReplaySite("news", [story_page("/a", "A")], host="127.0.0.2") as site:
        site.route("/sitemap-2019-12.xml", 200, body, {"Content-Type": "application/xml"})
        result = crawl(tmp_path, one_source(site, sitemaps=f'["{site.url("/sitemap-2019-12.xml")}"]', feeds=f'["{site.url("/feed.xml")}"]'))
        assert result.returncode == 0, result.stderr
    rows = db_rows(tmp_path / "archive.db", "SELECT kind, message FROM failures")
    assert rows == [{"kind": "bad_sitemap", "message": "invalid sitemap: empty sitemap"}]
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM articles")[0]["n"] == 1
    stats = json.loads(db_rows(tmp_path / "archive.db", "SELECT stats FROM crawls")[0]["stats"])
    assert not any(key.startswith("spider_exceptions") for key in stats)


@pytest.mark.parametrize(
    "feed_file",
    ["trafilatura-resources/feed1.atom", "feed-rs/rss_2.0_iprogrammer.xml", "trafilatura-resources/feed.json", "rss-parser/guardian.TRUNCATED.rss"],
)
def test_real_feeds_are_read_by_a_dry_run(tmp_path, feed_file):
    """Real RSS, Atom and JSON Feed files: `check` lists their entries without fetching them."""
    import feedparser

    body = (DATA / "feeds-sitemaps" / feed_file).read_bytes()
    with ReplaySite("feeds", [], host="127.0.0.2") as site:
        site.route("/feed", 200, body, {"Content-Type": "application/json" if feed_file.endswith(".json") else "application/xml"})
        entries = read_json_feed(body) if feed_file.endswith(".json") else feedparser.parse(body).entries
        links = {urljoin(site.url("/feed"), e["link"]) for e in entries if e.get("link")}
        links = {link for link in links if link.startswith(("http://", "https://"))}  # urn:uuid:... is no page to fetch
        config = tmp_path / "s.toml"
        config.write_text(one_source(site, feeds=f'["{site.url("/feed")}"]'))
        result = run_cli("check", "--config", config, "--db", tmp_path / "a.db", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert site.request_paths() == ["/robots.txt", "/feed"]
    assert links
    assert f"would fetch: {len(links)} new article" in result.stdout
    assert sorted(links)[0] in result.stdout or len(links) > 5
    assert not (tmp_path / "a.db").exists()


def test_section_links_stay_on_the_source_and_obey_allow_and_deny(tmp_path):
    pages = [story_page("/news/1-a", "A"), story_page("/news/2-b", "B"), story_page("/live/3-c", "C")]
    with ReplaySite("news", pages, host="127.0.0.2") as site:
        site.extra_links += ["http://127.0.0.3:1/news/9-elsewhere"]
        result = crawl(tmp_path, one_source(site, start_urls=f'["{site.url("/")}"]', allow="['/news/\\d+']", deny="['-b$']"))
        assert result.returncode == 0, result.stderr
        requested = site.request_paths()
    assert "/news/1-a" in requested and "/news/2-b" not in requested and "/live/3-c" not in requested
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM failures")[0]["n"] == 0


# -- politeness ---------------------------------------------------------------------


@pytest.mark.scenario(10)
def test_robots_txt_5xx_disallows_the_host_and_4xx_allows_it(tmp_path):
    pages = [story_page("/a", "A"), story_page("/b", "B")]
    with ReplaySite("down", pages, host="127.0.0.2") as down, ReplaySite("gone", pages, host="127.0.0.3") as gone:
        down.route("/robots.txt", 503, b"busy")
        gone.route("/robots.txt", 404, b"no robots here")
        text = one_source(down, feeds=f'["{down.url("/feed.xml")}"]') + "\n".join(
            ["[[source]]", 'name = "gone"', "allow_private = true", f'feeds = ["{gone.url("/feed.xml")}"]', ""]
        )
        result = crawl(tmp_path, text)
        assert result.returncode == 0, result.stderr
        assert set(down.request_paths()) == {"/robots.txt"}
        assert {"/a", "/b"} <= set(gone.request_paths())
        feed = down.url("/feed.xml")
    failures = db_rows(tmp_path / "archive.db", "SELECT url, message FROM failures")
    assert {f["url"] for f in failures} == {feed}
    assert failures[0]["message"] == "HTTP 503 (robots.txt answered with a server error: host skipped for this run, RFC 9309)"


@pytest.mark.scenario(20)
def test_crawl_delay_is_honoured_and_the_user_agent_names_a_contact(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(4)]
    with ReplaySite("slow", pages, host="127.0.0.2", robots_txt="User-agent: *\nCrawl-delay: 1\n") as site:
        result = crawl(tmp_path, one_source(site, feeds=f'["{site.url("/feed.xml")}"]'))
        assert result.returncode == 0, result.stderr
        times = site.request_times()[1:]  # after robots.txt
        agents = {r["headers"].get("User-Agent") for r in site.requests}
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 4 and min(gaps) >= 0.95
    assert agents == {"newsarchive/0.1.0 (+mailto:archive@example.org)"}


@pytest.mark.scenario(9)
def test_retry_after_makes_that_host_wait_and_not_the_others(tmp_path):
    busy_pages = [story_page(f"/b{i}", f"B{i}") for i in range(2)]
    free_pages = [story_page(f"/f{i}", f"F{i}") for i in range(6)]
    with ReplaySite("busy", busy_pages, host="127.0.0.2") as busy, ReplaySite("free", free_pages, host="127.0.0.3", robots_txt="User-agent: *\nCrawl-delay: 0.4\n") as free:
        busy.route_once("/b0", 429, b"slow down", {"Retry-After": "3"})
        text = one_source(busy, feeds=f'["{busy.url("/feed.xml")}"]') + "\n".join(
            ["[[source]]", 'name = "free"', "allow_private = true", f'feeds = ["{free.url("/feed.xml")}"]', ""]
        )
        result = crawl(tmp_path, text)
        assert result.returncode == 0, result.stderr
        (refused,) = [r["time"] for r in busy.requests if r["path"] == "/b0"][:1]
        after = [t for t in busy.request_times() if t > refused]
        others = [t for t in free.request_times() if refused < t < refused + 3]
    assert after and min(after) - refused >= 3.0
    assert len(others) >= 2  # the other host went on meanwhile
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM articles")[0]["n"] == 8


# -- revisits -----------------------------------------------------------------------


@pytest.mark.scenario(26)
def test_second_run_conditional_gets_one_change_and_noise(tmp_path):
    sites = {name: [page_from_folder(DATA / f) for f in folders] for name, folders in NEWS_SITES.items()}
    with ReplayWeb(sites, conditional=True, noise=True) as web:
        assert crawl(tmp_path, web.sources_toml()).returncode == 0
        site = web.sites["nytimes"]
        path = next(p for p, page in site.pages.items() if b"After nearly 20 years" in page.body)
        site.edit(path, "After nearly 20 years", "After two decades")
        second = crawl(tmp_path, web.sources_toml())
        assert second.returncode == 0, second.stderr
        revisits = [r for s in web.sites.values() for r in s.requests if "If-None-Match" in r["headers"]]
    pages = sum(len(p) for p in sites.values())
    assert f"0 new articles, 1 new version, 0 unchanged, {pages - 1} not modified (304)" in second.stdout
    assert len(revisits) == pages
    rows = db_rows(tmp_path / "archive.db", "SELECT outcome, count(*) AS n FROM captures WHERE crawl_id = 2 AND article_id IS NOT NULL GROUP BY outcome")
    assert {r["outcome"]: r["n"] for r in rows} == {"changed": 1, "not_modified": pages - 1}
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM captures WHERE status = 304 AND body_digest IS NOT NULL")[0]["n"] == 0


def test_not_due_articles_are_skipped_and_revisit_flags(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(3)]
    with ReplaySite("news", pages, host="127.0.0.2") as site:
        text = one_source(site, feeds=f'["{site.url("/feed.xml")}"]').replace('["*=0s"]', '["*=1d"]')
        assert crawl(tmp_path, text).returncode == 0
        before = len(site.requests)
        second = crawl(tmp_path, text)
        assert "0 new articles" in second.stdout
        assert [r["path"] for r in site.requests[before:]] == ["/robots.txt", "/feed.xml"]
        conn = sqlite3.connect(tmp_path / "archive.db")
        conn.execute("UPDATE articles SET next_check_at = '2000-01-01T00:00:00Z' WHERE canonical_url LIKE '%/s0'")
        conn.commit()
        conn.close()
        before = len(site.requests)
        only = crawl(tmp_path, text, "--revisit-only")
        assert "1 unchanged" in only.stdout
        assert [r["path"] for r in site.requests[before:]] == ["/robots.txt", "/s0"]
        site.extra_links.append("/s9")
        site.pages["/s9"] = story_page("/s9", "S9")
        before = len(site.requests)
        discover = crawl(tmp_path, text, "--no-revisit")
        assert "1 new article" in discover.stdout
        assert "/s9" in [r["path"] for r in site.requests[before:]]


def test_a_story_that_disappears_is_gone_not_a_new_version(tmp_path):
    with ReplaySite("news", [story_page("/s0", "S0")], host="127.0.0.2") as site:
        text = one_source(site, feeds=f'["{site.url("/feed.xml")}"]')
        assert crawl(tmp_path, text).returncode == 0
        site.route("/s0", 410, b"gone")
        assert crawl(tmp_path, text, "--revisit-only").returncode == 0
    assert db_rows(tmp_path / "archive.db", "SELECT status FROM articles") == [{"status": "gone"}]
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM snapshots")[0]["n"] == 1


# -- cron ---------------------------------------------------------------------------


def test_a_crawl_while_another_holds_the_lock_exits_3(tmp_path):
    with ReplaySite("news", [story_page("/s0", "S0")], host="127.0.0.2") as site:
        text = one_source(site, feeds=f'["{site.url("/feed.xml")}"]')
        with ArchiveLock(tmp_path / "archive.db"):
            result = crawl(tmp_path, text)
        assert result.returncode == 3
        assert "another run holds" in result.stderr and f"pid {os.getpid()}" in result.stderr
        assert site.request_paths() == []


@pytest.mark.scenario(22)
def test_overlapping_cron_runs(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(4)]
    with ReplaySite("slow", pages, host="127.0.0.2", robots_txt="User-agent: *\nCrawl-delay: 1\n") as site:
        config = tmp_path / "s.toml"
        config.write_text(one_source(site, feeds=f'["{site.url("/feed.xml")}"]'))
        args = [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(tmp_path / "a.db")]
        first = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while not (tmp_path / "a.db.lock").exists() or not (tmp_path / "a.db.lock").read_text():
            time.sleep(0.05)
        second = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)
        first.communicate(timeout=120)
    assert second.returncode == 3 and first.returncode == 0
    assert db_rows(tmp_path / "a.db", "SELECT count(*) AS n FROM crawls")[0]["n"] == 1


@pytest.mark.scenario(21)
def test_kill_9_loses_nothing_committed_and_the_next_run_completes(tmp_path):
    pages = [story_page(f"/s{i}", f"S{i}") for i in range(6)]
    with ReplaySite("slow", pages, host="127.0.0.2", robots_txt="User-agent: *\nCrawl-delay: 1\n") as site:
        config = tmp_path / "s.toml"
        config.write_text(one_source(site, feeds=f'["{site.url("/feed.xml")}"]'))
        args = [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(tmp_path / "a.db")]
        victim = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (tmp_path / "a.db").exists() and count_articles(tmp_path / "a.db") >= 2:
                break
            time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kept = db_rows(tmp_path / "a.db", "SELECT canonical_url FROM articles")
        assert 2 <= len(kept) < 6
        result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(tmp_path / "a.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*), count(DISTINCT canonical_url) FROM articles").fetchone() == (6, 6)
    assert conn.execute("SELECT status FROM crawls ORDER BY id").fetchall() == [("interrupted",), ("finished",)]
    assert {r[0] for r in conn.execute("SELECT canonical_url FROM articles")} >= {r["canonical_url"] for r in kept}


def count_articles(db: Path) -> int:
    """Read-only count, without opening the archive for writing (as a second crawler would)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        conn.close()


def test_backup_is_a_consistent_copy(tmp_path):
    db = tmp_path / "a.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    result = run_cli("backup", "--db", db, "--out", tmp_path / "copy.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert db_rows(tmp_path / "copy.db", "SELECT count(*) AS n FROM snapshots") == db_rows(db, "SELECT count(*) AS n FROM snapshots")
    again = run_cli("backup", "--db", db, "--out", tmp_path / "copy.db", cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr


def test_check_is_a_dry_run(tmp_path):
    with ReplaySite("news", [story_page("/s0", "S0"), story_page("/s1", "S1")], host="127.0.0.2") as site:
        config = tmp_path / "s.toml"
        config.write_text(one_source(site, feeds=f'["{site.url("/feed.xml")}"]', start_urls=f'["{site.url("/")}"]'))
        result = run_cli("check", "--config", config, "--db", tmp_path / "a.db", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert set(site.request_paths()) == {"/robots.txt", "/feed.xml", "/"}
        assert site.url("/s0") in result.stdout
    assert "would fetch: 3 new articles" in result.stdout
    assert not (tmp_path / "a.db").exists()


def test_check_says_which_feeds_and_pages_could_not_be_read(tmp_path):
    """A dead server must not look like a source with nothing new."""
    with ReplaySite("news", [story_page("/s0", "S0")], host="127.0.0.2") as site:
        dead = site.url("/feed.xml")
    config = tmp_path / "s.toml"
    config.write_text(one_source(site, feeds=f'["{dead}"]'))
    result = run_cli("check", "--config", config, "--db", tmp_path / "a.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "would fetch: 0 new articles" in result.stdout
    assert f"could not read 1 URL:\n    {dead}: connection refused (robots.txt not reachable: host skipped for this run, RFC 9309)" in result.stdout


def test_check_says_which_sitemaps_answered_but_could_not_be_read(tmp_path):
    """A sitemap that answers with no sitemap in it must not look like one with nothing new
    either (the crawl records it as ``bad_sitemap``)."""
    with ReplaySite("news", [story_page("/s0", "S0")], host="127.0.0.2") as site:
        site.route("/broken.xml", 200, b"<urlset><url><loc>", {"Content-Type": "application/xml"})
        site.route("/binary.xml", 200, bytes(range(256)) * 4, {"Content-Type": "application/octet-stream"})
        config = tmp_path / "s.toml"
        config.write_text(one_source(site, sitemaps=f'["{site.url("/broken.xml")}", "{site.url("/binary.xml")}"]'))
        result = run_cli("check", "--config", config, "--db", tmp_path / "a.db", cwd=tmp_path)
        broken, binary = site.url("/broken.xml"), site.url("/binary.xml")
    assert result.returncode == 0, result.stderr
    assert "would fetch: 0 new articles" in result.stdout
    assert "could not read 2 URLs:" in result.stdout
    assert f"{broken}: invalid sitemap: " in result.stdout and f"{binary}: invalid sitemap: " in result.stdout


def test_check_rejects_a_bad_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[source]]\nname = 'x'\n")
    result = run_cli("check", "--config", bad, cwd=tmp_path)
    assert result.returncode == 2 and "give at least one of feeds" in result.stderr


def test_gzip_helper_is_real():  # the gzip sitemap route really is gzip
    site = ReplaySite("x", [story_page("/a", "A")])
    with site:
        status, headers, body = site._response("/sitemap-pages.xml.gz", 0)
    assert status == 200 and gzip.decompress(body).startswith(b"<?xml")
