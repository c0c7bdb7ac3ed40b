"""The crawl frontier in the archive: discovered URLs are written down before they are fetched.

A URL found in a feed, a sitemap or a section page goes into the archive's ``frontier``
table (:meth:`archive.database.Archive.frontier_add`) before Scrapy schedules its request,
and leaves it in the transaction that stores its capture, or its failure when that is
final (:class:`pipelines.store.StorePipeline`). A crawl that is stopped or killed at any
moment therefore loses no URL it found, even if the feed has dropped it by the next run:
the next run takes the frontier's URLs up first (``news`` spider, ``start``). This, not
Scrapy's JOBDIR (which keeps a queue per job directory, beside the archive), is how a
crawl resumes.

A spider may hold URLs back for a later run (per-run caps): its ``hold_back(request,
response)`` returns True for a URL that is to wait in the frontier instead of being
requested now.
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

    Active for spiders with a ``frontier_archive`` attribute (the ``news`` spider): the
    :class:`archive.database.Archive` to write to, or ``None`` (a dry run, no archive yet).
    Raises :class:`NotConfigured` for other spiders.

    Stats: ``frontier/added`` (new URLs written), ``frontier/held_back`` (written, not
    requested in this run).
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> FrontierMiddleware:
        if not hasattr(crawler.spider, "frontier_archive"):
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
        rows, kept = [], []
        for o in output:
            if isinstance(o, Request) and is_discovery(o):
                hold = spider.hold_back(o, response)
                rows.append(
                    {
                        "url": o.url,
                        "source": o.meta.get("source"),
                        "hints": o.meta.get("hints") or None,
                        "via": response.meta.get("role") if response is not None else None,
                        "link_depth": o.meta.get("link_depth"),
                        "fetch": not hold,
                    }
                )
                o.meta["frontier"] = True
                if hold:
                    continue
            kept.append(o)
        stats = self.crawler.stats
        added = archive.frontier_add(rows)
        stats.inc_value("frontier/added", added)
        held = sum(1 for r in rows if not r["fetch"])
        if held:
            stats.inc_value("frontier/held_back", held)
        return kept
