"""Stage 3, cleaning: the page prepared before trafilatura reads it, in place.

The site's extraction hints (``[source.extract]`` ``include``/``exclude``) first, then
general repairs, none naming a site:

- an ad slot (class or id ``ad``, ``ads``, ``ad-slot``, ``advert...``, ``dfp``,
  ``gpt-ad``) with little text goes: its label and the tokens some sites print in it
  change on every fetch, and must not reach the story's text (a false new version);
- a block marked "teaser"/"intro"/"lead" that holds real paragraphs (prose, few links)
  keeps them: on a story page such a block is the lead, not a link to another story
  (``shared/cases/01-*``: trafilatura discards anything classed "teaser");
- an ``<aside>`` that holds nearly all of the page's prose is its main column (some sites build
  the story's column with one), not a sidebar: it becomes a ``<div>``, since trafilatura
  drops every ``<aside>`` (its ``MANUALLY_CLEANED`` tags) and would return the navigation;
- an empty ``<a>`` without ``href`` (an anchor to jump to, ``<a id="x"></a>``: nothing a
  reader sees) goes, the text after it kept: trafilatura makes that text the link's text,
  so a paragraph opening with one read as a link (and was dropped as a teaser).
"""

from __future__ import annotations

import logging
import re
from copy import deepcopy

from lxml.etree import XPath
from lxml.html import HtmlElement

LEAD_MARKS = re.compile(r"teaser|intro|lead|summary|standfirst|abstract|chapo|kicker", re.IGNORECASE)
AD_MARKS = re.compile(r"(?:^|[-_\s])(?:ads?|ad-?slot|ad-?unit|ad-?container|advert\w*|dfp|gpt-ad)(?:$|[-_\s\d])", re.IGNORECASE)
MAX_AD_CHARS = 200
#: the rules that may be switched off (benchmarks.extraction, ablation); ad slots always go
RULES = ("leads", "aside_column", "empty_anchors")
# XPath preselection (fast, in C); the regular expressions above decide. Written on the
# attribute axis (//@class[...]/..): about twice as fast as testing every element.
AD_XPATH = XPath("//@class[contains(., 'ad') or contains(., 'dfp')]/.. | //@id[contains(., 'ad') or contains(., 'dfp')]/..")
PROSE_CHARS = 80
MAX_LINK_SHARE = 0.3
#: the attribute that keeps the class and id :func:`keep_leads` took off a block
LEAD_MARKS_KEPT = "data-lead-marks"
# without href: an empty link with one is a card's click overlay, the sign of a teaser
EMPTY_ANCHORS = XPath("//a[not(@href) and not(*) and not(normalize-space())]")
# an <aside> holding this share of the page's prose is its main column (a short story beside
# an aside of comments or an author's bio is not: those hold a half or so)
MAIN_COLUMN_SHARE = 0.7

logger = logging.getLogger(__name__)


def _text_len(el: HtmlElement) -> int:
    return len(" ".join(el.text_content().split()))


def _link_share(el: HtmlElement) -> float:
    total = _text_len(el)
    if not total:
        return 1.0
    linked = sum(_text_len(a) for a in el.iter("a"))
    return linked / total


def drop_ad_slots(tree: HtmlElement) -> int:
    """Remove ad slots: elements marked as ads whose text is short and holds no prose paragraph."""
    slots = []
    for el in AD_XPATH(tree):
        if el.tag in ("html", "body", "head") or not AD_MARKS.search(f"{el.get('class', '')} {el.get('id', '')}"):
            continue
        if _text_len(el) <= MAX_AD_CHARS and not any(_text_len(p) >= PROSE_CHARS for p in el.iter("p")):
            slots.append(el)
    for el in slots:
        if el.getparent() is not None:
            el.drop_tree()
    return len(slots)


