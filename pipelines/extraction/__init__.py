"""Main-content extraction: the story's text and metadata, without the boilerplate around it.

One call, :func:`extract`, used by the crawl pipeline, ``newsarchive archive`` and
``newsarchive extract`` alike. It runs in order:

1. decode the bytes (:mod:`~pipelines.extraction.html`: BOM, HTTP header, ``<meta>``,
   then detection) and parse them; read what the page says of itself
   (:mod:`~pipelines.extraction.metadata`: JSON-LD, meta tags, canonical links, language;
   title, authors, description, site name, tags and image with trafilatura's functions);
2. remove the site's template (:mod:`~pipelines.extraction.template`: the blocks learned
   from the site's other stories), apply the site's extraction hints
   (``[source.extract]``), and repair the page (:mod:`~pipelines.extraction.clean`:
   hidden copies of the story, embedded posts, teaser-classed leads);
3. trafilatura separates the main content from boilerplate, comments excluded (its fast
   mode; its full mode as a second opinion when the fast one reads like a menu);
4. the boilerplate trafilatura leaves is taken out of its content tree
   (:mod:`~pipelines.extraction.body`: headline and lead furniture, boxes of links,
   read-more/newsletter/reprint lines, about boxes), and a story split by ad rows is
   joined again, and a lead in bare text just before the story is kept
   (:mod:`~pipelines.extraction.recover`);
5. dates: structured data (JSON-LD, meta tags, ``<time>``), then the discovery (news
   sitemap, feed), then the story's visible dateline (:mod:`~pipelines.extraction.story`),
   then a day in the ``og:title``, then htmldate (a day the page spells out, not one it
   infers), then the URL (:mod:`~pipelines.extraction.dates`);
6. the language (declared, checked by py3langid) and whether the page is an article.

Extraction is deterministic: the same bytes, URL and hints give the same result, so that
re-extracting a stored body never invents a version.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

import htmldate
import trafilatura
from dateutil.parser import UnknownTimezoneWarning
from lxml.html import HtmlElement

from pipelines.extraction import body, clean, metadata, recover, story, template as site_template
from pipelines.extraction.dates import StatedDate, date_from_url, day_first, find_text_dates, future_date, stated_day
from pipelines.extraction.html import ExtractionError, apply_hints, parse_document
from pipelines.extraction.text import (
    clean_authors,
    detect_language,
    looks_like_article,
    prose_chars,
    prose_share,
    split_list,
    split_tags,
)

logger = logging.getLogger(__name__)


__all__ = ["EXTRACTOR", "Extraction", "ExtractionError", "extract", "warm_up"]

EXTRACTOR = f"newsarchive-extract/3 trafilatura/{trafilatura.__version__}"
# trafilatura's fast mode (no fallback extractors) is better and faster on the shared sets;
# its full mode is a second opinion for pages where the fast one reads like a menu.
EXTENSIVE = True
SECOND_OPINION_CHARS = 500
SECOND_OPINION_PROSE = 0.6


@dataclass
class Extraction:
    """What one page says, without its boilerplate.

    Attributes:
        title: the headline, or ``None``.
        text: the story's main content as plain text, one paragraph per line; ``""``
            when nothing could be extracted.
        authors / tags: lists of strings.
        published / modified: :class:`StatedDate` (value as stated, UTC value, source)
            or ``None``.
        language: primary language subtag (``en``), declared by the page or detected.
        description, sitename, image: as the page states them (image is a URL).
        canonical_candidates: URLs the page declares as its own (``rel=canonical``,
            ``og:url``), raw and unresolved, most authoritative first.
        is_amp: the page is an AMP page.
        is_article: the page is a story, not a section front, list or utility page.
        include_matched: whether the ``include`` hint matched (``None`` without one).
        extractor: name and version of this extraction.
        encoding: the character encoding the bytes were decoded with (``utf-8``,
            ``cp1252``, ``utf-16-le``, ...), ``None`` for text given decoded.
        warnings: what was refused on the way, for the record (``future_date: published
            2099-01-01 (jsonld) ignored``).
        template: the site template applied (``site@version``), or ``None``.
        removed: the template's blocks taken out of this page
            (:class:`~pipelines.extraction.template.Removed`).
    """

    title: str | None = None
    text: str = ""
    authors: list[str] = field(default_factory=list)
    published: StatedDate | None = None
    modified: StatedDate | None = None
    language: str | None = None
    description: str | None = None
    sitename: str | None = None
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    canonical_candidates: list[str] = field(default_factory=list)
    is_amp: bool = False
    is_article: bool = False
    include_matched: bool | None = None
    extractor: str = EXTRACTOR
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)
    template: str | None = None
    removed: list[site_template.Removed] = field(default_factory=list)


def extract(
    html: bytes | str,
    url: str | None = None,
    *,
    content_type: str | None = None,
    include: str | None = None,
    exclude: tuple[str, ...] | list[str] = (),
    timezone_name: str | None = None,
    hint_published: StatedDate | None = None,
    now: datetime | None = None,
    template: site_template.Template | None = None,
) -> Extraction:
    """Extract the story from one HTML page.

    Args:
        html: the body bytes as delivered (after Content-Encoding), or decoded text.
        url: the page's URL (final URL after redirects); used to resolve links and as a
            last-resort date source.
        content_type: the ``Content-Type`` header, whose charset takes precedence over
            the page's ``<meta charset>`` (WHATWG encoding sniffing order).
        include / exclude: the site's extraction hints, CSS selectors.
        timezone_name: IANA zone for dates stated without an offset.
        hint_published: a publication date from the discovery (news sitemap or feed).
        now: the fetch time (aware, UTC); dates after it are refused. Defaults to now.
            Pass the capture's ``fetched_at`` so that re-extraction gives the same result.
        template: the site's learned template; its blocks leave the page before anything
            else reads the body (so that a date inside one is never the story's).

    Returns:
        An :class:`Extraction`; ``text`` is empty and ``is_article`` False when the page
        holds no main content.

    Raises:
        ExtractionError: the bytes are not an HTML document (empty, binary, unparsable);
            its ``kind`` is the failure kind to record.
    """
    now = now or datetime.now(timezone.utc)
    tree, encoding = parse_document(html, content_type)
    page = metadata.read(tree)
    result = Extraction(canonical_candidates=page.canonical, is_amp=page.is_amp, encoding=encoding)
    result.warnings = _future_dates(tree, page, timezone_name, now)
    if template is not None:
        result.template, result.removed = template.label, site_template.apply(tree, template)
    # prepared in place: trafilatura works on its own copy, and the repairs do not change
    # what the dates and the dateline are read from
    result.include_matched = apply_hints(tree, include, exclude)
    work = clean.prepare(tree)
    fields = metadata.trafilatura_fields(tree, url)
    result.title = _clean(fields.title) or _clean(_fallback_title(tree))
    result.authors = clean_authors(split_list(fields.author))
    result.description = _clean(fields.description)
    result.sitename = _clean(fields.sitename)
    result.tags = _unique(split_tags([*(fields.tags or []), *(fields.categories or [])]))
    result.image = _clean(fields.image)
    result.text = _main_text(work, url, result.title)
    located = story.locate(tree, result.text) if result.text else None
    if located is not None:
        lead = recover.lead_block(tree, result.text, result.title, result.description, located)
        more = recover.continuation_blocks(tree, result.text, result.title, result.description, located)
        if lead or more:
            result.text = "\n".join([*([lead] if lead else []), result.text, *more])
            located = None  # the story now starts or ends elsewhere
    result.published, result.modified = _dates(tree, page, result, url, timezone_name, hint_published, now, located)
    result.language = detect_language(result.text, page.language)
    result.is_article = looks_like_article(result.text, page.declares_article, page.og_type)
    if not result.authors:
        result.authors = clean_authors(split_list(metadata.page_author(tree)))  # prunes the tree: last
    return result


_WARM_UP_PAGE = (
    "<html lang='en'><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1><p>Published 2 May 2024</p>"
    "<p>This page is read once when a crawl opens, so that the language model and the libraries are loaded.</p>"
    "<p>Without it, the first story of the crawl would keep every download in flight waiting for half a second.</p>"
    "<p>Nothing of it is stored: the extraction is thrown away, and the crawl starts with everything in memory.</p>"
    "</article></body></html>"
)


def warm_up() -> None:
    """Extract a small built-in page once: loads py3langid's model and the libraries' lazily
    imported parts (about 0.5 s), so that the first page of a crawl does not stall the
    downloads already in flight (Scrapy's pipelines run in the reactor thread)."""
    extract(_WARM_UP_PAGE, "http://warm-up.invalid/")


def _future_dates(tree: HtmlElement, page, tz: str | None, now: datetime) -> list[str]:
    """Warnings for the structured dates refused for lying in the future (after the fetch
    time and a day's grace): they are never used, and the capture records that they were there."""
    warnings = []
    for name, source, raw in metadata.date_candidates(tree, page):
        stated = future_date(raw, source, tz=tz, now=now)
        if stated is not None:
            warning = f"future_date: {name} {stated.value} ({source}) ignored"
            if warning not in warnings:
                warnings.append(warning)
    return warnings


def _main_text(tree: HtmlElement, url: str | None, title: str | None) -> str:
    """trafilatura's main content, cleaned. Its fast mode first; when that reads like a
    menu or a list (under 60% prose) or is short, its full mode (with its fallback
    extractors, readability-lxml and jusText) is asked too, and the text that is more and
    denser prose wins."""
    text = _cleaned(_trafilatura(tree, url, fast=True), title)
    if len(text) >= SECOND_OPINION_CHARS and prose_share(text) >= SECOND_OPINION_PROSE:
        return text
    other = _cleaned(_trafilatura(tree, url, fast=False), title)
    return other if _prose_score(other) > _prose_score(text) else text


def _prose_score(text: str) -> float:
    # prose characters, weighed by how much of the text is prose: a long menu scores low
    return prose_chars(text) * prose_share(text)


def _cleaned(document, title: str | None) -> str:
    if document is None or document.body is None:
        return ""
    return body.to_text(body.clean_body(document.body, title))


def _trafilatura(tree: HtmlElement, url: str | None, *, fast: bool):
    try:
        with warnings.catch_warnings():
            # htmldate hands time-zone names to dateutil, which warns on unknown ones
            warnings.simplefilter("ignore", UnknownTimezoneWarning)
            return trafilatura.bare_extraction(
                tree,
                url=None,  # links are kept for their text only: resolving each one costs ~1 ms a page
                fast=fast,
                with_metadata=False,  # read by metadata.trafilatura_fields, without htmldate
                include_comments=False,
                include_tables=True,
                include_links=True,  # to tell boxes of links from prose (pipelines/extraction/body.py)
                deduplicate=False,
            )
    except Exception as exc:  # trafilatura raises many kinds on odd pages; the page is then boilerplate-only
        logger.warning("trafilatura failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None


def _dates(tree, page, result: Extraction, url, tz, hint: StatedDate | None, now, located=None):
    """Published and modified dates, from the most to the least reliable source (design.md, Time)."""
    published, modified = metadata.structured_dates(tree, page, tz=tz, now=now)
    stated_days = metadata.published_days(tree, page, tz=tz, now=now) if published is not None else {}
    if published is None and hint is not None:
        published = hint
    if published is None or modified is None or len(stated_days) > 1:
        text_published, text_modified = story.dateline(
            tree, result.title, result.text, now=now, dayfirst=day_first(page.locale), located=located
        )
        if text_published is not None and text_published.day in stated_days:
            # the structured data contradict themselves: the day the reader sees decides
            published = stated_days[text_published.day]
        published = published or text_published
        modified = modified or text_modified
    if published is None:
        # a day written into the page's own og:title: "... (Notizia del 14 Gennaio 2020)"
        # (descriptions are not used: they name the days of the events they summarise)
        found = find_text_dates(page.meta.get("og:title") or "", now=now)
        if found:
            published = StatedDate(found[0][1].value, None, "meta")
    if published is None:
        published = _htmldate(tree, url, now)
    if published is None and url:
        published = date_from_url(url, now=now)
    if published is not None and modified is not None and modified.day < published.day:
        # A "modified" date before the publication date is a mix-up: keep the publication date only.
        modified = None
    return published, modified


def _htmldate(tree: HtmlElement, url: str | None, now: datetime) -> StatedDate | None:
    """htmldate's publication day (its markup and date-element heuristics, not its full-text
    search), as a last resort before the URL; never after the fetch time."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTimezoneWarning)
            day = htmldate.find_date(
                tree, url=url, original_date=True, extensive_search=EXTENSIVE, max_date=now.strftime("%Y-%m-%d")
            )
    except Exception as exc:  # htmldate is defensive, but a crawl must not die on one page
        logger.debug("htmldate failed on %s: %s", url, exc)
        return None
    return stated_day(day, tree, url, now=now) if day else None


def _tidy(text: str | None) -> str:
    """One paragraph per line, each trimmed, no empty lines."""
    return "\n".join(line.strip() for line in (text or "").split("\n") if line.strip())


def _fallback_title(tree: HtmlElement) -> str | None:
    titles = tree.xpath("//title/text()")
    return titles[0] if titles else None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = " ".join(value.split())
    return value or None


def _unique(values) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        value = _clean(value)
        if value and value.lower() not in {k.lower() for k in seen}:
            seen[value] = None
    return list(seen)
