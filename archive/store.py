"""The archive: one SQLite file, written through sqlite-utils, one short transaction per capture.

Rules this module keeps (design.md: Identity, Versions, Tables):

- one ``articles`` row per canonical URL; any other URL that reached it is an ``aliases`` row;
- a ``captures`` row for every fetch, with its outcome;
- a new ``snapshots`` row only when the content hash differs from the article's latest;
- every distinct body stored once in ``bodies``, gzip-compressed, keyed by SHA-256;
- ``failures`` rows for what could not be archived.

SQLite settings: WAL journal (readers such as Datasette never block the writer),
``synchronous=FULL`` (a committed capture survives a crash or power loss),
``busy_timeout`` so that a second writer waits instead of failing, ``BEGIN IMMEDIATE``
for each write so that two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from archive.migrations import migrations
from archive.records import CaptureRecord, SnapshotRecord, StoreResult
from archive.schedule import Steps, longest_interval, next_check
from archive.timefmt import iso_utc, parse_utc, utc_now_iso

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
GONE_STATUSES = (404, 410)
BODY_CODEC = "gzip"


class ArchiveError(Exception):
    """The archive cannot be opened or written (the CLI exits with status 4)."""


class NewerSchemaError(ArchiveError):
    """The archive was written by a newer newsarchive than this one."""


class NotAnArchiveError(ArchiveError):
    """The file is a SQLite database of something else: newsarchive will not write into it."""


class StorageError(ArchiveError):
    """SQLite reported a storage fault: disk full, I/O error, corrupt file."""


def _known_migrations() -> list[str]:
    return [m.name for m in migrations.pending(Database(memory=True))]


def body_digest(body: bytes) -> str:
    """SHA-256 of the body bytes, as lower-case hex (the ``bodies.digest`` key)."""
    return hashlib.sha256(body).hexdigest()


def compress_body(body: bytes) -> bytes:
    """gzip with a fixed header (mtime 0), so that the same body always gives the same bytes."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def decompress_body(codec: str, data: bytes) -> bytes:
    """Undo :func:`compress_body`.

    Raises:
        ArchiveError: unknown codec.
    """
    if codec == "gzip":
        return gzip.decompress(data)
    raise ArchiveError(f"unknown body codec {codec!r}")


def _storage_error(exc: sqlite3.Error, path: str) -> ArchiveError:
    message = str(exc)
    return StorageError(f"{path}: {message}")


