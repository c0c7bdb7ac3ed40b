"""Stage 3: the version's identity (content hash, MinHash fingerprint) and whether the
capture may be a version at all (:mod:`pipelines.quality`)."""

from __future__ import annotations

from dataclasses import dataclass

from archive.similarity import signature
from crawler.items import PageItem
from pipelines.content import content_hash
from pipelines.extraction import Extraction
from pipelines.quality import capture_flag


@dataclass(frozen=True)
class VersionIdentity:
    """What makes a version (design.md, Versions).

    Attributes:
        content_hash: SHA-256 (hex) of the normalised title and text (:func:`content_hash`).
        fingerprint: the text's MinHash signature, for near-duplicates (bytes).
        flag: why the capture may not be a version (:func:`capture_flag`), or ``None``.
    """

    content_hash: str
    fingerprint: bytes
    flag: str | None


def version_identity(extraction: Extraction) -> VersionIdentity:
    """The version identity of an extraction: the one place it is computed, for a crawl
    (:class:`VersionPipeline`) and for re-extraction (:mod:`pipelines.reextract`)."""
    return VersionIdentity(
        content_hash=content_hash(extraction.title, extraction.text),
        fingerprint=signature(extraction.text),
        flag=capture_flag(extraction.title, extraction.text),
    )


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
            # made by the extraction worker, or here
            identity = item.identity if item.identity is not None else version_identity(item.extraction)
            item.content_hash = identity.content_hash
            item.fingerprint = identity.fingerprint
            # a flag the spider set (``partial``: the body may be cut short) stands
            item.flag = item.flag or identity.flag
            if item.flag is None and item.article_id is not None and not item.extraction.is_article:
                item.flag = "not_article"  # a revisit that no longer reads as a story
            if item.flag and self.stats is not None:
                self.stats.inc_value(f"version/flag/{item.flag}")
        return item
