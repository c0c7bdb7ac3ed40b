"""Items: plain dataclasses, one per fetched page or failed URL (read through ItemAdapter).

They hold plain values only: never a Response or a database handle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageItem:
    """One fetched (or imported) page on its way to the archive.

    Set by the spider:
        url: requested URL (the first of a redirect chain).
        final_url: URL of the final response.
        status: HTTP status; ``None`` for a page imported from a file.
        body: body bytes after Content-Encoding was decoded.
        fetched_at: when the response arrived, UTC ``YYYY-MM-DDTHH:MM:SSZ``.
        site: the source's name (the host for ad hoc archiving).
        role: ``article`` (a candidate story), ``section`` (a section front or home
            page), ``feed`` or ``sitemap``; only article candidates are extracted.
        content_type: the response's ``Content-Type`` header value.
        request_headers / response_headers: header name -> value.
        redirect_urls: URLs that redirected to ``final_url``, in order.
        origin: ``fetch`` or ``import``.
        hints: what discovery said of the page: ``published`` (date text) and
            ``published_source`` (``feed`` or ``sitemap``), ``title``.
        timezone: the source's IANA zone for dates without offset.
        extract_include / extract_exclude: the source's CSS extraction hints.
        error: ``(kind, message)`` when the fetch itself failed (e.g. an HTTP error page).
        article_id: the known article a revisit re-checked (a 304 or a 404/410 needs it).
        flag: ``partial`` when the body ended with the connection and not with its
            document (it may be cut short); the pipelines add their own flags.
        warnings: what did not stop archiving but is worth a record (``future_date: ...``).
        encoding: the character encoding the page was decoded with (set by extraction).

    Set by the pipelines:
        extraction: the :class:`pipelines.extraction.Extraction` (title, standfirst, text,
            dates, ...).
        canonical_url, aliases: identity (pipelines/identify.py).
        content_hash, fingerprint, flag: version identity, MinHash signature, and why
            the capture may not be a version (pipelines/version.py).
        outcome: what the archive did (``new``, ``changed``, ``unchanged``, ...).
    """

    url: str
    final_url: str
    status: int | None
    body: bytes = field(repr=False)
    fetched_at: str = ""
    site: str = ""
    role: str = "article"
    content_type: str | None = None
    request_headers: dict[str, str] | None = field(default=None, repr=False)
    response_headers: dict[str, str] | None = field(default=None, repr=False)
    redirect_urls: list[str] = field(default_factory=list)
    origin: str = "fetch"
    hints: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None
    extract_include: str | None = None
    extract_exclude: tuple[str, ...] = ()
    error: tuple[str, str] | None = None
    article_id: int | None = None
    extraction: Any = field(default=None, repr=False)
    canonical_url: str | None = None
    aliases: list[tuple[str, str]] = field(default_factory=list)
    content_hash: str | None = None
    fingerprint: bytes | None = field(default=None, repr=False)
    flag: str | None = None
    outcome: str | None = None
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None


@dataclass
class FailureItem:
    """A URL that produced no response to archive (bad URL, DNS, timeout, refused, robots.txt).

    Attributes:
        url: the URL as given or discovered.
        kind: short cause: ``bad_url``, ``dns``, ``timeout``, ``connection``, ``robots``,
            ``refused``, ``error``.
        message: one line a person can act on.
        site: the source's name, or the host.
        status: HTTP status when there was one.
    """

    url: str
    kind: str
    message: str
    site: str | None = None
    status: int | None = None
