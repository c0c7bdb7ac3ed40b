"""Politeness beyond Scrapy's defaults: robots.txt as RFC 9309 says, Crawl-delay, Retry-After.

- robots.txt groups, rules and product-token matching: :mod:`crawler.robots`.
- :class:`RobotsTxtRFC9309Middleware` replaces Scrapy's RobotsTxtMiddleware (which allows
  everything when robots.txt cannot be read): a robots.txt answered with 5xx, or not
  reachable at all, disallows the whole host for the run; a 4xx allows all (RFC 9309
  section 2.3.1); only the first 500 KiB are parsed (section 2.5).
  A robots.txt is followed through at most five redirects; more make it "unavailable"
  (RFC 9309 section 2.3.1.2), i.e. allow all.
- :class:`HostPacing` keeps each host's delay between requests at least its robots.txt
  ``Crawl-delay``, and makes the retry of a 429 or 503 answer wait for its ``Retry-After``
  (seconds or an HTTP date, RFC 9110 section 10.2.3), on that host only: other hosts'
  requests go on. A ``Retry-After`` longer than ``ARCHIVE_RETRY_AFTER_MAX_SECS`` is not
  waited for: that answer is not retried, and the host's other requests of this run fail
  as ``deferred`` (the next run tries again). Both act on Scrapy's per-host download
  slots, after AutoThrottle has adjusted them.
- :class:`RevisitAutoThrottle` is Scrapy's AutoThrottle with a ``304 Not Modified`` counted
  as the full answer it is: a revisit run's pace follows the host's latency.
"""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import datetime, timezone
from typing import Any

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler import settings as defaults
from crawler.errors import HostDeferred, RobotsDisallowedHost, network_cause
from crawler.robots import is_product_token
from crawler.scrapy_internals import download_slot

logger = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 500 * 1024
#: what an unreadable robots.txt means for its host (RFC 9309 section 2.3.1.4: disallow all)
SKIPPED = "host skipped for this run, RFC 9309"
ROBOTS_MAX_REDIRECTS = 5


class _Verdict(RobotParser):
    """A robots.txt that could not be read: everything allowed, or everything disallowed
    (``kind``: the failure kind of the requests it refuses)."""

    def __init__(self, allow: bool, reason: str, kind: str = "robots") -> None:
        self.allow = allow
        self.reason = reason
        self.kind = kind

    @classmethod
    def from_crawler(cls, crawler, robotstxt_body):  # pragma: no cover - built directly
        raise NotImplementedError

    def allowed(self, url, user_agent) -> bool:
        return self.allow

    def crawl_delay(self, user_agent) -> float | None:
        return None


