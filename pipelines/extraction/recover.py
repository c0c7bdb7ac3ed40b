"""Stage 4: story text that trafilatura left behind, found by its place in the page.

A story split into several sibling containers by ad rows or widgets loses all but the
first container in trafilatura: the later siblings with the same tag and class as the
kept one are the rest of the story. And a lead written as bare text in a block of its own
just before the story's container (``<div class="facts">The firm was fined...</div>``
before the ``<p>`` paragraphs) is dropped by trafilatura, which looks for paragraphs: it
is the story's first paragraph. (Recovering any lead block above the story was measured and
dropped: on the shared sets it mostly brought back photo captions and teasers.)

Recovered blocks must read as prose (80+ characters, under 30% link text), sit outside
boxes marked as boilerplate (asides, navigation, related lists...), and not repeat the
headline or the page's description (a standfirst is not body text).
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree
from lxml.html import HtmlElement

from pipelines.extraction import body, story
from pipelines.extraction.dates import find_text_dates

PROSE_CHARS = 80
MAX_LINK_SHARE = 0.3
BLOCK_TAGS = {"p", "div", "li", "blockquote", "section", "td", "dd"}
# class or id words of a bare-text block before the story that is not its lead
LEAD_NOT_PROSE = re.compile(r"caption|credit|byline|author|dateline|notice|alert|teaser|cookie|consent|paywall|meter", re.IGNORECASE)
SKIP_TAGS = {"figure", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "noscript", "button", "form", "nav", "aside", "footer", "header", "time"}


def _norm(text: str) -> str:
    return " ".join(text.split())


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def _link_share(el: HtmlElement) -> float:
    total = len(_norm(el.text_content()))
    if not total:
        return 1.0
    return sum(len(_norm(a.text_content())) for a in el.iter("a")) / total


def _own_blocks(root: HtmlElement, stop: HtmlElement | None = None) -> list[HtmlElement]:
    """Innermost block elements with prose under ``root``, in document order, up to ``stop``."""
    found = []
    for el in root.iter():
        if el is stop:
            break
        if not isinstance(el.tag, str) or el.tag not in BLOCK_TAGS:
            continue
        if any(child.tag in BLOCK_TAGS for child in el if isinstance(child.tag, str)) and el.tag != "p":
            continue  # not innermost: its children are the blocks
        found.append(el)
    return found


def _acceptable(el: HtmlElement, within: HtmlElement, banned: set[str]) -> str | None:
    text = _norm(el.text_content())
    if len(text) < PROSE_CHARS or _key(text) in banned or _link_share(el) > MAX_LINK_SHARE:
        return None
    for node in [el, *el.iterancestors()]:
        if node is within:
            break
        if node.tag in SKIP_TAGS or story._is_boilerplate(node):
            return None
    return text


def continuation_blocks(
    tree: HtmlElement, text: str, title: str | None, description: str | None, located: story.Located | None = None
) -> list[str]:
    """Prose from later siblings of the story's container that share its tag and class.
    ``located``: :func:`story.locate` of ``text``, if known."""
    _start, _end, container = located or story.locate(tree, text)
    if container is None or not container.get("class"):
        return []
    parent = container.getparent()
    if parent is None:
        return []
    signature = (container.tag, container.get("class"))
    banned = {_key(title or ""), _key(description or "")} - {""}
    have = _key(text)
    more = []
    siblings = list(parent)
    for sibling in siblings[siblings.index(container) + 1 :]:
        if not isinstance(sibling.tag, str) or (sibling.tag, sibling.get("class")) != signature:
            continue
        for el in _own_blocks(sibling):
            block = _acceptable(el, sibling, banned)
            if block and _key(block) not in have:
                more.append(block)
    return more


def lead_block(tree: HtmlElement, text: str, title: str | None, description: str | None, located: story.Located | None = None) -> str | None:
    """The prose of the element just before the story's container, when it is bare text
    (no block elements inside) and reads as prose; else ``None``."""
    _start, _end, container = located or story.locate(tree, text)
    if container is None:
        return None
    before = container.getprevious()
    while before is not None and not isinstance(before.tag, str):
        before = before.getprevious()  # comments
    if before is None or before.tag not in ("div", "p", "section"):
        return None
    if any(isinstance(el.tag, str) and (el.tag in BLOCK_TAGS or el.tag in SKIP_TAGS) for el in before.iterdescendants()):
        return None  # not bare text: blocks are trafilatura's to judge; a script's code is no lead
    if LEAD_NOT_PROSE.search(f"{before.get('class', '')} {before.get('id', '')}"):
        return None  # a caption, byline or notice beside the story, not its lead
    banned = {_key(title or ""), _key(description or "")} - {""}
    block = _acceptable(before, before.getparent(), banned)
    if block and _furniture(block):
        return None
    return block if block and _key(block) not in _key(text) else None


def _furniture(block: str) -> bool:
    """Whether the body rules would take this text out of the story (a notice, a byline,
    a date line: :mod:`pipelines.extraction.body`)."""
    p = etree.Element("p")
    p.text = block
    if body.is_promo(p) or body.BYLINE.match(body.lower(block)) or body.is_date_line(block):
        return True
    # "By Jane Roe, City Hall Correspondent · Published March 3, 2024": a long byline
    words = block.split()
    return words[0].lower() in body.BYLINE_WORDS and len(words) > 1 and words[1][:1].isupper() and bool(find_text_dates(block))
