"""Reading a large archive quickly (issue 16): the counts and orders kept by triggers
(migration m010), bounded search ranking, the loose scan of the sites, the home page.

Speed itself is measured by ``python -m benchmarks.search``; these tests check that the
fast paths give the right answers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from archive import queries
from archive.database import Archive
from archive.migrations import migrations
from archive.records import CaptureRecord, SnapshotRecord
from archive.redaction import find_articles, redact
from archive.web import plugin

WORDS = "harbour pier council library budget vote".split()


def store(archive: Archive, url: str, n: int, text: str, published: str | None, site: str = "example") -> None:
    fetched = f"2024-03-{n:02d}T10:00:00Z"
    capture = CaptureRecord(url=url, final_url=url, fetched_at=fetched, status=200, body=None, site=site, content_type="text/html")
    snapshot = SnapshotRecord(
        canonical_url=url, content_hash=f"{n:064x}", title=f"Story {n}", text=text, extractor="test",
        published=published, published_utc=None, published_source="meta" if published else None,
    )  # fmt: skip
    crawl = archive.start_crawl("test", None)
    archive.record_capture(crawl, capture, snapshot)
    archive.finish_crawl(crawl, "finished", {})


def columns(archive: Archive) -> dict[str, tuple]:
    return {url: (edits, order) for url, edits, order in archive.db.execute("SELECT canonical_url, edits, published_or_seen FROM articles")}


def test_edits_and_latest_order_are_kept_by_triggers(tmp_path):
    with Archive.open(tmp_path / "a.db") as archive:
        store(archive, "http://example.com/a", 1, "The harbour board voted.", "2024-02-01")
        store(archive, "http://example.com/b", 2, "The council voted.", None)
        assert columns(archive) == {"http://example.com/a": (0, "2024-02-01"), "http://example.com/b": (0, "2024-03-02T10:00:00Z")}
        # an edit with a new publication date: one edit, ordered by the new date
        store(archive, "http://example.com/a", 3, "The harbour board voted again.", "2024-03-03")
        assert columns(archive)["http://example.com/a"] == (1, "2024-03-03")
        # redaction deletes the story's changes: no edits left
        redact(archive, find_articles(archive, url="http://example.com/a"), "an erasure request")
        assert columns(archive)["http://example.com/a"][0] == 0


def test_migration_fills_edits_and_order_of_an_older_archive(tmp_path):
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="m010_reading_at_scale")
    old = Archive(db, str(path))
    store(old, "http://example.com/a", 1, "The harbour board voted.", "2024-02-01")
    store(old, "http://example.com/a", 2, "The harbour board voted again.", None)
    db.conn.commit()
    db.close()
    with Archive.open(path) as archive:
        assert columns(archive) == {"http://example.com/a": (1, "2024-03-01T10:00:00Z")}  # no date: first seen


def searchable(tmp_path, count: int) -> sqlite3.Connection:
    with Archive.open(tmp_path / "s.db") as archive:
        for n in range(1, count + 1):
            # the older the story, the more often it says "harbour": the best match is the oldest
            store(archive, f"http://example.com/{n}", n, " ".join(["harbour"] * (count + 1 - n) + WORDS), None)
    conn = sqlite3.connect(tmp_path / "s.db")
    plugin.prepare_connection(conn)
    return conn


def test_search_ranks_only_the_newest_candidates_and_says_how_many(tmp_path):
    conn = searchable(tmp_path, 5)
    every = queries.search(conn, plugin.fts_query("harbour"), '""', "harbour")
    assert [r["story"] for r in every] == [1, 2, 3, 4, 5]  # best (most "harbour") first
    assert {r["ranked"] for r in every} == {5}
    assert "»harbour«" in every[0]["excerpt"]
    capped = queries.search(conn, plugin.fts_query("harbour"), '""', "harbour", candidates=2)
    # only the two newest versions were ranked, the better of them first
    assert [r["story"] for r in capped] == [4, 5]
    assert {r["ranked"] for r in capped} == {2}


def test_a_long_text_is_excerpted_around_its_first_match_not_by_snippet(tmp_path):
    # FTS5's snippet() takes time with the square of one text's matches: a tester's story of
    # 60,000 repeated words held every search for it 20 s and more
    with Archive.open(tmp_path / "s.db") as archive:
        store(archive, "http://example.com/long", 1, "It began quietly. " + "word " * 12_000, None)
        store(archive, "http://example.com/short", 2, "A short story with one word in it.", None)
    conn = sqlite3.connect(tmp_path / "s.db")
    plugin.prepare_connection(conn)
    found = {r["story"]: r["excerpt"] for r in queries.search(conn, plugin.fts_query("word"), '""', "word")}
    assert len("It began quietly. " + "word " * 12_000) > queries.SNIPPET_MAX_CHARS
    assert found[1].startswith("It began quietly. »word« word word") and found[1].count("»") == 1
    assert found[2] == "A short story with one »word« in it."  # snippet(), as before
    # the canned query of the Datasette instance excerpts the same way
    metadata = Path(plugin.__file__).with_name("metadata.json")
    canned = json.loads(metadata.read_text(encoding="utf-8"))["databases"]["ARCHIVE"]["queries"]["search"]["sql"]
    assert f"(SELECT length(text) FROM snapshots WHERE id = best.snapshot_id) <= {queries.SNIPPET_MAX_CHARS})" in canned


def test_search_page_says_when_ranking_was_capped(tmp_path, monkeypatch):
    import asyncio

    from archive import web

    searchable(tmp_path, 3).close()
    ds = web.make_datasette(tmp_path / "s.db")
    get = lambda path: asyncio.run(ds.client.get(path))  # noqa: E731
    assert "showing the best of the newest" not in get("/-/search?q=harbour").text
    monkeypatch.setattr(queries, "SEARCH_CANDIDATES", 2)
    page = get("/-/search?q=harbour").text
    assert "More than 2 versions match: showing the best of the newest 2 matches." in page
    assert page.count('class="search-title"') == 2
    # the canned search ranks the newest 2,000 at most, and says so
    assert "only the newest 2,000 matches are ranked" in get("/s/search?q=harbour&from_day=&to_day=").text


def test_sites_skip_a_site_whose_stories_are_all_redacted(tmp_path):
    with Archive.open(tmp_path / "a.db") as archive:
        store(archive, "http://one.example/a", 1, "The harbour.", None, site="one")
        store(archive, "http://two.example/a", 2, "The pier.", None, site="two")
        store(archive, "http://two.example/b", 3, "The vote.", None, site="two")
        store(archive, "http://three.example/a", 4, "The library.", None, site="three")
        assert queries.sites(archive.db.conn) == ["one", "three", "two"]
        redact(archive, find_articles(archive, site="three"), "an erasure request")
        redact(archive, find_articles(archive, url="http://two.example/a"), "an erasure request")
        assert queries.sites(archive.db.conn) == ["one", "two"]
