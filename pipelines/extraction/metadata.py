"""Page metadata read straight from the HTML: JSON-LD, meta tags, canonical links, language.

trafilatura reads most metadata itself; this module reads what an archive needs and
trafilatura does not keep: dates with their time and offset (trafilatura's htmldate
gives days only), where each date came from, the declared canonical URL candidates and
the declared language.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from dataclasses import dataclass, field

from lxml.etree import XPath
from lxml.html import HtmlElement

from pipelines.extraction.dates import StatedDate, parse_stated_date
from archive.urls import strip_credentials

logger = logging.getLogger(__name__)

# CDATA sections and HTML comments that pages wrap around JSON-LD (with or without `//`).
_JSON_WRAPPERS = re.compile(r"(?://\s*)?(?:<!\[CDATA\[|\]\]>|<!--|-->)")

# schema.org types whose dates are the story's own (https://schema.org/Article and subtypes).
ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle",
    "blogposting", "liveblogposting", "report", "scholarlyarticle", "techarticle",
    "socialmediaposting", "discussionforumposting", "satiricalarticle", "advertisercontentarticle",
}
PAGE_TYPES = {"webpage", "itempage", "aboutpage", "collectionpage", "searchresultspage"}

# Meta tags naming the publication date, most specific first (Open Graph article
# protocol, Dublin Core, Highwire/Google Scholar citation tags, common CMS tags).
PUBLISHED_META = [
    "article:published_time", "og:article:published_time", "og:published_time",
    "datepublished", "pubdate", "publishdate", "publish-date", "publish_date",
    "article.published", "article_date_original", "original-publish-date",
    "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
    "dc.date.created", "dcterms.created", "citation_publication_date", "citation_online_date",
    "citation_date", "prism.publicationdate", "dc.date", "dcterms.date", "date",
    "publication_date", "cxenseparse:recs:publishtime", "timestamp", "og:pubdate",
]
MODIFIED_META = [
    "article:modified_time", "og:article:modified_time", "og:updated_time", "datemodified",
    "last-modified", "lastmod", "dcterms.modified", "dc.date.modified", "article.updated",
    "parsely-updated", "modified_date", "revised",
]


def _jsonld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's ``application/ld+json`` scripts, ``@graph`` flattened."""
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        raw = _JSON_WRAPPERS.sub("", script.text or "").strip()
        if not raw:
            continue
        try:
            # strict=False: raw newlines inside strings are common in real JSON-LD
            data = json.loads(raw, strict=False)
        except ValueError:
            logger.debug("unreadable JSON-LD skipped: %.60r", raw)
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type", [])
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1].lower() for v in values}


def _meta_values(tree: HtmlElement) -> dict[str, str]:
    """Meta tags by lower-case ``property``/``name``/``itemprop``/``http-equiv`` (first wins)."""
    values: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = meta.get("content")
        if content is None:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                values.setdefault(key.strip().lower(), content.strip())
    return values


def structured_dates(
    tree: HtmlElement, page: PageMeta | None = None, *, tz: str | None = None, now: datetime | None = None
) -> tuple[StatedDate | None, StatedDate | None]:
    """Published and modified dates from the page's structured data: JSON-LD, then meta tags,
    then ``<time>``/``itemprop`` elements. Returns ``(published, modified)``; either may be ``None``.
    """
    page = page or read(tree)
    published = modified = None
    article = page.article
    if article is not None:
        published = _first_date([article.get("datePublished"), article.get("dateCreated")], "jsonld", tz, now)
        modified = _first_date([article.get("dateModified")], "jsonld", tz, now)
    meta = page.meta
    if published is None:
        published = _first_date([meta.get(k) for k in PUBLISHED_META], "meta", tz, now)
    if modified is None:
        modified = _first_date([meta.get(k) for k in MODIFIED_META], "meta", tz, now)
    if published is None:
        published = _first_date(page.element_dates["datePublished"], "time", tz, now)
    if modified is None:
        modified = _first_date(page.element_dates["dateModified"], "time", tz, now)
    return published, modified


def published_days(tree: HtmlElement, page: PageMeta, *, tz: str | None = None, now: datetime | None = None) -> dict[str, StatedDate]:
    """Every publication date the page's structured data states, by day (``YYYY-MM-DD``),
    the first statement of each day kept: more than one day means the page contradicts itself."""
    days: dict[str, StatedDate] = {}
    for name, source, raw in date_candidates(tree, page):
        stated = _first_date([raw], source, tz, now) if name == "published" else None
        if stated is not None:
            days.setdefault(stated.day, stated)
    return days


