"""Stage 6, dates: the story's own published and modified dates (design.md, Time).

From the most to the least reliable source:

1. the page's structured data (read by the metadata stage: JSON-LD wherever the article
   object nests, meta tags, ``itemprop``/``<time pubdate>`` elements);
2. the discovery's date (news sitemap, feed);
3. the visible dateline of *this* story: between its headline and its first paragraph,
   just above its headline, or a publication line closing it ("Published in <paper>,
   <date>", "First published on <date>", "A version of this article appears in print on
   <date>", in the languages of :data:`CLOSING_LINE`);
4. htmldate (a day the page spells out, not one it infers); the URL.

A visible date counts only on a short line of its own (a dateline or a byline, not a
sentence of the story that mentions a day), or after a publication label. Dates are never
read from a box of links to other stories (a sidebar of teasers, each with its date),
whether beside the story or inside its container, nor from the headline's own words.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import htmldate
from dateutil.parser import UnknownTimezoneWarning
from htmldate import extractors as htmldate_extractors
from lxml.etree import XPath
from lxml.html import HtmlElement

from pipelines.extraction.dates import (
    AS_OF_LABEL,
    UPDATED_LABEL,
    StatedDate,
    date_from_url,
    day_first,
    find_text_dates,
    parse_stated_date,
    stated_day,
)

logger = logging.getLogger(__name__)

#: the rules that may be switched off (benchmarks.extraction, ablation)
RULES = ("dateline", "opening_line", "closing_line", "htmldate", "time_offset")

SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "button", "select", "option"}
# (an <aside> or a <footer> is a box only by its name or its links: a post's own metadata
# and its closing publication line sit in them too)
BOILERPLATE_TAGS = {"nav", "form"}
# class/id words of boxes that hold other stories or page furniture
BOILERPLATE_WORDS = re.compile(
    r"(?:^|[-_\s])(?:related|sidebar|side-bar|rail|promo|recommend\w*|most-?read|popular|trending|"
    r"latest|more-?stories|newsletter|comments?|share|social|outbrain|taboola|widget|breadcrumbs?|"
    r"opinion|editorial|advert\w*|ads?|teasers?|"
    # the same boxes named in other languages
    r"relacionad\w*|correlat\w*|verwandt\w*|gerelateerd\w*|connexes?|meistgelesen\w*|mas-?leid\w*|plus-?lus)(?:$|[-_\s])",
    re.IGNORECASE,
)
# a publication line closing a story: "Published in Dawn, April 25th, 2018", "First
# published on 3 May 2019", "A version of this article appears in print on ...",
# "Erschienen in ... am", "Publié dans ... le", "Publicado en ... el", "Pubblicato su ... il"
CLOSING_LINE = re.compile(
    r"(?:^|[.!?»”\"]\s+)(?:(?:originally |first )?published|a version of this (?:article|story) appear\w*|appeared|"
    r"(?:zuerst |erstmals )?erschienen|(?:initialement |d'abord )?publié|publicado|pubblicato|verschenen)"
    r"\b[^.!?]{0,80}$",
    re.IGNORECASE,
)
# a publication label just before a date: "Published", "Posted", "Veröffentlicht am", "Publié le"
PUBLISHED_LABEL = re.compile(
    r"(?:published|posted|dated|veröffentlicht|publiziert|publié|publicado|pubblicato|gepubliceerd)\s*(?:on|am|le|el|il|op|:)?\W{0,3}$",
    re.IGNORECASE,
)
MAX_DATELINE_CHARS = 80
HEADER_ZONE_CHARS = 600
TRAILER_ZONE_CHARS = 400
SNIPPET = 30
LOCATE_TRIES = 3
MAX_LINK_SHARE = 0.3


def run(tree: HtmlElement, page, story, url: str | None, hint: StatedDate | None, now: datetime, off: set[str] = frozenset()):
    """``(published, modified)`` of the story: :class:`StatedDate` or ``None`` each.

    Args:
        tree: the page after the cleaning stage; page: the metadata stage's ``PageMeta``;
        story: the body stage's ``Story``; hint: the discovery's publication date;
        now: the fetch time (aware, UTC): later dates are refused; off: rules switched off.
    """
    published, modified = page.published, page.modified
    published = published or hint
    located = _below_a_summary(tree, locate(tree, story.text), story.text)
    as_of = None
    if published is None or modified is None or len(page.published_days) > 1:
        seen, seen_modified, as_of = (None, None, None) if "dateline" in off else visible(tree, page.title, located, now=now, dayfirst=day_first(page.locale), off=off)
        if seen is not None and seen.day in page.published_days:
            # the structured data contradict themselves: the day the reader sees decides
            published = page.published_days[seen.day]
        if published is None and seen is not None:
            # the dateline's day, with the time and offset its <time datetime> states (HTML's
            # machine-readable form of the same date)
            published = _with_time(tree, seen, now, located) or seen
        modified = modified or seen_modified or as_of
    if published is None and "opening_line" not in off:
        published = opening_line(story.text, now=now, dayfirst=day_first(page.locale))
    if published is None and "closing_line" not in off:
        published = closing_line(story.text, now=now, dayfirst=day_first(page.locale))
    if published is None and "htmldate" not in off:
        published = _htmldate(tree, url, now, located)
    if published is None and url:
        published = date_from_url(url, now=now)
    if published is None and as_of is not None:
        published = as_of  # the page as it stands ("Stand:" under its headline), when it states no other date
    if published is not None and modified is not None and modified.day < published.day:
        modified = None  # a "modified" date before the publication date is a mix-up
    if "time_offset" not in off:
        published, modified = (_with_offset(tree, stated, now) for stated in (published, modified))
    return published, modified


def _with_offset(tree: HtmlElement, stated: StatedDate | None, now: datetime) -> StatedDate | None:
    """``stated`` with the UTC offset of a ``<time datetime>`` of the page that states the
    same day and time of day, to the minute, with an offset, when ``stated`` gives a time
    without one ("2014-12-29T16:00:27" in a ``<meta>``, the page's ``<time
    datetime="2014-12-29T16:00-05:00">``): the page states the instant in two places (WHATWG
    HTML: ``datetime`` is the machine-readable form of the date). Else ``stated`` as it is.
    (Any ``<time>`` of the page: one stating the story's own minute is the story's time.)"""
    if stated is None or stated.utc is not None or len(stated.value) < 16:
        return stated
    body = tree.find("body") if tree.find("body") is not None else tree
    for el in body.iter("time"):
        timed = parse_stated_date(el.get("datetime"), "time", now=now)
        if timed is None or timed.utc is None or timed.value[:16] != stated.value[:16]:
            continue
        offset = datetime.fromisoformat(timed.value).tzinfo
        moment = datetime.fromisoformat(stated.value).replace(tzinfo=offset)
        return parse_stated_date(moment.isoformat(), stated.source, now=now) or stated
    return stated


def _below_a_summary(tree: HtmlElement, located, text: str):
    """:func:`locate`'s answer, with the story starting at its second line when its first
    is a summary the page marks as such (a ``standfirst``, ``summary``, ``intro`` ... class,
    id or itemprop, or the marks the cleaning stage kept: :data:`SUMMARY_MARKS`) that
    trafilatura kept in the text: the byline below such a summary is the story's dateline."""
    start, end, container = located
    if start is None:
        return located
    marks = " ".join(f"{start.get('class', '')} {start.get('id', '')} {start.get('itemprop', '')} {start.get('data-lead-marks', '')}".split())
    if not (marks and SUMMARY_MARKS.search(marks)):
        return located
    rest = locate(tree, "\n".join(text.splitlines()[1:]))[0]
    return (rest, end, container) if rest is not None else located


