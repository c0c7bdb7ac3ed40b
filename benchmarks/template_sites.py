"""Replay sites for site templates: many story pages on one real page's layout.

Each site takes one real page of ../shared/data/article-extraction-benchmark (its story
paragraphs found through the page's ground truth) and makes story pages from it: each page
keeps the real layout, its own paragraphs (other real pages' text), its own headline and
URL, and its own date in a dateline above the story (or none: some pages state no date); a
teaser sidebar with other headlines and their times ("18 Dec, 2024" or "3 hours ago") is
added, with teasers, headlines and times that differ from page to page (as on a real site
over days), inside the story's container on some sites and beside it on others, the times
written in one of several styles ("Updated 18 Dec, 2024", "December 18, 2024",
"18.12.2024", "3 hours ago"). The
pages' own date metadata (meta tags, JSON-LD, ``datetime`` attributes) is taken out, so
that a date in the sidebar is a real trap.

Used by ``python -m benchmarks.templates`` and by the tests (tests/test_templates.py).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from lxml import html as lxml_html

MONTHS = "January February March April May June July August September October November December".split()
SIDEBARS = [
    # (container tag, class, heading, item tag): several shapes, none taken from a real site
    ("aside", "rail-opinion", "Opinion / Editorial", "li"),
    ("div", "more-stories", "More from this section", "div"),
    ("section", "latest", "Latest", "article"),
    ("div", "trending-box", "Most read", "li"),
]


@dataclass
class StoryPage:
    """One generated story page: its ``path``, ``body`` bytes, the story's ``text`` (its
    paragraphs, one a line), its ``title`` and ``published`` day (``YYYY-MM-DD``, or
    ``None`` when the page states no date of its own), and the days its sidebar shows."""

    path: str
    body: bytes
    text: str
    title: str
    published: str | None
    teaser_days: frozenset[str] = frozenset()


@dataclass
class Layout:
    """A real page whose story paragraphs were found: the page ``key``, its bytes, the
    number of story paragraphs matched, and its ground truth's paragraphs."""

    key: str
    body: bytes
    matched: int
    truth: list[str]
    full: str = ""



def retitle(tree, title: str, path: str) -> None:
    """Give a real page's tree (in place) the ``<title>`` and ``<h1>`` ``title`` and one
    canonical link, ``https://example.invalid<path>`` (its own canonical and ``og:url`` go)."""
    for el in tree.iter("title", "h1"):
        for child in list(el):
            el.remove(child)
        el.text = title
    for el in tree.xpath('//link[@rel="canonical"] | //meta[@property="og:url"]'):
        el.getparent().remove(el)
    head = tree.find("head")
    if head is not None:
        head.append(lxml_html.Element("link", rel="canonical", href=f"https://example.invalid{path}"))

def _norm(text: str) -> str:
    return " ".join(text.split())


def layouts(shared: Path, limit: int = 12) -> tuple[list[Layout], list[str]]:
    """Real pages usable as layouts (at least 4 story paragraphs found in ``<p>`` elements of
    one container), and a pool of real paragraphs (over 80 characters) for the stories."""
    folder = shared / "data" / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    found, pool = [], []
    for key, item in sorted(truth.items()):
        paragraphs = [_norm(p) for p in item["articleBody"].split("\n") if len(p.strip()) > 80]
        pool += paragraphs
        if len(found) >= limit:
            continue
        body = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        try:
            tree = lxml_html.fromstring(body)
        except (ValueError, TypeError):
            continue
        matched = _story_paragraphs(tree, paragraphs)
        if len(matched) >= 4:
            found.append(Layout(key, body, len(matched), paragraphs, _norm(item["articleBody"])))
    return found, pool


def _story_paragraphs(tree, truth: list[str]) -> list:
    """The ``<p>`` elements holding the truth's paragraphs, all in their most common parent."""
    starts = {p[:60] for p in truth}
    hits = [p for p in tree.iter("p") if _norm(p.text_content())[:60] in starts]
    if not hits:
        return []
    parents: dict = {}
    for p in hits:
        parents.setdefault(p.getparent(), []).append(p)
    return max(parents.values(), key=len)


# how a teaser shows its time, by site: some the generic extraction knows for a teaser's,
# some it does not
TIME_STYLES = ("Updated {d} {mon}, {y}", "{month} {d}, {y}", "{d}.{m:02d}.{y}", "{n} hours ago")


def _when(rng: random.Random, style: int, day: date) -> tuple[str, str | None]:
    """A teaser's time as shown, and its day (``None`` for a relative time)."""
    other = day - timedelta(days=rng.randint(1, 400))
    form = TIME_STYLES[style % len(TIME_STYLES)]
    shown = form.format(d=other.day, m=other.month, y=other.year, mon=MONTHS[other.month - 1][:3],
                        month=MONTHS[other.month - 1], n=rng.randint(1, 23))
    return shown, None if "{n}" in form else other.isoformat()


