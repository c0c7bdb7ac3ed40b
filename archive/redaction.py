"""Redaction: take a story out of the archive for a legal or privacy request.

What goes: every version's text and headline (``snapshots`` rows, and with them their
full-text search entries, removed by the FTS5 triggers, and their CJK bigram entries), the word diffs (``changes``), the
MinHash fingerprints and near-duplicate pairs, the story's raw bodies (``bodies`` rows
that no other story's capture uses), every compression dictionary trained on one of those
bodies (the bodies compressed with it are compressed again on their own first) and, on its captures, the body reference and the
discovery hints (a feed's headline). What stays: the ``articles`` row as a tombstone
(canonical URL, site, first and last seen, ``status = 'redacted'``, ``redacted_at``,
``redaction_reason``), its aliases (so that the URL is never archived again: a later fetch
of it is a ``redacted`` failure, see :meth:`archive.database.Archive.record_capture`), and its
captures' times, URLs, statuses and headers.

Deleted rows leave their bytes in free pages, in the FTS5 index's old segments and in the
write-ahead log until they are overwritten. So after the deletion the FTS5 index is
merged (``optimize``: SQLite FTS5 docs, "The 'optimize' Command"), the file is rebuilt
(``VACUUM``), and the WAL is checkpointed and truncated (``PRAGMA
wal_checkpoint(TRUNCATE)``). A reader holding an old snapshot open (a Datasette
serving the archive) can keep the checkpoint from completing: :func:`purge` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archive import bodies
from archive.timefmt import utc_now_iso

STATUS = "redacted"


class RedactionError(Exception):
    """Nothing to redact (no story at the URL, no story of the site) or no reason given."""


@dataclass
class Redacted:
    """What one redaction did.

    Attributes:
        articles: ``(id, canonical URL)`` of each story redacted now.
        already: canonical URLs that were redacted before (left as they were).
        versions, bodies, captures: rows removed or emptied.
        shared_bodies: bodies kept because another story's capture uses them too.
        wal_clear: the WAL was checkpointed to zero bytes (``False``: a reader kept it).
    """

    articles: list[tuple[int, str]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    versions: int = 0
    bodies: int = 0
    captures: int = 0
    shared_bodies: int = 0
    wal_clear: bool = True


def find_articles(archive, url: str | None = None, site: str | None = None) -> list[tuple[int, str, str]]:
    """``(id, canonical_url, status)`` of the story a URL (canonical or alias) names, or of
    every story of ``site``.

    Raises:
        RedactionError: no such story, or no story of that site.
    """
    if url:
        article_id = archive.find_article_id(url)
        if article_id is None:
            raise RedactionError(f"no story in the archive has the URL {url}")
        rows = archive.db.execute("SELECT id, canonical_url, status FROM articles WHERE id = ?", [article_id]).fetchall()
    else:
        rows = archive.db.execute("SELECT id, canonical_url, status FROM articles WHERE site = ? ORDER BY id", [site]).fetchall()
        if not rows:
            raise RedactionError(f"no story of the site {site!r} in the archive")
    return [tuple(r) for r in rows]


def redact(archive, articles: list[tuple[int, str, str]], reason: str, at: str | None = None) -> Redacted:
    """Redact these stories in one transaction, then :func:`purge` the file.

    Args:
        archive: an open :class:`archive.database.Archive`.
        articles: as :func:`find_articles` returns them.
        reason: why (a court order, an erasure request, ...), kept on the tombstone.
        at: when, UTC text (default now).

    Raises:
        RedactionError: an empty reason.
        archive.database.StorageError: SQLite could not write; nothing was changed.
    """
    if not reason or not reason.strip():
        raise RedactionError("give a reason (--reason TEXT): it stays on the story's tombstone")
    at = at or utc_now_iso()
    done = Redacted()
    db = archive.db
    with archive._write():
        gone: set[str] = set()
        for article_id, canonical_url, status in articles:
            if status == STATUS:
                done.already.append(canonical_url)
                continue
            gone |= {r[0] for r in db.execute("SELECT body_digest FROM captures WHERE article_id = ? AND body_digest IS NOT NULL", [article_id])}
            db.execute("DELETE FROM changes WHERE article_id = ?", [article_id])
            db.execute("DELETE FROM snapshots_cjk WHERE rowid IN (SELECT id FROM snapshots WHERE article_id = ?)", [article_id])
            done.versions += db.execute("DELETE FROM snapshots WHERE article_id = ?", [article_id]).rowcount
            db.execute("DELETE FROM fingerprint_bands WHERE article_id = ?", [article_id])
            db.execute("DELETE FROM fingerprints WHERE article_id = ?", [article_id])
            db.execute("DELETE FROM near_duplicates WHERE article_id = ? OR other_id = ?", [article_id, article_id])
            done.captures += db.execute(
                "UPDATE captures SET body_digest = NULL, hints = NULL WHERE article_id = ?", [article_id]
            ).rowcount
            db.execute(
                "UPDATE articles SET status = ?, redacted_at = ?, redaction_reason = ?, latest_snapshot_id = NULL, "
                "next_check_at = NULL WHERE id = ?",
                [STATUS, at, reason.strip(), article_id],
            )
            done.articles.append((article_id, canonical_url))
        for digest in sorted(gone):
            if db.execute("SELECT 1 FROM captures WHERE body_digest = ? LIMIT 1", [digest]).fetchone():
                done.shared_bodies += 1  # another story's capture has the same bytes
                continue
            # no kept body is a delta against this one: a body's base is the body of its own
            # story's latest version (archive.database), which that story's capture uses
            done.bodies += db.execute("DELETE FROM bodies WHERE digest = ?", [digest]).rowcount
            _drop_dictionaries_trained_on(archive, digest)
    done.wal_clear = purge(archive)
    return done


def _drop_dictionaries_trained_on(archive, digest: str) -> None:
    """A compression dictionary holds pieces of the bodies it was trained on: each one
    trained on ``digest`` goes, after the bodies compressed with it are compressed again on
    their own (codec ``zstd``), exactly as before."""
    db = archive.db
    for (dictionary_id,) in db.execute(
        "SELECT id FROM dictionaries WHERE EXISTS (SELECT 1 FROM json_each(dictionaries.samples) WHERE value = ?)", [digest]
    ).fetchall():
        for (kept,) in db.execute("SELECT digest FROM bodies WHERE dictionary_id = ?", [dictionary_id]).fetchall():
            body = archive.read_body(kept)
            db.execute("UPDATE bodies SET codec = 'zstd', data = ?, dictionary_id = NULL WHERE digest = ?", [bodies.compress_full(body), kept])
        db.execute("DELETE FROM dictionaries WHERE id = ?", [dictionary_id])
    archive._dictionaries.clear()


def purge(archive) -> bool:
    """Leave no deleted bytes behind: merge the FTS5 index, ``VACUUM``, truncate the WAL.

    Returns:
        ``True`` when the WAL was checkpointed completely (a reader can prevent it).
    """
    conn = archive.db.conn
    conn.execute("INSERT INTO snapshots_fts (snapshots_fts) VALUES ('optimize')")
    conn.execute("INSERT INTO snapshots_cjk (snapshots_cjk) VALUES ('optimize')")
    conn.commit()
    conn.execute("VACUUM")
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0
