"""Stopping a crawl on SIGINT or SIGTERM: promptly, keeping what was found.

Scrapy's own handlers (``CrawlerProcess._signal_shutdown``) stop the engine gracefully:
no new request leaves the scheduler, but every request already handed to the downloader
is still fetched (a per-host queue behind ``DOWNLOAD_DELAY`` may hold many: each is one
more delay), and the engine waits for each download up to ``DOWNLOAD_TIMEOUT``. A second
signal stops the reactor, and the run's ``crawls`` row is never closed.

:class:`GracefulStop` replaces them:

1. the first signal prints ``stopping: finishing N pages in flight`` on standard error
   (N: downloads under way), drops the requests that wait in the downloader's per-host
   queues (:class:`RunStopped`: they record nothing and stay in the frontier), and asks
   the engine to stop (``Crawler.stop_async``: the spider closes with reason
   ``shutdown``, the store pipeline marks the run ``interrupted``);
2. downloads still under way after ``ARCHIVE_STOP_GRACE_SECS`` are abandoned: the
   reactor stops, and the caller (:func:`newsarchive.runner.run_spider`) marks the run
   ``interrupted`` itself;
3. a second signal exits at once (:func:`archive.interrupt.exit_now`); the next run
   repairs the ``crawls`` row.

The ``newsarchive`` commands install it themselves (:func:`newsarchive.runner.run_spider`);
a crawl started as ``scrapy crawl news`` gets it from the :class:`StopOnSignal` extension.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.ossignal import install_shutdown_handlers
from twisted.python.failure import Failure

from archive.database import Archive, ArchiveError
from archive.interrupt import exit_now, line_start, signal_name

logger = logging.getLogger(__name__)


class RunStopped(IgnoreRequest):
    """A request not fetched because the run is stopping (its URL stays in the frontier)."""


def pages_in_flight(downloader: Any) -> int:
    """Downloads under way (Scrapy's per-host slots' ``transferring`` sets)."""
    return sum(len(slot.transferring) for slot in downloader.slots.values())


def drop_queued(downloader: Any) -> int:
    """Fail the requests that wait in the downloader's per-host queues (for their host's
    delay or a free slot) with :class:`RunStopped`; returns how many."""
    dropped = 0
    for slot in downloader.slots.values():
        if slot.latercall is not None:
            slot.latercall.cancel()
            slot.latercall = None
        while slot.queue:
            _request, waiting = slot.queue.popleft()
            waiting.errback(Failure(RunStopped("not fetched: the run is stopping")))
            dropped += 1
    return dropped


class GracefulStop:
    """The signal handling of one crawl process (see the module's docstring).

    Args:
        crawler: the running Scrapy ``Crawler``.
        grace_secs: how long downloads under way may take to finish after the first
            signal, seconds.
        on_abandon: called before the reactor stops when downloads are abandoned (the
            spider was not closed), or ``None``.

    Attributes:
        signum: the signal that stopped the run, or ``None``.
        abandoned: True when downloads were abandoned after ``grace_secs`` (the spider
            was not closed: the caller must record the end of the run).
    """

    def __init__(self, crawler: Any, grace_secs: float, on_abandon: Callable[[], None] | None = None) -> None:
        self.crawler = crawler
        self.grace_secs = grace_secs
        self.on_abandon = on_abandon
        self.signum: int | None = None
        self.abandoned = False

    def install(self) -> None:
        """Install the handlers once the reactor runs (as Scrapy's CrawlerProcess does)."""
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("after", "startup", install_shutdown_handlers, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        from twisted.internet import reactor

        # from now on a signal exits at once; logging cannot happen in a signal handler
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, exit_now)
        self.signum = signum
        reactor.callFromThread(self._stop)

    def _stop(self) -> None:
        from twisted.internet import reactor

        engine = self.crawler.engine
        downloader = engine.downloader if engine is not None else None
        n = pages_in_flight(downloader) if downloader is not None else 0
        print(f"{line_start()}stopping: finishing {n} page{'' if n == 1 else 's'} in flight", file=sys.stderr, flush=True)
        logger.info("%s: stopping, %d pages in flight", signal_name(self.signum or 0), n)
        if downloader is not None:
            dropped = drop_queued(downloader)
            self.crawler.stats.set_value("stop/dropped_queued", dropped)
        self.crawler.stats.set_value("stop/signal", signal_name(self.signum or 0))
        deferred_from_coro(self.crawler.stop_async())
        reactor.callLater(self.grace_secs, self._abandon)

    def _abandon(self) -> None:
        from twisted.internet import reactor

        if not reactor.running:
            return
        self.abandoned = True
        logger.info("downloads still under way after %.0f s: abandoned", self.grace_secs)
        if self.on_abandon is not None:
            self.on_abandon()
        try:
            reactor.stop()
        except RuntimeError:  # already stopping
            pass


def end_interrupted(db: str, crawl_id: int, stats: dict[str, Any]) -> None:
    """Record a run stopped before its spider could close as ``interrupted`` (if it is still
    ``running``), with the stats it had. A storage error is logged: the next run repairs it."""
    try:
        with Archive.open(db, create=False) as archive:
            if archive.crawl_status(crawl_id) == "running":
                archive.finish_crawl(crawl_id, "interrupted", {**stats, "finish_reason": "interrupted"})
    except ArchiveError as exc:
        logger.error("cannot record the end of run %s: %s", crawl_id, exc)


class StopOnSignal:
    """Extension: :class:`GracefulStop` for a crawl started as ``scrapy crawl news``.

    Scrapy's ``CrawlerProcess`` installs its own handlers when the reactor starts: a
    graceful stop that waits for every download under way, retries included (three times
    ``DOWNLOAD_TIMEOUT`` for a host that never answers), and a second signal to force it.
    This extension installs :class:`GracefulStop`'s one reactor turn later, in their place;
    downloads it abandons leave the run recorded ``interrupted`` (:func:`end_interrupted`).

    :class:`NotConfigured` when ``ARCHIVE_STOP_BY_COMMAND`` is set: the ``newsarchive``
    commands install :class:`GracefulStop` themselves.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stop = GracefulStop(crawler, crawler.settings.getfloat("ARCHIVE_STOP_GRACE_SECS"), on_abandon=self._record_end)

    @classmethod
    def from_crawler(cls, crawler: Any) -> StopOnSignal:
        if crawler.settings.getbool("ARCHIVE_STOP_BY_COMMAND"):
            raise NotConfigured()  # without a message: Scrapy would log it as a warning
        extension = cls(crawler)
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        return extension

    def engine_started(self) -> None:
        from twisted.internet import reactor

        # a reactor turn later: after the reactor's "after startup" triggers, Scrapy's among them
        reactor.callLater(0, install_shutdown_handlers, self.stop._on_signal)

    def _record_end(self) -> None:
        stats = dict(self.crawler.stats.get_stats())
        crawl_id = stats.get("archive/crawl_id")
        if crawl_id and self.crawler.settings.get("ARCHIVE_DB"):
            end_interrupted(self.crawler.settings.get("ARCHIVE_DB"), crawl_id, stats)
