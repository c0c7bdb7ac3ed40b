"""Telling download errors apart: what Scrapy and Twisted raise, unwrapped.

Twisted wraps the cause of a failed download (``ResponseNeverReceived.reasons``,
``ResponseFailed.reasons``) and Scrapy wraps Twisted's errors again
(``DownloadFailedError`` with ``__cause__``). These helpers look through the wrapping, so
that a failure row can say *why*: a TLS certificate that could not be verified, a
``Content-Encoding`` that does not decode.
"""

from __future__ import annotations

import gzip
import zlib

from twisted.python.failure import Failure

MAX_DEPTH = 20


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it wraps (``__cause__``, ``__context__``, Twisted's ``reasons``)."""
    found: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(found) < MAX_DEPTH:
        current = todo.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        for reason in getattr(current, "reasons", None) or []:
            if isinstance(reason, Failure):
                todo.append(reason.value)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return found


def tls_problem(exc: BaseException) -> str | None:
    """What OpenSSL said when the TLS handshake failed (``certificate verify failed``, ...),
    or ``None`` when ``exc`` is not a TLS failure."""
    from OpenSSL.SSL import Error as OpenSSLError

    for found in causes(exc):
        if isinstance(found, OpenSSLError):
            details = found.args[0] if found.args and isinstance(found.args[0], list) else []
            reasons = [str(part[2]) for part in details if isinstance(part, tuple) and len(part) > 2]
            return ", ".join(reasons) or str(found) or "handshake failed"
    return None


def is_decoding_error(exc: BaseException) -> bool:
    """A body whose ``Content-Encoding`` does not decode (zlib, gzip, brotli or zstd raised in
    Scrapy's HttpCompressionMiddleware)."""
    for found in causes(exc):
        module = type(found).__module__ or ""
        if isinstance(found, (zlib.error, gzip.BadGzipFile)) or module.startswith(
            ("brotli", "_brotli", "backports.zstd", "compression.zstd", "zstd")
        ):
            return True
    return False