# class, id or itemprop words of a summary printed under the headline (as the body stage's
# standfirst reads them)
SUMMARY_MARKS = re.compile(r"standfirst|summary|\bdek\b|deck|sub-?title|sub-?head|intro|chapo|chapeau|abstract|description|vorspann|entradilla", re.IGNORECASE)


def _with_time(tree: HtmlElement, seen: StatedDate, now: datetime, located) -> StatedDate | None:
    """The first ``<time datetime>`` above the story or inside its container, outside boxes
    of other stories (:func:`_in_box`), whose value states a time on the day of the visible
    dateline ``seen`` (WHATWG HTML, the ``time`` element: its ``datetime`` attribute is the
    machine-readable form of its content), as a :class:`StatedDate` of source ``time``;
    ``None`` when there is none. ``located``: :func:`locate` of the story's text (a comment's
    time below the story, often of the same day, is not read)."""
    start, _, container = located
    body = tree.find("body") if tree.find("body") is not None else tree
    above = []
    for el in body.iter():
        if el is start:
            break
        if el.tag == "time":
            above.append(el)
    memo: dict = {}
    for el in [*above, *(container.iter("time") if container is not None else ())]:
        stated = parse_stated_date(el.get("datetime"), "time", now=now)
        if stated is not None and stated.day == seen.day and len(stated.value) > 10 and not _in_box(el, body, memo=memo):
            return stated
    return None