def _sidebar(rng: random.Random, shape: int, style: int, pool: list[str], day: date) -> tuple[str, set[str]]:
    tag, cls, heading, item = SIDEBARS[shape % len(SIDEBARS)]
    items, days = [], set()
    for _ in range(5):
        words = rng.choice(pool).split()
        start = rng.randint(0, max(0, len(words) - 9))
        headline = " ".join(words[start : start + rng.randint(5, 9)]).strip(".,;:")
        href = f"/story/other-{rng.randint(1000, 9999)}"
        shown, shown_day = _when(rng, style, day)
        if shown_day:
            days.add(shown_day)
        items.append(f'<{item} class="teaser"><a href="{href}">{headline}</a> <span class="time">{shown}</span></{item}>')
    inner = "".join(items)
    if item == "li":
        inner = f"<ul>{inner}</ul>"
    return f'<{tag} class="{cls}"><h3>{heading}</h3>{inner}</{tag}>', days


ISO_DAY = re.compile(r"(?:19|20)\d\d[-/]\d\d[-/]\d\d")
DAY_IN_URL = re.compile(r"(?:19|20)\d\d[-/_]?[01]\d[-/_]?[0-3]\d")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
VISIBLE_DAY = re.compile(
    rf"{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{1,2}}\.? {_MONTH},? \d{{4}}"
    r"|\b\d{1,2}[./]\d{1,2}[./](?:19|20)\d\d\b|\b(?:19|20)\d\d-\d\d-\d\d\b",
    re.IGNORECASE,
)


def _restate_dates(tree, stated: str) -> None:
    """Every day the real page shows as text becomes ``stated`` (the generated story's own
    day, or "" when it states none): the real byline dates each page by its own story."""
    for el in tree.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        if el.text and VISIBLE_DAY.search(el.text):
            el.text = VISIBLE_DAY.sub(stated, el.text)
        if el.tail and VISIBLE_DAY.search(el.tail):
            el.tail = VISIBLE_DAY.sub(stated, el.tail)


def _strip_dates(tree) -> None:
    """Take the page's own date metadata out: meta tags naming a date or time, links and
    meta tags of the head holding a year, scripts and attributes holding an ISO day
    (JSON-LD, microdata, ``datetime``)."""
    for meta in tree.xpath("//meta"):
        names = " ".join(meta.get(a) or "" for a in ("name", "property", "itemprop", "http-equiv")).lower()
        if "date" in names or "time" in names or "modified" in names or "published" in names or ISO_DAY.search(meta.get("content") or ""):
            meta.drop_tree()
    head = tree.find("head")
    for el in head.xpath(".//link | .//meta") if head is not None else []:
        # dated URLs of the real story (its AMP page, images, oEmbed) date it too
        if re.search(r"(?:19|20)\d\d", " ".join(el.attrib.values())):
            el.drop_tree()
    for script in tree.xpath("//script"):
        if ISO_DAY.search(script.text or "") or "ld+json" in (script.get("type") or ""):
            script.drop_tree()
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in list(el.attrib.items()):
            # also the real story's dated links and image URLs (/2019/11/20/, d=20191120)
            if name == "datetime" or ISO_DAY.search(value) or DAY_IN_URL.search(value):
                del el.attrib[name]


def site_pages(layout: Layout, pool: list[str], count: int, *, inside: bool, style: int, seed: int) -> list[StoryPage]:
    """``count`` story pages on ``layout``'s page (module docstring), teasers' times shown in
    :data:`TIME_STYLES` ``[style]``. Deterministic for a given ``seed``. Every fourth page
    states no date of its own."""
    rng = random.Random(seed)
    pages = []
    for i in range(count):
        tree = lxml_html.fromstring(layout.body)
        _strip_dates(tree)
        old = _story_paragraphs(tree, layout.truth)
        container = old[0].getparent()
        at = container.index(old[0])
        # the rest of the real story (headings, lists, quotes) goes too: each page is its own story
        rest = [
            el
            for el in container.iter("p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "table", "figure")
            if el not in old and len(_norm(el.text_content())) >= 20 and _norm(el.text_content())[:40] in layout.full
        ]
        for el in [*old, *rest]:
            if el.getparent() is not None:
                el.drop_tree()
        at = min(at, len(container))
        day = date(2025, 1, 1) + timedelta(days=rng.randint(0, 300))
        paragraphs = [rng.choice(pool) for _ in range(rng.randint(4, 8))]
        # no digits in a headline: a day in the og:title would be read as the story's date
        title = " ".join(w for w in rng.choice(pool).split()[:10] if not any(c.isdigit() for c in w)) + f" (story {chr(65 + seed)}{chr(65 + i)})"
        dated = i % 4 != 3
        _restate_dates(tree, f"{day.day} {MONTHS[day.month - 1]} {day.year}" if dated else "")
        blocks = []
        if dated:
            blocks.append(f'<p class="dateline">Published {day.day} {MONTHS[day.month - 1]} {day.year}</p>')
        blocks += [f"<p>{p}</p>" for p in paragraphs]
        for offset, block in enumerate(blocks):
            container.insert(at + offset, lxml_html.fragment_fromstring(block))
        markup, shown = _sidebar(rng, seed, style, pool, day)
        sidebar = lxml_html.fragment_fromstring(markup)
        if inside:
            container.insert(at + len(blocks) - len(paragraphs) // 2, sidebar)
        else:
            container.addnext(sidebar)
        path = f"/story/{seed}-{i}"
        retitle(tree, title, path)
        pages.append(
            StoryPage(
                path=path,
                body=lxml_html.tostring(tree, encoding="utf-8", doctype="<!DOCTYPE html>"),
                text="\n".join(paragraphs),
                title=title,
                published=day.isoformat() if dated else None,
                teaser_days=frozenset(shown),
            )
        )
    return pages
