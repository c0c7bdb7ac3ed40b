"""Downloader middlewares of newsarchive."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urldefrag, urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.resolver import dnscache
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import get_meta_refresh, response_status_message
from twisted.internet.defer import DeferredLock
from twisted.internet.error import DNSLookupError

from archive.urls import strip_credentials
from crawler.errors import OffsiteRedirect, PrivateAddressRefused

logger = logging.getLogger(__name__)


def non_public_reason(address: str) -> str | None:
    """Why an IP address is not a public Internet address (``"loopback"``, ``"private"``,
    ``"link-local"``, ...), or ``None`` for a global address (Python ``ipaddress``,
    after IANA's special-purpose registries)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for reason in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    if not ip.is_global:
        return "special-purpose"
    return None


class PrivateAddressGuard:
    """Refuse requests whose host is, or resolves to, a non-public address (SSRF guard).

    A URL from a feed, a page or the command line must not make the crawler reach the
    machine it runs on or its private network. Such addresses are allowed only for the
    hosts of sources with ``allow_private = true`` (the spider's ``private_hosts``), or
    for every request when the ``ARCHIVE_ALLOW_PRIVATE`` setting is on (the CLI's
    ``--allow-private``). Every hop is checked: redirects, meta refreshes and robots.txt
    requests pass through downloader middlewares again, so a permitted host cannot bounce
    the crawler to another private address.

    The address checked is the address connected to (no DNS rebinding between the check
    and the connection): a host name is resolved once per run, through the reactor's
    resolver (Scrapy's ``CachingThreadedResolver``), and that answer is pinned: the guard
    writes it into Scrapy's DNS cache before every request to the host, and the download
    resolves the name from that cache. (With ``DNSCACHE_ENABLED = False`` Scrapy resolves
    again for each connection, and nothing can be pinned: the guard warns.) Host spellings
    that are not dotted quads (``127.1``, ``0x7f000001``, ``2130706433``) are resolved like
    any name, to the address the system's resolver would connect to.

    Raises (per request):
        PrivateAddressRefused: the host is not public.
    """

    def __init__(self, allow_all: bool = False, private_hosts: set[str] | None = None, stats=None) -> None:
        self.allow_all = allow_all
        self.private_hosts = private_hosts or set()
        self.stats = stats
        #: host name -> the address checked, connected to for the rest of the run
        self.pinned: dict[str, str] = {}
        self._locks: dict[str, DeferredLock] = {}

    @classmethod
    def from_crawler(cls, crawler) -> PrivateAddressGuard:
        spider = crawler.spider  # an ArchivingSpider (crawler/spiders/base.py) declares both
        allow_all = crawler.settings.getbool("ARCHIVE_ALLOW_PRIVATE") or spider.allow_private is True
        hosts = set(spider.private_hosts)
        if not allow_all and not crawler.settings.getbool("DNSCACHE_ENABLED"):
            logger.warning("DNSCACHE_ENABLED is off: resolved addresses cannot be pinned (DNS rebinding is possible)")
        return cls(allow_all=allow_all, private_hosts=hosts, stats=crawler.stats)

    async def process_request(self, request: Request) -> Any:
        if self.allow_all:
            return None
        host = urlsplit(request.url).hostname or ""
        if host in self.private_hosts:
            return None
        for address in await self._addresses(host):
            reason = non_public_reason(address)
            if reason:
                if self.stats is not None:
                    self.stats.inc_value("guard/refused")
                raise PrivateAddressRefused(
                    f"refused: {host} is a {reason} address ({address}); "
                    "allow it with allow_private = true (config) or --allow-private"
                )
        return None

    async def _addresses(self, host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            pass
        if host not in self.pinned:
            # one lookup per host and run, even for requests that arrive together
            lock = self._locks.setdefault(host, DeferredLock())
            await maybe_deferred_to_future(lock.acquire())
            try:
                if host not in self.pinned:
                    from twisted.internet import reactor

                    try:
                        address = await maybe_deferred_to_future(reactor.resolver.getHostByName(host))
                    except (DNSLookupError, UnicodeError, OSError):
                        # Let the download fail with Scrapy's own DNS error, which is recorded as such.
                        return []
                    self.pinned[host] = str(address)
            finally:
                lock.release()
        if dnscache.limit:
            dnscache[host] = self.pinned[host]  # what the download's resolver will answer
        return [self.pinned[host]]


class SiteRedirects:
    """What newsarchive's two redirect middlewares share (HTTP redirects and meta refresh).

    - A redirect is followed even to a URL already fetched in this run: the redirect
      source is an alias of the article (design.md, Identity), and it can only be recorded
      from the redirected response. Loops still end at ``REDIRECT_MAX_TIMES`` (stat
      ``redirect/limit``).
    - In a scheduled crawl the spider may refuse a redirect that leaves the source's site
      (its ``redirect_allowed(url, request)``; the ``news`` spider has one): the request
      fails with :class:`OffsiteRedirect` (failure kind ``offsite``, stat
      ``redirect/offsite``). Ad hoc archiving (``urls`` spider) follows redirects anywhere
      the SSRF guard allows.
    - Scrapy itself drops ``Cookie`` and ``Authorization`` headers on a redirect to another
      host, scheme or port (``BaseRedirectMiddleware._build_redirect_request``).
    """

    crawler: Any

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        try:
            redirected = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        except IgnoreRequest:
            self.crawler.stats.inc_value("redirect/limit")
            raise
        if not self.crawler.spider.redirect_allowed(redirected.url, request):
            self.crawler.stats.inc_value("redirect/offsite")
            raise OffsiteRedirect(
                f"redirect to another site not followed: {request.url} -> {redirected.url} "
                "(a scheduled crawl stays on its sources' sites)"
            )
        # credentials in a Location or refresh URL are never sent, stored or logged
        # (reliability.md, 32): the redirect goes to the same URL without them
        stripped = strip_credentials(redirected.url)
        if stripped != redirected.url:
            self.crawler.stats.inc_value("redirect/credentials_stripped")
            redirected = redirected.replace(url=stripped)
        redirected.dont_filter = True
        return redirected


class AliasKeepingRedirectMiddleware(SiteRedirects, RedirectMiddleware):
    """Scrapy's RedirectMiddleware with :class:`SiteRedirects`' rules."""


class ArchiveMetaRefreshMiddleware(SiteRedirects, MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware with :class:`SiteRedirects`' rules, and:

    - a refresh to the page itself (``<meta http-equiv=refresh content="300">`` with or
      without its own URL) is not a redirect: the page is archived as it is (Scrapy would
      schedule the same URL again and its duplicate filter would drop it, silently);
    - a refresh is followed when its delay is at most ``METAREFRESH_MAXDELAY`` seconds
      (Scrapy's own test is "less than");
    - ``<meta>`` inside ``METAREFRESH_IGNORE_TAGS`` (``noscript``) is ignored (Scrapy).
    """

    def process_response(self, request: Request, response: Response, spider=None) -> Request | Response:
        if (
            request.meta.get("dont_redirect", False)
            or request.method == "HEAD"
            or not isinstance(response, HtmlResponse)
            or urlparse_cached(request).scheme not in {"http", "https"}
        ):
            return response
        interval, url = get_meta_refresh(response, ignore_tags=self._ignore_tags)
        if not url or interval is None or interval > self._maxdelay:
            return response
        if urldefrag(url)[0] == urldefrag(response.url)[0]:
            self.crawler.stats.inc_value("redirect/meta_refresh_self")
            return response
        redirected = self._redirect_request_using_get(request, response, url)
        if urlparse_cached(redirected).scheme not in {"http", "https"}:
            return response
        return self._redirect(redirected, request, "meta refresh")


def encoded_stream_complete(data: bytes, encoding: str, limit: int) -> bool | None:
    """Whether ``data``, compressed as ``encoding`` (``gzip``, ``x-gzip``, ``deflate``, ``br``,
    ``zstd``), reaches the end of its compressed stream. The output is counted, never kept;
    ``None`` when that cannot be told (unknown or corrupt encoding, or more than ``limit``
    bytes of output: Scrapy's own limit then refuses the body)."""
    chunk = 64 * 1024
    try:
        if encoding in ("gzip", "x-gzip", "deflate"):
            import zlib

            for wbits in ((16 + zlib.MAX_WBITS,) if encoding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)):
                decoder = zlib.decompressobj(wbits)
                try:
                    out = len(decoder.decompress(data, chunk))
                except zlib.error:
                    continue
                while decoder.unconsumed_tail and not decoder.eof:
                    out += len(decoder.decompress(decoder.unconsumed_tail, chunk))
                    if limit and out > limit:
                        return None
                return decoder.eof
            return None
        if encoding == "br":
            import brotli

            decoder = brotli.Decompressor()
            out = len(decoder.process(data, output_buffer_limit=chunk))
            while not decoder.is_finished():
                more = decoder.process(b"", output_buffer_limit=chunk)
                if not more:
                    break
                out += len(more)
                if limit and out > limit:
                    return None
            return decoder.is_finished()
        if encoding == "zstd":
            # the reader Scrapy decodes with (compression.zstd, or its backport), read by chunks:
            # a one-shot decompress of a few kilobytes could expand to gigabytes
            try:
                from compression import zstd
            except ImportError:
                from backports import zstd
            from io import BytesIO

            reader = zstd.ZstdFile(BytesIO(data))
            out = 0
            try:
                while piece := reader.read(chunk):
                    out += len(piece)
                    if limit and out > limit:
                        return None
            except EOFError:
                return False
            return True
    except Exception:  # noqa: BLE001 - a corrupt stream: HttpCompressionMiddleware reports it
        return None
    return None


class TruncatedEncodingMiddleware:
    """Flag a response whose compressed body stops before its compressed stream ends.

    Scrapy's decoders return what they could decode of a truncated gzip, deflate, brotli or
    zstd body (``scrapy.utils.gz.gunzip``, ``_unbrotli``, ``_unzstd`` are lenient), so a body
    cut short inside the compression would be archived as if complete. Placed before
    HttpCompressionMiddleware in response order (a higher number), this middleware runs the
    outermost decoder over the raw body, keeping nothing, and adds Scrapy's response flag
    ``partial`` when the stream has no end: the spider then keeps the capture flagged
    ``partial`` (unless the document visibly ends), never as a version.

    Stats: ``httpcompression/truncated``.
    """

    def __init__(self, stats=None, limit: int = 0) -> None:
        self.stats = stats
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler) -> TruncatedEncodingMiddleware:
        return cls(crawler.stats, crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_response(self, request: Request, response: Response, spider=None) -> Response:
        if request.method == "HEAD" or not response.body:
            return response
        encodings = [
            part.strip().lower().decode("latin-1")
            for value in response.headers.getlist("Content-Encoding")
            for part in value.split(b",")
            if part.strip()
        ]
        if not encodings:
            return response
        complete = encoded_stream_complete(response.body, encodings[-1], request.meta.get("download_maxsize", self.limit))
        if complete is False and "partial" not in response.flags:
            response.flags.append("partial")
            if self.stats is not None:
                self.stats.inc_value("httpcompression/truncated")
            logger.warning("%s: the %s stream of the body ends early (truncated)", response.url, encodings[-1])
        return response


class LoggedRetryMiddleware(RetryMiddleware):
    """Scrapy's ``RetryMiddleware``, with each retry logged at INFO (Scrapy logs it at DEBUG).

    A cron log at the default level then says which URL was fetched again and why: a
    fetch that timed out and then succeeded is a failure too, and otherwise only the
    ``retry/count`` stats would show it. What is retried, how often and with what
    priority stays Scrapy's (``RETRY_TIMES``, ``RETRY_HTTP_CODES``, ``RETRY_EXCEPTIONS``);
    giving up is logged by Scrapy (``RETRY_GIVE_UP_LOG_LEVEL``).

    Log line: ``Retrying <GET url> (attempt 2 of 3): reason``; ``reason`` is the HTTP
    status line or the exception.
    """

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            self._log_retry(result, response_status_message(response.status))
        return result

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            self._log_retry(result, exception)
        return result

    def _log_retry(self, retry: Request, reason: object) -> None:
        attempts = retry.meta.get("max_retry_times", self.max_retry_times) + 1
        logger.info(
            "Retrying %(request)s (attempt %(attempt)d of %(attempts)d): %(reason)s",
            {"request": retry, "attempt": retry.meta["retry_times"] + 1, "attempts": attempts, "reason": reason},
        )