class Archive:
    """A newsarchive SQLite archive.

    Open it with :meth:`open`; all writes go through the ``record_*`` and ``*_crawl``
    methods, each one transaction.

    Args:
        db: a sqlite-utils ``Database`` already set up by :meth:`open`.
        path: the file's path, for messages.
    """

    def __init__(self, db: Database, path: str = ":memory:") -> None:
        self.db = db
        self.path = path

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Archive:
        """Open (or create) the archive at ``path`` and bring its schema up to date.

        Args:
            path: file path, or ``:memory:``.
            create: create the file if it does not exist; when False a missing file
                is an error.

        Raises:
            ArchiveError: the file is missing or empty (``create=False``), is not a SQLite
                database, or cannot be written.
            NotAnArchiveError: the file is another application's SQLite database.
            NewerSchemaError: the file was written by a newer newsarchive.
        """
        path = str(path)
        if path != ":memory:" and not create and (not Path(path).exists() or Path(path).stat().st_size == 0):
            raise ArchiveError(f"no archive at {path}")
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
            db = Database(conn)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            archive = cls(db, path)
            archive._migrate(create=create)  # first: it refuses another application's database
            if path != ":memory:":
                db.enable_wal()
            db.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"cannot open archive {path}: {exc}") from exc
        return archive

    def _migrate(self, *, create: bool) -> None:
        with self._write():
            known = _known_migrations()
            applied = [m.name for m in migrations.applied(self.db)]
            if not applied:
                others = [t for t in self.db.table_names() if t != migrations.migrations_table]
                if others:
                    raise NotAnArchiveError(
                        f"{self.path} is a SQLite database of something else (tables: {', '.join(others[:5])}); "
                        "newsarchive will not write into it: give another --db"
                    )
                if not create:
                    raise ArchiveError(f"no archive at {self.path} (the file is an empty database)")
            unknown = [name for name in applied if name not in known]
            if unknown:
                raise NewerSchemaError(
                    f"{self.path} was written by a newer newsarchive "
                    f"(unknown schema migrations: {', '.join(unknown)}); upgrade newsarchive"
                )
            pending = [m.name for m in migrations.pending(self.db)]
            if pending:
                logger.info("archive %s: applying migrations %s", self.path, ", ".join(pending))
                migrations.apply(self.db)

    def close(self) -> None:
        """Close the connection (committed data is already on disk)."""
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction; rolled back on any error."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _storage_error(exc, self.path) from exc
        try:
            yield
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self.db.rollback()
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise _storage_error(exc, self.path) from exc
        except BaseException:
            self.db.rollback()
            raise

    # -- crawls ------------------------------------------------------------------

    def start_crawl(self, command: str, config: str | None = None) -> int:
        """Record the start of a run; returns its ``crawls.id``.

        Args:
            command: what ran (``crawl``, ``archive``, ...).
            config: the config text (TOML) or the URLs given, for provenance.
        """
        with self._write():
            row = {
                "started_at": utc_now_iso(),
                "command": command,
                "config": config,
                "status": "running",
            }
            return self.db["crawls"].insert(row).last_pk

    def finish_crawl(self, crawl_id: int, status: str, stats: dict[str, Any]) -> None:
        """Record the end of a run with its status (e.g. ``finished``) and stats (JSON-able)."""
        with self._write():
            self.db["crawls"].update(
                crawl_id,
                {
                    "finished_at": utc_now_iso(),
                    "status": status,
                    "stats": json.dumps(stats, default=str, sort_keys=True),
                },
            )

    def end_dead_runs(self) -> int:
        """Mark ``crawl`` runs still ``running`` as ``interrupted`` (call while holding the
        crawl lock: no crawl can be running, so such rows belong to killed processes)."""
        with self._write():
            return self.db.execute(
                "UPDATE crawls SET status = 'interrupted' WHERE status = 'running' AND command = 'crawl'"
            ).rowcount

    def backup(self, out: str | Path) -> int:
        """Write a consistent copy of the archive to ``out`` with SQLite's ``VACUUM INTO``
        (safe while a crawl writes: the copy is one read transaction); returns its size, bytes.

        Raises:
            ArchiveError: ``out`` exists, or the copy cannot be written.
        """
        out = Path(out)
        if out.exists():
            raise ArchiveError(f"{out} exists; give a new file name")
        try:
            self.db.execute("VACUUM INTO ?", [str(out)])
        except sqlite3.Error as exc:
            raise _storage_error(exc, str(out)) from exc
        return out.stat().st_size

    # -- failures ----------------------------------------------------------------

    def record_failure(
        self,
        crawl_id: int | None,
        url: str,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        site: str | None = None,
    ) -> int:
        """Record a URL that could not be archived; returns the ``failures.id``.

        Args:
            kind: short machine-readable cause (``dns``, ``timeout``, ``http_error``,
                ``not_html``, ``bad_url``, ``robots``, ...).
            message: one line a person can act on.
        """
        with self._write():
            return self._insert_failure(crawl_id, url, kind, message, status, site, utc_now_iso())

    def _insert_failure(self, crawl_id, url, kind, message, status, site, at, capture_id=None) -> int:
        return self.db["failures"].insert(
            {
                "crawl_id": crawl_id,
                "url": url,
                "at": at,
                "kind": kind,
                "message": message,
                "status": status,
                "site": site,
                "capture_id": capture_id,
            }
        ).last_pk

    # -- captures ----------------------------------------------------------------

    def record_capture(
        self,
        crawl_id: int | None,
        capture: CaptureRecord,
        snapshot: SnapshotRecord | None = None,
        failure: tuple[str, str] | None = None,
        *,
        article_id: int | None = None,
        steps: Steps | None = None,
    ) -> StoreResult:
        """Store one capture, and the article content it carried, in one transaction.

        Args:
            crawl_id: the run this capture belongs to.
            capture: the fetch itself.
            snapshot: the extracted article content, or ``None`` when the page is not an
                article (outcome ``not_article``), was not modified, or failed.
            failure: ``(kind, message)`` when the capture failed (outcome ``failed``; a
                ``failures`` row is written too).
            article_id: the article a revisit re-checked (needed for a 304, and to mark
                an article ``gone`` on 404/410).
            steps: the revisit schedule that sets ``articles.next_check_at``
                (:mod:`archive.schedule`; its defaults when ``None``).

        Returns:
            What was stored; ``outcome`` is ``new`` (first capture of this article),
            ``changed`` (a new version), ``unchanged``, ``not_modified`` (HTTP 304 to a
            conditional GET), ``not_article`` or ``failed``.

        Raises:
            StorageError: SQLite could not write (disk full, I/O error); nothing of
                this capture is stored.
        """
        with self._write():
            digest = self._store_body(capture.body)
            snapshot_id = version = None
            touched = None  # the article whose schedule this capture moves
            if failure is not None:
                outcome = "failed"
                if article_id is not None and capture.status in GONE_STATUSES:
                    self._mark_gone(article_id, capture.fetched_at, steps)
            elif capture.status == 304 and article_id is not None:
                outcome = "not_modified"
                self._seen(article_id, capture.fetched_at)
                touched = article_id
            elif snapshot is None:
                outcome = "not_article"
            else:
                article_id, outcome, version = self._touch_article(capture, snapshot)
                touched = article_id
            capture_id = self._insert_capture(crawl_id, capture, digest, article_id, outcome)
            if failure is not None:
                kind, message = failure
                self._insert_failure(
                    crawl_id, capture.url, kind, message, capture.status, capture.site, capture.fetched_at, capture_id
                )
            if snapshot is not None and touched is not None:
                if outcome in ("new", "changed"):
                    snapshot_id = self._insert_snapshot(article_id, version, capture_id, capture, snapshot)
                self._record_aliases(article_id, snapshot, capture.fetched_at)
            if touched is not None:
                self._schedule(touched, capture.fetched_at, steps)
        return StoreResult(outcome, capture_id, article_id, snapshot_id, version)

    def _seen(self, article_id: int, now: str) -> None:
        # fetched_at comes from the local clock: keep last_seen the latest even if it jumped back.
        self.db.execute(
            "UPDATE articles SET status = 'live', last_seen = max(coalesce(last_seen, ''), ?) WHERE id = ?",
            [now, article_id],
        )

    def _schedule(self, article_id: int, now: str, steps: Steps | None) -> None:
        row = self.db.execute("SELECT last_changed FROM articles WHERE id = ?", [article_id]).fetchone()
        last_changed = parse_utc(row[0]) if row and row[0] else parse_utc(now)
        due = next_check(parse_utc(now), last_changed, steps)
        self.db.execute("UPDATE articles SET next_check_at = ? WHERE id = ?", [iso_utc(due), article_id])

    def _mark_gone(self, article_id: int, now: str, steps: Steps | None) -> None:
        """The story answered 404/410 to a revisit: ``status = gone``; checked again rarely."""
        due = parse_utc(now) + timedelta(seconds=longest_interval(steps))
        self.db.execute(
            "UPDATE articles SET status = 'gone', next_check_at = ? WHERE id = ?", [iso_utc(due), article_id]
        )

    def _store_body(self, body: bytes | None) -> str | None:
        if body is None:
            return None
        digest = body_digest(body)
        self.db.execute(
            "INSERT OR IGNORE INTO bodies (digest, codec, size, data) VALUES (?, ?, ?, ?)",
            [digest, BODY_CODEC, len(body), compress_body(body)],
        )
        return digest

    def find_article_id(self, url: str) -> int | None:
        """The article a URL names: by canonical URL, else by alias; ``None`` if unknown."""
        row = self.db.execute("SELECT id FROM articles WHERE canonical_url = ?", [url]).fetchone()
        if row is None:
            row = self.db.execute("SELECT article_id FROM aliases WHERE url = ?", [url]).fetchone()
        return row[0] if row else None

    def _touch_article(self, capture: CaptureRecord, snapshot: SnapshotRecord) -> tuple[int, str, int | None]:
        """Find or create the article; decide new / changed / unchanged. Returns (id, outcome, version)."""
        article_id = self.find_article_id(snapshot.canonical_url)
        now = capture.fetched_at
        if article_id is None:
            article_id = self.db["articles"].insert(
                {
                    "canonical_url": snapshot.canonical_url,
                    "site": capture.site,
                    "first_seen": now,
                    "last_seen": now,
                    "last_changed": now,
                    "status": "live",
                }
            ).last_pk
            return article_id, "new", 1
        latest = self.db.execute(
            "SELECT version, content_hash FROM snapshots WHERE article_id = ? ORDER BY version DESC LIMIT 1",
            [article_id],
        ).fetchone()
        self._seen(article_id, now)
        if latest is not None and latest[1] == snapshot.content_hash:
            return article_id, "unchanged", None
        self.db.execute("UPDATE articles SET last_changed = ? WHERE id = ?", [now, article_id])
        version = (latest[0] + 1) if latest else 1
        return article_id, ("changed" if latest else "new"), version

    def _insert_capture(self, crawl_id, capture: CaptureRecord, digest, article_id, outcome) -> int:
        headers = capture.response_headers or {}
        lower = {k.lower(): v for k, v in headers.items()}
        return self.db["captures"].insert(
            {
                "crawl_id": crawl_id,
                "url": capture.url,
                "final_url": capture.final_url,
                "article_id": article_id,
                "fetched_at": capture.fetched_at,
                "status": capture.status,
                "etag": lower.get("etag"),
                "last_modified": lower.get("last-modified"),
                "body_digest": digest,
                "request_headers": _json_or_none(capture.request_headers),
                "response_headers": _json_or_none(capture.response_headers),
                "outcome": outcome,
                "site": capture.site,
                "content_type": capture.content_type,
                "origin": capture.origin,
            }
        ).last_pk

    def _insert_snapshot(self, article_id, version, capture_id, capture: CaptureRecord, s: SnapshotRecord) -> int:
        snapshot_id = self.db["snapshots"].insert(
            {
                "article_id": article_id,
                "version": version,
                "capture_id": capture_id,
                "fetched_at": capture.fetched_at,
                "content_hash": s.content_hash,
                "title": s.title,
                "text": s.text,
                "authors": json.dumps(s.authors, ensure_ascii=False),
                "published": s.published,
                "published_utc": s.published_utc,
                "published_source": s.published_source,
                "modified": s.modified,
                "modified_utc": s.modified_utc,
                "modified_source": s.modified_source,
                "language": s.language,
                "description": s.description,
                "sitename": s.sitename,
                "tags": json.dumps(s.tags, ensure_ascii=False),
                "image": s.image,
                "extractor": s.extractor,
                "reason": "new" if version == 1 else "edit",
            }
        ).last_pk
        self.db.execute("UPDATE articles SET latest_snapshot_id = ? WHERE id = ?", [snapshot_id, article_id])
        return snapshot_id

    def _record_aliases(self, article_id: int, snapshot: SnapshotRecord, seen_at: str) -> None:
        for url, kind in snapshot.aliases:
            if url == snapshot.canonical_url:
                continue
            self.db.execute(
                "INSERT OR IGNORE INTO aliases (url, article_id, kind, first_seen) VALUES (?, ?, ?, ?)",
                [url, article_id, kind, seen_at],
            )

    # -- reading -----------------------------------------------------------------

    def lookup(self, url: str) -> dict[str, Any] | None:
        """The article a URL names (by canonical URL, else alias): ``id``, ``next_check_at``,
        ``status``; ``None`` if unknown."""
        article_id = self.find_article_id(url)
        if article_id is None:
            return None
        return next(self.db.query("SELECT id, next_check_at, status FROM articles WHERE id = ?", [article_id]))

    def due_articles(self, sites: list[str], now: str, limit: int = 100_000) -> list[dict[str, Any]]:
        """Articles of these sites whose ``next_check_at`` has come, oldest first, with what a
        conditional GET needs from their last successful capture.

        Each row: ``id``, ``site``, ``canonical_url``, ``url`` (the last capture's final
        URL, else the canonical URL), ``etag``, ``last_modified``.
        """
        if not sites:
            return []
        marks = ", ".join("?" for _ in sites)
        return list(
            self.db.query(
                f"""
                SELECT a.id, a.site, a.canonical_url,
                       coalesce(c.final_url, a.canonical_url) AS url, c.etag, c.last_modified
                FROM articles a
                LEFT JOIN captures c ON c.id = (
                    SELECT id FROM captures WHERE article_id = a.id AND status = 200 ORDER BY id DESC LIMIT 1
                )
                WHERE a.site IN ({marks}) AND (a.next_check_at IS NULL OR a.next_check_at <= ?)
                ORDER BY a.next_check_at LIMIT ?
                """,
                [*sites, now, limit],
            )
        )

    def counts(self) -> dict[str, int]:
        """Row counts: articles, snapshots, captures, bodies, aliases, failures, crawls."""
        tables = ["articles", "snapshots", "captures", "bodies", "aliases", "failures", "crawls"]
        return {t: self.db.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables}

    def last_crawl(self) -> dict[str, Any] | None:
        """The most recent ``crawls`` row as a dict (``stats`` decoded), or ``None``."""
        rows = list(self.db.query("SELECT * FROM crawls ORDER BY id DESC LIMIT 1"))
        if not rows:
            return None
        row = rows[0]
        row["stats"] = json.loads(row["stats"]) if row["stats"] else {}
        return row

    def crawl_results(self, crawl_id: int) -> list[dict[str, Any]]:
        """What one run stored, per URL, in the order it happened.

        Each item has ``url``, ``final_url``, ``outcome`` (a capture's outcome, or
        ``failed`` for a failure without a response), ``canonical_url``, ``title``,
        ``version`` (of the snapshot written, else of the latest), and for failures
        ``kind`` and ``message``.
        """
        return list(
            self.db.query(
                """
                SELECT c.url, c.final_url, c.outcome, a.canonical_url,
                       coalesce(s.title, l.title) AS title, coalesce(s.version, l.version) AS version,
                       f.kind, f.message, c.fetched_at AS at
                FROM captures c
                LEFT JOIN articles a ON a.id = c.article_id
                LEFT JOIN snapshots s ON s.capture_id = c.id
                LEFT JOIN snapshots l ON l.id = a.latest_snapshot_id
                LEFT JOIN failures f ON f.capture_id = c.id
                WHERE c.crawl_id = :crawl
                UNION ALL
                SELECT url, NULL, 'failed', NULL, NULL, NULL, kind, message, at
                FROM failures WHERE crawl_id = :crawl AND capture_id IS NULL
                ORDER BY at
                """,
                {"crawl": crawl_id},
            )
        )

    def read_body(self, digest: str) -> bytes:
        """The stored body with this SHA-256 digest.

        Raises:
            KeyError: no such body.
        """
        row = self.db.execute("SELECT codec, data FROM bodies WHERE digest = ?", [digest]).fetchone()
        if row is None:
            raise KeyError(digest)
        return decompress_body(row[0], row[1])


def _json_or_none(value: dict[str, str] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
