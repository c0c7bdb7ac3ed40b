"""The item pipelines run by hand, for callers outside Scrapy (imports, drills, benchmarks).

A crawl runs the same stages through Scrapy's ``ITEM_PIPELINES`` (crawler/settings.py):
extract -> identify -> version -> store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import PageItem
from pipelines.extract import ExtractPipeline
from pipelines.identify import IdentifyPipeline
from pipelines.store import StorePipeline
from pipelines.templates import TemplatePipeline
from pipelines.version import VersionPipeline


def run_stages(
    items: Iterable[PageItem], db_path: str, *, command: str = "archive", crawl_id: int | None = None, stats: Any = None,
    skip_stored: bool = False,
) -> Iterator[PageItem]:
    """Pass each item through the site's template, extract, identify, version and store, as
    a crawl does (no template is learned at the end: ``newsarchive templates --learn``).

    Args:
        items: pages, each with its body, URLs and ``fetched_at``.
        db_path: the archive to store into (created or upgraded if needed).
        command / crawl_id: the run's ``crawls`` row: the one the caller started, else a
            new one for ``command``; it is finished when the iteration ends
            (``finished``, ``storage_error``, or ``interrupted`` when it stopped early).
        stats: a stats collector (``inc_value``, ``set_value``, ``get_value``), as Scrapy's.
        skip_stored: an item whose capture the archive holds already (the same requested
            URL, final URL and fetch time: :meth:`archive.database.Archive.has_capture`) is
            not stored again: its ``outcome`` is ``already_stored``, counted in
            ``archive/already_stored`` (a WARC imported twice).

    Yields:
        Each item once stored, with its ``outcome`` (``new``, ``changed``, ...).

    Raises:
        scrapy.exceptions.DropItem: the archive could not be written (nothing of that
            capture was); the run ends ``storage_error``.
    """
    store = StorePipeline(db_path, command=command, crawl_id=crawl_id)
    store.stats = stats
    store.open_spider()  # creates or upgrades the archive the other stages read
    template = TemplatePipeline(db_path, min_stories=0, stats=stats)
    version = VersionPipeline(db_path, stats=stats)
    template.open_spider()
    version.open_spider()
    extract, stages = ExtractPipeline(stats=stats), (IdentifyPipeline(), version)
    status = "finished"
    try:
        for item in items:
            if skip_stored and isinstance(item, PageItem) and store.archive.has_capture(item.url, item.final_url, item.fetched_at):
                item.outcome = "already_stored"
                if stats is not None:
                    stats.inc_value("archive/already_stored")
                yield item
                continue
            item = extract.process_now(template.process_item(item))
            for stage in stages:
                item = stage.process_item(item)
            yield store.process_item(item)
    except DropItem:
        status = "storage_error"
        raise
    except BaseException:  # a signal, or the caller stopped early
        status = "interrupted"
        raise
    finally:
        version.close_spider()
        template.close_spider()
        store.spider_closed(None, status)
