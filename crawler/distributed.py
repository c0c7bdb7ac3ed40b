"""A crawl shared by many workers over Redis: the working queue, leases, host politeness.

One archive writer (``newsarchive crawl --redis URL``) seeds the queue and stores what the
workers (``newsarchive worker --redis URL``, any number, on any machine) fetch and extract.
What lives in Redis, under one key prefix (``ARCHIVE_REDIS_PREFIX``, default ``newsarchive``):

- ``P:queue``: the working queue, scrapy-redis's ``PriorityQueue`` (a sorted set of pickled
  request dicts, ``Request.to_dict``); ``P:seen``: the seen-set, scrapy-redis's
  ``RFPDupeFilter`` (revisits bypass it: ``dont_filter``).
- ``P:leases``: requests a worker took and has not finished, a sorted set scored by the
  lease's deadline (Redis ``TIME``, milliseconds); ``P:lease-priority`` keeps each one's
  queue score. A worker renews its leases while it works on them; a lease that ran out
  (its worker died) goes back to the queue (:meth:`Leases.reap`). A request's lease is
  acknowledged only once everything its answer produced is in Redis: its new requests in
  the queue, its items in the stream.
- ``P:host:<host>``: a host's lease (``SET NX PX``): the one request to that host in flight
  in the whole cluster (its value: the request's token, then ``delay``); released after
  the host's delay (Scrapy's slot delay: the crawl's delay, robots.txt ``Crawl-delay``,
  ``Retry-After``), so that the next request to the host, from any worker, waits for it.
- ``P:robots:<host:port>``: the robots.txt answer of a host, fetched by one worker per run
  (``P:robots-lock:<host:port>`` while it does) and read by the others.
- ``P:known``: every URL naming an article of the archive (canonical URLs, aliases),
  published by the writer and kept up to date as it stores: a worker does not fetch a
  discovered URL the archive knows (revisits handle those), as a single process does not.
- ``P:queued``, ``P:queued-per-source``, ``P:sitemaps``: the news spider's per-run caps
  (new URLs per source, sitemaps per source), counted for the whole cluster
  (:func:`share_run_counts`).
- ``P:items``: the stream of items (pickled) and frontier rows, read by the writer's
  consumer group ``writer``; ``P:run``: the run (code version, config text, state);
  ``P:templates``: the sites' templates, published by the writer.
- ``P:worker-stats:<crawl id>``: each worker's Scrapy stats counters for the crawl (a hash:
  worker -> JSON; ``P:worker-stats:<crawl id>:at``, a sorted set: when each published),
  published every ``STATS_SECS`` and when it stops (:class:`WorkerStats`); the writer adds
  them up into the crawl's record (:func:`published_worker_stats`, :func:`add_up`).

Redis structures only: no broker of our own. Times are Redis's (``TIME``), so the
machines' clocks need not agree.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import socket
import time
import uuid
from typing import Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task
from twisted.internet.defer import DeferredLock

from archive.urls import redact_credentials
from crawler.politeness import RobotsTxtRFC9309Middleware, retry_after_secs
from crawler.scrapy_internals import download_slot
from crawler.stopping import RunStopped

logger = logging.getLogger(__name__)

#: request meta key: the queue entry a worker leased (bytes)
LEASE = "redis_lease"
#: the consumer group of the archive writer on the item stream
WRITER_GROUP = "writer"
#: how often a worker polls for a host's lease, or for a robots.txt another worker fetches, seconds
POLL_SECS = 0.05
#: how long a worker waits for another worker's robots.txt fetch before fetching it itself, seconds
ROBOTS_WAIT_SECS = 60.0
#: how often a worker publishes its stats, seconds (:class:`WorkerStats`); one that has not
#: published for three times this is taken as gone (killed) with what it published last
STATS_SECS = 2.0
#: how long the writer of a finished run waits for the workers' last stats, at most, seconds
STATS_WAIT_SECS = 30.0
#: how long a worker's published stats stay in Redis, seconds (the writer of a finished run
#: deletes them once recorded)
STATS_KEEP_SECS = 86400


async def pause(seconds: float) -> None:
    """Wait ``seconds`` without blocking the reactor (imported here, not at import time: the
    crawl installs its own reactor first)."""
    from twisted.internet import reactor

    await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))


class RedisUnavailable(Exception):
    """Redis could not be reached (the message names the URL, without its password)."""


class RedisOutage:
    """How long Redis has been failing, against the wait allowed (``ARCHIVE_REDIS_WAIT_SECS``).

    Call :meth:`failed` on each error and :meth:`ok` on each success; :meth:`failed` is
    true once Redis has failed for longer than the wait (give up then).
    """

    def __init__(self, wait_secs: float) -> None:
        self.wait_secs = wait_secs
        self.since: float | None = None

    def failed(self, exc: Exception) -> bool:
        now = time.monotonic()
        if self.since is None:
            self.since = now
            logger.warning("Redis is not answering (%s): waiting up to %g s", exc, self.wait_secs)
        return now - self.since > self.wait_secs

    def ok(self) -> None:
        if self.since is not None:
            logger.warning("Redis answers again after %.1f s", time.monotonic() - self.since)
        self.since = None


def connect(url: str, timeout_secs: float = 5.0) -> redis.Redis:
    """A Redis client for ``url`` (``redis://host:port/db``), checked with ``PING``.

    Raises:
        RedisUnavailable: no answer within ``timeout_secs`` seconds, or refused.
    """
    try:
        server = redis.Redis.from_url(url, socket_connect_timeout=timeout_secs, socket_timeout=max(timeout_secs, 30.0))
    except ValueError as exc:  # redis-py's own check of the URL
        raise RedisUnavailable(f"not a Redis URL: {redact_credentials(url)}: {exc}") from exc
    try:
        server.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise RedisUnavailable(f"cannot reach Redis at {redact_credentials(url)}: {exc}") from exc
    return server


class Keys:
    """The Redis key names of one distributed crawl (see the module's docstring)."""

    def __init__(self, prefix: str = "newsarchive") -> None:
        self.prefix = prefix
        self.queue = f"{prefix}:queue"
        self.seen = f"{prefix}:seen"
        self.leases = f"{prefix}:leases"
        self.lease_priority = f"{prefix}:lease-priority"
        self.items = f"{prefix}:items"
        self.run = f"{prefix}:run"
        self.templates = f"{prefix}:templates"
        self.known = f"{prefix}:known"
        self.queued = f"{prefix}:queued"
        self.queued_per_source = f"{prefix}:queued-per-source"
        self.sitemaps = f"{prefix}:sitemaps"

    def host(self, host: str) -> str:
        return f"{self.prefix}:host:{host}"

    def robots(self, netloc: str) -> str:
        return f"{self.prefix}:robots:{netloc}"

    def robots_lock(self, netloc: str) -> str:
        return f"{self.prefix}:robots-lock:{netloc}"

    def worker_stats(self, crawl_id: int | str) -> str:
        return f"{self.prefix}:worker-stats:{crawl_id}"

    def worker_stats_times(self, crawl_id: int | str) -> str:
        return f"{self.prefix}:worker-stats:{crawl_id}:at"

    def working(self) -> list[str]:
        """The keys a new run starts without (its queue, seen-set and leases)."""
        return [self.queue, self.seen, self.leases, self.lease_priority, self.known,
                self.queued, self.queued_per_source, self.sitemaps]


def queue(server: redis.Redis, spider: Any, keys: Keys) -> PriorityQueue:
    """scrapy-redis's priority queue at ``keys.queue`` (requests pickled with their
    callbacks named as methods of ``spider``)."""
    return PriorityQueue(server=server, spider=spider, key=keys.queue)


def seen_filter(server: redis.Redis, keys: Keys) -> RFPDupeFilter:
    """scrapy-redis's seen-set at ``keys.seen``."""
    return RFPDupeFilter(server, key=keys.seen)


_NOW_MS = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
# KEYS: queue, leases, lease-priority; ARGV: lease ms. The queue's lowest entry, leased.
_POP = _NOW_MS + """
local e = redis.call('ZPOPMIN', KEYS[1])
if #e == 0 then return false end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), e[1])
redis.call('HSET', KEYS[3], e[1], e[2])
return e[1]
"""
# KEYS: queue, leases, lease-priority; ARGV: members. Back to the queue (a worker stops).
_RELEASE = """
local n = 0
for _, m in ipairs(ARGV) do
  if redis.call('ZREM', KEYS[2], m) == 1 then
    redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[3], m) or 0, m)
    n = n + 1
  end
  redis.call('HDEL', KEYS[3], m)
end
return n
"""
# KEYS: queue, leases, lease-priority. Leases past their deadline, back to the queue.
_REAP = _NOW_MS + """
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, m in ipairs(gone) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[3], m) or 0, m)
  redis.call('HDEL', KEYS[3], m)
end
return #gone
"""
# KEYS: leases; ARGV: lease ms, members. Still-held leases pushed back.
_RENEW = _NOW_MS + """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return #ARGV - 1
"""
#: a host lease's value while it only keeps the host's delay (its request answered)
HOST_DELAY = "delay"
# KEYS: host key; ARGV: token, ms. The holder's lease kept ms more (then it expires), or dropped.
_HOST_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], '""" + HOST_DELAY + """', 'PX', ARGV[2]) else redis.call('DEL', KEYS[1]) end
  return 1
