"""Stage 1: extract the story from each candidate page (see :mod:`pipelines.extraction`)."""

from __future__ import annotations

import logging
from datetime import datetime

from crawler.items import PageItem
from pipelines.extraction import ExtractionError, extract, warm_up
from pipelines.extraction.dates import StatedDate, future_date, parse_stated_date

logger = logging.getLogger(__name__)

EXTRACT_ROLES = ("article", "url")


def discovery_hint(hints: dict, tz: str | None, fetched_at: str) -> tuple[StatedDate | None, list[str]]:
    """The publication date discovery gave a page (a feed's or news sitemap's, in ``hints``),
    parsed, and warnings for one refused for lying after ``fetched_at`` (UTC ISO 8601)."""
    if not hints.get("published"):
        return None, []
    fetched = datetime.fromisoformat(fetched_at.replace("Z", "+00:00"))
    source = hints.get("published_source", "feed")
    hint = parse_stated_date(hints["published"], source, tz=tz, now=fetched)
    if hint is None and (future := future_date(hints["published"], source, tz=tz, now=fetched)):
        return None, [f"future_date: published {future.value} ({source}) ignored"]
    return hint, []


class ExtractPipeline:
    """Set ``item.extraction`` on article candidates (roles ``article`` and ``url``).

    A body that is not HTML sets ``item.error`` to ``(kind, message)`` with the kind of
    :class:`~pipelines.extraction.ExtractionError` (``empty``, ``content_type_mismatch``,
    ``not_html``); an unexpected extraction error sets ``("extract_error", ...)``; either
    way the item goes on to be stored as a failed capture: a crawl never dies on one page.
    The encoding the page was decoded with and the extraction's warnings (dates refused
    for lying in the future, also a feed's or sitemap's) go to ``item.encoding`` and
    ``item.warnings``.

    Stats: ``extract/pages``, ``extract/articles``, ``extract/not_html``, ``extract/error``,
    ``extract/future_date``.
    """

    def __init__(self, stats=None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler) -> ExtractPipeline:
        return cls(stats=crawler.stats)

    def open_spider(self, spider=None) -> None:
        # before the first fetch: the first extraction would otherwise block the reactor
        # for about 0.5 s while the language model loads
        warm_up()

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def process_item(self, item):
        if not isinstance(item, PageItem) or item.role not in EXTRACT_ROLES or item.error or item.status == 304:
            return item
        self._inc("extract/pages")
        fetched = datetime.fromisoformat(item.fetched_at.replace("Z", "+00:00"))
        hint, warnings = discovery_hint(item.hints, item.timezone, item.fetched_at)
        try:
            item.extraction = extract(
                item.body,
                item.final_url,
                content_type=item.content_type,
                include=item.extract_include,
                exclude=item.extract_exclude,
                timezone_name=item.timezone,
                hint_published=hint,
                now=fetched,
                template=item.template,
            )
        except ExtractionError as exc:
            self._inc("extract/not_html")
            item.error = (exc.kind, str(exc))
            return item
        except Exception as exc:  # noqa: BLE001 - one bad page must not stop the crawl
            self._inc("extract/error")
            logger.exception("extraction failed for %s", item.final_url)
            item.error = ("extract_error", f"{type(exc).__name__}: {exc}")
            return item
        item.encoding = item.extraction.encoding
        item.warnings = [*item.warnings, *warnings, *item.extraction.warnings]
        for warning in item.warnings:
            if warning.startswith("future_date"):
                self._inc("extract/future_date")
                logger.info("%s: %s", item.final_url, warning)
        if item.extraction.is_article:
            self._inc("extract/articles")
        return item
