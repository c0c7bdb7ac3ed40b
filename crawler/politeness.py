"""Politeness beyond Scrapy's defaults: robots.txt as RFC 9309 says, Crawl-delay, Retry-After.

- :class:`RobotsTxtRFC9309Middleware` replaces Scrapy's RobotsTxtMiddleware (which allows
  everything when robots.txt cannot be read): a robots.txt answered with 5xx, or not
  reachable at all, disallows the whole host for the run; a 4xx allows all (RFC 9309
  section 2.3.1); only the first 500 KiB are parsed (section 2.5).
- :class:`HostPacing` keeps each host's delay between requests at least its robots.txt
  ``Crawl-delay``, and makes the retry of a 429 or 503 answer wait for its ``Retry-After``
  (seconds or an HTTP date, RFC 9110 section 10.2.3), capped, on that host only: other
  hosts' requests go on. Both act on Scrapy's per-host download slots, after AutoThrottle
  has adjusted them.
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
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 500 * 1024


class _Verdict(RobotParser):
    """A robots.txt that could not be read: everything allowed, or everything disallowed."""

    def __init__(self, allow: bool, reason: str) -> None:
        self.allow = allow
        self.reason = reason

    @classmethod
    def from_crawler(cls, crawler, robotstxt_body):  # pragma: no cover - built directly
        raise NotImplementedError

    def allowed(self, url, user_agent) -> bool:
        return self.allow

    def crawl_delay(self, user_agent) -> float | None:
        return None


class RobotsTxtRFC9309Middleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with RFC 9309's rules for an unreadable robots.txt.

    Stats: ``robotstxt/unavailable`` (4xx: allow all), ``robotstxt/unreachable`` (5xx or
    network error: disallow all).
    """

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            self._settle(netloc, _Verdict(False, f"answered HTTP {response.status}"), "unreachable")
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
            reason = f"was refused ({exc})"
        else:
            reason = f"could not be fetched ({_cause(exc)})"
        self._settle(netloc, _Verdict(False, reason), "unreachable")

    def _settle(self, netloc: str, parser: _Verdict, stat: str) -> None:
        self._stats.inc_value(f"robotstxt/{stat}")
        logger.info("robots.txt of %s %s: %s", netloc, parser.reason, "allow all" if parser.allow else "disallow all")
        waiting = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if waiting is not None and hasattr(waiting, "callback") and not waiting.called:
            waiting.callback(parser)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, _Verdict) and not rp.allow:
            self._stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest(f"robots.txt {rp.reason}: host disallowed for this run (RFC 9309)")
        super().process_request_2(rp, request)


def _cause(exc: Exception) -> str:
    name = type(exc).__name__
    if "Refused" in name:
        return "connection refused"
    if "Resolve" in name or "DNS" in name:
        return "host not found"
    if "Timeout" in name or "TimedOut" in name:
        return "timed out"
    return name


def retry_after_secs(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date
    (RFC 9110 section 10.2.3); a date in the past is 0; junk is ``None``."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    value = value.strip()
    if value.isdigit():
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

    Settings: ``ARCHIVE_CRAWL_DELAY_MAX_SECS`` (cap on a Crawl-delay, default 60),
    ``ARCHIVE_RETRY_AFTER_MAX_SECS`` (cap on a Retry-After, default 300).

    Stats: ``pacing/crawl_delay`` (hosts with one), ``pacing/retry_after`` (waits imposed),
    ``pacing/retry_after_capped``.
    """

    def __init__(self, crawler, crawl_delay_max: float = 60.0, retry_after_max: float = 300.0) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.crawl_delay_max = crawl_delay_max
        self.retry_after_max = retry_after_max
        self.floors: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler) -> HostPacing:
        pacing = cls(
            crawler,
            crawl_delay_max=crawler.settings.getfloat("ARCHIVE_CRAWL_DELAY_MAX_SECS", 60.0),
            retry_after_max=crawler.settings.getfloat("ARCHIVE_RETRY_AFTER_MAX_SECS", 300.0),
        )
        crawler.signals.connect(pacing.robots_parsed, signal=signals.robots_parsed)
        # connected after AutoThrottle's handler, so this floor is applied after its adjustment
        crawler.signals.connect(pacing.response_downloaded, signal=signals.response_downloaded)
        return pacing

    def _slot(self, request: Request) -> tuple[str, Any]:
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        return key, downloader.slots.get(key)

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        user_agent = self.crawler.settings.get("USER_AGENT")
        delay = robotparser.crawl_delay(user_agent)
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

    async def process_request(self, request: Request) -> None:
        key, slot = self._slot(request)
        if slot is not None and key in self.floors:
            self._apply_floor(key, slot)
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 503):
            wait = retry_after_secs(response.headers.get(b"Retry-After"))
            if wait:
                if wait > self.retry_after_max:
                    self.stats.inc_value("pacing/retry_after_capped")
                    wait = self.retry_after_max
                key, slot = self._slot(request)
                if slot is not None:
                    # the host's next request (the retry, or any other) waits `wait` from now
                    slot.delay = max(slot.delay, wait)
                    slot.jitter = 0
                    slot.lastseen = time.monotonic()
                self.stats.inc_value("pacing/retry_after")
                logger.info("%s answered %s with Retry-After %s: waiting %.1f s for that host", key, response.status, response.headers.get(b"Retry-After"), wait)
        return response