end
return 0
"""
# KEYS: host key; ARGV: token, ms. -1: taken; else the ms left of another's delay, or -2 (a request in flight).
_HOST_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
if redis.call('GET', KEYS[1]) == '""" + HOST_DELAY + """' then
  local left = redis.call('PTTL', KEYS[1])
  if left >= 0 then return left end
end
return -2
"""


# KEYS: host key; ARGV: token, ms. The holder's lease extended while its request is in flight.
_HOST_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: worker-stats hash, its publication times (sorted set); ARGV: worker, JSON, ms to keep.
_PUBLISH_STATS = _NOW_MS + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""
# KEYS: worker-stats hash, its publication times. Both, and Redis's time now (ms).
_READ_STATS = _NOW_MS + """
return {redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'), now}
"""


class Leases:
    """The requests this worker leased from the queue, and when each is finished.

    A request is finished when its callback (or errback) has produced all its output and
    every item of it has been handed to the stream (:meth:`item_done`); then its lease is
    acknowledged (removed). A request replaced by another (a redirect, a retry) is
    acknowledged when its successor is queued.

    Args:
        server: the Redis client.
        keys: the crawl's key names.
        lease_secs: how long a lease lasts without renewal, seconds (a dead worker's
            requests return to the queue after this).
    """

    def __init__(self, server: redis.Redis, keys: Keys, lease_secs: float) -> None:
        self.server = server
        self.keys = keys
        self.lease_ms = int(lease_secs * 1000)
        self.held: set[bytes] = set()
        self._items: dict[bytes, int] = {}
        self._by_item: dict[int, bytes] = {}
        self._open: set[bytes] = set()
        self._pop = server.register_script(_POP)
        self._release = server.register_script(_RELEASE)
        self._reap = server.register_script(_REAP)
        self._renew = server.register_script(_RENEW)

    def _queue_keys(self) -> list[str]:
        return [self.keys.queue, self.keys.leases, self.keys.lease_priority]

    def pop(self) -> bytes | None:
        """Lease the queue's first entry; ``None`` when the queue is empty."""
        member = self._pop(keys=self._queue_keys(), args=[self.lease_ms])
        if member is not None:
            self.held.add(member)
            self._open.add(member)
        return member

    def track(self, lease: bytes, item: Any) -> None:
        """``item`` was produced by the leased request: it must reach the stream first."""
        self._items[lease] = self._items.get(lease, 0) + 1
        self._by_item[id(item)] = lease

    def output_done(self, lease: bytes) -> None:
        """The leased request's callback produced its last output."""
        self._open.discard(lease)
        if not self._items.get(lease):
            self.ack(lease)

    def producing(self, item: Any) -> bool:
        """Whether the leased request that produced ``item`` is still producing output (its
        callback has not ended: a section page's item comes before the links it follows)."""
        lease = self._by_item.get(id(item))
        return lease is not None and lease in self._open

    def finished_by(self, item: Any) -> bytes | None:
        """The lease that ``item`` reaching the stream finishes (its request's last item, its
        callback done), to be acknowledged with it (:class:`pipelines.distributed.StreamPipeline`); else ``None``."""
        lease = self._by_item.get(id(item))
        if lease is None or lease in self._open or self._items.get(lease, 0) > 1:
            return None
        return lease

    def item_done(self, item: Any, acknowledged: bool = False) -> None:
        """``item`` is in the stream (or was dropped); ``acknowledged``: with the lease it
        finished (:meth:`finished_by`) removed in the same step."""
        lease = self._by_item.pop(id(item), None)
        if lease is None:
            return
        left = self._items[lease] = self._items.get(lease, 1) - 1
        if left <= 0 and lease not in self._open:
            if acknowledged:
                self.held.discard(lease)
                self._items.pop(lease, None)
            else:
                self.ack(lease)

    def ack(self, lease: bytes) -> None:
        """The leased request is finished: forget its lease."""
        self.held.discard(lease)
        self._open.discard(lease)
        self._items.pop(lease, None)
        pipe = self.server.pipeline()
        pipe.zrem(self.keys.leases, lease)
        pipe.hdel(self.keys.lease_priority, lease)
        try:
            pipe.execute()
        except redis.RedisError as exc:
            # the lease runs out and another worker fetches the request again: once more, never lost
            logger.warning("cannot acknowledge a finished request (%s): it will be fetched again", exc)

    def release(self, leases: list[bytes] | None = None) -> int:
        """Put leased requests (default: all this worker holds) back in the queue now."""
        members = list(self.held if leases is None else leases)
        for m in members:
            self.held.discard(m)
            self._open.discard(m)
            self._items.pop(m, None)
        if not members:
            return 0
        try:
            return self._release(keys=self._queue_keys(), args=members)
        except redis.RedisError as exc:
            logger.warning("cannot return %d leased request(s) to the queue (%s): they return when their leases run out", len(members), exc)
            return 0

    def renew(self) -> None:
        """Push back the deadline of every lease this worker holds."""
        if self.held:
            self._renew(keys=[self.keys.leases], args=[self.lease_ms, *self.held])

    def reap(self) -> int:
        """Return every lease past its deadline (its worker died) to the queue; how many."""
        return self._reap(keys=self._queue_keys())


