"""Stage 3: the version's identity (content hash, MinHash fingerprint) and whether the
capture may be a version at all (:mod:`pipelines.quality`)."""

from __future__ import annotations

from archive.similarity import signature
from crawler.items import PageItem
from pipelines.content import content_hash
from pipelines.quality import capture_flag


class VersionPipeline:
    """Set ``item.content_hash``, ``item.fingerprint`` and ``item.flag`` on pages that have a
    canonical URL (articles); a flag set before (``partial``) is kept. Stats:
    ``version/flag/<flag>``."""

    def __init__(self, stats=None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler) -> VersionPipeline:
        return cls(stats=crawler.stats)

    def process_item(self, item):
        if isinstance(item, PageItem) and item.canonical_url and item.extraction is not None and not item.error:
            e = item.extraction
            item.content_hash = content_hash(e.title, e.text, e.standfirst)
            item.fingerprint = signature(e.text)
            # a flag the spider set (``partial``: the body may be cut short) stands
            item.flag = item.flag or capture_flag(e.title, e.text)
            if item.flag is None and item.article_id is not None and not e.is_article:
                item.flag = "not_article"  # a revisit that no longer reads as a story
            if item.flag and self.stats is not None:
                self.stats.inc_value(f"version/flag/{item.flag}")
        return item
