"""Stage 1, decode: bytes to text to an HTML tree."""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.utils import load_html
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding

logger = logging.getLogger(__name__)

# Signatures of formats that are not HTML, whatever the Content-Type says
# (WHATWG MIME Sniffing, section 7.1): PDF, images, archives, media.
BINARY_SIGNATURES = (
    b"%PDF-", b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b",
    b"RIFF", b"OggS", b"\x00\x00\x00\x18ftyp", b"\x00\x00\x00\x1cftyp", b"\x00\x00\x00 ftyp",
    b"ID3", b"BZh", b"7z\xbc\xaf", b"\xfd7zXZ", b"Rar!", b"wOFF", b"wOF2", b"\x00asm",
)
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


class ExtractionError(ValueError):
    """The input is not an HTML document: empty, binary, or not parsable as HTML.

    Attributes:
        kind: the failure kind recorded for it: ``empty`` (no bytes), ``content_type_mismatch``
            (labelled HTML, or unlabelled, but another format by its first bytes),
            ``too_complex`` (more than :data:`MAX_ELEMENTS` elements), ``not_html``
            (anything else).
    """

    def __init__(self, message: str, kind: str = "not_html") -> None:
        super().__init__(message)
        self.kind = kind


#: elements a page may have to be extracted: three times the largest of the 409 real pages
#: of ../shared/data (9,893, a long Wikipedia article); news stories have a few thousand
MAX_ELEMENTS = 30_000

#: the largest saved page read (``archive --html``, ``extract``): the crawl's DOWNLOAD_MAXSIZE
MAX_PAGE_BYTES = 20 * 1024 * 1024


def read_saved_page(path: str | Path, max_bytes: int = MAX_PAGE_BYTES) -> bytes:
    """The bytes of a page saved by a browser (``.gz``: decompressed), at most ``max_bytes``
    (20 MiB, as a fetch: crawler/settings.py DOWNLOAD_MAXSIZE), read in bounded chunks so
    that a device (``/dev/zero``), a huge file or a gzip bomb is refused, not read whole.

    Raises:
        OSError: the file cannot be read, or holds more than ``max_bytes`` (decompressed).
        EOFError, gzip.BadGzipFile: a ``.gz`` file that is cut short or not gzip.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        body = stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise OSError(f"{path}: over {max_bytes // (1024 * 1024)} MiB{' decompressed' if path.suffix == '.gz' else ''}; not read (the limit of a fetched page)")
    return body


def sniff_binary(body: bytes) -> str | None:
    """The name of a non-HTML format recognised from the first bytes, or ``None``."""
    head = body[:16]
    for signature in BINARY_SIGNATURES:
        if head.startswith(signature):
            return {b"%PDF-": "PDF", b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"PK\x03\x04": "ZIP", b"\x1f\x8b": "gzip"}.get(
                signature, "binary"
            )
    # NUL bytes early on mean binary data (WHATWG MIME Sniffing's "binary data bytes"), unless
    # the body starts as markup: a page with a stray NUL is still a page (its NULs are dropped)
    if b"\x00" in body[:1024] and not body.startswith((b"\xff\xfe", b"\xfe\xff")) and not body.lstrip()[:1] == b"<":
        return "binary"
    return None


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode body bytes in one documented order (w3lib ``html_to_unicode``, after WHATWG):

    1. a byte-order mark;
    2. the HTTP ``Content-Type`` charset;
    3. the page's ``<meta charset>`` — except that bytes which are valid UTF-8 with
       multi-byte characters are read as UTF-8 when the meta names a legacy encoding (a page
       re-saved as UTF-8 keeps its old meta; legacy-encoded text is almost never valid
       UTF-8 by accident);
    4. UTF-8 if the bytes are valid UTF-8, else Windows-1252.

    Invalid bytes become U+FFFD; nothing raises.

    Returns:
        ``(encoding, text)``.
    """
    header, declared = declared_encodings(body, content_type)
    has_bom = body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
    if not has_bom and header is None and declared and "utf" not in declared.lower() and _multibyte_utf8(body):
        return "utf-8", body.decode("utf-8")
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    return encoding, text


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


_COUNT_ELEMENTS = XPath("count(//*)")


def parse_html(html: bytes | str, content_type: str | None = None) -> HtmlElement:
    """Parse an HTML document into an lxml tree (:func:`parse_document` without the encoding)."""
    return parse_document(html, content_type)[0]


def parse_document(html: bytes | str, content_type: str | None = None) -> tuple[HtmlElement, str | None]:
    """Parse an HTML document into an lxml tree; also say which character encoding decoded it.

    Returns:
        ``(tree, encoding)``; ``encoding`` is ``None`` for text given decoded.

    Raises:
        ExtractionError: empty input (kind ``empty``), binary content (``content_type_mismatch``
            when ``content_type`` says HTML or nothing, else ``not_html``), nothing parsable,
            or a tree of more than :data:`MAX_ELEMENTS` elements (``too_complex``).
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
        encoding, text = decode(html, content_type)
    else:
        text = html
    if not text.strip():
        raise ExtractionError("empty body", "empty")
    text = XML_DECLARATION.sub("", text, count=1)
    tree = load_html(text)
    if tree is None:
        raise ExtractionError("not parsable as HTML")
    elements = int(_COUNT_ELEMENTS(tree))  # counted in C: iterating in Python costs ~1 ms a page
    if elements > MAX_ELEMENTS:
        # extraction time grows with the tree (about 0.3 ms an element): a page built to
        # hold a crawl (reliability.md, 13) is kept raw, not extracted
        raise ExtractionError(
            f"{elements} elements, over {MAX_ELEMENTS}: too complex to extract; the raw page is kept", "too_complex"
        )
    return tree, encoding
