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
