"""The ``news`` spider: scheduled crawls of the sources in a config file.

Discovery paths, per source: feeds (RSS/Atom/JSON Feed through feedparser), sitemaps
(sitemap index, urlset, gzip, ``Sitemap:`` lines of a robots.txt URL) and section pages
(``start_urls``), whose links are followed to the source's ``depth`` within its hosts.

Run it with ``newsarchive crawl --config sources.toml`` or
``scrapy crawl news -a config=sources.toml -s ARCHIVE_DB=archive.db``.
"""

from __future__ import annotations

import calendar
from datetime import timezone
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urljoin

import feedparser
from dateutil.parser import isoparse
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.config import ConfigError, CrawlConfig, Source, load_config
from crawler.spiders.base import ArchivingSpider
from crawler.useragent import user_agent

logger = logging.getLogger(__name__)


class NewsSpider(ArchivingSpider):
    """Crawl every source of a config file.

    Args:
        config: path of the TOML config file (design.md, Interfaces).

    Raises:
        ConfigError: no config given, or it is invalid.
    """

    name = "news"

    def __init__(self, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not config:
            raise ConfigError("the news spider needs a config file: -a config=sources.toml")
        self.crawl_config: CrawlConfig = load_config(config)
        self.sources = {s.name: s for s in self.crawl_config.sources}
        self.private_hosts = {h for s in self.crawl_config.sources if s.allow_private for h in s.hosts}
        # URL -> what discovery said of it (feed/sitemap date, title), kept until fetched.
        self.discovered: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        config = spider.crawl_config
        # Settings are not frozen until the spider exists (Scrapy >= 2.11), so the
        # config's [crawl] table can set them here for both entry points.
        crawler.settings.set("USER_AGENT", user_agent(config.user_agent, config.contact), priority="spider")
        crawler.settings.set("DOWNLOAD_DELAY", config.delay_secs, priority="spider")
        crawler.settings.set("AUTOTHROTTLE_START_DELAY", max(config.delay_secs, 0.0), priority="spider")
        crawler.settings.set("ARCHIVE_CONFIG_TEXT", config.text, priority="spider")
        return spider

    def source_of(self, meta: dict[str, Any]) -> Source:
        return self.sources[meta["source"]]

    async def start(self) -> AsyncIterator[Any]:
        for source in self.crawl_config.sources:
            for url in source.sitemaps:
                yield self.request(url, self.parse_sitemap, source, "sitemap")
            for url in source.feeds:
                yield self.request(url, self.parse_feed, source, "feed")
            for url in source.start_urls:
                yield self.request(url, self.parse_section, source, "section", link_depth=0)

    # -- feeds -----------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """A feed: archive it, then request each entry's link with the entry's date as a hint."""
        source = self.source_of(response.meta)
        yield self.page_item(response, "feed", source)
        content_type = (response.headers.get(b"Content-Type") or b"application/xml").decode("latin-1")
        parsed = feedparser.parse(
            response.body, response_headers={"content-location": response.url, "content-type": content_type}
        )
        if parsed.bozo:
            self.crawler.stats.inc_value("discovery/feed_malformed")
            logger.warning("malformed feed %s (parsed as far as it goes): %s", response.url, parsed.get("bozo_exception"))
        for entry in parsed.entries:
            link = entry.get("link")
            if not link:
                continue
            url = urljoin(response.url, link)
            if self._too_old(source, entry.get("published_parsed") or entry.get("updated_parsed")):
                continue
            hints = {"title": entry.get("title")}
            if entry.get("published"):
                hints.update(published=entry["published"], published_source="feed")
            yield from self._article(url, source, hints, "feed")

    # -- sitemaps --------------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap, sitemap index or robots.txt: archive it, then follow what it lists."""
        source = self.source_of(response.meta)
        yield self.page_item(response, "sitemap", source)
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                yield self.request(url, self.parse_sitemap, source, "sitemap")
            return
        body = self._sitemap_body(response)
        if body is None:
            self.crawler.stats.inc_value("discovery/sitemap_invalid")
            logger.warning("Ignoring invalid sitemap: %s", response.url)
            return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml or an empty document
            self.crawler.stats.inc_value("discovery/sitemap_invalid")
            logger.warning("Ignoring invalid sitemap: %s (%s)", response.url, type(exc).__name__)
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield self.request(loc, self.parse_sitemap, source, "sitemap")
            elif sitemap.type == "urlset":
                if self._too_old(source, _parse_lastmod(entry.get("lastmod"))):
                    continue
                yield from self._article(loc, source, {}, "sitemap")

    @staticmethod
    def _sitemap_body(response: Response) -> bytes | None:
        body = response.body
        if gzip_magic_number(response):
            try:
                body = gunzip(body, max_size=50 * 1024 * 1024)
            except Exception:
                return None
        return body if body.strip() else None

    # -- shared ----------------------------------------------------------------------

    def _article(self, url: str, source: Source, hints: dict[str, Any], via: str) -> Iterator[Any]:
        if not source.wants(url):
            self.crawler.stats.inc_value("discovery/filtered")
            return
        known = self.discovered.setdefault(url, {})
        for key, value in hints.items():
            if value and key not in known:
                known[key] = value
        self.crawler.stats.inc_value(f"discovery/{via}")
        yield self.request(url, self.parse_article, source, "article", link_depth=source.depth)

    def hints_for(self, response: Response) -> dict:
        for url in [*response.meta.get("redirect_urls", []), response.url]:
            if url in self.discovered:
                return self.discovered.pop(url)
        return {}

    def _too_old(self, source: Source, struct: time.struct_time | None) -> bool:
        if source.since_days is None or struct is None:
            return False
        age_secs = time.time() - calendar.timegm(struct)
        if age_secs > source.since_days * 86400:
            self.crawler.stats.inc_value("discovery/too_old")
            return True
        return False


def _parse_lastmod(value: str | None) -> time.struct_time | None:
    """A sitemap ``<lastmod>`` (W3C Datetime, a profile of ISO 8601) as UTC, or ``None``."""
    if not value:
        return None
    try:
        moment = isoparse(value.strip())
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.timetuple()
