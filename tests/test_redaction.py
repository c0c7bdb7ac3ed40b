"""``newsarchive redact`` (issue 17): a story taken out, a tombstone left, no trace anywhere."""

from __future__ import annotations

import gzip
import json
import sqlite3

from archive.records import CaptureRecord
from archive.database import Archive
from tests.conftest import run_cli
from tests.test_archive import snapshot

SECRET = "Quillfeather Oberwald testified"
TITLE = "Zanzibrook inquiry names witness"
KEPT = "The harbour reopened on Friday after repairs."
A = "http://news.example.com/2026/01/01/inquiry"
B = "http://news.example.com/2026/01/02/harbour"


def page(text: str, title: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>".encode()


def fill(archive: Archive) -> None:
    crawl = archive.start_crawl("crawl")
    for at, text in [("2026-01-01T10:00:00Z", f"{SECRET} on Monday."), ("2026-01-01T12:00:00Z", f"{SECRET} on Monday and Tuesday.")]:
        record = CaptureRecord(url=A, final_url=A, fetched_at=at, status=200, body=page(text, TITLE), site="example",
                               hints={"title": TITLE}, response_headers={"ETag": '"a"'})
        archive.record_capture(crawl, record, snapshot(text, TITLE, canonical_url=A))
    record = CaptureRecord(url=A, final_url=A, fetched_at="2026-01-01T13:00:00Z", status=304, body=None, site="example")
    archive.record_capture(crawl, record, None, article_id=1)
    record = CaptureRecord(url=B, final_url=B, fetched_at="2026-01-02T10:00:00Z", status=200, body=page(KEPT, "Harbour"), site="example")
    archive.record_capture(crawl, record, snapshot(KEPT, "Harbour", canonical_url=B))


def traces(path) -> list[str]:
    """Which of the story's words are in the SQLite file or its WAL (raw bytes)."""
    found = []
    for name in (path, path.with_name(path.name + "-wal")):
        if name.exists():
            data = name.read_bytes()
            found += [f"{name.name}: {word}" for word in ("Quillfeather", "Oberwald", "Zanzibrook") if word.encode() in data]
    return found


def fts_terms(path) -> set[str]:
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, snapshots_fts, row)")
    return {row[0] for row in conn.execute("SELECT term FROM temp.vocab")}


def test_redact_leaves_no_trace_in_the_file_wal_index_or_exports(tmp_path):
    db = tmp_path / "archive.db"
    with Archive.open(db) as archive:
        fill(archive)
        # the control: the story is there, in the file or its WAL, and in the index
        assert traces(db)
        assert {"quillfeather", "zanzibrook"} <= fts_terms(db)
        result = run_cli("redact", A, "--reason", "court order 2026/17", "--db", db, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert f"redacted       {A}" in result.stdout
    assert "1 story redacted: 2 versions and 2 raw bodies removed, 3 captures emptied; file vacuumed, WAL truncated" in result.stdout
    assert traces(db) == []
    terms = fts_terms(db)
    assert "quillfeather" not in terms and "zanzibrook" not in terms and "harbour" in terms
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT status, redaction_reason, latest_snapshot_id FROM articles WHERE canonical_url = ?", [A]).fetchone() == (
        "redacted", "court order 2026/17", None)
    assert conn.execute("SELECT count(*) FROM captures WHERE article_id = 1 AND (body_digest IS NOT NULL OR hints IS NOT NULL)").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM snapshots_fts WHERE snapshots_fts MATCH 'Quillfeather'").fetchone() == (0,)
    with Archive.open(db, create=False) as archive:
        remaining = b"".join(archive.read_body(d) for (d,) in archive.db.execute("SELECT digest FROM bodies"))
    assert KEPT.encode() in remaining and b"Quillfeather" not in remaining
    for what in ("stories", "versions", "changes"):
        out = run_cli("export", "--what", what, "--db", db, cwd=tmp_path)
        assert out.returncode == 0 and "Quillfeather" not in out.stdout and A not in out.stdout, what
    assert json.loads(run_cli("export", "--db", db, cwd=tmp_path).stdout)["canonical_url"] == B
    warc = tmp_path / "all.warc.gz"
    assert run_cli("export-warc", "--db", db, "--out", warc, cwd=tmp_path).returncode == 0
    unpacked = gzip.decompress(warc.read_bytes())
    assert b"Quillfeather" not in unpacked and A.encode() not in unpacked and KEPT.encode() in unpacked
    stories = conn.execute("SELECT canonical_url FROM stories").fetchall()
    assert stories == [(B,)]


