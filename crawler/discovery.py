"""Reading discovery documents: sitemaps (with Google News extensions) and feeds.

Scrapy's sitemap reader keeps only the text of each ``<url>``'s direct children, so a
Google News sitemap's ``<news:publication_date>`` and ``<news:title>`` are lost
(``shared/cases/17-*``); it also refuses a child sitemap served as ``text/html`` at a URL
without ``.xml`` (``13-*``) and raises on a blank one (``14-*``). This reader parses any
body as XML, with lxml's protections on (no entity expansion, no network, no DTD), and
reads the news extension by local name, whatever its namespace prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

# sitemaps.org limits: 50,000 URLs and 50 MB (uncompressed) per sitemap
MAX_SITEMAP_URLS = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024

_PARSER = etree.XMLParser(
    recover=True,
    remove_comments=True,
    remove_pis=True,
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    collect_ids=False,
)


class SitemapError(ValueError):
    """The body is not a sitemap: empty, not XML, or neither ``<urlset>`` nor ``<sitemapindex>``."""


@dataclass
class SitemapEntry:
    """One ``<url>`` or ``<sitemap>`` of a sitemap.

    Attributes:
        loc: the URL.
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
    """A parsed sitemap: ``kind`` is ``urlset`` or ``sitemapindex``; ``truncated`` when it
    listed more than 50,000 URLs (the rest are ignored)."""

    kind: str
    entries: list[SitemapEntry] = field(default_factory=list)
    truncated: bool = False


def _local(tag) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _text(el) -> str | None:
    text = (el.text or "").strip() if el is not None else ""
    return text or None


def read_sitemap(body: bytes) -> Sitemap:
    """Parse a sitemap or sitemap index (already decompressed).

    Raises:
        SitemapError: empty, too large, not XML, or not a sitemap.
    """
    if not body or not body.strip():
        raise SitemapError("empty sitemap")
    if len(body) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"sitemap over {MAX_SITEMAP_BYTES // (1024 * 1024)} MB")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"not XML: {exc}") from exc
    if root is None:
        raise SitemapError("not XML")
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(f"not a sitemap (root element <{kind or '?'}>)")
    child_tag = "url" if kind == "urlset" else "sitemap"
    sitemap = Sitemap(kind)
    for el in root:
        if _local(el.tag) != child_tag:
            continue
        if len(sitemap.entries) >= MAX_SITEMAP_URLS:
            sitemap.truncated = True
            break
        fields: dict[str, str | None] = {}
        for child in el:
            name = _local(child.tag)
            if name == "news":
                for item in child:
                    fields.setdefault(f"news:{_local(item.tag)}", _text(item))
            else:
                fields.setdefault(name, _text(child))
        if fields.get("loc"):
            sitemap.entries.append(
                SitemapEntry(
                    loc=fields["loc"],
                    lastmod=fields.get("lastmod"),
                    publication_date=fields.get("news:publication_date"),
                    title=fields.get("news:title"),
                )
            )
    return sitemap


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
