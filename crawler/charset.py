"""Character encodings as browsers read them, on the fetched bytes: what the page's own
bytes and labels say before any decoding.

WHATWG HTML 13.2.3 (determining the character encoding) and the WHATWG Encoding standard
are the source of both rules here:

- a ``<meta>`` (or a Content-Type header) that names UTF-16 or UTF-32 for bytes that are
  not UTF-16 cannot be right: markup found by an ASCII byte scan is in an ASCII-compatible
  encoding. The prescan reads a UTF-16 label as UTF-8 (13.2.3.2, "get an encoding"
  step: "If charset is UTF-16BE/LE, then set charset to UTF-8"); UTF-32 is no label of
  the Encoding standard, so the prescan ignores it and the page is read as if it named
  nothing. :func:`wide_label_meaning` says which.
- UTF-16 without a byte-order mark: no ASCII-compatible encoding puts NUL bytes in markup,
  so HTML whose first kilobyte has NUL bytes at every other position, and whose first
  character is ``<``, is UTF-16 in the byte order the NULs say (:func:`utf16_byte_order`;
  the byte-order mark, when there is one, decides first).
"""

from __future__ import annotations

#: bytes read to tell UTF-16 by its NUL bytes: 512 characters of markup
SNIFF_BYTES = 1024


def utf16_byte_order(body: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` for HTML in UTF-16 without a byte-order mark, told
    by its NUL bytes (the high bytes of ASCII characters), else ``None``.

    The first :data:`SNIFF_BYTES` bytes must have NUL bytes at at least a third of the
    positions of one parity and almost none (under 1 in 20) at the other, and start, once
    decoded, with ``<`` after white space (markup; UTF-32 has NULs at both parities).
    """
    head = body[: SNIFF_BYTES - SNIFF_BYTES % 2]
    head = head[: len(head) - len(head) % 2]
    pairs = len(head) // 2
    if pairs < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd * 3 >= pairs and even * 20 < pairs:
        order = "utf-16-le"
    elif even * 3 >= pairs and odd * 20 < pairs:
        order = "utf-16-be"
    else:
        return None
    return order if head.decode(order, "replace").lstrip()[:1] == "<" else None


def wide_label_meaning(label: str | None) -> str | None:
    """What a charset label naming UTF-16 or UTF-32, found on bytes that are not UTF-16,
    means (WHATWG HTML 13.2.3.2): ``"utf-8"`` for a UTF-16 label, ``""`` for a UTF-32 one
    (no encoding: the label is ignored), ``None`` when ``label`` names neither (it means
    what it says). ``label`` is a Python codec name or an alias (``utf-16``,
    ``utf-16-le``, ``UTF16``, ``utf_32be``, ...)."""
    if not label:
        return None
    name = label.strip().lower().replace("_", "-")
    if name.startswith(("utf-16", "utf16")):
        return "utf-8"
    if name.startswith(("utf-32", "utf32")):
        return ""
    return None