def opening_line(text: str, *, now: datetime | None = None, dayfirst: bool | None = None) -> StatedDate | None:
    """The date of a dateline opening the story, in its first line (or its second, after a
    short first one: a kicker, a heading): a short line of
    its own ("( Pescasseroli, 14 Gennaio 20 )"), or a date that starts the line, alone or
    after a place written in capitals ("01.02.2022 Der Arbeitsmarkt...", "JAKARTA, April
    25 (Reuters) -"); not a date after words of a sentence ("On 3 March 2019 the ...")."""
    lines = text.splitlines()[:2]
    if lines and len(lines[0]) > MAX_DATELINE_CHARS:
        lines = lines[:1]  # the story has begun: what follows is not its dateline
    for line in lines:
        for offset, stated in find_text_dates(line, now=now, dayfirst=dayfirst, short_years=len(line) <= MAX_DATELINE_CHARS):
            prefix = line[:offset].strip(" ,(–—-")
            if (len(line) <= MAX_DATELINE_CHARS and offset <= 40) or not prefix or (prefix.isupper() and len(prefix) <= 40):
                label = line[:offset].strip()
                if not (UPDATED_LABEL.search(label) or AS_OF_LABEL.search(label)):
                    return stated
            break  # only the line's first date
    return None


def closing_line(text: str, *, now: datetime | None = None, dayfirst: bool | None = None) -> StatedDate | None:
    """The date of a publication line among the last three lines of the story's text
    ("Published in Dawn, April 25th, 2018"), or ``None``."""
    for line in text.splitlines()[-3:][::-1]:
        for offset, stated in find_text_dates(line, now=now, dayfirst=dayfirst):
            if CLOSING_LINE.search(line[:offset]):
                return stated
    return None


def _htmldate(tree: HtmlElement, url: str | None, now: datetime, located=(None, None, None)) -> StatedDate | None:
    """htmldate's publication day (its extensive search), refused unless the page states
    it (:func:`~pipelines.extraction.dates.stated_day`: in the URL, the visible text or the
    markup); a day the visible text shows must be shown as a dateline outside boxes of
    links: a day only the story's sentences mention, or only a teaser's timestamp, is not
    the story's. Never after the fetch time."""
    try:
        with warnings.catch_warnings(), _dateparser_for_month_names_only():
            warnings.simplefilter("ignore", UnknownTimezoneWarning)
            day = htmldate.find_date(tree, url=url, original_date=True, extensive_search=True, max_date=now.strftime("%Y-%m-%d"))
    except Exception as exc:  # htmldate is defensive, but a crawl must not die on one page
        logger.debug("htmldate failed on %s: %s", url, exc)
        return None
    stated = stated_day(day, tree, url, now=now) if day else None
    if stated is None or stated.source != "text":
        return stated
    body = tree.find("body") if tree.find("body") is not None else tree
    lines = _lines(body, body, None, None, story=located[0])
    year = stated.day[:4]  # every date find_text_dates reads spells its year in full
    places = [(line, o) for line in lines if year in line for o, d in find_text_dates(line, now=now) if d.day == stated.day]
    if any(_dateline_at(line, o) or PUBLISHED_LABEL.search(line[max(0, o - 30) : o]) for line, o in places):
        return stated
    return None


