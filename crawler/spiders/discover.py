"""The ``discover`` spider: a site's feeds and sitemaps, found from its home page.

Used by ``newsarchive add-source URL``. Fetches through the crawl's own downloader (so
robots.txt, the address guard, the User-Agent, the size and time limits apply) and stores
nothing:

1. the home page: its ``<link rel="alternate">`` feeds (RSS, Atom, JSON Feed media types,
   as the RSS Autodiscovery and Atom specifications name them);
2. ``/robots.txt``: its ``Sitemap:`` lines (the sitemaps protocol's robots.txt
   extension); when it has any, the robots.txt URL itself is the source's sitemap entry
   (a crawl reads its ``Sitemap:`` lines);
3. common paths: :data:`FEED_PATHS`, and :data:`SITEMAP_PATHS` when robots.txt names no
   sitemap.

Each candidate is kept only if it reads as what it claims: a feed that feedparser parses
with a known version or entries, a sitemap whose XML root is ``urlset`` or
``sitemapindex`` (gzip allowed). Results are on :attr:`DiscoverSpider.found`.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import scrapy
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawler.config import Source
from crawler.spiders.base import ArchivingSpider, failure_kind

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json", "application/rdf+xml")
FEED_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feeds/all.atom.xml")
SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml", "/sitemap-news.xml")
MAX_SITEMAP_SNIFF = 64 * 1024


class DiscoverSpider(ArchivingSpider):
    """Find the feeds and sitemaps of the site whose home page is ``url``.

    Attributes:
        found: ``home`` (the home page's final URL, or ``None`` if it failed), ``feeds``
            and ``sitemaps`` (URLs, in the order found), ``robots_sitemaps`` (the
            ``Sitemap:`` lines of robots.txt).
        home_error: why the home page could not be read, or ``None``.
    """

    name = "discover"
    dont_filter = True

    def __init__(self, url: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.home = url
        self.source = Source(name=urlsplit(url).hostname or "site", start_urls=(url,), depth=0)
        self.found: dict[str, Any] = {"home": None, "feeds": [], "sitemaps": [], "robots_sitemaps": []}
        self.home_error: str | None = None
        self.rank = 0
        self._ranked: dict[str, list[tuple[int, str]]] = {"feeds": [], "sitemaps": []}

    def source_of(self, meta: dict[str, Any]) -> Source:
        return self.source

    async def start(self) -> AsyncIterator[Any]:
        yield scrapy.Request(self.home, callback=self.parse_home, errback=self.home_failed, meta={"source": self.source.name, "role": "section"})

    def home_failed(self, failure) -> None:
        kind, message = failure_kind(failure)
        # the guard's own message already starts "refused: ..."
        self.home_error = message if message.startswith(f"{kind}:") else f"{kind}: {message}"

    def _candidate(self, url: str, callback) -> scrapy.Request:
        # found[...] keep the order candidates were asked for (link tags first, then the
        # common paths), not the order the answers came in
        self.rank += 1
        meta = {"source": self.source.name, "role": "feed", "rank": self.rank}
        return scrapy.Request(url, callback=callback, errback=lambda failure: None, meta=meta)

    def _keep(self, key: str, response) -> None:
        if response.url not in (url for _, url in self._ranked[key]):
            self._ranked[key].append((response.meta.get("rank", 0), response.url))
            self.found[key] = [url for _, url in sorted(self._ranked[key])]

    def parse_home(self, response):
        self.found["home"] = response.url
        for link in response.xpath("//link[@href]"):
            rel = (link.attrib.get("rel") or "").lower().split()
            kind = (link.attrib.get("type") or "").split(";")[0].strip().lower()
            if "alternate" in rel and kind in FEED_TYPES:
                yield self._candidate(urljoin(response.url, link.attrib["href"].strip()), self.parse_feed)
        robots = self._candidate(urljoin(response.url, "/robots.txt"), self.parse_robots)
        yield robots.replace(errback=self.robots_failed)
        for path in FEED_PATHS:
            yield self._candidate(urljoin(response.url, path), self.parse_feed)

    def parse_feed(self, response):
        parsed = feedparser.parse(response.body, response_headers={"content-type": response.headers.get("Content-Type", b"").decode("latin-1")})
        if parsed.get("version") or parsed.get("entries"):
            self._keep("feeds", response)

    def parse_robots(self, response):
        lines = list(sitemap_urls_from_robots(response.text, base_url=response.url)) if hasattr(response, "text") else []
        self.found["robots_sitemaps"] = lines
        if lines:
            self._keep("sitemaps", response)
            return
        for path in SITEMAP_PATHS:
            yield self._candidate(urljoin(response.url, path), self.parse_sitemap)

    def robots_failed(self, failure):
        """No robots.txt to read (a 404, say): look for sitemaps at the common paths."""
        for path in SITEMAP_PATHS:
            yield self._candidate(urljoin(self.found["home"], path), self.parse_sitemap)

    def parse_sitemap(self, response):
        body = response.body[: MAX_SITEMAP_SNIFF * 4]
        if body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)[:MAX_SITEMAP_SNIFF]
            except (OSError, EOFError):
                return
        head = body[:MAX_SITEMAP_SNIFF]
        if b"<urlset" in head or b"<sitemapindex" in head:
            self._keep("sitemaps", response)
