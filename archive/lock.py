"""One crawl at a time per archive: an advisory lock beside the archive file.

Cron may start a crawl while the previous one still runs; the second must exit at once
(exit status 3) instead of doubling the load on the sites. The lock is ``flock(2)`` on
``<archive>.lock``: the kernel releases it when the process ends, also after kill -9, so
a crash never leaves a stale lock. The file records who holds it, for the message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from archive.timefmt import utc_now_iso


class LockHeld(RuntimeError):
    """Another run holds the archive's lock; the message says which (pid, start time)."""


class ArchiveLock:
    """``with ArchiveLock(db_path):`` holds the archive's crawl lock, or raises :class:`LockHeld`.

    Raises:
        LockHeld: another process holds it.
        OSError: the lock file cannot be created.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.lock")
        self._file = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise :class:`LockHeld` at once (never waits)."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LockHeld(f"another run holds {self.path} ({holder}); try again when it has finished") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {utc_now_iso()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock back (the kernel also does when the process ends)."""
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
