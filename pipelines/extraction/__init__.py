"""Main-content extraction: the story's text and metadata, without the boilerplate around it.

One call, :func:`extract`, used by the crawl pipeline, ``newsarchive archive`` and
``newsarchive extract`` alike. It runs in order:

1. decode the bytes (:mod:`pipelines.extraction.html`: BOM, HTTP header, ``<meta>``,
   then detection, the order of w3lib's ``html_to_unicode``) and parse them;
2. apply the site's extraction hints (``[source.extract]``: keep ``include``, drop
   ``exclude``);
3. trafilatura separates the main content from boilerplate (comments excluded) and reads
   the title, authors, description, site name, tags and image;
4. the headline is taken off the start of the text (it is a field of its own);
5. dates come from structured data (JSON-LD, meta tags, ``<time>``), then from the
   discovery (news sitemap, feed), then from the story's visible dateline, then from the
   URL (:mod:`pipelines.extraction.dates`, :mod:`pipelines.extraction.story`);
6. the page is judged an article or not (:func:`pipelines.extraction.text.looks_like_article`).

Extraction is deterministic: the same bytes, URL and hints give the same result, so that
re-extracting a stored body never invents a version.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

import trafilatura
from dateutil.parser import UnknownTimezoneWarning
from lxml.html import HtmlElement

from pipelines.extraction import metadata, story
from pipelines.extraction.dates import StatedDate, date_from_url
from pipelines.extraction.html import ExtractionError, apply_hints, parse_html
from pipelines.extraction.text import detect_language, looks_like_article, split_list, strip_headline

logger = logging.getLogger(__name__)

__all__ = ["EXTRACTOR", "Extraction", "ExtractionError", "extract"]

EXTRACTOR = f"newsarchive-extract/1 trafilatura/{trafilatura.__version__}"


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
        extractor: name and version of this extraction.
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
    extractor: str = EXTRACTOR


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

    Returns:
        An :class:`Extraction`; ``text`` is empty and ``is_article`` False when the page
        holds no main content.

    Raises:
        ExtractionError: the bytes are not an HTML document (empty, binary, unparsable).
    """
    now = now or datetime.now(timezone.utc)
    tree = parse_html(html, content_type)
    result = Extraction(
        canonical_candidates=metadata.canonical_candidates(tree),
        is_amp=metadata.amphtml_of(tree),
    )
    work = apply_hints(tree, include, exclude)
    document = _trafilatura(work, url)
    if document is not None:
        result.title = _clean(document.title)
        result.text = strip_headline(_tidy(document.text), result.title)
        result.authors = split_list(document.author)
        result.description = _clean(document.description)
        result.sitename = _clean(document.sitename)
        result.tags = _unique([*(document.tags or []), *(document.categories or [])])
        result.image = _clean(document.image)
    else:
        result.title = _clean(_fallback_title(tree))
    result.published, result.modified = _dates(tree, result, url, timezone_name, hint_published, now)
    result.language = detect_language(result.text, metadata.declared_language(tree))
    result.is_article = looks_like_article(result.text, metadata.jsonld_is_article(tree), metadata.og_type(tree))
    return result


def _trafilatura(tree: HtmlElement, url: str | None):
    try:
        with warnings.catch_warnings():
            # htmldate hands time-zone names to dateutil, which warns on unknown ones
            warnings.simplefilter("ignore", UnknownTimezoneWarning)
            return trafilatura.bare_extraction(
                tree,
                url=url,
                with_metadata=True,
                include_comments=False,
                include_tables=True,
                deduplicate=False,
            )
    except Exception as exc:  # trafilatura raises many kinds on odd pages; the page is then boilerplate-only
        logger.warning("trafilatura failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None


def _dates(tree, result: Extraction, url, tz, hint: StatedDate | None, now):
    published, modified = metadata.structured_dates(tree, tz=tz, now=now)
    if published is None and hint is not None:
        published = hint
    if published is None or modified is None:
        text_published, text_modified = story.dateline(tree, result.title, result.text, now=now)
        published = published or text_published
        modified = modified or text_modified
    if published is None and url:
        published = date_from_url(url, now=now)
    if published is not None and modified is not None and modified.day < published.day:
        # A "modified" date before the publication date is a mix-up: keep the publication date only.
        modified = None
    return published, modified


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
