"""Read-only queries over an archive, on a plain ``sqlite3.Connection``.

Used by :class:`archive.store.Archive` (the CLI's ``history``) and by the Datasette
plugin (:mod:`archive.web`), which reads through Datasette's own read-only connections
(``mode=ro``) and must never run migrations or write. Nothing here writes.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from archive import bodies
from archive.diff import compare

RECENT_CAPTURES = 50


def rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """Run ``sql`` and return its rows as dicts (column name -> value)."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def find_article_id(conn: sqlite3.Connection, url: str) -> int | None:
    """The article a URL names: by canonical URL, else by alias; ``None`` if unknown."""
    row = conn.execute("SELECT id FROM articles WHERE canonical_url = ?", [url]).fetchone()
    if row is None:
        row = conn.execute("SELECT article_id FROM aliases WHERE url = ?", [url]).fetchone()
    return row[0] if row else None


def article(conn: sqlite3.Connection, article_id: int) -> dict[str, Any] | None:
    """An ``articles`` row with ``versions`` (snapshots without their text, oldest first, with
    their change counts), ``aliases`` (url, kind), ``near_duplicates`` (other article's id,
    canonical URL, similarity 0..1) and ``captures`` (how many); ``None`` if there is none."""
    found = rows(conn, "SELECT * FROM articles WHERE id = ?", [article_id])
    if not found:
        return None
    a = found[0]
    a["versions"] = rows(
        conn,
        "SELECT s.id, s.version, s.fetched_at, s.reason, s.title, s.published, s.modified, s.extractor, "
        "c.words_added, c.words_removed, c.title_changed FROM snapshots s "
        "LEFT JOIN changes c ON c.snapshot_id = s.id WHERE s.article_id = ? ORDER BY s.version",
        [article_id],
    )
    a["aliases"] = rows(conn, "SELECT url, kind, first_seen FROM aliases WHERE article_id = ? ORDER BY url", [article_id])
    a["near_duplicates"] = rows(
        conn,
        "SELECT a.id, a.canonical_url, n.similarity FROM near_duplicates n "
        "JOIN articles a ON a.id = CASE WHEN n.article_id = :id THEN n.other_id ELSE n.article_id END "
        "WHERE n.article_id = :id OR n.other_id = :id ORDER BY n.similarity DESC",
        {"id": article_id},
    )
    a["captures"] = conn.execute("SELECT count(*) FROM captures WHERE article_id = ?", [article_id]).fetchone()[0]
    return a


def snapshot(conn: sqlite3.Connection, article_id: int, version: int) -> dict[str, Any] | None:
    """One version of an article (a whole ``snapshots`` row), or ``None``."""
    found = rows(conn, "SELECT * FROM snapshots WHERE article_id = ? AND version = ?", [article_id, version])
    return found[0] if found else None


def read_body(conn: sqlite3.Connection, digest: str) -> bytes:
    """The stored body with this SHA-256 digest, decompressed (:mod:`archive.bodies`).

    Raises:
        KeyError: no such body (or a delta's base is missing).
    """
    row = conn.execute("SELECT codec, data, base_digest FROM bodies WHERE digest = ?", [digest]).fetchone()
    if row is None:
        raise KeyError(digest)
    codec, data, base_digest = row
    base = read_body(conn, base_digest) if codec == "zstd-delta" else None
    return bodies.decompress(codec, data, base)


def capture(conn: sqlite3.Connection, capture_id: int) -> dict[str, Any] | None:
    """A ``captures`` row (``response_headers`` decoded to a dict), or ``None``."""
    found = rows(conn, "SELECT * FROM captures WHERE id = ?", [capture_id])
    if not found:
        return None
    c = found[0]
    c["response_headers"] = json.loads(c["response_headers"]) if c["response_headers"] else {}
    return c


def story(conn: sqlite3.Connection, article_id: int, compare_from: int | None = None, compare_to: int | None = None) -> dict[str, Any] | None:
    """Everything a story page shows, or ``None`` if there is no such article.

    Returns :func:`article`'s dict plus ``latest`` (the latest version's whole snapshot
    row, ``authors`` and ``tags`` decoded to lists), ``changes`` (newest first: the
    ``changes`` rows with ``ops``, the decoded word diff, and ``old_title``/``new_title``,
    ``old``/``new`` dates), ``recent_captures`` (the newest :data:`RECENT_CAPTURES`) and,
    when ``compare_from``/``compare_to`` name two versions, ``comparison`` (a change dict
    computed now with :func:`archive.diff.compare`).
    """
    a = article(conn, article_id)
    if a is None:
        return None
    latest = rows(conn, "SELECT * FROM snapshots WHERE id = ?", [a["latest_snapshot_id"]]) if a["latest_snapshot_id"] else []
    a["latest"] = latest[0] if latest else None
    if a["latest"]:
        for key in ("authors", "tags"):
            a["latest"][key] = _json_list(a["latest"][key])
        removed = a["latest"].get("template_removed")
        a["latest"]["template_removed"] = json.loads(removed) if removed else []
    by_version = {
        s["version"]: s
        for s in rows(
            conn,
            "SELECT version, title, published, modified FROM snapshots WHERE article_id = ?",
            [article_id],
        )
    }
    a["changes"] = []
    for change in rows(conn, "SELECT * FROM changes WHERE article_id = ? ORDER BY to_version DESC", [article_id]):
        change["ops"] = json.loads(change.pop("diff") or "[]")
        change["old"] = by_version.get(change["from_version"], {})
        change["new"] = by_version.get(change["to_version"], {})
        a["changes"].append(change)
    a["recent_captures"] = rows(
        conn,
        "SELECT id, fetched_at, url, status, outcome, flag, body_digest, content_type, origin FROM captures "
        "WHERE article_id = ? ORDER BY id DESC LIMIT ?",
        [article_id, RECENT_CAPTURES],
    )
    a["comparison"] = None
    if compare_from is not None and compare_to is not None:
        old, new = snapshot(conn, article_id, compare_from), snapshot(conn, article_id, compare_to)
        if old is not None and new is not None:
            result = compare(old, new)
            a["comparison"] = {
                "from_version": compare_from,
                "to_version": compare_to,
                "reason": new["reason"],
                "at": new["fetched_at"],
                "title_changed": result.title_changed,
                "words_added": result.words_added,
                "words_removed": result.words_removed,
                "published_changed": result.published_changed,
                "modified_changed": result.modified_changed,
                "ops": result.ops,
                "old": old,
                "new": new,
            }
    return a


def _json_list(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        decoded = json.loads(value)
    except ValueError:
        return [value]
    return [str(v) for v in decoded] if isinstance(decoded, list) else [str(decoded)]
