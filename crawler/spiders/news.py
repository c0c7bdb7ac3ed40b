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
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import scrapy
from dateutil.parser import isoparse
from scrapy import signals
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number

from archive.database import Archive, ArchiveError
from archive.lock import ArchiveLock, LockHeld
from archive.schedule import parse_revisit_steps
from archive.timefmt import utc_now_iso
from archive.urls import redact_credentials, same_site, strip_credentials
from crawler.config import ConfigError, CrawlConfig, Source, load_config, url_problem
from crawler.discovery import (
    FEEDPARSER_MAX_BYTES,
    MAX_SITEMAP_BYTES,
    SKIPPED,
    SitemapError,
    location_rule,
    origin,
    read_json_feed,
    read_sitemap,
    stream_feed,
)
from crawler.frontier import MAX_ATTEMPTS
from crawler.items import FailureItem
from crawler.spiders.base import ArchivingSpider, conditional_headers
from crawler.robots import RobotsTxt, product_token
from crawler.traps import SITEMAPS_MAX_PER_SOURCE
from crawler.useragent import user_agent

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

    ``newsarchive check`` runs :class:`crawler.spiders.check.CheckSpider`, the same
    discovery without fetching any article or archiving anything.

    Raises:
        ConfigError: no config given, it is invalid, or ``revisit`` is not a mode.
    """

    name = "news"
    #: takes the archive's crawl lock (``newsarchive check`` reads, and takes none)
    takes_lock = True
    uses_frontier = True
    #: sitemaps (indexes, urlsets, robots.txt) read per source and run (crawler/traps.py)
    sitemaps_max_per_source: int = SITEMAPS_MAX_PER_SOURCE

    def __init__(self, config: str | None = None, revisit: str = "yes", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not config:
            raise ConfigError("the news spider needs a config file: -a config=sources.toml")
        if revisit not in REVISIT_MODES:
            raise ConfigError(f"revisit must be one of {', '.join(REVISIT_MODES)} (got {revisit!r})")
        self.crawl_config: CrawlConfig = self.load_crawl_config(config)
        self.sources = {s.name: s for s in self.crawl_config.sources}
        self.private_hosts = {h for s in self.crawl_config.sources if s.allow_private for h in s.hosts}
        self.revisit = revisit
        # URL -> what discovery said of it (feed/sitemap date, title), kept until fetched.
        self.discovered: dict[str, dict[str, Any]] = {}
        self._archive: Archive | None = None
        #: sitemaps requested per source in this run (sitemaps_max_per_source)
        self._sitemaps: dict[str, int] = {}
        #: new article URLs queued per source in this run (max_new_urls_per_source)
        self._queued_per_source: dict[str, int] = {}
        #: article URLs queued from feeds and sitemaps in this run (bounded by the caps)
        self._queued: set[str] = set()
        #: sitemap URL -> origins (scheme, host, port) whose robots.txt lists it: they may
        #: submit URLs to it from outside its location (sitemaps.org, cross-submits)
        self._listed_by: dict[str, set[tuple]] = {}
        #: sources with a feed, sitemap or start page read in this run; causes of the others
        self._entry_read: set[str] = set()
        self._entry_failed: dict[str, list[str]] = {}
        #: the crawl lock this run took (None when the caller holds it, or in a dry run)
        self._lock: ArchiveLock | None = None
        #: another run holds the crawl lock: this one does nothing
        self.locked_out = False

    @staticmethod
    def load_crawl_config(config: str) -> CrawlConfig:
        """The crawl config named by the spider's ``config`` argument (a file path here)."""
        return load_config(config)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        config = spider.crawl_config
        # Settings are not frozen until the spider exists (Scrapy >= 2.11), so the
        # config's [crawl] table can set them here for both entry points.
        settings = crawler.settings
        settings.set("USER_AGENT", user_agent(config.user_agent, config.contact), priority="spider")
        settings.set("ROBOTSTXT_USER_AGENT", product_token(user_agent(config.user_agent)), priority="spider")
        settings.set("DOWNLOAD_DELAY", config.delay_secs, priority="spider")
        settings.set("AUTOTHROTTLE_START_DELAY", max(config.delay_secs, 0.0), priority="spider")
        settings.set("ARCHIVE_CONFIG_TEXT", config.text, priority="spider")
        settings.set("ARCHIVE_REVISIT_STEPS", list(config.revisit_steps), priority="spider")
        if config.template_min_stories is not None:
            settings.set("ARCHIVE_TEMPLATE_MIN_STORIES", config.template_min_stories, priority="spider")
        if config.warc:
            settings.set("ARCHIVE_WARC", config.warc, priority="spider")
        # every robots.txt the crawl reads (the middleware's too) may list sitemaps
        crawler.signals.connect(spider.robots_downloaded, signal=signals.response_downloaded)
        if spider.takes_lock and not settings.getbool("ARCHIVE_LOCK_HELD"):
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
        """The base spider's failure records; a failed feed, sitemap or start page is noted
        against its source (a source none of whose entry points could be read is reported)."""
        meta = failure.request.meta
        for item in super().on_error(failure):
            # a failure row, or an HTTP error page (a capture with its error)
            message = item.message if isinstance(item, FailureItem) else item.error[1]
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
        (``None`` for ``newsarchive check``, which writes nothing)."""
        return self.archive

    def leftovers(self) -> Iterator[Any]:
        """Requests for the frontier's URLs of these sources (found by earlier runs, not yet
        fetched), oldest first, at most ``max_new_urls_per_source`` of a source (they count
        against that cap in this run); a URL requested by :data:`crawler.frontier.MAX_ATTEMPTS`
        runs is given up with a ``frontier`` failure; one that names a known article
        by now leaves the frontier (the revisit schedule decides when it is fetched)."""
        archive = self.frontier_archive
        if archive is None:
            return
        # the run's cap on new URLs applies to what waited in the frontier too
        to_fetch, given_up = archive.frontier_leftovers(list(self.sources), MAX_ATTEMPTS, self.crawl_config.max_new_urls_per_source)
        for row in given_up:
            yield FailureItem(
                url=row["url"], kind="frontier", site=row["source"],
                message=f"requested by {row['attempts']} runs without a stored answer: given up",
            )
        self.crawler.stats.set_value("frontier/leftovers", len(to_fetch))
        for row in to_fetch:
            if archive.lookup(row["url"]) is not None:
                archive.frontier_remove(row["url"])
                continue
            source = self.sources[row["source"]]
            # counted against the run's max_new_urls_per_source, before anything discovered now
            self._queued.add(row["url"])
            self._queued_per_source[source.name] = self._queued_per_source.get(source.name, 0) + 1
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
        steps = list(self.crawl_config.revisit_steps)
        rescheduled = archive.apply_revisit_steps(steps, parse_revisit_steps(steps))
        self.crawler.stats.set_value("revisit/rescheduled", rescheduled)
        due = archive.due_articles(list(self.sources), utc_now_iso())
        self.crawler.stats.set_value("revisit/due", len(due))
        for row in due:
            source = self.sources[row["site"]]
            headers = conditional_headers(row["etag"], row["last_modified"])
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
        yield self.page_item(response, "feed", source)
        yield from self.read_feed(response, source)

    def read_feed(self, response: Response, source: Source) -> Iterator[Any]:
        """The entries of a feed (also one given as a sitemap: sitemaps.org accepts RSS 2.0
        and Atom feeds as sitemaps), newest first, up to ``max_new_urls_per_feed``."""
        entries = read_json_feed(response.body)
        problems: list[str] = []
        if entries is None and len(response.body) > FEEDPARSER_MAX_BYTES:
            self.crawler.stats.inc_value("discovery/feed_streamed")
            entries = stream_feed(response.body, problems)
            parsed = {"bozo": False}
        elif entries is None:
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
        bad: list[str] = []
        found: list[Found] = []
        read = 0
        for entry in entries:
            read += 1
            link = entry.get("link")
            if not link or not isinstance(link, str):
                continue
            # feedparser gives parsed times; a JSON Feed item gives RFC 3339 text; a large feed's
            # streamed entries, RSS or Atom text
            when = (_timestamp(entry.get("published_parsed") or entry.get("updated_parsed"))
                    or _parse_date(entry.get("published")) or _parse_date(entry.get("updated")))
            if self._too_old(source, when):
                continue
            found.append((urljoin(response.url, link), entry.get("title"), entry.get("published"), when))
        if parsed.get("bozo") or problems:
            self.crawler.stats.inc_value("discovery/feed_malformed")
            problem = parsed.get("bozo_exception") or problems[0]
            logger.warning("malformed feed %s (parsed as far as it goes): %s", response.url, problem)
            yield FailureItem(
                url=response.url, kind="malformed_feed", site=source.name,
                message=f"malformed feed, {read} entries read anyway: {problem}",
            )
        del entries, parsed
        notes: list[str] = []
        yield from self._queue(response.url, source, found, "feed", self.crawl_config.max_new_urls_per_feed, bad, notes)
        yield from self._bad_urls(response.url, source, bad, "feed")
        yield from self._skipped(response.url, source, notes, "feed")

    # -- sitemaps --------------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap, sitemap index, text sitemap or robots.txt: archive it, then follow what
        it lists (crawler/discovery.py reads it, per sitemaps.org).

        Any body is read, whatever its Content-Type or URL (``shared/cases/13-*``); an empty
        or broken one is a ``bad_sitemap`` failure, never an exception (``14-*``); Google
        News entries bring their publication date and title (``17-*``). Unless the source
        sets ``sitemap_location_rule = false``, a URL outside the sitemap's location
        (:func:`crawler.discovery.in_location`), or a child sitemap of an index on another
        host, is dropped, except on a host whose robots.txt lists this sitemap or an index
        above it (sitemaps.org, "Sitemaps & Cross Submits"). What a sitemap's entries lost
        (bare URLs, markup in ``<loc>``, the location rule, the index depth, the caps) is
        one ``sitemap_skipped`` failure with the counts."""
        source = self.source_of(response.meta)
        depth = response.meta.get("sitemap_depth", 0)
        yield self.page_item(response, "sitemap", source)
        if response.url.endswith("/robots.txt"):
            for url in RobotsTxt(response.body).sitemaps(response.url):
                yield from self.sitemap_request(url, source, depth + 1, {origin(response.url)})
            return
        try:
            body = gunzip(response.body, max_size=MAX_SITEMAP_BYTES) if gzip_magic_number(response) else response.body
            sitemap = read_sitemap(body)
        except (SitemapError, OSError, ValueError) as exc:
            self._entry_point(source.name, f"{response.url}: invalid sitemap: {exc}")
            self.crawler.stats.inc_value("discovery/sitemap_invalid")
            logger.warning("Ignoring invalid sitemap %s: %s", response.url, exc)
            yield FailureItem(url=response.url, kind="bad_sitemap", message=f"invalid sitemap: {exc}", site=source.name)
            return
        self._entry_point(source.name)
        del body
        if sitemap.kind == "feed":
            yield from self.read_feed(response, source)
            return
        notes = [f"{n} {SKIPPED[key]}" for key, n in sitemap.skipped.items()]
        if sitemap.truncated:
            self.crawler.stats.inc_value("discovery/sitemap_truncated")
            notes.append("URLs after the first 50,000 ignored (sitemaps.org limit)")
            logger.warning("sitemap %s lists more than 50,000 URLs: the rest are ignored (sitemaps.org limit)", response.url)
        # origins whose robots.txt lists this sitemap (or an index above it)
        listed_by = set(response.meta.get("listed_by", ()))
        for url in {response.url, *response.meta.get("redirect_urls", [])}:
            listed_by |= self._listed_by.get(url, set())
        bad: list[str] = []
        outside = 0
        if sitemap.kind == "sitemapindex":
            if depth >= MAX_SITEMAP_DEPTH:
                self.crawler.stats.inc_value("discovery/sitemap_depth_cut")
                notes.append(f"index chain cut at depth {MAX_SITEMAP_DEPTH}: {len(sitemap.entries)} sitemap(s) not read")
                sitemap.entries = []
            for entry in sitemap.entries:
                # a child sitemap last changed before since_days lists only older stories
                if self._too_old(source, _parse_date(entry.lastmod)):
                    continue
                url = strip_credentials(urljoin(response.url, entry.loc))
                if url_problem(url):
                    bad.append(entry.loc)
                    continue
                # sitemaps.org: an index lists sitemaps of its own site only
                if source.sitemap_location_rule and not self._same_site_or_listed(url, response.url, listed_by):
                    outside += 1
                    continue
                yield from self.sitemap_request(url, source, depth + 1, listed_by)
            if outside:
                self.crawler.stats.inc_value("discovery/sitemap_outside_location", outside)
                notes.append(f"{outside} sitemap(s) on another host dropped (sitemaps.org: an index lists sitemaps of its own site)")
        else:
            found = []
            for entry in sitemap.entries:
                when = _parse_date(entry.publication_date or entry.lastmod)
                if self._too_old(source, when):
                    continue
                found.append((entry.loc, entry.title, entry.publication_date, when))
            del sitemap
            rule = location_rule(response.url, listed_by) if source.sitemap_location_rule else None
            yield from self._queue(response.url, source, found, "sitemap", self.crawl_config.max_new_urls_per_sitemap, bad, notes, rule)
        yield from self._bad_urls(response.url, source, bad, "sitemap")
        yield from self._skipped(response.url, source, notes, "sitemap")

    def robots_downloaded(self, response: Response, request: scrapy.Request, spider: Any = None) -> None:
        """Note the ``Sitemap:`` lines of every robots.txt read in this crawl (the robots.txt
        middleware's too: a sitemap's own host's robots.txt is read before the sitemap): the
        host whose robots.txt lists a sitemap lets it list the host's URLs (sitemaps.org)."""
        if response.status != 200 or urlsplit(response.url).path != "/robots.txt":
            return
        try:
            host = origin(response.url)
            for url in RobotsTxt(response.body).sitemaps(response.url):
                self._listed_by.setdefault(url, set()).add(host)
        except ValueError:  # a port that is not a number: nothing to note
            return

    @staticmethod
    def _same_site_or_listed(url: str, index_url: str, listed_by: set[tuple]) -> bool:
        return origin(url) == origin(index_url) or origin(url) in listed_by

    def _skipped(self, document: str, source: Source, notes: list[str], via: str) -> Iterator[FailureItem]:
        """One ``sitemap_skipped`` / ``feed_skipped`` failure for what a document listed and
        this run did not queue, with the counts (``notes``)."""
        if not notes:
            return
        message = "; ".join(notes)
        logger.warning("%s %s: %s", via, document, message)
        yield FailureItem(url=document, kind=f"{via}_skipped", message=message, site=source.name)

    def sitemap_request(self, url: str, source: Source, depth: int, listed_by: set[tuple] = frozenset()) -> Iterator[scrapy.Request]:
        """The request for a sitemap, sitemap index or robots.txt, within the source's budget
        of :attr:`sitemaps_max_per_source` per run. A sitemap may be 50 MB (sitemaps.org),
        more than ``DOWNLOAD_MAXSIZE``: its request carries that limit. A sitemap index that
        lists itself, or sitemaps listing each other, are fetched once: Scrapy's duplicate
        filter drops the repeats, and ``MAX_SITEMAP_DEPTH`` bounds the nesting. ``listed_by``:
        the origins whose robots.txt listed it or an index above it."""
        budget = self.sitemaps_max_per_source
        count = self._sitemaps.get(source.name, 0)
        if budget and count >= budget:
            if self.crawler.stats.get_value(f"discovery/sitemap_budget/{source.name}") is None:
                logger.warning("source %s: no more sitemaps in this run (%d read: the per-source budget)", source.name, budget)
            self.crawler.stats.inc_value(f"discovery/sitemap_budget/{source.name}")
            return
        self._sitemaps[source.name] = count + 1
        yield self.request(
            url, self.parse_sitemap, source, "sitemap", sitemap_depth=depth, download_maxsize=MAX_SITEMAP_BYTES,
            listed_by=sorted(listed_by),
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
        yield FailureItem(url=document, kind="bad_url", message=message, site=source.name)

    # -- shared ----------------------------------------------------------------------

    def _queue(
        self, document: str, source: Source, found: list[Found],
        via: str, cap: int, bad: list[str], notes: list[str], location: Callable[[str], bool] | None = None,
    ) -> Iterator[Any]:
        """Request the new article URLs a feed or sitemap listed (``found``: URL, title and
        publication date as stated or ``None``, date as a UTC timestamp or ``None``),
        newest first where dates are known (undated ones after, in document order), that
        pass ``location`` (a sitemap's location rule), up to ``cap`` new URLs from this
        document and the config's ``max_new_urls_per_source`` from the source in this run
        (0: no cap). URLs the archive knows (revisits handle those) or this run queued
        already do not count. The rest go to :meth:`over_cap`; the notes for the
        document's failure row join ``notes``, bad URLs ``bad``."""
        found.sort(key=lambda f: -f[3] if f[3] is not None else float("inf"))
        source_cap = self.crawl_config.max_new_urls_per_source
        queued = outside = 0
        over: list[Found] = []
        for url, title, published, when in found:
            url = strip_credentials(url.strip())
            if url_problem(url):
                bad.append(url)
                continue
            if location is not None and not location(url):
                outside += 1
                continue
            if not source.wants(url):
                self.crawler.stats.inc_value("discovery/filtered")
                continue
            self.crawler.stats.inc_value(f"discovery/{via}")
            if url in self._queued:
                continue
            from_source = self._queued_per_source.get(source.name, 0)
            if (cap and queued >= cap) or (source_cap and from_source >= source_cap):
                over.append((url, title, published, when))
                continue
            if self.is_known(url, source):
                continue
            self._queued.add(url)
            self._queued_per_source[source.name] = from_source + 1
            queued += 1
            hints = _hints(title, published, via)
            known = self.discovered.setdefault(url, {})
            for key, value in hints.items():
                if value and key not in known:
                    known[key] = value
            yield from self._request_new(url, source, hints, source.depth)
        if outside:
            self.crawler.stats.inc_value("discovery/sitemap_outside_location", outside)
            notes.append(f"{outside} URL(s) outside the sitemap's location dropped (sitemaps.org location rule)")
        del found
        if over:
            urls = ((url, _hints(title, published, via)) for url, title, published, _ in over)
            notes.append(self.over_cap(document, source, urls, len(over), via, cap))

    def over_cap(self, document: str, source: Source, urls: Iterator[tuple[str, dict[str, Any]]], count: int, via: str, cap: int) -> str:
        """The one place where URLs over a cap are handed off: ``urls`` (``count`` of them:
        URL, discovery hints ``title``, ``published``, ``published_source``), newest first, listed by
        ``document`` (a feed or sitemap) but not queued in this run. Today they are counted
        (stats ``discovery/over_cap``, the document's failure row) and written to the
        archive's ``frontier``, where a later run takes them up first (crawler/frontier.py).
        Returns the note for the document's failure row."""
        stats = self.crawler.stats
        stats.inc_value("discovery/over_cap", count)
        stats.inc_value(f"discovery/over_cap/{source.name}", count)
        archive = self.frontier_archive
        if archive is not None:
            rows = ({"url": url, "source": source.name, "hints": hints, "via": via, "link_depth": source.depth, "fetch": False} for url, hints in urls)
            stats.inc_value("frontier/held_back", archive.frontier_add(list(rows)))
        return (
            f"{count} URL(s) over the cap not queued in this run (max_new_urls_per_{via} = {cap}, "
            f"max_new_urls_per_source = {self.crawl_config.max_new_urls_per_source}): kept in the frontier for a later run"
        )

    def is_known(self, url: str, source: Source) -> bool:
        """Whether ``url`` names an article of the archive (revisits handle those)."""
        archive = self.archive
        if archive is None:
            return False
        if archive.lookup(url) is None:
            return False
        self.crawler.stats.inc_value("discovery/known")
        return True

    def article_request(self, url: str, source: Source, hints: dict[str, Any], link_depth: int) -> Iterator[scrapy.Request]:
        """Fetch a discovered URL unless it names a known article (revisits handle those)."""
        if not self.is_known(url, source):
            yield from self._request_new(url, source, hints, link_depth)

    def _request_new(self, url: str, source: Source, hints: dict[str, Any], link_depth: int) -> Iterator[scrapy.Request]:
        """The request for a new article URL, with its discovery hints (kept in the frontier)."""
        for request in super().article_request(url, source, hints, link_depth):
            request.meta["hints"] = self.discovered.get(url) or hints
            yield request

    def redirect_allowed(self, url: str, request: scrapy.Request) -> bool:
        """Whether a redirect (HTTP or meta refresh) of ``request`` to ``url`` stays on the site
        of the request's source (its feeds, sitemaps and section pages) or of the URL the
        redirects started from (``www.``/``m.``/``amp.`` hosts, subdomains and other ports of
        one site are one site: :func:`archive.urls.same_site`). robots.txt requests
        (no source) follow redirects anywhere (RFC 9309 2.3.1.2)."""
        name = request.meta.get("source")
        if name not in self.sources:
            return True
        source = self.sources[name]
        origins = [*source.feeds, *source.sitemaps, *source.start_urls, (request.meta.get("redirect_urls") or [request.url])[0]]
        return any(same_site(url, start) for start in origins)

    def hints_for(self, response: Response) -> dict:
        for url in [*response.meta.get("redirect_urls", []), response.url]:
            if url in self.discovered:
                return self.discovered.pop(url)
        return {}

    def _too_old(self, source: Source, when: float | None) -> bool:
        if source.since_days is None or when is None:
            return False
        age_secs = time.time() - when
        if age_secs > source.since_days * 86400:
            self.crawler.stats.inc_value("discovery/too_old")
            return True
        return False

    def parse_section(self, response: Response) -> Iterator[Any]:
        self._entry_point(response.meta["source"])
        yield from super().parse_section(response)

#: what a feed or sitemap said of a URL: URL, title, publication date as stated, date as a
#: UTC timestamp (seconds) or ``None`` (compact: a feed may list 100,000)
Found = tuple[str, "str | None", "str | None", "float | None"]


def _hints(title: str | None, published: str | None, via: str) -> dict[str, Any]:
    """The discovery hints of a URL (crawler/items.py ``PageItem.hints``)."""
    hints: dict[str, Any] = {"title": title}
    if published:
        hints.update(published=published, published_source=via)
    return hints


def _timestamp(struct: time.struct_time | None) -> float | None:
    return calendar.timegm(struct) if struct else None


def _parse_date(value: str | None) -> float | None:
    """A feed's or sitemap's date (RFC 822 in RSS, W3C Datetime / RFC 3339 in sitemaps, Atom
    and JSON Feed) as a UTC timestamp, seconds, or ``None``. A date without a zone is taken
    as UTC (for ordering and ``since_days`` only)."""
    if not value:
        return None
    value = value.strip()
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            moment = isoparse(value)
        except (ValueError, OverflowError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return None
