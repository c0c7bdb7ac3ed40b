"""The archive: one SQLite file, written through sqlite-utils, one short transaction per capture.

Rules this module keeps (design.md: Identity, Versions, Tables):

- one ``articles`` row per canonical URL; any other URL that reached it is an ``aliases`` row;
- a ``captures`` row for every fetch, with its outcome;
- a new ``snapshots`` row only when the content hash differs from the article's latest;
- every distinct body stored once in ``bodies``, Zstandard-compressed (a changed version as a
  delta against an earlier body: :mod:`archive.bodies`), keyed by SHA-256;
- ``failures`` rows for what could not be archived.

SQLite settings: WAL journal (readers such as Datasette never block the writer),
``synchronous=FULL`` (a committed capture survives a crash or power loss),
``busy_timeout`` so that a second writer waits instead of failing, ``BEGIN IMMEDIATE``
for each write so that two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from archive import bodies, cjk, queries
from archive.diff import compare
from archive.migrations import migrations
from archive.records import Baseline, CaptureRecord, SnapshotRecord, StoreResult
from archive.schedule import Steps, longest_interval, next_check
from archive.timefmt import iso_utc, parse_utc, utc_now_iso

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
GONE_STATUSES = (404, 410)
SHRINK_RATIO = 1 / 3
SHRINK_MIN_CHARS = 500
#: first-capture story bodies a site needs before its first compression dictionary
DICTIONARY_MIN_BODIES = 32
#: bodies a dictionary is trained on (the site's newest): training takes about a second
DICTIONARY_SAMPLES = 64


class ArchiveError(Exception):
    """The archive cannot be opened or written (the CLI exits with status 4)."""


class NewerSchemaError(ArchiveError):
    """The archive was written by a newer newsarchive than this one."""


class NotAnArchiveError(ArchiveError):
    """The file is a SQLite database of something else: newsarchive will not write into it."""


class OutputExistsError(ArchiveError):
    """A file to be written (a backup) exists already: nothing was written."""


class StorageError(ArchiveError):
    """SQLite reported a storage fault: disk full, I/O error, corrupt file."""


def _known_migrations() -> list[str]:
    return [m.name for m in migrations.pending(Database(memory=True))]


def body_digest(body: bytes) -> str:
    """SHA-256 of the body bytes, as lower-case hex (the ``bodies.digest`` key)."""
    return bodies.digest(body)


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
        self._redacted_names: dict[str | None, Any] = {}  # site -> pattern of its redacted stories' URLs
        self._dictionaries: dict[str, tuple[int, bytes] | None] = {}  # site -> its latest dictionary
        self._insert_statements: dict[tuple[str, tuple[str, ...]], str] = {}  # (table, columns) -> INSERT

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
            hint = ""
            folder = Path(path).parent
            if path != ":memory:" and Path(path).is_file() and not os.access(folder, os.W_OK):
                # SQLite's WAL mode makes a reader create the -shm file beside the archive
                hint = (f" (its folder {folder} is read-only: SQLite writes a {Path(path).name}-shm file beside an archive "
                        "even to read it; copy the archive to a writable folder)")
            raise ArchiveError(f"cannot open archive {path}: {exc}{hint}") from exc
        return archive

    def _migrate(self, *, create: bool) -> None:
        # An archive that is up to date is only read here: no write lock, so that a reading
        # command (stats, history, serve) never waits for a crawl's transaction.
        applied = {m.name for m in migrations.applied(self.db)}
        if applied and applied == set(_known_migrations()):
            return
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

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert ``row`` (column -> a value SQLite takes as it is: str, int, float, bytes or
        None) into ``table``, one of the schema's; returns the new row's ``rowid``.

        The rows a capture writes go through here rather than sqlite-utils'
        ``Table.insert``, which looks the table up and builds its statement on every call:
        about 40% of a capture's storing time in a profiled crawl. Our tables exist (the
        migrations made them), so one statement per table and set of columns is kept.
        """
        key = (table, tuple(row))
        statement = self._insert_statements.get(key)
        if statement is None:
            statement = f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in key[1])}) VALUES ({', '.join('?' * len(row))})"
            self._insert_statements[key] = statement
        return self.db.conn.execute(statement, list(row.values())).lastrowid

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
                "pid": os.getpid(),
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

    def end_dead_runs(self, *, locked: bool = True) -> list[dict[str, Any]]:
        """Mark runs still ``running`` whose process is gone as ``interrupted``; returns them
        (``id``, ``command``, ``started_at``, ``pid``).

        A run whose recorded pid is no longer alive (``kill(pid, 0)``) is gone. With
        ``locked`` (the caller holds the crawl lock: no ``crawl`` run can be running) every
        ``crawl`` row still ``running`` is gone too, also one without a pid (older releases).
        """
        with self._write():
            running = list(self.db.query("SELECT id, command, started_at, pid FROM crawls WHERE status = 'running'"))
            dead = [
                r for r in running
                if (locked and r["command"] == "crawl")
                or (r["pid"] is not None and r["pid"] != os.getpid() and not _alive(r["pid"]))
            ]  # fmt: skip
            for r in dead:
                self.db.execute("UPDATE crawls SET status = 'interrupted' WHERE id = ?", [r["id"]])
        return dead

    def crawl_status(self, crawl_id: int) -> str | None:
        """A run's ``crawls.status`` (``running``, ``finished``, ``interrupted``, ...), or ``None``."""
        row = self.db.execute("SELECT status FROM crawls WHERE id = ?", [crawl_id]).fetchone()
        return row[0] if row else None

    # -- schedules -------------------------------------------------------------------

    def apply_revisit_steps(self, steps_text: list[str], steps: Steps) -> int:
        """Make every live article's ``next_check_at`` follow these revisit steps, if they are not
        the steps it was computed with; returns how many articles were rescheduled.

        The next check is computed as at the article's last check (:meth:`_schedule`): its
        ``last_seen`` plus the interval of the step its age then (``last_seen - last_changed``)
        falls in. Articles that are ``gone`` keep theirs. The steps are kept in
        ``archive_settings`` (key ``revisit_steps``, JSON).

        Args:
            steps_text: the steps as the config states them (``["3h=15m", ..., "*=7d"]``).
            steps: the same, parsed (:func:`archive.schedule.parse_revisit_steps`).
        """
        wanted = json.dumps(list(steps_text))
        row = self.db.execute("SELECT value FROM archive_settings WHERE key = 'revisit_steps'").fetchone()
        if row is not None and row[0] == wanted:
            return 0
        age = "(CAST(strftime('%s', last_seen) AS INTEGER) - CAST(strftime('%s', coalesce(last_changed, last_seen)) AS INTEGER))"
        cases = " ".join(
            f"WHEN {age} <= {int(max_age)} THEN {int(interval)}" for max_age, interval in steps if max_age is not None
        )
        interval = f"CASE {cases} ELSE {int(steps[-1][1])} END" if cases else str(int(steps[-1][1]))
        with self._write():
            changed = self.db.execute(
                f"UPDATE articles SET next_check_at = strftime('%Y-%m-%dT%H:%M:%SZ', last_seen, '+' || ({interval}) || ' seconds') "
                "WHERE status = 'live' AND last_seen IS NOT NULL"
            ).rowcount
            self.db.execute("INSERT OR REPLACE INTO archive_settings (key, value) VALUES ('revisit_steps', ?)", [wanted])
        if row is not None:
            logger.info("revisit_steps changed: %d articles rescheduled", changed)
        return changed if row is not None else 0

    def recheck_now(self, *, sites: list[str] | None = None, article_id: int | None = None, now: str | None = None) -> int:
        """Make articles due now (``next_check_at`` = ``now``, UTC): those of ``sites``, or the
        one ``article_id``; returns how many."""
        now = now or utc_now_iso()
        with self._write():
            if article_id is not None:
                return self.db.execute("UPDATE articles SET next_check_at = ? WHERE id = ?", [now, article_id]).rowcount
            marks = ", ".join("?" for _ in sites or [])
            if not marks:
                return 0
            return self.db.execute(f"UPDATE articles SET next_check_at = ? WHERE site IN ({marks})", [now, *sites]).rowcount

    # -- the frontier ----------------------------------------------------------------

    def frontier_add(self, rows: list[dict[str, Any]]) -> int:
        """Write discovered URLs to the frontier, in one transaction; returns how many were new.

        Each row: ``url`` (as it will be requested), ``source``, ``hints`` (JSON-able dict),
        ``via`` (``feed``, ``sitemap``, ``section``), ``link_depth``, and ``fetch`` (True when
        this run requests it now: its ``attempts`` start at 1; False for a URL held back for
        a later run, e.g. over a per-run cap: 0). A URL already in the frontier is left as it is.
        """
        if not rows:
            return 0
        now = utc_now_iso()
        with self._write():
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO frontier (url, source, discovered_at, hints, via, link_depth, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r["url"], r["source"], now, _json_or_none(r.get("hints") or None), r.get("via"),
                        r.get("link_depth"), 1 if r.get("fetch", True) else 0,
                    )
                    for r in rows
                ],
            )
            return self.db.conn.total_changes - before

    def frontier_leftovers(
        self, sources: list[str], max_attempts: int, limit_per_source: int = 0
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The frontier's URLs of these sources, oldest first, taken up by a new run:
        ``(to_fetch, given_up)``. Each row: ``url``, ``source``, ``hints`` (dict), ``via``,
        ``link_depth``, ``attempts`` (after this run's). ``to_fetch`` rows count one more
        attempt; rows already requested by ``max_attempts`` runs are removed and returned as
        ``given_up`` (the caller records their failure). ``limit_per_source`` (0: none) takes
        at most that many URLs of each source: the others wait, untouched, for a later run
        (a run's cap on new URLs, ``max_new_urls_per_source``)."""
        if not sources:
            return [], []
        marks = ", ".join("?" for _ in sources)
        with self._write():
            rows = list(
                self.db.query(
                    f"SELECT url, source, hints, via, link_depth, attempts FROM frontier WHERE source IN ({marks}) "
                    "ORDER BY discovered_at, rowid",
                    sources,
                )
            )
            given_up = [r for r in rows if r["attempts"] >= max_attempts]
            to_fetch, taken = [], Counter()
            for r in rows:
                if r["attempts"] < max_attempts and (not limit_per_source or taken[r["source"]] < limit_per_source):
                    taken[r["source"]] += 1
                    to_fetch.append(r)
            self.db.conn.executemany("DELETE FROM frontier WHERE url = ?", [(r["url"],) for r in given_up])
            self.db.conn.executemany("UPDATE frontier SET attempts = attempts + 1 WHERE url = ?", [(r["url"],) for r in to_fetch])
        for r in rows:
            r["hints"] = json.loads(r["hints"]) if r["hints"] else {}
        for r in to_fetch:
            r["attempts"] += 1
        return to_fetch, given_up

    def frontier_remove(self, url: str) -> None:
        """Take a URL out of the frontier (its capture is stored elsewhere, or it is no longer wanted)."""
        with self._write():
            self.db.execute("DELETE FROM frontier WHERE url = ?", [url])

    def frontier_count(self, sources: list[str] | None = None) -> int:
        """URLs waiting in the frontier (of these sources, when given)."""
        if sources is None:
            return self.db.execute("SELECT count(*) FROM frontier").fetchone()[0]
        marks = ", ".join("?" for _ in sources)
        return self.db.execute(f"SELECT count(*) FROM frontier WHERE source IN ({marks})", sources).fetchone()[0] if sources else 0

    def backup(self, out: str | Path) -> int:
        """Write a consistent copy of the archive to ``out`` with SQLite's ``VACUUM INTO``
        (safe while a crawl writes: the copy is one read transaction); returns its size, bytes.

        The copy is made in a new private folder beside ``out`` and then hard-linked to
        ``out``: ``link(2)`` fails if ``out`` exists, also as a symbolic link, so the copy
        never goes through a link, nor over a file created after any check (SQLite's
        ``VACUUM INTO`` itself follows links and writes into an existing empty file).

        Raises:
            OutputExistsError: ``out`` exists (a file, a folder or a link, dangling or not).
            ArchiveError: the copy cannot be written (disk full, no permission, ...).
        """
        import shutil
        import tempfile

        out = Path(out)
        if os.path.lexists(out):
            raise OutputExistsError(f"{out} exists; give a new file name")
        try:
            private = Path(tempfile.mkdtemp(prefix=".newsarchive-backup-", dir=out.parent))
        except OSError as exc:
            raise ArchiveError(f"cannot write in {out.parent}: {exc.strerror}") from exc
        try:
            copy = private / "backup.db"
            try:
                self.db.execute("VACUUM INTO ?", [str(copy)])
            except sqlite3.Error as exc:
                raise _storage_error(exc, str(out)) from exc
            try:
                os.link(copy, out)
            except FileExistsError as exc:
                raise OutputExistsError(f"{out} exists; give a new file name") from exc
            except OSError as exc:  # a file system without hard links
                raise ArchiveError(f"cannot create {out}: {exc.strerror}") from exc
        finally:
            shutil.rmtree(private, ignore_errors=True)
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
        frontier_url: str | None = None,
    ) -> int:
        """Record a URL that could not be archived; returns the ``failures.id``.

        Args:
            kind: short machine-readable cause (``dns``, ``timeout``, ``http_error``,
                ``not_html``, ``bad_url``, ``robots``, ...).
            message: one line a person can act on.
            frontier_url: a frontier URL whose failure is final: removed in the same transaction.
        """
        with self._write():
            if frontier_url is not None:
                self.db.execute("DELETE FROM frontier WHERE url = ?", [frontier_url])
            return self._insert_failure(crawl_id, url, kind, message, status, site, utc_now_iso())

    def _insert_failure(self, crawl_id, url, kind, message, status, site, at, capture_id=None) -> int:
        return self._insert(
            "failures",
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
        )

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
        frontier_url: str | None = None,
        baseline: Baseline | None = None,
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
            frontier_url: the frontier URL this capture answers: removed from the
                frontier in the same transaction (a crash never loses it, nor fetches it twice).
            baseline: the article's latest version extracted again with this capture's
                options (pipelines/version.py). When it is still the latest version, it is
                stored first as a version with ``reason = reextract`` (the difference is
                ours), and this capture is compared with it: the same content is
                ``unchanged``, not an edit.

        Returns:
            What was stored; ``outcome`` is ``new`` (first capture of this article),
            ``changed`` (a new version), ``unchanged``, ``not_modified`` (HTTP 304 to a
            conditional GET), ``flagged`` (a soft 404, consent wall, paywall teaser, empty
            or shrunk extraction: ``capture.flag`` or ``shrunk``; never a version),
            ``not_article`` or ``failed`` (also a 404/410 revisit, which marks the article
            ``gone``).

        Raises:
            StorageError: SQLite could not write (disk full, I/O error); nothing of
                this capture is stored.
        """
        with self._write():
            if frontier_url is not None:
                self.db.execute("DELETE FROM frontier WHERE url = ?", [frontier_url])
            known = article_id if article_id is not None else (
                self.find_article_id(snapshot.canonical_url) if snapshot is not None else None
            )
            redacted = self._redaction(known)
            if redacted is not None:
                # a redacted story is never archived again: no body, no version (archive/redaction.py)
                capture = dataclasses.replace(capture, body=None, hints=None, compressed=None, compressed_dictionary=None)
                snapshot, article_id = None, known
                failure = ("redacted", f"the story was redacted on {redacted}: not archived again")
            names_redacted = (
                snapshot is None and failure is None and known is None and capture.body is not None
                and self._names_redacted(capture)
            )
            if names_redacted:
                # a listing that still names a redacted story: its body is not kept (archive/redaction.py)
                note = "body not kept: it named a redacted story"
                capture = dataclasses.replace(
                    capture, body=None, compressed=None, compressed_dictionary=None, flag="redacted", warnings=(*capture.warnings, note)
                )
            digest = self._store_body(capture.body, self._delta_base(known), capture.compressed, capture.site, capture.compressed_dictionary)
            snapshot_id = version = None
            flag = capture.flag
            touched = None  # the article whose schedule this capture moves
            if failure is not None:
                outcome = "failed"
                if article_id is not None and capture.status in GONE_STATUSES and redacted is None:
                    self._mark_gone(article_id, capture.fetched_at, steps)
            elif capture.status == 304 and article_id is not None:
                outcome = "not_modified"
                self._seen(article_id, capture.fetched_at)
                touched = article_id
            elif snapshot is None:
                outcome = "not_article"
            elif flag or (flag := self._shrunk(known, snapshot)):
                # a consent wall, a paywall teaser, a soft 404 or a text far shorter than the
                # last version: kept as a capture, never a version
                outcome, article_id = "flagged", known
                if known is not None:
                    self._seen(known, capture.fetched_at)
                    touched = known
            else:
                if baseline is not None and known is not None:
                    self._record_baseline(known, baseline)
                article_id, outcome, version = self._touch_article(capture, snapshot)
                touched = article_id
            warnings = list(capture.warnings) + self._clock_regression(article_id if article_id is not None else known, capture)
            capture_id = self._insert_capture(crawl_id, capture, digest, article_id, outcome, flag, warnings)
            if failure is not None:
                kind, message = failure
                self._insert_failure(
                    crawl_id, capture.url, kind, message, capture.status, capture.site, capture.fetched_at, capture_id
                )
            if snapshot is not None and touched is not None:
                if outcome in ("new", "changed"):
                    snapshot_id = self._insert_snapshot(
                        article_id, version, capture_id, capture.fetched_at, snapshot, "new" if version == 1 else "edit"
                    )
                self._record_aliases(article_id, snapshot, capture.fetched_at)
            if touched is not None:
                self._schedule(touched, capture.fetched_at, steps)
        return StoreResult(
            outcome, capture_id, article_id, snapshot_id, version, redacted=redacted is not None, names_redacted=names_redacted
        )

    def _names_redacted(self, capture: CaptureRecord) -> bool:
        """Whether a body names (by URL: :func:`archive.redaction.mentions`) a redacted story of
        the capture's site. The URLs are read once per site and ``Archive``: a redaction
        takes the crawl lock, and :func:`archive.redaction.redact` calls
        :meth:`forget_redactions`."""
        from archive import redaction

        if capture.site not in self._redacted_names:
            self._redacted_names[capture.site] = redaction.url_pattern(self.db, capture.site)
        pattern = self._redacted_names[capture.site]
        return pattern is not None and redaction.mentions(capture.body, pattern, capture.encoding)

    def forget_redactions(self) -> None:
        """Read the redacted stories' URLs again on the next capture (after a redaction)."""
        self._redacted_names.clear()

    def _redaction(self, article_id: int | None) -> str | None:
        """When the article was redacted (UTC text), or ``None`` if it was not."""
        if article_id is None:
            return None
        row = self.db.execute("SELECT redacted_at FROM articles WHERE id = ? AND status = 'redacted'", [article_id]).fetchone()
        return (row[0] or "an earlier day") if row else None

    def _record_baseline(self, article_id: int, baseline: Baseline) -> None:
        """Store ``baseline`` as a ``reextract`` version if the version it was made from is
        still the article's latest (else it is stale and ignored)."""
        latest = self.db.execute(
            "SELECT s.version, s.capture_id FROM articles a JOIN snapshots s ON s.id = a.latest_snapshot_id WHERE a.id = ?",
            [article_id],
        ).fetchone()
        if latest is None or latest[1] != baseline.capture_id:
            return
        self._insert_snapshot(article_id, latest[0] + 1, baseline.capture_id, baseline.fetched_at, baseline.snapshot, "reextract")

    def _clock_regression(self, article_id: int | None, capture: CaptureRecord) -> list[str]:
        """``["clock_regression: ..."]`` when this capture's ``fetched_at`` (the local clock)
        is earlier than an earlier capture of the same article: the clock jumped back. Rows
        keep their order by id; ``last_seen`` never moves back (:meth:`_seen`)."""
        if article_id is None or capture.origin == "warc":  # a WARC's dates are not our clock
            return []
        row = self.db.execute("SELECT max(fetched_at) FROM captures WHERE article_id = ?", [article_id]).fetchone()
        if row and row[0] and row[0] > capture.fetched_at:
            logger.warning(
                "clock went back: %s fetched at %s, before an earlier capture at %s", capture.url, capture.fetched_at, row[0]
            )
            return [f"clock_regression: fetched_at {capture.fetched_at} is before an earlier capture at {row[0]}"]
        return []

    def _delta_base(self, article_id: int | None) -> str | None:
        """The full body that a new body of this article is compressed against: the body of its
        latest version (or that body's own base, so that no delta depends on a delta)."""
        if article_id is None:
            return None
        row = self.db.execute(
            """
            SELECT b.digest, b.codec, b.base_digest FROM articles a
            JOIN snapshots s ON s.id = a.latest_snapshot_id
            JOIN captures c ON c.id = s.capture_id
            JOIN bodies b ON b.digest = c.body_digest
            WHERE a.id = ?
            """,
            [article_id],
        ).fetchone()
        if row is None:
            return None
        return row[2] if row[1] == "zstd-delta" else row[0]

    def _shrunk(self, article_id: int | None, snapshot: SnapshotRecord) -> str | None:
        """``shrunk`` when the new text is under a third of the article's latest version
        (at least 500 characters): a truncated page or a wall, not an edit."""
        if article_id is None:
            return None
        row = self.db.execute(
            "SELECT length(s.text) FROM articles a JOIN snapshots s ON s.id = a.latest_snapshot_id WHERE a.id = ?",
            [article_id],
        ).fetchone()
        if row and row[0] and row[0] >= SHRINK_MIN_CHARS and len(snapshot.text) < SHRINK_RATIO * row[0]:
            return "shrunk"
        return None

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

    def _store_body(
        self,
        body: bytes | None,
        base_digest: str | None = None,
        compressed: bytes | None = None,
        site: str | None = None,
        compressed_dictionary: bytes | None = None,
    ) -> str | None:
        if body is None:
            return None
        digest = bodies.digest(body)
        if self.db.execute("SELECT 1 FROM bodies WHERE digest = ?", [digest]).fetchone():
            return digest
        base = self.read_body(base_digest) if base_digest else None
        if compressed is not None and not _decompresses_to(compressed, body):
            compressed = None  # made for another body: compressed again here
        dictionary_id, dictionary = self.site_dictionary(site) or (None, None)
        if compressed_dictionary is not None and not (dictionary and _decompresses_to(compressed_dictionary, body, dictionary)):
            compressed_dictionary = None  # made with another dictionary, or for another body
        codec, data = bodies.compress(body, base, compressed, dictionary, compressed_dictionary)
        self.db.execute(
            "INSERT INTO bodies (digest, codec, size, data, base_digest, dictionary_id) VALUES (?, ?, ?, ?, ?, ?)",
            [digest, codec, len(body), data, base_digest if codec == "zstd-delta" else None, dictionary_id if codec == "zstd-dict" else None],
        )
        return digest

    # -- per-site compression dictionaries ---------------------------------------------

    def site_dictionary(self, site: str | None) -> tuple[int, bytes] | None:
        """``(id, dictionary bytes)`` of the latest dictionary trained for ``site``
        (:meth:`train_dictionaries`), or ``None``; read once per site and kept."""
        if not site:
            return None
        if site not in self._dictionaries:
            row = self.db.execute("SELECT id, data FROM dictionaries WHERE site = ? ORDER BY id DESC LIMIT 1", [site]).fetchone()
            self._dictionaries[site] = (row[0], bodies.unpack_dictionary(row[1])) if row else None
        return self._dictionaries[site]

    def train_dictionaries(
        self,
        min_bodies: int = DICTIONARY_MIN_BODIES,
        samples: int = DICTIONARY_SAMPLES,
        sites: list[str] | None = None,
        trainer: Callable[[Iterator[list[bytes]]], Iterable[tuple[bytes | None, str | None]]] | None = None,
    ) -> list[dict[str, Any]]:
        """Train a zstd dictionary (:func:`archive.bodies.train`) for each site with at least
        ``min_bodies`` stored first-capture story bodies (codec ``zstd`` or ``zstd-dict``: not
        deltas) and, if it has a dictionary already, at least twice as many as when that one
        was trained (so a site keeps a handful of dictionaries, not one per crawl). Each is
        trained on the site's newest ``samples`` such bodies: earlier captures only; bodies
        stored from then on are compressed with it. ``sites`` limits it to those sites.

        ``trainer`` maps each site's samples (lists of body bytes as
        :func:`archive.bodies.pack_bodies` makes them, read lazily, in site order) to
        :func:`archive.bodies.train_job`'s results, in the same order: a crawl trains in its
        extraction workers, several sites at once (about 0.6 s of CPU a site).
        Without one, the sites are trained here, one after the other.

        Returns:
            One dict per dictionary saved: ``id``, ``site``, ``samples``, ``size`` (bytes),
            ``stored`` (bytes as stored).

        Raises:
            StorageError: SQLite could not write (nothing was saved).
        """
        counts = self.db.execute(
            """
            SELECT c.site, count(DISTINCT c.body_digest) FROM captures c JOIN bodies b ON b.digest = c.body_digest
            WHERE c.article_id IS NOT NULL AND c.site IS NOT NULL AND b.codec IN ('zstd', 'zstd-dict')
            GROUP BY c.site
            """
        ).fetchall()
        due = []
        for site, count in counts:
            if sites is not None and site not in sites:
                continue
            last = self.db.execute("SELECT max(site_bodies) FROM dictionaries WHERE site = ?", [site]).fetchone()[0]
            if count < min_bodies or (last is not None and count < 2 * last):
                continue
            digests = [
                r[0]
                for r in self.db.execute(
                    """
                    SELECT c.body_digest FROM captures c JOIN bodies b ON b.digest = c.body_digest
                    WHERE c.site = ? AND c.article_id IS NOT NULL AND b.codec IN ('zstd', 'zstd-dict')
                    GROUP BY c.body_digest ORDER BY max(c.id) DESC LIMIT ?
                    """,
                    [site, samples],
                )
            ]
            due.append((site, count, digests))
        jobs = (bodies.pack_bodies(self.read_body(d) for d in digests) for _, _, digests in due)
        results = trainer(jobs) if trainer is not None else map(bodies.train_job, jobs)
        saved = []
        for (site, count, digests), (dictionary, error) in zip(due, results, strict=True):
            if dictionary is None:
                logger.info("no compression dictionary for %s: %s", site, error)
                continue
            stored = bodies.pack_dictionary(dictionary)
            with self._write():
                dictionary_id = self.db["dictionaries"].insert(
                    {"site": site, "trained_at": utc_now_iso(), "site_bodies": count, "samples": json.dumps(sorted(digests)),
                     "size": len(dictionary), "data": stored}
                ).last_pk
            self._dictionaries[site] = (dictionary_id, dictionary)
            saved.append({"id": dictionary_id, "site": site, "samples": len(digests), "size": len(dictionary), "stored": len(stored)})
            logger.info("compression dictionary %s for %s: %d bytes from %d bodies", dictionary_id, site, len(dictionary), len(digests))
        return saved

    def find_article_id(self, url: str) -> int | None:
        """The article a URL names (:func:`archive.queries.find_article_id`: canonical URL or
        alias, as given or normalised); ``None`` if unknown."""
        return queries.find_article_id(self.db.conn, url)

    def _touch_article(self, capture: CaptureRecord, snapshot: SnapshotRecord) -> tuple[int, str, int | None]:
        """Find or create the article; decide new / changed / unchanged. Returns (id, outcome, version)."""
        article_id = self.find_article_id(snapshot.canonical_url)
        now = capture.fetched_at
        if article_id is None:
            article_id = self._insert(
                "articles",
                {
                    "canonical_url": snapshot.canonical_url,
                    "site": capture.site,
                    "first_seen": now,
                    "last_seen": now,
                    "last_changed": now,
                    "status": "live",
                }
            )
            return article_id, "new", 1
        latest = self.db.execute(
            "SELECT version, content_hash FROM snapshots WHERE article_id = ? ORDER BY version DESC LIMIT 1",
            [article_id],
        ).fetchone()
        self._seen(article_id, now)
        if self._older_than_latest(article_id, now):
            # a capture from before the latest version (imported from a WARC): a version
            # only if its content differs from every stored version; it never becomes the
            # article's current version (see _insert_snapshot)
            self.db.execute("UPDATE articles SET first_seen = min(first_seen, ?) WHERE id = ?", [now, article_id])
            if self.db.execute(
                "SELECT 1 FROM snapshots WHERE article_id = ? AND content_hash = ?", [article_id, snapshot.content_hash]
            ).fetchone():
                return article_id, "unchanged", None
            return article_id, "changed", latest[0] + 1
        if latest is not None and latest[1] == snapshot.content_hash:
            return article_id, "unchanged", None
        self.db.execute("UPDATE articles SET last_changed = ? WHERE id = ?", [now, article_id])
        version = (latest[0] + 1) if latest else 1
        return article_id, ("changed" if latest else "new"), version

    def _older_than_latest(self, article_id: int, fetched_at: str) -> bool:
        """Whether ``fetched_at`` is before the fetch time of the article's current version."""
        row = self.db.execute(
            "SELECT s.fetched_at FROM articles a JOIN snapshots s ON s.id = a.latest_snapshot_id WHERE a.id = ?",
            [article_id],
        ).fetchone()
        return bool(row and row[0] and fetched_at < row[0])

    def _insert_capture(self, crawl_id, capture: CaptureRecord, digest, article_id, outcome, flag=None, warnings=None) -> int:
        headers = capture.response_headers or {}
        lower = {k.lower(): v for k, v in headers.items()}
        return self._insert(
            "captures",
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
                "flag": flag,
                "hints": _json_or_none(capture.hints),
                "extract_settings": _json_or_none(capture.extract_settings),
                "encoding": capture.encoding,
                "warnings": json.dumps(list(warnings), ensure_ascii=False) if warnings else None,
            }
        )

    def _insert_snapshot(
        self, article_id: int, version: int, capture_id: int, fetched_at: str, s: SnapshotRecord, reason: str
    ) -> int:
        older = self._older_than_latest(article_id, fetched_at)
        previous = self._snapshot_before(article_id, fetched_at) if older else self._latest_snapshot(article_id)
        snapshot_id = self._insert(
            "snapshots",
            {
                "article_id": article_id,
                "version": version,
                "capture_id": capture_id,
                "fetched_at": fetched_at,
                "content_hash": s.content_hash,
                "title": s.title,
                "standfirst": s.standfirst,
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
                "reason": reason,
                "template": s.template,
                "template_removed": json.dumps(list(s.template_removed), ensure_ascii=False) if s.template_removed else None,
            }
        )
        if grams := cjk.index_text(s.title, s.text):
            self.db.execute("INSERT INTO snapshots_cjk (rowid, grams) VALUES (?, ?)", [snapshot_id, grams])
        if not older:
            self.db.execute("UPDATE articles SET latest_snapshot_id = ? WHERE id = ?", [snapshot_id, article_id])
        if previous is not None:
            self._insert_change(article_id, snapshot_id, previous, s, version, reason, fetched_at)
        if s.fingerprint is not None:
            self._fingerprint(article_id, snapshot_id, s.fingerprint, fetched_at)
        return snapshot_id

    def _latest_snapshot(self, article_id: int) -> dict[str, Any] | None:
        rows = list(
            self.db.query(
                "SELECT s.version, s.title, s.text, s.published, s.modified FROM articles a "
                "JOIN snapshots s ON s.id = a.latest_snapshot_id WHERE a.id = ?",
                [article_id],
            )
        )
        return rows[0] if rows else None

    def _snapshot_before(self, article_id: int, fetched_at: str) -> dict[str, Any] | None:
        """The version nearest in time to a capture older than the current version: the
        last one fetched before it, else the first one fetched after it (what the
        ``changes`` row of a version imported out of order compares it with)."""
        rows = list(
            self.db.query(
                "SELECT version, title, text, published, modified FROM snapshots WHERE article_id = :id "
                "ORDER BY fetched_at > :at, CASE WHEN fetched_at <= :at THEN fetched_at END DESC, fetched_at LIMIT 1",
                {"id": article_id, "at": fetched_at},
            )
        )
        return rows[0] if rows else None

    def _insert_change(self, article_id, snapshot_id, previous: dict, s: SnapshotRecord, version, reason, at) -> None:
        change = compare(previous, {"title": s.title, "text": s.text, "published": s.published, "modified": s.modified})
        self._insert(
            "changes",
            {
                "article_id": article_id,
                "snapshot_id": snapshot_id,
                "from_version": previous["version"],
                "to_version": version,
                "reason": reason,
                "at": at,
                "title_changed": int(change.title_changed),
                "words_added": change.words_added,
                "words_removed": change.words_removed,
                "published_changed": int(change.published_changed),
                "modified_changed": int(change.modified_changed),
                "diff": json.dumps(change.ops, ensure_ascii=False),
            }
        )

    def _fingerprint(self, article_id: int, snapshot_id: int, signature: bytes, at: str) -> None:
        """Keep the article's MinHash and LSH bands; record the near-duplicates they reveal."""
        from archive import similarity  # numpy: loaded by writers only, not by `stats`

        self.db.execute(
            "INSERT OR REPLACE INTO fingerprints (article_id, snapshot_id, minhash) VALUES (?, ?, ?)",
            [article_id, snapshot_id, signature],
        )
        self.db.execute("DELETE FROM fingerprint_bands WHERE article_id = ?", [article_id])
        keys = similarity.bands(signature)
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO fingerprint_bands (band, article_id) VALUES (?, ?)", [(k, article_id) for k in keys]
        )
        marks = ", ".join("?" for _ in keys)
        candidates = self.db.execute(
            f"SELECT DISTINCT f.article_id, f.minhash FROM fingerprint_bands b JOIN fingerprints f ON f.article_id = b.article_id "
            f"WHERE b.band IN ({marks}) AND b.article_id != ?",
            [*keys, article_id],
        ).fetchall()
        for other_id, other_signature in candidates:
            score = similarity.similarity(signature, other_signature)
            if score >= similarity.THRESHOLD:
                self.db.execute(
                    "INSERT OR REPLACE INTO near_duplicates (article_id, other_id, similarity, method, found_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [max(article_id, other_id), min(article_id, other_id), round(score, 3), similarity.METHOD, at],
                )

    def _record_aliases(self, article_id: int, snapshot: SnapshotRecord, seen_at: str) -> None:
        for url, kind in snapshot.aliases:
            if url == snapshot.canonical_url:
                continue
            self.db.execute(
                "INSERT OR IGNORE INTO aliases (url, article_id, kind, first_seen) VALUES (?, ?, ?, ?)",
                [url, article_id, kind, seen_at],
            )

    # -- re-extraction -------------------------------------------------------------

    def reextract_sources(self, since: str | None = None) -> list[dict[str, Any]]:
        """For each article (and its ``site``), what its current version was extracted from:
        the capture's ``capture_id``, ``final_url``, ``fetched_at``, ``content_type``, ``body_digest``,
        ``hints`` and ``extract_settings`` (decoded JSON), and the version's ``version``,
        ``content_hash`` and ``extractor``. Only captures fetched at or after ``since``
        (UTC, ``YYYY-MM-DD...``) when given."""
        rows = self.db.query(
            """
            SELECT a.id AS article_id, a.canonical_url, a.site, s.version, s.content_hash, s.extractor,
                   c.id AS capture_id, c.final_url, c.fetched_at, c.content_type, c.body_digest,
                   c.hints, c.extract_settings
            FROM articles a
            JOIN snapshots s ON s.id = a.latest_snapshot_id
            JOIN captures c ON c.id = s.capture_id
            WHERE c.body_digest IS NOT NULL AND (:since IS NULL OR c.fetched_at >= :since)
            ORDER BY a.id
            """,
            {"since": since},
        )
        result = []
        for row in rows:
            row["hints"] = json.loads(row["hints"]) if row["hints"] else {}
            row["extract_settings"] = json.loads(row["extract_settings"]) if row["extract_settings"] else {}
            result.append(row)
        return result

    def record_reextraction(self, article_id: int, capture_id: int, fetched_at: str, snapshot: SnapshotRecord) -> str:
        """Store what the current extraction makes of a stored body: a new version with
        ``reason = reextract`` if its content or its dates differ from the article's latest
        version (``changed``: a date that now leaves a template block out is ours to fix
        too), else nothing (``unchanged``). The article's ``last_changed`` and
        revisit schedule are the publisher's and are left alone."""
        with self._write():
            latest = self.db.execute(
                "SELECT s.version, s.content_hash, s.published, s.modified FROM articles a "
                "JOIN snapshots s ON s.id = a.latest_snapshot_id WHERE a.id = ?",
                [article_id],
            ).fetchone()
            if latest is not None and tuple(latest[1:]) == (snapshot.content_hash, snapshot.published, snapshot.modified):
                return "unchanged"
            version = (latest[0] + 1) if latest else 1
            self._insert_snapshot(article_id, version, capture_id, fetched_at, snapshot, "reextract")
        return "changed"

    def version_source(self, article_id: int) -> dict[str, Any] | None:
        """The article's latest version and the capture it was extracted from:
        ``canonical_url``, ``version``, ``content_hash``, ``published``, ``modified``,
        ``capture_id``, ``fetched_at``, ``final_url``, ``content_type``, ``body_digest``,
        ``hints`` and ``extract_settings`` (decoded JSON); ``None`` if it has no version."""
        rows = list(
            self.db.query(
                """
                SELECT a.canonical_url, s.version, s.content_hash, s.published, s.modified,
                       c.id AS capture_id, c.fetched_at, c.final_url, c.content_type, c.body_digest,
                       c.hints, c.extract_settings
                FROM articles a
                JOIN snapshots s ON s.id = a.latest_snapshot_id
                JOIN captures c ON c.id = s.capture_id
                WHERE a.id = ?
                """,
                [article_id],
            )
        )
        if not rows:
            return None
        row = rows[0]
        row["hints"] = json.loads(row["hints"]) if row["hints"] else {}
        row["extract_settings"] = json.loads(row["extract_settings"]) if row["extract_settings"] else {}
        return row

    # -- site templates ----------------------------------------------------------

    def save_template(self, site: str, template: dict[str, Any], stories: int, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        """Store a newly learned template of ``site`` as its next version (1, 2, ...).

        Args:
            template: the JSON-able value extraction applies; its ``version`` and
                ``learned_at`` are set here.
            stories: how many distinct stories it was learned from.
            blocks: its blocks, dicts with at least ``path``, ``kind`` and ``stories``.

        Returns:
            the ``template`` value as stored (with its ``version`` and ``learned_at``).
        """
        with self._write():
            row = self.db.execute("SELECT max(version) FROM templates WHERE site = ?", [site]).fetchone()
            version = (row[0] or 0) + 1
            stored = {**template, "site": site, "version": version, "learned_at": utc_now_iso()}
            self.db["templates"].insert(
                {
                    "site": site,
                    "version": version,
                    "learned_at": stored["learned_at"],
                    "stories": stories,
                    "blocks": json.dumps(blocks, ensure_ascii=False),
                    "template": json.dumps(stored, ensure_ascii=False, sort_keys=True),
                }
            )
        return stored

    def template(self, site: str) -> dict[str, Any] | None:
        """The latest template of ``site`` (the stored JSON value, decoded), or ``None``."""
        row = self.db.execute(
            "SELECT template FROM templates WHERE site = ? ORDER BY version DESC LIMIT 1", [site]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def templates(self, site: str | None = None) -> list[dict[str, Any]]:
        """``templates`` rows (``blocks`` decoded, without the full value): every version of
        ``site``, newest first, or the latest version of every site, by site."""
        if site is not None:
            rows = self.db.query(
                "SELECT site, version, learned_at, stories, blocks FROM templates WHERE site = ? ORDER BY version DESC",
                [site],
            )
        else:
            rows = self.db.query(
                "SELECT site, version, learned_at, stories, blocks FROM templates t "
                "WHERE version = (SELECT max(version) FROM templates WHERE site = t.site) ORDER BY site"
            )
        return [{**row, "blocks": json.loads(row["blocks"])} for row in rows]

    def sites(self) -> list[dict[str, Any]]:
        """Every site of the archive with its number of stories (``site``, ``stories``)."""
        return list(
            self.db.query("SELECT site, count(*) AS stories FROM articles WHERE site IS NOT NULL GROUP BY site ORDER BY site")
        )

    def new_stories(self, site: str) -> int:
        """Stories of ``site`` first seen since its latest template was learned (all its
        stories when it has none)."""
        row = self.db.execute("SELECT max(learned_at) FROM templates WHERE site = ?", [site]).fetchone()
        since = row[0] if row and row[0] else ""
        return self.db.execute(
            "SELECT count(*) FROM articles WHERE site = ? AND first_seen > ?", [site, since]
        ).fetchone()[0]

    def story_pages(self, site: str, limit: int) -> list[dict[str, Any]]:
        """One stored page per distinct story of ``site``, the most recently seen first: the
        body of each article's latest version (``final_url``, ``content_type``,
        ``body_digest``, ``body``). An article flagged as a near-duplicate of one already
        taken (a syndicated copy) is left out, so that no story counts twice."""
        rows = self.db.query(
            """
            SELECT a.id AS article_id, c.final_url, c.content_type, c.body_digest
            FROM articles a
            JOIN snapshots s ON s.id = a.latest_snapshot_id
            JOIN captures c ON c.id = s.capture_id
            WHERE a.site = ? AND c.body_digest IS NOT NULL
            ORDER BY a.last_seen DESC, a.id DESC
            """,
            [site],
        )
        pages: list[dict[str, Any]] = []
        taken: set[int] = set()
        for row in rows:
            if len(pages) >= limit:
                break
            twins = self.db.execute(
                "SELECT other_id FROM near_duplicates WHERE article_id = ? UNION SELECT article_id FROM near_duplicates WHERE other_id = ?",
                [row["article_id"], row["article_id"]],
            ).fetchall()
            if any(t[0] in taken for t in twins):
                continue
            try:
                row["body"] = self.read_body(row["body_digest"])
            except KeyError:
                continue
            taken.add(row["article_id"])
            pages.append(row)
        return pages

    def site_of_url(self, url: str) -> str | None:
        """The site whose stories live on ``url``'s scheme and host (the one with the most
        stories there), or ``None``: how ``archive URL`` finds a known site's template."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            return None
        prefix = f"{parts.scheme.lower()}://{parts.netloc.lower()}/"
        row = self.db.execute(
            "SELECT site FROM articles WHERE canonical_url >= ? AND canonical_url < ? AND site IS NOT NULL "
            "GROUP BY site ORDER BY count(*) DESC LIMIT 1",
            [prefix, prefix[:-1] + "0"],
        ).fetchone()
        return row[0] if row else None

    # -- reading -----------------------------------------------------------------

    def known_urls(self) -> Iterator[str]:
        """Every URL that names an article: canonical URLs and aliases (as stored)."""
        for row in self.db.execute("SELECT canonical_url FROM articles UNION SELECT url FROM aliases"):
            yield row[0]

    def has_capture(self, url: str, final_url: str, fetched_at: str) -> bool:
        """Whether a capture of ``url`` (requested) answered by ``final_url`` at ``fetched_at``
        (UTC, seconds) is stored: the key by which a distributed crawl's writer stores each
        capture once, even when it reads an item again after a stop."""
        row = self.db.execute(
            "SELECT 1 FROM captures WHERE final_url = ? AND fetched_at = ? AND url = ? LIMIT 1", [final_url, fetched_at, url]
        ).fetchone()
        return row is not None

    def lookup(self, url: str) -> dict[str, Any] | None:
        """The article a URL names (:meth:`find_article_id`): ``id``, ``next_check_at``,
        ``status``; ``None`` if unknown."""
        article_id = self.find_article_id(url)
        if article_id is None:
            return None
        return next(self.db.query("SELECT id, next_check_at, status FROM articles WHERE id = ?", [article_id]))

    def validators(self, url: str) -> dict[str, str | None] | None:
        """The validators (RFC 9110, 8.8) of the last 200 answer fetched at exactly this URL
        (its final URL), when the URL names a known article that is not redacted:
        ``{"etag": ..., "last_modified": ...}``, each ``None`` when the answer had none;
        ``None`` when there is no such answer (another URL's validators would not describe
        this one)."""
        article_id = self.find_article_id(url)
        if article_id is None:
            return None
        rows = list(
            self.db.query(
                """
                SELECT c.etag, c.last_modified FROM captures c JOIN articles a ON a.id = c.article_id
                WHERE c.article_id = ? AND c.status = 200 AND c.final_url = ? AND a.status != 'redacted'
                ORDER BY c.id DESC LIMIT 1
                """,
                [article_id, url],
            )
        )
        return rows[0] if rows else None

    def due_articles(self, sites: list[str], now: str, limit: int = 100_000) -> list[dict[str, Any]]:
        """Articles of these sites whose ``next_check_at`` has come, oldest first, with what a
        conditional GET needs from their last successful capture.

        Each row: ``id``, ``site``, ``canonical_url``, ``url`` (the canonical URL: a re-check
        never requests an alias, an AMP page or a URL with tracking parameters), ``etag``
        and ``last_modified`` of the last 200 answer whose final URL is the canonical URL
        (``None`` if it was only ever reached through an alias: another URL's validators
        would not describe it).
        """
        if not sites:
            return []
        marks = ", ".join("?" for _ in sites)
        return list(
            self.db.query(
                f"""
                SELECT a.id, a.site, a.canonical_url, a.canonical_url AS url, c.etag, c.last_modified
                FROM articles a
                LEFT JOIN captures c ON c.id = (
                    SELECT id FROM captures
                    WHERE article_id = a.id AND status = 200 AND final_url = a.canonical_url ORDER BY id DESC LIMIT 1
                )
                WHERE a.site IN ({marks}) AND a.status != 'redacted' AND (a.next_check_at IS NULL OR a.next_check_at <= ?)
                ORDER BY a.next_check_at LIMIT ?
                """,
                [*sites, now, limit],
            )
        )

    def article(self, article_id: int) -> dict[str, Any]:
        """An ``articles`` row with its versions, aliases, near-duplicates and capture count
        (:func:`archive.queries.article`).

        Raises:
            KeyError: no such article.
        """
        found = queries.article(self.db.conn, article_id)
        if found is None:
            raise KeyError(article_id)
        return found

    def snapshot(self, article_id: int, version: int) -> dict[str, Any] | None:
        """One version of an article (a ``snapshots`` row), or ``None``."""
        return queries.snapshot(self.db.conn, article_id, version)

    def export_rows(self, since: str | None = None):
        """Captures with a response, oldest first (fetched at or after ``since`` when given), with
        the article's canonical URL and the version they wrote, for WARC export; and the
        captures whose body a redaction removed (``flag = 'redacted'``, no body), which are
        not written but end what a later 304 of the URL can refer to."""
        return self.db.query(
            """
            SELECT c.*, a.canonical_url, s.version
            FROM captures c
            LEFT JOIN articles a ON a.id = c.article_id
            LEFT JOIN snapshots s ON s.capture_id = c.id AND s.reason != 'reextract'
            WHERE (c.body_digest IS NOT NULL OR c.status = 304 OR c.flag = 'redacted') AND (:since IS NULL OR c.fetched_at >= :since)
              AND (a.status IS NULL OR a.status != 'redacted')
            ORDER BY c.id
            """,
            {"since": since},
        )

    def last_response(self, url: str, before: str) -> tuple[str, bytes] | None:
        """The last capture of ``url`` (its final URL) with a body, fetched at or before
        ``before`` (UTC text), as ``(fetched_at, body bytes)``; ``None`` if there is none, or
        if a redaction removed that body (``flag = 'redacted'``: no older body stands in).
        What a ``304 Not Modified`` at ``before`` confirmed (WARC revisits refer to it)."""
        row = self.db.execute(
            """
            SELECT fetched_at, body_digest FROM captures
            WHERE final_url = ? AND (body_digest IS NOT NULL OR flag = 'redacted') AND status BETWEEN 200 AND 299
              AND fetched_at <= ?
            ORDER BY id DESC LIMIT 1
            """,
            [url, before],
        ).fetchone()
        return (row[0], self.read_body(row[1])) if row and row[1] else None

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
        """The stored body with this SHA-256 digest (:func:`archive.queries.read_body`).

        Raises:
            KeyError: no such body (or a delta's base is missing).
        """
        return queries.read_body(self.db.conn, digest)


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists (``kill(pid, 0)``; one we may not signal exists too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _json_or_none(value: dict[str, str] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _decompresses_to(compressed: bytes, body: bytes, dictionary: bytes | None = None) -> bool:
    """Whether a ``zstd`` body (``zstd-dict`` with ``dictionary``) made elsewhere gives back
    ``body`` exactly (decompressing is some 10 times cheaper than compressing at level 10)."""
    try:
        return bodies.decompress("zstd-dict" if dictionary else "zstd", compressed, dictionary=dictionary) == body
    except Exception:  # noqa: BLE001 - any damage means: not this body
        return False
