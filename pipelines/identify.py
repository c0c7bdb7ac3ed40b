"""Stage 2: the article's identity: canonical URL and aliases (see :mod:`archive.urls`)."""

from __future__ import annotations

import logging

from crawler.items import PageItem
from archive.urls import aliases, canonical_url

logger = logging.getLogger(__name__)


def is_story(item: PageItem) -> bool:
    """Whether the item is to be archived as (a capture of) an article.

    A crawled page must be judged an article by extraction; a URL the user asked to
    archive (role ``url``) is archived as an article whenever any text was extracted; a
    revisit of a known article always is (if it no longer reads as the story, the version
    stage flags it: a soft 404 or a wall must not turn the article into a "not article").
    """
    extraction = item.extraction
    if item.error or extraction is None:
        return False
    if item.article_id is not None:
        return True
    if item.role == "url":
        return bool(extraction.text.strip())
    return extraction.is_article


class IdentifyPipeline:
    """Set ``item.canonical_url`` and ``item.aliases`` on pages archived as articles."""

    @classmethod
    def from_crawler(cls, crawler) -> IdentifyPipeline:
        return cls()

    def process_item(self, item):
        if not isinstance(item, PageItem) or not is_story(item):
            return item
        try:
            item.canonical_url, declared = canonical_url(item.final_url, item.extraction.canonical_candidates)
        except ValueError as exc:
            item.error = ("bad_url", str(exc))
            return item
        item.aliases = aliases(
            item.canonical_url, item.url, item.redirect_urls, item.final_url, declared, item.extraction.is_amp
        )
        return item
