"""Stage 2, metadata: what the page says of itself, read once (:func:`read`).

Title, authors, description, site name, tags and image with trafilatura's own metadata
functions; and what an archive needs that trafilatura does not keep: the dates the
structured data state (JSON-LD wherever the article object nests, meta tags, date
elements) with their time and offset, where each came from, the declared canonical URL
candidates and the declared language.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from copy import deepcopy

from dataclasses import dataclass, field

from lxml.etree import XPath
from lxml.html import HtmlElement

from archive.urls import strip_credentials
from pipelines.extraction.dates import StatedDate, find_text_dates, future_date, parse_stated_date

logger = logging.getLogger(__name__)

#: the rules that may be switched off (benchmarks.extraction, ablation)
RULES = ("byline_names",)
#: a byline's "by", in the languages of the shared pages
BY_WORDS = {"by", "par", "von", "vom", "por", "di", "door", "av", "af"}
#: words joining two authors, and the marks between two
JOINS = {"and", "&", "und", "et", "y", "e"}
SEPARATORS = {"|", "/", ";", ",", "·", "•", "-", "–", "—"}
#: a weekday before a byline's date ("Monday, November 18, 2019"), in English (the C
#: locale's names) and the other languages of the shared pages
WEEKDAYS = {day.lower() for day in (*calendar.day_name, *calendar.day_abbr)} | {
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo",
    "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira",
    "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
}
#: a label or a preposition just before a byline's date ("| Updated 2 hours ago", "on 3 May")
DATE_LABEL = re.compile(
    r"updated|published|posted|modified|last|on|at|am|le|el|il|op|em|den|der|aktualisiert|veröffentlicht|"
    r"publié|publiée|mis|actualizado|publicado|aggiornato|pubblicato|bijgewerkt|gepubliceerd"
)

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
    """Every JSON object in the page's ``application/ld+json`` scripts, in breadth-first order:
    top-level objects and lists, then what they hold under ``@graph``, ``mainEntity`` and
    ``mainEntityOfPage``. Other nested objects (``hasPart``, ``liveBlogUpdate``, item lists)
    are other stories or parts, not the page's own article."""
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
                # the page's own objects nest: a @graph, a WebPage's mainEntity (schema.org)
                for key in ("@graph", "mainEntity", "mainEntityOfPage"):
                    if isinstance(item.get(key), (list, dict)):
                        stack.append(item[key])


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


def _date_candidates(tree: HtmlElement, article: dict[str, Any] | None, meta: dict[str, str]) -> list[tuple[str, str, str]]:
    """Every date the page's structured data state, most reliable first, as ``(field,
    source, raw)``: field ``published`` or ``modified``, source ``jsonld`` (the article
    object), ``meta`` (:data:`PUBLISHED_META`, :data:`MODIFIED_META`, in that order) or
    ``time`` (``itemprop=datePublished``/``dateModified`` elements, then ``<time pubdate>``)."""
    found: list[tuple[str, str, str]] = []

    def add(name: str, source: str, values) -> None:
        for value in values:
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                found.append((name, source, value))

    if article is not None:
        add("published", "jsonld", [article.get("datePublished"), article.get("dateCreated")])
        add("modified", "jsonld", [article.get("dateModified")])
    add("published", "meta", [meta.get(k) for k in PUBLISHED_META])
    add("modified", "meta", [meta.get(k) for k in MODIFIED_META])
    pubdates = []
    for el in _DATE_ELEMENTS(tree):
        itemprop = el.get("itemprop")
        if itemprop in ("datePublished", "dateModified"):
            add("published" if itemprop == "datePublished" else "modified", "time", [el.get("datetime") or el.get("content") or el.text_content()])
        elif el.tag == "time" and el.get("pubdate") is not None:
            pubdates.append(el.get("datetime") or el.text_content())
    add("published", "time", pubdates)
    return found


_DATE_ELEMENTS = XPath('//@itemprop[. = "datePublished" or . = "dateModified"]/.. | //time[@pubdate]')  # attribute axis: fast


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


