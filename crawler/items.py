"""Items: plain dataclasses, one per fetched page or failed URL (read through ItemAdapter).

They hold plain values only: never a Response or a database handle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.options import ExtractOptions


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
        options: how to extract the page (the source's :class:`crawler.options.ExtractOptions`;
            the pipelines add the site's learned template).
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
        baseline: the story's latest version extracted again with this item's options,
            when that differs from what is stored (pipelines/version.py), else ``None``.
        outcome: what the archive did (``new``, ``changed``, ``unchanged``, ...).
        identity, compressed: the version identity and the body compressed on its own,
            made beside the extraction by a worker process (pipelines/workers.py), so
            that the crawl's own process need not; ``None`` when extracted in-process.
        dictionary, compressed_dictionary: the site's compression dictionary (set by the
            template stage, pipelines/templates.py), and the body compressed with it by
            the worker (archive/bodies.py); ``None`` when there is none.
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
    options: ExtractOptions = field(default_factory=ExtractOptions)
    error: tuple[str, str] | None = None
    article_id: int | None = None
    extraction: Any = field(default=None, repr=False)
    canonical_url: str | None = None
    aliases: list[tuple[str, str]] = field(default_factory=list)
    content_hash: str | None = None
    fingerprint: bytes | None = field(default=None, repr=False)
    flag: str | None = None
    baseline: Any = field(default=None, repr=False)
    outcome: str | None = None
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None
    identity: Any = field(default=None, repr=False)
    compressed: bytes | None = field(default=None, repr=False)
    dictionary: bytes | None = field(default=None, repr=False)
    compressed_dictionary: bytes | None = field(default=None, repr=False)


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
        final: False when the URL is to be tried again by a later run (its host asked
            for a pause, or its robots.txt could not be reached): it stays in the frontier.
    """

    url: str
    kind: str
    message: str
    site: str | None = None
    status: int | None = None
    final: bool = True
