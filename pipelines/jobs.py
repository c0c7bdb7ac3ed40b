"""The extraction job, as a worker runs it: bytes and options in, a plain result out.

:func:`run_job` is what the extraction pool's workers run (:mod:`pipelines.workers`), and
what the crawl's process runs itself without workers; :func:`map_jobs` runs many jobs
(``reextract``, ``extract`` with several files). Nothing here imports Scrapy or Twisted:
a worker loads only the extraction (:mod:`pipelines.preload`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from archive import bodies
from crawler.options import ExtractOptions
from pipelines.content import version_identity
from pipelines.extraction import Extraction, ExtractionError, extract
from pipelines.extraction.dates import future_date, parse_stated_date
from pipelines.workers import ExtractionPool, ExtractJob, ExtractResult

logger = logging.getLogger(__name__)


def extract_page(
    body: bytes, url: str, content_type: str | None, options: ExtractOptions, hints: dict[str, Any] | None, fetched_at: str
) -> Extraction:
    """Extract a fetched page as a crawl does, and as re-extraction does again later.

    Args:
        body: the body bytes (after Content-Encoding).
        url: the final URL.
        content_type: the ``Content-Type`` header value, or ``None``.
        options: the source's extraction options, as stored with the capture.
        hints: what discovery said of the page (``published``, ``published_source``).
        fetched_at: the capture's fetch time, UTC ``YYYY-MM-DDTHH:MM:SSZ``: dates after it
            are refused, so the same capture always extracts the same way.

    Returns:
        The :class:`Extraction`, whose ``warnings`` also name a discovery date refused for
        lying in the future.

    Raises:
        ExtractionError: the body is not an HTML document.
    """
    fetched = datetime.fromisoformat(fetched_at.replace("Z", "+00:00"))
    hint, warnings = None, []
    if hints and hints.get("published"):
        source = hints.get("published_source", "feed")
        hint = parse_stated_date(hints["published"], source, tz=options.timezone, now=fetched)
        if hint is None and (future := future_date(hints["published"], source, tz=options.timezone, now=fetched)):
            warnings.append(f"future_date: published {future.value} ({source}) ignored")
    extraction = extract(body, url, options=options, content_type=content_type, hint_published=hint, now=fetched)
    extraction.warnings = [*warnings, *extraction.warnings]
    return extraction


def run_job(job: ExtractJob) -> ExtractResult:
    """:func:`extract_page` on one job, in whichever process calls it (a pool's worker, or
    this one); a page that is not HTML, or that makes the extractor raise, becomes an
    :class:`ExtractResult` with an ``error``: nothing is raised."""
    try:
        extraction = extract_page(job.body, job.url, job.content_type, job.options, job.hints, job.fetched_at)
        if not job.precompute:
            return ExtractResult(extraction)
        return ExtractResult(
            extraction,
            identity=version_identity(extraction),
            compressed=bodies.compress_full(job.body),
            compressed_dictionary=bodies.compress_with(job.body, job.dictionary) if job.dictionary else None,
        )
    except ExtractionError as exc:
        return ExtractResult(error=(exc.kind, str(exc)))
    except Exception as exc:  # noqa: BLE001 - one bad page must not stop the run
        logger.exception("extraction failed for %s", job.url)
        return ExtractResult(error=("extract_error", f"{type(exc).__name__}: {exc}"))


def map_jobs(jobs: Iterable[ExtractJob], workers: int, timeout_secs: float | None) -> Iterator[ExtractResult]:
    """:func:`run_job` on each job, results in order: in this process when ``workers`` is 0
    (no time limit can be kept there), else in a pool of ``workers`` warmed processes
    (:class:`~pipelines.workers.ExtractionPool`) started for the run and stopped after it."""
    if workers <= 0:
        yield from (run_job(job) for job in jobs)
        return
    with ExtractionPool(workers, timeout_secs, job=run_job) as pool:
        yield from pool.map(jobs)