class RobotsTxtRFC9309Middleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with RFC 9309's rules for an unreadable robots.txt.

    The rules themselves are read by ``ROBOTSTXT_PARSER`` (newsarchive's:
    :class:`crawler.robots.RFC9309RobotParser`) for ``ROBOTSTXT_USER_AGENT``, the crawler's
    product token.

    Stats: ``robotstxt/unavailable`` (4xx: allow all), ``robotstxt/unreachable`` (5xx or
    network error: disallow all).

    Raises:
        ValueError: ``ROBOTSTXT_USER_AGENT`` is set but is not a product token (letters,
            ``_`` and ``-`` only, RFC 9309 2.2.1).
    """

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        token = self._robotstxt_useragent
        if token and not is_product_token(token):
            raise ValueError(f"ROBOTSTXT_USER_AGENT must be a product token: letters, '_' and '-' only "
                             f"(RFC 9309 2.2.1), e.g. 'newsarchive' (got {token!r})")

    async def robot_parser(self, request: Request) -> RobotParser | None:
        """Scrapy's, except that the robots.txt request follows at most five redirects
        (RFC 9309 2.3.1.2), and that a robots.txt that cannot be fetched is one log line
        (its verdict) rather than an error with a traceback: it is an expected outcome.
        Robots.txt files are kept per scheme, host and port (RFC 9309 2.3: the rules apply
        to the protocol, host and port they were fetched from), never per host alone as
        Scrapy's middleware keeps them: ``http://h/`` and ``https://h/`` are two services."""
        url = urlparse_cached(request)
        netloc = f"{url.scheme}://{url.netloc}"  # the key: scheme, host and port
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robots_request = Request(
                f"{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True, "redirect_ttl": ROBOTS_MAX_REDIRECTS},
                callback=NO_CALLBACK,
            )
            try:
                response = await self.fetch_robots(robots_request, netloc)
                await self._parse_robots(response, netloc, request)
            except Exception as exc:  # noqa: BLE001 - any failure is RFC 9309's "unreachable" (or "unavailable")
                self._robots_error(exc, netloc)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def fetch_robots(self, robots_request: Request, netloc: str) -> Response:
        """The answer to a host's robots.txt request (through the engine, as Scrapy's
        middleware does); a distributed crawl shares one answer per host between its workers
        (:class:`crawler.distributed.SharedRobotsTxtMiddleware`).

        Raises:
            Exception: whatever the download raised (RFC 9309's "unreachable").

        Stats: ``robotstxt/request_count`` (robots.txt requests sent: here, so that a
        distributed crawl's record counts each host's one request, not each worker's look-up).
        """
        self._stats.inc_value("robotstxt/request_count")
        return await self.crawler.engine.download_async(robots_request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            reason = f"HTTP {response.status} (robots.txt answered with a server error: {SKIPPED})"
            self._settle(netloc, _Verdict(False, reason), "unreachable")
            return
        if response.status >= 400:
            self._settle(netloc, _Verdict(True, f"answered HTTP {response.status}"), "unavailable")
            return
        if len(response.body) > ROBOTS_MAX_BYTES:
            response = response.replace(body=response.body[:ROBOTS_MAX_BYTES])
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest) and "redirections" in str(exc):
            # more than five redirects: "unavailable", like a 4xx (RFC 9309 2.3.1.2)
            self._settle(netloc, _Verdict(True, "redirected too many times"), "unavailable")
            return
        if isinstance(exc, IgnoreRequest):
            kind, reason = "robots", f"{exc} (robots.txt not fetched: {SKIPPED})"
        else:
            kind, cause = network_cause(exc)
            reason = f"{cause} (robots.txt not reachable: {SKIPPED})"
        self._settle(netloc, _Verdict(False, reason, kind), "unreachable")

    def _settle(self, netloc: str, parser: _Verdict, stat: str) -> None:
        self._stats.inc_value(f"robotstxt/{stat}")
        logger.info("robots.txt of %s: %s: %s", netloc, parser.reason, "allow all" if parser.allow else "disallow all")
        waiting = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if waiting is not None and hasattr(waiting, "callback") and not waiting.called:
            waiting.callback(parser)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, _Verdict) and not rp.allow:
            self._stats.inc_value("robotstxt/forbidden")
            raise RobotsDisallowedHost(rp.reason, rp.kind)
        super().process_request_2(rp, request)


def retry_after_secs(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date
    (RFC 9110 section 10.2.3); a date in the past is 0; junk is ``None``."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    value = value.strip()
    if value.isascii() and value.isdigit():  # RFC 9110 delay-seconds: ASCII digits only
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or datetime.now(timezone.utc))).total_seconds())


