"""The item pipelines run by hand, for callers outside Scrapy (imports, drills, benchmarks).

A crawl runs the same stages through Scrapy's ``ITEM_PIPELINES`` (crawler/settings.py):
extract -> identify -> version -> store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from crawler.items import PageItem
from pipelines.extract import ExtractPipeline
from pipelines.identify import IdentifyPipeline
from pipelines.store import StorePipeline
from pipelines.templates import TemplatePipeline
from pipelines.version import VersionPipeline


def run_stages(items: Iterable[PageItem], db_path: str) -> Iterator[PageItem]:
    """Pass each item through the site's template, extract, identify, version and store, as
    a crawl does (no template is learned at the end: ``newsarchive templates --learn``).

    Args:
        items: pages, each with its body, URLs and ``fetched_at``.
        db_path: the archive to store into (created or upgraded if needed); the run is
            recorded in ``crawls`` and finished when the iteration ends.

    Yields:
        Each item once stored, with its ``outcome`` (``new``, ``changed``, ...).

    Raises:
        archive.database.StorageError: the archive could not be written.
    """
    store = StorePipeline(db_path)
    store.open_spider()  # creates or upgrades the archive the other stages read
    template, version = TemplatePipeline(db_path, min_stories=0), VersionPipeline(db_path)
    template.open_spider()
    version.open_spider()
    extract, stages = ExtractPipeline(), (IdentifyPipeline(), version)
    try:
        for item in items:
            item = extract.process_now(template.process_item(item))
            for stage in stages:
                item = stage.process_item(item)
            yield store.process_item(item)
    finally:
        version.close_spider()
        template.close_spider()
        store.spider_closed(None, "finished")
