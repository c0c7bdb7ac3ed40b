"""Site templates: the blocks a site repeats around its stories, learned from its pages.

A news site wraps every story in the same page: navigation, share bars, newsletter and app
boxes, "most read" and teaser lists, footers. Seen on one page, such a block can pass for
part of the story (and its teasers' dates for the story's date); seen on many pages of the
same site, it is plainly the site's *template*. This module learns the template from pages
of distinct stories and removes it from a page before the main content is looked for.

A block is named by its place in the page's structure, never by its text (teasers change
from day to day, the block stays): the path of tags from ``<body>``, each step with the
``id`` and ``class`` tokens that the site uses on nearly every page (a story's own tokens,
``post-1234``, ``tag-politics``, are left out) and its position among the siblings of the
same step, e.g. ``body/div#page[1]/main[1]/article.post[1]/aside.sidebar[1]``.

A recurring block is template when it is:

- ``fixed``: the same text on most pages where it appears (share bars, newsletter boxes,
  menus, footers); it is removed where it shows one of the texts it was learned with (a
  place in a list whose length varies from story to story, a story's seventh paragraph,
  holds different things on different pages), or
- ``links``: a list of at least four links into the site itself (teasers, "most read",
  tags) on most pages where it appears;

and never when it holds the page's own story: a block that contains most of a page's prose
(paragraphs found on that page only) is a story container, whatever else it holds; nor a
``fixed`` block that holds the page's byline (an element trafilatura reads authors from,
:data:`pipelines.extraction.metadata.BYLINE_XPATHS`): "By Staff Reporter" on most stories
is the same text on every page, and the story's authors are read from it.

Both functions are pure: :func:`learn` takes pages and returns a :class:`Template` (a frozen,
JSON-able value), :func:`apply` takes an lxml tree and a template and removes the
template's blocks from the tree in place, returning what it removed.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from archive.bodies import pack_bodies, unpacked
from pipelines.extraction.html import ExtractionError, parse_document

__all__ = ["Block", "Removed", "Template", "apply", "learn"]

FORMAT = 1
# a class or id token names the structure when it is on this share of the stories' pages
VOCABULARY_SHARE = 0.8
# a block is a candidate when it is on this share of the stories (and on MIN_BLOCK_STORIES)
BLOCK_SHARE = 0.5
MIN_BLOCK_STORIES = 3
# ``fixed``: its most common text is on this share of the pages where it appears
FIXED_SHARE = 0.5
# ``links``: on this share of its pages it holds LINKS_MIN links into the site, and links
# make LINKS_TEXT_SHARE of its text (a byline with its author's, section's and topic's links
# and the story's date is no list: three links are not enough)
LINKS_SHARE = 0.6
LINKS_MIN = 4
LINKS_TEXT_SHARE = 0.5
# a paragraph of prose: at least this many characters outside links
PROSE_CHARS = 100
# a block that holds this share of a page's prose is a story container, never template;
# learning allows it on HOLDER_SHARE of a block's pages at most (a page of another kind)
HOLDS_STORY = 0.5
HOLDER_SHARE = 0.1
SAMPLE_CHARS = 80

# elements that can be a block of the template (inline elements belong to their block)
BLOCK_TAGS = frozenset(
    "div section aside nav header footer ul ol dl form table p figure blockquote h2 h3 h4 h5 h6 article".split()
)
# not descended into: their content is no part of the page's structure
OPAQUE_TAGS = frozenset("script style noscript template svg iframe object math".split())


@dataclass(frozen=True)
class Block:
    """One block of a site's template.

    Attributes:
        path: its structural key (module docstring).
        kind: ``fixed`` or ``links``.
        stories: on how many of the stories learned from it was seen.
        sample: the beginning of its text on one of those pages (for people; never matched).
        texts: for a ``fixed`` block, the digests of its texts seen on at least
            :data:`MIN_BLOCK_STORIES` stories, and of its most common text (seen on two
            stories at least) (:func:`_digest`, SHA-1 of the white-space folded text, 16 hex
            digits); only those are removed.
    """

    path: str
    kind: str
    stories: int
    sample: str = ""
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    """A site's template: a plain, versioned value that travels with the extraction options.

    Attributes:
        site: the site's name (the source's ``name``; the host for ad hoc archiving).
        version: 1, 2, ... per site, given by the archive when it is saved (0: not saved).
        stories: how many distinct stories it was learned from.
        vocabulary: the ``.class`` and ``#id`` tokens that name structure on this site.
        blocks: the template's blocks: a ``fixed`` block whole (nothing inside it is listed),
            a ``links`` block as its innermost list of links.
        learned_at: when, UTC ISO 8601 (set by whoever saves it; not used by :func:`apply`).
        bylines_kept: learned with no block that holds a byline (:func:`learn` since
            2026-12-08); when false (a template saved before), :func:`apply` looks for
            bylines in its ``fixed`` blocks on each page.
    """

    site: str
    version: int = 0
    stories: int = 0
    vocabulary: frozenset[str] = field(default_factory=frozenset)
    blocks: tuple[Block, ...] = ()
    learned_at: str | None = None
    bylines_kept: bool = False

    @property
    def label(self) -> str:
        """``site@version``: what a capture's extraction settings record."""
        return f"{self.site}@{self.version}"

    def to_json(self) -> dict:
        """A JSON-able dict (:meth:`from_json` reads it back)."""
        return {
            "format": FORMAT,
            "site": self.site,
            "version": self.version,
            "stories": self.stories,
            "learned_at": self.learned_at,
            "bylines_kept": self.bylines_kept,
            "vocabulary": sorted(self.vocabulary),
            "blocks": [
                {"path": b.path, "kind": b.kind, "stories": b.stories, "sample": b.sample, "texts": list(b.texts)}
                for b in self.blocks
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> Template:
        """The template a :meth:`to_json` dict describes.

        Raises:
            ValueError: not a template of a format this code reads.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a site template of format {FORMAT}")
        return cls(
            site=data["site"],
            version=int(data["version"]),
            stories=int(data["stories"]),
            vocabulary=frozenset(data.get("vocabulary") or ()),
            blocks=tuple(
                Block(b["path"], b["kind"], int(b["stories"]), b.get("sample") or "", tuple(b.get("texts") or ()))
                for b in data["blocks"]
            ),
            learned_at=data.get("learned_at"),
            bylines_kept=data.get("bylines_kept") is True,
        )


@dataclass(frozen=True)
class Removed:
    """A block :func:`apply` took out of a page: its ``path``, ``kind`` and ``text`` (the
    beginning of it, at most 80 characters)."""

    path: str
    kind: str
    text: str


def learn(pages: Iterable[tuple[HtmlElement, str | None]], site: str = "") -> Template:
    """Learn a site's template from pages of its stories.

    Args:
        pages: ``(tree, url)`` pairs, one page per distinct story (never two versions or two
            copies of one story: their shared text would pass for template). ``tree`` is the
            parsed document (:func:`pipelines.extraction.html.parse_document`), not modified.
            Read twice, once for the site's vocabulary and once for its blocks: a
            re-iterable that parses each page anew (:func:`learn_job`) holds one tree at a
            time.
        site: the site's name, kept in the template.

    Returns:
        A :class:`Template` with ``version`` 0; it has no blocks when the pages share none
        (or are fewer than :data:`MIN_BLOCK_STORIES`).
    """
    vocabulary, stories = _vocabulary(body for tree, _ in pages if (body := _body(tree)) is not None)
    if not stories:
        return Template(site=site, bylines_kept=True)
    # each page as a summary of its blocks and paragraphs: no tree is kept
    summaries = [_PageSummary(_PageView(body, url, vocabulary)) for tree, url in pages if (body := _body(tree)) is not None]
    prose_seen: Counter = Counter()
    for summary in summaries:
        prose_seen.update({digest for digest, _, _ in summary.paragraphs})
    seen: Counter = Counter()
    texts: dict[str, Counter] = defaultdict(Counter)
    linked: Counter = Counter()
    holders: Counter = Counter()
    samples: dict[str, str] = {}
    bylines: set[str] = set()
    for summary in summaries:
        # the page's own story: prose found on no other page
        held = summary.prose_held(lambda digest: prose_seen[digest] == 1)
        total = held.get(BODY_KEY, 0)
        bylines.update(summary.bylines)
        for key, digest, sample, is_links in summary.blocks:
            seen[key] += 1
            texts[key][digest] += 1
            samples.setdefault(key, sample)
            if is_links:
                linked[key] += 1
            if total and held.get(key, 0) >= HOLDS_STORY * total:
                holders[key] += 1
    needed = max(MIN_BLOCK_STORIES, BLOCK_SHARE * len(summaries))
    found: dict[str, Block] = {}
    for key, count in seen.items():
        if count < needed or holders[key] > HOLDER_SHARE * count:
            continue
        modal_digest, modal = texts[key].most_common(1)[0]
        if modal >= FIXED_SHARE * count and modal_digest != _EMPTY and key not in bylines:
            # its texts seen on MIN_BLOCK_STORIES stories, and its most common one, which made
            # it fixed (on two stories or more: a site with editions, learned from few stories)
            known = tuple(sorted(d for d, n in texts[key].items() if n >= min(MIN_BLOCK_STORIES, modal) and d != _EMPTY))
            found[key] = Block(key, "fixed", count, samples[key], known)
        elif linked[key] >= LINKS_SHARE * count:
            found[key] = Block(key, "links", count, samples[key])
    # a fixed block goes whole; a list of links goes as its innermost list, so that a block
    # that merely holds one (a header with its menu, the story's date and byline) stays
    fixed = {key for key, block in found.items() if block.kind == "fixed"}
    links = {key for key, block in found.items() if block.kind == "links"}
    holding_lists = {a for key in links for a in _ancestors(key) if a in links}
    keep = fixed | (links - holding_lists)
    blocks = tuple(found[key] for key in sorted(keep) if not any(a in fixed for a in _ancestors(key)))
    return Template(site=site, stories=len(summaries), vocabulary=frozenset(vocabulary), blocks=blocks, bylines_kept=True)


@dataclass(frozen=True)
class LearnJob:
    """A site's stored stories to learn its template from, as plain values (it pickles: an
    extraction worker runs it, :func:`learn_job`).

    Attributes:
        site: the site's name.
        pages: ``(body bytes compressed with zstd, Content-Type or None, final URL or
            None)``, one page per distinct story: compressed (:func:`archive.bodies.pack_bodies`,
            about a fifth of the bytes) so that the jobs of a crawl's sites, held while they
            wait for a worker and copied to it, cost little memory (:meth:`of` makes them).
        min_stories: the fewest readable pages a template is learned from.
    """

    site: str
    pages: tuple[tuple[bytes, str | None, str | None], ...] = field(repr=False)
    min_stories: int = 1

    @classmethod
    def of(cls, site: str, pages: Iterable[tuple[bytes, str | None, str | None]], min_stories: int = 1) -> LearnJob:
        """The job of ``(body bytes, Content-Type, final URL)`` pages, their bodies compressed."""
        pages = list(pages)
        packed = pack_bodies(body for body, _, _ in pages)
        return cls(site, tuple((body, content_type, url) for body, (_, content_type, url) in zip(packed, pages, strict=True)), min_stories)


def learn_job(job: LearnJob) -> Template | None:
    """:func:`learn` on a :class:`LearnJob`'s stored bodies, each parsed here without the
    complexity check (a stored story's body passed it when it was extracted; one that no
    longer parses is skipped). Returns ``None`` when fewer than ``job.min_stories`` pages
    parse (nothing is learned then)."""
    pages = _ParsedPages(job.pages)
    template = learn(pages, site=job.site)
    return template if pages.parsed >= max(1, job.min_stories) else None


class _ParsedPages:
    """A :class:`LearnJob`'s bodies as ``(tree, url)`` pairs, each decompressed and parsed
    anew on every reading, so that a reader holds one tree at a time (a site's 100 trees
    with their texts took over 100 MiB in a worker); the bodies that do not parse are left
    out."""

    def __init__(self, pages: tuple[tuple[bytes, str | None, str | None], ...]) -> None:
        self.pages = pages
        #: the pages that parsed, counted by the last reading
        self.parsed = 0

    def __iter__(self):
        self.parsed = 0
        packed = (body for body, _, _ in self.pages)
        for body, (_, content_type, url) in zip(unpacked(packed), self.pages, strict=True):
            try:
                tree = parse_document(body, content_type, guard=False)[0]
            except ExtractionError:
                continue
            self.parsed += 1
            yield tree, url


def apply(tree: HtmlElement, template: Template | None) -> list[Removed]:
    """Remove the template's blocks from ``tree`` (in place); return what was removed, in
    page order. A block that holds most of this page's prose (paragraphs of at least
    :data:`PROSE_CHARS` characters outside links) is left in place: on this page it is the
    story's container, whatever it was elsewhere; so is a ``fixed`` block that holds the
    page's byline, in a template saved before :func:`learn` kept bylines out
    (``bylines_kept`` false)."""
    body = _body(tree)
    if body is None or template is None or not template.blocks:
        return []
    blocks = {block.path: block for block in template.blocks}
    view = _PageView(body, None, template.vocabulary)
    matched = [
        (el, key)
        for el, key in view.keys.items()
        if key in blocks and (blocks[key].kind != "fixed" or _digest(view.text(el)) in blocks[key].texts)
    ]
    if not matched:
        return []
    held = view.prose_held(lambda digest: True)
    total = held.get(body, 0)
    # a template saved before learn() kept bylines out: the same test here, on this page
    bylines = _holding_a_byline(body) if not template.bylines_kept else set()
    removed = []
    for el, key in matched:
        if total and held.get(el, 0) >= HOLDS_STORY * total:
            continue
        if blocks[key].kind == "fixed" and el in bylines:
            continue
        removed.append(Removed(key, blocks[key].kind, view.text(el)[:SAMPLE_CHARS]))
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent
    return removed


# -- the page as the template sees it ---------------------------------------------------

def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


_EMPTY = _digest("")


def _body(tree: HtmlElement | None) -> HtmlElement | None:
    if tree is None:
        return None
    if tree.tag == "body":
        return tree
    return tree.find("body")


def _tokens(el: HtmlElement) -> frozenset[str]:
    """``.class`` and ``#id`` tokens of an element, without those holding a digit (a story's
    own: ``post-1234``)."""
    return _attribute_tokens(el.get("class"), el.get("id"))


@lru_cache(maxsize=4096)
def _attribute_tokens(classes: str | None, id_: str | None) -> frozenset[str]:
    # cached: a site's pages repeat the same few hundred class and id values
    tokens = {f".{c}" for c in (classes or "").split()}
    if id_ and id_.strip():
        tokens.add(f"#{id_.strip()}")
    return frozenset(t for t in tokens if len(t) > 1 and not any(ch.isdigit() for ch in t))


def _holding_a_byline(body: HtmlElement) -> set[HtmlElement]:
    """The elements trafilatura may read a byline from (its author XPaths:
    :data:`pipelines.extraction.metadata.BYLINE_XPATHS`) and every element that holds one."""
    from pipelines.extraction.metadata import BYLINE_XPATHS  # loads trafilatura: with the first extraction

    found: set[HtmlElement] = set()
    for expression in BYLINE_XPATHS:
        for el in expression(body):
            while el is not None and el not in found:
                found.add(el)
                el = el.getparent()
    return found


def _elements(body: HtmlElement):
    """The body's elements in document order (comments and processing instructions left
    out), without the content of :data:`OPAQUE_TAGS`; lxml's ``iterwalk``, iterative, so
    that deep trees do not reach Python's recursion limit."""
    walker = etree.iterwalk(body, events=("start",))
    next(walker)  # the body itself
    for _, el in walker:
        if not isinstance(el.tag, str):
            continue
        yield el
        if el.tag in OPAQUE_TAGS:
            walker.skip_subtree()


