"""How complex a fetched page's markup is, read from its bytes before any parser sees them.

An HTML parser's time is not linear in every shape of markup: libxml2 (lxml, which Scrapy's
link extractor and trafilatura use) checks each attribute of an element against the
others, so its time grows with the square of the attributes on one element (a 2.6 MB page
with 200,000 attributes on ``<body>`` took about 60 s to parse, all of it on the crawl's
reactor, which froze every download of the crawl); extraction time grows with the
elements; and beyond 256 levels of nesting libxml2 stops building the tree and silently
drops the rest of the page. :func:`complexity_problem` bounds all four on the raw bytes,
with compiled regular expressions (no backtracking) and a loop over at most
:data:`MAX_TAGS` tags: linear in the page's size (about 3 ms for a real page; 0.1-0.5 s
for 20 MiB built against it), so that a page's parse stays within a fraction of a second.
A refused page is kept raw (``too_complex``), never parsed.

The scan follows the HTML tokenizer's outline (WHATWG HTML, 13.2.5) far enough to count:
comments, doctypes and processing instructions are skipped; the text of raw-text
elements (``script``, ``style``, ``textarea``, ...) is not read for tags; an attribute
value in quotes (after ``=``) may hold ``>``, and a stray quote is part of a name.
Nesting follows the tree builder's outline (13.2.6):
void elements and self-closed tags do not nest; an end tag closes the nearest open
element of its name and everything opened inside it; an element whose end tag may be
left out (``p``, ``li``, ``td``, ...) closes when the next one of its kind starts, and an
open ``p`` when a block starts. UTF-16 and UTF-32 bytes are read with their NUL bytes
left out (their ASCII characters, markup included, are then one byte each).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: start tags (elements) a page may have: three times the most in the 611 real pages of
#: ../shared/data (9,888, a long Wikipedia article); news stories have a few thousand,
#: and extraction time grows with them (about 0.3 ms an element)
MAX_ELEMENTS = 30_000

#: attributes one element may have: libxml2 compares each attribute of an element with
#: the others, so its parse time grows with the square (measured with lxml 6.2: 1,000
#: attributes 1.4 ms, 5,000 80 ms, 20,000 0.9-1.4 s, 200,000 about 60 s). The most on one
#: element of the real pages is 70.
MAX_ATTRIBUTES_PER_ELEMENT = 1_000

#: attributes a page may have in all: over three times the most in the real pages
#: (13,949); with :data:`MAX_ATTRIBUTES_PER_ELEMENT` it bounds the parser's attribute work
#: to about 50 elements of 1,000 attributes (under 0.1 s)
MAX_ATTRIBUTES = 50_000

#: levels of nesting (``html`` and ``body`` not counted): libxml2, as lxml runs it for
#: Scrapy and trafilatura (without its "huge" option), stops at 256 levels and drops the
#: rest of the page without an error, so a deeper page cannot be extracted whole. The
#: deepest real page nests 49 levels: 200 leaves four times that, under libxml2's cut.
MAX_DEPTH = 200

#: tags read at most (start and end tags, comments, doctypes): real pages have about two
#: tags an element (19,236 at most); this bounds the scan's loop on a page of end tags
MAX_TAGS = 3 * MAX_ELEMENTS

# one tag, comment, doctype or processing instruction; possessive quantifiers: no
# backtracking, so the scan stays linear on unterminated quotes and tags
_TAG = re.compile(
    rb"<(?:(!--)"
    rb"|[!?][^>]*+>?"
    rb"|(/?)([A-Za-z][^\s/>]*+)((?:[^>=]++|=\s*+(?:\"[^\"]*+\"|'[^']*+')?+)*+))",
    re.S,
)
_ATTRIBUTE = re.compile(rb"""[^\s/>=][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+""")

# WHATWG HTML 13.1.2: void elements have no end tag; raw text and escapable raw text
# elements hold text, not tags (noembed, noframes, xmp and plaintext are read the same way)
_VOID = frozenset(b"area base br col embed hr img input link meta source track wbr param keygen frame basefont bgsound".split())
_RAW_TEXT = frozenset(b"script style textarea title xmp iframe noembed noframes plaintext".split())
# elements whose end tag may be omitted (13.1.2.4): the next one of the same kind closes them
_SELF_CLOSING_KIND = {
    b"p": b"p", b"li": b"li", b"dt": b"dd", b"dd": b"dd", b"option": b"option", b"optgroup": b"optgroup",
    b"tr": b"tr", b"td": b"td", b"th": b"td", b"thead": b"tbody", b"tbody": b"tbody", b"tfoot": b"tbody",
    b"rb": b"rb", b"rt": b"rb", b"rtc": b"rb", b"rp": b"rb",
}
# 13.2.6.4.7 "in body": these start tags close an open p element first
_CLOSES_P = frozenset(
    b"address article aside blockquote center details dialog dir div dl fieldset figcaption figure footer "
    b"form h1 h2 h3 h4 h5 h6 header hgroup hr li dd dt listing main menu nav ol p pre search section summary "
    b"table ul xmp plaintext".split()
)
# not counted as nesting: the document's own frame, opened implicitly anyway
_FRAME = frozenset((b"html", b"head", b"body"))
_RAW_END = {name: re.compile(rb"</" + name + rb"[\s/>]", re.I) for name in _RAW_TEXT}


@dataclass
class Markup:
    """What :func:`measure` counted (up to where it stopped).

    Attributes:
        elements: start tags.
        attributes: attributes of all start tags.
        most_attributes: the most attributes on one start tag (when the scan stops, at
            most :data:`MAX_ATTRIBUTES_PER_ELEMENT` + 1).
        depth: the deepest nesting of elements (levels).
        tags: tags read (start and end tags, comments, doctypes).
        stopped: the limit the scan stopped at (``None``: the whole page was read).
    """

    elements: int = 0
    attributes: int = 0
    most_attributes: int = 0
    depth: int = 0
    tags: int = 0
    stopped: str | None = None


def measure(body: bytes, *, stop: bool = True) -> Markup:
    """Count the markup of ``body`` (HTML bytes, any ASCII-compatible encoding, UTF-16 or
    UTF-32): elements, attributes, nesting. Linear in ``len(body)``.

    Args:
        stop: stop at the first limit exceeded (:data:`MAX_ELEMENTS`, ...), naming it in
            ``stopped``; ``False`` reads the whole page (to measure real pages).
    """
    if b"\x00" in body[:1024]:
        body = body.replace(b"\x00", b"")
    limit = stop
    elements = attributes = most = depth = tags = 0
    stack: list[bytes] = []
    open_count: dict[bytes, int] = {}

    def close_to(name: bytes) -> None:
        while stack:
            top = stack.pop()
            open_count[top] -= 1
            if top == name:
                return

    stopped = None
    pos = 0
    search = _TAG.search
    while (match := search(body, pos)) is not None:
        pos = match.end()
        tags += 1
        comment, end_tag, name, attrs = match.groups()
        if comment:  # to its end
            end = body.find(b"-->", pos)
            pos = end + 3 if end >= 0 else len(body)
        elif name is not None:
            name = name.lower()
            if end_tag:
                if open_count.get(name):
                    close_to(name)
            else:
                elements += 1
                if attrs.strip(b" \t\r\n\f/"):
                    count = _count_attributes(attrs)
                    attributes += count
                    most = max(most, count)
                if name in _RAW_TEXT:
                    end = _RAW_END[name].search(body, pos)
                    pos = end.start() if end else len(body)
                elif name not in _VOID and name not in _FRAME and not attrs.endswith(b"/"):
                    kind = _SELF_CLOSING_KIND.get(name)
                    if kind is not None and open_count.get(kind):
                        close_to(kind)
                    elif name in _CLOSES_P and open_count.get(b"p"):
                        close_to(b"p")
                    kind = kind or name
                    stack.append(kind)
                    open_count[kind] = open_count.get(kind, 0) + 1
                    depth = max(depth, len(stack))
        if limit and (
            most > MAX_ATTRIBUTES_PER_ELEMENT or attributes > MAX_ATTRIBUTES or depth > MAX_DEPTH
            or elements > MAX_ELEMENTS or tags > MAX_TAGS
        ):
            stopped = _over(elements, attributes, most, depth, tags)
            break
    return Markup(elements, attributes, most, depth, tags, stopped)


def _count_attributes(attrs: bytes) -> int:
    """The attributes in a tag's attribute text; past :data:`MAX_ATTRIBUTES_PER_ELEMENT`,
    that limit plus one (a long text is not read to its end)."""
    if len(attrs) < 16 * 1024:
        return _ATTRIBUTE.subn(b"", attrs)[1]  # counted in C, no list
    count = 0
    for count, _ in enumerate(_ATTRIBUTE.finditer(attrs), 1):
        if count > MAX_ATTRIBUTES_PER_ELEMENT:
            break
    return count


def _over(elements: int, attributes: int, most: int, depth: int, tags: int) -> str:
    if most > MAX_ATTRIBUTES_PER_ELEMENT:
        return f"an element with over {MAX_ATTRIBUTES_PER_ELEMENT} attributes"
    if attributes > MAX_ATTRIBUTES:
        return f"{attributes} attributes, over {MAX_ATTRIBUTES}"
    if depth > MAX_DEPTH:
        return f"elements nested over {MAX_DEPTH} levels deep"
    if elements > MAX_ELEMENTS:
        return f"over {MAX_ELEMENTS} elements"
    return f"over {MAX_TAGS} tags"


def complexity_problem(body: bytes | str) -> str | None:
    """Why the page ``body`` is too complex to parse, or ``None``: over one of the limits of
    this module (:data:`MAX_ATTRIBUTES_PER_ELEMENT`, :data:`MAX_ATTRIBUTES`,
    :data:`MAX_DEPTH`, :data:`MAX_ELEMENTS`, :data:`MAX_TAGS`). A page given decoded is
    read as UTF-8. Never raises; linear in the size of the page.

    Returns:
        a one-line message for the ``too_complex`` failure (``"an element with over 1000
        attributes: too complex to parse; the raw page is kept"``), or ``None``.
    """
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    reason = measure(body).stopped
    return f"{reason}: too complex to parse; the raw page is kept" if reason else None
