"""Run one spider in this process (for the CLI) and report what the run did."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from archive.interrupt import Interrupted, on_second_signal_exit, signal_name
from crawler.spiders.check import CheckSpider
from crawler.spiders.discover import DiscoverSpider
from crawler.spiders.news import NewsSpider
from crawler.spiders.urls import UrlsSpider
from crawler.spiders.worker import WorkerSpider
from crawler.stopping import GracefulStop, end_interrupted
from newsarchive.logs import quiet_repeated_errors

logger = logging.getLogger(__name__)

SPIDERS = {"news": NewsSpider, "urls": UrlsSpider, "check": CheckSpider, "discover": DiscoverSpider, "worker": WorkerSpider}
LOG_LEVELS = {0: "ERROR", 1: "INFO", 2: "DEBUG"}
#: Scrapy's banner and version list, settings, component lists and stats dump: logged only with -vv
SCRAPY_DUMP_LOGGERS = ("scrapy.utils.log", "scrapy.crawler", "scrapy.middleware", "scrapy.addons", "scrapy.statscollectors")


@dataclass(frozen=True)
class CrawlRun:
    """The result of one run.

    Attributes:
        crawl_id: the ``crawls`` row written (``None`` if the archive never opened).
        finish_reason: Scrapy's finish reason (``finished``, ``storage_error``, ...), or
            ``interrupted`` when a signal stopped the run.
        stats: Scrapy's stats of the run.
        seconds: wall-clock duration, seconds.
        spider: the spider, after the run (``newsarchive check`` reads its plan).
    """

    crawl_id: int | None
    finish_reason: str
    stats: dict[str, Any]
    seconds: float
    spider: Any = None
    #: the signal that stopped the run (``SIGINT``, ``SIGTERM``), or ``None``
    stopped_by: str | None = None
    #: what ran (``crawls.command``: ``crawl``, ``archive``)
    command: str = "crawl"

    def count(self, key: str) -> int:
        """A stats counter, 0 when absent."""
        return int(self.stats.get(key, 0) or 0)


def project_settings(db: str, *, verbosity: int = 0, log_file: str | None = None, **overrides: Any) -> Settings:
    """newsarchive's Scrapy settings (``crawler.settings``) with the CLI's choices on top.

    Args:
        db: archive path (``ARCHIVE_DB``).
        verbosity: 0 logs errors only, 1 adds progress (INFO), 2 everything (DEBUG,
            with Scrapy's banner, settings and stats dumps). The run lines
            (:mod:`archive.runlog`) have a handler of their own.
        log_file: write the log to this file instead of standard error.
        overrides: further settings, by name.
    """
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("ARCHIVE_DB", db, priority="cmdline")
    settings.set("LOG_LEVEL", LOG_LEVELS[min(verbosity, 2)], priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def _log_start_failure(failure) -> None:
    """Log why the crawl could not start (a component's ``from_crawler`` raised, a wrong
    reactor installed ...): Scrapy leaves that in the failed Deferred of
    ``CrawlerProcess.crawl``, where nobody would read it."""
    logger.error(
        "the crawl could not start: %s", failure.getErrorMessage(),
        exc_info=(failure.type, failure.value, failure.getTracebackObject()),
    )


def run_spider(spider: str, settings: Settings, on_item: Callable[[Any, Any], None] | None = None, **spider_kwargs: Any) -> CrawlRun:
    """Run the named spider (``news``, ``urls`` or ``check``) to completion; blocks.

    ``on_item(item, spider)`` is called for each item that has passed through the
    pipelines, stored or dropped (Scrapy's ``item_scraped`` and ``item_dropped`` signals):
    a command's progress.

    SIGINT and SIGTERM stop the run (:class:`crawler.stopping.GracefulStop`, instead of
    Scrapy's handlers): within ``ARCHIVE_STOP_GRACE_SECS`` plus the time to close, the run
    ends ``interrupted`` in ``crawls`` (marked here if the spider could not close in
    time); a second signal exits the process at once.

    Twisted's reactor cannot be restarted, so this runs once per process.
    """
    started = time.monotonic()
    dumps = logging.INFO if settings.get("LOG_LEVEL") == "DEBUG" else logging.WARNING
    for name in SCRAPY_DUMP_LOGGERS:
        logging.getLogger(name).setLevel(dumps)
    settings.set("ARCHIVE_STOP_BY_COMMAND", True, priority="cmdline")  # GracefulStop is installed here
    process = CrawlerProcess(settings)
    # Scrapy's logging leaves the root logger at NOTSET and filters in its handlers, all at
    # LOG_LEVEL: every page's debug lines ("Crawled", "Scraped from") were built, then dropped
    # (about 0.3 ms of the crawl's process a page). At the root they are not built at all;
    # what reaches a handler, and Scrapy's log_count stats, stay the same.
    logging.getLogger().setLevel(settings.get("LOG_LEVEL"))
    if settings.get("LOG_LEVEL") == "ERROR":
        quiet_repeated_errors()
    crawler = process.create_crawler(SPIDERS[spider])
    if on_item is not None:
        for finished in (signals.item_scraped, signals.item_dropped):
            crawler.signals.connect(on_item, signal=finished, weak=False)
    stop = GracefulStop(crawler, settings.getfloat("ARCHIVE_STOP_GRACE_SECS"))
    stopped_early: list[Interrupted] = []

    def start_failed(failure) -> None:
        if failure.check(Interrupted):  # a signal while Scrapy built the crawl: a stop, not an error
            stopped_early.append(failure.value)
            logger.info("%s before the crawl started", failure.value)
            return None
        return _log_start_failure(failure)

    process.crawl(crawler, **spider_kwargs).addErrback(start_failed)
    stop.install()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    process.start(install_signal_handlers=False)
    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    reason = str(stats.get("finish_reason", "unknown"))
    crawl_id = stats.get("archive/crawl_id")
    stopped_by = None
    if stopped_early:
        # the first signal came before GracefulStop was installed (archive.interrupt raised
        # it inside Scrapy's start): the run is recorded interrupted, as a later stop is
        reason, stopped_by = "interrupted", signal_name(stopped_early[0].signum)
        crawl_id = crawl_id or settings.getint("ARCHIVE_CRAWL_ID") or None
        if crawl_id:
            end_interrupted(settings.get("ARCHIVE_DB"), crawl_id, {**stats, "stop/signal": stopped_by})
    elif stop.signum is None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    else:
        on_second_signal_exit()
        reason, stopped_by = "interrupted", str(stats.get("stop/signal"))
        crawl_id = crawl_id or settings.getint("ARCHIVE_CRAWL_ID") or None
        if stop.abandoned and crawl_id:
            end_interrupted(settings.get("ARCHIVE_DB"), crawl_id, stats)
    return CrawlRun(
        crawl_id=crawl_id,
        finish_reason=reason,
        stats=stats,
        seconds=time.monotonic() - started,
        spider=crawler.spider,
        stopped_by=stopped_by,
        command=settings.get("ARCHIVE_COMMAND") or "crawl",
    )