class LeasedScheduler(Scheduler):
    """scrapy-redis's scheduler (its priority queue and seen-set in Redis), except that a
    request taken from the queue is leased, not removed, until it is finished
    (:class:`Leases`); leases are renewed every third of ``ARCHIVE_REDIS_LEASE_SECS``, and
    expired ones (of dead workers) returned to the queue. On close, the requests still
    leased go back to the queue.

    Settings: ``REDIS_URL``, ``ARCHIVE_REDIS_PREFIX``, ``ARCHIVE_REDIS_LEASE_SECS``,
    ``DUPEFILTER_CLASS`` = ``scrapy_redis.dupefilter.RFPDupeFilter``.
    """

    @classmethod
    def from_crawler(cls, crawler) -> LeasedScheduler:
        settings = crawler.settings
        instance = cls.from_settings(settings)
        instance.stats = crawler.stats
        instance.keys = Keys(settings.get("ARCHIVE_REDIS_PREFIX"))
        instance.queue_key, instance.dupefilter_key = instance.keys.queue, instance.keys.seen
        instance.leases = Leases(instance.server, instance.keys, settings.getfloat("ARCHIVE_REDIS_LEASE_SECS"))
        instance._renewal = task.LoopingCall(instance._renew)
        instance.outage = RedisOutage(settings.getfloat("ARCHIVE_REDIS_WAIT_SECS"))
        return instance

    def open(self, spider) -> None:
        # scrapy-redis's open, without its log line through the deprecated Spider.log()
        self.spider = spider
        self.queue = queue(self.server, spider, self.keys)
        if not self.df:
            self.df = seen_filter(self.server, self.keys)
        spider.leases = self.leases
        self._renewal.start(max(self.leases.lease_ms / 3000, 0.1), now=False)
        from twisted.internet import reactor

        # also when a stop abandons downloads under way (crawler.stopping): the spider does not close then
        reactor.addSystemEventTrigger("before", "shutdown", self._return_leases)

    def _return_leases(self) -> None:
        returned = self.leases.release()
        if returned:
            logger.info("%d leased request(s) returned to the queue", returned)

    def _renew(self) -> None:
        try:
            self.leases.renew()
            self.leases.reap()
        except redis.RedisError as exc:
            logger.warning("cannot renew this worker's leases: %s", exc)

    def close(self, reason) -> None:
        if self._renewal.running:
            self._renewal.stop()
        self._return_leases()

    def enqueue_request(self, request: Request) -> bool:
        # a redirect or a retry replaces the leased request it came from
        replaced = request.meta.pop(LEASE, None)
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.stats.inc_value("dupefilter/filtered")  # as Scrapy's own seen-set counts it (RFPDupeFilter.log)
                return False
            self.queue.push(request)
            self.stats.inc_value("scheduler/enqueued/redis")
            return True
        finally:
            if replaced is not None:
                self.leases.ack(replaced)

    def next_request(self) -> Request | None:
        try:
            member = self.leases.pop()
        except redis.RedisError as exc:
            if self.outage.failed(exc):
                self.spider.redis_lost = True  # the spider closes at its next idle
            return None
        self.outage.ok()
        if member is None:
            return None
        request = self.queue._decode_request(member)
        request.meta[LEASE] = member
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        try:
            pending = len(self.queue) > 0
        except redis.RedisError as exc:
            if self.outage.failed(exc):
                self.spider.redis_lost = True
            return False  # idle: the spider waits, or closes once Redis is lost for good
        self.outage.ok()
        return pending


