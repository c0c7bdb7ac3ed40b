"""Stage 1, decode: bytes to text to an HTML tree."""

from __future__ import annotations

import logging
import re

import lxml.html
from lxml.etree import ElementDefaultClassLookup
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding

from crawler.charset import utf16_byte_order, wide_label_meaning
from crawler.markup import complexity_problem, depth_problem
from crawler.sniff import sniff_binary

logger = logging.getLogger(__name__)

XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
# Void elements of HTML (WHATWG HTML 13.1.2) that libxml2's HTML parser (2.14) does not know
# as void: it nests what follows each inside it, so a paragraph with 200 <wbr> line-break
# hints nests 200 levels deep (and is refused as too deep). Each is closed where it opens.
UNKNOWN_VOID = re.compile(r"<(wbr|source|track|embed|keygen)\b([^<>]*?)/?>", re.IGNORECASE)

# trafilatura's parser (trafilatura.utils.HTML_PARSER: comments and processing instructions
# left out), with every element an HtmlElement chosen in C: lxml.html's own lookup runs in
# Python for each element the code touches, about a tenth of the extraction's time, to give
# forms and inputs classes of their own that nothing here uses
HTML_PARSER = lxml.html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True)
HTML_PARSER.set_element_class_lookup(
    ElementDefaultClassLookup(element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity)
)


class ExtractionError(ValueError):
    """The input is not an HTML document: empty, binary, or not parsable as HTML.

    Attributes:
        kind: the failure kind recorded for it: ``empty`` (no bytes), ``content_type_mismatch``
            (labelled HTML, or unlabelled, but another format by its first bytes),
            ``too_complex`` (markup over the limits of :mod:`crawler.markup`), ``not_html``
            (anything else).
    """

    def __init__(self, message: str, kind: str = "not_html") -> None:
        super().__init__(message)
        self.kind = kind



def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode body bytes in one documented order (w3lib ``html_to_unicode``, after WHATWG):

    1. a byte-order mark; without one, UTF-16 told by its NUL bytes, in either byte order
       (:func:`crawler.charset.utf16_byte_order`);
    2. the HTTP ``Content-Type`` charset;
    3. the page's ``<meta charset>`` — except that bytes which are valid UTF-8 with
       multi-byte characters are read as UTF-8 when the meta names a legacy encoding (a page
       re-saved as UTF-8 keeps its old meta; legacy-encoded text is almost never valid
       UTF-8 by accident);
    4. UTF-8 if the bytes are valid UTF-8, else Windows-1252.

    A header or ``<meta>`` naming UTF-16 on bytes that are not UTF-16 means UTF-8, one
    naming UTF-32 means nothing (WHATWG HTML 13.2.3.2: :func:`crawler.charset.wide_label_meaning`).
    Invalid bytes become U+FFFD; nothing raises.

    Returns:
        ``(encoding, text)``.
    """
    has_bom = body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
    if not has_bom and (order := utf16_byte_order(body)):
        return order, body.decode(order, "replace")
    header, declared = declared_encodings(body, content_type)
    if not has_bom:
        for label in (header, declared):
            meaning = wide_label_meaning(label)
            if meaning is not None:
                # the label cannot be right for these bytes: read as WHATWG's prescan does
                return html_to_unicode(f"text/html; charset={meaning or _detect(body)}", body)
            if label:
                break  # the header, when it names a charset, decides
    if not has_bom and header is None and declared and "utf" not in declared.lower() and _multibyte_utf8(body):
        return "utf-8", body.decode("utf-8")
    # the header, else the <meta>, else the bytes decide (w3lib's html_to_unicode order;
    # its auto_detect_fun argument, deprecated in w3lib 2.6, is spelt as the header here)
    return html_to_unicode(f"text/html; charset={header or declared or _detect(body)}", body)


def _multibyte_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> str:
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def declared_encodings(body: bytes, content_type: str | None) -> tuple[str | None, str | None]:
    """The charset named by the HTTP header and by the page's ``<meta>`` (either may be ``None``)."""
    return http_content_type_encoding(content_type), html_body_declared_encoding(body)


