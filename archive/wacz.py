"""An export as a WACZ file (Web Archive Collection Zipped, WACZ 1.1.1), which
ReplayWeb.page and pywb open as it is.

Layout (https://specs.webrecorder.net/wacz/1.1.1/): a ZIP file holding

- ``archive/data.warc.gz``: the WARC records :func:`archive.warcwriter.export_archive` writes;
- ``indexes/index.cdx.gz`` and ``indexes/index.idx``: the CDXJ index of those records,
  compressed in blocks of :data:`INDEX_LINES` lines with a plain secondary index of the
  blocks, as webrecorder's ``cdxj-indexer`` writes it for py-wacz (a replay reads only
  the blocks it needs);
- ``pages/pages.jsonl``: one page per stored version of a story (its capture's URL and
  time, the version's headline), after a ``json-pages-1.0`` header line;
- ``datapackage.json``: a Frictionless Data Package listing every file above with its
  ``sha256:`` digest and size in bytes, ``wacz_version`` ``1.1.1``;
- ``datapackage-digest.json``: the ``sha256:`` digest of ``datapackage.json``.

Files are stored uncompressed (``ZIP_STORED``) as the spec recommends, so that a replay
can read a record at its offset without inflating the whole file; the WARC and the index
blocks are gzip-compressed already. Redacted stories are left out, as in every export.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from cdxj_indexer import CDXJIndexer

from archive import __version__
from archive.timefmt import utc_now_iso
from archive.warcwriter import export_archive

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc.gz"
# lines per compressed index block: py-wacz's setting, ReplayWeb.page's default
INDEX_LINES = 1024
COPY_CHUNK = 1024 * 1024


def _pages(archive: Any, since: str | None):
    """``pages.jsonl`` lines: the header, then one page per stored version (not redacted)."""
    yield json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Stories, one page per version"}) + "\n"
    rows = archive.db.execute(
        """
        SELECT c.id, c.final_url, c.fetched_at, s.title, s.version
        FROM snapshots s
        JOIN captures c ON c.id = s.capture_id
        JOIN articles a ON a.id = s.article_id
        WHERE s.reason != 'reextract' AND a.status != 'redacted' AND c.body_digest IS NOT NULL
          AND (:since IS NULL OR c.fetched_at >= :since)
        ORDER BY c.id
        """,
        {"since": since},
    )
    for capture_id, url, fetched_at, title, version in rows:
        page = {"id": f"capture-{capture_id}", "url": url, "ts": fetched_at, "title": title or url}
        if version and version > 1:
            page["title"] = f"{page['title']} (version {version})"
        yield json.dumps(page, ensure_ascii=False) + "\n"


def _add(wacz: zipfile.ZipFile, name: str, source: BinaryIO, resources: list[dict[str, Any]]) -> None:
    """Copy ``source`` into the ZIP as ``name`` (stored), noting its digest and size."""
    digest, size = hashlib.sha256(), 0
    info = zipfile.ZipInfo(name, date_time=_zip_time())
    info.compress_type = zipfile.ZIP_STORED
    # the size known in advance: a ZIP64 extra field only where the size needs one. Replay
    # tools find an entry's data through the central directory's extra length, so a
    # local ZIP64 field that the central directory lacks (zipfile's force_zip64) makes
    # ReplayWeb.page read 20 bytes early (found by loading an export in it)
    info.file_size = source.seek(0, io.SEEK_END)
    source.seek(0)
    with wacz.open(info, "w") as out:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    resources.append({"name": Path(name).name, "path": name, "hash": f"sha256:{digest.hexdigest()}", "bytes": size})


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = utc_now_iso()
    return (int(now[0:4]), int(now[5:7]), int(now[8:10]), int(now[11:13]), int(now[14:16]), int(now[17:19]))


def export_wacz(archive: Any, stream: BinaryIO, *, title: str, since: str | None = None) -> tuple[int, int, int]:
    """Write an archive's captures (fetched at or after ``since``, UTC, when given) as a
    WACZ 1.1.1 file to ``stream``.

    The WARC and its index are made in a temporary directory first (the index needs the
    records' offsets), then copied into the ZIP; memory stays constant.

    Args:
        archive: an open :class:`archive.database.Archive`.
        stream: a binary stream opened for writing (seekable: a ZIP's directory comes last).
        title: the collection's title (``datapackage.json``).

    Returns:
        ``(captures, records, pages)`` written.

    Raises:
        OSError: the temporary directory or ``stream`` could not be written.
    """
    resources: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="newsarchive-wacz-") as tmp:
        warc = Path(tmp) / WARC_NAME
        with warc.open("wb") as out:
            captures, records = export_archive(archive, out, WARC_NAME, gzip=True, since=since)
        blocks, secondary = Path(tmp) / "index.cdx.gz", Path(tmp) / "index.idx"
        with blocks.open("wb") as data, secondary.open("w", encoding="utf-8") as idx:
            CDXJIndexer(
                idx, [str(warc)], sort=True, post_append=True, compress=data, data_out_name="index.cdx.gz",
                lines=INDEX_LINES, digest_records=True,
            ).process_all()
        pages = Path(tmp) / "pages.jsonl"
        with pages.open("w", encoding="utf-8") as out:
            count = -1  # the header line is not a page
            for line in _pages(archive, since):
                out.write(line)
                count += 1
        with zipfile.ZipFile(stream, "w", allowZip64=True) as wacz:
            for name, path in [
                (f"archive/{WARC_NAME}", warc), ("indexes/index.cdx.gz", blocks), ("indexes/index.idx", secondary),
                ("pages/pages.jsonl", pages),
            ]:
                with path.open("rb") as source:
                    _add(wacz, name, source, resources)
            package = {
                "profile": "data-package",
                "wacz_version": WACZ_VERSION,
                "title": title,
                "created": utc_now_iso(),
                "software": f"newsarchive/{__version__}",
                "resources": resources,
            }
            package_bytes = json.dumps(package, indent=2).encode()
            _add(wacz, "datapackage.json", io.BytesIO(package_bytes), [])
            digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
            _add(wacz, "datapackage-digest.json", io.BytesIO(json.dumps(digest, indent=2).encode()), [])
    return captures, records, count