class LeaseMiddleware:
    """Spider middleware (outermost): counts the items a leased request's answer produced,
    so that its lease is acknowledged once they are all in the stream (:class:`Leases`)."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> LeaseMiddleware:
        return cls(crawler)

    def _leases(self) -> Leases | None:
        return getattr(self.crawler.spider, "leases", None)

    def process_spider_output(self, response, result, spider=None):
        lease, leases = response.meta.get(LEASE), self._leases()
        try:
            for o in result:
                if lease is not None and leases is not None and not isinstance(o, Request):
                    leases.track(lease, o)
                yield o
        finally:
            if lease is not None and leases is not None:
                leases.output_done(lease)

    async def process_spider_output_async(self, response, result, spider=None):
        lease, leases = response.meta.get(LEASE), self._leases()
        try:
            async for o in result:
                if lease is not None and leases is not None and not isinstance(o, Request):
                    leases.track(lease, o)
                yield o
        finally:
            if lease is not None and leases is not None:
                leases.output_done(lease)


class HostLeaseMiddleware:
    """Downloader middleware: at most one request at a time per host in the whole cluster,
    and the host's delay between two of them, whichever worker sends them.

    Nearest the download (``DOWNLOADER_MIDDLEWARES`` 990), so that it sees every answer and
    error first, retries included. Before a request goes out its worker takes the host's lease in Redis (``SET NX PX``,
    waiting while another worker holds it: until what is left of the host's delay has
    passed, or :data:`POLL_SECS` at a time while another request is in flight); when the
    answer (or the error) comes back the lease is kept for the host's delay (its value
    then :data:`HOST_DELAY`), then expires: the host's download slot delay,
    which Scrapy, AutoThrottle and :class:`crawler.politeness.HostPacing` keep at least the
    crawl's delay, the robots.txt Crawl-delay and a Retry-After. A lease lasts
    ``ARCHIVE_REDIS_LEASE_SECS`` and its worker renews it while the request is in flight:
    a dead worker's lease expires after that.

    Settings: ``REDIS_URL``, ``ARCHIVE_REDIS_PREFIX``; off (:class:`NotConfigured`) without ``REDIS_URL``.
    Stats: ``distributed/host_waits`` (requests that waited for another worker's lease).
    """

    def __init__(self, crawler, server: redis.Redis, keys: Keys) -> None:
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.hold_ms = int(crawler.settings.getfloat("ARCHIVE_REDIS_LEASE_SECS") * 1000)
        self.outage = RedisOutage(crawler.settings.getfloat("ARCHIVE_REDIS_WAIT_SECS"))
        self._release = server.register_script(_HOST_RELEASE)
        self._renew = server.register_script(_HOST_RENEW)
        self._take_script = server.register_script(_HOST_TAKE)
        #: host key -> this worker's token, for the requests in flight
        self.held: dict[str, str] = {}
        #: host key -> the lock this worker's requests to the host take in turn
        self._local: dict[str, DeferredLock] = {}
        self._renewal = task.LoopingCall(self.renew)

    def renew(self) -> None:
        """Keep this worker's host leases while their requests are in flight."""
        for key, token in list(self.held.items()):
            try:
                self._renew(keys=[key], args=[token, self.hold_ms])
            except redis.RedisError as exc:
                logger.warning("cannot renew the lease of %s: %s", key, exc)

    @classmethod
    def from_crawler(cls, crawler) -> HostLeaseMiddleware:
        url = crawler.settings.get("REDIS_URL")
        if not url:
            raise NotConfigured()
        return cls(crawler, redis.Redis.from_url(url), Keys(crawler.settings.get("ARCHIVE_REDIS_PREFIX")))

    def _host(self, request: Request) -> str:
        return self.crawler.engine.downloader.get_slot_key(request)

    async def process_request(self, request: Request) -> None:
        token = uuid.uuid4().hex
        key = self.keys.host(self._host(request))
        # this worker's requests to the host queue here, one of them asking Redis at a time
        local = self._local.setdefault(key, DeferredLock())
        await maybe_deferred_to_future(local.acquire())
        waited = False
        try:
            while (wait := self._take(key, token)) is not None:
                waited = True
                await pause(wait)
        except BaseException:
            local.release()
            raise
        if waited:
            self.crawler.stats.inc_value("distributed/host_waits")
        request.meta["host_lease"] = token
        self.held[key] = token
        if not self._renewal.running:
            self._renewal.start(max(self.hold_ms / 3000, 0.1), now=False)
            from twisted.internet import reactor

            reactor.addSystemEventTrigger("before", "shutdown", self.drop_all)
        return None

    def _take(self, key: str, token: str) -> float | None:
        """Take the host's lease for this request: ``None`` when it did, else how long to
        wait before asking again, seconds: what is left of the host's delay when another
        worker's request was answered, else :data:`POLL_SECS` (a request in flight, or
        Redis not answering).

        Raises:
            RunStopped: Redis did not answer for ``ARCHIVE_REDIS_WAIT_SECS``: the request is
                not sent and not recorded as a failure (the worker stops; it stays queued).
        """
        try:
            left_ms = self._take_script(keys=[key], args=[token, self.hold_ms])
        except redis.RedisError as exc:
            if self.outage.failed(exc):
                self.crawler.spider.redis_lost = True
                raise RunStopped(f"Redis lost for over {self.outage.wait_secs:g} s") from exc
            return POLL_SECS
        self.outage.ok()
        if left_ms == -1:
            return None
        return max(left_ms, 1) / 1000 if left_ms >= 0 else POLL_SECS

    def drop_all(self) -> None:
        """Give up this worker's host leases now (it stops with requests in flight)."""
        for key, token in list(self.held.items()):
            try:
                self._release(keys=[key], args=[token, 0])
            except redis.RedisError:
                pass  # it expires by itself
        self.held.clear()

    def _done(self, request: Request, wait: float = 0.0) -> None:
        token = request.meta.pop("host_lease", None)
        if token is None:
            return
        host = self._host(request)
        self.held.pop(self.keys.host(host), None)
        local = self._local.get(self.keys.host(host))
        if local is not None and local.locked:
            local.release()
        slot = download_slot(self.crawler, host)
        delay = max(slot.delay if slot is not None else 0.0, self.crawler.settings.getfloat("DOWNLOAD_DELAY"), wait)
        try:
            self._release(keys=[self.keys.host(host)], args=[token, int(delay * 1000)])
        except redis.RedisError as exc:
            logger.warning("cannot release the lease of %s (%s): it expires by itself", host, exc)

    def process_response(self, request: Request, response: Response) -> Response:
        wait = 0.0
        if response.status in (429, 503):
            # seen here before HostPacing sets the slot's delay: the same rule, capped the same way
            wait = min(retry_after_secs(response.headers.get(b"Retry-After")) or 0.0,
                       self.crawler.settings.getfloat("ARCHIVE_RETRY_AFTER_MAX_SECS"))
        self._done(request, wait)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._done(request)
        return None


class SharedRobotsTxtMiddleware(RobotsTxtRFC9309Middleware):
    """:class:`~crawler.politeness.RobotsTxtRFC9309Middleware` whose robots.txt answers are
    shared by the workers through Redis: one worker per host fetches it (taking
    ``P:robots-lock:<host>``), stores status, URL, headers and body (or the exception,
    pickled) at ``P:robots:<host>``, and the others read that: robots.txt is fetched once per
    host per run (the writer clears these keys when a run starts)."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        url = crawler.settings.get("REDIS_URL")
        if not url:
            raise NotConfigured()
        self.server = redis.Redis.from_url(url)
        self.keys = Keys(crawler.settings.get("ARCHIVE_REDIS_PREFIX"))

    async def fetch_robots(self, robots_request: Request, netloc: str) -> Response:
        key, lock = self.keys.robots(netloc), self.keys.robots_lock(netloc)
        waited = 0.0
        while True:
            stored = self.server.hgetall(key)
            if stored:
                return _stored_robots(stored, robots_request)
            if self.server.set(lock, b"1", nx=True, px=int(ROBOTS_WAIT_SECS * 1000)) or waited >= ROBOTS_WAIT_SECS:
                break
            await pause(POLL_SECS)
            waited += POLL_SECS
        try:
            response = await super().fetch_robots(robots_request, netloc)
        except Exception as exc:
            self.server.hset(key, mapping={"error": _pickled_error(exc)})
            raise
        self.server.hset(key, mapping={
            "status": response.status, "url": response.url, "body": response.body,
            "headers": pickle.dumps({k: v for k, v in response.headers.items()}),
        })
        self.crawler.stats.inc_value("distributed/robots_fetched")
        return response


def _pickled_error(exc: Exception) -> bytes:
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)
        return data
    except Exception:  # noqa: BLE001 - an exception that does not pickle: its message
        return pickle.dumps(IgnoreRequest(f"{type(exc).__name__}: {exc}"))


def _stored_robots(stored: dict[bytes, bytes], request: Request) -> Response:
    """The robots.txt answer another worker stored (raises the exception it stored)."""
    if b"error" in stored:
        raise pickle.loads(stored[b"error"])
    from scrapy.http import TextResponse

    return TextResponse(
        url=stored[b"url"].decode(), status=int(stored[b"status"]), body=stored[b"body"],
        headers=pickle.loads(stored[b"headers"]), request=request,
    )


class SharedCounts:
    """A name -> int mapping in a Redis hash (``get`` and item assignment, as the news
    spider uses its per-run counts), shared by the writer and every worker."""

    def __init__(self, server: redis.Redis, key: str) -> None:
        self.server = server
        self.key = key

    def get(self, name: str, default: int = 0) -> int:
        value = self.server.hget(self.key, name)
        return int(value) if value is not None else default

    def __getitem__(self, name: str) -> int:
        return self.get(name)

    def __setitem__(self, name: str, value: int) -> None:
        self.server.hset(self.key, name, value)


class SharedSet:
    """A set of strings in Redis (``in`` and ``add``), shared by the writer and every worker."""

    def __init__(self, server: redis.Redis, key: str) -> None:
        self.server = server
        self.key = key

    def __contains__(self, value: str) -> bool:
        return bool(self.server.sismember(self.key, value))

    def add(self, value: str) -> None:
        self.server.sadd(self.key, value)


def share_run_counts(spider: Any, server: redis.Redis, keys: Keys) -> None:
    """Make the news spider's per-run counts the cluster's: the URLs queued in this run and
    how many per source (``max_new_urls_per_source``), the sitemaps read per source (their
    budget), so that N workers keep the caps one process keeps."""
    spider._queued = SharedSet(server, keys.queued)
    spider._queued_per_source = SharedCounts(server, keys.queued_per_source)
    spider._sitemaps = SharedCounts(server, keys.sitemaps)


class RedisFrontier:
    """Stands in for the archive where a worker's spider writes its frontier
    (:class:`crawler.frontier.FrontierMiddleware`, ``NewsSpider.over_cap``): the rows go to
    the item stream, and the writer adds them to the archive's frontier."""

    def __init__(self, server: redis.Redis, keys: Keys) -> None:
        self.server = server
        self.keys = keys

    def frontier_add(self, rows: list[dict[str, Any]]) -> int:
        """Hand ``rows`` to the writer; 0: none is written here (the writer counts the new
        ones, ``frontier/added`` and ``frontier/held_back``, as one process does)."""
        if rows:
            self.server.xadd(self.keys.items, {"kind": "frontier", "data": pickle.dumps(rows, protocol=5)})
        return 0


#: Scrapy stats that describe one process, not the crawl (Scrapy's CoreStats and
#: MemoryUsage extensions): not published
PER_PROCESS = frozenset({"elapsed_time_seconds", "items_per_minute", "responses_per_minute", "memusage/startup"})
#: Scrapy stats kept as a maximum (``StatsCollector.max_value``: DepthMiddleware,
#: MemoryUsage): the workers' largest, not their sum
MAXIMA = frozenset({"request_depth_max", "memusage/max"})


def counters(stats: dict[str, Any]) -> dict[str, int | float]:
    """The counters among Scrapy stats: the numbers (not booleans) other than
    :data:`PER_PROCESS` (not ``start_time``, ``finish_reason``, ``discovery/unreadable``...)."""
    return {k: v for k, v in stats.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in PER_PROCESS}


def add_up(stats: Any, published: list[dict[str, int | float]]) -> None:
    """Add the workers' counters (:func:`published_worker_stats`) to ``stats`` (a Scrapy
    stats collector, or :class:`pipelines.warcimport.Stats`) under their own names: summed,
    except :data:`MAXIMA` (the largest); a name ``stats`` holds as something else than a
    number is left alone. ``distributed/workers``: how many workers published."""
    for worker in published:
        for name, value in worker.items():
            if not isinstance(stats.get_value(name, 0), (int, float)):
                continue
            if name in MAXIMA:
                stats.max_value(name, value)
            else:
                stats.inc_value(name, value)
    stats.set_value("distributed/workers", len(published))


class WorkerStats:
    """Extension of a worker: publishes its Scrapy stats counters (:func:`counters`:
    downloader, retries, robots.txt, seen-set, ``distributed/host_waits``, extraction,
    failures...) for the crawl's record, which the writer keeps (:func:`published_worker_stats`).

    Into ``P:worker-stats:<crawl id>`` (the ``crawl_id`` the writer published in ``P:run``), a
    hash: this worker's id (host name, pid, a random part) -> JSON ``{"final": bool, "stats":
    {name: number}}``, with the time of the publication (Redis's) in the sorted set
    ``P:worker-stats:<crawl id>:at``: when the spider opens, every :data:`STATS_SECS` seconds,
    and a last time (``final``) when it closes or the process stops. A worker killed outright
    leaves what it published last (at most ``STATS_SECS`` old). The counts are the worker's
    since it started: a worker that outlives its writer counts in the next writer's run.
    Both keys expire after :data:`STATS_KEEP_SECS`.

    Settings: ``REDIS_URL``, ``ARCHIVE_REDIS_PREFIX``; off (:class:`NotConfigured`) without ``REDIS_URL``.
    """

    def __init__(self, crawler, server: redis.Redis, keys: Keys) -> None:
        self.crawler = crawler
        self.server = server
        self.keys = keys
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.final = False
        self._publish = server.register_script(_PUBLISH_STATS)
        self._loop = task.LoopingCall(self.publish)

    @classmethod
    def from_crawler(cls, crawler) -> WorkerStats:
        url = crawler.settings.get("REDIS_URL")
        if not url:
            raise NotConfigured()
        extension = cls(crawler, redis.Redis.from_url(url), Keys(crawler.settings.get("ARCHIVE_REDIS_PREFIX")))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Any = None) -> None:
        self._loop.start(STATS_SECS, now=True)
        from twisted.internet import reactor

        # also when a stop abandons downloads under way (crawler.stopping): the spider does not close then
        reactor.addSystemEventTrigger("before", "shutdown", self.spider_closed)

    def spider_closed(self, spider: Any = None, reason: str | None = None) -> None:
        if self._loop.running:
            self._loop.stop()
        if not self.final:
            self.final = True
            self.publish()

    def publish(self) -> None:
        """This worker's counters into Redis now (an error is logged; the next one retries)."""
        data = json.dumps({"final": self.final, "stats": counters(self.crawler.stats.get_stats())})
        try:
            crawl_id = self.server.hget(self.keys.run, "crawl_id")
            if crawl_id is not None:
                crawl_id = crawl_id.decode()
                self._publish(keys=[self.keys.worker_stats(crawl_id), self.keys.worker_stats_times(crawl_id)],
                              args=[self.worker, data, int(STATS_KEEP_SECS * 1000)])
        except redis.RedisError as exc:
            logger.warning("cannot publish this worker's stats: %s", exc)


