"""Run one spider in this process (for the CLI) and report what the run did."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.spiders.discover import DiscoverSpider
from crawler.spiders.news import NewsSpider
from crawler.spiders.urls import UrlsSpider

SPIDERS = {"news": NewsSpider, "urls": UrlsSpider, "discover": DiscoverSpider}
REPEATED_ERROR_LOGGERS = (
    "scrapy.downloadermiddlewares.retry",
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.core.scraper",
    "crawler.spiders.base",
    # the extraction libraries log a page's faults ("not valid HTML") as errors; the
    # pipeline reports those itself
    "trafilatura",
    "htmldate",
    "courlan",
)
LOG_LEVELS = {0: "ERROR", 1: "INFO", 2: "DEBUG"}


@dataclass(frozen=True)
class CrawlRun:
    """The result of one run.

    Attributes:
        crawl_id: the ``crawls`` row written (``None`` if the archive never opened).
        finish_reason: Scrapy's finish reason (``finished``, ``shutdown``,
            ``storage_error``, ...).
        stats: Scrapy's stats of the run.
        seconds: wall-clock duration, seconds.
        spider: the spider, after the run (``newsarchive check`` reads its plan).
    """

    crawl_id: int | None
    finish_reason: str
    stats: dict[str, Any]
    seconds: float
    spider: Any = None

    def count(self, key: str) -> int:
        """A stats counter, 0 when absent."""
        return int(self.stats.get(key, 0) or 0)


def project_settings(db: str, *, verbosity: int = 0, log_file: str | None = None, **overrides: Any) -> Settings:
    """newsarchive's Scrapy settings (``crawler.settings``) with the CLI's choices on top.

    Args:
        db: archive path (``ARCHIVE_DB``).
        verbosity: 0 logs errors only, 1 adds progress (INFO), 2 everything (DEBUG).
        log_file: write the log to this file instead of standard error.
        overrides: further settings, by name.
    """
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("ARCHIVE_DB", db, priority="cmdline")
    settings.set("LOG_LEVEL", LOG_LEVELS[min(verbosity, 2)], priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
        settings.set("LOG_LEVEL", LOG_LEVELS[max(1, min(verbosity, 2))], priority="cmdline")
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_spider(spider: str, settings: Settings, **spider_kwargs: Any) -> CrawlRun:
    """Run the named spider (``news`` or ``urls``) to completion; blocks.

    Twisted's reactor cannot be restarted, so this runs once per process.
    """
    started = time.monotonic()
    process = CrawlerProcess(settings)
    if settings.get("LOG_LEVEL") == "ERROR":
        # Quiet mode: each failed URL is already a failures row and a line of the command's
        # output; Scrapy's own per-request error logs (with tracebacks) would repeat it.
        for name in REPEATED_ERROR_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    crawler = process.create_crawler(SPIDERS[spider])
    process.crawl(crawler, **spider_kwargs)
    process.start()
    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    return CrawlRun(
        crawl_id=stats.get("archive/crawl_id"),
        finish_reason=str(stats.get("finish_reason", "unknown")),
        stats=stats,
        seconds=time.monotonic() - started,
        spider=crawler.spider,
    )
