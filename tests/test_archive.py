"""The archive layer: identity, versions, bodies, failures, migrations."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from archive.migrations import migrations
from archive.records import CaptureRecord, SnapshotRecord
from archive.database import Archive, ArchiveError, NewerSchemaError, body_digest

URL = "http://news.example.com/2018/04/25/story"


def capture(body: bytes = b"<html>story</html>", url: str = URL, at: str = "2026-01-01T10:00:00Z", **kw) -> CaptureRecord:
    return CaptureRecord(url=url, final_url=url, fetched_at=at, status=200, body=body, site="example", **kw)


def snapshot(text: str = "The story.", title: str = "Story", **kw) -> SnapshotRecord:
    from pipelines.content import content_hash

    return SnapshotRecord(
        canonical_url=kw.pop("canonical_url", URL),
        content_hash=content_hash(title, text),
        title=title,
        text=text,
        extractor="test",
        **kw,
    )


def test_first_capture_makes_article_and_version_1(archive):
    crawl = archive.start_crawl("crawl")
    result = archive.record_capture(crawl, capture(), snapshot())
    assert (result.outcome, result.version) == ("new", 1)
    article = next(archive.db.query("SELECT * FROM articles"))
    assert article["canonical_url"] == URL
    assert article["latest_snapshot_id"] == result.snapshot_id
    assert article["first_seen"] == article["last_seen"] == "2026-01-01T10:00:00Z"


def test_same_content_adds_capture_not_snapshot(archive):
    crawl = archive.start_crawl("crawl")
    archive.record_capture(crawl, capture(), snapshot())
    again = archive.record_capture(crawl, capture(at="2026-01-01T11:00:00Z"), snapshot())
    assert again.outcome == "unchanged"
    assert again.snapshot_id is None
    assert archive.counts()["snapshots"] == 1
    assert archive.counts()["captures"] == 2
    assert next(archive.db.query("SELECT last_seen FROM articles"))["last_seen"] == "2026-01-01T11:00:00Z"


def test_white_space_only_differences_are_the_same_version(archive):
    crawl = archive.start_crawl("crawl")
    archive.record_capture(crawl, capture(), snapshot("The  story.\n"))
    assert archive.record_capture(crawl, capture(), snapshot(" The story.")).outcome == "unchanged"


def test_changed_content_adds_version_2_with_reason_edit(archive):
    crawl = archive.start_crawl("crawl")
    archive.record_capture(crawl, capture(), snapshot())
    result = archive.record_capture(crawl, capture(b"<html>edited</html>"), snapshot("The story, edited."))
    assert (result.outcome, result.version) == ("changed", 2)
    rows = list(archive.db.query("SELECT version, reason FROM snapshots ORDER BY version"))
    assert rows == [{"version": 1, "reason": "new"}, {"version": 2, "reason": "edit"}]
    latest = next(archive.db.query("SELECT latest_snapshot_id FROM articles"))["latest_snapshot_id"]
    assert latest == result.snapshot_id


def test_identical_bodies_are_stored_once(archive):
    crawl = archive.start_crawl("crawl")
    body = b"<html>" + b"x" * 5000 + b"</html>"
    archive.record_capture(crawl, capture(body), snapshot())
    archive.record_capture(crawl, capture(body), snapshot())
    rows = list(archive.db.query("SELECT digest, size, length(data) AS stored FROM bodies"))
    assert len(rows) == 1
    assert rows[0]["digest"] == body_digest(body)
    assert rows[0]["size"] == len(body) and rows[0]["stored"] < len(body)
    assert archive.read_body(rows[0]["digest"]) == body


def test_alias_points_to_article_and_is_found_by_url(archive):
    crawl = archive.start_crawl("crawl")
    tracked = URL + "?utm_source=feed"
    archive.record_capture(crawl, capture(url=tracked), snapshot(aliases=((tracked, "tracking"),)))
    assert list(archive.db.query("SELECT url, kind FROM aliases")) == [{"url": tracked, "kind": "tracking"}]
    assert archive.find_article_id(tracked) == archive.find_article_id(URL) == 1


def test_not_article_and_failed_captures_make_no_article(archive):
    crawl = archive.start_crawl("crawl")
    assert archive.record_capture(crawl, capture(url="http://news.example.com/")).outcome == "not_article"
    failed = archive.record_capture(crawl, capture(url=URL + "x"), failure=("http_error", "HTTP 404"))
    assert failed.outcome == "failed"
    assert archive.counts()["articles"] == 0
    row = next(archive.db.query("SELECT url, kind, message, capture_id FROM failures"))
    assert row == {"url": URL + "x", "kind": "http_error", "message": "HTTP 404", "capture_id": failed.capture_id}


def test_failure_without_response(archive):
    crawl = archive.start_crawl("archive")
    archive.record_failure(crawl, "http://nowhere.invalid/", "dns", "cannot resolve host")
    results = archive.crawl_results(crawl)
    assert [(r["url"], r["outcome"], r["kind"]) for r in results] == [("http://nowhere.invalid/", "failed", "dns")]


def test_crawl_row_records_status_and_stats(archive):
    crawl = archive.start_crawl("crawl", "[[source]]")
    archive.finish_crawl(crawl, "finished", {"archive/new": 3})
    row = archive.last_crawl()
    assert row["status"] == "finished" and row["stats"] == {"archive/new": 3}
    assert row["config"] == "[[source]]" and row["finished_at"].endswith("Z")


def test_full_text_search_finds_snapshot(archive):
    crawl = archive.start_crawl("crawl")
    archive.record_capture(crawl, capture(), snapshot("Parliament voted on the budget.", "Budget vote"))
    hits = list(archive.db.query("SELECT title FROM snapshots_fts WHERE snapshots_fts MATCH 'parliament'"))
    assert hits == [{"title": "Budget vote"}]


def test_snapshot_fields_are_stored(archive):
    crawl = archive.start_crawl("crawl")
    archive.record_capture(
        crawl,
        capture(),
        snapshot(authors=["A. Writer"], tags=["politics"], published="2018-04-25T06:35:00+05:00",
                 published_utc="2018-04-25T01:35:00Z", published_source="jsonld", language="en"),
    )
    row = next(archive.db.query("SELECT * FROM snapshots"))
    assert json.loads(row["authors"]) == ["A. Writer"] and json.loads(row["tags"]) == ["politics"]
    assert (row["published"], row["published_utc"], row["published_source"]) == (
        "2018-04-25T06:35:00+05:00", "2018-04-25T01:35:00Z", "jsonld")


def test_file_archive_uses_wal_and_reopens(tmp_path):
    path = tmp_path / "a.db"
    with Archive.open(path) as a:
        a.record_capture(a.start_crawl("crawl"), capture(), snapshot())
        assert a.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Archive.open(path, create=False) as a:
        assert a.counts()["snapshots"] == 1


def test_missing_archive_is_an_error_when_not_creating(tmp_path):
    with pytest.raises(ArchiveError, match="no archive"):
        Archive.open(tmp_path / "none.db", create=False)


def test_not_a_database_is_an_archive_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArchiveError):
        Archive.open(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "a.db"
    Archive.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('newsarchive', 'm999_future', 'x')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(NewerSchemaError, match="newer newsarchive"):
        Archive.open(path)


def test_opening_twice_applies_migrations_once(tmp_path):
    path = tmp_path / "a.db"
    Archive.open(path).close()
    with Archive.open(path) as a:
        names = [m.name for m in migrations.applied(a.db)]
    assert names == sorted(set(names)) and names[0] == "m001_initial"


# -- the archive committed by the first release, upgraded by every later schema ---------

V1 = Path(__file__).parent / "data" / "archive-v1.db"
V1_EXPECTED = Path(__file__).parent / "data" / "archive-v1.json"


@pytest.mark.scenario(25)
def test_archive_v1_upgrades_with_rows_and_hashes_intact(tmp_path):
    expected = json.loads(V1_EXPECTED.read_text())
    copy = tmp_path / "v1.db"
    shutil.copy(V1, copy)
    with Archive.open(copy) as a:
        assert {t: a.counts()[t] for t in expected["counts"]} == expected["counts"]
        hashes = [r["content_hash"] for r in a.db.query("SELECT content_hash FROM snapshots ORDER BY id")]
        assert hashes == expected["content_hashes"]
        applied = [m.name for m in migrations.applied(a.db)]
    assert applied[: len(expected["migrations"])] == expected["migrations"]
    with Archive.open(copy) as a:  # a second open is a no-op
        assert [m.name for m in migrations.applied(a.db)] == applied



# -- the frontier and schedules (issue 15) -----------------------------------------------------


def test_frontier_keeps_a_url_until_its_capture_or_final_failure_and_gives_up_after_max_attempts(archive):
    crawl = archive.start_crawl("crawl")
    other = "http://news.example.com/other"
    held = "http://news.example.com/held"
    rows = [{"url": u, "source": "example", "hints": {"title": "T"}, "via": "feed", "link_depth": 1} for u in (URL, other)]
    assert archive.frontier_add([*rows, {"url": held, "source": "example", "fetch": False}]) == 3
    assert archive.frontier_add(rows) == 0  # already there
    archive.record_failure(crawl, other, "deferred", "host asked for a pause")  # not final: stays
    archive.record_capture(crawl, capture(), snapshot(), frontier_url=URL)  # stored: leaves
    assert archive.frontier_count(["example"]) == 2
    to_fetch, given_up = archive.frontier_leftovers(["example"], max_attempts=3)
    assert [(r["url"], r["attempts"], r["hints"]) for r in to_fetch] == [(other, 2, {"title": "T"}), (held, 1, {})]
    assert given_up == []
    archive.frontier_leftovers(["example"], max_attempts=3)
    to_fetch, given_up = archive.frontier_leftovers(["example"], max_attempts=3)
    assert [r["url"] for r in given_up] == [other] and [r["url"] for r in to_fetch] == [held]
    archive.record_failure(crawl, held, "http_error", "HTTP 404", frontier_url=held)
    assert archive.frontier_count() == 0
    assert archive.frontier_leftovers(["elsewhere"], max_attempts=3) == ([], [])


def test_changed_revisit_steps_reschedule_live_articles_and_the_same_steps_change_nothing(archive):
    from archive.schedule import parse_revisit_steps

    crawl = archive.start_crawl("crawl")
    daily = ["*=1d"]
    assert archive.apply_revisit_steps(daily, parse_revisit_steps(daily)) == 0  # first steps: remembered
    archive.record_capture(crawl, capture(at="2026-01-01T10:00:00Z"), snapshot(), steps=parse_revisit_steps(daily))
    assert archive.db.execute("SELECT next_check_at FROM articles").fetchone()[0] == "2026-01-02T10:00:00Z"
    archive.db.execute("UPDATE articles SET next_check_at = '2026-01-05T00:00:00Z'")  # by hand
    assert archive.apply_revisit_steps(daily, parse_revisit_steps(daily)) == 0
    assert archive.db.execute("SELECT next_check_at FROM articles").fetchone()[0] == "2026-01-05T00:00:00Z"
    stepped = ["1h=10m", "*=3h"]  # changed 0 s before its last check: the first step
    assert archive.apply_revisit_steps(stepped, parse_revisit_steps(stepped)) == 1
    assert archive.db.execute("SELECT next_check_at FROM articles").fetchone()[0] == "2026-01-01T10:10:00Z"
    assert archive.recheck_now(sites=["example"], now="2026-01-01T10:01:00Z") == 1
    assert [r["url"] for r in archive.due_articles(["example"], "2026-01-01T10:01:00Z")] == [URL]
def test_standfirst_is_stored_searched_and_hashed_only_when_present(archive):
    from pipelines.content import content_hash

    # a story without a standfirst keeps the hash of the release before standfirsts
    assert content_hash("Story", "The story.") == content_hash("Story", "The story.", None) == content_hash("Story", "The story.", " ")
    assert content_hash("Story", "The story.", "A summary.") != content_hash("Story", "The story.")
    crawl = archive.start_crawl("test", "")
    record = snapshot(standfirst="Harbour board summary of the vote")
    archive.record_capture(crawl, capture(), record)
    rows = list(archive.db.query("SELECT s.standfirst FROM snapshots_fts f JOIN snapshots s ON s.id = f.rowid WHERE snapshots_fts MATCH 'harbour'"))
    assert rows == [{"standfirst": "Harbour board summary of the vote"}]