def test_a_redacted_story_is_never_archived_again(tmp_path):
    db = tmp_path / "archive.db"
    with Archive.open(db) as archive:
        fill(archive)
    assert run_cli("redact", A, "--reason", "erasure request", "--db", db, cwd=tmp_path).returncode == 0
    with Archive.open(db) as archive:
        crawl = archive.start_crawl("archive")
        record = CaptureRecord(url=A, final_url=A, fetched_at="2026-02-01T10:00:00Z", status=200, body=page(SECRET, TITLE), site="example")
        result = archive.record_capture(crawl, record, snapshot(SECRET, TITLE, canonical_url=A))
        assert (result.outcome, result.redacted, result.snapshot_id) == ("failed", True, None)
        assert archive.db.execute("SELECT kind FROM failures").fetchall() == [("redacted",)]
        assert archive.db.execute("SELECT count(*) FROM snapshots WHERE article_id = 1").fetchone() == (0,)
        assert archive.db.execute("SELECT body_digest FROM captures WHERE id = ?", [result.capture_id]).fetchone() == (None,)
        assert archive.due_articles(["example"], "2030-01-01T00:00:00Z") and all(r["id"] != 1 for r in archive.due_articles(["example"], "2030-01-01T00:00:00Z"))
        assert archive.db.execute("SELECT status FROM articles WHERE id = 1").fetchone() == ("redacted",)


