"""Stage 1: extract the story from each candidate page (see :mod:`pipelines.extraction`)."""

from __future__ import annotations

import functools
import logging
import threading

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer, reactor
from twisted.python.failure import Failure

from crawler.items import PageItem
from pipelines.extraction import warm_up
from pipelines.jobs import run_job
from pipelines.workers import ExtractionPool, ExtractJob, ExtractResult, default_workers, start_worker

logger = logging.getLogger(__name__)

EXTRACT_ROLES = ("article", "url")
#: the stats key counting each kind of extraction failure (others: ``extract/not_html``);
#: ``too_complex`` keeps the key the spider counted it under before the check moved here
ERROR_STATS = {
    "extract_error": "extract/error", "extract_timeout": "extract/timeout", "extract_crash": "extract/crash",
    "too_complex": "archive/too_complex",
}


class ExtractPipeline:
    """Set ``item.extraction`` on article candidates (roles ``article`` and ``url``).

    A body that is not HTML sets ``item.error`` to ``(kind, message)`` with the kind of
    :class:`~pipelines.extraction.ExtractionError` (``empty``, ``content_type_mismatch``,
    ``not_html``); an unexpected extraction error sets ``("extract_error", ...)``; either
    way the item goes on to be stored as a failed capture: a crawl never dies on one page.

    With ``ARCHIVE_EXTRACT_WORKERS`` > 0 (default: the machine's cores) pages are extracted
    in that many worker processes (:class:`~pipelines.workers.ExtractionPool`), started and
    warmed when the spider opens, and ``process_item`` awaits the worker's result, so the
    reactor keeps downloading meanwhile. Each extraction then has a time limit
    (``ARCHIVE_EXTRACT_TIMEOUT_SECS``): a page that overruns it is the failure
    ``extract_timeout``, one whose worker dies ``extract_crash``; the worker is replaced.
    Back-pressure is Scrapy's own: responses whose items are still in the pipelines count
    towards ``SCRAPER_SLOT_MAX_ACTIVE_SIZE`` (5 MB), beyond which no further response is
    handed to the spider. ``ARCHIVE_EXTRACT_WORKERS = 0`` extracts in the reactor's thread,
    without a time limit.
    The encoding the page was decoded with and the extraction's warnings (dates refused
    for lying in the future, also a feed's or sitemap's) go to ``item.encoding`` and
    ``item.warnings``.

    Stats: ``extract/pages``, ``extract/articles``, ``extract/not_html``, ``extract/error``,
    ``extract/timeout``, ``extract/crash``, ``extract/future_date``.
    """

    def __init__(self, stats=None, workers: int = 0, timeout_secs: float | None = None, log_level: str = "WARNING") -> None:
        self.stats = stats
        self.log_level = log_level
        self.workers = workers
        self.timeout_secs = timeout_secs
        self.pool: ExtractionPool | None = None
        self.crawler = None
        self._starting: defer.Deferred | None = None
        self._waiting: list[defer.Deferred] = []

    @classmethod
    def from_crawler(cls, crawler) -> ExtractPipeline:
        settings = crawler.settings
        workers = settings.get("ARCHIVE_EXTRACT_WORKERS")
        pipeline = cls(
            stats=crawler.stats,
            workers=default_workers() if workers is None else int(workers),
            timeout_secs=settings.getfloat("ARCHIVE_EXTRACT_TIMEOUT_SECS") or None,
            log_level=settings.get("LOG_LEVEL", "WARNING"),
        )
        # in a crawl the workers outlive the pipelines' close_spider: the end of the run learns
        # the sites' templates (pipelines.templates, whose close_spider comes after this
        # one's) and compression dictionaries (the store's spider_closed) in them
        pipeline.crawler = crawler
        crawler.signals.connect(pipeline.close_pool, signal=signals.engine_stopped)
        return pipeline

    def open_spider(self, spider=None) -> None:
        if self.workers > 0:
            # the workers log at the crawl's LOG_LEVEL, and warm up while robots.txt is fetched
            start = functools.partial(start_worker, logging.getLevelName(str(self.log_level).upper()))
            self.pool = ExtractionPool(self.workers, self.timeout_secs, job=run_job, initializer=start)
            # the forkserver loads the extraction before it forks the first worker (seconds:
            # pipelines.preload), and pebble waits for that fork: started off the reactor,
            # which goes on fetching; the first pages wait for it (process_item)
            self._starting = defer.Deferred()
            self._starting.addBoth(self._started)
            # a daemon thread: a run stopped meanwhile exits without waiting for it
            threading.Thread(target=self._start_pool, name="extraction-pool-start", daemon=True).start()
            logger.info("extracting in %d worker processes (time limit %s s)", self.workers, self.timeout_secs)
        else:
            # before the first fetch: the first extraction would otherwise block the reactor
            # for about 0.5 s while the language model loads
            warm_up()
        if self.crawler is not None:
            self.crawler.extraction_pool = self.pool  # for the end of the run (templates, dictionaries)
            # the workers stop once the spider is closed: connected now, after every
            # pipeline's from_crawler, this handler runs after the store's, which trains
            # the dictionaries in them (signal handlers run in the order connected)
            self.crawler.signals.connect(self.close_pool, signal=signals.spider_closed)

    def _start_pool(self) -> None:
        """Start the workers (in a thread of its own); then, in the reactor's thread, let the
        pages waiting for them go on."""
        pool, starting = self.pool, self._starting
        try:
            pool.start()
        except Exception as exc:  # noqa: BLE001 - reported by _started, the pages' jobs then fail one by one
            reactor.callFromThread(starting.errback, Failure(exc))
        else:
            reactor.callFromThread(starting.callback, None)

    def _started(self, result):
        """The pool is up (or failed to start: its jobs then fail, each recorded): the pages
        waiting for it go on."""
        if isinstance(result, Failure):
            # a pool stopped while it started raises an exception without a message: its kind says what
            logger.error("the extraction workers did not start: %s", result.getErrorMessage() or result.type.__name__)
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            waiter.callback(None)

    def close_spider(self, spider=None) -> None:
        if self.crawler is None:  # outside a crawl nothing else uses the workers
            self.close_pool()

    def close_pool(self, *args, **kwargs) -> None:
        """Stop the workers (once the spider is closed: Scrapy's ``spider_closed`` signal)."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.crawler is not None:
            self.crawler.extraction_pool = None

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    @staticmethod
    def wants(item) -> bool:
        """Whether the item is a page to extract (an article candidate with a body)."""
        return isinstance(item, PageItem) and item.role in EXTRACT_ROLES and not item.error and item.status != 304

    def job(self, item: PageItem) -> ExtractJob:
        """The plain job that extracts ``item`` (with what comes next, in a worker)."""
        return ExtractJob(item.body, item.final_url, item.content_type, item.options, item.hints or None, item.fetched_at,
                          precompute=self.pool is not None, dictionary=item.dictionary)

    async def process_item(self, item):
        if not self.wants(item):
            return item
        if self.pool is None:
            return self.apply(item, run_job(self.job(item)))
        if self._starting is not None and not self._starting.called:
            waiter: defer.Deferred = defer.Deferred()
            self._waiting.append(waiter)
            await maybe_deferred_to_future(waiter)
            if self.pool is None:  # closed meanwhile (the run was stopped)
                return self.apply(item, ExtractResult(error=("extract_error", "the extraction workers were stopped")))
        future = self.pool.submit(self.job(item))
        done: defer.Deferred = defer.Deferred()
        future.add_done_callback(lambda f: reactor.callFromThread(done.callback, f.result()))
        return self.apply(item, await maybe_deferred_to_future(done))

    def process_now(self, item):
        """``process_item`` in this process, for callers outside Scrapy (``run_stages``)."""
        return self.apply(item, run_job(self.job(item))) if self.wants(item) else item

    def apply(self, item: PageItem, result: ExtractResult) -> PageItem:
        """Set what the extraction ``result`` says on ``item`` and count it in the stats."""
        self._inc("extract/pages")
        if result.error is not None:
            kind = result.error[0]
            self._inc(ERROR_STATS.get(kind, "extract/not_html"))
            item.error = result.error
            if kind == "too_complex":
                # the capture keeps the body as fetched (extract, which stores nothing, says less)
                item.error = (kind, f"{result.error[1]}; the raw page is kept")
                logger.warning("too complex %s: %s", item.final_url, item.error[1])
            return item
        item.extraction = result.extraction
        item.identity, item.compressed = result.identity, result.compressed
        item.compressed_dictionary = result.compressed_dictionary
        item.encoding = item.extraction.encoding
        item.warnings = [*item.warnings, *item.extraction.warnings]
        for warning in item.warnings:
            if warning.startswith("future_date"):
                self._inc("extract/future_date")
                logger.info("%s: %s", item.final_url, warning)
        if item.extraction.is_article:
            self._inc("extract/articles")
        return item
