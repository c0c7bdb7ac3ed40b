"""What every archiving spider shares: turning responses and errors into items."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from archive.timefmt import utc_now_iso
from crawler.config import Source
from crawler.items import FailureItem, PageItem
from crawler.middlewares import PrivateAddressRefused

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")


def failure_kind(failure: Failure) -> tuple[str, str]:
    """A short kind and a one-line message for a download failure.

    Kinds: ``dns``, ``timeout``, ``connection``, ``too_large`` (over DOWNLOAD_MAXSIZE),
    ``truncated`` (data loss), ``robots``, ``redirects`` (a loop or too many hops),
    ``refused`` (SSRF guard), ``unsupported`` (a scheme that is not fetched), ``error``
    (anything else).
    """
    exc = failure.value
    message = str(exc) or type(exc).__name__
    if failure.check(CannotResolveHostError, DNSLookupError):
        return "dns", f"cannot resolve host: {message}"
    if failure.check(DownloadTimeoutError, TimeoutError, TCPTimedOutError):
        return "timeout", f"timed out: {message}"
    if failure.check(DownloadConnectionRefusedError, ConnectionRefusedError):
        return "connection", "connection refused"
    if failure.check(ResponseDataLossError):
        return "truncated", f"response truncated: {message}"
    if failure.check(DownloadCancelledError) or (failure.check(IgnoreRequest) and "MAXSIZE" in message.upper()):
        # Scrapy cancels a download over DOWNLOAD_MAXSIZE (declared, streamed or decompressed)
        return "too_large", "response body over the size limit (DOWNLOAD_MAXSIZE); not archived"
    if failure.check(UnsupportedURLSchemeError):
        return "unsupported", message
    if failure.check(PrivateAddressRefused):
        return "refused", message
    if failure.check(IgnoreRequest) and "robots.txt" in message:
        return "robots", message if message.startswith("robots.txt") else "forbidden by robots.txt"
    if failure.check(IgnoreRequest) and "redirections" in message:
        return "redirects", "too many redirects (a loop, or more than REDIRECT_MAX_TIMES hops)"
    if failure.check(DownloadFailedError, ConnectError, ConnectionLost):
        return "connection", f"connection failed: {message}"
    return "error", f"{type(exc).__name__}: {message}"


def header_dict(headers) -> dict[str, str]:
    """Scrapy ``Headers`` as ``{name: value}``; several values joined by ``", "`` (RFC 9110 §5.3)."""
    result = {}
    for name, values in headers.items():
        key = name.decode("latin-1")
        result[key] = ", ".join(v.decode("latin-1") for v in values)
    return result


class ArchivingSpider(scrapy.Spider):
    """Base of spiders whose pages go to the archive pipelines.

    Request meta keys it uses: ``source`` (source name), ``role`` (``article``,
    ``section``, ``feed``, ``sitemap``, ``url``), ``link_depth`` (links followed from a
    section page so far).
    """

    #: host names that sources allow to be private addresses (read by PrivateAddressGuard)
    private_hosts: set[str] = set()

    def source_of(self, meta: dict[str, Any]) -> Source:
        """The :class:`Source` a request belongs to."""
        raise NotImplementedError

    #: fetch every request even if its URL was seen (the ``urls`` spider: each given URL is
    #: fetched, and a redirect back to it ends as a redirect-loop failure, not in silence)
    dont_filter = False

    def request(self, url: str, callback, source: Source, role: str, **meta: Any) -> scrapy.Request:
        """A request for ``url`` tagged with its source and role, failures going to :meth:`on_error`."""
        meta = {"source": source.name, "role": role, **meta}
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta, dont_filter=self.dont_filter)

    def page_item(self, response: Response, role: str, source: Source, hints: dict | None = None) -> PageItem:
        """A :class:`PageItem` for a response (any status)."""
        redirects = list(response.request.meta.get("redirect_urls", [])) if response.request else []
        content_type = response.headers.get(b"Content-Type")
        item = PageItem(
            url=redirects[0] if redirects else response.url,
            final_url=response.url,
            status=response.status,
            body=response.body,
            fetched_at=response.meta.get("fetched_at") or utc_now_iso(),
            site=source.name,
            role=role,
            content_type=content_type.decode("latin-1") if content_type else None,
            request_headers=header_dict(response.request.headers) if response.request else None,
            response_headers=header_dict(response.headers),
            redirect_urls=redirects,
            hints=dict(hints or {}),
            timezone=source.timezone,
            extract_include=source.extract.include,
            extract_exclude=source.extract.exclude,
        )
        if role in ("article", "url", "section") and not self.is_html(response):
            item.error = ("not_html", f"not an HTML page ({item.content_type or 'no Content-Type'})")
        return item

    @staticmethod
    def is_html(response: Response) -> bool:
        """True for a text response labelled HTML/XHTML, or unlabelled text that starts like HTML."""
        if not isinstance(response, TextResponse):
            return False
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if any(t in content_type for t in HTML_TYPES):
            return True
        head = response.body[:1024].lstrip().lower()
        return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head

    def parse_article(self, response: Response) -> Iterator[Any]:
        """A candidate story: archive it, then follow its links if the source's depth allows.

        A revisit (``article_id`` in meta) may come back 304 (not modified: a capture with
        no body) or 404/410 (the story is gone)."""
        source = self.source_of(response.meta)
        item = self.page_item(response, response.meta.get("role", "article"), source, self.hints_for(response))
        item.article_id = response.meta.get("article_id")
        if response.status == 304:
            item.body = b""
            item.error = None
        elif response.status in (404, 410):
            item.error = ("gone", f"HTTP {response.status} on revisit: the story is gone")
        yield item
        if response.status == 200:
            yield from self.follow_links(response, source)

    def parse_section(self, response: Response) -> Iterator[Any]:
        """A section front or home page: archive it (not an article), follow its links."""
        source = self.source_of(response.meta)
        yield self.page_item(response, "section", source)
        yield from self.follow_links(response, source)

    def follow_links(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        """Requests for the page's links that stay on the source's hosts and pass its allow/deny
        rules, while fewer than ``source.depth`` links were followed from a section page."""
        depth = response.meta.get("link_depth", 0)
        if depth >= source.depth or not self.is_html(response):
            return
        hosts = source.hosts or {urlsplit(response.url).hostname}
        for link in LinkExtractor(unique=True).extract_links(response):
            # LinkExtractor's allow_domains compares host:port with the domain, so hosts are checked here
            host = urlsplit(link.url).hostname or ""
            on_site = any(host == h or host.endswith("." + h) for h in hosts)
            if on_site and source.wants(link.url):
                yield from self.article_request(link.url, source, {}, link_depth=depth + 1)

    def article_request(self, url: str, source: Source, hints: dict[str, Any], link_depth: int) -> Iterator[scrapy.Request]:
        """The request for a discovered article URL (a spider may skip URLs it knows)."""
        yield self.request(url, self.parse_article, source, "article", link_depth=link_depth)

    def hints_for(self, response: Response) -> dict:
        """Discovery hints (feed or sitemap date) remembered for this URL, if any."""
        return {}

    def on_error(self, failure: Failure) -> Iterator[Any]:
        """Turn a failed request into an archive record: an HTTP error response is a capture
        (with a failure row); a failure without response is a failure row."""
        request = failure.request
        meta = request.meta if request is not None else {}
        source = self.source_of(meta)
        if failure.check(HttpError):
            response = failure.value.response
            item = self.page_item(response, meta.get("role", "article"), source)
            item.error = ("http_error", f"HTTP {response.status}")
            yield item
            return
        kind, message = failure_kind(failure)
        # the URL as requested, not the last hop of its redirects
        url = (meta.get("redirect_urls") or [request.url])[0] if request is not None else "?"
        logger.warning("failed %s: %s", url, message)
        yield FailureItem(url=url, kind=kind, message=message, site=source.name)
