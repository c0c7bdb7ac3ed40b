"""``newsarchive export`` (issue 17): stories, versions and changes as JSON Lines, CSV, Parquet."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from archive import export
from archive.database import Archive
from tests.conftest import run_cli
from tests.test_archive import capture, snapshot

A = "http://news.example.com/2026/01/01/story-a"
B = "http://other.example.org/2026/01/02/story-b"


def make_archive(path: Path) -> None:
    """Story A (site example) in two versions, story B (site other) in one."""
    with Archive.open(path) as archive:
        crawl = archive.start_crawl("crawl")
        archive.record_capture(crawl, capture(b"<p>a1</p>", url=A, at="2026-01-01T10:00:00Z"), snapshot("Ministers met on Monday.", "A", canonical_url=A, authors=["Ann Lee"]))
        archive.record_capture(crawl, capture(b"<p>a2</p>", url=A, at="2026-01-03T10:00:00Z"), snapshot("Ministers met on Tuesday.", "A, updated", canonical_url=A, authors=["Ann Lee"]))
        record = capture(b"<p>b1</p>", url=B, at="2026-01-02T10:00:00Z")
        archive.record_capture(crawl, record.__class__(**{**record.__dict__, "site": "other"}), snapshot("Café prices rose 5%, «tout» compris.", "B", canonical_url=B))


def test_jsonl_rows_of_each_kind(tmp_path):
    db = tmp_path / "a.db"
    make_archive(db)
    conn = sqlite3.connect(db)
    stories = list(export.rows(conn, "stories"))
    assert [(s["canonical_url"], s["title"], s["versions"]) for s in stories] == [(A, "A, updated", 2), (B, "B", 1)]
    assert stories[0]["authors"] == ["Ann Lee"]
    versions = list(export.rows(conn, "versions", site="example"))
    assert [(v["version"], v["text"]) for v in versions] == [(1, "Ministers met on Monday."), (2, "Ministers met on Tuesday.")]
    (change,) = export.rows(conn, "changes")
    assert (change["from_version"], change["to_version"], change["old_title"], change["new_title"], change["title_changed"]) == (1, 2, "A", "A, updated", 1)
    assert ["-", "Monday."] in change["diff"] and ["+", "Tuesday."] in change["diff"]
    assert [v["canonical_url"] for v in export.rows(conn, "versions", since="2026-01-02T00:00:00Z")] == [A, B]


def test_command_writes_jsonl_to_stdout_and_csv_to_a_file(tmp_path):
    db = tmp_path / "a.db"
    make_archive(db)
    result = run_cli("export", "--what", "versions", "--site", "other", "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["text"] == "Café prices rose 5%, «tout» compris."
    assert "exported 1 version" in result.stderr
    out = tmp_path / "changes.csv"
    result = run_cli("export", "--what", "changes", "--format", "csv", "--out", out, "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["canonical_url"], r["words_added"], r["words_removed"]) for r in rows] == [(A, "1", "1")]
    assert json.loads(rows[0]["diff"])[0] == ["=", "Ministers met on"]


def test_parquet_has_typed_columns(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs the parquet extra (make test installs it)")
    db = tmp_path / "a.db"
    make_archive(db)
    out = tmp_path / "stories.parquet"
    result = run_cli("export", "--what", "stories", "--format", "parquet", "--out", out, "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert str(table.schema.field("versions").type) == "int64"
    assert str(table.schema.field("authors").type) == "list<element: string>"
    assert table.column("canonical_url").to_pylist() == [A, B]
    assert table.column("authors").to_pylist() == [["Ann Lee"], []]
    # without --format, a file's extension names its format (.parquet, .csv); else JSON Lines
    by_name = tmp_path / "by-name.parquet"
    assert run_cli("export", "--out", by_name, "--db", db, cwd=tmp_path).returncode == 0
    assert pq.read_table(by_name).column("canonical_url").to_pylist() == [A, B]
    assert run_cli("export", "--out", tmp_path / "by-name.csv", "--db", db, cwd=tmp_path).returncode == 0
    assert next(csv.DictReader(io.StringIO((tmp_path / "by-name.csv").read_text(encoding="utf-8"))))["canonical_url"] == A
    assert run_cli("export", "--out", tmp_path / "rows.txt", "--db", db, cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "rows.txt").read_text(encoding="utf-8").splitlines()[0])["canonical_url"] == A


def test_parquet_streams_in_row_groups(tmp_path, monkeypatch):
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs the parquet extra (make test installs it)")
    db = tmp_path / "a.db"
    make_archive(db)
    monkeypatch.setattr(export, "BATCH_ROWS", 1)
    with open(tmp_path / "v.parquet", "wb") as out:
        assert export.write(sqlite3.connect(db), out, "versions", "parquet") == 3
    assert pq.ParquetFile(tmp_path / "v.parquet").num_row_groups == 3


def test_export_refuses_bad_input(tmp_path):
    db = tmp_path / "a.db"
    make_archive(db)
    (tmp_path / "taken.jsonl").write_text("keep me")
    cases = [
        (["--what", "pages"], "Invalid value for '--what'"),
        (["--format", "xml"], "Invalid value for '--format'"),
        (["--since", "yesterday"], "not a date"),
        (["--out", tmp_path / "taken.jsonl"], "exists"),
        (["--site", "nosuch", "--out", tmp_path / "none.jsonl"], "no site 'nosuch'"),
        (["--site", ""], "no site ''"),
        (["--out", ""], "--out '': give a file name"),  # was standard output, silently
        (["--out", tmp_path / ".gz"], "give a file name before the extension"),  # was a hidden file, not gzipped
    ]
    for args, message in cases:
        result = run_cli("export", *args, "--db", db, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert (tmp_path / "taken.jsonl").read_text() == "keep me" and not (tmp_path / "none.jsonl").exists()
    missing = run_cli("export", "--db", tmp_path / "none.db", cwd=tmp_path)
    assert missing.returncode == 4


def test_versions_and_stories_carry_the_standfirst_and_the_template(tmp_path):
    db = tmp_path / "a.db"
    removed = ({"path": "/html/body/aside", "kind": "fixed", "text": "Most read"},)
    with Archive.open(db) as archive:
        crawl = archive.start_crawl("crawl")
        archive.record_capture(crawl, capture(b"<p>a1</p>", url=A, at="2026-01-01T10:00:00Z"), snapshot(
            "Ministers met on Monday.", "A", canonical_url=A, standfirst="Talks resume after a week.",
            template="example@2", template_removed=removed))
    conn = sqlite3.connect(db)
    (version,) = export.rows(conn, "versions")
    assert (version["standfirst"], version["template"], version["template_removed"]) == (
        "Talks resume after a week.", "example@2", [dict(r) for r in removed])
    (story,) = export.rows(conn, "stories")
    assert story["standfirst"] == "Talks resume after a week."
    out = tmp_path / "v.csv"
    assert run_cli("export", "--what", "versions", "--format", "csv", "--out", out, "--db", db, cwd=tmp_path).returncode == 0
    (row,) = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
    assert row["standfirst"] == "Talks resume after a week." and json.loads(row["template_removed"])[0]["text"] == "Most read"


def test_out_names_the_format_and_compression_and_dash_is_standard_output(tmp_path):
    import gzip

    db = tmp_path / "a.db"
    make_archive(db)
    result = run_cli("export", "--what", "changes", "--out", tmp_path / "changes.csv.gz", "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(gzip.decompress((tmp_path / "changes.csv.gz").read_bytes()).decode("utf-8"))))
    assert [(r["canonical_url"], r["from_version"], r["to_version"]) for r in rows] == [(A, "1", "2")]
    result = run_cli("export", "--what", "versions", "--out", tmp_path / "versions.JSONL.GZ", "--db", db, cwd=tmp_path)
    lines = gzip.decompress((tmp_path / "versions.JSONL.GZ").read_bytes()).decode("utf-8").splitlines()
    assert [json.loads(line)["version"] for line in lines] == [1, 2, 1]
    # "-" is standard output, not a file named "-"
    result = run_cli("export", "--what", "stories", "--out", "-", "--db", db, cwd=tmp_path)
    assert result.returncode == 0 and not (tmp_path / "-").exists()
    assert [json.loads(line)["canonical_url"] for line in result.stdout.splitlines()] == [A, B]
    # an extension that names no format: JSON Lines, and a line that says so
    result = run_cli("export", "--out", tmp_path / "rows.tsv", "--db", db, cwd=tmp_path)
    assert result.returncode == 0 and "rows.tsv: its extension names no format" in result.stderr
    assert json.loads((tmp_path / "rows.tsv").read_text(encoding="utf-8").splitlines()[0])["canonical_url"] == A
    # --format wins over the extension, and a line says so
    result = run_cli("export", "--format", "jsonl", "--out", tmp_path / "conf.csv", "--db", db, cwd=tmp_path)
    assert result.returncode == 0 and "conf.csv: writing jsonl, as --format says, not the csv its extension names" in result.stderr
    assert json.loads((tmp_path / "conf.csv").read_text(encoding="utf-8").splitlines()[0])["canonical_url"] == A
    # a refused export says only why (the note came first, then the error)
    result = run_cli("export", "--out", tmp_path / "rows.tsv", "--db", db, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == f"Error: {tmp_path / 'rows.tsv'} exists; give a new file name"
    # Parquet compresses its own columns
    result = run_cli("export", "--out", tmp_path / "s.parquet.gz", "--db", db, cwd=tmp_path)
    assert result.returncode == 2 and "Parquet compresses its own columns" in result.stderr
    assert not (tmp_path / "s.parquet.gz").exists()


# bytes a file of the child may have: the archive's shared-memory index (32 KiB) fits, no export does
LIMIT = 40_000


def _limited_to(size: int):
    """For a child process: files it writes may grow to ``size`` bytes; beyond, a write fails
    with EFBIG, as on a full disk (SIGXFSZ ignored, so that the write returns the error)."""
    import resource
    import signal

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_write_that_fails_is_one_line_and_leaves_no_partial_file(tmp_path):
    import hashlib
    import subprocess
    import sys

    from tests.conftest import child_env
    from tests.test_archive import capture, snapshot

    db = tmp_path / "a.db"
    make_archive(db)
    with Archive.open(db) as archive:  # no export fits in LIMIT bytes, even compressed
        crawl = archive.start_crawl("crawl")
        for n in range(60):
            url = f"http://news.example.com/2026/01/05/long-{n}"
            noise = hashlib.sha256(url.encode()).hexdigest() * 20
            archive.record_capture(crawl, capture(f"<p>{noise}</p>".encode(), url=url, at="2026-01-05T10:00:00Z"),
                                   snapshot(f"Story {n}: {noise}", f"Long {n}", canonical_url=url))
    runs = [
        ("export", "--what", "versions", "--out", tmp_path / "v.jsonl"),
        ("export", "--what", "versions", "--out", tmp_path / "v.csv"),
        ("export-warc", "--out", tmp_path / "x.warc.gz"),
        ("export-warc", "--wacz", "--out", tmp_path / "x.wacz"),
    ]
    for args in runs:
        result = subprocess.run(
            [sys.executable, "-m", "newsarchive", *map(str, args), "--db", str(db)], capture_output=True, text=True,
            env=child_env(), cwd=tmp_path, timeout=120, preexec_fn=_limited_to(LIMIT),
        )
        out = args[args.index("--out") + 1]
        assert result.returncode == 4, (args, result.stderr)
        assert result.stderr.strip() == f"Error: cannot write {out}: File too large; {out} removed", args
        assert not out.exists(), args
    # standard output on a full device
    with open("/dev/full", "wb") as full:
        result = subprocess.run([sys.executable, "-m", "newsarchive", "export", "--db", str(db)], stdout=full,
                                stderr=subprocess.PIPE, text=True, env=child_env(), timeout=120)
    assert (result.returncode, result.stderr.strip()) == (4, "Error: cannot write standard output: No space left on device")


#: runs the command with a SIGINT sent to itself once the export has written its first
#: capture (export-warc) or row (export); with "swallowed" as its first argument, inside a
#: bare ``except:`` as some libraries have (cdxj_indexer around ``surt``)
SIGNALLED_MID_EXPORT = """
import os, signal, sys, time
from archive import export, warcwriter
swallowed, sent = sys.argv[1] == "swallowed", []
def signal_once():
    if sent:
        return
    sent.append(True)
    if swallowed:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here, inside the try
        except:
            pass
    else:
        os.kill(os.getpid(), signal.SIGINT)
