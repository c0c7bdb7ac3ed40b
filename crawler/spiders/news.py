"""The ``news`` spider: scheduled crawls of the sources in a config file.

Each run re-checks the known articles that are due (conditional GETs, ``If-None-Match``
/ ``If-Modified-Since`` from their last capture) and discovers new ones through each
source's feeds (RSS, Atom, JSON Feed, read by feedparser), sitemaps (sitemap indexes,
urlsets, gzip, Google News sitemaps, the ``Sitemap:`` lines of a robots.txt URL) and
section pages (``start_urls``), whose links are followed to the source's ``depth``
within its hosts. A discovered URL that names a known article is not fetched again: the
revisit schedule decides when it is.

Run it with ``newsarchive crawl --config sources.toml`` or
``scrapy crawl news -a config=sources.toml -s ARCHIVE_DB=archive.db``.
"""

from __future__ import annotations

import calendar
import io
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timezone
from typing import Any
from urllib.parse import urljoin

import feedparser
import scrapy
from dateutil.parser import isoparse
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import sitemap_urls_from_robots

from archive.lock import ArchiveLock, LockHeld
from archive.schedule import parse_revisit_steps
from archive.store import Archive, ArchiveError
from archive.timefmt import utc_now_iso
from crawler.config import ConfigError, CrawlConfig, Source, load_config, url_problem
from crawler.discovery import MAX_SITEMAP_BYTES, SitemapError, read_json_feed, read_sitemap
from crawler.frontier import MAX_ATTEMPTS
from crawler.items import FailureItem
from crawler.spiders.base import ArchivingSpider
from crawler.traps import SITEMAPS_MAX_PER_SOURCE, redact_credentials, strip_credentials
from crawler.useragent import user_agent
from pipelines.urls import normalize_url, same_site

logger = logging.getLogger(__name__)

REVISIT_MODES = ("yes", "only", "no")
#: roles of a source's entry points: its feeds, sitemaps (and robots.txt URLs) and start pages
ENTRY_ROLES = ("feed", "sitemap", "section")
MAX_SITEMAP_DEPTH = 10
BAD_URLS_SHOWN = 3


