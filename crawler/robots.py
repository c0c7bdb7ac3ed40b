"""robots.txt read as RFC 9309 says, for one crawler's product token.

Scrapy's default robots.txt parser, Protego, has no options, and three of its documented
behaviours decide differently from RFC 9309:

- it looks for a group's name anywhere in the string it is given, and as a prefix: Scrapy
  gives it the whole User-Agent header unless ``ROBOTSTXT_USER_AGENT`` is set, so a group
  named by a word of the contact string applies, and ``User-agent: news`` applies to
  ``newsarchive``. RFC 9309 2.2.1: the crawler's product token is matched, ignoring case.
- a line it does not know (``Noindex: /``) ends the ``User-agent`` lines of a group, so two
  lines that name one group start two. RFC 9309 2.2.4: other records must not interfere
  with the parsing of the records it defines.
- an allowed ``.../index.html`` also allows ``.../`` (a Google-only rule, not in RFC 9309).

The third sits in its rule builder, where no wrapper reaches it (the first two could be
worked around by rewriting the body it is given), so this module reads groups and rules
itself (:func:`robots_records`, :func:`groups`, :class:`RobotsTxt`) and
:class:`RFC9309RobotParser` plugs it into Scrapy (``ROBOTSTXT_PARSER``). It also reads the
``Sitemap:`` lines (Scrapy's ``sitemap_urls_from_robots`` keeps a byte order mark in the
first line, so a ``Sitemap:`` line there is lost). Where RFC 9309 leaves a line undecided
(a missing colon, a user-agent value with more than a product token, a partial byte order
mark), it reads it as Google's reference parser does (google/robotstxt, Apache-2.0), whose
test suite ``tests/test_robots_rfc9309.py`` ports case by case.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from scrapy.robotstxt import RobotParser
from scrapy.utils.python import to_unicode

#: RFC 9309 2.2.1: a product token is letters, "_" and "-"
_TOKEN = re.compile(r"[A-Za-z_-]+")
#: RFC 9309 2.2: NL = %x0D / %x0A / %x0D.0A
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: record keys by their spellings (Google's reference parser accepts these typos too)
_KEYS = {
    "user-agent": "user-agent", "useragent": "user-agent", "user agent": "user-agent",
    "allow": "allow",
    "disallow": "disallow", "dissallow": "disallow", "dissalow": "disallow", "disalow": "disallow",
    "diasllow": "disallow", "disallaw": "disallow",
    "sitemap": "sitemap", "site-map": "sitemap",
    "crawl-delay": "crawl-delay",
}
#: RFC 3986 2.3: unreserved characters, decoded from their percent-encoding before comparison
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: a percent-escape, or an octet that is not printable ASCII (non-ASCII, controls, space)
_OCTET = re.compile(rb"%([0-9A-Fa-f]{2})|[^\x21-\x7e]")


def robots_records(body: bytes | str) -> list[tuple[str, str]]:
    """The records of a robots.txt body, in order: ``[(key, value), ...]``.

    This is the one pre-processing step. Rules it follows:

    - bytes are UTF-8 (RFC 9309 2.3); bytes that are not UTF-8 are dropped (as Scrapy's
      ``decode_robotstxt`` does, so a partial byte order mark goes too);
    - a byte order mark (U+FEFF) at the start is not part of the first line;
    - lines end at CR, LF or CR LF (RFC 9309 2.2); ``#`` starts a comment (2.2.3);
    - a record is ``key: value``, the key case-insensitive (2.2). Known keys come back as
      ``user-agent``, ``allow``, ``disallow``, ``sitemap`` or ``crawl-delay`` (spelling
      variants included); any other key comes back lower-cased, for callers to skip
      (2.2.4). A line without a colon is a record only when it is exactly two words
      (``Disallow /``, as Google's parser reads it); white space around key and value is
      dropped; blank lines and comments are no records.
    """
    text = body.decode("utf-8", "ignore") if isinstance(body, bytes) else body
    text = text.removeprefix("\ufeff")
    records = []
    for line in _LINE_BREAK.split(text):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, colon, value = line.partition(":")
        if not colon:
            words = line.split()
            if len(words) != 2:
                continue
            key, value = words
        key = " ".join(key.lower().split())
        records.append((_KEYS.get(key, key), value.strip()))
    return records


def product_token(user_agent: str | bytes) -> str:
    """The product token of a User-Agent (``newsarchive/1.2 (+mailto:x@example.org)`` ->
    ``newsarchive``): its leading letters, ``_`` and ``-`` (RFC 9309 2.2.1, RFC 9110 10.1.5).
    ``""`` when it starts with anything else."""
    found = _TOKEN.match(to_unicode(user_agent).strip())
    return found.group() if found else ""


def is_product_token(value: str) -> bool:
    """RFC 9309 2.2.1: one or more letters, ``_`` and ``-``, nothing else."""
    return _TOKEN.fullmatch(value) is not None


def normalise(text: str) -> str:
    """A path, query or rule in the form RFC 9309 2.2.2 compares: octets outside printable
    ASCII (UTF-8 bytes, controls, space) percent-encoded; a percent-encoded unreserved
    character (RFC 3986 2.3) decoded; other escapes upper-cased. Reserved characters are
    left as they are, on both sides alike. (``á`` -> ``%C3%A1``, ``%7e`` -> ``~``,
    ``%2f`` -> ``%2F``.)"""

    def octet(found: re.Match) -> bytes:
        if found.group(1) is None:
            return b"%%%02X" % found.group()[0]
        value = int(found.group(1), 16)
        return bytes([value]) if value in _UNRESERVED else b"%" + found.group(1).upper()

    return _OCTET.sub(octet, text.encode("utf-8", "surrogatepass")).decode("ascii")


def match_path(url: str) -> str:
    """What rules are matched against: the URL's path (``/`` when empty) and query, without
    its fragment, normalised (RFC 9309 2.2.2)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query or url.partition("#")[0].endswith("?"):
        path += "?" + parts.query
    return normalise(path)


@dataclass(frozen=True)
class Rule:
    """An ``allow`` or ``disallow`` rule. ``*`` matches any characters and a final ``$``
    the end of the path (RFC 9309 2.2.3); ``length``: octets of the normalised pattern,
    the rule's weight in the longest match (2.2.2)."""

    allow: bool
    pattern: str
    length: int = field(init=False)
    anchored: bool = field(init=False)
    parts: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        text = normalise(self.pattern)
        object.__setattr__(self, "length", len(text))
        object.__setattr__(self, "anchored", text.endswith("$"))
        object.__setattr__(self, "parts", tuple(text.removesuffix("$").split("*")))

    def matches(self, path: str) -> bool:
        """Whether the rule matches a normalised path. Each literal part is found leftmost,
        which is enough for ``*`` patterns: no backtracking, whatever a robots.txt holds."""
        first, *rest = self.parts
        if not path.startswith(first):
            return False
        if not rest:
            return path == first if self.anchored else True
        at = len(first)
        for part in rest[:-1]:
            found = path.find(part, at)
            if found < 0:
                return False
            at = found + len(part)
        last = rest[-1]
        if self.anchored:
            return len(path) - len(last) >= at and path.endswith(last)
        return path.find(last, at) >= 0


@dataclass
class Group:
    """RFC 9309 2.1: one or more user-agent lines and the rules that follow them.
    ``agents``: product tokens, lower-case (``*`` for any crawler; ``""`` for a value that
    starts with no token); ``crawl_delays``: the ``Crawl-delay`` values in it, as written."""

    agents: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    crawl_delays: list[str] = field(default_factory=list)


def _agent(value: str) -> str:
    """The product token a user-agent line names: ``*``, or its leading letters, ``_`` and
    ``-`` (``FooBot/1.0`` and ``FooBot Images`` name ``foobot``, as in Google's parser)."""
    if value.split()[:1] == ["*"]:
        return "*"
    return product_token(value).lower()


def groups(records: list[tuple[str, str]]) -> list[Group]:
    """The groups of a robots.txt (RFC 9309 2.1, 2.2.4): a user-agent line after a rule
    starts a group; other records (``Sitemap``, ``Crawl-delay``, unknown ones) neither start
    nor end one; rules before the first user-agent line belong to none; empty rules are
    rules that match nothing."""
    found: list[Group] = []
    in_agents = False
    for key, value in records:
        if key == "user-agent":
            if not in_agents:
                found.append(Group())
                in_agents = True
            found[-1].agents.append(_agent(value))
        elif key in ("allow", "disallow") and found:
            in_agents = False
            if value:
                found[-1].rules.append(Rule(key == "allow", value))
        elif key == "crawl-delay" and found:
            found[-1].crawl_delays.append(value)
    return found


class _Chosen(NamedTuple):
    """The rules that apply to one product token, by their text before the first ``*``
    (only a rule whose text begins a path can match it), and its Crawl-delay."""

    by_prefix: dict[str, list[Rule]]
    longest_prefix: int
    crawl_delay: float | None


class RobotsTxt:
    """One robots.txt, parsed once, asked per product token.

    Args:
        body: the robots.txt as fetched (bytes) or text.
    """

    def __init__(self, body: bytes | str) -> None:
        records = robots_records(body)
        self.records = records
        self.groups = groups(records)
        self._chosen: dict[str, _Chosen] = {}

    def sitemaps(self, base_url: str = "") -> list[str]:
        """The ``Sitemap:`` URLs, wherever they stand (RFC 9309 2.2.4), resolved against
        ``base_url``."""
        return [urljoin(base_url, value) for key, value in self.records if key == "sitemap" and value]

    def _rules(self, token: str) -> _Chosen:
        """The rules of every group that names ``token`` (ignoring case), else of every
        ``*`` group, combined (RFC 9309 2.2.1); and their largest valid Crawl-delay."""
        token = token.lower()
        if token not in self._chosen:
            chosen = [g for g in self.groups if token and token in g.agents]
            chosen = chosen or [g for g in self.groups if "*" in g.agents]
            by_prefix: dict[str, list[Rule]] = {}
            for rule in (r for g in chosen for r in g.rules):
                by_prefix.setdefault(rule.parts[0], []).append(rule)
            delays = [d for d in (_seconds(v) for g in chosen for v in g.crawl_delays) if d is not None]
            self._chosen[token] = _Chosen(by_prefix, max(map(len, by_prefix), default=0), max(delays, default=None))
        return self._chosen[token]

    def allowed(self, url: str, token: str) -> bool:
        """Whether the crawler of product ``token`` may fetch ``url`` (RFC 9309 2.2.2): the
        matching rule with the most octets decides, ``allow`` on a tie; no matching rule,
        or ``/robots.txt`` itself (2.2.2), is allowed. Only the rules whose text before
        the first ``*`` begins the path are tried, however many rules there are."""
        path = match_path(url)
        if path == "/robots.txt":
            return True
        chosen = self._rules(token)
        best: tuple[int, bool] | None = None
        for end in range(min(len(path), chosen.longest_prefix) + 1):
            for rule in chosen.by_prefix.get(path[:end], ()):
                if rule.matches(path) and (best is None or (rule.length, rule.allow) > best):
                    best = (rule.length, rule.allow)
        return best is None or best[1]

    def crawl_delay(self, token: str) -> float | None:
        """Seconds between requests asked of ``token`` (``Crawl-delay``, not in RFC 9309;
        the largest of the groups that apply), or ``None``."""
        return self._rules(token).crawl_delay


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class RFC9309RobotParser(RobotParser):
    """Scrapy's ``ROBOTSTXT_PARSER`` backend over :class:`RobotsTxt`. The user agent Scrapy
    asks about (``ROBOTSTXT_USER_AGENT``, else the request's User-Agent header) is reduced
    to its product token, so no other word of it ever names a group."""

    def __init__(self, body: bytes) -> None:
        self.robots = RobotsTxt(body)

    @classmethod
    def from_crawler(cls, crawler, robotstxt_body: bytes) -> RFC9309RobotParser:
        return cls(robotstxt_body)

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return self.robots.allowed(to_unicode(url), product_token(user_agent))

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return self.robots.crawl_delay(product_token(user_agent))
