"""The crawl configuration: a TOML file with ``[crawl]`` and one ``[[source]]`` per site.

The keys are fixed by design.md (Interfaces) because users' files rely on them; this
module validates them and turns them into plain dataclasses. Unknown keys are errors, so
that a typo never silently disables a rule.

Example::

    [crawl]
    contact = "mailto:archive@example.org"

    [[source]]
    name = "dawn"
    feeds = ["https://www.dawn.com/feeds/home"]
    start_urls = ["https://www.dawn.com/latest-news"]
    allow = ['/news/\\d+']
    timezone = "Asia/Karachi"
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from w3lib.url import safe_url_string

from archive.schedule import DEFAULT_STEPS_TEXT as DEFAULT_REVISIT_STEPS
from archive.schedule import parse_revisit_steps as _parse_steps
from archive.urls import redact_credentials
from crawler.options import ExtractOptions
from crawler.robots import product_token
from crawler.settings import URLLENGTH_LIMIT

CRAWL_KEYS = {
    "user_agent", "contact", "revisit_steps", "warc", "delay_secs",
    "max_new_urls_per_feed", "max_new_urls_per_sitemap", "max_new_urls_per_source", "template_min_stories",
}
SOURCE_KEYS = {
    "name", "feeds", "sitemaps", "start_urls", "allow", "deny", "depth",
    "since_days", "timezone", "allow_private", "extract", "sitemap_location_rule",
}
#: New article URLs queued per run from one feed: a feed lists tens of stories, rarely
#: hundreds; a feed of 100,000 entries is a dump, and 1,000 is Google News' own limit for
#: a news sitemap.
DEFAULT_MAX_NEW_URLS_PER_FEED = 1000
#: ... from one sitemap: a news sitemap holds at most 1,000 URLs (Google News); a
#: 50,000-URL archive sitemap is backfilled 1,000 at a time, newest first, run after run.
DEFAULT_MAX_NEW_URLS_PER_SITEMAP = 1000
#: ... from one source's feeds and sitemaps together: 3,000 fetches at the default delay of
#: 1 s per host take about 50 minutes, so a run ends before an hourly cron starts the next.
DEFAULT_MAX_NEW_URLS_PER_SOURCE = 3000
#: the longest ``delay_secs``: an hour between two requests to one host (a larger one is a
#: mistake: a run would fetch nothing)
MAX_DELAY_SECS = 3600
EXTRACT_KEYS = {"include", "exclude"}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Source:
    """One site to crawl (one ``[[source]]`` table).

    Attributes:
        name: short identifier, stored as ``articles.site``.
        feeds / sitemaps / start_urls: discovery entry points (http/https URLs).
        allow / deny: compiled regular expressions applied to article URLs found by
            any discovery path (``re.search``).
        depth: how many links deep to follow from a section page (default 1).
        since_days: skip feed and sitemap entries older than this many days.
        allow_private: let this source reach loopback and private addresses.
        extract: how this site's pages are extracted (``[source.extract]`` and ``timezone``).
        sitemap_location_rule: apply sitemaps.org's location rule to this source's
            sitemaps (default ``True``): a URL outside a sitemap's host and folder is
            dropped unless the host's robots.txt lists the sitemap.
    """

    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    start_urls: tuple[str, ...] = ()
    allow: tuple[re.Pattern[str], ...] = ()
    deny: tuple[re.Pattern[str], ...] = ()
    depth: int = 1
    since_days: float | None = None
    allow_private: bool = False
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    sitemap_location_rule: bool = True

    @property
    def timezone(self) -> str | None:
        """IANA zone for dates the site states without an offset (``extract.timezone``)."""
        return self.extract.timezone

    @property
    def hosts(self) -> set[str]:
        """Host names of this source's entry points (links are followed only within them)."""
        return {urlsplit(u).hostname or "" for u in (*self.feeds, *self.sitemaps, *self.start_urls)} - {""}

    def wants(self, url: str) -> bool:
        """True when ``url`` passes this source's ``allow`` and ``deny`` rules."""
        if self.allow and not any(p.search(url) for p in self.allow):
            return False
        return not any(p.search(url) for p in self.deny)


