"""Stopping when asked: SIGINT (Ctrl-C) and SIGTERM (``kill``, systemd, ``timeout``).

The first signal asks the command to stop: :func:`installed` makes it raise
:class:`Interrupted` in the main thread, so that ``with`` blocks unwind as for any error
(an open transaction is rolled back, a temporary folder removed, a file closed) and
nothing half-written remains. A second signal exits at once (:func:`exit_now`, status
:data:`EXIT_INTERRUPTED`), whatever is running; SQLite's journal makes the archive whole
again, and the next run marks the run's ``crawls`` row ``interrupted``
(:meth:`archive.database.Archive.end_dead_runs`). Crawls stop their own way while Scrapy runs
(:mod:`crawler.stopping`), with the same second-signal rule.

Only the standard library: every command installs this, also the ones that load neither
Scrapy nor the extraction libraries.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: exit status of a run stopped by a signal (design.md: 1, the run did not finish)
EXIT_INTERRUPTED = 1
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):  # noqa: N818 - a signal, not an error
    """Raised in the main thread by the first SIGINT or SIGTERM; ``signum`` says which.

    A ``BaseException``, as ``KeyboardInterrupt`` is: code that guards one page with
    ``except Exception`` (an extraction, a record) must not swallow the request to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal_name(signum)}")
        self.signum = signum


def signal_name(signum: int) -> str:
    """``SIGINT``, ``SIGTERM``, ... for a signal number."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def line_start() -> str:
    """What starts a message of ours on standard error: on a terminal, a return, ECMA-48's
    "erase in line" and "show cursor" (a progress bar may be drawn on that line, its
    cursor hidden); else nothing."""
    try:
        return "\r\x1b[K\x1b[?25h" if sys.stderr.isatty() else ""
    except (AttributeError, ValueError):  # no standard error, or a closed one
        return ""


def exit_now(signum: int, _frame: FrameType | None = None) -> None:
    """A signal handler: exit at once with :data:`EXIT_INTERRUPTED`, running no cleanup.

    ``os._exit`` skips every ``finally`` on purpose: the user asked twice; this process's
    child processes are killed first (:func:`_kill_children`). The crawl lock is
    a ``flock`` the kernel releases; an uncommitted SQLite transaction is rolled back by
    the journal at the next open.
    """
    message = f"{line_start()}stopped at once ({signal_name(signum)} again); the next run marks this run interrupted\n"
    try:
        os.write(2, message.encode())
        _kill_children()
    finally:
        os._exit(EXIT_INTERRUPTED)


def _kill_children() -> None:
    """SIGKILL this process's child processes (Linux: read from ``/proc``; elsewhere
    nothing): the extraction pool's forkserver may be busy loading the extraction for
    seconds before it notices its parent is gone, holding the standard output and error
    this process shares with it, so a caller reading them would wait."""
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            if parent == me:
                os.kill(int(name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


#: signals this process sent itself (:func:`stop_self`): nobody is there to send another
_SENT_BY_ITSELF: set[int] = set()


def stop_self(signum: int = signal.SIGTERM) -> None:
    """Stop this process as ``signum`` from outside would (its handlers run, its cleanup
    with them), without the line that invites a second signal: the process stopped itself
    (``serve`` when its archive file is replaced), and said why."""
    _SENT_BY_ITSELF.add(signum)
    os.kill(os.getpid(), signum)


#: the first signal received inside :func:`installed` (its number), or ``None``
_received: int | None = None


def raise_if_stopped() -> None:
    """Raise :class:`Interrupted` if a first signal came inside :func:`installed`: its own
    exception may have been swallowed by a library's bare ``except:`` (cdxj_indexer's
    around ``surt``, warcio's header decoding), and the command would go on, and exit 0,
    after saying it was stopping. Called where work can stop cleanly."""
    if _received is not None:
        raise Interrupted(_received)


def _first(signum: int, _frame: FrameType | None) -> None:
    global _received
    _received = signum
    for sig in SIGNALS:
        signal.signal(sig, exit_now)
    if signum not in _SENT_BY_ITSELF:
        print(f"{line_start()}stopping ({signal_name(signum)}): send it again to exit at once", file=sys.stderr, flush=True)
    raise Interrupted(signum)


@contextmanager
def installed() -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM raises :class:`Interrupted` in the main
    thread, and a second one exits at once; the previous handlers are restored after it
    (unless a signal came: a second one still exits at once). Outside the main thread
    (where Python cannot set handlers) it does nothing."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received = None
    previous = {sig: signal.signal(sig, _first) for sig in SIGNALS}
    try:
        yield
    finally:
        if not any(signal.getsignal(sig) is exit_now for sig in SIGNALS):
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def on_second_signal_exit() -> None:
    """From now on any SIGINT or SIGTERM exits at once (the first one was handled elsewhere)."""
    for sig in SIGNALS:
        signal.signal(sig, exit_now)
