"""Read-only queries over an archive, on a plain ``sqlite3.Connection``.

Used by :class:`archive.database.Archive` (the CLI's ``history``) and by the Datasette
plugin (:mod:`archive.web`), which reads through Datasette's own read-only connections
(``mode=ro``) and must never run migrations or write. Nothing here writes.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from typing import Any

from archive import bodies
from archive.diff import compare
from archive.urls import normalize_url

RECENT_CAPTURES = 50


def rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """Run ``sql`` and return its rows as dicts (column name -> value)."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def find_article_id(conn: sqlite3.Connection, url: str) -> int | None:
    """The article a URL names: by canonical URL, else by alias, first as given, then in its
    normalised form (:func:`archive.urls.normalize_url`: tracking parameters, default port,
    fragment dropped); ``None`` if unknown or if ``url`` is no http(s) URL."""
    spellings = [url]
    try:
        normalised = normalize_url(url)
    except ValueError:
        normalised = url
    if normalised != url:
        spellings.append(normalised)
    for spelling in spellings:
        row = conn.execute("SELECT id FROM articles WHERE canonical_url = ?", [spelling]).fetchone()
        if row is None:
            row = conn.execute("SELECT article_id FROM aliases WHERE url = ?", [spelling]).fetchone()
        if row:
            return row[0]
    return None


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
        "LEFT JOIN changes c ON c.snapshot_id = s.id WHERE s.article_id = ? ORDER BY s.fetched_at, s.version",
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
        KeyError: no such body (or a delta's base, or a body's dictionary, is missing).
    """
    row = conn.execute("SELECT codec, data, base_digest FROM bodies WHERE digest = ?", [digest]).fetchone()
    if row is None:
        raise KeyError(digest)
    codec, data, base_digest = row
    base = read_body(conn, base_digest) if codec == "zstd-delta" else None
    dictionary = None
    if codec == "zstd-dict":
        found = conn.execute(
            "SELECT d.data FROM bodies b JOIN dictionaries d ON d.id = b.dictionary_id WHERE b.digest = ?", [digest]
        ).fetchone()
        if found is None:
            raise KeyError(f"{digest}: its dictionary is missing")
        dictionary = _dictionary(found[0])
    return bodies.decompress(codec, data, base, dictionary)


@functools.lru_cache(maxsize=16)
def _dictionary(stored: bytes) -> bytes:
    """A stored dictionary unpacked, once per dictionary (its stored bytes are the key)."""
    return bodies.unpack_dictionary(stored)


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


FEED_ENTRIES = 50


def publisher_edits(
    conn: sqlite3.Connection,
    *,
    site: str | None = None,
    headline_only: bool = False,
    min_words: int = 0,
    article_id: int | None = None,
    limit: int = FEED_ENTRIES,
) -> list[dict[str, Any]]:
    """The publisher's edits (``changes`` with ``reason = 'edit'``), newest first, for the
    changes feed: each with the story's URL and site, ``old_title``/``new_title`` and
    ``ops`` (the decoded word diff). Filters: ``site``; ``headline_only`` (the headline
    changed); ``min_words`` (words added plus removed, at least); ``article_id`` (one
    story). Redacted stories have no changes left; they are excluded here too."""
    found = rows(
        conn,
        """
        SELECT c.id, c.article_id, c.from_version, c.to_version, c.at, c.title_changed, c.words_added,
               c.words_removed, c.published_changed, c.modified_changed, c.diff,
               a.canonical_url, a.site, o.title AS old_title, n.title AS new_title
        FROM changes c
        JOIN articles a ON a.id = c.article_id
        JOIN snapshots n ON n.id = c.snapshot_id
        LEFT JOIN snapshots o ON o.article_id = c.article_id AND o.version = c.from_version
        WHERE c.reason = 'edit' AND a.status != 'redacted'
          AND (:site IS NULL OR a.site = :site)
          AND (:headline = 0 OR c.title_changed = 1)
          AND coalesce(c.words_added, 0) + coalesce(c.words_removed, 0) >= :min_words
          AND (:article IS NULL OR c.article_id = :article)
        ORDER BY c.at DESC, c.id DESC
        LIMIT :limit
        """,
        {"site": site, "headline": int(headline_only), "min_words": min_words, "article": article_id, "limit": limit},
    )
    for change in found:
        change["ops"] = json.loads(change.pop("diff") or "[]")
    return found


SEARCH_RESULTS = 50
#: versions ranked at most: when more match, the newest this many (highest ``snapshots.id``)
#: are ranked; BM25 costs about 4 µs a version, so "the" at 100,000 snapshots would
#: otherwise take 300 ms and more (issue 16). Web search engines bound their ranking too.
SEARCH_CANDIDATES = 2000
#: best-ranked versions grouped into stories (one row per story), per story returned:
#: reading a version's row costs about 10 µs (its date is stored after its text)
SEARCH_VERSIONS_PER_RESULT = 5
#: FTS5's ``snippet()`` excerpts a text of at most this many characters; a longer one is
#: excerpted around its first match (``newsarchive_excerpt``): snippet's time grows with the
#: square of the matches in one text (a 300 KB page of one repeated word: 29 s, out of
#: reach of Datasette's time limit, which cannot stop one function call)
SNIPPET_MAX_CHARS = 10_000


def search(
    conn: sqlite3.Connection,
    fts: str,
    cjk_fts: str,
    text: str,
    *,
    site: str | None = None,
    from_day: str | None = None,
    to_day: str | None = None,
    limit: int = SEARCH_RESULTS,
    candidates: int | None = None,
) -> list[dict[str, Any]]:
    """Stories matching a search, best first, one row per story (its best-matching
    version): ``story``, ``title``, ``site``, ``published_day``, ``excerpt`` (matches
    marked ``»so«``), ``relevance`` (BM25, higher is better), and ``ranked`` (how many
    matching versions were ranked: ``candidates`` when more match; default
    :data:`SEARCH_CANDIDATES`).

    Ranking is bounded (issue 16): of the versions that match and pass the filters, the
    newest ``candidates`` are ranked (FTS5 ``rank``, BM25), the best
    :data:`SEARCH_VERSIONS_PER_RESULT` times ``limit`` of them are grouped into stories, and only the ``limit``
    stories returned get an excerpt (``snippet()``, or for a text over
    :data:`SNIPPET_MAX_CHARS` the ``newsarchive_excerpt`` around its first match).

    Args:
        fts: the FTS5 query on ``snapshots_fts`` (``'""'`` for none).
        cjk_fts: the FTS5 query on ``snapshots_cjk`` (``'""'`` for none).
        text: the search as typed (for the excerpt of CJK hits and of long texts; needs the
            connection's ``newsarchive_excerpt`` function, :mod:`archive.web.plugin`).
        site, from_day, to_day: filters (days ``YYYY-MM-DD``, by publication day).
    """
    candidates = candidates or SEARCH_CANDIDATES
    filtered = site is not None or from_day is not None or to_day is not None
    matches = """
          SELECT {t}.rowid AS rowid, {t}.rank AS rank FROM {t}
          JOIN snapshots s ON s.id = {t}.rowid JOIN articles a ON a.id = s.article_id
          WHERE {t} MATCH :{q} AND a.status != 'redacted'
            AND (:site IS NULL OR a.site = :site)
            AND (:from_day IS NULL OR substr(coalesce(s.published_utc, s.published), 1, 10) >= :from_day)
            AND (:to_day IS NULL OR substr(coalesce(s.published_utc, s.published), 1, 10) <= :to_day)
          ORDER BY {t}.rowid DESC LIMIT :candidates
    """ if filtered else """
          SELECT rowid, rank FROM {t} WHERE {t} MATCH :{q} ORDER BY rowid DESC LIMIT :candidates
    """
    return rows(
        conn,
        f"""
        WITH latin AS MATERIALIZED ({matches.format(t="snapshots_fts", q="fts")}),
        cjk AS MATERIALIZED ({matches.format(t="snapshots_cjk", q="cjk")}),
        hits AS MATERIALIZED (
          SELECT rowid, rank FROM latin WHERE :cjk = '""'
          UNION ALL
          SELECT cjk.rowid, cjk.rank + coalesce(latin.rank, 0)
          FROM cjk LEFT JOIN latin ON latin.rowid = cjk.rowid
          WHERE :fts = '""' OR latin.rowid IS NOT NULL
          ORDER BY 2 LIMIT :versions
        ),
        best AS MATERIALIZED (
          SELECT s.article_id AS story, s.id AS snapshot_id, a.site, a.latest_snapshot_id,
                 substr(coalesce(s.published_utc, s.published), 1, 10) AS published_day, min(hits.rank) AS rank
          FROM hits
          JOIN snapshots s ON s.id = hits.rowid
          JOIN articles a ON a.id = s.article_id
          WHERE a.status != 'redacted'
          GROUP BY s.article_id
          ORDER BY min(hits.rank)
          LIMIT :limit
        )
        SELECT story, site, published_day,
               (SELECT title FROM snapshots l WHERE l.id = best.latest_snapshot_id) AS title,
               coalesce(
                 (SELECT snippet(snapshots_fts, 1, '»', '«', ' … ', 24) FROM snapshots_fts
                  WHERE snapshots_fts MATCH :fts AND rowid = best.snapshot_id
                    AND (SELECT length(text) FROM snapshots WHERE id = best.snapshot_id) <= :snippet_chars),
                 (SELECT newsarchive_excerpt(text, :q) FROM snapshots WHERE id = best.snapshot_id)
               ) AS excerpt,
               round(-rank, 2) AS relevance,
               max((SELECT count(*) FROM latin), (SELECT count(*) FROM cjk)) AS ranked
        FROM best
        ORDER BY rank
        """,
        {"fts": fts, "cjk": cjk_fts, "q": text, "site": site, "from_day": from_day, "to_day": to_day, "limit": limit,
         "candidates": candidates, "versions": SEARCH_VERSIONS_PER_RESULT * limit, "snippet_chars": SNIPPET_MAX_CHARS},
    )


def sites(conn: sqlite3.Connection) -> list[str]:
    """The sites the archive has stories of, sorted.

    Walks the index on ``articles(site, status)`` from one site to the next (a loose index
    scan, https://www.sqlite.org/lang_with.html): one index search per site instead of a
    look at every article."""
    return [
        r[0]
        for r in conn.execute(
            """
            WITH RECURSIVE each(site) AS (
              SELECT min(site) FROM articles
              UNION ALL
              SELECT (SELECT min(site) FROM articles WHERE site > each.site) FROM each WHERE each.site IS NOT NULL
            )
            SELECT site FROM each
            WHERE site IS NOT NULL AND EXISTS (SELECT 1 FROM articles a WHERE a.site = each.site AND a.status != 'redacted')
            ORDER BY site
            """
        )
    ]
