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

Other captures name the story too: a feed, a sitemap or a section page that listed it, or
another story's page linking to it (a "related" box), carry its URL, headline and often its
first lines in their raw bodies. Every stored body other than the story's own is searched
(:func:`mentions`) for the story's URLs (canonical, aliases, as fetched; absolute or as a
path), each version's headline and the first words of each version's text, after HTML
entities are decoded and white space and case are folded. A body that names the story is
removed whole: its captures keep their times, URLs, statuses and headers, with ``flag =
'redacted'`` and a warning saying why, and are left out of ``export-warc`` (a later ``304``
of the same URL is then written as the plain 304 it was, never as a revisit of an older
body). Bodies are never edited: an archive does not keep bytes a server did not send.
Other stories' versions (their extracted text) stay; only their raw page goes. The same
search clears the discovery hints of not-yet-fetched URLs (``frontier``) and the removed
boilerplate noted on other versions (``snapshots.template_removed``) and site templates
(``templates.blocks``) where they name the story.

Deleted rows leave their bytes in free pages, in the FTS5 index's old segments and in the
write-ahead log until they are overwritten. So after the deletion the FTS5 index is
merged (``optimize``: SQLite FTS5 docs, "The 'optimize' Command"), the file is rebuilt
(``VACUUM``), and the WAL is checkpointed and truncated (``PRAGMA
wal_checkpoint(TRUNCATE)``). A reader holding an old snapshot open (a Datasette
serving the archive) can keep the checkpoint from completing: :func:`purge` reports it.
"""

from __future__ import annotations

import gzip
import html
import io
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from archive import bodies as codecs
from archive.timefmt import utc_now_iso

STATUS = "redacted"
# the first characters of a version's text that count as naming it (a feed's summary)
LEAD_CHARS = 60
# a URL path shorter than this is matched only with its host (``/news`` names too much)
SHORTEST_PATH = 12
# a headline shorter than this, or of one word, is not searched for: it could name
# anything (``Obituaries``, ``Live``); the story's URLs still are
SHORTEST_HEADLINE = 12
# a gzip body (a sitemap.xml.gz) is searched decompressed up to this many bytes
GUNZIP_LIMIT = 64 * 1024 * 1024


class RedactionError(Exception):
    """Nothing to redact (no story at the URL, no story of the site) or no reason given."""


@dataclass
class Redacted:
    """What one redaction did.

    Attributes:
        articles: ``(id, canonical URL)`` of each story redacted now.
        already: canonical URLs that were redacted before (left as they were).
        versions, bodies, captures: rows removed or emptied.
        mentions: other captures whose body named a redacted story and was removed
            (feeds, sitemaps, section pages, other stories' pages).
        shared_bodies: bodies kept because another story's capture uses them too.
        wal_clear: the WAL was checkpointed to zero bytes (``False``: a reader kept it).
    """

    articles: list[tuple[int, str]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    versions: int = 0
    bodies: int = 0
    captures: int = 0
    mentions: int = 0
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
        needles: set[str] = set()
        for article_id, canonical_url, status in articles:
            if status == STATUS:
                done.already.append(canonical_url)
                continue
            needles |= story_needles(db, article_id)
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
        if needles:
            done.mentions = _remove_mentions(archive, needles, at)
    archive.forget_redactions()
    done.wal_clear = purge(archive)
    return done


def _fold(text: str) -> str:
    """HTML entities decoded, white space collapsed, case folded: how bodies and needles compare."""
    return " ".join(html.unescape(text).split()).casefold()


def _url_needles(url: str) -> set[str]:
    """A URL as a page may write it: absolute without the scheme, and its path (with the
    query) when that is long enough to name one page."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if path == "/":
        return set()  # a site's home page: every page of the site names it
    found = {f"//{parts.netloc}{path}".rstrip("/")} if parts.netloc else set()
    if len(path) >= SHORTEST_PATH:
        found.add(path.rstrip("/"))
    return {_fold(n) for n in found if n}


def story_needles(db, article_id: int) -> set[str]:
    """What names a story in another page, folded (:func:`_fold`): its URLs (canonical,
    aliases, requested and final URLs of its captures; never a site's home page), each
    version's headline and the headlines discovery saw (captures' ``hints``) of at least
    :data:`SHORTEST_HEADLINE` characters and two words, and the first :data:`LEAD_CHARS`
    characters of each version's text. Read before the story's rows are removed."""
    urls = {r[0] for r in db.execute("SELECT canonical_url FROM articles WHERE id = ?", [article_id])}
    urls |= {r[0] for r in db.execute("SELECT url FROM aliases WHERE article_id = ?", [article_id])}
    for url, final_url in db.execute("SELECT url, final_url FROM captures WHERE article_id = ?", [article_id]):
        urls |= {url, final_url}
    needles: set[str] = set()
    for url in urls - {None}:
        needles |= _url_needles(url)
    titles = []
    for title, text in db.execute("SELECT title, text FROM snapshots WHERE article_id = ?", [article_id]):
        titles.append(title)
        lead = _fold(text or "")[:LEAD_CHARS]
        if len(lead) == LEAD_CHARS:
            needles.add(lead)
    for (hints,) in db.execute("SELECT hints FROM captures WHERE article_id = ? AND hints IS NOT NULL", [article_id]):
        titles.append((json.loads(hints) or {}).get("title"))
    for title in titles:
        folded = _fold(title) if isinstance(title, str) else ""
        if len(folded) >= SHORTEST_HEADLINE and " " in folded:
            needles.add(folded)
    return {n for n in needles if n}


def url_pattern(db, site: str | None) -> re.Pattern[str] | None:
    """A pattern of the URLs (:func:`_url_needles`) of ``site``'s redacted stories, which
    their tombstones keep (canonical URL, aliases, captures' URLs); ``None`` if the site
    has none. Headlines and text are gone: a page fetched after the redaction is matched
    by URL only."""
    ids = [r[0] for r in db.execute("SELECT id FROM articles WHERE site IS ? AND status = ?", [site, STATUS])]
    needles: set[str] = set()
    for article_id in ids:
        urls = {r[0] for r in db.execute("SELECT canonical_url FROM articles WHERE id = ?", [article_id])}
        urls |= {r[0] for r in db.execute("SELECT url FROM aliases WHERE article_id = ?", [article_id])}
        for row in db.execute("SELECT url, final_url FROM captures WHERE article_id = ?", [article_id]):
            urls |= set(row)
        for url in urls - {None}:
            needles |= _url_needles(url)
    return _pattern(needles) if needles else None


def mentions(body: bytes, pattern: re.Pattern[str], encoding: str | None = None) -> bool:
    """Whether a raw body names a story: ``pattern`` (of folded needles) found in the body
    decoded (its stored ``encoding``, else UTF-8, undecodable bytes replaced; a gzip body,
    such as a ``sitemap.xml.gz``, decompressed first) and folded."""
    if body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                body = unzipped.read(GUNZIP_LIMIT)
        except (OSError, EOFError):
            pass  # not gzip after all: searched as it is
    try:
        text = body.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return pattern.search(_fold(text)) is not None


def _pattern(needles: set[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))


def _remove_mentions(archive, needles: set[str], at: str) -> int:
    """Remove every stored body, other than a redacted story's own, that names one of the
    stories (``needles``, :func:`story_needles`): its captures get ``flag = 'redacted'``
    and a warning; a body compressed against it as a delta is stored whole first. Clears
    the frontier's hints and the removed-boilerplate notes that name it. Returns the
    captures emptied."""
    db = archive.db
    pattern = _pattern(needles)
    rows = db.execute(
        """
        SELECT c.body_digest, max(c.encoding) FROM captures c LEFT JOIN articles a ON a.id = c.article_id
        WHERE c.body_digest IS NOT NULL AND (a.status IS NULL OR a.status != ?)
        GROUP BY c.body_digest
        """,
        [STATUS],
    ).fetchall()
    named = [digest for digest, encoding in rows if mentions(archive.read_body(digest), pattern, encoding)]
    note = f"body removed on {at}: it named a redacted story"
    emptied = 0
    for digest in named:
        for capture_id, warnings in db.execute("SELECT id, warnings FROM captures WHERE body_digest = ?", [digest]).fetchall():
            kept = (json.loads(warnings) if warnings else []) + [note]
            db.execute(
                "UPDATE captures SET body_digest = NULL, flag = ?, warnings = ? WHERE id = ?",
                [STATUS, json.dumps(kept, ensure_ascii=False), capture_id],
            )
            emptied += 1
        for (other,) in db.execute("SELECT digest FROM bodies WHERE base_digest = ?", [digest]).fetchall():
            whole = archive.read_body(other)  # a delta against this body: kept whole from now on
            db.execute(
                "UPDATE bodies SET codec = 'zstd', data = ?, base_digest = NULL WHERE digest = ?",
                [codecs.compress_full(whole), other],
            )
        db.execute("DELETE FROM bodies WHERE digest = ?", [digest])
        _drop_dictionaries_trained_on(archive, digest)
    for url, hints in db.execute("SELECT url, hints FROM frontier WHERE hints IS NOT NULL").fetchall():
        if pattern.search(_fold(url)) or pattern.search(_fold(hints)):
            db.execute("UPDATE frontier SET hints = NULL WHERE url = ?", [url])
    for snapshot_id, removed in db.execute("SELECT id, template_removed FROM snapshots WHERE template_removed IS NOT NULL").fetchall():
        if pattern.search(_fold(removed)):
            blocks = [b for b in json.loads(removed) if not pattern.search(_fold(json.dumps(b, ensure_ascii=False)))]
            db.execute("UPDATE snapshots SET template_removed = ? WHERE id = ?", [json.dumps(blocks, ensure_ascii=False), snapshot_id])
    for site, version, blocks_text, template_text in db.execute("SELECT site, version, blocks, template FROM templates").fetchall():
        if pattern.search(_fold(blocks_text)) or pattern.search(_fold(template_text)):
            blocks, template = json.loads(blocks_text), json.loads(template_text)
            for block in blocks + list(template.get("blocks") or []):
                if pattern.search(_fold(str(block.get("sample") or ""))):
                    block["sample"] = "[redacted]"  # for people only: never matched (pipelines/extraction/template.py)
            db.execute(
                "UPDATE templates SET blocks = ?, template = ? WHERE site = ? AND version = ?",
                [json.dumps(blocks, ensure_ascii=False), json.dumps(template, ensure_ascii=False, sort_keys=True), site, version],
            )
    return emptied


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
            db.execute("UPDATE bodies SET codec = 'zstd', data = ?, dictionary_id = NULL WHERE digest = ?", [codecs.compress_full(body), kept])
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
