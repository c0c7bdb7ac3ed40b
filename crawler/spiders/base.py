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
from twisted.python.failure import Failure

from archive.timefmt import utc_now_iso
from archive.urls import redact_credentials, strip_credentials
from crawler.config import Source
from crawler.errors import (
    HostDeferred,
    RobotsDisallowedHost,
    failure_kind,
    release_frames,
)
from crawler.items import FailureItem, PageItem
from crawler.markup import complexity_problem
from crawler.sniff import sniff_binary
from crawler.stopping import RunStopped
from crawler.traps import FOLLOW_MAX_PER_HOST, strip_session_ids, trap_reason

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")

_DOCUMENT_ENDS = (b"</html>", b"</rss>", b"</feed>", b"</rdf:rdf>", b"</urlset>", b"</sitemapindex>")


def looks_complete(body: bytes) -> bool:
    """Whether a body that ended with its connection ends like a whole document: the closing
    tag of an HTML page, a feed or a sitemap, or the end of a JSON object."""
    tail = body[-256:].rstrip().lower()
    return tail.endswith(_DOCUMENT_ENDS) or tail.endswith(b"}")


def header_dict(headers) -> dict[str, str]:
    """Scrapy ``Headers`` as ``{name: value}``; several values joined by ``", "`` (RFC 9110 §5.3)."""
    result = {}
    for name, values in headers.items():
        key = name.decode("latin-1")
        result[key] = ", ".join(v.decode("latin-1") for v in values)
    return result


#: response header fields stored per capture, and their bytes (names and values): a page
#: has 10-40 fields and a few KiB (a long Content-Security-Policy, a dozen cookies); nginx
#: refuses a request whose header fields pass 32 KiB (4 x 8 KiB buffers), Node.js a
#: response whose header section passes 16 KiB
MAX_STORED_HEADER_FIELDS = 200
MAX_STORED_HEADER_BYTES = 64 * 1024
#: fields kept first, whatever comes before them: the archive reads them (conditional GET,
#: content type, redirects)
KEPT_HEADERS = ("content-type", "etag", "last-modified", "location", "content-encoding", "content-length", "date")


