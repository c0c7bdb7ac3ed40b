"""Main-content extraction: the story's text and metadata, without the boilerplate around it.

One call, :func:`extract`, used by the crawl pipeline, ``newsarchive archive`` and
``newsarchive extract`` alike. A page passes through its stages once, in order, one
module each, run by :func:`extract`:

1. decode (:mod:`~pipelines.extraction.html`): bytes to text (BOM, HTTP header, ``<meta>``,
   then detection) to an lxml tree;
   then the site's template (:mod:`~pipelines.extraction.template`, when the options
   carry one): the blocks learned from the site's other stories leave the page before
   anything reads it, so that a date inside one is never the story's;
2. metadata (:mod:`~pipelines.extraction.metadata`): what the page says of itself
   (JSON-LD, meta tags, canonical links, language, title, authors, tags, the dates its
   structured data state);
3. cleaning (:mod:`~pipelines.extraction.clean`): the site's hints, ad slots, hidden
   copies, embedded posts;
4. main content (:mod:`~pipelines.extraction.main`): trafilatura's full mode;
5. body (:mod:`~pipelines.extraction.body`): the boilerplate trafilatura leaves taken
   out of its content tree, the standfirst kept apart, the text written out with the
   page's own paragraphs;
6. dates (:mod:`~pipelines.extraction.dating`): the story's own published and modified
   dates;
7. language (:mod:`~pipelines.extraction.text`): the language, and whether the page is a story.

:mod:`~pipelines.extraction.dates` (date parsing) is a library the stages share, not a stage.

Extraction is deterministic: the same bytes, URL and hints give the same result, so that
re-extracting a stored body never invents a version.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version

from crawler.options import ExtractOptions
from pipelines.extraction import template as site_template
from pipelines.extraction.dates import StatedDate
from pipelines.extraction.html import ExtractionError

__all__ = ["EXTRACTOR", "Extraction", "ExtractionError", "RULES", "extract", "warm_up"]

EXTRACTOR = f"newsarchive-extract/5 trafilatura/{version('trafilatura')}"

#: Rules switched off: for the benchmark's ablation only; empty in use.
OFF: set[str] = set()

#: The stages in the order a page passes through them (the site's template is applied with
#: the decoding, before anything reads the page).
STAGES = ("decode", "metadata", "clean", "main", "body", "dates", "language")

# The stage modules (and trafilatura, htmldate, jusText with them) load with the first
# extraction, not with this package: the crawl's own process only unpickles the workers'
# results, and a command starts about 0.2 s sooner without them.
_LAZY = {"body", "clean", "dating", "main", "metadata", "text"}


def __getattr__(name: str):
    """A stage module (``extraction.main``), loaded on first use; ``RULES``: the general rules
    that may be switched off one at a time to measure what each is worth (``python -m
    benchmarks.extraction``, ablation), each named by its stage (PEP 562)."""
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "RULES":
        from pipelines.extraction import body, clean, dating, main, metadata

        return (*metadata.RULES, *clean.RULES, *main.RULES, *body.RULES, *dating.RULES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Extraction:
    """What one page says, without its boilerplate.

    Attributes:
        title: the headline, or ``None``.
        standfirst: the summary the page prints between the headline and the story, or ``None``.
        text: the story's main content as plain text, one paragraph per line (in-story
            headings are lines of their own); ``""`` when nothing could be extracted.
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
    standfirst: str | None = None
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
    html_or_bytes: bytes | str,
    url: str | None = None,
    *,
    options: ExtractOptions = ExtractOptions(),
    content_type: str | None = None,
    hint_published: StatedDate | None = None,
    now: datetime | None = None,
) -> Extraction:
    """Extract the story from one HTML page, stage by stage (:data:`STAGES`).

    Args:
        html_or_bytes: the body bytes as delivered (after Content-Encoding), or decoded text.
        url: the page's URL (final URL after redirects); a last-resort date source.
        content_type: the ``Content-Type`` header, whose charset takes precedence over
            the page's ``<meta charset>`` (WHATWG encoding sniffing order).
        options: the site's extraction options (CSS hints, time zone, learned template).
        hint_published: a publication date from the discovery (news sitemap or feed).
        now: the fetch time (aware, UTC); dates after it are refused. Defaults to now.
            Pass the capture's ``fetched_at`` so that re-extraction gives the same result.

    Returns:
        An :class:`Extraction`; ``text`` is empty and ``is_article`` False when the page
        holds no main content.

    Raises:
        ExtractionError: the bytes are not an HTML document (empty, binary, unparsable);
            its ``kind`` is the failure kind to record.
    """
    from pipelines.extraction import body, clean, dating, html, main, metadata, text

    now = now or datetime.now(timezone.utc)
    tree, encoding = html.parse_document(html_or_bytes, content_type)  # 1. decode
    removed = site_template.apply(tree, options.template) if options.template is not None else []
    page = metadata.read(tree, url, tz=options.timezone, now=now, off=OFF)  # 2. metadata
    result = Extraction(
        title=page.title, authors=page.authors, description=page.description, sitename=page.sitename,
        tags=page.tags, image=page.image, canonical_candidates=page.canonical, is_amp=page.is_amp,
        encoding=encoding, warnings=page.warnings,
        template=options.template.label if options.template is not None else None, removed=removed,
    )
    result.include_matched = clean.run(tree, options.include, options.exclude, OFF)  # 3. cleaning
    document = main.run(tree, url, OFF)  # 4. main content
    story = body.run(document, tree, page.title, OFF)  # 5. body
    result.text, result.standfirst = story.text, story.standfirst
    result.published, result.modified = dating.run(tree, page, story, url, hint_published, now, OFF)  # 6. dates
    result.language = text.language(result.text, page.language)  # 7. language
    result.is_article = text.looks_like_article(result.text, page.declares_article, page.og_type)
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
