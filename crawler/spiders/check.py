"""The ``check`` spider: a dry run of the ``news`` spider for ``newsarchive check``.

It reads each source's feeds, sitemaps and section pages (robots.txt obeyed) like a crawl,
but requests no article and archives nothing (no item pipelines): what a crawl would fetch
is kept in :attr:`CheckSpider.plan`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from archive.timefmt import utc_now_iso
from crawler.config import Source
from crawler.items import FailureItem
from crawler.spiders.news import NewsSpider


#: the failure kinds of a feed or sitemap that answered but could not be read (whole)
UNREADABLE = {"bad_sitemap", "malformed_feed"}


class CheckSpider(NewsSpider):
    """Discovery only, for ``newsarchive check``.

    Attributes:
        plan: per source name: ``new`` (article URLs a crawl would fetch, in order),
            ``known`` (discovered URLs that are known articles), ``due`` (known articles
            due for a re-check), ``over_cap`` (URLs left for a later run by the caps) and
            ``failed`` (``(url, message)`` of what could not be read).
    """

    name = "check"
    custom_settings = {"ITEM_PIPELINES": {}}
    takes_lock = False
    uses_frontier = False

    @property
    def frontier_archive(self) -> None:
        """``newsarchive check`` writes nothing, the frontier included."""
        return None

    def __init__(self, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(config=config, **kwargs)
        self.plan: dict[str, dict[str, Any]] = {
            s.name: {"new": [], "known": 0, "due": 0, "failed": [], "over_cap": 0} for s in self.crawl_config.sources
        }

    def revisits(self) -> Iterator[scrapy.Request]:
        """Count the articles due for a re-check; request none."""
        archive = self.archive
        if archive is None:
            return
        for row in archive.due_articles(list(self.sources), utc_now_iso()):
            self.plan[row["site"]]["due"] += 1
        yield from ()

    def is_known(self, url: str, source: Source) -> bool:
        """The news spider's test, counted in the plan."""
        known = super().is_known(url, source)
        self.plan[source.name]["known"] += known
        return known

    def _request_new(self, url: str, source: Source, hints: dict[str, Any], link_depth: int) -> Iterator[scrapy.Request]:
        """Note the URL in the plan instead of fetching it."""
        plan = self.plan[source.name]
        if url not in plan["new"]:
            plan["new"].append(url)
        yield from ()

    def over_cap(self, document: str, source: Source, urls: Iterator[tuple[str, dict[str, Any]]], count: int, via: str, cap: int) -> str:
        """The news spider's hand-off, counted in the plan."""
        self.plan[source.name]["over_cap"] += count
        return super().over_cap(document, source, urls, count, via, cap)

    def parse_section(self, response: Response) -> Iterator[Any]:
        """Follow the section page's links (into :meth:`article_request`); archive nothing."""
        self._entry_point(response.meta["source"])
        yield from self.follow_links(response, self.source_of(response.meta))

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """The news spider's, with a feed that cannot be read whole noted in the plan."""
        yield from self._noting_unread(response, super().parse_feed(response))

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """The news spider's, with a sitemap that cannot be read noted in the plan (it
        answered, but holds no sitemap: empty, not XML, a page, binary, a bomb)."""
        yield from self._noting_unread(response, super().parse_sitemap(response))

    def _noting_unread(self, response: Response, output: Iterator[Any]) -> Iterator[Any]:
        failed = self.plan[self.source_of(response.meta).name]["failed"]
        for out in output:
            if isinstance(out, FailureItem) and out.kind in UNREADABLE:
                failed.append((out.url, out.message))
            yield out

    def on_error(self, failure) -> Iterator[Any]:
        """Note what could not be read in the source's plan: a feed that cannot be read must
        not look like a feed with nothing new."""
        for item in super().on_error(failure):
            # a failure row, or an HTTP error page (a capture with its error)
            message = item.message if isinstance(item, FailureItem) else item.error[1]
            self.plan[self.source_of(failure.request.meta).name]["failed"].append((item.url, message))
            yield item