def capped_headers(headers: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """``headers`` cut to :data:`MAX_STORED_HEADER_FIELDS` fields and
    :data:`MAX_STORED_HEADER_BYTES` bytes for storage (:data:`KEPT_HEADERS` first, then in
    the order received; a field whose value alone is too long is cut to fit), and the
    ``headers_truncated: ...`` warning for the capture, or ``None`` when all fit."""
    total = sum(len(k) + len(v) for k, v in headers.items())
    if len(headers) <= MAX_STORED_HEADER_FIELDS and total <= MAX_STORED_HEADER_BYTES:
        return headers, None
    ordered = sorted(headers.items(), key=lambda kv: kv[0].lower() not in KEPT_HEADERS)
    kept: dict[str, str] = {}
    size = 0
    for name, value in ordered:
        room = MAX_STORED_HEADER_BYTES - size - len(name)
        if len(kept) >= MAX_STORED_HEADER_FIELDS or room <= 0:
            break
        kept[name] = value[:room]
        size += len(name) + len(kept[name])
    return kept, (
        f"headers_truncated: {len(kept)} of {len(headers)} header fields stored ({size} of {total} bytes; "
        f"caps {MAX_STORED_HEADER_FIELDS} fields, {MAX_STORED_HEADER_BYTES} bytes)"
    )


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The headers of a conditional GET (RFC 9110, 13.1.2 and 13.1.3) from a stored answer's
    validators: ``If-None-Match`` from its ``ETag``, ``If-Modified-Since`` from its
    ``Last-Modified``, each only when the answer had it."""
    return {name: value for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if value}


class ArchivingSpider(scrapy.Spider):
    """Base of spiders whose pages go to the archive pipelines.

    Request meta keys it uses: ``source`` (source name), ``role`` (``article``,
    ``section``, ``feed``, ``sitemap``, ``url``), ``link_depth`` (links followed from a
    section page so far).
    """

    # -- read by the downloader middlewares (crawler/middlewares.py) --------------------
    #: let every request reach loopback/private addresses (PrivateAddressGuard)
    allow_private: bool = False
    #: host names that sources allow to be private addresses (PrivateAddressGuard)
    private_hosts: frozenset[str] | set[str] = frozenset()
    #: discovered URLs are written to the archive's frontier first (crawler.frontier)
    uses_frontier: bool = False

    def redirect_allowed(self, url: str, request: scrapy.Request) -> bool:
        """Whether a redirect (HTTP or meta refresh) of ``request`` to ``url`` may be
        followed (SiteRedirects); any, unless a spider keeps to its sources' sites."""
        return True

    def source_of(self, meta: dict[str, Any]) -> Source:
        """The :class:`Source` a request belongs to."""
        raise NotImplementedError

    #: links followed from section pages per host and run (crawler/traps.py)
    follow_max_per_host: int = FOLLOW_MAX_PER_HOST

    #: fetch every request even if its URL was seen (the ``urls`` spider: each given URL is
    #: fetched, and a redirect back to it ends as a redirect-loop failure, not in silence)
    dont_filter = False

    def request(self, url: str, callback, source: Source, role: str, **meta: Any) -> scrapy.Request:
        """A request for ``url`` tagged with its source and role, failures going to :meth:`on_error`."""
        meta = {"source": source.name, "role": role, **meta}
        url = strip_credentials(url)  # never sent, stored or logged (also robots.txt Sitemap: lines)
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta, dont_filter=self.dont_filter)

    def page_item(self, response: Response, role: str, source: Source, hints: dict | None = None) -> PageItem:
        """A :class:`PageItem` for a response (any status)."""
        redirects = list(response.request.meta.get("redirect_urls", [])) if response.request else []
        content_type = response.headers.get(b"Content-Type")
        response_headers, truncated = capped_headers(header_dict(response.headers))
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
            response_headers=response_headers,
            redirect_urls=redirects,
            hints=dict(hints or {}),
            options=source.extract,
            warnings=[truncated] if truncated else [],
        )
        if truncated:
            self.crawler.stats.inc_value("archive/headers_truncated")
        if not 100 <= response.status <= 999:
            # Twisted reads any integer as the status: one too large for SQLite failed the
            # whole capture with an OverflowError; the code is kept in the error's message
            item.status = None
            item.error = self.http_error(response)
            return item
        if role in ("article", "url", "section") and response.status == 200:
            item.error = self.body_problem(response, item.content_type)
        if "partial" in response.flags and not looks_complete(response.body):
            # The body ended with the connection, without Content-Length or chunking (a
            # close-delimited body, RFC 9112 section 6.3; Scrapy's flag), or its compressed
            # stream stopped early (TruncatedEncodingMiddleware): it may be cut short. Kept,
            # with its digest and length, as a flagged capture, never as a version.
            item.flag = "partial"
            self.crawler.stats.inc_value("archive/partial")
            logger.warning("partial %s: the body may be cut short and does not end its document; kept flagged", response.url)
        return item

    def body_problem(self, response: Response, content_type: str | None) -> tuple[str, str] | None:
        """Why a 200 answer to a page request has nothing to extract, or ``None``.

        - ``empty``: no body at all (or only white space);
        - ``content_type_mismatch``: labelled HTML (or unlabelled) but the first bytes are
          another format's signature (PDF, PNG, ZIP, ...; WHATWG MIME Sniffing): the bytes
          are kept, nothing is extracted;
        - ``not_html``: labelled as something else (a PDF served as a PDF).

        Markup over the limits of :mod:`crawler.markup` (``too_complex``) is found by the
        extraction, in its worker process, before any parse (and by :meth:`follow_links`
        before link extraction): this process does not read every page's bytes once more.
        """
        if not response.body.strip():
            self.crawler.stats.inc_value("archive/empty_body")
            return ("empty", "empty body: HTTP 200 with nothing to archive")
        kind = sniff_binary(response.body)
        labelled = (content_type or "").lower()
        if kind and (not labelled or any(t in labelled for t in HTML_TYPES) or labelled.startswith("text/")):
            self.crawler.stats.inc_value("archive/content_type_mismatch")
            return ("content_type_mismatch", f"labelled {content_type or 'nothing'} but the body is {kind} data; not extracted")
        if not self.is_html(response):
            return ("not_html", f"not an HTML page ({content_type or 'no Content-Type'})")
        return None

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
        if depth >= source.depth or not self.is_html(response) or sniff_binary(response.body) or complexity_problem(response.body):
            return
        hosts = source.hosts or {urlsplit(response.url).hostname}
        budget = self.follow_max_per_host
        stats = self.crawler.stats
        for link in LinkExtractor(unique=True).extract_links(response):
            # spider traps (crawler/traps.py): no session ids, no endless paths, a budget per host
            url = strip_session_ids(strip_credentials(link.url))
            # LinkExtractor's allow_domains compares host:port with the domain, so hosts are checked here
            host = urlsplit(url).hostname or ""
            on_site = any(host == h or host.endswith("." + h) for h in hosts)
            if not on_site or not source.wants(url):
                continue
            if reason := trap_reason(url):
                stats.inc_value(f"traps/{reason}")
                continue
            followed = self._followed.setdefault(host, set())
            if url in followed:
                continue
            if budget and len(followed) >= budget:
                if stats.get_value(f"traps/host_budget/{host}") is None:
                    logger.warning("following no more links on %s in this run: %d followed (the per-host budget)", host, budget)
                stats.inc_value(f"traps/host_budget/{host}")
                stats.inc_value("traps/host_budget")
                continue
            followed.add(url)
            yield from self.article_request(url, source, {}, link_depth=depth + 1)

    @property
    def _followed(self) -> dict[str, set[str]]:
        """Links followed from section pages in this run, per host."""
        if "_followed_links" not in self.__dict__:
            self.__dict__["_followed_links"] = {}
        return self.__dict__["_followed_links"]

    @staticmethod
    def http_error(response: Response) -> tuple[str, str]:
        """The failure of an HTTP error answer: ``http_error``, or ``redirects`` for a redirect
        that was not followed (to a scheme other than http(s), or without a location)."""
        if not 100 <= response.status <= 999:
            return "http_error", f"the status line's code {response.status} is not an HTTP status code (three digits, RFC 9110 15)"
        if response.status == 304:
            # an answer only to a conditional request (RFC 9110 15.4.5): here, to one without
            # a validator, it brings no page
            return "http_error", "HTTP 304 Not Modified to a request without If-None-Match or If-Modified-Since: no page to keep"
        if 300 <= response.status < 400:
            location = (response.headers.get(b"Location") or b"").decode("latin-1", "replace")
            target = f"to {redact_credentials(location)[:300]!r}" if location else "without a Location"
            return "redirects", f"HTTP {response.status} redirect {target} not followed (only http and https are fetched)"
        return "http_error", f"HTTP {response.status}"

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
            item.error = meta.get("pacing_deferred") or self.http_error(response)
            yield item
            return
        if failure.check(RunStopped):
            # not fetched because the run is stopping: no failure, it stays in the frontier
            return
        kind, message = failure_kind(failure)
        release_frames(failure)
        # the URL as requested, not the last hop of its redirects
        url = (meta.get("redirect_urls") or [request.url])[0] if request is not None else "?"
        logger.debug("failed %s: %s", url, message)  # the store's run log has it once
        # a host skipped for this run only: a later run tries the URL again
        final = not failure.check(HostDeferred, RobotsDisallowedHost)
        yield FailureItem(url=url, kind=kind, message=message, site=source.name, final=final)
