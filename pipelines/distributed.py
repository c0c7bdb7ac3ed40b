"""Both ends of the item stream of a distributed crawl (:mod:`crawler.distributed`).

Workers: :class:`PublishedTemplatePipeline` gives each page its site's template as the
writer published it, :class:`~pipelines.extract.ExtractPipeline` extracts (the same worker
seam as a crawl on one machine), :class:`StreamPipeline` hands the item to the stream.

The writer (:class:`Writer`, ``newsarchive crawl --redis URL``): publishes the run (code
version, config text, templates), seeds the queue from the archive's frontier, due
revisits and the sources, then reads the stream and runs identify -> version -> store on
each item as a crawl does (and the config's WARC file), acknowledging each entry (``XACK``, then ``XDEL``) only after
its commit. The run's record (``crawls.stats``) holds the writer's stats and the workers'
counters added up (:meth:`Writer.add_worker_stats`). Items travel pickled (bodies as bytes, extractions as they are): workers and
writer run the same code version (a worker on another is refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import pickle
import time
from dataclasses import dataclass, replace
from typing import Any

import redis
from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured

from archive import __version__
from archive.database import Archive
from archive.schedule import parse_revisit_steps
from crawler.config import CrawlConfig
from crawler.distributed import (
    STATS_WAIT_SECS, WRITER_GROUP, Keys, Leases, RedisOutage, add_up, pause, published_worker_stats, queue, seen_filter, share_run_counts,
)
from crawler.items import FailureItem, PageItem
from crawler.scrapy_internals import crawler_for
from crawler.spiders.news import NewsSpider
from pipelines.extract import EXTRACT_ROLES
from pipelines.extraction.template import Template
from pipelines.identify import IdentifyPipeline
from pipelines.store import StorePipeline
from pipelines.templates import learn_due
from pipelines.version import VersionPipeline
from pipelines.warc import WarcPipeline
from pipelines.warcimport import Stats

logger = logging.getLogger(__name__)

#: entries the writer reads from the stream at once, and how long it blocks for them (ms)
READ_COUNT = 50
READ_BLOCK_MS = 100
#: how often the writer returns dead workers' leases to the queue, at most, seconds (workers
#: do it too, every third of ARCHIVE_REDIS_LEASE_SECS)
REAP_SECS = 1.0
#: how long an item waits, at most, for the rest of its request's output before it goes to
#: the stream without its lease's acknowledgement (seconds; StreamPipeline)
OUTPUT_WAIT_SECS = 5.0


# KEYS: the stream, leases, lease-priority; ARGV: the most entries the stream may hold, the
# item, the lease it finishes (or ''). Added (its id) and the lease acknowledged, unless full (nil).
_ADD_BELOW = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[1], '*', 'kind', 'item', 'data', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('HDEL', KEYS[3], ARGV[3])
end
return id
"""


class StreamPipeline:
    """Workers' last stage: the item, pickled, onto the stream ``P:items``. While the stream
    holds ``ARCHIVE_REDIS_STREAM_MAX_ITEMS`` entries the writer has not finished, the worker
    waits (back-pressure: nothing is dropped). Then the item counts as done for its request's
    lease (:class:`crawler.distributed.Leases`). The check, the addition and, when the item
    is its request's last, the acknowledgement of the request's lease are one script (one
    round trip, atomic: a lease is never acknowledged before its items are in the stream).

    Stats: ``distributed/streamed``, ``distributed/backpressure_waits``.
    """

    def __init__(self, crawler, server: redis.Redis, keys: Keys, max_items: int) -> None:
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.max_items = max_items
        self.outage = RedisOutage(crawler.settings.getfloat("ARCHIVE_REDIS_WAIT_SECS"))
        self._undelivered: set[int] = set()
        self._add = server.register_script(_ADD_BELOW)

    @classmethod
    def from_crawler(cls, crawler) -> StreamPipeline:
        settings = crawler.settings
        if not settings.get("REDIS_URL"):
            raise NotConfigured()
        pipeline = cls(
            crawler, redis.Redis.from_url(settings.get("REDIS_URL")), Keys(settings.get("ARCHIVE_REDIS_PREFIX")),
            settings.getint("ARCHIVE_REDIS_STREAM_MAX_ITEMS"),
        )
        crawler.signals.connect(pipeline.item_lost, signal=signals.item_dropped)
        crawler.signals.connect(pipeline.item_lost, signal=signals.item_error)
        return pipeline

    def _leases(self) -> Leases | None:
        return getattr(self.crawler.spider, "leases", None)

    def item_lost(self, item, *args: Any, **kwargs: Any) -> None:
        """An earlier stage dropped the item or raised (logged by Scrapy): it will not come.
        One this stage could not hand over (Redis lost) keeps its request leased: another
        worker fetches it again once the lease expires."""
        if id(item) in self._undelivered:
            self._undelivered.discard(id(item))
            return
        if (leases := self._leases()) is not None:
            leases.item_done(item)

    async def process_item(self, item, spider=None):
        data = pickle.dumps(item, protocol=5)
        leases = self._leases()
        if leases is not None:
            await self._output_ended(leases, item)
        while True:
            try:
                # decided just before the script runs: the request's callback may end meanwhile
                lease = leases.finished_by(item) if leases is not None else None
                keys = [self.keys.items, self.keys.leases, self.keys.lease_priority]
                if self._add(keys=keys, args=[self.max_items, data, lease or b""]) is None:
                    self.crawler.stats.inc_value("distributed/backpressure_waits")
                    await pause(0.1)
                    continue
                break
            except redis.RedisError as exc:
                if self.outage.failed(exc):
                    self._undelivered.add(id(item))
                    raise DropItem(f"Redis lost for over {self.outage.wait_secs:g} s: not handed to the writer (its request stays leased)") from exc
                await pause(0.5)
        self.outage.ok()
        self.crawler.stats.inc_value("distributed/streamed")
        if leases is not None:
            leases.item_done(item, acknowledged=lease is not None)
        return item

    @staticmethod
    async def _output_ended(leases: Leases, item: Any) -> None:
        """Wait, :data:`OUTPUT_WAIT_SECS` at most, until the callback that produced ``item``
        has ended, so that the item (its request's last) enters the stream in the same step
        as its lease's acknowledgement. Otherwise a worker killed between the two leaves the
        item stored and its request leased, fetched again when the lease runs out: stored
        twice (a section page, whose item comes before the links it follows)."""
        deadline = time.monotonic() + OUTPUT_WAIT_SECS
        while leases.producing(item) and time.monotonic() < deadline:
            await pause(0.01)


