"""``newsarchive export-warc --wacz`` (issue 17): a WACZ 1.1.1 file that ReplayWeb.page opens."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import subprocess
import zipfile
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.database import Archive
from archive.records import CaptureRecord
from tests.conftest import run_cli
from tests.test_archive import snapshot

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / ".venv-pywb" / "bin" / "wacz"
URL = "http://news.example.com/2026/01/01/pier"
FEED = "http://news.example.com/feed.xml"


def page(text: str) -> bytes:
    return f"<html><head><title>Pier</title></head><body><h1>Pier</h1><p>{text}</p></body></html>".encode()


def fill(db: Path) -> None:
    with Archive.open(db) as archive:
        crawl = archive.start_crawl("crawl")
        for at, status, text in [("2026-01-01T10:00:00Z", 200, "The pier grows."), ("2026-01-01T11:00:00Z", 304, None),
                                 ("2026-01-01T12:00:00Z", 200, "The pier grows by forty metres.")]:
            record = CaptureRecord(url=URL, final_url=URL, fetched_at=at, status=status, body=page(text) if text else None, site="example",
                                   response_headers={"Content-Type": "text/html; charset=utf-8", "ETag": f'"{at}"'})
            archive.record_capture(crawl, record, snapshot(text, "Pier", canonical_url=URL) if text else None, article_id=1)
        record = CaptureRecord(url=FEED, final_url=FEED, fetched_at="2026-01-01T10:00:00Z", status=200,
                               body=f"<rss><item><link>{URL}</link></item></rss>".encode(), site="example",
                               response_headers={"Content-Type": "application/rss+xml"})
        archive.record_capture(crawl, record, None)


def index_lines(wacz: zipfile.ZipFile) -> list[tuple[str, str, dict]]:
    """Every CDXJ line, read through the secondary index (index.idx) as a replay does."""
    lines = []
    blocks = wacz.read("indexes/index.cdx.gz")
    idx = wacz.read("indexes/index.idx").decode().splitlines()
    assert json.loads(idx[0].split(" ", 2)[2]) == {"format": "cdxj-gzip-1.0", "filename": "index.cdx.gz"}
    for line in idx[1:]:
        _, _, block = line.split(" ", 2)
        block = json.loads(block)
        data = blocks[block["offset"]:block["offset"] + block["length"]]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == block["digest"]
        for cdxj in gzip.decompress(data).decode().splitlines():
            key, stamp, fields = cdxj.split(" ", 2)
            lines.append((key, stamp, json.loads(fields)))
    return lines


def test_export_warc_wacz_is_a_valid_wacz_with_pages_index_and_digests(tmp_path):
    db, out = tmp_path / "archive.db", tmp_path / "archive.wacz"
    fill(db)
    result = run_cli("export-warc", "--wacz", "--db", db, "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {out}: 4 captures in 13 records, 2 pages\n"
    with zipfile.ZipFile(out) as wacz:
        assert wacz.testzip() is None
        names = wacz.namelist()
        assert names == ["archive/data.warc.gz", "indexes/index.cdx.gz", "indexes/index.idx", "pages/pages.jsonl",
                         "datapackage.json", "datapackage-digest.json"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in wacz.infolist())
        # each entry's local header has the central directory's extra field length: replay
        # tools (ReplayWeb.page) find an entry's data with the central directory's
        raw = out.read_bytes()
        for info in wacz.infolist():
            name_length, extra_length = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
            assert (name_length, extra_length) == (len(info.filename.encode()), len(info.extra)), info.filename
        package = json.loads(wacz.read("datapackage.json"))
        assert (package["profile"], package["wacz_version"]) == ("data-package", "1.1.1")
        assert [r["path"] for r in package["resources"]] == names[:4]
        for resource in package["resources"]:
            data = wacz.read(resource["path"])
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest() and resource["bytes"] == len(data), resource["path"]
        assert json.loads(wacz.read("datapackage-digest.json")) == {
            "path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(wacz.read("datapackage.json")).hexdigest()}
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").decode().splitlines()]
        assert pages[0]["format"] == "json-pages-1.0"
        assert [(p["url"], p["ts"], p["title"]) for p in pages[1:]] == [
            (URL, "2026-01-01T10:00:00Z", "Pier"), (URL, "2026-01-01T12:00:00Z", "Pier (version 2)")]
        warc = wacz.read("archive/data.warc.gz")
        lines = index_lines(wacz)
    assert [(k, s) for k, s, _ in lines] == sorted((k, s) for k, s, _ in lines)
    story = [(stamp, fields.get("status"), fields.get("mime")) for key, stamp, fields in lines if key == "com,example,news)/2026/01/01/pier"]
    assert story == [("20260101100000", "200", "text/html"), ("20260101110000", None, "warc/revisit"), ("20260101120000", "200", "text/html")]
    for _, stamp, fields in lines:  # every line points at its record in the WARC
        assert fields["filename"] == "data.warc.gz"
        offset, length = int(fields["offset"]), int(fields["length"])
        record = next(iter(ArchiveIterator(io.BytesIO(warc[offset:offset + length]))))
        assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]
        assert record.rec_headers.get_header("WARC-Date").replace("-", "").replace(":", "").replace("T", "").rstrip("Z") == stamp
    if VALIDATOR.exists():  # webrecorder's own validator (py-wacz), installed by `make test` beside pywb
        check = subprocess.run([str(VALIDATOR), "validate", "-f", str(out)], capture_output=True, text=True, timeout=120)
        assert check.returncode == 0 and "the passed WACZ is valid" in check.stdout, check.stdout + check.stderr


def test_export_warc_wacz_bad_names(tmp_path):
    db = tmp_path / "archive.db"
    fill(db)
    for args, message in [(["--wacz", "--out", tmp_path / "a.warc.gz"], "--out must name a .wacz file with --wacz"),
                          (["--out", tmp_path / "a.wacz"], "(add --wacz for a WACZ file)")]:
        result = run_cli("export-warc", *args, "--db", db, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "a.wacz").exists() and not (tmp_path / "a.warc.gz").exists()
