"""Reading discovery documents: sitemaps (with Google News extensions) and feeds.

Sitemaps follow the sitemaps.org protocol (https://www.sitemaps.org/protocol.html):

- **XML**, after white space and a byte order mark before ``<?xml`` are stripped, is parsed
  *strictly* (lxml's ``iterparse``, one entry at a time, without recovery): a sitemap that
  is not well-formed XML is refused
  (:class:`SitemapError`), never "repaired" by a lenient parser that rewrites its URLs
  (libxml2's recovery drops a ``&amp;`` from every ``<loc>``). lxml's protections stay on:
  no entity expansion, no network, no DTD loading.
- **Text** (sitemaps.org "Text file": one URL per line, UTF-8) at any URL and with any
  Content-Type: a body that does not start with ``<`` is read as one.
- An RSS or Atom feed is a sitemap too (sitemaps.org, "Syndication feed"): the
  reader says so (``kind == "feed"``) and the spider reads it as a feed.
- Every ``<loc>`` of a ``<url>`` or ``<sitemap>`` is an entry (a ``<lastmod>`` belongs to the
  ``<loc>`` before it), as crawler-commons reads them.
- What is skipped is counted in :attr:`Sitemap.skipped`: a ``<sitemap>`` or ``<url>`` whose
  URL is bare text without ``<loc>`` (the protocol requires ``<loc>``), a ``<loc>`` holding
  markup or an unexpanded entity instead of a URL, a text line that is not an http(s) URL.

Scrapy's sitemap reader keeps only the text of each ``<url>``'s direct children, so a
Google News sitemap's ``<news:publication_date>`` and ``<news:title>`` are lost
(``shared/cases/17-*``); it also refuses a child sitemap served as ``text/html`` at a URL
without ``.xml`` (``13-*``) and raises on a blank one (``14-*``). This reader parses any
body whatever its Content-Type, and reads the news extension by local name, whatever its
namespace prefix (as it reads ``<urlset>`` and ``<loc>``: by local name, like
crawler-commons' default, non-strict-namespace mode).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

# sitemaps.org limits: 50,000 URLs and 50 MB (uncompressed) per sitemap
MAX_SITEMAP_URLS = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024

#: lxml's protections: no entity expansion, no DTD, no network, no huge trees; strict (no
#: recovery: a sitemap is well-formed XML or refused)
_PARSE_OPTIONS = {
    "remove_comments": True,
    "remove_pis": True,
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}

#: what may stand before a sitemap's first ``<``: white space and a UTF-8 byte order mark
_LEADING = b" \t\r\n\xef\xbb\xbf"

#: root elements of RSS 2.0, Atom and RSS 1.0 (RDF) feeds, which sitemaps.org accepts as
#: sitemaps ("Syndication feed")
FEED_ROOTS = ("rss", "feed", "rdf")

#: :attr:`Sitemap.skipped` keys and what each means (for failure messages)
SKIPPED = {
    "bare_url": "entries with a bare URL and no <loc> (sitemaps.org requires <loc>)",
    "bad_loc": "<loc> elements holding markup or an unexpanded entity, not a URL",
    "not_url": "lines that are not http(s) URLs",
}


class SitemapError(ValueError):
    """The body is not a sitemap: empty, not well-formed XML, neither ``<urlset>`` nor
    ``<sitemapindex>``, or text without a single URL line."""


@dataclass
class SitemapEntry:
    """One ``<loc>`` of a ``<url>`` or ``<sitemap>``, or one line of a text sitemap.

    Attributes:
        loc: the URL (white space, Unicode's included, stripped).
        lastmod: ``<lastmod>`` as written (W3C Datetime), or ``None``.
        publication_date / title: ``<news:publication_date>`` and ``<news:title>`` of a
            Google News sitemap, as written, or ``None``.
    """

    loc: str
    lastmod: str | None = None
    publication_date: str | None = None
    title: str | None = None


@dataclass
class Sitemap:
    """A parsed sitemap.

    Attributes:
        kind: ``urlset``, ``sitemapindex``, ``text``, or ``feed`` (an RSS or Atom feed,
            without entries here: feedparser reads it).
        entries: in document order.
        truncated: it listed more than 50,000 URLs (the rest are ignored).
        skipped: what was not read, by :data:`SKIPPED` key -> count.
    """

    kind: str
    entries: list[SitemapEntry] = field(default_factory=list)
    truncated: bool = False
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, key: str, count: int = 1) -> None:
        self.skipped[key] = self.skipped.get(key, 0) + count


def _local(tag) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _text(el) -> str | None:
    text = (el.text or "").strip() if el is not None else ""
    return text or None


def read_sitemap(body: bytes) -> Sitemap:
    """Parse a sitemap, sitemap index or text sitemap (already decompressed).

    Raises:
        SitemapError: empty, too large, not well-formed XML, not a sitemap, or text with
            no URL line.
    """
    body = body.lstrip(_LEADING)
    if not body:
        raise SitemapError("empty sitemap")
    if len(body) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"sitemap over {MAX_SITEMAP_BYTES // (1024 * 1024)} MB")
    if not body.startswith(b"<"):
        return _read_text(body)
    # one <url> or <sitemap> at a time, each freed once read: a 50 MB sitemap is never one tree
    events = etree.iterparse(io.BytesIO(body), events=("start", "end"), **_PARSE_OPTIONS)
    sitemap: Sitemap | None = None
    child_tag = ""
    try:
        for event, el in events:
            if sitemap is None:  # the root's start
                kind = _local(el.tag)
                if kind in FEED_ROOTS:
                    return Sitemap("feed")
                if kind not in ("urlset", "sitemapindex"):
                    raise SitemapError(f"not a sitemap (root element <{kind or '?'}>)")
                sitemap, child_tag, root = Sitemap(kind), ("url" if kind == "urlset" else "sitemap"), el
                continue
            if event != "end" or el.getparent() is not root:
                continue
            if _local(el.tag) == child_tag:
                if len(sitemap.entries) >= MAX_SITEMAP_URLS:
                    sitemap.truncated = True
                    break
                _read_entry(el, sitemap)
                del sitemap.entries[MAX_SITEMAP_URLS:]
            el.clear()
            while el.getprevious() is not None:
                del root[0]
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"not well-formed XML: {exc}") from exc
    if sitemap is None:
        raise SitemapError("not XML")
    return sitemap


def _read_entry(el, sitemap: Sitemap) -> None:
    """The entries of one ``<url>`` or ``<sitemap>``: one per ``<loc>``; the fields after a
    ``<loc>`` (and those before the first) belong to it."""
    entries: list[SitemapEntry] = []
    fields: dict[str, str | None] = {}  # of the current <loc> (or before the first)
    refused = False  # the current <loc> was refused: its fields go nowhere
    locs = 0
    for child in el:
        name = _local(child.tag)
        if name == "loc":
            locs += 1
            if entries and not refused:
                _fill(entries[-1], fields)
            if locs > 1:
                fields = {}
            refused = bool(len(child)) or not _text(child)
            if refused:
                # <loc><url>...</url></loc>, <xi:include/>, &entity; left unexpanded: not a URL
                sitemap.skip("bad_loc")
                continue
            entries.append(SitemapEntry(loc=_text(child)))
        elif name == "news":
            for item in child:
                fields.setdefault(f"news:{_local(item.tag)}", _text(item))
        elif name:
            fields.setdefault(name, _text(child))
    if entries and not refused:
        _fill(entries[-1], fields)
    if not locs and (el.text or "").strip():
        sitemap.skip("bare_url")
    sitemap.entries.extend(entries)


def _fill(entry: SitemapEntry, fields: dict[str, str | None]) -> None:
    entry.lastmod = entry.lastmod or fields.get("lastmod")
    entry.publication_date = entry.publication_date or fields.get("news:publication_date")
    entry.title = entry.title or fields.get("news:title")


def _read_text(body: bytes) -> Sitemap:
    """A text sitemap: one URL per line, UTF-8 (sitemaps.org "Text file"); other lines are
    counted as ``not_url``."""
    sitemap = Sitemap("text")
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        if len(sitemap.entries) >= MAX_SITEMAP_URLS:
            sitemap.truncated = True
            break
        try:
            parts = urlsplit(line)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in line):
            sitemap.skip("not_url")
            continue
        sitemap.entries.append(SitemapEntry(loc=line))
    if not sitemap.entries:
        raise SitemapError("neither XML nor a text sitemap (no line is an http(s) URL)")
    return sitemap


def in_location(url: str, sitemap_url: str) -> bool:
    """Whether ``url`` may be listed by the sitemap at ``sitemap_url`` (sitemaps.org,
    "Sitemap file location": "any URLs starting with" the sitemap's folder): same scheme,
    host and port, and a path under the sitemap's folder (the path up to its last ``/``;
    the query does not count). Spelling differences of the scheme, host and default port
    do not count either.

    >>> in_location("http://example.com/catalog/show?item=233", "http://example.com/catalog/sitemap.xml")
    True
    >>> in_location("http://example.com/image/show", "http://example.com/catalog/sitemap.xml")
    False
    """
    base = sitemap_url.split("#", 1)[0].split("?", 1)[0]
    folder = base[: base.rfind("/") + 1]
    if folder.count("/") >= 3 and url.startswith(folder):
        return True  # the literal rule, and the common case: no parsing
    try:
        target, parts = urlsplit(url), urlsplit(base)
        if origin(url) != origin(sitemap_url):
            return False
    except ValueError:
        return False
    path = parts.path[: parts.path.rfind("/") + 1] or "/"
    return (target.path or "/").startswith(path)


def location_rule(sitemap_url: str, listed_by: set[tuple[str, str, int | None]] = frozenset()) -> Callable[[str], bool]:
    """The test a URL listed by the sitemap at ``sitemap_url`` must pass: :func:`in_location`,
    or an origin in ``listed_by`` (hosts whose robots.txt lists the sitemap: sitemaps.org,
    "Sitemaps & Cross Submits"). A sitemap lists thousands of URLs: the usual ones (in its
    folder, or on its host) are told by string prefixes alone."""
    base = sitemap_url.split("#", 1)[0].split("?", 1)[0]
    folder = base[: base.rfind("/") + 1] if base.count("/") >= 3 else base + "/"
    site = folder[: folder.index("/", folder.index("//") + 2) + 1]
    site_listed = origin(sitemap_url) in listed_by

    def rule(url: str) -> bool:
        if url.startswith(folder):
            return True
        if url.startswith(site):
            return site_listed
        try:
            return in_location(url, sitemap_url) or origin(url) in listed_by
        except ValueError:
            return False

    return rule


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, lower-case, with the scheme's default port filled in.

    Raises:
        ValueError: the URL's port is not a number.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


#: feeds up to this size are read by feedparser; a larger one (ten times a large news feed:
#: feedparser holds about 2 KiB per entry, and a 100,000-entry feed took 230 MiB and minutes)
#: by :func:`stream_feed`
FEEDPARSER_MAX_BYTES = 2 * 1024 * 1024

_FEED_ENTRIES = ("item", "entry")


def stream_feed(body: bytes, problems: list[str]) -> Iterator[dict[str, Any]]:
    """The entries of a large RSS (2.0 or 1.0) or Atom feed, read by lxml's ``iterparse``
    one ``<item>``/``<entry>`` at a time and each freed once read, as feedparser-like
    entries (``link``, ``title``, ``published``, ``updated``; an Atom entry's first
    ``rel="alternate"`` link). Why reading stopped early (not well-formed XML) is appended
    to ``problems``. lxml's protections are on, as for sitemaps."""
    parser = etree.iterparse(io.BytesIO(body.lstrip(_LEADING)), events=("end",), **_PARSE_OPTIONS)
    try:
        for _, el in parser:
            if _local(el.tag) not in _FEED_ENTRIES:
                continue
            entry: dict[str, Any] = {}
            for child in el:
                name = _local(child.tag)
                if name == "link" and "link" not in entry:
                    href = child.get("href")
                    if href is None:
                        entry["link"] = _text(child)
                    elif child.get("rel", "alternate") == "alternate":
                        entry["link"] = href.strip()
                elif name == "title":
                    entry.setdefault("title", _text(child))
                elif name in ("pubdate", "published", "date", "updated"):
                    entry.setdefault("updated" if name == "updated" else "published", _text(child))
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
            if entry.get("link"):
                yield entry
    except etree.XMLSyntaxError as exc:
        problems.append(f"not well-formed XML, read up to: {exc}")


JSON_FEED_VERSION = "https://jsonfeed.org/version/"


def read_json_feed(body: bytes) -> list[dict[str, Any]] | None:
    """The items of a JSON Feed (https://jsonfeed.org/version/1.1), as feedparser-like entries
    (``link``, ``title``, ``published``, ``updated``), or ``None`` if the body is not one.

    feedparser 6 reads RSS and Atom but not JSON Feed, which is plain JSON: ``items[]`` with
    ``url`` (or ``external_url``), ``title``, ``date_published``, ``date_modified``.
    """
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(JSON_FEED_VERSION):
        return None
    entries = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if isinstance(link, str) and link:
            entries.append(
                {
                    "link": link,
                    "title": item.get("title") if isinstance(item.get("title"), str) else None,
                    "published": item.get("date_published") if isinstance(item.get("date_published"), str) else None,
                    "updated": item.get("date_modified") if isinstance(item.get("date_modified"), str) else None,
                }
            )
    return entries