@dataclass(frozen=True)
class CrawlConfig:
    """A whole configuration file.

    Attributes:
        sources: the ``[[source]]`` tables, in file order.
        user_agent: full User-Agent override, or ``None`` for ``newsarchive/<version>``; its
            product name (leading letters, '_', '-') is what robots.txt groups must name.
        contact: URL or e-mail put into the User-Agent.
        revisit_steps: ``"<age>=<interval>"`` steps of the revisit schedule.
        warc: path of a WARC file to append every capture to during crawls (relative to
            the config file), or ``None``.
        delay_secs: minimum delay between two requests to one host, seconds.
        max_new_urls_per_feed / max_new_urls_per_sitemap / max_new_urls_per_source: caps
            on the new article URLs queued in one run from one feed, one sitemap, and one
            source's feeds and sitemaps together (0: no cap). What is over a cap is left
            for a later run, which finds it again (newest first where dates are known).
        template_min_stories: stories a site needs (new since its latest template) before
            its template is learned at the end of a run; 0 never learns; ``None``: the
            default (``ARCHIVE_TEMPLATE_MIN_STORIES``).
        text: the file's text, kept with the crawl for provenance.
        path: where it was read from.
    """

    sources: tuple[Source, ...]
    user_agent: str | None = None
    contact: str | None = None
    revisit_steps: tuple[str, ...] = tuple(DEFAULT_REVISIT_STEPS)
    warc: str | None = None
    delay_secs: float = 1.0
    max_new_urls_per_feed: int = DEFAULT_MAX_NEW_URLS_PER_FEED
    max_new_urls_per_sitemap: int = DEFAULT_MAX_NEW_URLS_PER_SITEMAP
    max_new_urls_per_source: int = DEFAULT_MAX_NEW_URLS_PER_SOURCE
    template_min_stories: int | None = None
    text: str = ""
    path: str | None = None


def load_config(path: str | Path) -> CrawlConfig:
    """Read and validate a configuration file.

    Raises:
        ConfigError: the file is missing, is not TOML, or a key is wrong.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad) is not TOML
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    return parse_config(text, str(path))


def parse_config(text: str, origin: str = "<config>") -> CrawlConfig:
    """Validate configuration text (TOML); ``origin`` names it in error messages.

    Raises:
        ConfigError: not TOML, or a key is wrong.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"crawl", "source"}
    if unknown:
        raise ConfigError(f"{origin}: unknown top-level key(s) {_names(unknown)}; expected [crawl] and [[source]]")
    crawl = data.get("crawl", {})
    if not isinstance(crawl, dict):
        raise ConfigError(f"{origin}: [crawl] must be a table")
    _check_keys(crawl, CRAWL_KEYS, f"{origin}: [crawl]")
    sources_data = data.get("source", [])
    if not isinstance(sources_data, list) or not sources_data:
        raise ConfigError(f"{origin}: no [[source]] table; add one per site to crawl")
    sources = tuple(_source(s, f"{origin}: [[source]] #{i + 1}") for i, s in enumerate(sources_data))
    names = [s.name for s in sources]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"{origin}: source name(s) used twice: {_names(duplicates)}")
    where = f"{origin}: [crawl]"
    steps = _str_list(crawl, "revisit_steps", where) or tuple(DEFAULT_REVISIT_STEPS)
    parse_revisit_steps(steps, where)
    warc = crawl.get("warc", False)
    if warc is not False and not (isinstance(warc, str) and warc):
        raise ConfigError(f"{where}: warc must be a file path or false")
    if warc and not origin.startswith("<"):
        file = Path(origin).parent / warc
        if not file.parent.is_dir():
            raise ConfigError(f"{where}: warc {warc!r}: the folder {file.parent} does not exist")
        if file.is_dir():
            raise ConfigError(f"{where}: warc {warc!r} is a folder: give a file's path (crawl.warc.gz)")
    agent = _opt_str(crawl, "user_agent", where)
    for key in ("user_agent", "contact"):
        value = crawl.get(key)
        if isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ConfigError(f"{where}: {key} must be one line of text without control characters: it is sent in the "
                              f"User-Agent header of every request (got {value!r})")
    if agent is not None and not product_token(agent):
        raise ConfigError(f"{where}: user_agent must start with a product name (letters, '_' or '-', e.g. "
                          f"'mybot/1.0'): robots.txt groups are matched on it (RFC 9309) (got {agent!r})")
    return CrawlConfig(
        sources=sources,
        user_agent=agent,
        contact=_opt_str(crawl, "contact", where),
        revisit_steps=steps,
        # a relative WARC path is relative to the config file, like everything a config names
        warc=str((Path(origin).parent / warc) if warc and not origin.startswith("<") else warc) if warc else None,
        delay_secs=_number(crawl, "delay_secs", where, default=1.0, minimum=0, maximum=MAX_DELAY_SECS),
        max_new_urls_per_feed=_count(crawl, "max_new_urls_per_feed", where, DEFAULT_MAX_NEW_URLS_PER_FEED),
        max_new_urls_per_sitemap=_count(crawl, "max_new_urls_per_sitemap", where, DEFAULT_MAX_NEW_URLS_PER_SITEMAP),
        max_new_urls_per_source=_count(crawl, "max_new_urls_per_source", where, DEFAULT_MAX_NEW_URLS_PER_SOURCE),
        template_min_stories=_count(crawl, "template_min_stories", where, None),
        text=text,
        path=None if origin.startswith("<") else origin,
    )