class HostPacing:
    """Per-host delays from robots.txt ``Crawl-delay`` and from ``Retry-After``.

    Settings (defaults in :mod:`crawler.settings`): ``ARCHIVE_CRAWL_DELAY_MAX_SECS`` (cap on
    a Crawl-delay), ``ARCHIVE_RETRY_AFTER_MAX_SECS`` (cap on a Retry-After).

    Stats: ``pacing/crawl_delay`` (hosts with one), ``pacing/retry_after`` (waits imposed),
    ``pacing/retry_after_ignored`` (a value that is neither seconds nor an HTTP date),
    ``pacing/deferred_hosts`` (hosts that asked for more than the cap), ``pacing/deferred``
    (their requests not sent).

    Raises (per request): :class:`HostDeferred` for a host deferred to the next run.
    """

    def __init__(self, crawler, crawl_delay_max: float, retry_after_max: float) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.crawl_delay_max = crawl_delay_max
        self.retry_after_max = retry_after_max
        self.floors: dict[str, float] = {}
        #: slot key -> why the host waits for the next run
        self.deferred: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler) -> HostPacing:
        pacing = cls(
            crawler,
            crawl_delay_max=crawler.settings.getfloat("ARCHIVE_CRAWL_DELAY_MAX_SECS", defaults.ARCHIVE_CRAWL_DELAY_MAX_SECS),
            retry_after_max=crawler.settings.getfloat("ARCHIVE_RETRY_AFTER_MAX_SECS", defaults.ARCHIVE_RETRY_AFTER_MAX_SECS),
        )
        crawler.signals.connect(pacing.robots_parsed, signal=signals.robots_parsed)
        # connected after AutoThrottle's handler, so this floor is applied after its adjustment
        crawler.signals.connect(pacing.response_downloaded, signal=signals.response_downloaded)
        return pacing

    def _slot(self, request: Request) -> tuple[str, Any]:
        key = self.crawler.engine.downloader.get_slot_key(request)
        return key, download_slot(self.crawler, key)

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        settings = self.crawler.settings
        delay = robotparser.crawl_delay(settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT"))
        if delay:
            key, slot = self._slot(request)
            self.floors[key] = min(float(delay), self.crawl_delay_max)
            self.stats.inc_value("pacing/crawl_delay")
            if slot is not None:
                self._apply_floor(key, slot)

    def _apply_floor(self, key: str, slot: Any) -> None:
        # Scrapy varies a slot's delay by +-50% (RANDOMIZE_DOWNLOAD_DELAY): a floor must hold
        # after that, so a host with one gets no jitter.
        slot.delay = max(slot.delay, self.floors[key])
        slot.jitter = 0

    def response_downloaded(self, response: Response, request: Request, spider) -> None:
        key, slot = self._slot(request)
        if slot is not None and key in self.floors:
            self._apply_floor(key, slot)
        # Scrapy sends this signal before the host's slot takes its next request, and runs
        # process_response after: a host that asks for more than the cap is deferred here,
        # so that no request of it is sent after its answer
        if (reason := self._over_cap(response)) is not None and key not in self.deferred:
            self.deferred[key] = f"{reason}: {key} deferred to the next run"
            self.stats.inc_value("pacing/deferred_hosts")
            logger.warning("%s", self.deferred[key])
            self._drop_queued(key, self.deferred[key])

    def _over_cap(self, response: Response) -> str | None:
        """Why a 429 or 503 answer defers its host (a ``Retry-After`` over the cap), or ``None``."""
        if response.status not in (429, 503):
            return None
        value = response.headers.get(b"Retry-After")
        wait = retry_after_secs(value)
        if not wait or wait <= self.retry_after_max:
            return None
        return (
            f"HTTP {response.status} with Retry-After {value.decode('latin-1', 'replace')!r} ({wait:.0f} s, over "
            f"ARCHIVE_RETRY_AFTER_MAX_SECS = {self.retry_after_max:.0f} s)"
        )

    async def process_request(self, request: Request) -> None:
        key, slot = self._slot(request)
        if key in self.deferred:
            self.stats.inc_value("pacing/deferred")
            raise HostDeferred(self.deferred[key])
        if slot is not None and key in self.floors:
            self._apply_floor(key, slot)
        return None

    def _drop_queued(self, key: str, reason: str) -> None:
        """Fail the requests already waiting in the host's download slot (they passed
        :meth:`process_request` before the host was deferred). Scrapy's ``Slot.queue`` holds
        ``(request, deferred)`` pairs; failing the deferred ends the request as an error."""
        slot = download_slot(self.crawler, key)
        if slot is None:
            return
        while slot.queue:
            _, waiting = slot.queue.popleft()
            self.stats.inc_value("pacing/deferred")
            waiting.errback(HostDeferred(reason))

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 503):
            value = response.headers.get(b"Retry-After")
            wait = retry_after_secs(value)
            if value is not None and wait is None:
                self.stats.inc_value("pacing/retry_after_ignored")
                logger.info("%s answered %s with an unreadable Retry-After %r: ignored", request.url, response.status, value)
            if wait and wait > self.retry_after_max:
                key, _ = self._slot(request)
                if key not in self.deferred:  # a response that did not come through the downloader's signal
                    self.response_downloaded(response, request, None)
                request.meta["dont_retry"] = True
                request.meta["pacing_deferred"] = ("deferred", self.deferred[key])
                return response
            if wait:
                key, slot = self._slot(request)
                if slot is not None:
                    # the host's next request (the retry, or any other) waits `wait` from now
                    slot.delay = max(slot.delay, wait)
                    slot.jitter = 0
                    slot.lastseen = time.monotonic()
                self.stats.inc_value("pacing/retry_after")
                logger.info("%s answered %s with Retry-After %s: waiting %.1f s for that host", key, response.status, response.headers.get(b"Retry-After"), wait)
        return response


class RevisitAutoThrottle(AutoThrottle):
    """Scrapy's AutoThrottle (``AUTOTHROTTLE_*`` settings), with a ``304 Not Modified`` answer
    counted as a ``200``.

    Scrapy lowers a host's delay only after a ``200`` (``AutoThrottle._adjust_delay``: an error
    page or a redirect is small and quick, and would lower it for the wrong reason); it raises
    it after any answer slower than the delay. A 304 to a conditional GET is the server's
    whole answer, and a revisit run's answers are mostly 304s: without this, each host kept
    the delay its robots.txt, feed and sitemap answers had left (a large sitemap's latency),
    and the same 596 re-checks of ``benchmarks/crawl.py`` (``delay_secs = 0``) took 2.5 s or
    21.5 s. ``delay_secs`` stays the floor (``DOWNLOAD_DELAY``, and the start delay: the news
    spider sets both); with the default 1 s, little changes.
    """

    def _adjust_delay(self, slot: Any, latency: float, response: Response) -> None:
        super()._adjust_delay(slot, latency, response.replace(status=200) if response.status == 304 else response)
