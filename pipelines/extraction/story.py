"""Where the story sits in the page, and the dateline that goes with it.

trafilatura returns the story's text, not its place in the page. To read the visible
dateline of *this* story (and not the dates of the teasers beside it) we find the
story's container in the original tree from the extracted text, and look for dates only
between the headline and the story, and just after the story inside its container.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml.etree import XPath
from lxml.html import HtmlElement

from pipelines.extraction.dates import UPDATED_LABEL, StatedDate, find_text_dates

SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "button", "select", "option"}
BOILERPLATE_TAGS = {"aside", "nav", "footer", "form"}
# class/id words of boxes that hold other stories or page furniture
BOILERPLATE_WORDS = re.compile(
    r"(?:^|[-_\s])(?:related|sidebar|side-bar|rail|promo|recommend\w*|most-?read|popular|trending|"
    r"latest|more-?stories|newsletter|comments?|share|social|outbrain|taboola|widget|breadcrumbs?|"
    r"opinion|editorial|advert\w*|ads?|"
    # the same boxes named in other languages
    r"relacionad\w*|correlat\w*|verwandt\w*|gerelateerd\w*|connexes?|meistgelesen\w*|mas-?leid\w*|plus-?lus)(?:$|[-_\s])",
    re.IGNORECASE,
)
SNIPPET = 30
HEADER_ZONE_CHARS = 600
PRE_HEADLINE_CHARS = 200
TRAILER_ZONE_CHARS = 400
LOCATE_TRIES = 3


def _norm(text: str) -> str:
    return " ".join(text.split())


def _is_boilerplate(el: HtmlElement) -> bool:
    if not isinstance(el.tag, str):
        return False
    if el.tag in BOILERPLATE_TAGS:
        return True
    marks = f"{el.get('class', '')} {el.get('id', '')} {el.get('role', '')}"
    return bool(marks.strip()) and bool(BOILERPLATE_WORDS.search(marks))


def _text_nodes(root: HtmlElement):
    """Yield ``(element, text)`` for every text node under ``root`` in document order,
    skipping scripts and styles."""
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS:
            if el.tail and el is not root:
                yield el.getparent(), el.tail
            continue
        if el.text:
            yield el, el.text
        if el.tail and el is not root:
            yield el.getparent(), el.tail


# (first paragraph's element, last paragraph's element, their lowest common ancestor)
Located = tuple[HtmlElement | None, HtmlElement | None, HtmlElement | None]


def locate(tree: HtmlElement, text: str) -> Located:
    """Find the elements holding the first and the last paragraph of the extracted ``text``,
    and their lowest common ancestor (the story container). Any may be ``None``.

    A paragraph whose first words span several elements (a link, an emphasis) is not
    found by its text: the next paragraph in (or the one before, for the end) stands in."""
    lines = [_norm(line) for line in text.splitlines() if len(_norm(line)) >= SNIPPET]
    if not lines:
        return None, None, None
    nodes: list[tuple[HtmlElement, str]] = []  # the page's text nodes, white space folded: read once, if needed
    start = _find_first(tree, [line[:SNIPPET] for line in lines[:LOCATE_TRIES]], nodes, last=False)
    end = _find_first(tree, [line[:SNIPPET] for line in lines[::-1][:LOCATE_TRIES]], nodes, last=True)
    if start is None or end is None:
        return start, end, None
    return start, end, _common_ancestor(start, end)


def _find_first(tree: HtmlElement, snippets: list[str], nodes: list, *, last: bool) -> HtmlElement | None:
    for snippet in snippets:
        found = _find_text(tree, snippet, last=last)
        if found is None:
            # the snippet may span white space that XPath's normalize-space() reads otherwise
            if not nodes:
                nodes.extend((el, _norm(node)) for el, node in _text_nodes(tree))
            matches = [el for el, node in nodes if snippet in node]
            found = (matches[-1] if last else matches[0]) if matches else None
        if found is not None:
            return found
    return None


_TEXT_WITH = XPath(
    "//body//text()[contains(normalize-space(.), $snippet)][not(ancestor::script)][not(ancestor::style)]"
)


def _find_text(tree: HtmlElement, snippet: str, *, last: bool) -> HtmlElement | None:
    """The element whose own text (or tail) holds ``snippet``: the first or the last one."""
    found = _TEXT_WITH(tree, snippet=snippet)
    if not found:
        return None
    node = found[-1] if last else found[0]
    parent = node.getparent()
    return parent.getparent() if node.is_tail and parent is not None else parent


def _common_ancestor(a: HtmlElement, b: HtmlElement) -> HtmlElement | None:
    ancestors = set(a.iterancestors()) | {a}
    node = b
    while node is not None and node not in ancestors:
        node = node.getparent()
    return node


def _headline(tree: HtmlElement, title: str | None, before: HtmlElement) -> HtmlElement | None:
    """The last headline element (``<h1>``, ``itemprop=headline``, or an ``<h2>``/``<h3>``) before
    ``before`` whose text matches ``title``."""
    want = _key(title or "")
    found = None
    for el in tree.iter():
        if el is before:
            break
        if not isinstance(el.tag, str):
            continue
        if el.tag == "h1" or el.get("itemprop") == "headline" or (want and el.tag in ("h2", "h3")):
            got = _key(el.text_content())
            if got and (not want or got in want or (len(got) >= 12 and want in got) or (len(want) >= 12 and got in want and len(got) >= 12)):
                found = el
    return found


def _key(text: str) -> str:
    """Letters and digits only, lower-case: "Macronie : une" and "Macronie: une" are one title."""
    return " ".join(re.findall(r"\w+", text.lower()))


def dateline(
    tree: HtmlElement,
    title: str | None,
    text: str,
    *,
    now: datetime | None = None,
    dayfirst: bool | None = None,
    located: Located | None = None,
) -> tuple[StatedDate | None, StatedDate | None]:
    """The visible dates of the story itself: ``(published, modified)``.

    Reads the text between the headline and the story's first paragraph, then the text
    that follows the story's last paragraph within its container; skips boxes that hold
    other stories (asides, navigation, related/latest/opinion lists). The first date
    found is the publication date; one labelled "Updated" (in several languages) is the
    modification date. ``dayfirst`` orders slash dates (``02/10/2020``) by the page's
    locale (:func:`pipelines.extraction.dates.day_first`). ``located``: :func:`locate` of
    ``text``, if known.
    """
    start, end, container = located or locate(tree, text)
    if start is None:
        return None, None
    headline = _headline(tree, title, start)
    zones = []  # (text, read the dates last-first?, a dateline: two-digit years allowed?)
    if headline is not None:
        zones.append((_zone_text(tree, headline, start, limit=HEADER_ZONE_CHARS, skip_first=True), False, True))
        # "Posted on <date>" just above the headline, inside the story's own container
        top = _common_ancestor(headline, start)
        if top is not None and top is not headline:
            before = _zone_text(tree, top, headline, limit=None)
            zones.append((before[-PRE_HEADLINE_CHARS:], True, True))
    if container is not None and end is not None:
        zones.append((_zone_after(container, end, limit=TRAILER_ZONE_CHARS), False, False))
    published = modified = None
    for zone, nearest_last, short_years in zones:
        found = find_text_dates(zone, now=now, dayfirst=dayfirst, short_years=short_years)
        for offset, stated in reversed(found) if nearest_last else found:
            label_before = zone[max(0, offset - 30):offset]
            if UPDATED_LABEL.search(label_before.strip()):
                modified = modified or stated
            else:
                published = published or stated
        if published is not None:
            break
    return published, modified


def _zone_text(
    tree: HtmlElement, first: HtmlElement, stop: HtmlElement, *, limit: int | None, skip_first: bool = False
) -> str:
    """Text from ``first`` (included, or only its tail with ``skip_first``: the dates in a
    headline are its subject's) up to ``stop`` (excluded), skipping boilerplate boxes."""
    parts: list[str] = []
    size = 0
    started = False
    skipped: set[HtmlElement] = set()
    for el, node in _text_nodes(tree):
        if el is first or (not started and first in el.iterancestors()):
            started = True
        if not started:
            continue
        if el is stop or stop in el.iterancestors():
            break
        if el in skipped or any(a in skipped for a in el.iterancestors()):
            continue
        if skip_first and (el is first or first in el.iterancestors()):
            continue
        if _is_boilerplate(el):
            skipped.add(el)
            continue
        parts.append(node)
        size += len(node)
        if limit is not None and size > limit:
            break
    return _norm(" ".join(parts))


def _zone_after(container: HtmlElement, end: HtmlElement, *, limit: int) -> str:
    """Text inside ``container`` after the element ``end``, skipping boilerplate boxes."""
    parts: list[str] = []
    size = 0
    passed = False
    for el, node in _text_nodes(container):
        inside_end = el is end or end in el.iterancestors()
        if inside_end:
            passed = True
            continue
        if not passed:
            continue
        if _is_boilerplate(el) or any(_is_boilerplate(a) for a in el.iterancestors() if a is not container and container in a.iterancestors()):
            continue
        parts.append(node)
        size += len(node)
        if size > limit:
            break
    return _norm(" ".join(parts))
