"""Stage 4: store each page in the archive (the only stage that touches it).

Opens the archive when the spider opens, records the run in ``crawls``, writes one
transaction per item, and records the run's stats when the spider closes. Errors of
spider callbacks and of earlier pipeline stages become ``failures`` rows too, so that
every failure is visible in the archive, not only in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import reactor

from archive import bodies
from archive.records import CaptureRecord, SnapshotRecord
from archive.database import DICTIONARY_MIN_BODIES, Archive, StorageError
from archive.runlog import run_log
from archive.schedule import Steps, parse_revisit_steps
from crawler.items import FailureItem, PageItem
from crawler.scrapy_internals import items_in_progress

logger = logging.getLogger(__name__)


def capture_record(item: PageItem) -> CaptureRecord:
    """The archive's record of the fetch an item carries."""
    return CaptureRecord(
        url=item.url,
        final_url=item.final_url,
        fetched_at=item.fetched_at,
        status=item.status,
        body=None if item.status == 304 else item.body,  # a 304 has no body to keep
        site=item.site,
        request_headers=item.request_headers,
        response_headers=item.response_headers,
        content_type=item.content_type,
        origin=item.origin,
        hints=item.hints or None,
        extract_settings=item.options.as_json(),
        flag=item.flag,
        encoding=item.encoding,
        warnings=tuple(item.warnings),
        compressed=None if item.status == 304 else item.compressed,
        compressed_dictionary=None if item.status == 304 else item.compressed_dictionary,
    )


def snapshot_record(item: PageItem) -> SnapshotRecord | None:
    """The archive's record of the article content an item carries, or ``None`` if it has none."""
    e = item.extraction
    if e is None or not item.canonical_url or not item.content_hash or item.error:
        return None
    return snapshot_from(e, item.canonical_url, item.content_hash, tuple(item.aliases), item.fingerprint)


def snapshot_from(e, canonical_url: str, digest: str, aliases: tuple = (), fingerprint: bytes | None = None) -> SnapshotRecord:
    """A :class:`SnapshotRecord` from an :class:`~pipelines.extraction.Extraction`."""
    return SnapshotRecord(
        canonical_url=canonical_url,
        content_hash=digest,
        title=e.title,
        standfirst=e.standfirst,
        text=e.text,
        extractor=e.extractor,
        authors=list(e.authors),
        tags=list(e.tags),
        published=e.published.value if e.published else None,
        published_utc=e.published.utc if e.published else None,
        published_source=e.published.source if e.published else None,
        modified=e.modified.value if e.modified else None,
        modified_utc=e.modified.utc if e.modified else None,
        modified_source=e.modified.source if e.modified else None,
        language=e.language,
        description=e.description,
        sitename=e.sitename,
        image=e.image,
        aliases=aliases,
        fingerprint=fingerprint,
        template=e.template,
        template_removed=tuple({"path": r.path, "kind": r.kind, "text": r.text} for r in e.removed),
    )