@contextmanager
def _dateparser_for_month_names_only() -> Iterator[None]:
    """Inside, htmldate asks its last resort, dateparser (``htmldate.extractors._external_date``),
    only about strings that name a month in one of dateparser's languages (htmldate's
    ``month_words``). A string naming none ("Story 44: Bereits 2004") fits none of its some
    200 locales, and the first such string builds them all: 2.4 s of CPU and 42 MiB in each
    extraction worker. No date of the 373 shared pages changes. htmldate's answers are
    cached (``try_date_expr``): after a refusal the cache is cleared, so that htmldate
    called elsewhere (bare trafilatura in the benchmarks) gets no answer made without it.
    """
    original = getattr(htmldate_extractors, "_external_date", None)
    if original is None:  # another htmldate: nothing to narrow
        yield
        return
    months, refused = htmldate_extractors.month_words(), []

    def month_names_only(string: str):
        if any(word.replace("ı", "i").replace("İ", "i").lower() in months for word in _WORD.findall(string)):
            return original(string)
        refused.append(string)
        return None

    htmldate_extractors._external_date = month_names_only
    try:
        yield
    finally:
        htmldate_extractors._external_date = original
        if refused:
            htmldate_extractors.try_date_expr.cache_clear()


# a word as htmldate's month test reads one (htmldate.extractors.WORD)
_WORD = re.compile(r"[^\W\d_]{3,}")


def _names_a_box(el: HtmlElement) -> bool:
    """Whether the element's class, id or role names a box of other stories or furniture
    (:data:`BOILERPLATE_WORDS`); a story's taxonomy classes (WordPress ``post_class()``:
    ``category-<slug>``, ``tag-<slug>``) name its subjects, not a box, and are left out."""
    marks = " ".join(t for t in f"{el.get('class', '')} {el.get('id', '')} {el.get('role', '')}".split() if not TAXONOMY.match(t))
    return bool(marks) and bool(BOILERPLATE_WORDS.search(marks))


TAXONOMY = re.compile(r"(?:category|tag|post|format|topic|section)-", re.IGNORECASE)


def _link_box(node: HtmlElement) -> bool:
    """Two or more linked headlines (links of 4+ words and 20+ characters: a byline's links
    to an author, a section or a day are shorter) making 30%+ of the block's text."""
    links = [t for t in (_norm(a.text_content()) for a in node.iter("a")) if len(t) >= 20 and t.count(" ") >= 3]
    if len(links) < 2:
        return False
    total = len(_norm(node.text_content()))
    return bool(total) and sum(map(len, links)) >= MAX_LINK_SHARE * total


# -- the visible dateline ----------------------------------------------------------