def test_redact_a_whole_site_and_bad_input(tmp_path):
    db = tmp_path / "archive.db"
    with Archive.open(db) as archive:
        fill(archive)
    for args, message in [
        ([A], "Missing option '--reason'"),
        ([A, "--reason", " "], "--reason must say why"),
        (["--reason", "x"], "give a story's URL or --site NAME"),
        ([A, "--site", "example", "--reason", "x"], "give a story's URL or --site NAME"),
        (["http://news.example.com/none", "--reason", "x"], "no story in the archive has the URL"),
        (["--site", "nosuch", "--reason", "x"], "no story of the site 'nosuch'"),
    ]:
        result = run_cli("redact", *args, "--db", db, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    result = run_cli("redact", "--site", "example", "--reason", "publisher request", "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 stories redacted" in result.stdout
    assert sqlite3.connect(db).execute("SELECT count(*) FROM snapshots").fetchone() == (0,)
    again = run_cli("redact", A, "--reason", "again", "--db", db, cwd=tmp_path)
    assert again.returncode == 0 and "already" in again.stdout


def test_the_story_page_of_a_redacted_story_is_a_tombstone(tmp_path):
    import asyncio

    from archive import web

    db = tmp_path / "archive.db"
    with Archive.open(db) as archive:
        fill(archive)
    assert run_cli("redact", A, "--reason", "court order <17>", "--db", db, cwd=tmp_path).returncode == 0
    ds = web.make_datasette(db)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ds.invoke_startup())
        story = loop.run_until_complete(ds.client.get("/-/story/1"))
        search = loop.run_until_complete(ds.client.get("/archive/search.json?q=Quillfeather&from_day=&to_day=&_shape=array"))
        kept = loop.run_until_complete(ds.client.get("/-/story/2"))
    finally:
        loop.close()
    assert story.status_code == 410
    assert "was redacted" in story.text and "court order &lt;17&gt;" in story.text and "Quillfeather" not in story.text
    assert search.status_code == 200 and search.json() == []
    assert kept.status_code == 200 and "harbour reopened" in kept.text


C = "http://news.example.com/2026/01/03/budget"
FEED = "http://news.example.com/feed.xml"


def listing_pages() -> dict[str, bytes]:
    """Pages that name story A without being it: a feed, a gzipped sitemap, a section page
    (relative link, headline in entities), and one that names only B."""
    import random

    words = random.Random(17).choices(["budget", "council", "vote", "tax", "school", "road", "plan", "year"], k=600)
    filler = " ".join(words)
    return {
        "feed": (
            f'<?xml version="1.0"?><rss><channel><item><title>{TITLE}</title><link>{A}?ref=rss&amp;x=1</link>'
            f"<description>{SECRET} on Monday.</description></item>"
            f"<item><title>Harbour</title><link>{B}</link></item></channel></rss>"
        ).encode(),
        "sitemap": gzip.compress(f"<urlset><url><loc>{A}</loc></url><url><loc>{B}</loc></url></urlset>".encode()),
        "section": (
            '<html><body><ul><li><a href="/2026/01/01/inquiry">Zanzibrook&#32;inquiry\n names witness</a></li>'
            f'<li><a href="{B}">Harbour</a></li></ul></body></html>'
        ).encode(),
        "other": f'<html><body><a href="{B}">Harbour</a><p>{filler}</p></body></html>'.encode(),
        "c1": page(f"{filler} Related: Zanzibrook inquiry names witness", "Budget").replace(b"Related", f'<a href="{A}">Related</a>'.encode()),
        "c2": page(f"{filler} and more", "Budget"),
    }


def bodies_naming_a(archive: Archive) -> list[str]:
    """Digests of the stored bodies (decompressed, gunzipped) that hold a word or the path of story A."""
    found = []
    for (digest,) in archive.db.execute("SELECT digest FROM bodies"):
        body = archive.read_body(digest)
        body = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        if any(word in body for word in (b"Zanzibrook", b"Quillfeather", b"/2026/01/01/inquiry")):
            found.append(digest)
    return found


def test_redact_removes_every_body_that_names_the_story(tmp_path):
    db = tmp_path / "archive.db"
    pages = listing_pages()
    with Archive.open(db) as archive:
        fill(archive)
        crawl = archive.start_crawl("crawl")

        def listing(url, at, body, status=200):
            record = CaptureRecord(url=url, final_url=url, fetched_at=at, status=status, body=body, site="example")
            archive.record_capture(crawl, record, None)

        listing(FEED, "2026-01-01T09:00:00Z", pages["other"])  # before the story: kept
        listing(FEED, "2026-01-01T11:00:00Z", pages["feed"])
        listing(FEED, "2026-01-01T14:00:00Z", None, status=304)  # confirms the feed that named A
        listing("http://news.example.com/sitemap.xml.gz", "2026-01-01T11:00:00Z", pages["sitemap"])
        listing("http://news.example.com/world/", "2026-01-01T11:00:00Z", pages["section"])
        for at, body, text in [("2026-01-03T10:00:00Z", pages["c1"], "Budget day."), ("2026-01-03T12:00:00Z", pages["c2"], "Budget day, edited.")]:
            record = CaptureRecord(url=C, final_url=C, fetched_at=at, status=200, body=body, site="example")
            archive.record_capture(crawl, record, snapshot(text, "Budget", canonical_url=C))
        c2 = archive.db.execute("SELECT codec, base_digest FROM bodies WHERE digest = (SELECT body_digest FROM captures WHERE fetched_at = '2026-01-03T12:00:00Z')").fetchone()
        assert c2[0] == "zstd-delta"  # the control: C's second page is kept as a delta against the first
        assert len(bodies_naming_a(archive)) == 6  # the control: the story's 2 pages, and 4 others name it
    result = run_cli("redact", A, "--reason", "court order 2026/17", "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 captures emptied, 4 other captures emptied (feeds, sitemaps or pages that named it)" in result.stdout
    assert traces(db) == []
    conn = sqlite3.connect(db)
    emptied = conn.execute("SELECT url, fetched_at FROM captures WHERE flag = 'redacted' AND body_digest IS NULL AND warnings LIKE '%named a redacted story%' ORDER BY id").fetchall()
    assert emptied == [(FEED, "2026-01-01T11:00:00Z"), ("http://news.example.com/sitemap.xml.gz", "2026-01-01T11:00:00Z"),
                       ("http://news.example.com/world/", "2026-01-01T11:00:00Z"), (C, "2026-01-03T10:00:00Z")]
    with Archive.open(db, create=False) as archive:
        assert bodies_naming_a(archive) == []  # traces() cannot see into compressed bodies: decompressed here
        kept = {url: archive.read_body(d) for url, d in archive.db.execute("SELECT url, body_digest FROM captures WHERE body_digest IS NOT NULL")}
        assert kept[FEED] == pages["other"] and kept[C] == pages["c2"] and kept[B] == page(KEPT, "Harbour")
        assert archive.db.execute("SELECT count(*) FROM bodies WHERE base_digest IS NOT NULL").fetchone() == (0,)  # c2 stored whole
        assert [r["version"] for r in archive.db.query("SELECT version FROM snapshots WHERE article_id = 3")] == [1, 2]  # C's versions stay
    warc = tmp_path / "all.warc.gz"
    assert run_cli("export-warc", "--db", db, "--out", warc, cwd=tmp_path).returncode == 0
    unpacked = gzip.decompress(warc.read_bytes())
    for word in (b"Zanzibrook", b"Quillfeather", b"/2026/01/01/inquiry"):
        assert word not in unpacked, word
    from warcio.archiveiterator import ArchiveIterator

    with warc.open("rb") as stream:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("WARC-Date"), r.http_headers and r.http_headers.get_statuscode())
                   for r in ArchiveIterator(stream) if r.rec_type in ("response", "revisit")]
    feed = [r for r in records if r[1] == FEED]
    # the 304 that confirmed the removed feed is the plain 304 it was, not a revisit of the older feed
    assert feed == [("response", FEED, "2026-01-01T09:00:00Z", "200"), ("response", FEED, "2026-01-01T14:00:00Z", "304")]
    assert ("response", C, "2026-01-03T12:00:00Z", "200") in records and all(r[2] != "2026-01-03T10:00:00Z" for r in records)


