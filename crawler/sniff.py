"""What fetched or saved bytes are, before any parsing: binary formats recognised by their
first bytes, and saved pages read within the size limit of a fetch.

Used by the spiders (a PDF served as ``text/html`` is not an article) and by the
extraction (which refuses binary input with the same rule).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from crawler.charset import utf16_byte_order
from crawler.settings import DOWNLOAD_MAXSIZE

# Signatures of formats that are not HTML, whatever the Content-Type says
# (WHATWG MIME Sniffing, section 7.1): PDF, images, archives, media.
BINARY_SIGNATURES = (
    b"%PDF-", b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b",
    b"RIFF", b"OggS", b"\x00\x00\x00\x18ftyp", b"\x00\x00\x00\x1cftyp", b"\x00\x00\x00 ftyp",
    b"ID3", b"BZh", b"7z\xbc\xaf", b"\xfd7zXZ", b"Rar!", b"wOFF", b"wOF2", b"\x00asm",
)

#: the largest saved page read (``archive --html``, ``extract``): the largest page a fetch keeps
MAX_PAGE_BYTES = DOWNLOAD_MAXSIZE


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
        raise OSError(f"over {max_bytes // (1024 * 1024)} MiB{' decompressed' if path.suffix == '.gz' else ''}; not read (the limit of a fetched page)")
    return body


def unreadable_because(exc: BaseException) -> str:
    """Why :func:`read_saved_page` failed, in words, without Python's ``[Errno N]`` and the
    file's name (the caller names the file): "No such file or directory", "Is a directory",
    "Permission denied", "not a gzip file", "cut short (end of the compressed data)"."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):
        return "cut short (end of the compressed data)"
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a gzip file ({exc})"
    return str(exc)


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
    if (
        b"\x00" in body[:1024]
        and not body.startswith((b"\xff\xfe", b"\xfe\xff"))
        and not body.lstrip()[:1] == b"<"
        and not utf16_byte_order(body)  # HTML in UTF-16 without a byte-order mark
    ):
        return "binary"
    return None