def date_candidates(tree: HtmlElement, page: PageMeta | None = None) -> list[tuple[str, str, str]]:
    """Every date the page's structured data states, as ``(field, source, raw)`` with field
    ``published`` or ``modified`` and source ``jsonld``, ``meta`` or ``time``: what
    :func:`structured_dates` chooses from (used to report refused dates)."""
    page = page or read(tree)
    found: list[tuple[str, str, str]] = []

    def add(field: str, source: str, values) -> None:
        for value in values:
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                found.append((field, source, value))

    if page.article is not None:
        add("published", "jsonld", [page.article.get("datePublished"), page.article.get("dateCreated")])
        add("modified", "jsonld", [page.article.get("dateModified")])
    add("published", "meta", [page.meta.get(k) for k in PUBLISHED_META])
    add("modified", "meta", [page.meta.get(k) for k in MODIFIED_META])
    add("published", "time", page.element_dates["datePublished"])
    add("modified", "time", page.element_dates["dateModified"])
    return found


_DATE_ELEMENTS = XPath('//@itemprop[. = "datePublished" or . = "dateModified"]/.. | //time[@pubdate]')  # attribute axis: fast


def _element_dates(tree: HtmlElement) -> dict[str, list[str]]:
    """Values of elements marked ``itemprop=datePublished`` / ``dateModified``, by itemprop;
    ``<time pubdate>`` values follow the ``datePublished`` ones (one pass over the tree)."""
    values: dict[str, list[str]] = {"datePublished": [], "dateModified": []}
    pubdates = []
    for el in _DATE_ELEMENTS(tree):
        itemprop = el.get("itemprop")
        if itemprop in values:
            values[itemprop].append(el.get("datetime") or el.get("content") or el.text_content())
        elif el.tag == "time" and el.get("pubdate") is not None:
            pubdates.append(el.get("datetime") or el.text_content())
    values["datePublished"] += pubdates
    return values


def _first_date(values, source: str, tz, now) -> StatedDate | None:
    for value in values:
        if isinstance(value, list):
            value = value[0] if value else None
        stated = parse_stated_date(value, source, tz=tz, now=now) if isinstance(value, str) else None
        if stated is not None:
            return stated
    return None


def canonical_candidates(tree: HtmlElement, meta: dict[str, str] | None = None) -> list[str]:
    """The URLs the page declares as its own: ``<link rel=canonical>`` then ``og:url`` (raw,
    unresolved; any ``user:password@`` dropped). ``meta``: the page's meta values, if read already."""
    found = []
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            found.append(strip_credentials(link.get("href").strip()))
    meta = meta if meta is not None else _meta_values(tree)
    if meta.get("og:url"):
        found.append(strip_credentials(meta["og:url"]))
    return found


def amphtml_of(tree: HtmlElement) -> bool:
    """True when this page is an AMP page (``<html amp>`` or ``<html ⚡>``)."""
    root = tree.getroottree().getroot()
    return root is not None and ("amp" in root.attrib or "⚡" in root.attrib)


def declared_locale(
    tree: HtmlElement, article: dict[str, Any] | None = None, meta: dict[str, str] | None = None
) -> str | None:
    """The language tag the page declares, first of ``<html lang>`` (or ``xml:lang``),
    Content-Language, ``og:locale``, JSON-LD ``inLanguage``: lower case, ``-`` separated
    (``en-gb``, ``pt-br``, ``fr``), or ``None``. ``meta``: the page's meta values, if read already."""
    root = tree.getroottree().getroot()
    candidates = []
    if root is not None:
        candidates += [root.get("lang"), root.get("xml:lang"), root.get("{http://www.w3.org/XML/1998/namespace}lang")]
    meta = meta if meta is not None else _meta_values(tree)
    candidates += [meta.get("content-language"), meta.get("og:locale"), meta.get("language")]
    if article is not None and isinstance(article.get("inLanguage"), str):
        candidates.append(article["inLanguage"])
    for value in candidates:
        if value:
            tag = value.strip().replace("_", "-").split(",")[0].strip().lower()
            primary = tag.split("-")[0]
            if 2 <= len(primary) <= 3 and primary.isalpha():
                return tag
    return None


def declared_language(tree: HtmlElement, article: dict[str, Any] | None = None) -> str | None:
    """The language the page declares (:func:`declared_locale`), as a lower-case primary
    subtag (``en``, ``pt``), or ``None``."""
    locale = declared_locale(tree, article)
    return locale.split("-")[0] if locale else None


