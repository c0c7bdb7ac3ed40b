"""Stage 3: the version's identity, the content hash (see :mod:`pipelines.content`)."""

from __future__ import annotations

from crawler.items import PageItem
from pipelines.content import content_hash


class VersionPipeline:
    """Set ``item.content_hash`` on pages that have a canonical URL (articles)."""

    @classmethod
    def from_crawler(cls, crawler) -> VersionPipeline:
        return cls()

    def process_item(self, item):
        if isinstance(item, PageItem) and item.canonical_url and item.extraction is not None and not item.error:
            item.content_hash = content_hash(item.extraction.title, item.extraction.text)
        return item