def published_worker_stats(server: redis.Redis, keys: Keys, crawl_id: int, wait_secs: float = 0.0) -> list[dict[str, int | float]]:
    """The stats counters each worker of crawl ``crawl_id`` published (:class:`WorkerStats`),
    one dict per worker that took part.

    With ``wait_secs`` (seconds), first waits, that long at most, for the workers still
    running to publish their last counters; a worker that has not published for
    ``3 * STATS_SECS`` is taken as gone, with what it published last.

    Raises:
        redis.RedisError: Redis did not answer.
    """
    read = server.register_script(_READ_STATS)
    deadline = time.monotonic() + wait_secs
    while True:
        published, times, now = read(keys=[keys.worker_stats(crawl_id), keys.worker_stats_times(crawl_id)])
        entries = {published[i]: json.loads(published[i + 1]) for i in range(0, len(published), 2)}
        at = {times[i]: float(times[i + 1]) for i in range(0, len(times), 2)}
        running = [w for w, e in entries.items() if not e["final"] and now - at.get(w, 0) < 3 * STATS_SECS * 1000]
        if not running or time.monotonic() >= deadline:
            return [e["stats"] for e in entries.values()]
        time.sleep(POLL_SECS)


def worker_settings(redis_url: str, prefix: str) -> dict[str, Any]:
    """The Scrapy settings a worker overrides (``crawler.settings`` below them): the Redis
    scheduler and seen-set, the shared robots.txt and host leases, and its item pipelines
    (template, extraction, the stream: no archive), and its stats published for the writer."""
    from crawler import settings as defaults

    return {
        "REDIS_URL": redis_url,
        "ARCHIVE_REDIS_PREFIX": prefix,
        "SCHEDULER": "crawler.distributed.LeasedScheduler",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_KEY": Keys(prefix).queue,
        "SCHEDULER_DUPEFILTER_KEY": Keys(prefix).seen,
        "ITEM_PIPELINES": {
            "pipelines.distributed.PublishedTemplatePipeline": 50,
            "pipelines.extract.ExtractPipeline": 100,
            "pipelines.distributed.StreamPipeline": 900,
        },
        "SPIDER_MIDDLEWARES": {**defaults.SPIDER_MIDDLEWARES, "crawler.distributed.LeaseMiddleware": 1},
        "EXTENSIONS": {"crawler.distributed.WorkerStats": 500},
        "DOWNLOADER_MIDDLEWARES": {
            **defaults.DOWNLOADER_MIDDLEWARES,
            "crawler.politeness.RobotsTxtRFC9309Middleware": None,
            "crawler.distributed.SharedRobotsTxtMiddleware": 100,
            # nearest the download: it sees every answer and error first, retries included
            "crawler.distributed.HostLeaseMiddleware": 990,
        },
    }
