"""Spider traps: rules for the links a crawl follows and the URLs discovery accepts.

A site can offer endless distinct URLs: a calendar whose "next month" never ends, a
relative link that nests a path for ever (``/a/a/a/...``), a session id in every link,
URLs thousands of characters long. A crawl must end all the same. The rules here (after
Heritrix's decide rules and canonicalisation rules) are applied to links found on section
pages; the depth (``depth`` of a source, Scrapy's ``DEPTH_LIMIT``) and URL length
(Scrapy's ``URLLENGTH_LIMIT``, 2083) are Scrapy's; the budgets are
:data:`FOLLOW_MAX_PER_HOST` links followed per host and :data:`SITEMAPS_MAX_PER_SOURCE`
sitemaps per source, per run (the spiders count).

- :func:`trap_reason`: more than 20 path segments (Heritrix
  ``TooManyPathSegmentsDecideRule``), or a segment (or run of segments) repeated more than twice in a row
  (Heritrix ``PathologicalPathDecideRule``, default ``max-repetitions`` 2).
- :func:`strip_session_ids`: session ids are removed from a link before it is requested
  (Heritrix ``StripSessionIDs``), so that the same page under a new session id is a
  duplicate that Scrapy's filter drops.

Credentials in URLs (``user:password@``) are removed or hidden by :mod:`archive.urls`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_PATH_SEGMENTS = 20
MAX_SEGMENT_REPEATS = 2
#: links followed from section pages per host and run (a calendar never ends; a news site's
#: home and section pages link a few hundred stories)
FOLLOW_MAX_PER_HOST = 2000
#: sitemaps (indexes, urlsets, robots.txt) read per source and run
SITEMAPS_MAX_PER_SOURCE = 1000

# path parameters and query arguments that carry a session id (Heritrix StripSessionIDs)
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#;]*", re.IGNORECASE)
_SESSION_NAMES = frozenset({"jsessionid", "phpsessid", "sessionid", "session_id", "cfid", "cftoken", "zenid", "oscsid"})
_SESSION_PREFIXES = ("aspsessionid",)
# "sid" and "s" are session ids only when they look like one (16+ hex/alphanumeric characters):
# elsewhere they are content ids
_TOKEN_NAMES = frozenset({"sid", "s"})
_TOKEN = re.compile(r"^[0-9A-Za-z]{16,}$")
# Heritrix's PathologicalPathDecideRule: ".*?/(.*?/)\1{N,}.*" (a run of one or more segments)
_REPEATED = re.compile(r"/(.+?/)\1{%d,}" % MAX_SEGMENT_REPEATS)


def trap_reason(url: str) -> str | None:
    """Why following ``url`` is a trap (``too_many_segments``, ``repeated_segment``), or ``None``."""
    path = urlsplit(url).path
    segments = [s for s in path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        return "too_many_segments"
    if _REPEATED.search(path if path.endswith("/") else path + "/"):
        return "repeated_segment"
    return None


def _is_session(name: str, value: str) -> bool:
    lower = name.lower()
    if lower in _SESSION_NAMES or lower.startswith(_SESSION_PREFIXES):
        return True
    return lower in _TOKEN_NAMES and bool(_TOKEN.match(value))


def strip_session_ids(url: str) -> str:
    """``url`` without session ids (``;jsessionid=...``, ``PHPSESSID=``, ``sid=<token>``, ...);
    other query arguments keep their order and spelling.

    >>> strip_session_ids("http://x.example/a;jsessionid=AB12?id=7&PHPSESSID=0123456789abcdef0123")
    'http://x.example/a?id=7'
    """
    parts = urlsplit(url)
    path = _PATH_SESSION.sub("", parts.path)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_session(k, v)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if path == parts.path and query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))