def visible(tree: HtmlElement, title: str | None, located, *, now=None, dayfirst=None, off=frozenset()):
    """The story's visible dates, ``(published, modified, as of)``: read between its headline and
    its first paragraph, then just above the headline inside the story's container, then
    after its last paragraph inside its container; the first date found is the publication
    date, one after an "Updated" label (several languages) the modification date, one after
    "Stand:" under the headline the date of the page as it stands
    (:data:`~pipelines.extraction.dates.AS_OF_LABEL`: :func:`run` takes it as the modification
    date and, when the page states no other date, URL included, the publication date).
    ``located``: :func:`locate` of the story's text."""
    start, end, container = located
    if start is None:
        return None, None, None
    headline = _headline(tree, title, start)
    zones = []  # (lines, read last-first?, two-digit years allowed?, a label needed?)
    if headline is not None:
        zones.append((_lines(tree, headline, start, HEADER_ZONE_CHARS, skip_first=True, story=start), False, True, False))
        top = _common_ancestor(headline, start)
        if top is not None and top is not headline:
            zones.append((_lines(top, top, headline, None, story=start)[-4:], True, True, False))
    if container is not None and end is not None:
        zones.append((_lines(container, end, None, TRAILER_ZONE_CHARS, skip_first=True, story=start), False, False, True))
    published = modified = as_of = None
    for lines, nearest_last, short_years, labelled in zones:
        for line in reversed(lines) if nearest_last else lines:
            for offset, stated in find_text_dates(line, now=now, dayfirst=dayfirst, short_years=short_years):
                before = line[max(0, offset - 30) : offset].strip()
                if UPDATED_LABEL.search(before):
                    modified = modified or stated
                elif AS_OF_LABEL.search(before):
                    as_of = as_of or (stated if not labelled else None)  # under the headline only
                elif (_dateline_at(line, offset) and not labelled) or PUBLISHED_LABEL.search(before) or (
                    "closing_line" not in off and CLOSING_LINE.search(line[:offset])
                ):
                    published = published or stated
        if published is not None:
            break
    return published, modified, as_of


def _dateline_at(text: str, offset: int) -> bool:
    """Whether the date at ``offset`` stands as a dateline or byline date in its line, not
    as a day a sentence mentions: no sentence before it since the line's start or the last
    sentence end or separator (at most 40 characters, or no run of five lower-case words:
    "By Jane Roe | ", "... its recovery? Monday, "), and none after it (at most 60
    characters, or no such run: a meta line of author, section, date and tags)."""
    segment = re.split(r"[.!?»”\"|·•]\s", text[:offset])[-1]
    rest = text[offset:]
    return (len(segment.strip()) <= 40 or not SENTENCE.search(segment)) and (len(rest) <= 60 or not SENTENCE.search(rest))


SENTENCE = re.compile(r"(?:\b[a-zß-ÿ][\w'’-]*[\s,;]+){5}")


def _lines(
    root: HtmlElement, first: HtmlElement, stop: HtmlElement | None, limit: int | None, *, skip_first: bool = False, story: HtmlElement | None = None
) -> list[str]:
    """The text under ``root`` from ``first`` (or after it, with ``skip_first``) up to
    ``stop``, one line per block (the nearest ``<p>``, ``<div>``, ``<li>``...
    around each text node), boxes of links and boilerplate skipped (:func:`_in_box`; the
    elements that hold ``story``, the story's first paragraph, are never boxes)."""
    holds_story = set(story.iterancestors()) | {story} if story is not None else set()
    lines: list[str] = []
    size = 0
    started = False
    current = None
    boxed: dict[HtmlElement, bool] = {}  # _in_box's answers, by element
    for el, node in _text_nodes(root):
        inside_first = el is first or first in el.iterancestors()
        if inside_first:
            started = True
            if skip_first:
                continue
        if not started:
            continue
        if stop is not None and (el is stop or stop in el.iterancestors()):
            break
        block = next((a for a in [el, *el.iterancestors()] if a.tag in LINE_TAGS or a is root), root)
        if not node.strip() or _in_box(block, root, holds_story, boxed):
            continue
        if block is not current:
            current = block
            lines.append("")
        lines[-1] = _norm(lines[-1] + " " + node)
        size += len(node)
        if limit is not None and size > limit:
            break
    return lines


LINE_TAGS = {"p", "div", "li", "dd", "dt", "td", "th", "header", "section", "article", "h2", "h3", "h4", "h5", "h6", "address", "blockquote", "figcaption", "ul", "ol"}


