"""Only real edits (issue 13, item 4): a version is the publisher's edit only when the
publisher changed the page. A change on our side (extractor, options, template, where a date
came from) is recorded as ``reextract``. Real crawls and imports through the CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from archive.records import Baseline, CaptureRecord, SnapshotRecord
from archive.database import Archive
from demo.replay import ReplayPage, ReplaySite
from tests.conftest import ROOT, db_rows, requires_shared, run_cli
from tests.pages import SHARED

def crawl(tmp_path: Path, text: str, *extra: str) -> str:
    (tmp_path / "sources.toml").write_text(text)
    result = run_cli("crawl", "--config", tmp_path / "sources.toml", "--db", tmp_path / "archive.db", *extra, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
@requires_shared
def test_a_date_from_the_feed_then_from_the_page_is_not_an_edit(tmp_path):
    from benchmarks.template_sites import layouts, site_pages

    found, pool = layouts(SHARED, 1)
    page = site_pages(found[0], pool, 1, inside=True, style=0, seed=0)[0]
    assert page.published  # the page states its own day, in its dateline only
    # the feed gives the same day with a time: a different `published`, from another source
    story = ReplayPage(path=page.path, body=page.body, original_url=f"https://example.invalid{page.path}", title=page.title, published=f"{page.published}T09:30:00+00:00")
    first_words = page.text.split("\n")[1][:40]
    with ReplaySite("news", [story], host="127.0.0.2") as site:
        text = "\n".join([
            "[crawl]", "delay_secs = 0", 'revisit_steps = ["*=0s"]',
            "[[source]]", 'name = "news"', "allow_private = true", f'feeds = ["{site.url("/feed.xml")}"]',
        ]) + "\n"
        crawl(tmp_path, text)
        v1 = db_rows(tmp_path / "archive.db", "SELECT published, published_source FROM snapshots")
        assert v1 == [{"published": f"{page.published}T09:30:00Z", "published_source": "feed"}]
        # re-checked unchanged, without the feed's hint: no version at all
        crawl(tmp_path, text, "--revisit-only")
        assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM snapshots") == [{"n": 1}]
        # the publisher edits the story: one edit, and the date's new source is ours
        site.edit(story.path, first_words, "EDITED " + first_words)
        crawl(tmp_path, text, "--revisit-only")
    rows = db_rows(tmp_path / "archive.db", "SELECT version, reason, published, published_source FROM snapshots ORDER BY version")
    assert [(r["version"], r["reason"]) for r in rows] == [(1, "new"), (2, "reextract"), (3, "edit")]
    assert rows[1]["published"] == rows[2]["published"] == page.published and rows[2]["published_source"] == "text"
    changes = db_rows(tmp_path / "archive.db", "SELECT to_version, reason, published_changed, words_added FROM changes ORDER BY to_version")
    assert changes == [
        {"to_version": 2, "reason": "reextract", "published_changed": 1, "words_added": 0},
        {"to_version": 3, "reason": "edit", "published_changed": 0, "words_added": 1},
    ]


V1_PAGES = {"bbc-1.html.gz": "bbc-1-edited.html", "lemonde-1.html.gz": None}


@pytest.mark.slow
def test_an_archive_of_an_older_release_upgraded_and_recrawled_unchanged_records_no_edit(tmp_path):
    """tests/data/archive-v1.db was made by the first release (extractor 1) from two demo
    pages; today's extraction reads them differently. Importing the very same pages again
    makes ``reextract`` versions (ours) and no edit."""
    db = tmp_path / "archive.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    manifest = {e["file"]: e for e in json.loads((ROOT / "demo" / "pages" / "pages.json").read_text())["pages"]}
    before = db_rows(db, "SELECT count(*) AS n FROM snapshots")[0]["n"]
    for name in V1_PAGES:
        body = gzip.decompress((ROOT / "demo" / "pages" / name).read_bytes())
        if name == "bbc-1.html.gz":  # its latest version in the archive is the edited page
            body = body.replace(b"biggest frustration", b"greatest frustration")
        path = tmp_path / name.removesuffix(".gz")
        path.write_bytes(body)
        result = run_cli("archive", "--html", path, "--url", manifest[name]["url"], "--db", db, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("unchanged"), result.stdout
    reasons = db_rows(db, "SELECT reason, count(*) AS n FROM snapshots GROUP BY reason ORDER BY reason")
    assert reasons == [{"reason": "edit", "n": 1}, {"reason": "new", "n": 2}, {"reason": "reextract", "n": 2}]
    assert db_rows(db, "SELECT count(*) AS n FROM snapshots")[0]["n"] == before + 2
    assert db_rows(db, "SELECT to_version, reason FROM changes WHERE to_version > 2 OR reason = 'reextract' ORDER BY id") == [
        {"to_version": 3, "reason": "reextract"},
        {"to_version": 2, "reason": "reextract"},
    ]
    assert db_rows(db, "SELECT count(*) AS n FROM captures WHERE outcome = 'changed'")[0]["n"] == 1  # the first release's own edit
    # a second import of the same pages: nothing new at all
    for name in V1_PAGES:
        result = run_cli("archive", "--html", tmp_path / name.removesuffix(".gz"), "--url", manifest[name]["url"], "--db", db, cwd=tmp_path)
        assert result.stdout.startswith("unchanged")
    assert db_rows(db, "SELECT count(*) AS n FROM snapshots")[0]["n"] == before + 2


# -- the archive's side, in process ----------------------------------------------------


def _capture(at: str, body: bytes) -> CaptureRecord:
    return CaptureRecord(url="http://x.test/a", final_url="http://x.test/a", fetched_at=at, status=200, body=body, site="x")


def _snapshot(text: str, published: str = "2026-01-01") -> SnapshotRecord:
    return SnapshotRecord(canonical_url="http://x.test/a", content_hash=f"hash:{text}", title="T", text=text, extractor="e", published=published)


@pytest.mark.parametrize(
    "baseline_text, new_text, versions, outcome",
    [
        # all of the difference is ours: one reextract version, the capture is unchanged
        ("Ours now.", "Ours now.", [("new", "Old reading."), ("reextract", "Ours now.")], "unchanged"),
        # ours and the publisher's: reextract first, then the edit against it
        ("Ours now.", "Ours now, edited.", [("new", "Old reading."), ("reextract", "Ours now."), ("edit", "Ours now, edited.")], "changed"),
    ],
)
def test_a_baseline_is_stored_as_reextract_before_the_edit(tmp_path, baseline_text, new_text, versions, outcome):
    with Archive.open(tmp_path / "a.db") as archive:
        crawl = archive.start_crawl("test")
        first = archive.record_capture(crawl, _capture("2026-01-01T00:00:00Z", b"<p>1</p>"), _snapshot("Old reading."))
        result = archive.record_capture(
            crawl,
            _capture("2026-01-02T00:00:00Z", b"<p>2</p>"),
            _snapshot(new_text),
            baseline=Baseline(first.capture_id, "2026-01-01T00:00:00Z", _snapshot(baseline_text)),
        )
        rows = archive.db.execute("SELECT reason, text, capture_id FROM snapshots ORDER BY version").fetchall()
        edits = archive.db.execute("SELECT count(*) FROM changes WHERE reason = 'edit'").fetchone()[0]
    assert result.outcome == outcome
    assert [(r[0], r[1]) for r in rows] == versions
    assert rows[1][2] == first.capture_id  # the reextract version is the earlier body's
    assert edits == (1 if outcome == "changed" else 0)


def test_a_stale_baseline_is_ignored(tmp_path):
    with Archive.open(tmp_path / "a.db") as archive:
        crawl = archive.start_crawl("test")
        archive.record_capture(crawl, _capture("2026-01-01T00:00:00Z", b"<p>1</p>"), _snapshot("One."))
        second = archive.record_capture(crawl, _capture("2026-01-02T00:00:00Z", b"<p>2</p>"), _snapshot("Two."))
        # made from the first capture, which is no longer the latest version's
        archive.record_capture(
            crawl,
            _capture("2026-01-03T00:00:00Z", b"<p>3</p>"),
            _snapshot("Three."),
            baseline=Baseline(second.capture_id - 1, "2026-01-01T00:00:00Z", _snapshot("Ours.")),
        )
        reasons = [r[0] for r in archive.db.execute("SELECT reason FROM snapshots ORDER BY version")]
    assert reasons == ["new", "edit", "edit"]
