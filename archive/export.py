"""Research exports: stories, versions or changes as JSON Lines, CSV or Parquet, streamed.

Rows are read from one SQLite cursor and written as they come (Parquet in row groups of
:data:`BATCH_ROWS`), so memory stays flat however large the archive. Redacted stories
(``articles.status = 'redacted'``) are never exported.

What each kind holds (one row per):

- ``stories``: article, with its current version's title, text and dates;
- ``versions``: snapshot (every version of every story, oldest first per story);
- ``changes``: new version after the first, with the word diff (``diff``, JSON ops
  ``[["=", "text"], ["-", "removed"], ["+", "added"], ...]``).

``--since`` (UTC text) keeps stories last seen, versions fetched, or changes made at or
after that time. Parquet needs the optional ``pyarrow`` package (``pip install
newsarchive[parquet]``); :class:`ExportError` says so when it is missing.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from typing import Any, BinaryIO

KINDS = ("stories", "versions", "changes")
FORMATS = ("jsonl", "csv", "parquet")
BATCH_ROWS = 1000

# column -> type: "int", "str", "list" (a JSON list of strings in the archive), "json"
COLUMNS: dict[str, dict[str, str]] = {
    "stories": {
        "article_id": "int", "canonical_url": "str", "site": "str", "status": "str",
        "first_seen": "str", "last_seen": "str", "last_changed": "str", "versions": "int",
        "title": "str", "text": "str", "authors": "list", "published": "str", "published_utc": "str",
        "modified": "str", "modified_utc": "str", "language": "str", "description": "str",
        "sitename": "str", "tags": "list", "image": "str", "standfirst": "str",
    },
    "versions": {
        "article_id": "int", "canonical_url": "str", "site": "str", "version": "int", "reason": "str",
        "fetched_at": "str", "content_hash": "str", "title": "str", "text": "str", "authors": "list",
        "published": "str", "published_utc": "str", "published_source": "str", "modified": "str",
        "modified_utc": "str", "modified_source": "str", "language": "str", "description": "str",
        "sitename": "str", "tags": "list", "image": "str", "extractor": "str",
        "standfirst": "str", "template": "str", "template_removed": "json",
    },
    "changes": {
        "article_id": "int", "canonical_url": "str", "site": "str", "from_version": "int",
        "to_version": "int", "reason": "str", "at": "str", "old_title": "str", "new_title": "str",
        "title_changed": "int", "words_added": "int", "words_removed": "int",
        "published_changed": "int", "modified_changed": "int", "diff": "json",
    },
}

QUERIES = {
    "stories": """
        SELECT a.id AS article_id, a.canonical_url, a.site, a.status, a.first_seen, a.last_seen,
               a.last_changed, (SELECT count(*) FROM snapshots v WHERE v.article_id = a.id) AS versions,
               s.title, s.text, s.authors, s.published, s.published_utc, s.modified, s.modified_utc,
               s.language, s.description, s.sitename, s.tags, s.image, s.standfirst
        FROM articles a LEFT JOIN snapshots s ON s.id = a.latest_snapshot_id
        WHERE a.status != 'redacted' AND (:site IS NULL OR a.site = :site) AND (:since IS NULL OR a.last_seen >= :since)
        ORDER BY a.id
    """,
    "versions": """
        SELECT s.article_id, a.canonical_url, a.site, s.version, s.reason, s.fetched_at, s.content_hash,
               s.title, s.text, s.authors, s.published, s.published_utc, s.published_source, s.modified,
               s.modified_utc, s.modified_source, s.language, s.description, s.sitename, s.tags, s.image,
               s.extractor, s.standfirst, s.template, s.template_removed
        FROM snapshots s JOIN articles a ON a.id = s.article_id
        WHERE a.status != 'redacted' AND (:site IS NULL OR a.site = :site) AND (:since IS NULL OR s.fetched_at >= :since)
        ORDER BY s.article_id, s.fetched_at, s.version
    """,
    "changes": """
        SELECT c.article_id, a.canonical_url, a.site, c.from_version, c.to_version, c.reason, c.at,
               o.title AS old_title, n.title AS new_title, c.title_changed, c.words_added, c.words_removed,
               c.published_changed, c.modified_changed, c.diff
        FROM changes c JOIN articles a ON a.id = c.article_id
        JOIN snapshots n ON n.id = c.snapshot_id
        LEFT JOIN snapshots o ON o.article_id = c.article_id AND o.version = c.from_version
        WHERE a.status != 'redacted' AND (:site IS NULL OR a.site = :site) AND (:since IS NULL OR c.at >= :since)
        ORDER BY c.at, c.id
    """,
}


class ExportError(Exception):
    """The export cannot be made (a format's library is missing, an unknown kind)."""


def rows(conn: sqlite3.Connection, what: str, site: str | None = None, since: str | None = None) -> Iterator[dict[str, Any]]:
    """The rows of one kind, streamed from the archive, JSON columns decoded.

    Args:
        conn: a connection to the archive.
        what: ``stories``, ``versions`` or ``changes``.
        site: only this ``articles.site``.
        since: UTC ``YYYY-MM-DDTHH:MM:SSZ`` (or a day): see the module's docstring.
    """
    if what not in QUERIES:
        raise ExportError(f"unknown export {what!r}: one of {', '.join(KINDS)}")
    types = COLUMNS[what]
    cursor = conn.execute(QUERIES[what], {"site": site, "since": since})
    names = [d[0] for d in cursor.description]
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        for name, kind in types.items():
            if kind in ("list", "json") and row[name] is not None:
                row[name] = json.loads(row[name])
        yield row


def write(conn: sqlite3.Connection, out: BinaryIO, what: str, fmt: str, site: str | None = None, since: str | None = None) -> int:
    """Write one kind of rows to ``out`` in ``fmt``; returns the number of rows.

    JSON Lines: one UTF-8 JSON object per line, lists as lists. CSV (RFC 4180, UTF-8, a
    header row): lists and the diff as JSON text. Parquet: typed columns (int64, string,
    list<string>; the diff as JSON text), row groups of :data:`BATCH_ROWS` rows.

    Raises:
        ExportError: ``fmt`` unknown, or ``parquet`` without pyarrow installed.
    """
    source = rows(conn, what, site, since)
    if fmt == "jsonl":
        return _jsonl(source, out)
    if fmt == "csv":
        return _csv(source, out, list(COLUMNS[what]))
    if fmt == "parquet":
        return _parquet(source, out, COLUMNS[what])
    raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def _jsonl(source: Iterator[dict], out: BinaryIO) -> int:
    n = 0
    for row in source:
        out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
        n += 1
    return n


def _csv(source: Iterator[dict], out: BinaryIO, names: list[str]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(names)
    n = 0
    for row in source:
        writer.writerow([json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v for v in row.values()])
        n += 1
    text.flush()
    text.detach()
    return n


def parquet_schema(types: dict[str, str]):
    """The Parquet schema of one kind (pyarrow)."""
    import pyarrow as pa

    kinds = {"int": pa.int64(), "str": pa.string(), "list": pa.list_(pa.string()), "json": pa.string()}
    return pa.schema([(name, kinds[kind]) for name, kind in types.items()])


def _parquet(source: Iterator[dict], out: BinaryIO, types: dict[str, str]) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ExportError("Parquet needs pyarrow: pip install 'newsarchive[parquet]' (or pip install pyarrow)") from exc
    schema = parquet_schema(types)
    json_columns = [name for name, kind in types.items() if kind == "json"]
    n = 0
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[dict] = []
        for row in source:
            for name in json_columns:
                if row[name] is not None:
                    row[name] = json.dumps(row[name], ensure_ascii=False)
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n
