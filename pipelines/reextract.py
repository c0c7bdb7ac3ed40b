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
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import replace

from archive.database import Archive
from archive.interrupt import Interrupted
from crawler.options import ExtractOptions
from pipelines.jobs import map_jobs
from pipelines.store import snapshot_from
from pipelines.templates import load_template
from pipelines.content import version_identity
from pipelines.workers import ExtractJob

logger = logging.getLogger(__name__)


def reextract(
    archive: Archive,
    since: str | None = None,
    workers: int = 0,
    timeout_secs: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Counter:
    """Re-extract every article's current version (captured at or after ``since``, UTC).

    Args:
        workers: extract in that many worker processes (pipelines.workers), each page with
            the time limit ``timeout_secs``; 0: in this process.
        progress: called with ``(articles done, articles in all)`` once before the first
            article and after each one (a progress bar's update).

    Returns:
        counts: ``articles`` looked at, ``changed`` (new ``reextract`` versions),
        ``unchanged``, ``skipped`` (the body now yields no story) and ``failed`` (the
        body could not be read or extracted: a ``failures`` row of kind ``reextract``).

    Raises:
        archive.interrupt.Interrupted: a signal stopped it; the run is ``interrupted`` in
            ``crawls`` and what was stored stays stored.
    """
    counts: Counter = Counter()
    crawl_id = archive.start_crawl("reextract", f"since {since}" if since else "all")
    try:
        _reextract_rows(archive, crawl_id, since, counts, workers, timeout_secs, progress or (lambda done, total: None))
    except Interrupted:
        # each article is one transaction: what was stored stays stored
        archive.finish_crawl(crawl_id, "interrupted", {f"reextract/{k}": v for k, v in counts.items()})
        raise
    archive.finish_crawl(crawl_id, "finished", {f"reextract/{k}": v for k, v in counts.items()})
    return counts


def _reextract_rows(
    archive: Archive, crawl_id: int, since: str | None, counts: Counter, workers: int, timeout_secs: float | None,
    progress: Callable[[int, int], None],
) -> None:
    in_flight: deque = deque()
    templates: dict = {}
    sources = archive.reextract_sources(since)
    progress(0, len(sources))

    def failed(row, message: str) -> None:
        counts["failed"] += 1
        archive.record_failure(crawl_id, row["final_url"], "reextract", message)

    def jobs():
        for row in sources:
            counts["articles"] += 1
            site = row["site"]
            if site not in templates:
                templates[site] = load_template(archive, site, row["canonical_url"])
            try:
                body = archive.read_body(row["body_digest"])
                # the capture's own options, with the site's current template
                options = replace(ExtractOptions.from_json(row["extract_settings"]), template=templates[site])
            except (KeyError, ValueError) as exc:
                failed(row, f"{type(exc).__name__}: {exc}")
                progress(counts["articles"] - len(in_flight), len(sources))
                continue
            in_flight.append(row)
            yield ExtractJob(body, row["final_url"], row["content_type"], options, row["hints"], row["fetched_at"])

    for result in map_jobs(jobs(), workers, timeout_secs):
        row = in_flight.popleft()
        _reextract_one(archive, row, result, counts, failed)
        progress(counts["articles"] - len(in_flight), len(sources))


def _reextract_one(archive: Archive, row: dict, result, counts: Counter, failed: Callable) -> None:
    """Store what ``result`` (an :class:`~pipelines.workers.ExtractResult`) makes of ``row``'s body."""
    if result.error is not None:
        failed(row, f"{result.error[0]}: {result.error[1]}")
        return
    e = result.extraction
    identity = version_identity(e)
    if identity.flag:
        counts["skipped"] += 1
        return
    snapshot = snapshot_from(e, row["canonical_url"], identity.content_hash, fingerprint=identity.fingerprint)
    outcome = archive.record_reextraction(row["article_id"], row["capture_id"], row["fetched_at"], snapshot)
    counts[outcome] += 1
    if outcome == "changed":
        logger.info("new version (reextract) of %s", row["canonical_url"])
