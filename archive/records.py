"""Plain records the archive accepts and returns.

The archive does not know Scrapy items: the store pipeline turns an item into these
records, so that data flows one way (spider -> item -> pipelines -> archive).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CaptureRecord:
    """One fetch of one URL at one time (design.md, Words: capture).

    Attributes:
        url: the requested URL (the first of a redirect chain).
        final_url: the URL of the final response.
        fetched_at: when the response arrived, UTC, ``YYYY-MM-DDTHH:MM:SSZ``.
        status: HTTP status code; ``None`` for a page imported from a file.
        body: the body bytes after Content-Encoding was decoded, or ``None``
            (a 304, or no body).
        site: the source's ``name`` (the host for ad hoc archiving).
        request_headers / response_headers: header name -> value (several values of
            one header joined by ``", "``, RFC 9110 section 5.3).
        content_type: the response's media type, e.g. ``text/html``.
        origin: ``fetch`` (HTTP) or ``import`` (a saved file).
        hints / extract_settings: what discovery said of the page, and the source's
            extraction settings (timezone, CSS hints), kept so that re-extracting the
            stored body later gets the same inputs.
        flag: why this capture must not become a version (``soft_404``,
            ``consent_wall``, ``paywall``, ``empty``, ``partial``), or ``None``.
        encoding: the character encoding the body was decoded with for extraction
            (``utf-8``, ``cp1252``, ``utf-16-le``, ...), or ``None``.
        warnings: short notes on what was refused or odd (``future_date: ...``); the
            archive adds ``clock_regression`` when this fetch is dated before an earlier
            one of the same article.
    """

    url: str
    final_url: str
    fetched_at: str
    status: int | None
    body: bytes | None
    site: str | None = None
    request_headers: dict[str, str] | None = None
    response_headers: dict[str, str] | None = None
    content_type: str | None = None
    origin: str = "fetch"
    hints: dict | None = None
    extract_settings: dict | None = None
    flag: str | None = None
    encoding: str | None = None
    warnings: tuple[str, ...] = ()
    #: the body compressed on its own (:func:`archive.bodies.compress_full`), made beforehand
    #: by an extraction worker; used only once it decompresses to ``body`` exactly
    compressed: bytes | None = None
    #: the body compressed with its site's latest dictionary (:mod:`archive.bodies`), made
    #: beforehand by an extraction worker; used only once it decompresses to ``body`` exactly
    compressed_dictionary: bytes | None = None


@dataclass(frozen=True)
class SnapshotRecord:
    """The article content extracted from one capture, with its identity.

    Attributes:
        canonical_url: the article's identity (design.md, Identity).
        content_hash: SHA-256 (hex) of the normalised title, text and standfirst.
        standfirst: the summary printed between the headline and the story, or ``None``.
        aliases: other URLs under which this capture reached the article, as
            ``(url, kind)`` pairs; ``kind`` is ``redirect``, ``tracking``, ``port``,
            ``canonical``, ``amp``, ...
        authors, tags: lists of strings (stored as JSON lists).
        published, modified: dates as the page states them (ISO 8601, with offset or
            date-only); ``*_utc`` the same instant in UTC or ``None``; ``*_source``
            where the date came from (``jsonld``, ``meta``, ``time``, ``text``,
            ``sitemap``, ``feed``, ``url``).
        extractor: name and version of the extraction that produced this content.
        fingerprint: MinHash signature of the text (:mod:`archive.similarity`), or ``None``.
        template: the site template the extraction applied (``site@version``), or ``None``.
        template_removed: the template's blocks it removed, dicts with ``path``, ``kind``
            and ``text`` (the beginning of the block's text).
    """

    canonical_url: str
    content_hash: str
    title: str | None
    text: str
    extractor: str
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    published: str | None = None
    published_utc: str | None = None
    published_source: str | None = None
    modified: str | None = None
    modified_utc: str | None = None
    modified_source: str | None = None
    standfirst: str | None = None
    language: str | None = None
    description: str | None = None
    sitename: str | None = None
    image: str | None = None
    aliases: tuple[tuple[str, str], ...] = ()
    fingerprint: bytes | None = None
    template: str | None = None
    template_removed: tuple[dict, ...] = ()


@dataclass(frozen=True)
class StoreResult:
    """What the archive did with one capture.

    Attributes:
        outcome: ``new`` (new article), ``changed`` (new version), ``unchanged``,
            ``not_modified`` (304), ``flagged`` (not a version: see the capture's flag),
            ``not_article`` or ``failed``.
        capture_id: the ``captures`` row written.
        article_id / snapshot_id / version: the article, and the snapshot written
            (``None`` when no snapshot was written).
        redacted: the capture is of a redacted story: nothing of its body was kept (and
            nothing of it may be written elsewhere, such as a WARC file).
        names_redacted: the capture is a page (a feed, a sitemap, a section page) that
            names a redacted story by URL: its body was not kept, nor may be written elsewhere.
    """

    outcome: str
    capture_id: int
    article_id: int | None = None
    snapshot_id: int | None = None
    version: int | None = None
    redacted: bool = False
    names_redacted: bool = False


@dataclass(frozen=True)
class Baseline:
    """A story's latest version extracted again with the options of a newer capture
    (pipelines/version.py): where it differs from the stored version, the difference is
    ours (extractor, options, template, the source of a date), not the publisher's.

    Attributes:
        capture_id / fetched_at: the capture of that version, whose body was extracted again.
        snapshot: what the extraction makes of it now.
    """

    capture_id: int
    fetched_at: str
    snapshot: SnapshotRecord