def parse_document(html: bytes | str, content_type: str | None = None, *, guard: bool = True) -> tuple[HtmlElement, str | None]:
    """Parse an HTML document into an lxml tree; also say which character encoding decoded it.

    ``guard=False`` skips the complexity check of :mod:`crawler.markup` for bytes that
    passed it already: a stored story's body, which was extracted when it was fetched.

    Returns:
        ``(tree, encoding)``; ``encoding`` is ``None`` for text given decoded.

    Raises:
        ExtractionError: empty input (kind ``empty``), binary content (``content_type_mismatch``
            when ``content_type`` says HTML or nothing, else ``not_html``), nothing parsable,
            or markup over the limits of :mod:`crawler.markup` (``too_complex``: attributes
            on one element or in all, elements, found on the bytes before any parse; nesting
            depth, found on the tree; a text node too long for libxml2, found by the parser).
    """
    encoding = None
    if isinstance(html, bytes):
        if not html.strip():
            raise ExtractionError("empty body", "empty")
        kind = sniff_binary(html)
        if kind:
            labelled = (content_type or "").lower()
            mismatch = not labelled or "html" in labelled or labelled.startswith("text/")
            raise ExtractionError(f"not HTML: the body is {kind} data", "content_type_mismatch" if mismatch else "not_html")
    if guard and (reason := complexity_problem(html)):
        # parse and extraction time grow with the square of the attributes on one element
        # and with the elements: a page built to hold a crawl (reliability.md, 13) is kept
        # raw, not parsed
        raise ExtractionError(reason, "too_complex")
    if isinstance(html, bytes):
        encoding, text = decode(html, content_type)
    else:
        text = html
    if not text.strip():
        raise ExtractionError("empty body", "empty")
    text = XML_DECLARATION.sub("", text, count=1)
    text = UNKNOWN_VOID.sub(r"<\1\2></\1>", text)
    tree = _load_html(text)
    if tree is None:
        raise ExtractionError("not parsable as HTML")
    if guard and (reason := depth_problem(tree) or _cut_by_the_parser()):
        raise ExtractionError(reason, "too_complex")
    return tree, encoding


def _cut_by_the_parser() -> str | None:
    """Why the last parse with :data:`HTML_PARSER` did not build the whole page, or ``None``:
    libxml2 stops at a text node over 10,000,000 characters (its ``XML_MAX_TEXT_LENGTH``,
    lifted only by its "huge" option, which lxml leaves off) with a resource-limit error and
    drops the rest of the page, which would then be extracted as empty. Reads the parser's
    log of its last parse: one parse at a time per process (the crawl's extraction workers
    are processes)."""
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in HTML_PARSER.error_log):
        return "a text over libxml2's limit of 10,000,000 characters: the page cannot be parsed whole"
    return None


def _load_html(text: str) -> HtmlElement | None:
    """trafilatura's ``load_html`` on decoded text, with :data:`HTML_PARSER`: its repairs,
    the bytes as a second try, and its test that a text not starting like HTML parses into
    at least two elements; ``None`` when it fails."""
    from trafilatura.utils import repair_faulty_html  # trafilatura loads with the first extraction

    beginning = text[:50].lower()
    text = repair_faulty_html(text, beginning)
    try:
        tree = lxml.html.fromstring(text, parser=HTML_PARSER)
    except ValueError:  # a str with an encoding declaration: lxml wants bytes
        tree = None
    except Exception as exc:  # libxml2 refuses some inputs outright
        logger.debug("lxml could not parse the text: %s", exc)
        tree = None
    if tree is None or len(tree) < 1:
        try:
            tree = lxml.html.fromstring(text.encode("utf-8", "surrogatepass"), parser=HTML_PARSER)
        except Exception as exc:
            logger.debug("lxml could not parse the bytes: %s", exc)
            return None
    if "html" not in beginning and len(tree) < 2:
        return None  # trafilatura's rejection test: not (well-formed) HTML
    return tree