def test_a_page_fetched_after_the_redaction_that_names_the_story_keeps_no_body(tmp_path):
    db = tmp_path / "archive.db"
    with Archive.open(db) as archive:
        fill(archive)
    assert run_cli("redact", A, "--reason", "erasure request", "--db", db, cwd=tmp_path).returncode == 0
    pages = listing_pages()
    with Archive.open(db) as archive:
        crawl = archive.start_crawl("crawl")
        results = {}
        for name in ("feed", "section", "other"):
            record = CaptureRecord(url=f"{FEED}?{name}", final_url=f"{FEED}?{name}", fetched_at="2026-02-01T10:00:00Z", status=200,
                                   body=pages[name], site="example")
            results[name] = archive.record_capture(crawl, record, None)
        rows = {r["id"]: r for r in archive.db.query("SELECT id, body_digest, flag, warnings, outcome FROM captures")}
        assert bodies_naming_a(archive) == []
    for name in ("feed", "section"):  # named by its URL (absolute, or a path): the headline is gone from the archive
        row = rows[results[name].capture_id]
        assert results[name].names_redacted and (row["body_digest"], row["flag"], row["outcome"]) == (None, "redacted", "not_article")
        assert "named a redacted story" in row["warnings"]
    assert not results["other"].names_redacted and rows[results["other"].capture_id]["body_digest"] is not None
    assert traces(db) == []