class PublishedTemplatePipeline:
    """Workers' stage 0: each article candidate gets its site's template as the writer
    published it (``P:templates``: site -> the stored JSON), read once per site."""

    def __init__(self, server: redis.Redis, keys: Keys) -> None:
        self.server = server
        self.keys = keys
        self._by_site: dict[str, Template | None] = {}

    @classmethod
    def from_crawler(cls, crawler) -> PublishedTemplatePipeline:
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured()
        return cls(redis.Redis.from_url(crawler.settings.get("REDIS_URL")), Keys(crawler.settings.get("ARCHIVE_REDIS_PREFIX")))

    def process_item(self, item, spider=None):
        if not isinstance(item, PageItem) or item.role not in EXTRACT_ROLES or item.error or item.status == 304:
            return item
        if item.site not in self._by_site:
            data = self.server.hget(self.keys.templates, item.site)
            self._by_site[item.site] = Template.from_json(pickle.loads(data)) if data else None
        if (template := self._by_site[item.site]) is not None:
            item.options = replace(item.options, template=template)
        return item


def config_version(config: CrawlConfig) -> str:
    """A short digest of the config text: the version of the sources' settings a run publishes."""
    return hashlib.sha256(config.text.encode("utf-8")).hexdigest()[:16]


@dataclass
class WriterRun:
    """What the writer did: ``status`` (``finished``, ``interrupted``, ``storage_error``),
    the stats (as a crawl's), and the wall-clock ``seconds``."""

    crawl_id: int
    status: str
    stats: dict[str, Any]
    seconds: float

    def count(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)


