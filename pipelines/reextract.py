"""Re-extraction: the current extraction run again on stored bodies, nothing fetched.

When the extractor improves, an article's stored body may yield different content. Such a
difference is ours, not the publisher's: it becomes a version with ``reason = reextract``,
kept apart from the publisher's edits (``reason = edit``) in every count and view of
changes. Each body is re-extracted with the inputs of its first extraction: its URL, its
Content-Type, the discovery hints and source settings kept on its capture, and its fetch
time (for date checks), so that an unchanged extractor finds nothing to add; and with its
site's latest template, so that a newly learned template reaches the stories already kept.
"""

from __future__ import annotations

import logging
from collections import Counter

from archive.store import Archive
from pipelines.extract import discovery_hint
from pipelines.extraction import ExtractionError
from pipelines.store import snapshot_from
from pipelines.templates import load_template
from pipelines.version import extract_stored, identity

logger = logging.getLogger(__name__)


def reextract(archive: Archive, since: str | None = None) -> Counter:
    """Re-extract every article's current version (captured at or after ``since``, UTC),
    with its site's latest template (:mod:`pipelines.templates`) when it has one.

    Returns:
        counts: ``articles`` looked at, ``changed`` (new ``reextract`` versions),
        ``unchanged``, ``skipped`` (the body now yields no story) and ``failed``.
    """
    counts: Counter = Counter()
    crawl_id = archive.start_crawl("reextract", f"since {since}" if since else "all")
    templates: dict = {}
    for row in archive.reextract_sources(since):
        counts["articles"] += 1
        site = row["site"]
        if site not in templates:
            templates[site] = load_template(archive, site, row["canonical_url"])
        try:
            settings = row["extract_settings"]
            e = extract_stored(
                archive,
                row,
                include=settings.get("include"),
                exclude=settings.get("exclude") or (),
                timezone_name=settings.get("timezone"),
                hint=discovery_hint(row["hints"], settings.get("timezone"), row["fetched_at"])[0],
                template=templates[site],
            )
        except (KeyError, ExtractionError, ValueError) as exc:
            counts["failed"] += 1
            archive.record_failure(crawl_id, row["final_url"], "reextract", f"{type(exc).__name__}: {exc}")
            continue
        digest, fingerprint, flag = identity(e)
        if flag:
            counts["skipped"] += 1
            continue
        snapshot = snapshot_from(e, row["canonical_url"], digest, fingerprint=fingerprint)
        outcome = archive.record_reextraction(row["article_id"], row["capture_id"], row["fetched_at"], snapshot)
        counts[outcome] += 1
        if outcome == "changed":
            logger.info("new version (reextract) of %s", row["canonical_url"])
    archive.finish_crawl(crawl_id, "finished", {f"reextract/{k}": v for k, v in counts.items()})
    return counts