def test_a_crawl_keeps_a_listing_that_names_a_redacted_story_out_of_its_warc(tmp_path):
    from scrapy.utils.misc import build_from_crawler
    from scrapy.utils.test import get_crawler

    from archive.redaction import find_articles, redact
    from crawler.items import PageItem
    from crawler.spiders.news import NewsSpider
    from pipelines.store import StorePipeline
    from pipelines.warc import WarcPipeline

    db, warc = tmp_path / "archive.db", tmp_path / "crawl.warc.gz"
    with Archive.open(db) as archive:
        fill(archive)
        redact(archive, find_articles(archive, url=A), "erasure request")
    crawler = get_crawler(NewsSpider, {"ARCHIVE_DB": str(db), "ARCHIVE_WARC": str(warc)})
    store, writer = build_from_crawler(StorePipeline, crawler), build_from_crawler(WarcPipeline, crawler)
    store.open_spider()
    writer.open_spider()
    try:
        for n, (name, status) in enumerate([("other", 200), ("feed", 200), ("feed", 304)]):
            body = b"" if status == 304 else listing_pages()[name]
            feed = PageItem(url=FEED, final_url=FEED, status=status, body=body, fetched_at=f"2026-02-01T1{n}:00:00Z", site="example",
                            content_type="application/rss+xml", role="feed")
            writer.process_item(store.process_item(feed))
    finally:
        writer.close_spider()
        store.spider_closed(None, "finished")
    assert feed.flag is None and crawler.stats.get_value("archive/not_article") == 3
    from warcio.archiveiterator import ArchiveIterator

    with warc.open("rb") as stream:
        records = [(r.rec_type, r.http_headers and r.http_headers.get_statuscode(), r.content_stream().read())
                   for r in ArchiveIterator(stream) if r.rec_type in ("response", "revisit")]
    # the feed that named the story is not written; the 304 confirming it is a plain 304, not a revisit
    assert [(t, s) for t, s, _ in records] == [("response", "200"), ("response", "304")]
    assert b"Zanzibrook" not in gzip.decompress(warc.read_bytes()) and records[0][2] == listing_pages()["other"]
    assert traces(db) == []


def test_what_names_a_story_is_never_so_short_that_it_names_every_page(tmp_path):
    from archive.redaction import story_needles

    with Archive.open(tmp_path / "archive.db") as archive:
        crawl = archive.start_crawl("crawl")
        for url, title in [("http://news.example.com/", "Live"), ("http://news.example.com/2026/obituaries/today", "Obituaries")]:
            record = CaptureRecord(url=url, final_url=url, fetched_at="2026-01-01T10:00:00Z", status=200, body=page("Short.", title),
                                   site="example", hints={"title": "News"})
            archive.record_capture(crawl, record, snapshot("Short.", title, canonical_url=url))
        home, obituaries = story_needles(archive.db, 1), story_needles(archive.db, 2)
    assert home == set()  # a home page and one-word headlines: nothing that would match every page
    assert obituaries == {"//news.example.com/2026/obituaries/today", "/2026/obituaries/today"}


def test_history_of_a_redacted_story_shows_its_tombstone_and_refuses_a_comparison(tmp_path):
    db = tmp_path / "archive.db"
    with Archive.open(db) as archive:
        fill(archive)
    assert run_cli("redact", A, "--reason", "erasure request", "--db", db, cwd=tmp_path).returncode == 0
    shown = run_cli("history", A, "--db", db, cwd=tmp_path)
    assert shown.returncode == 0 and "redacted" in shown.stdout and "erasure request" in shown.stdout
    for args in (["--from", "1"], ["--to", "2"], ["--from", "1", "--to", "2"]):
        compared = run_cli("history", A, *args, "--db", db, cwd=tmp_path)
        assert compared.returncode == 2, compared.stderr
        assert "no versions to compare (its text was redacted)" in compared.stderr and "Traceback" not in compared.stderr
        assert compared.stdout == ""