@dataclass
class PageMeta:
    """What the page says of itself, read once (stage 2).

    Attributes:
        title, description, sitename, image: as the page states them (or ``None``).
        authors, tags: lists of strings.
        article: the main schema.org Article (or WebPage) object, or ``None``.
        meta: meta tag values by lower-case name/property.
        canonical: declared canonical URLs (``rel=canonical``, ``og:url``), raw.
        language: declared language, primary subtag.
        locale: the whole declared language tag (``en-gb``), which orders numeric dates.
        declares_article: JSON-LD Article type or ``og:type=article``.
        og_type: ``og:type``, lower-case.
        is_amp: the page is an AMP page.
        published / modified: the first date the structured data state for each
            (JSON-LD, then meta tags, then date elements), or ``None``.
        published_days: every publication day the structured data state, the first
            statement of each kept: more than one means the page contradicts itself.
        warnings: dates refused for lying in the future (``future_date: ...``).
    """

    title: str | None = None
    description: str | None = None
    sitename: str | None = None
    image: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    article: dict[str, Any] | None = None
    meta: dict[str, str] = field(default_factory=dict)
    canonical: list[str] = field(default_factory=list)
    language: str | None = None
    locale: str | None = None
    declares_article: bool = False
    og_type: str | None = None
    is_amp: bool = False
    published: StatedDate | None = None
    modified: StatedDate | None = None
    published_days: dict[str, StatedDate] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read(
    tree: HtmlElement, url: str | None = None, *, tz: str | None = None, now: datetime | None = None, off: set[str] = frozenset()
) -> PageMeta:
    """Read a page's own statements about itself (see :class:`PageMeta`); dates are parsed
    in the zone ``tz`` (for those stated without an offset) and refused after ``now``.
    ``off``: rules switched off (:data:`RULES`)."""
    objects = list(_jsonld_objects(tree))
    articles = [o for o in objects if _types(o) & ARTICLE_TYPES]
    pages = [o for o in objects if _types(o) & PAGE_TYPES]
    meta = _meta_values(tree)
    og = meta.get("og:type", "").lower() or None
    article = articles[0] if articles else (pages[0] if pages else None)
    locale = declared_locale(tree, articles[0] if articles else None, meta)
    page = PageMeta(
        article=article,
        meta=meta,
        canonical=canonical_candidates(tree, meta),
        language=locale.split("-")[0] if locale else None,
        locale=locale,
        declares_article=bool(articles) or og == "article",
        og_type=og,
        is_amp=amphtml_of(tree),
    )
    for name, source, raw in _date_candidates(tree, article, meta):
        stated = parse_stated_date(raw, source, tz=tz, now=now)
        if stated is None:
            future = future_date(raw, source, tz=tz, now=now)
            warning = f"future_date: {name} {future.value} ({source}) ignored" if future else None
            if warning and warning not in page.warnings:
                page.warnings.append(warning)
        elif name == "published":
            page.published = page.published or stated
            page.published_days.setdefault(stated.day, stated)
        else:
            page.modified = page.modified or stated
    _trafilatura_fields(tree, url, page, off)
    return page


def _trafilatura_fields(tree: HtmlElement, url: str | None, page: PageMeta, off: set[str] = frozenset()) -> None:
    """Title, authors, description, site name, tags and image, read with trafilatura's own
    metadata functions as in ``trafilatura.metadata.extract_metadata``, without its date
    (htmldate: dates are the dates stage's). Authors from meta tags and JSON-LD, else from
    a byline in the page (:func:`byline`)."""
    from trafilatura import metadata as tm

    _drop_author_emails(tree)
    document = tm.examine_meta(tree)
    if document.author and " " not in document.author:
        document.author = None  # a single token is a handle or a site, not a name (trafilatura's rule)
    meta_author = document.author
    try:
        document = tm.extract_meta_json(tree, document)
    except Exception as exc:  # trafilatura's JSON-LD reader is fragile on malformed data
        logger.debug("trafilatura JSON-LD metadata failed: %s", exc)
    if page.article is not None and "liveblogposting" in _types(page.article):
        # trafilatura reads a live blog's updates in place of the blog (json_metadata.extract_json):
        # the newest update's headline and authors would pass for the blog's own
        headline = page.article.get("headline")
        document.title = headline if isinstance(headline, str) else None
        document.author = meta_author
        for name in _person_names(page.article.get("author")):
            document.author = tm.normalize_authors(document.author, name)
    document.title = document.title or tm.extract_title(tree)
    # a page's og:url or image may carry user:password@, which must never be stored
    document.url = strip_credentials(document.url) if document.url else url
    if not document.sitename:
        document.sitename = tm.extract_sitename(tree)
    if document.sitename:
        document.sitename = document.sitename.lstrip("@")
    elif document.url and (match := tm.META_URL.match(document.url)):
        document.sitename = match[1]
    # (trafilatura's fallback of reading tags from /tag/ and /category/ links is left out:
    # slow, and on news pages it picks up the site's navigation as often as the story's tags)
    document.clean_and_trim()
    titles = tree.xpath("//title/text()")
    page.title = _clean(document.title) or _clean(titles[0] if titles else None)
    page.description = _clean(document.description)
    page.sitename = _clean(document.sitename)
    page.image = _clean(strip_credentials(document.image) if document.image else None)
    page.tags = _unique(re.split(r"[,;]", ",".join([*(document.tags or []), *(document.categories or [])])))
    author = document.author
    if not author:
        found = byline(tree)
        if found and "byline_names" not in off:
            found = _byline_names(found)
        author = tm.normalize_authors(None, _without_emails(found)) if found else None
    page.authors = _authors(author)


