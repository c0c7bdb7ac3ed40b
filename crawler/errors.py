"""Download failures, told apart by exception type: one classifier for the whole crawl.

Twisted wraps the cause of a failed download (``ResponseNeverReceived.reasons``,
``ResponseFailed.reasons``) and Scrapy wraps Twisted's errors again
(``DownloadFailedError`` with ``__cause__``). :func:`causes` looks through the wrapping;
:func:`failure_kind` names the failure (the ``failures.kind`` of a page) and
:func:`network_cause` the short cause of a failed robots.txt fetch, from one table of
exception types. The exceptions newsarchive's own middlewares raise are defined here, so
that the classifier and the middlewares share them without importing each other.
"""

from __future__ import annotations

import gzip
import traceback
import zlib

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

MAX_DEPTH = 20


class PrivateAddressRefused(IgnoreRequest):
    """A request to a loopback, private, link-local or otherwise non-public address was refused."""


class OffsiteRedirect(IgnoreRequest):
    """A redirect (HTTP or meta refresh) that leaves the source's site in a scheduled crawl."""


class HostDeferred(IgnoreRequest):
    """The host asked for a pause longer than ``ARCHIVE_RETRY_AFTER_MAX_SECS``: its requests
    wait for the next run (failure kind ``deferred``)."""


class RobotsDisallowedHost(IgnoreRequest):
    """A request refused because its host's robots.txt could not be read (RFC 9309 2.3.1.4:
    disallow all). ``kind`` is the failure kind to record: ``robots`` when the site answered
    (5xx, a refused request), else why it could not be reached (``dns``, ``timeout``,
    ``connection``, ``tls``): the same as the page itself would have failed with."""

    def __init__(self, message: str, kind: str = "robots") -> None:
        super().__init__(message)
        self.kind = kind


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


def readable(exc: BaseException) -> str:
    """``exc``'s text for a failure row: a Twisted error that only wraps others
    (``ResponseFailed([<Failure ...>])``) is told by what it wraps (``ParseError: ('wrong
    number of parts', b'garbage')``), not by the repr of its list of failures."""
    for found in causes(exc):  # Scrapy wraps Twisted's error again (DownloadFailedError)
        reasons = [r.value for r in getattr(found, "reasons", None) or [] if isinstance(r, Failure)]
        if reasons:
            return "; ".join(f"{type(r).__name__}: {readable(r)}" for r in reasons)
    return str(exc) or type(exc).__name__


def release_frames(failure: Failure) -> None:
    """Clear the local variables of the frames in a failure's exception chain
    (``traceback.clear_frames``).

    Scrapy refuses a decompression bomb with ``raise IgnoreRequest(...) from e``: the
    frames of ``e``'s traceback hold the body decompressed so far (up to DOWNLOAD_MAXSIZE),
    in a reference cycle that only Python's cycle collector frees. Six bombs in one crawl
    kept about 117 MiB alive; cleared here, each is freed as soon as it is recorded.
    """
    for exc in causes(failure.value):
        if exc.__traceback__ is not None:
            traceback.clear_frames(exc.__traceback__)


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


#: The network failures, in the order they are tried: exception types, failure kind, the
#: short cause (robots.txt messages) and the page message (``{}``: the exception's text).
NETWORK_FAILURES: tuple[tuple[tuple[type[BaseException], ...], str, str, str], ...] = (
    ((CannotResolveHostError, DNSLookupError), "dns", "host not found", "cannot resolve host: {}"),
    ((DownloadTimeoutError, TimeoutError, TCPTimedOutError), "timeout", "timed out", "timed out: {}"),
    ((DownloadConnectionRefusedError, ConnectionRefusedError), "connection", "connection refused", "connection refused"),
    ((DownloadFailedError, ConnectError, ConnectionLost), "connection", "connection lost", "connection failed: {}"),
)


def _network(exc: BaseException) -> tuple[str, str, str] | None:
    """``(kind, short cause, page message)`` of the first network failure in ``exc``'s chain."""
    chain = causes(exc)
    for types, kind, short, long in NETWORK_FAILURES:
        for found in chain:
            if isinstance(found, types):
                return kind, short, long.format(readable(exc))
    return None


def network_cause(exc: BaseException) -> tuple[str, str]:
    """``(failure kind, short text)`` for a fetch that failed before any answer (used for
    robots.txt): ``tls``, ``dns``, ``timeout``, ``connection``; else ``robots`` and the
    exception's class name."""
    if problem := tls_problem(exc):
        return "tls", f"TLS failed: {problem}"
    if found := _network(exc):
        return found[0], found[1]
    return "robots", type(exc).__name__


def failure_kind(failure: Failure) -> tuple[str, str]:
    """A short kind and a one-line message for a download failure.

    Kinds: ``dns``, ``timeout``, ``connection``, ``tls`` (the certificate could not be
    verified, or the TLS handshake failed), ``too_large`` (over DOWNLOAD_MAXSIZE, also
    after decompression), ``truncated`` (data loss: Content-Length not reached, a broken
    chunk, a reset mid-body), ``robots`` (disallowed, or robots.txt answered 5xx; when
    robots.txt could not be reached at all, the network kind: ``dns``, ``timeout``,
    ``connection``, ``tls``), ``redirects`` (a loop or too many hops),
    ``offsite`` (a redirect off the source's site in a scheduled crawl), ``refused``
    (SSRF guard), ``deferred`` (the host asked for a longer pause than
    ARCHIVE_RETRY_AFTER_MAX_SECS: the URL waits for the next run), ``unsupported`` (a
    scheme that is not fetched), ``bad_encoding`` (a Content-Encoding that does not
    decode), ``error`` (anything else).
    """
    exc = failure.value
    message = readable(exc)
    for types, kind, _short, long in NETWORK_FAILURES[:3]:
        if isinstance(exc, types):
            return kind, long.format(message)
    if isinstance(exc, ResponseDataLossError):
        return "truncated", f"response truncated: {message}"
    if isinstance(exc, DownloadCancelledError) or (isinstance(exc, IgnoreRequest) and "MAXSIZE" in message.upper()):
        # Scrapy cancels a download over DOWNLOAD_MAXSIZE (declared, streamed or decompressed)
        return "too_large", "response body over the size limit (DOWNLOAD_MAXSIZE); not archived"
    own = ((UnsupportedURLSchemeError, "unsupported"), (PrivateAddressRefused, "refused"), (OffsiteRedirect, "offsite"), (HostDeferred, "deferred"))
    for types, kind in own:
        if isinstance(exc, types):
            return kind, message
    if problem := tls_problem(exc):
        return "tls", f"TLS failed (certificate not verified, or no common protocol): {problem}"
    if is_decoding_error(exc):
        return "bad_encoding", f"the body does not decode as its Content-Encoding says: {message}"
    if isinstance(exc, RobotsDisallowedHost):
        # robots.txt unreachable: the host is disallowed (RFC 9309), and the kind says why
        return exc.kind, message
    if isinstance(exc, IgnoreRequest) and "robots.txt" in message:
        return "robots", message if message.startswith("robots.txt") else "forbidden by robots.txt"
    if isinstance(exc, IgnoreRequest) and "redirections" in message:
        return "redirects", "too many redirects (a loop, or more than REDIRECT_MAX_TIMES hops)"
    types, kind, _short, long = NETWORK_FAILURES[3]
    if isinstance(exc, types):
        return kind, long.format(message)
    return "error", f"{type(exc).__name__}: {message}"
