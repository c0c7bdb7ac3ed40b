"""Stage 3: the version's identity (content hash, MinHash fingerprint) and whether the
capture may be a version at all (:mod:`pipelines.quality`); and, before a capture becomes a
new version of a known story, the check that the difference is the publisher's.

A version is a publisher's edit only when the publisher changed the page. Our side changes
too: the extractor, its options, the site's template, where a date came from (a story found
through a feed takes the feed's date; its re-check has no feed hint and takes the page's
own). So, when a capture's content differs from the story's latest version, the body of
that version (it is stored) is extracted again with the options of this capture. Where that
re-extraction differs from what is stored, the difference is ours: the archive records it
first as a version with ``reason = reextract`` (:meth:`archive.store.Archive.record_capture`),
and only what still differs is the publisher's edit.

:func:`identity` is the one place where a version's identity is computed (crawls,
``newsarchive archive`` and ``newsarchive reextract``); :func:`extract_stored` the one place
where a stored body is extracted again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from archive.records import Baseline
from archive.similarity import signature
from archive.store import Archive, ArchiveError
from crawler.items import PageItem
from pipelines.content import content_hash
from pipelines.extract import discovery_hint
from pipelines.extraction import Extraction, ExtractionError, extract
from pipelines.extraction.dates import StatedDate
from pipelines.extraction.template import Template
from pipelines.quality import capture_flag
from pipelines.store import snapshot_from

logger = logging.getLogger(__name__)


def identity(e: Extraction) -> tuple[str, bytes, str | None]:
    """A version's identity: ``(content_hash, fingerprint, flag)``: the SHA-256 of its
    normalised title and text (:func:`pipelines.content.content_hash`), its MinHash
    signature (:func:`archive.similarity.signature`), and why it may not be a version
    (:func:`pipelines.quality.capture_flag`: ``soft_404``, ``consent_wall``, ... or ``None``)."""
    return content_hash(e.title, e.text), signature(e.text), capture_flag(e.title, e.text)


def extract_stored(
    archive: Archive,
    source: dict,
    *,
    include: str | None,
    exclude: tuple[str, ...] | list[str],
    timezone_name: str | None,
    hint: StatedDate | None,
    template: Template | None,
) -> Extraction:
    """Extract a stored body again: ``source`` names its capture (``body_digest``,
    ``final_url``, ``content_type``, ``fetched_at``); the options are given. The capture's own
    fetch time bounds its dates, so the same options give the same result as at first.

    Raises:
        KeyError: the body is not stored. ExtractionError: it is not HTML.
    """
    body = archive.read_body(source["body_digest"])
    fetched = datetime.fromisoformat(source["fetched_at"].replace("Z", "+00:00"))
    return extract(
        body,
        source["final_url"],
        content_type=source["content_type"],
        include=include,
        exclude=tuple(exclude or ()),
        timezone_name=timezone_name,
        hint_published=hint,
        now=fetched,
        template=template,
    )


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
            e = item.extraction
            item.content_hash, item.fingerprint, flag = identity(e)
            # a flag the spider set (``partial``: the body may be cut short) stands
            item.flag = item.flag or flag
            if item.flag is None and item.article_id is not None and not e.is_article:
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
            e = extract_stored(
                self.archive,
                latest,
                include=item.extract_include,
                exclude=item.extract_exclude,
                timezone_name=item.timezone,
                hint=discovery_hint(item.hints, item.timezone, latest["fetched_at"])[0],
                template=item.template,
            )
        except (KeyError, ValueError, ExtractionError) as exc:
            self._inc("version/baseline_failed")
            logger.warning("cannot extract the last version of %s again: %s", item.canonical_url, exc)
            return None
        digest, fingerprint, flag = identity(e)
        snapshot = snapshot_from(e, latest["canonical_url"], digest, fingerprint=fingerprint)
        same = (
            digest == latest["content_hash"]
            and snapshot.published == latest["published"]
            and snapshot.modified == latest["modified"]
        )
        if same or flag:
            return None
        self._inc("version/reextracted")
        return Baseline(latest["capture_id"], latest["fetched_at"], snapshot)