def _vocabulary(bodies: Iterable[HtmlElement]) -> tuple[set[str], int]:
    """The tokens on :data:`VOCABULARY_SHARE` of the pages' bodies, and how many bodies."""
    counts: Counter = Counter()
    pages = 0
    for body in bodies:
        tokens: set[str] = set()
        for el in _elements(body):
            tokens |= _tokens(el)
        counts.update(tokens)
        pages += 1
    needed = VOCABULARY_SHARE * pages
    return {token for token, n in counts.items() if n >= needed}, pages


def _ancestors(key: str):
    cut = key.rfind("/")
    while cut > 0:
        yield key[:cut]
        cut = key.rfind("/", 0, cut)


BODY_KEY = "body"


class _PageSummary:
    """What learning needs of one page, without its tree.

    Attributes:
        blocks: ``(key, text digest, text sample, is a list of links)`` for each element of
            :data:`BLOCK_TAGS`, in document order.
        paragraphs: ``(text digest, characters of prose, keys of the elements holding it:
            itself, its ancestors, "body")`` for each prose paragraph.
    """

    def __init__(self, view: _PageView) -> None:
        self.blocks = []
        self.bylines = {view.keys[el] for el in _holding_a_byline(view.body) if el in view.keys}
        for el, key in view.keys.items():
            if el.tag in BLOCK_TAGS:
                text = view.text(el)
                self.blocks.append((key, _digest(text), text[:SAMPLE_CHARS], view.is_link_list(el, text)))
        self.paragraphs = [
            (digest, prose, (view.keys[el], *_ancestors(view.keys[el]))) for el, prose, digest in view.paragraphs
        ]

    def prose_held(self, counts) -> dict[str, int]:
        """Characters of prose (of paragraphs for which ``counts(digest)`` holds) inside each
        element, by key, the body's included (:data:`BODY_KEY`)."""
        held: dict[str, int] = defaultdict(int)
        for digest, prose, holders in self.paragraphs:
            if counts(digest):
                for key in holders:
                    held[key] += prose
        return held