class Writer:
    """The archive writer of a distributed crawl: the only process that opens the archive.

    Args:
        server: the Redis client (:func:`crawler.distributed.connect`).
        db_path: the archive.
        config_path: the sources (TOML); its text is published for the workers.
        crawl_id: the ``crawls`` row the caller started.
        settings: Scrapy settings of the run (``crawler.settings`` with the CLI's on top).
        prefix: the Redis keys' prefix.
        revisit: ``yes``, ``only`` or ``no`` (as the ``news`` spider).
    """

    def __init__(self, server: redis.Redis, db_path: str, config_path: str, crawl_id: int, settings, *,
                 prefix: str = "newsarchive", revisit: str = "yes") -> None:
        self.server = server
        self.db_path = db_path
        self.keys = Keys(prefix)
        self.stats = Stats()
        self.settings = settings
        self.crawler = crawler_for(NewsSpider, settings, config=config_path, revisit=revisit)
        self.spider: NewsSpider = self.crawler.spider
        self.config = self.spider.crawl_config
        share_run_counts(self.spider, server, self.keys)  # the frontier's leftovers count against the caps
        self.crawl_id = crawl_id
        #: URLs of articles stored since the last acknowledgement, for ``P:known``
        self._known: list[str] = []
        #: whether this writer may have read entries it did not acknowledge
        self._pending = True
        self.leases = Leases(server, self.keys, settings.getfloat("ARCHIVE_REDIS_LEASE_SECS"))
        self.store = StorePipeline(db_path, command="crawl", crawl_id=crawl_id,
                                   steps=parse_revisit_steps(list(self.config.revisit_steps)))
        self.store.stats = self.stats
        self.version = VersionPipeline(db_path, stats=self.stats)
        self.identify = IdentifyPipeline()
        # the config's [crawl] warc (set on the settings by the news spider): as a crawl does
        warc = self.crawler.settings.get("ARCHIVE_WARC")
        self.warc = WarcPipeline(warc, db_path) if warc else None

    # -- the run ---------------------------------------------------------------------

    def run(self) -> WriterRun:
        """Publish, seed, store until the queue, the leases and the stream are empty.

        Raises:
            redis.RedisError: Redis was lost (the run is recorded ``interrupted``).
        """
        started = time.monotonic()
        self.store.open_spider()
        self.version.open_spider()
        if self.warc is not None:
            self.warc.open_spider()
        status = "finished"
        try:
            self._ensure_group()
            self.drain(final=True)  # entries a writer killed earlier did not finish
            self.server.delete(*self.keys.working())
            self._clear_robots()
            self.publish()
            self.seed()
            self.server.hset(self.keys.run, "state", "running")
            outage = RedisOutage(self.settings.getfloat("ARCHIVE_REDIS_WAIT_SECS"))
            reaped = 0.0
            while True:
                try:
                    # done when a read found nothing new and nothing is queued, leased or streamed
                    if not self.drain() and self._all_done():
                        break
                    if time.monotonic() - reaped >= REAP_SECS:
                        self.stats.inc_value("distributed/reaped", self.leases.reap())
                        reaped = time.monotonic()
                    outage.ok()
                except redis.RedisError as exc:
                    if outage.failed(exc):
                        raise
                    time.sleep(0.5)
            self.server.hset(self.keys.run, "state", "done")
            learned = learn_due(self.store.archive, self.settings.getint("ARCHIVE_TEMPLATE_MIN_STORIES"))
            self.stats.set_value("template/learned", len(learned))
        except DropItem:
            status = "storage_error"
            raise
        except BaseException:
            status = "interrupted"
            raise
        finally:
            self.add_worker_stats(STATS_WAIT_SECS if status == "finished" else 0.0)
            self.spider.closed(status)  # its own reading connection to the archive
            self.version.close_spider()
            if self.warc is not None:
                self.warc.close_spider()
            self.stats.set_value("finish_reason", status)
            self.store.spider_closed(None, status)
        return WriterRun(self.crawl_id, status, dict(self.stats), time.monotonic() - started)

    def add_worker_stats(self, wait_secs: float) -> None:
        """Add the counters the workers published for this run (:class:`crawler.distributed.WorkerStats`)
        to the run's stats, under their own names (``downloader/response_count``,
        ``retry/count``, ``distributed/host_waits``...), summed over the workers
        (:func:`crawler.distributed.add_up`), and record how many workers took part
        (``distributed/workers``). A finished run first waits up
        to ``wait_secs`` seconds for the workers' last counters (they stop once the run is
        done), then deletes them from Redis; an interrupted one takes what is there. Without
        Redis, the record keeps the writer's stats alone (logged)."""
        try:
            published = published_worker_stats(self.server, self.keys, self.crawl_id, wait_secs)
            if wait_secs:
                self.server.delete(self.keys.worker_stats(self.crawl_id), self.keys.worker_stats_times(self.crawl_id))
        except redis.RedisError as exc:
            logger.warning("the workers' stats could not be read (%s): the run records the writer's alone", exc)
            return
        add_up(self.stats, published)

    def _ensure_group(self) -> None:
        try:
            self.server.xgroup_create(self.keys.items, WRITER_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _clear_robots(self) -> None:
        for pattern in (self.keys.robots("*"), self.keys.robots_lock("*")):
            for key in self.server.scan_iter(match=pattern, count=1000):
                self.server.delete(key)

    def publish(self) -> None:
        """The run for the workers: code version, config text and its version, templates,
        the URLs that name known articles."""
        archive = self.store.archive
        templates = {}
        for source in self.config.sources:
            data = archive.template(source.name)
            if data is not None:
                templates[source.name] = pickle.dumps(data)
        batch: list[str] = []
        for url in archive.known_urls():
            batch.append(url)
            if len(batch) >= 10_000:
                self.server.sadd(self.keys.known, *batch)
                batch = []
        if batch:
            self.server.sadd(self.keys.known, *batch)
        self.server.delete(self.keys.templates)
        if templates:
            self.server.hset(self.keys.templates, mapping=templates)
        self.server.hset(self.keys.run, mapping={
            "code_version": __version__, "config": self.config.text, "config_version": config_version(self.config),
            "templates_version": hashlib.sha256(b"".join(templates[k] for k in sorted(templates))).hexdigest()[:16],
            "crawl_id": self.crawl_id, "state": "seeding",
        })

    def seed(self) -> None:
        """The news spider's start (frontier leftovers, due revisits, feeds, sitemaps,
        section pages) into the queue; its failure records straight to the archive."""
        requests = queue(self.server, self.spider, self.keys)
        seen = seen_filter(self.server, self.keys)

        async def collect() -> list[Any]:
            return [o async for o in self.spider.start()]

        seeded = 0
        for o in asyncio.run(collect()):
            if isinstance(o, FailureItem):
                self.store_item(o)
            elif o.dont_filter or not seen.request_seen(o):
                requests.push(o)
                seeded += 1
        self.stats.set_value("distributed/seeded", seeded)
        for key, value in self.crawler.stats.get_stats().items():
            self.stats.setdefault(key, value)

    def _all_done(self) -> bool:
        pipe = self.server.pipeline(transaction=True)
        pipe.zcard(self.keys.queue).zcard(self.keys.leases).xlen(self.keys.items)
        return not any(pipe.execute())

    # -- the stream ------------------------------------------------------------------

    def drain(self, final: bool = False) -> int:
        """Store what the stream holds: first this writer's pending entries (read, not
        acknowledged: at the start, or after a drain that did not end), then new ones. The
        entries of one read are acknowledged together (``XACK`` and ``XDEL`` in one
        transaction) once each is committed, with the URLs the stored articles made known
        (``P:known``). With ``final``, until nothing is left; else one read (blocking
        ``READ_BLOCK_MS``). Returns how many entries were handled."""
        done = 0
        starts = ("0", ">") if final or self._pending else (">",)
        self._pending = True  # until this drain ends, entries it read may stay pending
        for start in starts:
            while True:
                answer = self.server.xreadgroup(WRITER_GROUP, "archive", {self.keys.items: start}, count=READ_COUNT,
                                                block=None if start == "0" else READ_BLOCK_MS)
                entries = answer[0][1] if answer else []
                handled = [i for i, f in entries if not f]  # deleted entries come back empty: acknowledged again
                try:
                    for entry_id, fields in entries:
                        if fields:
                            self.handle(fields)
                            handled.append(entry_id)
                except BaseException:
                    with contextlib.suppress(redis.RedisError):
                        self._acknowledge(handled)  # the ones committed before
                    raise
                self._acknowledge(handled)
                done += len(entries)
                if not entries or not final and start == ">":
                    break
        self._pending = False
        return done

    def _acknowledge(self, entry_ids: list[bytes]) -> None:
        """Entries committed: acknowledged and deleted at once (an entry acknowledged but
        left in the stream would keep the run from ending), with the URLs made known."""
        if not entry_ids and not self._known:
            return
        pipe = self.server.pipeline(transaction=True)
        if entry_ids:
            pipe.xack(self.keys.items, WRITER_GROUP, *entry_ids).xdel(self.keys.items, *entry_ids)
        if self._known:
            # known from now on, as in one process (a URL discovered later is not fetched again)
            pipe.sadd(self.keys.known, *self._known)
        pipe.execute()
        self._known = []

    def handle(self, fields: dict[bytes, bytes]) -> None:
        kind, data = fields[b"kind"], pickle.loads(fields[b"data"])
        if kind == b"frontier":
            # counted as one process counts them: URLs requested now, or held back for a later run (over a cap)
            counted = "frontier/added" if data[0].get("fetch", True) else "frontier/held_back"
            self.stats.inc_value(counted, self.store.archive.frontier_add(data))
        elif kind == b"entry":  # a source's feed, sitemap or start page read, or not (a worker's)
            self.spider._entry_point(*data)
            self.stats.set_value("discovery/unreadable", self.crawler.stats.get_value("discovery/unreadable"))
        else:
            self.store_item(data)

    def store_item(self, item: Any) -> Any:
        """identify -> version -> store, as a crawl's pipelines do (extraction was the worker's).

        Raises:
            DropItem: the archive could not be written.
        """
        if isinstance(item, PageItem) and self.store.archive.has_capture(item.url, item.final_url, item.fetched_at):
            self.stats.inc_value("distributed/duplicates")
            return item  # stored before a writer stopped without acknowledging it
        for stage in (self.identify, self.version):
            item = stage.process_item(item)
        item = self.store.process_item(item)
        if self.warc is not None:
            item = self.warc.process_item(item)
        if isinstance(item, PageItem) and item.canonical_url and item.outcome in ("new", "changed", "unchanged"):
            self._known += [item.canonical_url, *(url for url, _ in item.aliases)]  # published with the acknowledgement
        return item
