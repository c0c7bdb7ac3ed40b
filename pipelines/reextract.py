"""Re-extraction: the current extraction run again on stored bodies, nothing fetched.

When the extractor improves, an article's stored body may yield different content. Such a
difference is ours, not the publisher's: it becomes a version with ``reason = reextract``,
kept apart from the publisher's edits (``reason = edit``) in every count and view of
changes. Each body is re-extracted with the inputs of its first extraction: its URL, its
Content-Type, the discovery hints and source settings kept on its capture, and its fetch
time (for date checks), so that an unchanged extractor finds nothing to add.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from archive.interrupt import Interrupted
from archive.similarity import signature
from archive.store import Archive
from pipelines.content import content_hash
from pipelines.extraction import ExtractionError, extract
from pipelines.extraction.dates import parse_stated_date
from pipelines.quality import capture_flag
from pipelines.store import snapshot_from

logger = logging.getLogger(__name__)


def reextract(archive: Archive, since: str | None = None) -> Counter:
    """Re-extract every article's current version (captured at or after ``since``, UTC).

    Returns:
        counts: ``articles`` looked at, ``changed`` (new ``reextract`` versions),
        ``unchanged``, ``skipped`` (the body now yields no story) and ``failed``.
    """
    counts: Counter = Counter()
    crawl_id = archive.start_crawl("reextract", f"since {since}" if since else "all")
    try:
        _reextract_rows(archive, crawl_id, since, counts)
    except Interrupted:
        # each article is one transaction: what was stored stays stored
        archive.finish_crawl(crawl_id, "interrupted", {f"reextract/{k}": v for k, v in counts.items()})
        raise
    archive.finish_crawl(crawl_id, "finished", {f"reextract/{k}": v for k, v in counts.items()})
    return counts


def _reextract_rows(archive: Archive, crawl_id: int, since: str | None, counts: Counter) -> None:
    for row in archive.reextract_sources(since):
        counts["articles"] += 1
        try:
            body = archive.read_body(row["body_digest"])
            settings, hints = row["extract_settings"], row["hints"]
            fetched = datetime.fromisoformat(row["fetched_at"].replace("Z", "+00:00"))
            hint = None
            if hints.get("published"):
                hint = parse_stated_date(hints["published"], hints.get("published_source", "feed"), tz=settings.get("timezone"), now=fetched)
            e = extract(
                body,
                row["final_url"],
                content_type=row["content_type"],
                include=settings.get("include"),
                exclude=tuple(settings.get("exclude") or ()),
                timezone_name=settings.get("timezone"),
                hint_published=hint,
                now=fetched,
            )
        except (KeyError, ExtractionError, ValueError) as exc:
            counts["failed"] += 1
            archive.record_failure(crawl_id, row["final_url"], "reextract", f"{type(exc).__name__}: {exc}")
            continue
        if capture_flag(e.title, e.text):
            counts["skipped"] += 1
            continue
        snapshot = snapshot_from(e, row["canonical_url"], content_hash(e.title, e.text), fingerprint=signature(e.text))
        outcome = archive.record_reextraction(row["article_id"], row["capture_id"], row["fetched_at"], snapshot)
        counts[outcome] += 1
        if outcome == "changed":
            logger.info("new version (reextract) of %s", row["canonical_url"])
