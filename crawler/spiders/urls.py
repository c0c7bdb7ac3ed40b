"""The ``urls`` spider: archive given URLs now, or import a page saved by a browser.

Used by ``newsarchive archive URL ...`` and ``newsarchive archive --html FILE --url URL``.
Each URL is fetched once, also when it is given twice (no link following), with the
crawl's politeness (robots.txt, one request at a time per host, ``DOWNLOAD_DELAY`` and
AutoThrottle between requests to one host); a bad URL becomes a ``bad_url`` failure
while the others are still archived. A URL the archive already holds a story's answer
for is fetched with a conditional GET, as a re-check is (design.md, Revisits): a 304 is
a capture with no new body.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals

from archive.database import Archive, ArchiveError
from archive.timefmt import utc_now_iso
from archive.urls import redact_credentials
from crawler.config import Source, url_problem
from crawler.items import FailureItem, PageItem
from crawler.scrapy_internals import items_in_progress, wake_engine
from crawler.sniff import read_saved_page, unreadable_because
from crawler.spiders.base import ArchivingSpider, conditional_headers

#: reactor turns an item's end is watched for (its signal's handlers finish first)
WAKE_TURNS = 20


class UrlsSpider(ArchivingSpider):
    """Archive a list of URLs, or one saved HTML file.

    Args:
        urls: URLs to fetch (a list, or one string with one URL per line).
        html_file: path of a saved page (plain or ``.gz``) to import instead of fetching.
        url: the URL the saved page was loaded from (required with ``html_file``).
        allow_private: kept for ``scrapy crawl urls -a allow_private=1``; the CLI sets the
            ``ARCHIVE_ALLOW_PRIVATE`` setting instead.
    """

    name = "urls"
    dont_filter = True

    def __init__(
        self,
        urls: list[str] | str | None = None,
        html_file: str | None = None,
        url: str | None = None,
        allow_private: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(urls, str):
            urls = urls.split()
        self.urls = list(dict.fromkeys(u.strip() for u in urls or []))  # each once, in the order given
        #: URL as recorded (requested, or redacted when refused) -> its position in ``urls``
        self.input_order: dict[str, int] = {}
        self.html_file = html_file
        self.page_url = url
        self.allow_private = str(allow_private).lower() in ("1", "true", "yes")

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> UrlsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # An item that start() yields (a saved page) is processed with no request; when its
        # extraction outlasts the start, Scrapy (2.19) looks whether the spider is idle only at
        # its next heartbeat, up to 5 s after the item is done. Waking the engine then ends
        # such a run at once.
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider.item_done, signal=signal)
        return spider

    def item_done(self, *args: Any, **kwargs: Any) -> None:
        """An item left the pipelines: once no item is in them (Scrapy counts this one until
        its signal's handlers are done, a few reactor turns), let the engine see at once
        whether the run is over."""
        self._wake_when_idle(WAKE_TURNS)

    def _wake_when_idle(self, turns: int) -> None:
        # the reactor Scrapy installed: a spider module never imports it at import time
        from twisted.internet import reactor

        if not items_in_progress(self.crawler):
            wake_engine(self.crawler)
        elif turns > 1:
            reactor.callLater(0, self._wake_when_idle, turns - 1)

    def source_of(self, meta: dict[str, Any]) -> Source:
        return self._source(meta.get("source") or "")

    def _source(self, host: str) -> Source:
        return Source(name=host or "unknown", start_urls=(), depth=0)

    async def start(self) -> AsyncIterator[Any]:
        if self.html_file:
            yield self.imported_page()
        for output in self.made_conditional([self.output_for(position, raw) for position, raw in enumerate(self.urls)]):
            yield output

    def output_for(self, position: int, raw: str) -> scrapy.Request | FailureItem:
        """The request for the ``position``-th URL given, or its ``bad_url`` failure."""
        problem = url_problem(raw)
        if problem:
            self.input_order.setdefault(redact_credentials(raw), position)
            return FailureItem(url=redact_credentials(raw), kind="bad_url", message=problem)
        source = self._source(urlsplit(raw).hostname or "")
        request = self.request(raw, self.parse_article, source, "url", link_depth=0)
        self.input_order.setdefault(request.url, position)
        return request

    def made_conditional(self, outputs: list[Any]) -> list[Any]:
        """``outputs`` with each request for a URL the archive (``ARCHIVE_DB``) holds a
        story's answer for made a conditional GET (:meth:`archive.database.Archive.validators`);
        as they are when there is no archive yet. A 304 goes to ``parse_article``: a capture
        with no body, of the article the URL names."""
        if not any(isinstance(output, scrapy.Request) for output in outputs):
            return outputs
        try:
            archive = Archive.open(self.settings.get("ARCHIVE_DB"), create=False)
        except ArchiveError:
            return outputs
        with archive:
            found = [archive.validators(o.url) if isinstance(o, scrapy.Request) else None for o in outputs]
        headers = [conditional_headers(**validators) if validators else {} for validators in found]
        return [
            o.replace(headers=h, meta={**o.meta, "handle_httpstatus_list": [304]}) if h else o
            for o, h in zip(outputs, headers, strict=True)
        ]

    def in_input_order(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of :meth:`archive.database.Archive.crawl_results` sorted as the URLs were given
        (rows of URLs not given, if any, last, in their own order)."""
        last = len(self.urls)
        return sorted(rows, key=lambda row: self.input_order.get(row["url"], last))

    def imported_page(self) -> PageItem | FailureItem:
        """The saved page as a :class:`PageItem` (origin ``import``, no HTTP status)."""
        url = self.page_url or ""
        problem = url_problem(url) if url else "--url is required with --html (the address the page was saved from)"
        if problem:
            return FailureItem(url=redact_credentials(url) if url else str(self.html_file), kind="bad_url", message=problem)
        path = Path(self.html_file)
        try:
            body = read_saved_page(path)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            return FailureItem(url=url, kind="file", message=f"cannot read {path}: {unreadable_because(exc)}")
        return PageItem(
            url=url,
            final_url=url,
            status=None,
            body=body,
            fetched_at=utc_now_iso(),
            site=urlsplit(url).hostname or "unknown",
            role="url",
            content_type="text/html",
            origin="import",
        )