def byline(tree: HtmlElement) -> str | None:
    """The page's byline, as trafilatura reads it when the metadata name no author:
    ``extract_metainfo(prune_unwanted_nodes(deepcopy(tree), AUTHOR_DISCARD_XPATHS),
    AUTHOR_XPATHS, len_limit=120)``, the first candidate's text of 3 to 119 characters,
    white space folded; ``None`` without one.

    The same result without copying and pruning the page: a candidate inside a discarded
    element is skipped (pruning removes it), and only a candidate that holds discarded
    elements is copied and pruned, alone (what pruning does inside an element depends on
    nothing outside it: trafilatura's ``delete_element`` moves a removed element's tail to
    its previous sibling or its parent, both inside). Tested equal on the shared pages.
    """
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.utils import trim

    for expression in BYLINE_XPATHS:
        for candidate in expression(tree):
            if _DISCARDED_AROUND(candidate):
                continue
            if _DISCARDED_INSIDE(candidate):
                candidate = prune_unwanted_nodes(deepcopy(candidate), BYLINE_DISCARD_XPATHS)
            content = trim(" ".join(candidate.itertext()))
            if content and 2 < len(content) < 120:
                return content
    return None


def _contains_any(words: list[str]) -> str:
    return " or ".join(f"contains(., '{w}')" for w in words)


def _any_element(tags: list[str]) -> str:
    return " or ".join(f"self::{t}" for t in tags)


# trafilatura's byline XPaths (trafilatura.xpaths AUTHOR_XPATHS and AUTHOR_DISCARD_XPATHS,
# 2.3.1), written on the attribute axis (//@class[...]/parent::*) and without EXSLT regular
# expressions (each pattern is a plain substring or a prefix): the same elements, in the
# same order (tests/test_extraction_rules.py compares them on the shared pages), in about
# half the time (9 -> 4.4 ms a page that has no author metadata)
BYLINE_XPATHS = [
    XPath(
        "(//@rel[. = 'author'] | //@id[. = 'author'] | //@itemprop[. = 'author name'] | //rel[. = 'me']"
        " | //@data-testid[. = 'AuthorCard' or . = 'AuthorURL']"
        " | //@class[. = 'author' or " + _contains_any(["authorname", "author-name", "AuthorName", "authorName"]) + "])"
        "/parent::*[" + _any_element(["a", "address", "div", "link", "p", "span", "strong"]) + "] | //author"
    ),
    XPath(
        "(//@class[. = 'byline' or . = 'username' or . = 'byl' or . = 'BBL' or "
        + _contains_any(["author", "channel-name", "zuozhe", "bianji", "xiaobian", "submitted-by", "posted-by", "journalist-name"]) + "]"
        " | //@itemprop[contains(., 'author')] | //@id[" + _contains_any(["author", "zuozhe", "bianji", "xiaobian"]) + "])"
        "/parent::*[" + _any_element(["a", "div", "h3", "h4", "p", "span"]) + "]"
    ),
    XPath(
        "(//@data-component[contains(., 'Byline')] | //@itemprop[contains(., 'author')] | //@id[" + _contains_any(["Author", "author"]) + "]"
        " | //@class[" + _contains_any(["Author", "author", "screenname", "writer", "Byline", "byline"]) + "])/parent::*"
    ),
]
_DISCARD_ID = "starts-with(., 'comments') or " + _contains_any(["commentlist", "comment-list", "ProductReviews"])
_DISCARD_CLASS = (
    ". = 'title' or . = 'date' or starts-with(., 'Comments') or starts-with(., 'comments') or "
    + _contains_any(["commentlist", "comments-list", "sidebar", "is-hidden", "quote", "embedly-instagram", "article-share",
                     "article-support", "print", "category", "meta-date", "meta-reviewer"])
)
_DISCARD_TAGS = ["a", "div", "section", "span"]
BYLINE_DISCARD_XPATHS = [
    XPath(
        f"(//@id[{_DISCARD_ID}] | //@class[{_DISCARD_CLASS}] | //@data-component[contains(., 'Figure')])"
        f"/parent::*[{_any_element(_DISCARD_TAGS)}]"
    ),
    XPath("//time|//figure"),
]
# an element BYLINE_DISCARD_XPATHS select, tested on one element and its ancestors or descendants
_DISCARDED = (
    f"self::time or self::figure or (({_any_element(_DISCARD_TAGS)}) and "
    f"(@id[{_DISCARD_ID}] or @class[{_DISCARD_CLASS}] or @data-component[contains(., 'Figure')]))"
)
_DISCARDED_AROUND = XPath(f"boolean(ancestor-or-self::*[{_DISCARDED}])")
_DISCARDED_INSIDE = XPath(f"boolean(descendant::*[{_DISCARDED}])")