def keep_leads(tree: HtmlElement) -> int:
    """Unmark "teaser"/"lead" blocks that hold prose paragraphs with few links and no linked
    headline (a link of 4+ words: a teaser of another story links to it, issue 13), outside
    asides and navigation: their class and id move to :data:`LEAD_MARKS_KEPT`, where the
    standfirst is still found by them."""
    kept = 0
    for el in tree.iter("div", "section", "p"):
        marks = f"{el.get('class', '')} {el.get('id', '')}"
        if not LEAD_MARKS.search(marks):
            continue
        paragraphs = [p for p in ([el] if el.tag == "p" else el.iter("p")) if _text_len(p) >= PROSE_CHARS]
        headline_links = [a for a in el.iter("a") if len(a.text_content().split()) >= 4]
        boxed = any(a.tag in ("aside", "nav", "footer") for a in el.iterancestors())
        if paragraphs and not headline_links and not boxed and _link_share(el) <= MAX_LINK_SHARE:
            el.attrib.pop("class", None)
            el.attrib.pop("id", None)
            el.set(LEAD_MARKS_KEPT, marks)  # for the body stage's standfirst (trafilatura reads no data- attribute)
            kept += 1
    return kept


def run(tree: HtmlElement, include: str | None, exclude, off: set[str] = frozenset()) -> bool | None:
    """Apply the hints, then the repairs not in ``off``, to ``tree`` in place.

    Returns:
        whether ``include`` matched (``None`` without ``include``).
    """
    matched = apply_hints(tree, include, exclude)
    drop_ad_slots(tree)
    if "leads" not in off:
        keep_leads(tree)
    if "aside_column" not in off:
        unmark_main_column(tree)
    if "empty_anchors" not in off:
        drop_empty_anchors(tree)
    return matched


def drop_empty_anchors(tree: HtmlElement) -> int:
    """Remove each ``<a>`` with neither ``href``, text nor elements (an anchor target),
    keeping the text after it in its place."""
    anchors = EMPTY_ANCHORS(tree)
    for el in anchors:
        el.drop_tag()
    return len(anchors)


def _prose(el: HtmlElement, known: dict | None = None) -> int:
    """Characters in the element's prose paragraphs: ``<p>`` of :data:`PROSE_CHARS` or more
    with at most :data:`MAX_LINK_SHARE` of link text (``known``: the paragraphs' values
    found already, by paragraph; filled in)."""
    known = {} if known is None else known
    total = 0
    for p in el.iter("p"):
        if p not in known:
            n = _text_len(p)
            known[p] = n if n >= PROSE_CHARS and sum(_text_len(a) for a in p.iter("a")) <= MAX_LINK_SHARE * n else 0
        total += known[p]
    return total


def unmark_main_column(tree: HtmlElement) -> int:
    """Retag as ``<div>`` each ``<aside>`` that holds :data:`MAIN_COLUMN_SHARE` of the
    page's prose (:func:`_prose`): the page's main column, not a sidebar."""
    known: dict = {}
    asides = [(el, prose) for el in tree.iter("aside") if (prose := _prose(el, known))]
    if not asides:
        return 0
    total = _prose(tree, known)
    columns = [el for el, prose in asides if prose >= MAIN_COLUMN_SHARE * total]
    for el in columns:
        el.tag = "div"
    return len(columns)


def apply_hints(tree: HtmlElement, include: str | None, exclude: tuple[str, ...] | list[str]) -> bool | None:
    """Apply the site's hints to ``tree`` in place: elements matching any ``exclude``
    selector are removed; when ``include`` matches, the body is reduced to the matching
    elements (the ``<head>`` stays, for metadata).

    Returns:
        whether ``include`` matched (``None`` without ``include``).
    """
    work = tree
    if not include and not exclude:
        return None
    for selector in exclude:
        for el in work.cssselect(selector):
            if el.getparent() is not None:
                el.drop_tree()
    if not include:
        return None
    kept = work.cssselect(include)
    body = work.find("body")
    if kept and body is not None:
        kept = [deepcopy(el) for el in kept]
        for child in list(body):
            body.remove(child)
        body.text = None
        for el in kept:
            el.tail = None
            body.append(el)
        return True
    logger.info("extract include selector %r matched nothing; extracting the whole page", include)
    return False