@dataclass
class PageMeta:
    """What the page says of itself, read once: JSON-LD, meta tags, canonical links, language.

    Attributes:
        article: the main schema.org Article (or WebPage) object, or ``None``.
        meta: meta tag values by lower-case name/property.
        canonical: declared canonical URLs (``rel=canonical``, ``og:url``), raw.
        language: declared language, primary subtag.
        locale: the whole declared language tag (``en-gb``), which orders numeric dates.
        declares_article: JSON-LD Article type or ``og:type=article``.
        og_type: ``og:type``, lower-case.
        is_amp: the page is an AMP page.
        element_dates: values of the elements marked ``itemprop=datePublished`` (and
            ``<time pubdate>``) and ``itemprop=dateModified``, by itemprop.
    """

    article: dict[str, Any] | None = None
    meta: dict[str, str] = field(default_factory=dict)
    canonical: list[str] = field(default_factory=list)
    language: str | None = None
    locale: str | None = None
    declares_article: bool = False
    og_type: str | None = None
    is_amp: bool = False
    element_dates: dict[str, list[str]] = field(default_factory=lambda: {"datePublished": [], "dateModified": []})


def read(tree: HtmlElement) -> PageMeta:
    """Read a page's own statements about itself (see :class:`PageMeta`)."""
    objects = list(_jsonld_objects(tree))
    articles = [o for o in objects if _types(o) & ARTICLE_TYPES]
    pages = [o for o in objects if _types(o) & PAGE_TYPES]
    meta = _meta_values(tree)
    og = meta.get("og:type", "").lower() or None
    locale = declared_locale(tree, articles[0] if articles else None, meta)
    return PageMeta(
        article=articles[0] if articles else (pages[0] if pages else None),
        meta=meta,
        canonical=canonical_candidates(tree, meta),
        language=locale.split("-")[0] if locale else None,
        locale=locale,
        declares_article=bool(articles) or og == "article",
        og_type=og,
        is_amp=amphtml_of(tree),
        element_dates=_element_dates(tree),
    )


def trafilatura_fields(tree: HtmlElement, url: str | None = None):
    """Title, author, description, site name, categories, tags and image, read with
    trafilatura's own metadata functions, as in ``trafilatura.metadata.extract_metadata``
    but without its date (htmldate): dates are read by :func:`structured_dates` and the
    later stages, and htmldate runs only when they find none. The author comes from the
    meta tags and JSON-LD here; a byline in the page is read last, by :func:`page_author`.

    Returns:
        a ``trafilatura.settings.Document`` (fields may be ``None``).
    """
    from trafilatura import metadata as tm

    document = tm.examine_meta(tree)
    if document.author and " " not in document.author:
        document.author = None  # a single token is a handle or a site, not a name (trafilatura's rule)
    try:
        document = tm.extract_meta_json(tree, document)
    except Exception as exc:  # trafilatura's JSON-LD reader is fragile on malformed data
        logger.debug("trafilatura JSON-LD metadata failed: %s", exc)
    document.title = document.title or tm.extract_title(tree)
    # a page's og:url or image may carry user:password@, which must never be stored
    document.url = strip_credentials(document.url) if document.url else url
    if document.image:
        document.image = strip_credentials(document.image)
    if not document.sitename:
        document.sitename = tm.extract_sitename(tree)
    if document.sitename:
        document.sitename = document.sitename.lstrip("@")
    elif document.url and (match := tm.META_URL.match(document.url)):
        document.sitename = match[1]
    # (trafilatura's fallback of reading tags from /tag/ and /category/ links is left out:
    # slow, and on news pages it picks up the site's navigation as often as the story's tags)
    document.clean_and_trim()
    return document


def page_author(tree: HtmlElement) -> str | None:
    """The author named by a byline in the page (trafilatura's ``extract_author``: its
    author XPaths, outside comments and other discarded sections), or ``None``.

    Prunes ``tree`` in place, where trafilatura prunes a copy (a copy of the whole page
    costs about 0.4 ms): call it last, on a tree nothing else will read.
    """
    from trafilatura import metadata as tm
    from trafilatura.htmlprocessing import prune_unwanted_nodes

    author = tm.extract_metainfo(prune_unwanted_nodes(tree, tm.AUTHOR_DISCARD_XPATHS), tm.AUTHOR_XPATHS, len_limit=120)
    return tm.normalize_authors(None, author) if author else None
