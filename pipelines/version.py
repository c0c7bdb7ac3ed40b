"""Stage 3: the version's identity (content hash, MinHash fingerprint) and whether the
capture may be a version at all (:mod:`pipelines.quality`); and, before a capture becomes a
new version of a known story, the check that the difference is the publisher's.

A version is a publisher's edit only when the publisher changed the page. Our side changes
too: the extractor, its options, the site's template, where a date came from (a story found
through a feed takes the feed's date; its re-check has no feed hint and takes the page's
own). So, when a capture's content differs from the story's latest version, the body of
that version (it is stored) is extracted again with the options of this capture. Where that
re-extraction differs from what is stored, the difference is ours: the archive records it
first as a version with ``reason = reextract`` (:meth:`archive.database.Archive.record_capture`),
and only what still differs is the publisher's edit.

:func:`version_identity` is the one place where a version's identity is computed (crawls,
``newsarchive archive`` and ``newsarchive reextract``); :func:`extract_stored` the one place
where a stored body is extracted again.
"""

from __future__ import annotations

import logging
from typing import Any

from archive.database import Archive, ArchiveError
from archive.records import Baseline
from crawler.items import PageItem
from crawler.options import ExtractOptions
from pipelines.content import version_identity
from pipelines.jobs import extract_page
from pipelines.extraction import Extraction
from pipelines.extraction.html import ExtractionError
from pipelines.store import snapshot_from

logger = logging.getLogger(__name__)


def extract_stored(archive: Archive, source: dict[str, Any], options: ExtractOptions, hints: dict[str, Any] | None) -> Extraction:
    """Extract a stored body again (:func:`pipelines.jobs.extract_page`): ``source`` names
    its capture (``body_digest``, ``final_url``, ``content_type``, ``fetched_at``). The
    capture's own fetch time bounds its dates, so the same options give the same result as
    at first.

    Raises:
        KeyError: the body is not stored. ExtractionError: it is not HTML.
    """
    body = archive.read_body(source["body_digest"])
    return extract_page(body, source["final_url"], source["content_type"], options, hints, source["fetched_at"])


class VersionPipeline:
    """Set ``item.content_hash``, ``item.fingerprint`` and ``item.flag`` on pages that have a
    canonical URL (articles); a flag set before (``partial``) is kept. When the content
    differs from the known story's latest version, set ``item.baseline``
    (:class:`archive.records.Baseline`) to that version's body extracted again with this
    item's options, if that differs from what is stored (module docstring).

    Settings: ``ARCHIVE_DB`` (read: the latest version of known stories). Stats:
    ``version/flag/<flag>``, ``version/reextracted`` (baselines found to differ),
    ``version/baseline_failed``.
    """

    def __init__(self, db_path: str | None = None, stats=None) -> None:
        self.db_path = db_path
        self.stats = stats
        self.archive: Archive | None = None

    @classmethod
    def from_crawler(cls, crawler) -> VersionPipeline:
        return cls(db_path=crawler.settings.get("ARCHIVE_DB"), stats=crawler.stats)

    def open_spider(self, spider=None) -> None:
        try:
            self.archive = Archive.open(self.db_path, create=False) if self.db_path else None
        except ArchiveError:
            self.archive = None  # a new archive: no story is known yet

    def close_spider(self, spider=None) -> None:
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

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
            if item.flag:
                self._inc(f"version/flag/{item.flag}")
            else:
                item.baseline = self._baseline(item)
        return item

    def _baseline(self, item: PageItem) -> Baseline | None:
        if self.archive is None:
            return None
        article_id = item.article_id or self.archive.find_article_id(item.canonical_url)
        latest = self.archive.version_source(article_id) if article_id is not None else None
        if latest is None or latest["content_hash"] == item.content_hash or not latest["body_digest"]:
            return None
        try:
            # the capture's options and discovery hints, on the stored body of that version
            e = extract_stored(self.archive, latest, item.options, item.hints)
        except (KeyError, ValueError, ExtractionError) as exc:
            self._inc("version/baseline_failed")
            logger.warning("cannot extract the last version of %s again: %s", item.canonical_url, exc)
            return None
        identity = version_identity(e)
        snapshot = snapshot_from(e, latest["canonical_url"], identity.content_hash, fingerprint=identity.fingerprint)
        same = (
            identity.content_hash == latest["content_hash"]
            and snapshot.published == latest["published"]
            and snapshot.modified == latest["modified"]
        )
        if same or identity.flag:
            return None
        self._inc("version/reextracted")
        return Baseline(latest["capture_id"], latest["fetched_at"], snapshot)