NOT_NAMES = {"username", "user", "admin", "administrator", "editor", "author", "staff writer", "guest"}


def _authors(value: str | None) -> list[str]:
    """trafilatura's ``"A; B"`` as ``["A", "B"]``, without repeats (compared case-insensitively)
    and without what is not a name: placeholders ("Username"), initials of two letters or fewer."""
    kept: dict[str, str] = {}
    for name in (value or "").split(";"):
        name = " ".join(name.split())
        if len(name) > 2 and name.lower() not in NOT_NAMES:
            kept.setdefault(name.lower(), name)
    return list(kept.values())


_AUTHOR_METAS_WITH_AN_EMAIL = XPath(
    "//head/meta[contains(@content, '@') and (contains(translate(@name, 'AUTHORCE', 'authorce'), 'author')"
    " or contains(translate(@name, 'AUTHORCE', 'authorce'), 'creator') or contains(@property, 'author'))]"
)


def _drop_author_emails(tree: HtmlElement) -> None:
    """Take e-mail addresses out of the page's author ``<meta>`` values, in place (the
    byline read from the page loses them too): trafilatura's ``normalize_authors`` makes a
    name of an address listed with one ("Darcie Moran | dmoran@mlive.com" gives "Darcie
    Moran; Dmoran Com", "Jane Roe, jane@x.co.uk" gives "Jane Roe Co Uk")."""
    for meta in _AUTHOR_METAS_WITH_AN_EMAIL(tree):
        meta.set("content", _without_emails(meta.get("content", "")))


def _byline_names(text: str) -> str:
    """The names of a byline as the page prints it, without its date or time: trafilatura's
    ``normalize_authors`` drops the digits and keeps the rest ("Nathan Willis March",
    "Jeff Foust Monday", "Jan Novák před" for "před 2 hodinami", "ago").

    The byline is cut at its dates and digits. The names are the part after a "by" word
    (:data:`BY_WORDS` opening a part: in lower case, or capitalised before two words or
    more, "Par Attac France" but not "Di Caprio"; or an English "by" among the first words
    of a part with no separator before it: "Posted by", "View all posts by"), else the
    first part, unless it is empty or a label ("Published:"): then the names after a
    separator in a later part ("03.03.2021 | Hans Müller"); never a part that only follows
    a time ("9:39AM BST"). A later part adds the names after its join or separator ("By A,
    3 March and B", "A | 3 March | B"). Before a date, a weekday (:data:`WEEKDAYS`) and a
    label (:data:`DATE_LABEL`: "Updated", "on") go, and lower-case words after capitalised
    names ("... says:"), unless "and" or a separator comes before them (another author:
    "Kate Crawford and danah boyd"); never so far that a name is left with one word ("Li
    Sun", "Thuy Le", "John smith"). Separators stay between names (trafilatura splits
    authors at ``,;|/&``)."""
    starts = sorted({offset for offset, _ in find_text_dates(text, short_years=True)})
    parts: list[tuple[list[str], bool]] = []  # (words, a date or number follows)
    for a, b in zip([0, *starts], [*starts, len(text)]):
        pieces = re.split(r"\d+", text[a:b])
        parts += [(piece.split(), i < len(pieces) - 1 or b < len(text)) for i, piece in enumerate(pieces)]
    words = _names_part(parts)
    run = len(words)  # the words in lower case at the end
    while run and words[run - 1][:1].islower() and words[run - 1].lower() not in JOINS:
        run -= 1
    joined = run and (words[run - 1].lower() in JOINS or not _has_letters(words[run - 1]) or words[run - 1].endswith(","))
    if run < len(words) and any(_has_capital(word) for word in words[:run]) and not joined and _last_name_words(words[:run]) >= 2:
        words = words[:run]
    return " ".join(_trimmed(words))