written = warcwriter.WarcExporter.write_capture
def write_capture(self, *args, **kwargs):
    result = written(self, *args, **kwargs)
    signal_once()
    return result
warcwriter.WarcExporter.write_capture = write_capture
listed = export.rows
def rows(*args, **kwargs):
    for n, row in enumerate(listed(*args, **kwargs)):
        yield row
        if n == 0:
            signal_once()
export.rows = rows
from newsarchive.__main__ import main
sys.argv = ["newsarchive", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize("how", ["raised", "swallowed"])
def test_an_export_stopped_by_a_signal_removes_its_unfinished_file(tmp_path, how):
    import subprocess
    import sys

    from tests.conftest import child_env

    db = tmp_path / "a.db"
    make_archive(db)
    runs = [
        ("export-warc", "--out", tmp_path / "x.warc.gz"),
        ("export-warc", "--wacz", "--out", tmp_path / "x.wacz"),
        ("export", "--what", "versions", "--out", tmp_path / "v.jsonl"),
        ("export", "--what", "versions", "--out", tmp_path / "v.csv.gz"),
    ]
    for args in runs:
        result = subprocess.run([sys.executable, "-c", SIGNALLED_MID_EXPORT, how, *map(str, args), "--db", str(db)],
                                capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=120)
        out = args[-1]
        # nothing was stored: the message says what became of the file, not of the archive
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.strip().splitlines()[-1] == f"Error: interrupted by SIGINT: stopped; the unfinished {out} removed", args
        assert not out.exists(), args
    # to standard output: nothing to remove
    result = subprocess.run([sys.executable, "-c", SIGNALLED_MID_EXPORT, how, "export", "--what", "versions", "--db", str(db)],
                            capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=120)
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == "Error: interrupted by SIGINT: stopped"
