"""How complex a fetched page's markup is: read from its bytes before any parser sees them,
and from its tree after.

An HTML parser's time is not linear in every shape of markup: libxml2 (lxml, which Scrapy's
link extractor and trafilatura use) checks each attribute of an element against the
others, so its time grows with the square of the attributes on one element (a 2.6 MB page
with 200,000 attributes on ``<body>`` took about 60 s to parse, all of it on the crawl's
reactor, which froze every download of the crawl); and extraction time grows with the
elements. :func:`complexity_problem` bounds both on the raw bytes with one compiled
regular expression (possessive quantifiers: no backtracking), linear in the page's size
(1-2 ms for a real page), so that a page's parse stays within a fraction of a second.
Beyond 256 levels of nesting libxml2 stops building the tree and silently drops the rest
of the page: parsing such a page costs no more than any other, so its nesting is checked
on the tree, after the parse (:func:`depth_problem`). A refused page is kept raw
(``too_complex``).

The scan follows the HTML tokenizer's outline (WHATWG HTML, 13.2.5) far enough to count:
comments, doctypes and processing instructions are skipped; the text of raw-text
elements (``script``, ``style``, ``textarea``, ...) is not read for tags; an attribute
value in quotes (after ``=``) may hold ``>``, and a stray quote is part of a name.
UTF-16 and UTF-32 bytes are read with their NUL bytes left out (their ASCII characters,
markup included, are then one byte each).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import islice

from lxml import etree
from lxml.etree import XPath

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

#: levels of nesting in the parsed tree (``html`` and ``body`` not counted): libxml2, as
#: lxml runs it for Scrapy and trafilatura (without its "huge" option), stops at 256 levels
#: and drops the rest of the page without an error, so a deeper page cannot be extracted whole. The
#: deepest real page nests 49 levels: 200 leaves four times that, under libxml2's cut.
MAX_DEPTH = 200

#: tags read at most (start and end tags, comments, doctypes): real pages have about two
#: tags an element (19,236 at most); this bounds the scan's memory on a page of end tags
MAX_TAGS = 3 * MAX_ELEMENTS

# an attribute text: runs of anything but ``>`` and ``=``, and ``=`` with its quoted value
_ATTRIBUTES = rb"(?:[^>=]++|=\s*+(?:\"[^\"]*+\"|'[^']*+')?+)*+"
# WHATWG HTML 13.1.2: raw text and escapable raw text elements hold text, not tags
# (noembed, noframes, xmp and plaintext are read the same way)
_RAW_TEXT = rb"script|style|textarea|title|xmp|iframe|noembed|noframes|plaintext"
# one comment, doctype, processing instruction, end tag, or start tag; a start tag's
# groups are (name, name if raw text, attribute text), and a raw-text element's text up to
# its end tag is read with it; possessive quantifiers and an unrolled loop for the raw
# text: no backtracking, so the scan stays linear on unterminated quotes, tags and text
_TOKEN = re.compile(
    rb"<(?:!--.*?(?:-->|\Z)"
    rb"|[!?][^>]*+>?"
    rb"|/[A-Za-z][^\s/>]*+" + _ATTRIBUTES
    + rb"|((" + _RAW_TEXT + rb")(?![^\s/>])|[A-Za-z][^\s/>]*+)(" + _ATTRIBUTES + rb")"
    rb"(?(2)[^<]*+(?:<(?!/\2[\s/>])[^<]*+)*+))",
    re.S | re.I,
)
_ATTRIBUTE = re.compile(rb"""[^\s/>=][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+""")
_count_attributes = functools.partial(_ATTRIBUTE.subn, b"")  # (rest, count): counted in C, no list

# the elements below ``body`` deeper than MAX_DEPTH (``/html/body`` then MAX_DEPTH + 1
# levels): evaluated in C, about 0.2 ms on a real page
_TOO_DEEP = XPath("boolean(/*/*" + "/*" * (MAX_DEPTH + 1) + ")")


@dataclass
class Markup:
    """What :func:`measure` counted.

    Attributes:
        elements: start tags.
        attributes: attributes of all start tags.
        most_attributes: the most attributes on one start tag.
        tags: tags read (start and end tags, comments, doctypes); at most :data:`MAX_TAGS` + 1.
        stopped: the first limit exceeded, in the order most attributes, attributes,
            elements, tags (``None``: within them all).
    """

    elements: int = 0
    attributes: int = 0
    most_attributes: int = 0
    tags: int = 0
    stopped: str | None = None


def measure(body: bytes) -> Markup:
    """Count the markup of ``body`` (HTML bytes, any ASCII-compatible encoding, UTF-16 or
    UTF-32): elements and attributes, in the first :data:`MAX_TAGS` + 1 tags. Linear in
    ``len(body)``; its memory is bounded by :data:`MAX_TAGS`."""
    if b"\x00" in body[:1024]:
        body = body.replace(b"\x00", b"")
    if body.count(b"<") <= MAX_TAGS:
        tokens = _TOKEN.findall(body)
    else:
        tokens = [match.groups() for match in islice(_TOKEN.finditer(body), MAX_TAGS + 1)]
    attribute_texts = [attributes for name, _, attributes in tokens if name]
    counts = [count for _, count in map(_count_attributes, filter(None, attribute_texts))]
    markup = Markup(len(attribute_texts), sum(counts), max(counts, default=0), len(tokens))
    markup.stopped = _over(markup)
    return markup


def _over(markup: Markup) -> str | None:
    if markup.most_attributes > MAX_ATTRIBUTES_PER_ELEMENT:
        return f"an element with over {MAX_ATTRIBUTES_PER_ELEMENT} attributes"
    if markup.attributes > MAX_ATTRIBUTES:
        return f"{markup.attributes} attributes, over {MAX_ATTRIBUTES}"
    if markup.elements > MAX_ELEMENTS:
        return f"over {MAX_ELEMENTS} elements"
    if markup.tags > MAX_TAGS:
        return f"over {MAX_TAGS} tags"
    return None


def complexity_problem(body: bytes | str) -> str | None:
    """Why the page ``body`` is too complex to parse, or ``None``: over one of the limits of
    this module (:data:`MAX_ATTRIBUTES_PER_ELEMENT`, :data:`MAX_ATTRIBUTES`,
    :data:`MAX_ELEMENTS`, :data:`MAX_TAGS`; nesting is checked after the parse,
    :func:`depth_problem`). A page given decoded is read as UTF-8. Never raises; linear in
    the size of the page.

    Returns:
        a one-line message for the ``too_complex`` failure (``"an element with over 1000
        attributes: too complex to parse"``), or ``None``.
    """
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    reason = measure(body).stopped
    return f"{reason}: too complex to parse" if reason else None


def depth_problem(tree: etree._Element) -> str | None:
    """Why the parsed page ``tree`` (an lxml element, the document's root) cannot be
    extracted whole, or ``None``: elements nested over :data:`MAX_DEPTH` levels below
    ``body``, which on a deeper page means libxml2 dropped what lay below its 256th level.

    Returns:
        a one-line message for the ``too_complex`` failure, or ``None``.
    """
    if _TOO_DEEP(tree):
        return f"elements nested over {MAX_DEPTH} levels deep: the page cannot be parsed whole"
    return None