def _source(data: Any, where: str) -> Source:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    _check_keys(data, SOURCE_KEYS, where)
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigError(f"{where}: name must be 1-64 letters, digits, '.', '_' or '-' (got {name!r})")
    where = f"{where[: where.index('[[')]}source {name!r}"
    feeds = _url_list(data, "feeds", where)
    sitemaps = _url_list(data, "sitemaps", where)
    start_urls = _url_list(data, "start_urls", where)
    if not (feeds or sitemaps or start_urls):
        raise ConfigError(f"{where}: give at least one of feeds, sitemaps or start_urls")
    depth = data.get("depth", 1)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= 10:
        raise ConfigError(f"{where}: depth must be a whole number from 0 to 10 (got {depth!r})")
    timezone = _opt_str(data, "timezone", where)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{where}: unknown timezone {timezone!r}; use an IANA name such as 'Europe/Berlin'") from exc
    allow_private = data.get("allow_private", False)
    if not isinstance(allow_private, bool):
        raise ConfigError(f"{where}: allow_private must be true or false")
    location_rule = data.get("sitemap_location_rule", True)
    if not isinstance(location_rule, bool):
        raise ConfigError(f"{where}: sitemap_location_rule must be true or false")
    since = data.get("since_days")
    if since is not None:
        since = _number(data, "since_days", where, default=None, minimum=0)
    return Source(
        name=name,
        feeds=feeds,
        sitemaps=sitemaps,
        start_urls=start_urls,
        allow=_patterns(data, "allow", where),
        deny=_patterns(data, "deny", where),
        depth=depth,
        since_days=since,
        allow_private=allow_private,
        sitemap_location_rule=location_rule,
        extract=_extract_options(data.get("extract", {}), timezone, f"{where}: [source.extract]"),
    )


def _extract_options(data: Any, timezone: str | None, where: str) -> ExtractOptions:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    _check_keys(data, EXTRACT_KEYS, where)
    include = _opt_str(data, "include", where)
    exclude = _str_list(data, "exclude", where)
    for selector in ([include] if include else []) + list(exclude):
        check_css(selector, where)
    return ExtractOptions(include=include, exclude=exclude, timezone=timezone)