def _names_part(parts: list[tuple[list[str], bool]]) -> list[str]:
    """The words of the names in a byline's parts (see :func:`_byline_names`)."""
    chosen = None
    for index, (words, dated) in enumerate(parts):
        letters = [i for i, word in enumerate(words) if _has_letters(word)]
        first = words[letters[0]] if letters else ""
        english_by = next((i for i, word in enumerate(words[:5]) if word.lower() == "by"), None)
        if first.lower() in BY_WORDS and (first[:1].islower() and len(letters) > 1 or len(letters) > 2):
            chosen = (index, words[letters[0] + 1 :], dated)
        elif english_by is not None and not any(_separates(word) or word.endswith(",") for word in words[:english_by]):
            chosen = (index, words[english_by + 1 :], dated)
        if chosen:
            break
    if chosen is None:
        first, dated = parts[0]
        named = [word for word in first if _has_letters(word)]
        if named and not (len(named) <= 2 and first[-1].endswith(":")):  # "Published:", "Last Updated:" name nobody
            chosen = (0, first, dated)
        else:  # a date or a label first: the names after a separator in a later part
            for index, (words, dated) in enumerate(parts[1:], 1):
                after = _after_separator(words)
                if after and any(_has_capital(word) for word in after):
                    chosen = (index, after, dated)
                    break
    if chosen is None:
        return []
    index, words, dated = chosen
    names = _before_date(words) if dated else list(words)
    for more, more_dated in parts[index + 1 :]:
        added = more if more and more[0].lower() in JOINS else _after_separator(more, keep=True)
        if added and any(_has_capital(word) for word in added):
            names += _before_date(added) if more_dated else added
    return names


def _after_separator(words: list[str], keep: bool = False) -> list[str]:
    """The words after the first separator or join in ``words`` (with it, if ``keep``)."""
    for i, word in enumerate(words):
        if _separates(word):
            return words[i if keep else i + 1 :]
    return []


def _separates(word: str) -> bool:
    """Whether ``word`` separates two names: "and" (:data:`JOINS`), "|", "/", ";", "·", a dash."""
    return word.lower() in JOINS or word in SEPARATORS


def _before_date(words: list[str]) -> list[str]:
    """``words`` without the weekday, label or separators that lead into the date after
    them; a capitalised one only while the name before it keeps two words ("Li Sun")."""
    words = list(words)
    while words:
        last = words[-1].strip(",:").lower()
        label = last in WEEKDAYS or DATE_LABEL.fullmatch(last)
        if not _has_letters(words[-1]) or (label and (words[-1][:1].islower() or _last_name_words(words[:-1]) >= 2)):
            words.pop()
        else:
            break
    if words:
        words[-1] = words[-1].rstrip(",")
    return words


def _last_name_words(words: list[str]) -> int:
    """The words of the last name in ``words`` (after its last separator, join or comma)."""
    count = 0
    for word in reversed(words):
        if not _has_letters(word) or _separates(word) or (count and word.endswith(",")):
            if count:
                break
            continue  # separators after the name
        count += 1
    return count


def _trimmed(words: list[str]) -> list[str]:
    """``words`` without separators at either end ("| Jane Doe,")."""
    words = list(words)
    while words and not _has_letters(words[0]):
        words.pop(0)
    while words and not _has_letters(words[-1]):
        words.pop()
    if words:
        words[-1] = words[-1].rstrip(",;:|/-")
    return words


def _has_capital(word: str) -> bool:
    return any(c.isupper() for c in word)


def _has_letters(word: str) -> bool:
    return bool(re.search(r"[^\W\d_]", word))


def _without_emails(text: str) -> str:
    """``text`` without its e-mail addresses, and without the separators they leave at its ends."""
    from trafilatura.json_metadata import AUTHOR_EMAIL  # trafilatura's own e-mail pattern

    return " ".join(AUTHOR_EMAIL.sub(" ", text).split()).strip(" ,;|/-")


def _person_names(value: Any) -> list[str]:
    """The names of a schema.org ``author`` value: a name, a Person (``name``; an object of
    another type, an Organization, names no author, as trafilatura reads it), or a list."""
    values = value if isinstance(value, list) else [value]
    names = [v.get("name") if isinstance(v, dict) and _types(v) <= {"person", ""} else v for v in values]
    return [name for name in names if isinstance(name, str) and name.strip()]


def _clean(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def _unique(values) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        value = _clean(value)
        if value:
            seen.setdefault(value.lower(), value)
    return list(seen.values())