def _text_nodes(root: HtmlElement):
    """``(element, text)`` for every text node under ``root`` in document order, outside
    scripts and styles."""
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS:
            if el.tail and el is not root:
                yield el.getparent(), el.tail
            continue
        if el.text:
            yield el, el.text
        if el.tail and el is not root:
            yield el.getparent(), el.tail


def _in_box(el: HtmlElement, root: HtmlElement, holds_story: set = frozenset(), memo: dict | None = None) -> bool:
    """Whether ``el`` sits in boilerplate or a box of links to other stories (up to ``root``,
    never counting the elements in ``holds_story``): an aside, navigation, footer or form, a
    block whose class or id names such a box, or a block of linked headlines
    (:func:`_link_box`): a sidebar of teasers, each with its date. ``memo``: answers by element, shared by the calls of one page."""
    memo = {} if memo is None else memo
    chain, found, node = [], False, el
    while node is not None:  # up to the first answer known or found (a loop: pages nest deep)
        if node in memo:
            found = memo[node]
            break
        chain.append(node)
        if node is root or node.tag in ("body", "html") or node in holds_story:
            break
        if node.tag in BOILERPLATE_TAGS or _names_a_box(node) or _link_box(node):
            found = True
            break
        node = node.getparent()
    for node in chain:
        memo[node] = found
    return found


# -- where the story sits in the page ----------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split())


# the snippet's longest word is tested first, on the raw text: a text whose white space
# normalised holds the snippet holds each of its words, and normalize-space() on every
# text node of the page is the expensive part
_TEXT_WITH = XPath("//body//text()[contains(., $word)][contains(normalize-space(.), $snippet)][not(ancestor::script)][not(ancestor::style)]")


def locate(tree: HtmlElement, text: str):
    """``(first, last, container)``: the elements holding the first and the last paragraph
    of the extracted ``text`` (found by their first 30 characters; a paragraph whose words
    span several elements is skipped for the next one in), and their lowest common
    ancestor. Any may be ``None``."""
    lines = [_norm(line) for line in text.splitlines() if len(_norm(line)) >= SNIPPET]
    if not lines:
        return None, None, None
    start = _find(tree, [line[:SNIPPET] for line in lines[:LOCATE_TRIES]], last=False)
    end = _find(tree, [line[:SNIPPET] for line in lines[::-1][:LOCATE_TRIES]], last=True)
    return start, end, _common_ancestor(start, end) if start is not None and end is not None else None


def _find(tree: HtmlElement, snippets: list[str], *, last: bool) -> HtmlElement | None:
    for snippet in snippets:
        found = _TEXT_WITH(tree, snippet=snippet, word=max(snippet.split(), key=len))
        if found:
            node = found[-1] if last else found[0]
            parent = node.getparent()
            return parent.getparent() if node.is_tail and parent is not None else parent
    return None


def _common_ancestor(a: HtmlElement, b: HtmlElement) -> HtmlElement | None:
    ancestors = set(a.iterancestors()) | {a}
    node = b
    while node is not None and node not in ancestors:
        node = node.getparent()
    return node


def _headline(tree: HtmlElement, title: str | None, before: HtmlElement) -> HtmlElement | None:
    """The last headline element (``<h1>``, ``itemprop=headline``, or an ``<h2>``/``<h3>``
    matching ``title``) before ``before``."""
    want = _key(title or "")
    found = None
    for el in tree.iter():
        if el is before:
            break
        if not isinstance(el.tag, str):
            continue
        if el.tag == "h1" or el.get("itemprop") == "headline" or (want and el.tag in ("h2", "h3")):
            got = _key(el.text_content())
            if got and (not want or got in want or (len(got) >= 12 and want in got)):
                found = el
    return found


def _key(text: str) -> str:
    """Letters and digits only, lower-case: "Macronie : une" and "Macronie: une" are one title."""
    return " ".join(re.findall(r"\w+", text.lower()))
