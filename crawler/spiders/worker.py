"""The ``news`` spider as a worker of a distributed crawl (:mod:`crawler.distributed`).

The same discovery and fetching as :class:`~crawler.spiders.news.NewsSpider`, except that:
its config is the text the archive writer published in Redis (never a local file); its
requests come from the shared queue in Redis (the writer seeds it from the archive's
frontier, due revisits and the sources' feeds, sitemaps and section pages), so it starts
none itself; it has no archive: the URLs it discovers go to the writer through the item
stream (:class:`crawler.distributed.RedisFrontier`), and a URL's discovery hints travel in
its request (another worker may fetch it). It stops when the writer says the run is done.
"""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Response
from twisted.internet import task

from archive.urls import normalize_url
from crawler.config import CrawlConfig, parse_config
from crawler.scrapy_internals import wake_engine
from crawler.spiders.news import NewsSpider
from crawler.stopping import RunStopped

if TYPE_CHECKING:
    from crawler.distributed import RedisFrontier

# redis and crawler.distributed are imported when a worker starts, not with this module:
# Scrapy's spider loader imports every spider module for every command (crawl, archive,
# ...), and they cost about 0.1 s of CPU at each start

#: how often an idle worker looks at the queue again, seconds (Scrapy's engine: every 5 s)
IDLE_POLL_SECS = 0.1


class WorkerSpider(NewsSpider):
    """Args: ``config_text`` (the published TOML), ``redis_url``, ``prefix`` (the keys')."""

    name = "worker"
    takes_lock = False

    def __init__(self, config_text: str = "", redis_url: str = "", prefix: str = "newsarchive", **kwargs: Any) -> None:
        import redis

        from crawler.distributed import Keys, RedisFrontier, share_run_counts

        self._config_text = config_text
        super().__init__(config="<published by the writer>", revisit="no", **kwargs)
        self.server = redis.Redis.from_url(redis_url)
        self.keys = Keys(prefix)
        self.redis_frontier = RedisFrontier(self.server, self.keys)
        share_run_counts(self, self.server, self.keys)
        #: set by crawler.distributed.LeasedScheduler when it opens
        self.leases = None
        #: set by the scheduler when Redis failed for longer than ARCHIVE_REDIS_WAIT_SECS
        self.redis_lost = False
        self._poll = None

    def load_crawl_config(self, config: str) -> CrawlConfig:
        return parse_config(self._config_text, "the config published in Redis")

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> WorkerSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.spider_opened, signal=signals.spider_opened)
        return spider

    def spider_opened(self, spider: Any = None) -> None:
        self._poll = task.LoopingCall(wake_engine, self.crawler)
        self._poll.start(IDLE_POLL_SECS, now=False)

    def spider_idle(self, spider: Any = None) -> None:
        """Close once the writer marked the run done and nothing is left (reason
        ``finished``), or once Redis has been lost longer than ``ARCHIVE_REDIS_WAIT_SECS``
        (reason ``redis_lost``); else wait."""
        import redis

        if self.redis_lost:
            raise CloseSpider("redis_lost")
        try:
            done = self.server.hget(self.keys.run, "state") == b"done" and not self.server.zcard(self.keys.queue)
        except redis.RedisError:
            done = False  # the scheduler counts the outage
        if done:
            if self._poll is not None and self._poll.running:
                self._poll.stop()
            return
        raise DontCloseSpider()

    def _entry_point(self, source: str, failed: str | None = None) -> None:
        """As the news spider's, and told to the writer too (through the stream): it keeps
        the run's ``discovery/unreadable`` (``crawl --strict``) for the whole cluster."""
        super()._entry_point(source, failed)
        self.server.xadd(self.keys.items, {"kind": "entry", "data": pickle.dumps((source, failed))})

    def is_known(self, url: str, source: Any) -> bool:
        """Whether ``url`` names an article of the archive, as the writer published them
        (``P:known``), as given or normalised (:func:`archive.urls.normalize_url`)."""
        spellings = [url]
        try:
            spellings.append(normalize_url(url))
        except ValueError:
            pass
        if not any(self.server.smismember(self.keys.known, spellings)):
            return False
        self.crawler.stats.inc_value("discovery/known")
        return True

    @property
    def archive(self):
        return None  # the writer's alone

    @property
    def frontier_archive(self) -> RedisFrontier:
        return self.redis_frontier

    async def start(self) -> AsyncIterator[Any]:
        return
        yield  # an async generator that yields nothing: the queue is in Redis

    def hints_for(self, response: Response) -> dict:
        return super().hints_for(response) or dict(response.meta.get("hints") or {})

    def on_error(self, failure) -> Iterator[Any]:
        """The news spider's failure records, counted against the request's lease (an
        errback's output passes no spider middleware); a request not fetched because this
        worker is stopping goes back to the queue at once."""
        from crawler.distributed import LEASE

        lease = failure.request.meta.get(LEASE) if failure.request is not None else None
        if lease is None or self.leases is None:
            yield from super().on_error(failure)
            return
        if failure.check(RunStopped):
            self.leases.release([lease])
            return
        try:
            for o in super().on_error(failure):
                if not isinstance(o, Request):
                    self.leases.track(lease, o)
                yield o
        finally:
            self.leases.output_done(lease)
