"""The crawl frontier in the archive: discovered URLs are written down before they are fetched.

A URL found in a feed, a sitemap or a section page goes into the archive's ``frontier``
table (:meth:`archive.database.Archive.frontier_add`) before Scrapy schedules its request,
and leaves it in the transaction that stores its capture, or its failure when that is
final (:class:`pipelines.store.StorePipeline`). A crawl that is stopped or killed at any
moment therefore loses no URL it found, even if the feed has dropped it by the next run:
the next run takes the frontier's URLs up first (``news`` spider, ``start``). This, not
Scrapy's JOBDIR (which keeps a queue per job directory, beside the archive), is how a
crawl resumes.

URLs over a run's caps are written there by the spider (``NewsSpider.over_cap``) without
being requested: the next run takes them up.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

#: runs that may request a frontier URL before it is given up (a failure row says so)
MAX_ATTEMPTS = 5


def is_discovery(request: Request) -> bool:
    """A request for a newly discovered article URL (not a revisit, not a frontier leftover)."""
    meta = request.meta
    return meta.get("role") == "article" and "article_id" not in meta and not meta.get("frontier")


class FrontierMiddleware:
    """Spider middleware: write the article URLs a callback discovered to the frontier, in
    one transaction per response, before they are scheduled.

    Active for spiders whose ``uses_frontier`` is true (the ``news`` spider), which write to
    their ``frontier_archive`` (an :class:`archive.database.Archive`, or ``None`` when there
    is no archive yet); :class:`NotConfigured` for the others. URLs over a run's caps are
    written by the spider itself (``NewsSpider.over_cap``), not requested.

    Stats: ``frontier/added`` (new URLs written).
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> FrontierMiddleware:
        if not crawler.spider.uses_frontier:
            raise NotConfigured()  # without a message: Scrapy would log it as a warning
        return cls(crawler)

    def process_spider_output(self, response, result: Iterable[Any], spider=None) -> Iterable[Any]:
        yield from self._write(response, list(result))

    async def process_spider_output_async(self, response, result: AsyncIterator[Any], spider=None) -> AsyncIterator[Any]:
        for o in self._write(response, [o async for o in result]):
            yield o

    def _write(self, response, output: list[Any]) -> list[Any]:
        spider = self.crawler.spider
        archive = spider.frontier_archive
        if archive is None:
            return output
        rows = []
        for o in output:
            if isinstance(o, Request) and is_discovery(o):
                rows.append(
                    {
                        "url": o.url,
                        "source": o.meta.get("source"),
                        "hints": o.meta.get("hints") or None,
                        "via": response.meta.get("role") if response is not None else None,
                        "link_depth": o.meta.get("link_depth"),
                        "fetch": True,
                    }
                )
                o.meta["frontier"] = True
        self.crawler.stats.inc_value("frontier/added", archive.frontier_add(rows))
        return output