def check_css(selector: str, where: str = "selector") -> None:
    """Raise :class:`ConfigError` unless ``selector`` is valid CSS (cssselect's grammar)."""
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise ConfigError(f"{where}: invalid CSS selector {selector!r}: {exc}") from exc


def _check_keys(data: dict, allowed: set[str], where: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {_names(unknown)}; allowed: {_names(allowed)}")


def _names(keys: set[str]) -> str:
    return ", ".join(sorted(keys))


def _opt_str(data: dict, key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value


def _number(data: dict, key: str, where: str, *, default, minimum: float, maximum: float = math.inf):
    """A number from ``minimum`` to ``maximum``; TOML's ``inf`` and ``nan`` are refused (a
    delay of ``inf`` would make a crawl wait for ever)."""
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not minimum <= value <= maximum:
        bound = f"from {minimum} to {maximum:g}" if math.isfinite(maximum) else f">= {minimum}"
        raise ConfigError(f"{where}: {key} must be a number {bound} (got {value!r})")
    return float(value)


def _count(data: dict, key: str, where: str, default: int | None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number >= 0 (got {value!r})")
    return value


def _str_list(data: dict, key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _url_list(data: dict, key: str, where: str) -> tuple[str, ...]:
    urls = _str_list(data, key, where)
    for url in urls:
        problem = url_problem(url)
        if problem:
            raise ConfigError(f"{where}: {key}: {problem}")
    return urls


_HOST_NAME = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?(?:\.[\w-]+)*\.?$")

#: the longest URL fetched: Scrapy's URLLENGTH_LIMIT (2083, the de facto limit of browsers
#: and servers), checked here too so that a URL given by hand fails aloud
MAX_URL_CHARS = URLLENGTH_LIMIT


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be fetched (not absolute http/https with a host, or carrying
    ``user:password@``), or ``None``. The message never shows a password: it must not
    reach a log, a failure row or a terminal."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"malformed URL {redact_credentials(url)!r}: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"not an http(s) URL: {redact_credentials(url)!r}"
    if not parts.hostname:
        return f"URL has no host: {redact_credentials(url)!r}"
    if ":" not in parts.hostname and not _HOST_NAME.match(parts.hostname):
        # "%00", "127.0.0.1%2e", "a b": no DNS name or IPv4 address looks like that
        # (RFC 3986 3.2.2 reg-name, after percent-decoding; IDN letters allowed)
        return f"URL has an invalid host name: {redact_credentials(url)!r}"
    if _SPACE.search(url.strip()):
        return f"URL contains white space: {redact_credentials(url)!r}"
    if len(url.strip()) > MAX_URL_CHARS:
        return f"URL longer than {MAX_URL_CHARS} characters (URLLENGTH_LIMIT): {redact_credentials(url)[:80]!r}..."
    if parts.username is not None or parts.password is not None:
        return (
            f"URL contains a user name or password: {redact_credentials(url)!r}; newsarchive sends no "
            "credentials (and would store them with the URL): remove them"
        )
    try:
        # what Scrapy's Request does with a URL (w3lib: WHATWG URL parsing, which refuses an
        # IPv4 address out of range, "256.1.1.1", as a URL no request can be made for)
        safe_url_string(url.strip())
    except ValueError as exc:
        return f"malformed URL {redact_credentials(url)!r}: {exc}"
    return None


_SPACE = re.compile(r"\s")  # the characters of str.isspace() (both use Py_UNICODE_ISSPACE)


def _patterns(data: dict, key: str, where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in _str_list(data, key, where):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigError(f"{where}: {key}: invalid regular expression {pattern!r}: {exc}") from exc
    return tuple(compiled)


def parse_revisit_steps(steps: tuple[str, ...] | list[str], where: str = "revisit_steps") -> list[tuple[float | None, float]]:
    """Parse ``revisit_steps`` (:func:`archive.schedule.parse_revisit_steps`).

    Raises:
        ConfigError: a step is malformed, or the ages do not grow.
    """
    try:
        return _parse_steps(steps)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