class NewsSpider(ArchivingSpider):
    """Crawl every source of a config file.

    Args:
        config: path of the TOML config file (design.md, Interfaces).
        revisit: ``yes`` (re-check due articles and discover new ones), ``only``
            (re-check, no discovery) or ``no`` (discover only).
        dry_run: discover without fetching any article and without archiving anything;
            what would be fetched is kept in :attr:`plan` (``newsarchive check``).

    Raises:
        ConfigError: no config given, it is invalid, or ``revisit`` is not a mode.
    """

    name = "news"
    #: sitemaps (indexes, urlsets, robots.txt) read per source and run (crawler/traps.py)
    sitemaps_max_per_source: int = SITEMAPS_MAX_PER_SOURCE

    def __init__(self, config: str | None = None, revisit: str = "yes", dry_run: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not config:
            raise ConfigError("the news spider needs a config file: -a config=sources.toml")
        if revisit not in REVISIT_MODES:
            raise ConfigError(f"revisit must be one of {', '.join(REVISIT_MODES)} (got {revisit!r})")
        self.crawl_config: CrawlConfig = load_config(config)
        self.sources = {s.name: s for s in self.crawl_config.sources}
        self.private_hosts = {h for s in self.crawl_config.sources if s.allow_private for h in s.hosts}
        self.revisit = revisit
        self.dry_run = str(dry_run).lower() in ("1", "true", "yes")
        # URL -> what discovery said of it (feed/sitemap date, title), kept until fetched.
        self.discovered: dict[str, dict[str, Any]] = {}
        #: ``newsarchive check``: per source, what the run would fetch
        self.plan: dict[str, dict[str, Any]] = {
            s.name: {"new": [], "known": 0, "due": 0, "failed": []} for s in self.crawl_config.sources
        }
        self._archive: Archive | None = None
        #: sitemaps requested per source in this run (sitemaps_max_per_source)
        self._sitemaps: dict[str, int] = {}
        #: sources with a feed, sitemap or start page read in this run; causes of the others
        self._entry_read: set[str] = set()
        self._entry_failed: dict[str, list[str]] = {}
        #: the crawl lock this run took (None when the caller holds it, or in a dry run)
        self._lock: ArchiveLock | None = None
        #: another run holds the crawl lock: this one does nothing
        self.locked_out = False

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        config = spider.crawl_config
        # Settings are not frozen until the spider exists (Scrapy >= 2.11), so the
        # config's [crawl] table can set them here for both entry points.
        settings = crawler.settings
        settings.set("USER_AGENT", user_agent(config.user_agent, config.contact), priority="spider")
        settings.set("DOWNLOAD_DELAY", config.delay_secs, priority="spider")
        settings.set("AUTOTHROTTLE_START_DELAY", max(config.delay_secs, 0.0), priority="spider")
        settings.set("ARCHIVE_CONFIG_TEXT", config.text, priority="spider")
        settings.set("ARCHIVE_REVISIT_STEPS", list(config.revisit_steps), priority="spider")
        if config.warc:
            settings.set("ARCHIVE_WARC", config.warc, priority="spider")
        if spider.dry_run:
            settings.set("ITEM_PIPELINES", {}, priority="spider")
        elif not settings.getbool("ARCHIVE_LOCK_HELD"):
            spider.take_lock(settings)
        return spider

    def take_lock(self, settings) -> None:
        """Take the archive's crawl lock (:mod:`archive.lock`) for this run, as ``newsarchive
        crawl`` does (``scrapy crawl news`` too: one crawl at a time per archive, whatever
        started it). When another run holds it, this run touches no archive and fetches
        nothing: the item pipelines are turned off and the spider closes at once with reason
        ``locked`` (an error line says who holds it). With the lock, runs that died
        without closing their ``crawls`` row are marked ``interrupted``."""
        lock = ArchiveLock(settings.get("ARCHIVE_DB"))
        try:
            lock.acquire()
        except (LockHeld, OSError) as exc:
            logger.error("not crawling: %s", exc)
            settings.set("ITEM_PIPELINES", {}, priority="spider")
            self.locked_out = True
            return
        self._lock = lock
        if self.archive is not None:
            for run in self.archive.end_dead_runs():
                logger.warning("%s %s (started %s) did not end: marked interrupted", run["command"], run["id"], run["started_at"])

    def source_of(self, meta: dict[str, Any]) -> Source:
        return self.sources[meta["source"]]

    def on_error(self, failure):
        """The base spider's failure records; in a dry run (``newsarchive check``), where
        nothing is stored, also noted in the source's plan: a feed that cannot be read must
        not look like a feed with nothing new."""
        meta = failure.request.meta
        for item in super().on_error(failure):
            # a failure row, or an HTTP error page (a capture with its error)
            message = item.message if isinstance(item, FailureItem) else item.error[1]
            if self.dry_run:
                self.plan[self.source_of(meta).name]["failed"].append((item.url, message))
            if meta.get("role") in ENTRY_ROLES:
                self._entry_point(meta["source"], f"{item.url}: {message}")
            yield item

    def _entry_point(self, source: str, failed: str | None = None) -> None:
        """Note that one of a source's feeds, sitemaps or start pages was read (``failed`` is
        ``None``) or could not be; keeps the stat ``discovery/unreadable``: for each source
        none of whose entry points could be read in this run (so far), the causes."""
        if failed is None:
            self._entry_read.add(source)
        else:
            self._entry_failed.setdefault(source, []).append(failed)
        unreadable = {name: causes for name, causes in self._entry_failed.items() if name not in self._entry_read}
        self.crawler.stats.set_value("discovery/unreadable", unreadable)

    # -- the archive: the crawl's memory -----------------------------------------------

    @property
    def archive(self) -> Archive | None:
        """The archive, opened for reading what it knows and writing the frontier (``None`` if
        there is none yet)."""
        if self._archive is None:
            try:
                self._archive = Archive.open(self.settings.get("ARCHIVE_DB"), create=False)
            except ArchiveError:
                return None
        return self._archive

    def closed(self, reason: str) -> None:
        if self._archive is not None:
            self._archive.close()
        if self._lock is not None:
            self._lock.release()

    # -- the frontier (crawler/frontier.py) ------------------------------------------------

    @property
    def frontier_archive(self) -> Archive | None:
        """Where :class:`crawler.frontier.FrontierMiddleware` writes discovered URLs
        (``None`` in a dry run: ``newsarchive check`` writes nothing)."""
        return None if self.dry_run else self.archive

    def hold_back(self, request: scrapy.Request, response: Response | None) -> bool:
        """Whether a discovered URL waits in the frontier for a later run instead of being
        requested now (the place for per-run caps). ``response`` is the feed, sitemap or page
        that listed it. Here: never."""
        return False

    def leftovers(self) -> Iterator[Any]:
        """Requests for the frontier's URLs of these sources (found by earlier runs, not yet
        fetched), oldest first; a URL requested by :data:`crawler.frontier.MAX_ATTEMPTS`
        runs is given up with a ``frontier`` failure; one that names a known article
        by now leaves the frontier (the revisit schedule decides when it is fetched)."""
        archive = self.frontier_archive
        if archive is None:
            return
        to_fetch, given_up = archive.frontier_leftovers(list(self.sources), MAX_ATTEMPTS)
        for row in given_up:
            yield FailureItem(
                url=row["url"], kind="frontier", site=row["source"],
                message=f"requested by {row['attempts']} runs without a stored answer: given up",
            )
        self.crawler.stats.set_value("frontier/leftovers", len(to_fetch))
        for row in to_fetch:
            try:
                known = archive.lookup(normalize_url(row["url"])) or archive.lookup(row["url"])
            except ValueError:
                known = None
            if known is not None:
                archive.frontier_remove(row["url"])
                continue
            source = self.sources[row["source"]]
            self.discovered.setdefault(row["url"], row["hints"])
            depth = row["link_depth"] if row["link_depth"] is not None else source.depth
            yield self.request(row["url"], self.parse_article, source, "article", link_depth=depth, frontier=True)

    # -- start ---------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.locked_out:
            raise CloseSpider("locked")
        if self.revisit != "only":
            for request in self.leftovers():
                yield request
        if self.revisit != "no":
            for request in self.revisits():
                yield request
        if self.revisit == "only":
            return
        for source in self.crawl_config.sources:
            for url in source.sitemaps:
                for request in self.sitemap_request(url, source, 0):
                    yield request
            for url in source.feeds:
                yield self.request(url, self.parse_feed, source, "feed")
            for url in source.start_urls:
                yield self.request(url, self.parse_section, source, "section", link_depth=0)

    def revisits(self) -> Iterator[scrapy.Request]:
        """Conditional GETs for the known articles of these sources whose check is due."""
        archive = self.archive
        if archive is None:
            return
        if not self.dry_run:
            steps = list(self.crawl_config.revisit_steps)
            rescheduled = archive.apply_revisit_steps(steps, parse_revisit_steps(steps))
            self.crawler.stats.set_value("revisit/rescheduled", rescheduled)
        due = archive.due_articles(list(self.sources), utc_now_iso())
        self.crawler.stats.set_value("revisit/due", len(due))
        for row in due:
            source = self.sources[row["site"]]
            self.plan[source.name]["due"] += 1
            if self.dry_run:
                continue
            headers = {}
            if row["etag"]:
                headers["If-None-Match"] = row["etag"]
            if row["last_modified"]:
                headers["If-Modified-Since"] = row["last_modified"]
            request = self.request(
                row["url"], self.parse_article, source, "article",
                link_depth=source.depth, article_id=row["id"], handle_httpstatus_list=[304, 404, 410],
            )
            yield request.replace(headers=headers, dont_filter=True)

    # -- feeds -----------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """A feed (RSS or Atom through feedparser; JSON Feed): archive it, then request each
        entry's link with the entry's date as a hint."""
        source = self.source_of(response.meta)
        self._entry_point(source.name)
        if not self.dry_run:
            yield self.page_item(response, "feed", source)
        entries = read_json_feed(response.body)
        if entries is None:
            content_type = (response.headers.get(b"Content-Type") or b"application/xml").decode("latin-1")
            # A stream, never bytes or a string: feedparser.parse() fetches a string that looks
            # like a URL and opens one that names a local file (even as bytes), so a feed whose
            # body is "/etc/passwd" would be read from disk.
            parsed = feedparser.parse(
                io.BytesIO(response.body), response_headers={"content-location": response.url, "content-type": content_type}
            )
            entries = parsed.entries
        else:
            parsed = {"bozo": False}
        if parsed.get("bozo"):
            self.crawler.stats.inc_value("discovery/feed_malformed")
            problem = parsed.get("bozo_exception")
            logger.warning("malformed feed %s (parsed as far as it goes): %s", response.url, problem)
            if not self.dry_run:
                yield FailureItem(
                    url=response.url, kind="malformed_feed", site=source.name,
                    message=f"malformed feed, {len(entries)} entries read anyway: {problem}",
                )
        bad: list[str] = []
        for entry in entries:
            link = entry.get("link")
            if not link or not isinstance(link, str):
                continue
            # feedparser gives parsed times; a JSON Feed item gives RFC 3339 text
            when = entry.get("published_parsed") or entry.get("updated_parsed") or _parse_w3c(entry.get("published"))
            if self._too_old(source, when):
                continue
            hints = {"title": entry.get("title")}
            if entry.get("published"):
                hints.update(published=entry["published"], published_source="feed")
            yield from self._discovered(urljoin(response.url, link), source, hints, "feed", bad)
        yield from self._bad_urls(response.url, source, bad, "feed")

    # -- sitemaps --------------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap, sitemap index or robots.txt: archive it, then follow what it lists.

        Any body is read as XML, whatever its Content-Type or URL (``shared/cases/13-*``);
        an empty or broken one is a ``bad_sitemap`` failure, never an exception (``14-*``);
        Google News entries bring their publication date and title (``17-*``)."""
        source = self.source_of(response.meta)
        depth = response.meta.get("sitemap_depth", 0)
        if not self.dry_run:
            yield self.page_item(response, "sitemap", source)
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                yield from self.sitemap_request(url, source, depth + 1)
            return
        try:
            body = gunzip(response.body, max_size=MAX_SITEMAP_BYTES) if gzip_magic_number(response) else response.body
            sitemap = read_sitemap(body)
        except (SitemapError, OSError, ValueError) as exc:
            self._entry_point(source.name, f"{response.url}: invalid sitemap: {exc}")
            self.crawler.stats.inc_value("discovery/sitemap_invalid")
            logger.warning("Ignoring invalid sitemap %s: %s", response.url, exc)
            if not self.dry_run:
                yield FailureItem(url=response.url, kind="bad_sitemap", message=f"invalid sitemap: {exc}", site=source.name)
            return
        self._entry_point(source.name)
        if sitemap.truncated:
            self.crawler.stats.inc_value("discovery/sitemap_truncated")
            logger.warning("sitemap %s lists more than 50,000 URLs: the rest are ignored (sitemaps.org limit)", response.url)
        bad: list[str] = []
        for entry in sitemap.entries:
            if sitemap.kind == "sitemapindex":
                # a child sitemap last changed before since_days lists only older stories
                if depth < MAX_SITEMAP_DEPTH and not self._too_old(source, _parse_w3c(entry.lastmod)):
                    url = strip_credentials(urljoin(response.url, entry.loc))
                    if url_problem(url):
                        bad.append(entry.loc)
                        continue
                    yield from self.sitemap_request(url, source, depth + 1)
                continue
            if self._too_old(source, _parse_w3c(entry.publication_date or entry.lastmod)):
                continue
            hints = {"title": entry.title}
            if entry.publication_date:
                hints.update(published=entry.publication_date, published_source="sitemap")
            yield from self._discovered(entry.loc, source, hints, "sitemap", bad)
        yield from self._bad_urls(response.url, source, bad, "sitemap")

    def sitemap_request(self, url: str, source: Source, depth: int) -> Iterator[scrapy.Request]:
        """The request for a sitemap, sitemap index or robots.txt, within the source's budget
        of :attr:`sitemaps_max_per_source` per run. A sitemap may be 50 MB (sitemaps.org),
        more than ``DOWNLOAD_MAXSIZE``: its request carries that limit. A sitemap index that
        lists itself, or sitemaps listing each other, are fetched once: Scrapy's duplicate
        filter drops the repeats, and ``MAX_SITEMAP_DEPTH`` bounds the nesting."""
        budget = self.sitemaps_max_per_source
        count = self._sitemaps.get(source.name, 0)
        if budget and count >= budget:
            if self.crawler.stats.get_value(f"discovery/sitemap_budget/{source.name}") is None:
                logger.warning("source %s: no more sitemaps in this run (%d read: the per-source budget)", source.name, budget)
            self.crawler.stats.inc_value(f"discovery/sitemap_budget/{source.name}")
            return
        self._sitemaps[source.name] = count + 1
        yield self.request(
            url, self.parse_sitemap, source, "sitemap", sitemap_depth=depth, download_maxsize=MAX_SITEMAP_BYTES
        )

    def _bad_urls(self, document: str, source: Source, bad: list[str], via: str) -> Iterator[FailureItem]:
        """One ``bad_url`` failure for the URLs a feed or sitemap listed that are not http(s)
        URLs with a host (``file:``, ``javascript:``, ``ftp:``, ...): they are never requested."""
        if not bad:
            return
        self.crawler.stats.inc_value("discovery/bad_url", len(bad))
        shown = ", ".join(repr(redact_credentials(u)[:200]) for u in bad[:BAD_URLS_SHOWN])
        more = f" and {len(bad) - BAD_URLS_SHOWN} more" if len(bad) > BAD_URLS_SHOWN else ""
        message = f"{via} lists {len(bad)} URL(s) that cannot be fetched (not http(s) with a host), dropped: {shown}{more}"
        logger.warning("%s: %s", document, message)
        if not self.dry_run:
            yield FailureItem(url=document, kind="bad_url", message=message, site=source.name)

    # -- shared ----------------------------------------------------------------------

    def _discovered(self, url: str, source: Source, hints: dict[str, Any], via: str, bad: list[str]) -> Iterator[Any]:
        url = strip_credentials(url.strip())
        if url_problem(url):
            bad.append(url)
            return
        if not source.wants(url):
            self.crawler.stats.inc_value("discovery/filtered")
            return
        known = self.discovered.setdefault(url, {})
        for key, value in hints.items():
            if value and key not in known:
                known[key] = value
        self.crawler.stats.inc_value(f"discovery/{via}")
        yield from self.article_request(url, source, hints, link_depth=source.depth)

    def article_request(self, url: str, source: Source, hints: dict[str, Any], link_depth: int) -> Iterator[scrapy.Request]:
        """Fetch a discovered URL unless it names a known article (revisits handle those)."""
        archive = self.archive
        if archive is not None:
            try:
                known = archive.lookup(normalize_url(url)) or archive.lookup(url)
            except ValueError:
                known = None
            if known is not None:
                self.crawler.stats.inc_value("discovery/known")
                self.plan[source.name]["known"] += 1
                return
        if self.dry_run:
            if url not in self.plan[source.name]["new"]:
                self.plan[source.name]["new"].append(url)
            return
        for request in super().article_request(url, source, hints, link_depth):
            request.meta["hints"] = self.discovered.get(url) or hints  # kept in the frontier
            yield request

    def redirect_allowed(self, url: str, request: scrapy.Request) -> bool:
        """Whether a redirect (HTTP or meta refresh) of ``request`` to ``url`` stays on the site
        of the request's source (its feeds, sitemaps and section pages) or of the URL the
        redirects started from (``www.``/``m.``/``amp.`` hosts, subdomains and other ports of
        one site are one site: :func:`pipelines.urls.same_site`). robots.txt requests
        (no source) follow redirects anywhere (RFC 9309 2.3.1.2)."""
        name = request.meta.get("source")
        if name not in self.sources:
            return True
        source = self.sources[name]
        origins = [*source.feeds, *source.sitemaps, *source.start_urls, (request.meta.get("redirect_urls") or [request.url])[0]]
        return any(same_site(url, origin) for origin in origins)

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

    def parse_section(self, response: Response) -> Iterator[Any]:
        self._entry_point(response.meta["source"])
        if self.dry_run:
            yield from self.follow_links(response, self.source_of(response.meta))
            return
        yield from super().parse_section(response)


def _parse_w3c(value: str | None) -> time.struct_time | None:
    """A W3C Datetime (a profile of ISO 8601: sitemaps' ``<lastmod>``, news dates) as UTC, or ``None``."""
    if not value:
        return None
    try:
        moment = isoparse(value.strip())
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.timetuple()