class StorePipeline:
    """Write items to the archive at ``ARCHIVE_DB``.

    Settings: ``ARCHIVE_DB`` (path), ``ARCHIVE_COMMAND`` and ``ARCHIVE_CONFIG_TEXT``
    (recorded in ``crawls``), ``ARCHIVE_CRAWL_ID`` (a ``crawls`` row already started by
    the caller), ``ARCHIVE_REVISIT_STEPS`` (the revisit schedule, as in the config).

    Log: one line per stored article, new version and failure, on the run log
    (:mod:`archive.runlog`).

    Stats: ``archive/crawl_id``, ``archive/<outcome>`` (``new``, ``changed``,
    ``unchanged``, ``not_article``, ``failed``), ``archive/failure/<kind>``,
    ``archive/storage_error``.

    A storage error (disk full, I/O error) stops the crawl with finish reason
    ``storage_error``: nothing is half-written, and the CLI exits with status 4.
    """

    def __init__(
        self,
        db_path: str,
        command: str = "crawl",
        config_text: str | None = None,
        crawler=None,
        crawl_id: int | None = None,
        steps: Steps | None = None,
        dictionary_min_bodies: int = DICTIONARY_MIN_BODIES,
    ) -> None:
        self.db_path = db_path
        self.dictionary_min_bodies = dictionary_min_bodies
        self.steps = steps
        self.command = command
        self.config_text = config_text
        self.crawler = crawler
        self.stats = crawler.stats if crawler is not None else None
        self.archive: Archive | None = None
        self.crawl_id = crawl_id
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler) -> StorePipeline:
        settings = crawler.settings
        pipeline = cls(
            db_path=settings.get("ARCHIVE_DB"),
            command=settings.get("ARCHIVE_COMMAND", "crawl"),
            config_text=settings.get("ARCHIVE_CONFIG_TEXT"),
            crawler=crawler,
            crawl_id=settings.getint("ARCHIVE_CRAWL_ID") or None,
            # unset (a bare test crawler): the schedule's defaults (archive.schedule)
            steps=parse_revisit_steps(settings.getlist("ARCHIVE_REVISIT_STEPS")) if settings.getlist("ARCHIVE_REVISIT_STEPS") else None,
            dictionary_min_bodies=settings.getint("ARCHIVE_DICTIONARY_MIN_BODIES", DICTIONARY_MIN_BODIES),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.spider_error, signal=signals.spider_error)
        crawler.signals.connect(pipeline.item_error, signal=signals.item_error)
        return pipeline

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def open_spider(self) -> None:
        self.archive = Archive.open(self.db_path)
        # The CLI records the run before starting Scrapy (so that a full disk is reported
        # before anything runs) and passes its id; `scrapy crawl` has the pipeline do it.
        self.crawl_id = self.crawl_id or self.archive.start_crawl(self.command, self.config_text)
        if self.stats is not None:
            self.stats.set_value("archive/crawl_id", self.crawl_id)
        logger.info("archiving into %s (crawl %s)", self.db_path, self.crawl_id)

    def process_item(self, item):
        if self.archive is None:
            raise DropItem("store: archive is closed")
        try:
            article_id = self._article_of(item) if isinstance(item, PageItem) else None
            if isinstance(item, PageItem) and item.status == 304 and article_id is None and item.origin == "warc":
                # a revisit record that says "not modified" of a story neither the archive nor the
                # files read before hold: nothing to keep, and no article to count it for
                message = f"a 304 (not modified) of {item.url}, a story this archive does not hold: nothing to keep"
                item = FailureItem(url=item.url, kind="warc", message=message, site=item.site, status=304)
            if isinstance(item, FailureItem):
                self.archive.record_failure(
                    self.crawl_id, item.url, item.kind, item.message, status=item.status, site=item.site,
                    frontier_url=item.url if item.final else None,
                )
                self._inc("archive/failed")
                self._inc(f"archive/failure/{item.kind}")
                run_log.warning("failed %s: %s", item.url, item.message)
                return item
            if not isinstance(item, PageItem):
                return item
            result = self.archive.record_capture(
                self.crawl_id,
                capture_record(item),
                snapshot_record(item),
                item.error,
                article_id=article_id,
                steps=self.steps,
                # a host that asked for a long pause: the URL waits in the frontier for the next run
                frontier_url=None if item.error and item.error[0] == "deferred" else item.url,
                baseline=item.baseline,
            )
        except StorageError as exc:
            self._storage_failed(exc, item)
            raise DropItem(f"store: {exc}") from exc
        item.outcome = result.outcome
        if result.redacted:  # the story was redacted: its page goes nowhere else either
            item.body, item.extraction, item.flag = b"", None, "redacted"
            item.error = item.error or ("redacted", "the story was redacted: not archived again")
        elif result.names_redacted:  # a feed or a page naming a redacted story: its body goes nowhere else
            item.body, item.flag = b"", "redacted"
            logger.info("%s names a redacted story: its body is not kept", item.final_url)
        self._inc(f"archive/{result.outcome}")
        if item.error:
            self._inc(f"archive/failure/{item.error[0]}")
            if item.error[0] == "gone":
                self._inc("archive/gone")
            run_log.warning("failed %s: %s", item.url, item.error[1])
        elif result.outcome == "flagged":
            logger.info("flagged %s (%s): kept as a capture, not a version", item.final_url, item.flag or "shrunk")
        elif result.outcome in ("new", "changed"):
            run_log.info(
                "%s %s v%s: %s",
                "new article" if result.outcome == "new" else "new version",
                item.canonical_url,
                result.version,
                item.extraction.title,
            )
        else:
            logger.debug("%s %s", result.outcome, item.final_url)
        return item

    def _article_of(self, item: PageItem) -> int | None:
        """The article a capture re-checked: as the spider said, or, for a 304 that names
        none (one imported from a WARC), the article its URL names."""
        if item.article_id is not None or item.status != 304:
            return item.article_id
        return self.archive.find_article_id(item.final_url)

    def _storage_failed(self, exc: Exception, item: Any) -> None:
        self._inc("archive/storage_error")
        logger.error("storage error, stopping the crawl: %s (while storing %s)", exc, getattr(item, "url", "?"))
        if self.crawler is not None and self.crawler.engine is not None and not self._closing:
            self._closing = True
            self._close_when_idle()

    def _close_when_idle(self) -> None:
        """Close the spider once no item is being processed. (Closing from inside
        process_item, or while an item yielded by the spider's start() is in the item
        pipeline, leaves Scrapy 2.19's engine waiting for ever.)"""
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        if items_in_progress(self.crawler):
            reactor.callLater(0.05, self._close_when_idle)
            return
        deferred_from_coro(engine.close_spider_async(reason="storage_error"))

    def _record_error(self, url: str, kind: str, message: str) -> None:
        """A failure of the spider or a pipeline stage: a failures row, counted in the run's
        summary line (``archive/failed``) and written to the run log, as any failed page."""
        if self.archive is None:
            return
        try:
            self.archive.record_failure(self.crawl_id, url, kind, message)
            self._inc("archive/failed")
            self._inc(f"archive/failure/{kind}")
            run_log.warning("failed %s: %s", url, message)
        except StorageError as exc:
            logger.error("cannot record failure of %s: %s", url, exc)

    def spider_error(self, failure, response, spider) -> None:
        """A spider callback raised: record it against the response's URL (Scrapy sends no
        response when the spider's start raised: then against ``(start)``)."""
        url = response.url if response is not None else "(start)"
        self._record_error(url, "spider_error", f"{type(failure.value).__name__}: {failure.value}")

    def item_error(self, item, response, spider, failure) -> None:
        """An earlier pipeline stage raised: record it against the item's URL."""
        url = getattr(item, "url", None) or (response.url if response is not None else "?")
        self._record_error(url, "pipeline_error", f"{type(failure.value).__name__}: {failure.value}")

    def _trainer(self):
        """The crawl's extraction workers as the dictionaries' trainer, one site at a time
        (still running: they stop after this handler, pipelines.extract), or ``None`` (train
        here)."""
        pool = getattr(self.crawler, "extraction_pool", None)
        if pool is None:
            return None

        def train(jobs):
            # one site at a time: zstd's training takes about twice its samples' size, and
            # the sum of the workers' memory is bounded (issue 16)
            for result in pool.map(jobs, bodies.train_job, timed=False, in_flight=1):
                # the pool's own failure (its worker died): an ExtractResult with the error
                yield result if isinstance(result, tuple) else (None, result.error[1] if result.error else repr(result))

        return train

    def spider_closed(self, spider, reason: str) -> None:
        """Record the end of the run with Scrapy's stats; after a finished run, train the
        compression dictionaries that are due (``ARCHIVE_DICTIONARY_MIN_BODIES``), in the
        crawl's extraction workers when it has them (:meth:`_trainer`); then close the
        archive."""
        if self.archive is None:
            return
        stats = dict(self.stats.get_stats()) if self.stats is not None else {}
        stats.setdefault("finish_reason", reason)
        # "shutdown": the engine was stopped (SIGINT/SIGTERM, crawler.stopping)
        status = "interrupted" if reason == "shutdown" else reason
        try:
            self.archive.finish_crawl(self.crawl_id, status, stats)
        except StorageError as exc:
            logger.error("cannot record the end of crawl %s: %s", self.crawl_id, exc)
        if reason == "finished" and self.dictionary_min_bodies > 0:
            # after the run is recorded: a dictionary is trained on what is stored by now,
            # and compresses the sites' next bodies (archive/bodies.py)
            try:
                self.archive.train_dictionaries(self.dictionary_min_bodies, trainer=self._trainer())
            except StorageError as exc:
                logger.error("compression dictionaries not trained: %s", exc)
        self.archive.close()
        self.archive = None
