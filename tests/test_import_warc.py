"""``newsarchive import-warc`` (issue 17): WARC records through the crawl's pipelines.

Hand-made WARC files of real pages (warcio), and a round trip: a real crawl against a
loopback site, ``export-warc``, ``import-warc`` into a new archive."""

from __future__ import annotations

import gzip
import sqlite3
import time
from io import BytesIO
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.warcwriter import NOT_MODIFIED_PROFILE, payload_digest
from demo.replay import ReplaySite, page_from_folder
from tests.conftest import db_rows, requires_shared, run_cli, run_cli_on_terminal
from tests.pages import DATA

pytestmark = requires_shared

STORY = "http://news.example.org/2017/01/13/world/africa/sudan-sanctions.html"
OTHER = "http://news.example.org/news/world-us-canada-33646704"
OLD, NEW = "After nearly 20 years of hostile relations", "After two decades of hostile relations"


def page(folder: str) -> bytes:
    return (DATA / "readability-testpages" / folder / "source.html").read_bytes()


def response(writer, uri, date, body, status="200 OK", content_type="text/html; charset=utf-8"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
    return writer.create_warc_record(uri, "response", payload=BytesIO(body), length=len(body), http_headers=headers, warc_headers_dict={"WARC-Date": date})


def write_warc(path: Path, gzip_records: bool) -> None:
    """A crawl's WARC: the story, a 304 revisit, an edit, a duplicate payload at another
    date, a page of another story, an image, a revisit of nothing, warcinfo and metadata."""
    story, edited = page("nytimes-1"), page("nytimes-1").replace(OLD.encode(), NEW.encode())
    with open(path, "wb") as stream:
        w = WARCWriter(stream, gzip=gzip_records, warc_version="1.1")
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
        w.write_record(response(w, STORY, "2026-01-01T10:00:00Z", story))
        meta = b"via: test\r\n"
        w.write_record(w.create_warc_record(STORY, "metadata", payload=BytesIO(meta), length=len(meta), warc_content_type="application/warc-fields"))
        not_modified = w.create_revisit_record(STORY, payload_digest(story), STORY, "2026-01-01T10:00:00Z", warc_headers_dict={"WARC-Date": "2026-01-01T11:00:00Z"})
        not_modified.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED_PROFILE)
        w.write_record(not_modified)
        w.write_record(response(w, STORY, "2026-01-01T12:00:00.250Z", edited))
        same = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        w.write_record(w.create_revisit_record(STORY, payload_digest(edited), STORY, "2026-01-01T12:00:00Z", http_headers=same, warc_headers_dict={"WARC-Date": "2026-01-01T13:00:00Z"}))
        w.write_record(response(w, OTHER, "2026-01-01T10:30:00Z", page("bbc-1")))
        w.write_record(response(w, "http://news.example.org/logo.png", "2026-01-01T10:31:00Z", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png"))
        w.write_record(w.create_revisit_record("http://news.example.org/gone.html", "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "http://news.example.org/gone.html", "2025-01-01T00:00:00Z", http_headers=same, warc_headers_dict={"WARC-Date": "2026-01-01T14:00:00Z"}))


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_import_warc_makes_captures_versions_and_failures(tmp_path, gzipped):
    warc = tmp_path / ("crawl.warc.gz" if gzipped else "crawl.warc")
    write_warc(warc, gzipped)
    result = run_cli("import-warc", warc, "--db", tmp_path / "a.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 new articles, 1 new version, 1 unchanged, 1 not modified (304)" in result.stdout
    assert "1 failure; 1 revisit resolved, 3 other records skipped" in result.stdout
    assert "importing" not in result.stderr  # no progress bar into a log
    if gzipped:  # on a terminal, a progress bar over the file's bytes, to the end
        shown = run_cli_on_terminal("import-warc", warc, "--db", tmp_path / "again.db", cwd=tmp_path)
        assert shown.returncode == 0 and "2 new articles, 1 new version" in shown.stdout
        assert "importing" in shown.stderr and "100%" in shown.stderr
    db = tmp_path / "a.db"
    captures = db_rows(db, "SELECT url, status, outcome, origin, fetched_at FROM captures ORDER BY id")
    assert [(c["url"] == STORY, c["status"], c["outcome"], c["fetched_at"]) for c in captures] == [
        (True, 200, "new", "2026-01-01T10:00:00Z"),
        (True, 304, "not_modified", "2026-01-01T11:00:00Z"),
        (True, 200, "changed", "2026-01-01T12:00:00Z"),
        (True, 200, "unchanged", "2026-01-01T13:00:00Z"),
        (False, 200, "new", "2026-01-01T10:30:00Z"),
    ]
    assert {c["origin"] for c in captures} == {"warc"}
    versions = db_rows(db, "SELECT s.version, s.text FROM snapshots s JOIN articles a ON a.id = s.article_id WHERE a.canonical_url = ? ORDER BY version", [STORY])
    assert [(v["version"], OLD in v["text"], NEW in v["text"]) for v in versions] == [(1, True, False), (2, False, True)]
    (failure,) = db_rows(db, "SELECT url, kind, message FROM failures")
    assert failure["kind"] == "warc" and failure["url"] == "http://news.example.org/gone.html"
    assert "refers to is in none of the files" in failure["message"]
    assert db_rows(db, "SELECT site FROM articles ORDER BY id") == [{"site": "news.example.org"}] * 2


def test_a_record_not_whole_or_dated_in_the_future_is_a_failure_never_a_version(tmp_path):
    """reliability.md: a body cut short is never stored as complete. A record cut by the end
    of its file, or one whose bytes fail its digests, or dated after now (year 9999 made the
    scheduler overflow and stopped the import), is a ``warc`` failure; the import goes on."""
    story, other, third = page("nytimes-1"), page("bbc-1"), page("salon-1")
    warc = tmp_path / "cut.warc"
    with open(warc, "wb") as stream:
        w = WARCWriter(stream, gzip=False, warc_version="1.1")
        w.write_record(response(w, STORY + "?future", "9999-12-31T23:59:59Z", story))
        w.write_record(response(w, STORY + "?ancient", "0001-01-01T00:00:00Z", story))
        w.write_record(response(w, "http://news.example.org/corrupt", "2026-01-01T09:00:00Z", third))
        w.write_record(response(w, STORY, "2026-01-01T10:00:00Z", story))
        w.write_record(response(w, OTHER, "2026-01-01T10:30:00Z", other))
    data = bytearray(warc.read_bytes())
    at = data.index(third[5000:5040])  # one byte of the corrupt record's body changed, its length kept
    data[at] = data[at] ^ 0x20
    cut = data.index(other[len(other) // 2 : len(other) // 2 + 40])  # the last record: cut in the middle
    warc.write_bytes(bytes(data[:cut]))

    from pipelines.warcimport import import_warc

    run = import_warc(str(tmp_path / "a.db"), [str(warc)])
    assert run.status == "finished"
    db = tmp_path / "a.db"
    assert db_rows(db, "SELECT url, outcome FROM captures WHERE outcome != 'failed'") == [{"url": STORY, "outcome": "new"}]
    failures = {f["url"]: f["message"] for f in db_rows(db, "SELECT url, kind, message FROM failures") if f["kind"] == "warc"}
    assert "WARC-Date 9999-12-31T23:59:59Z is in the future" in failures[STORY + "?future"]
    assert "no valid WARC-Date" in failures[STORY + "?ancient"]  # the year 1 was stored as "1-01-01T00:00:00Z"
    assert "not whole: " in failures["http://news.example.org/corrupt"] and "digest failed" in failures["http://news.example.org/corrupt"]
    assert "cut short: the file ends" in failures[OTHER]
    assert db_rows(db, "SELECT count(*) AS n FROM snapshots") == [{"n": 1}]


@pytest.mark.parametrize("into_headers", [30, 200])
def test_a_file_cut_inside_a_records_warc_headers_is_a_failure(tmp_path, into_headers):
    """warcio yields no record cut inside its WARC headers (or fails on its first line):
    the import says so instead of ending with "0 failures"."""
    warc = tmp_path / "cut.warc"
    with open(warc, "wb") as stream:
        w = WARCWriter(stream, gzip=False, warc_version="1.1")
        w.write_record(response(w, STORY, "2026-01-01T10:00:00Z", page("nytimes-1")))
        w.write_record(response(w, OTHER, "2026-01-01T10:30:00Z", page("bbc-1")))
    data = warc.read_bytes()
    warc.write_bytes(data[: data.index(b"WARC/1.1", 10) + into_headers])

    from pipelines.warcimport import import_warc

    run = import_warc(str(tmp_path / "a.db"), [str(warc)])
    assert run.status == "finished" and run.records["pages"] == 1
    (failure,) = db_rows(tmp_path / "a.db", "SELECT url, kind, message FROM failures")
    assert failure["kind"] == "warc" and failure["url"] == str(warc)
    assert "cannot read" in failure["message"]


def test_an_older_capture_becomes_a_version_only_if_it_differs_from_every_version(tmp_path):
    """Imported after the archive has later versions: the same text as v1 adds a capture,
    a text seen nowhere adds v3, which never becomes the article's current version."""
    story = page("nytimes-1")
    first, later = tmp_path / "later.warc", tmp_path / "older.warc"
    with open(first, "wb") as stream:
        w = WARCWriter(stream, gzip=False)
        w.write_record(response(w, STORY, "2026-02-01T10:00:00Z", story))
        w.write_record(response(w, STORY, "2026-02-02T10:00:00Z", story.replace(OLD.encode(), NEW.encode())))
    with open(later, "wb") as stream:
        w = WARCWriter(stream, gzip=False)
        w.write_record(response(w, STORY, "2026-01-15T10:00:00Z", story + b"<!-- another fetch -->"))
        w.write_record(response(w, STORY, "2026-01-10T10:00:00Z", story.replace(OLD.encode(), b"After many years of hostile relations")))
    db = tmp_path / "a.db"
    assert run_cli("import-warc", first, "--db", db, "--site", "nyt", cwd=tmp_path).returncode == 0
    result = run_cli("import-warc", later, "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 new articles, 1 new version, 1 unchanged" in result.stdout
    rows = db_rows(db, "SELECT version, fetched_at, reason, text FROM snapshots ORDER BY version")
    assert [(r["version"], r["fetched_at"]) for r in rows] == [(1, "2026-02-01T10:00:00Z"), (2, "2026-02-02T10:00:00Z"), (3, "2026-01-10T10:00:00Z")]
    assert "After many years" in rows[2]["text"]
    article = db_rows(db, "SELECT a.site, a.first_seen, a.last_seen, s.version FROM articles a JOIN snapshots s ON s.id = a.latest_snapshot_id")[0]
    assert article == {"site": "nyt", "first_seen": "2026-01-10T10:00:00Z", "last_seen": "2026-02-02T10:00:00Z", "version": 2}
    # v3 is compared with the version nearest in time: v1 came after it
    (change,) = db_rows(db, "SELECT from_version, to_version FROM changes WHERE to_version = 3")
    assert change == {"from_version": 1, "to_version": 3}
    history = run_cli("history", STORY, "--db", db, cwd=tmp_path)
    lines = [line.split()[:2] for line in history.stdout.splitlines() if line.strip().startswith("v")][:3]
    assert lines == [["v3", "2026-01-10T10:00:00Z"], ["v1", "2026-02-01T10:00:00Z"], ["v2", "2026-02-02T10:00:00Z"]]


def test_import_warc_refuses_what_is_not_a_warc_file(tmp_path):
    (tmp_path / "page.html").write_text("<html><p>not a WARC</p></html>")
    (tmp_path / "page.html.gz").write_bytes(gzip.compress(b"<html></html>"))
    for name, message in [("missing.warc.gz", "no such file"), ("page.html", "not a WARC file"), ("page.html.gz", "not a WARC file")]:
        result = run_cli("import-warc", tmp_path / name, "--db", tmp_path / "a.db", cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (name, result.stderr)
    assert not (tmp_path / "a.db").exists()


@pytest.mark.slow
def test_export_then_import_gives_the_same_articles_versions_and_text(tmp_path):
    story = page_from_folder(DATA / "readability-testpages" / "nytimes-1")
    other = page_from_folder(DATA / "readability-testpages" / "bbc-1")
    crawled = tmp_path / "crawled"
    crawled.mkdir()
    with ReplaySite("nyt", [story, other], host="127.0.0.2", conditional=True) as site:
        (crawled / "sources.toml").write_text(
            f'[crawl]\ndelay_secs = 0\nrevisit_steps = ["*=0s"]\n[[source]]\nname = "nyt"\nallow_private = true\nfeeds = ["{site.url("/feed.xml")}"]\n'
        )
        for step in range(3):
            if step == 2:
                site.edit(story.path, OLD, NEW)
            result = run_cli("crawl", "--config", crawled / "sources.toml", "--db", crawled / "archive.db", cwd=crawled)
            assert result.returncode == 0, result.stderr
            time.sleep(1.1)
    out = tmp_path / "export.warc.gz"
    assert run_cli("export-warc", "--db", crawled / "archive.db", "--out", out, cwd=tmp_path).returncode == 0
    result = run_cli("import-warc", out, "--db", tmp_path / "imported.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 failures" in result.stdout
    articles = "SELECT canonical_url, site, status FROM articles ORDER BY canonical_url"
    versions = (
        "SELECT a.canonical_url, s.version, s.reason, s.fetched_at, s.content_hash, s.title, s.text "
        "FROM snapshots s JOIN articles a ON a.id = s.article_id ORDER BY a.canonical_url, s.version"
    )
    assert db_rows(tmp_path / "imported.db", articles) == db_rows(crawled / "archive.db", articles)
    assert db_rows(tmp_path / "imported.db", versions) == db_rows(crawled / "archive.db", versions)
    assert len(db_rows(crawled / "archive.db", versions)) == 3
    article_captures = "SELECT c.fetched_at, c.status, c.outcome FROM captures c WHERE c.article_id IS NOT NULL ORDER BY c.fetched_at, c.id"
    assert db_rows(tmp_path / "imported.db", article_captures) == db_rows(crawled / "archive.db", article_captures)
    # the same through a WACZ file (export-warc --wacz), as ReplayWeb.page users keep them
    wacz = tmp_path / "export.wacz"
    assert run_cli("export-warc", "--wacz", "--db", crawled / "archive.db", "--out", wacz, cwd=tmp_path).returncode == 0
    result = run_cli("import-warc", wacz, "--db", tmp_path / "from-wacz.db", cwd=tmp_path)
    assert result.returncode == 0 and "0 failures" in result.stdout, result.stderr
    for query in (articles, versions, article_captures):
        assert db_rows(tmp_path / "from-wacz.db", query) == db_rows(crawled / "archive.db", query)


def test_a_saved_page_imported_twice_is_written_once_and_read_back_twice(tmp_path):
    """``archive --html`` captures (origin import) are ``resource`` records; the same bytes
    again are an identical-payload revisit of it, which import-warc resolves."""
    from warcio.archiveiterator import ArchiveIterator

    from archive.bodies import digest
    from archive.warcwriter import WarcExporter

    body = page("nytimes-1")
    warc = tmp_path / "saved.warc.gz"
    with open(warc, "wb") as stream:
        exporter = WarcExporter(stream, warc.name)
        for at in ("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z"):
            exporter.write_capture({"url": STORY, "final_url": STORY, "fetched_at": at, "status": None, "origin": "import",
                                    "body_digest": digest(body), "content_type": "text/html"}, body)
    with open(warc, "rb") as stream:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Profile"), len(r.content_stream().read())) for r in ArchiveIterator(stream)]
    assert records[1:] == [("resource", None, len(body)), ("revisit", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest", 0)]
    result = run_cli("import-warc", warc, "--db", tmp_path / "a.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 new article, 0 new versions, 1 unchanged" in result.stdout and "1 revisit resolved" in result.stdout


@pytest.mark.slow
def test_import_warc_stops_cleanly_on_sigint(tmp_path):
    """Ctrl-C: the import stops after the page in hand, exit 1, every stored capture whole."""
    import signal
    import subprocess
    import sys

    from tests.conftest import child_env

    body = page("nytimes-1")
    warc = tmp_path / "many.warc.gz"
    with open(warc, "wb") as stream:
        w = WARCWriter(stream, gzip=True)
        for i in range(400):
            w.write_record(response(w, f"http://news.example.org/story-{i}.html", f"2026-01-01T10:{i // 60:02d}:{i % 60:02d}Z", body.replace(b"</title>", f" {i}</title>".encode(), 1)))
    db = tmp_path / "a.db"
    process = subprocess.Popen([sys.executable, "-m", "newsarchive", "import-warc", str(warc), "--db", str(db)], cwd=tmp_path, env=child_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until some pages are stored
        time.sleep(0.5)
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                if conn.execute("SELECT count(*) FROM captures").fetchone()[0] >= 5:
                    break
        except sqlite3.Error:
            continue  # not created yet
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, (out, err)
    assert "did not finish: interrupted" in err and "Traceback" not in err
    # the summary says it stopped, and no log line repeats the error line (a new user's finding)
    assert out.startswith("stopped importing 1 file in ") and "WARNING" not in err
    stored = db_rows(db, "SELECT count(*) AS n, count(DISTINCT url) AS urls FROM captures")[0]
    assert 5 <= stored["n"] < 400 and stored["n"] == stored["urls"]
    assert db_rows(db, "SELECT count(*) AS n FROM snapshots")[0]["n"] == stored["n"]
    assert db_rows(db, "SELECT status FROM crawls")[0]["status"] == "interrupted"


def test_progress_reaches_the_files_size(tmp_path):
    from pipelines.warcimport import import_warc

    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, True)
    seen = []
    run = import_warc(str(tmp_path / "a.db"), [str(warc)], progress=seen.append)
    assert run.status == "finished" and run.count("archive/new") == 2
    assert seen == sorted(seen) and seen[-1] == warc.stat().st_size and 0 < seen[0] < seen[-1]


def test_a_warc_imported_again_stores_no_capture_twice(tmp_path):
    # a tester imported the same WARC twice: 122 captures became 244 exact duplicates
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, True)
    db = tmp_path / "a.db"
    assert run_cli("import-warc", warc, "--db", db, cwd=tmp_path).returncode == 0
    before = db_rows(db, "SELECT id, url, fetched_at FROM captures ORDER BY id")
    again = run_cli("import-warc", warc, "--db", db, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 new articles, 0 new versions, 0 unchanged, 0 not modified (304)" in again.stdout
    assert "5 captures already in the archive" in again.stdout
    assert db_rows(db, "SELECT id, url, fetched_at FROM captures ORDER BY id") == before


def test_a_not_modified_revisit_of_a_story_the_archive_lacks_is_a_warc_failure(tmp_path):
    # a new user imported `export-warc --since` (its 304 revisits, without the stories' first
    # captures) into a new archive: the 304s were captures counted as "not articles"
    archive_db = tmp_path / "a.db"
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, True)
    assert run_cli("import-warc", warc, "--db", archive_db, cwd=tmp_path).returncode == 0
    since = tmp_path / "since.warc.gz"
    assert run_cli("export-warc", "--since", "2026-01-01T11:00:00Z", "--out", since, "--db", archive_db, cwd=tmp_path).returncode == 0
    fresh = tmp_path / "fresh.db"
    result = run_cli("import-warc", since, "--db", fresh, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 not modified (304)" not in result.stdout and "0 not articles" in result.stdout
    failures = db_rows(fresh, "SELECT url, kind, message FROM failures")
    assert [(f["url"], f["kind"]) for f in failures] == [(STORY, "warc")]
    assert "a story this archive does not hold" in failures[0]["message"]
    assert db_rows(fresh, "SELECT count(*) AS n FROM captures WHERE status = 304")[0]["n"] == 0


def write_wacz(path: Path, warcs: dict[str, bytes], compression: int) -> None:
    """A WACZ file (WACZ 1.1.1): the WARCs in its archive/ folder, beside what else it holds."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=compression) as wacz:
        wacz.writestr("datapackage.json", '{"profile": "data-package", "wacz_version": "1.1.1", "resources": []}')
        wacz.writestr("pages/pages.jsonl", '{"format": "json-pages-1.0"}\n')
        for name, data in warcs.items():
            wacz.writestr(f"archive/{name}", data)


@pytest.mark.parametrize("compression", ["stored", "deflated"])
def test_a_wacz_file_is_imported_as_the_warcs_it_holds(tmp_path, compression):
    import zipfile

    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, True)
    # the crawl's WARC split in two: the revisits in the second refer to records in the first
    from warcio.archiveiterator import ArchiveIterator

    with open(warc, "rb") as stream:
        offsets = [(r.rec_type, records.get_record_offset()) for records in [ArchiveIterator(stream)] for r in records]
    split = next(offset for kind, offset in offsets if kind == "revisit")
    data = warc.read_bytes()
    wacz = tmp_path / "crawl.wacz"
    write_wacz(wacz, {"one.warc.gz": data[:split], "two.warc.gz": data[split:]},
               zipfile.ZIP_STORED if compression == "stored" else zipfile.ZIP_DEFLATED)
    from pipelines.warcimport import import_warc

    seen = []
    run = import_warc(str(tmp_path / "a.db"), [str(wacz)], progress=seen.append)
    assert run.status == "finished"
    assert (run.count("archive/new"), run.count("archive/changed"), run.count("archive/unchanged"), run.count("archive/not_modified")) == (2, 1, 1, 1)
    assert run.records.get("revisits") == 1 and run.count("archive/failed") == 1  # the revisit of nothing, as from the WARC
    assert seen == sorted(seen) and seen[-1] == wacz.stat().st_size
    direct = tmp_path / "direct.db"
    assert run_cli("import-warc", warc, "--db", direct, cwd=tmp_path).returncode == 0
    captures = "SELECT url, status, outcome, fetched_at, body_digest FROM captures ORDER BY id"
    assert db_rows(tmp_path / "a.db", captures) == db_rows(direct, captures)


def test_import_warc_refuses_a_zip_file_without_warcs_or_a_damaged_one(tmp_path):
    import zipfile

    empty = tmp_path / "empty.wacz"
    write_wacz(empty, {}, zipfile.ZIP_STORED)
    damaged = tmp_path / "damaged.wacz"
    write_warc(tmp_path / "crawl.warc.gz", True)
    write_wacz(damaged, {"data.warc.gz": (tmp_path / "crawl.warc.gz").read_bytes()}, zipfile.ZIP_STORED)
    damaged.write_bytes(damaged.read_bytes()[:-30])  # the zip's central directory cut off
    for name, message in [("empty.wacz", "a zip file with no WARC file in its archive/ folder"), ("damaged.wacz", "not a readable zip file")]:
        result = run_cli("import-warc", tmp_path / name, "--db", tmp_path / "a.db", cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (name, result.stderr)
    assert not (tmp_path / "a.db").exists()


def test_a_warc_carrying_a_zip_file_is_read_as_a_warc(tmp_path):
    # a zip file's end marker in the last records' payload (a .docx, an .epub) made the
    # WARC pass for a WACZ with no WARC in it: nothing was imported, silently
    import zipfile

    payload = BytesIO()
    with zipfile.ZipFile(payload, "w") as attached:
        attached.writestr("word/document.xml", "<w:document/>")
    warc = tmp_path / "with-zip.warc"
    with open(warc, "wb") as stream:
        w = WARCWriter(stream, gzip=False, warc_version="1.1")
        w.write_record(response(w, STORY, "2026-01-01T10:00:00Z", page("nytimes-1")))
        w.write_record(response(w, "http://news.example.org/report.docx", "2026-01-01T10:01:00Z", payload.getvalue(), content_type="application/zip"))
    result = run_cli("import-warc", warc, "--db", tmp_path / "a.db", cwd=tmp_path)
    assert result.returncode == 0 and "1 new article" in result.stdout, (result.stdout, result.stderr)


def test_members_sharing_a_name_are_each_read_once(tmp_path):
    # zipfile opens the last member of a name (a zip appended to): members are opened by their place
    import zipfile

    from warcio.archiveiterator import ArchiveIterator

    from pipelines.warcimport import import_warc

    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, True)
    with open(warc, "rb") as stream:
        split = next(records.get_record_offset() for records in [ArchiveIterator(stream)] for r in records if r.rec_type == "revisit")
    data = warc.read_bytes()
    wacz = tmp_path / "appended.wacz"
    with zipfile.ZipFile(wacz, "w") as zipped:
        zipped.writestr("archive/data.warc.gz", data[:split])
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(wacz, "a") as zipped:
        zipped.writestr("archive/data.warc.gz", data[split:])
    run = import_warc(str(tmp_path / "a.db"), [str(wacz)])
    assert run.status == "finished"
    assert (run.count("archive/new"), run.count("archive/changed"), run.count("archive/not_modified"), run.count("archive/failed")) == (2, 1, 1, 1)
    assert run.count("archive/already_stored") == 0


def zip_header(data: bytes, field: str, value: int) -> bytes:
    """A one-member zip file's bytes with its general purpose flags or its compression method
    set to ``value`` (APPNOTE.TXT 4.3.7 and 4.3.12: flags 6 bytes into the local header and 8
    into the central one, the method 2 bytes further); zipfile writes neither as given."""
    at = {"flags": 0, "method": 2}[field]
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data = bytearray(data)
    data[local + 6 + at : local + 8 + at] = data[central + 8 + at : central + 10 + at] = value.to_bytes(2, "little")
    return bytes(data)


def test_a_wacz_member_that_cannot_be_read_is_refused_before_importing(tmp_path):
    import zipfile

    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, True)
    stored = BytesIO()
    with zipfile.ZipFile(stored, "w") as zipped:
        zipped.writestr("archive/data.warc.gz", warc.read_bytes())
    (tmp_path / "encrypted.wacz").write_bytes(zip_header(stored.getvalue(), "flags", 0x1))  # zipfile asks for a password
    (tmp_path / "zstd.wacz").write_bytes(zip_header(stored.getvalue(), "method", 93))  # zstd: not in Python's zipfile
    zeros = tmp_path / "zeros.wacz"
    with zipfile.ZipFile(zeros, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("archive/zero.warc", b"\0" * 5_000_000)  # no line end: warcio reads it in quadratic time
    for name, message in [
        ("encrypted.wacz", "archive/data.warc.gz is encrypted"),
        ("zstd.wacz", "archive/data.warc.gz is compressed with method 93"),
        ("zeros.wacz", "archive/zero.warc: not a WARC file"),
    ]:
        result = run_cli("import-warc", tmp_path / name, "--db", tmp_path / "a.db", cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr and len(result.stderr) < 300, (name, result.stderr)
    assert not (tmp_path / "a.db").exists()
    # read without the command's check: a failure row each, never a traceback, a short message
    from pipelines.warcimport import import_warc

    for name in ("encrypted.wacz", "zstd.wacz", "zeros.wacz"):
        run = import_warc(str(tmp_path / f"{name}.db"), [str(tmp_path / name)])
        assert run.status == "finished" and run.count("archive/failed") == 1, name
        (failure,) = db_rows(tmp_path / f"{name}.db", "SELECT kind, message FROM failures")
        assert failure["kind"] == "warc" and f"cannot read {tmp_path / name} (archive/" in failure["message"] and len(failure["message"]) < 500


def test_wacz_member_names_and_progress_inside_a_deflated_member(tmp_path):
    import zipfile

    from pipelines.warcimport import import_warc

    warc = tmp_path / "crawl.warc"
    write_warc(warc, False)
    wacz = tmp_path / "crawl.wacz"
    with zipfile.ZipFile(wacz, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("./archive/CRAWL.WARC", warc.read_bytes())  # a name as some zip tools write it
    seen = []
    run = import_warc(str(tmp_path / "a.db"), [str(wacz)], progress=seen.append)
    assert run.status == "finished" and run.count("archive/new") == 2
    # the bar follows the member's bytes as stored, not as inflated (which passed the file's size at once)
    assert seen == sorted(seen) and seen[-1] == wacz.stat().st_size and seen[0] < 0.5 * seen[-1]