class _PageView:
    """One page's elements with their structural keys, texts and prose paragraphs."""

    def __init__(self, body: HtmlElement, url: str | None, vocabulary) -> None:
        self.body = body
        self.host = (urlsplit(url).hostname or "").lower() if url else None
        self.keys: dict[HtmlElement, str] = {}
        self._texts: dict[HtmlElement, str] = {}
        counts: dict[HtmlElement, Counter] = defaultdict(Counter)
        paths = {body: BODY_KEY}
        for el in _elements(body):
            parent = el.getparent()
            step = el.tag + "".join(sorted(t for t in _tokens(el) if t in vocabulary))
            counts[parent][step] += 1
            key = f"{paths[parent]}/{step}[{counts[parent][step]}]"
            paths[el] = key
            self.keys[el] = key
        self._texts = _texts(list(self.keys))
        # prose paragraphs: (element, characters outside links, text digest)
        self.paragraphs = []
        for el in self.keys:
            if el.tag == "p" or (el.tag in BLOCK_TAGS and _direct_text(el) >= PROSE_CHARS):
                text = self.text(el)
                prose = len(text) - self.link_chars(el)
                if prose >= PROSE_CHARS:
                    self.paragraphs.append((el, prose, _digest(text)))

    def text(self, el: HtmlElement) -> str:
        found = self._texts.get(el)
        if found is None:
            found = self._texts[el] = " ".join(" ".join(_itertext(el)).split())
        return found

    def prose_held(self, counts) -> dict[HtmlElement, int]:
        """Characters of prose (of paragraphs for which ``counts(digest)`` holds) inside each
        element, the body included."""
        held: dict[HtmlElement, int] = defaultdict(int)
        for el, prose, digest in self.paragraphs:
            if not counts(digest):
                continue
            node = el
            while node is not None:
                held[node] += prose
                if node is self.body:
                    break
                node = node.getparent()
        return held

    def is_link_list(self, el: HtmlElement, text: str) -> bool:
        """Holds at least :data:`LINKS_MIN` links into the page's own site, and links make at
        least :data:`LINKS_TEXT_SHARE` of its text."""
        inside = 0
        for a in el.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:")):
                continue
            host = _host(href)
            if not host or host == self.host:
                inside += 1
        return inside >= LINKS_MIN and bool(text) and self.link_chars(el) >= LINKS_TEXT_SHARE * len(text)

    def link_chars(self, el: HtmlElement) -> int:
        """Characters of link text inside ``el``."""
        return sum(len(self.text(a)) for a in el.iter("a"))


def _itertext(el: HtmlElement):
    """The element's text, without that of :data:`OPAQUE_TAGS` and comments (iterative: deep
    trees do not reach Python's recursion limit)."""
    walker = etree.iterwalk(el, events=("start", "end", "comment", "pi"))
    for event, node in walker:
        if event in ("comment", "pi"):  # only its tail is text
            if node.tail:
                yield node.tail
        elif event == "start":
            if node.tag in OPAQUE_TAGS:
                walker.skip_subtree()
            elif node.text:
                yield node.text
        elif node is not el and node.tail:
            yield node.tail


def _texts(elements: list[HtmlElement]) -> dict[HtmlElement, str]:
    """The text of each of ``elements`` (a subtree's elements in document order), white space
    folded, as ``" ".join(_itertext(el))`` folded gives it, built from its children's texts
    (children come after their parent in document order, so the list is read backwards):
    one pass over the tree instead of one walk of each element's subtree."""
    texts: dict[HtmlElement, str] = {}
    for el in reversed(elements):
        if el.tag in OPAQUE_TAGS:
            texts[el] = ""
            continue
        parts = [el.text] if el.text else []
        for child in el:
            if isinstance(child.tag, str) and child.tag not in OPAQUE_TAGS:
                inner = texts.get(child)
                parts.append(inner if inner is not None else " ".join(_itertext(child)))
            if child.tail:
                parts.append(child.tail)
        texts[el] = " ".join(" ".join(parts).split())
    return texts


def _direct_text(el: HtmlElement) -> int:
    return len((el.text or "").strip()) + sum(len((c.tail or "").strip()) for c in el)


@lru_cache(maxsize=4096)
def _host(href: str) -> str:
    # cached: a page's menus and lists link to the same URLs on every page of the site
    try:
        return (urlsplit(href).hostname or "").lower()
    except ValueError:  # a malformed URL (an unclosed IPv6 bracket) names no host
        return ""
