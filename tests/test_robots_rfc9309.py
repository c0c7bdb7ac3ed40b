"""robots.txt to the letter of RFC 9309, with Google's robots.txt test suite as a peer suite.

The cases of ``robots_test.cc`` from google/robotstxt (commit 22b355ff855419e6a3ff8ff09c0ad7fdb17116f9,
Copyright 2019 Google LLC, Apache License 2.0; a copy is in
``../shared/data/peer-suites/google-robotstxt/``) are ported here case by case: the
robots.txt, the user agent, the URL and Google's expected answer of every ``EXPECT_*``, under
the name of its Google test. The cases are ported, not the code.

Each decision case goes through the real downloader middleware
(:class:`crawler.politeness.RobotsTxtRFC9309Middleware`, built with Scrapy's ``get_crawler``
from the project's settings, ``ROBOTSTXT_USER_AGENT`` set to the case's user agent, the
robots.txt handed to it as the engine's download). Where Google's answer and RFC 9309's
differ, RFC 9309 decides: each such case carries its reason (``Case.why``), and
:func:`test_the_google_only_differences_are_these` pins the list. Where RFC 9309 leaves a
line open (a missing colon, ``User-agent: Foo Bar``, a partial byte order mark), Google's
reading is kept, and the case says so in a comment. Cases about Google's own
helpers (a product token's validity, the path a URL is matched by, pattern escaping, line
and byte-order-mark counting, ``Sitemap:`` lines) are ported onto this project's
equivalents. A selection (:data:`REAL_CRAWL`) also runs through a real crawl against
loopback servers, one origin per robots.txt, with the agent's name replaced by
``newsarchive``.

The problems of issue 14 item 1 each have a test here that failed before
``crawler/robots.py`` came in (``test_issue14_*``, and for the ``Sitemap:`` line after a
byte order mark, :func:`test_a_sitemap_line_after_a_byte_order_mark_is_followed_in_a_real_crawl`).
"""

from __future__ import annotations

import asyncio
import re
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from crawler.politeness import RobotsTxtRFC9309Middleware
from crawler.robots import RobotsTxt, match_path, normalise, robots_records
from tests.battery import config_toml, scrapy_crawl, source_toml
from tests.hostile import HostileServer
from tests.pages import DATA

PEER = DATA / "peer-suites" / "google-robotstxt" / "robots_test.cc"
PROJECT = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
KNOWN = {"user-agent", "allow", "disallow", "sitemap"}


# -- the real middleware ----------------------------------------------------------------------


class _Engine:
    """The one thing the middleware asks of the engine: the robots.txt download."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requested: list[str] = []

    async def download_async(self, request: Request) -> Response:
        self.requested.append(request.url)
        return Response(request.url, status=200, body=self.body, headers={"Content-Type": "text/plain"}, request=request)


def middleware(robots: str | bytes, **settings: object) -> RobotsTxtRFC9309Middleware:
    """The project's robots.txt middleware as a crawl builds it, serving ``robots``."""
    crawler = get_crawler(settings_dict={**PROJECT, **settings})
    crawler.engine = _Engine(robots.encode() if isinstance(robots, str) else robots)
    return RobotsTxtRFC9309Middleware.from_crawler(crawler)


def allowed(robots: str | bytes, agent: str | None, url: str, **settings: object) -> bool:
    """Whether the middleware lets a request for ``url`` through (``agent``: the
    ``ROBOTSTXT_USER_AGENT``; ``None`` keeps the project's)."""
    if agent is not None:
        settings["ROBOTSTXT_USER_AGENT"] = agent
    mw = middleware(robots, **settings)

    async def check() -> bool:
        try:
            await mw.process_request(Request(url))
        except IgnoreRequest:
            return False
        return True

    verdict = asyncio.run(check())
    assert mw.crawler.engine.requested == [re.sub(r"^(\w+://[^/]+).*$", r"\1/robots.txt", url)]
    return verdict


def test_the_project_runs_this_middleware_with_this_parser():
    assert PROJECT["DOWNLOADER_MIDDLEWARES"]["crawler.politeness.RobotsTxtRFC9309Middleware"] == 100
    assert PROJECT["DOWNLOADER_MIDDLEWARES"]["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert PROJECT["ROBOTSTXT_PARSER"] == "crawler.robots.RFC9309RobotParser"
    assert PROJECT["ROBOTSTXT_USER_AGENT"] == "newsarchive"


# -- Google's cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One ``EXPECT_*`` of Google's suite: ``google`` is its answer; ``rfc`` RFC 9309's where it
    differs, and ``why``."""

    test: str
    robots: str
    agent: str
    url: str
    google: bool
    rfc: bool | None = None
    why: str = ""

    @property
    def expected(self) -> bool:
        return self.google if self.rfc is None else self.rfc

    @property
    def id(self) -> str:
        return f"{self.test}[{self.agent}:{self.url[:60]}]"


CASES: list[Case] = []


def cases(test: str, robots: str, agent: str, *expectations: tuple[str, bool]) -> None:
    for url, google in expectations:
        CASES.append(Case(test, robots, agent, url, google))


def differs(test: str, robots: str, agent: str, url: str, google: bool, why: str) -> None:
    """A case that RFC 9309 decides the other way."""
    CASES.append(Case(test, robots, agent, url, google, rfc=not google, why=why))


# ID_LineSyntax_Line (the missing colon is Google's reading; RFC 9309 leaves such a line open)
cases("ID_LineSyntax_Line", "user-agent: FooBot\ndisallow: /\n", "FooBot", ("http://foo.bar/x/y", False))
cases("ID_LineSyntax_Line", "foo: FooBot\nbar: /\n", "FooBot", ("http://foo.bar/x/y", True))
cases("ID_LineSyntax_Line", "user-agent FooBot\ndisallow /\n", "FooBot", ("http://foo.bar/x/y", False))

GROUPS = ("allow: /foo/bar/\n\nuser-agent: FooBot\ndisallow: /\nallow: /x/\nuser-agent: BarBot\ndisallow: /\nallow: /y/\n"
          "\n\nallow: /w/\nuser-agent: BazBot\n\nuser-agent: FooBot\nallow: /z/\ndisallow: /\n")
cases("ID_LineSyntax_Groups", GROUPS, "FooBot", ("http://foo.bar/x/b", True), ("http://foo.bar/z/d", True),
      ("http://foo.bar/y/c", False), ("http://foo.bar/foo/bar/", False))
cases("ID_LineSyntax_Groups", GROUPS, "BarBot", ("http://foo.bar/y/c", True), ("http://foo.bar/w/a", True),
      ("http://foo.bar/z/d", False), ("http://foo.bar/foo/bar/", False))
cases("ID_LineSyntax_Groups", GROUPS, "BazBot", ("http://foo.bar/z/d", True), ("http://foo.bar/foo/bar/", False))

for robots in ("User-agent: BarBot\nSitemap: https://foo.bar/sitemap\nUser-agent: *\nDisallow: /\n",
               "User-agent: FooBot\nInvalid-Unknown-Line: unknown\nUser-agent: *\nDisallow: /\n"):
    for agent in ("FooBot", "BarBot"):
        cases("ID_LineSyntax_Groups_OtherRules", robots, agent, ("http://foo.bar/", False))

for robots in ("USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n", "user-agent: FooBot\nallow: /x/\ndisallow: /\n",
               "uSeR-aGeNt: FooBot\nAlLoW: /x/\ndIsAlLoW: /\n"):
    cases("ID_REPLineNamesCaseInsensitive", robots, "FooBot", ("http://foo.bar/x/y", True), ("http://foo.bar/a/b", False))

# "FOO BAR" is no product token: RFC 9309 leaves the line open; it names "foo" as in Google's parser
for value in ("FOO BAR", "foo bar", "FoO bAr"):
    for agent in ("Foo", "foo"):
        cases("ID_UserAgentValueCaseInsensitive", f"User-Agent: {value}\nAllow: /x/\nDisallow: /\n", agent,
              ("http://foo.bar/x/y", True), ("http://foo.bar/a/b", False))

# the same reading (the agent "Foo Bar" is no product token: see NOT_PORTED)
cases("GoogleOnly_AcceptUserAgentUpToFirstSpace", "User-Agent: *\nDisallow: /\nUser-Agent: Foo Bar\nAllow: /x/\nDisallow: /\n",
      "Foo", ("http://foo.bar/x/y", True))

GLOBAL = "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n"
cases("ID_GlobalGroups_Secondary", "", "FooBot", ("http://foo.bar/x/y", True))
cases("ID_GlobalGroups_Secondary", GLOBAL, "FooBot", ("http://foo.bar/x/y", False))
cases("ID_GlobalGroups_Secondary", GLOBAL, "BarBot", ("http://foo.bar/x/y", True))
cases("ID_GlobalGroups_Secondary", "user-agent: FooBot\nallow: /\nuser-agent: BarBot\ndisallow: /\nuser-agent: BazBot\ndisallow: /\n",
      "QuxBot", ("http://foo.bar/x/y", True))

cases("ID_AllowDisallow_Value_CaseSensitive", "user-agent: FooBot\ndisallow: /x/\n", "FooBot", ("http://foo.bar/x/y", False))
cases("ID_AllowDisallow_Value_CaseSensitive", "user-agent: FooBot\ndisallow: /X/\n", "FooBot", ("http://foo.bar/x/y", True))

for robots, expectations in [
    ("disallow: /x/page.html\nallow: /x/\n", [("http://foo.bar/x/page.html", False)]),
    ("allow: /x/page.html\ndisallow: /x/\n", [("http://foo.bar/x/page.html", True), ("http://foo.bar/x/", False)]),
    ("disallow: \nallow: \n", [("http://foo.bar/x/page.html", True)]),
    ("disallow: /\nallow: /\n", [("http://foo.bar/x/page.html", True)]),
    ("disallow: /x\nallow: /x/\n", [("http://foo.bar/x", False), ("http://foo.bar/x/", True)]),
    ("disallow: /x/page.html\nallow: /x/page.html\n", [("http://foo.bar/x/page.html", True)]),
    ("allow: /page\ndisallow: /*.html\n", [("http://foo.bar/page.html", False), ("http://foo.bar/page", True)]),
    ("allow: /x/page.\ndisallow: /*.html\n", [("http://foo.bar/x/page.html", True), ("http://foo.bar/x/y.html", False)]),
]:
    cases("ID_LongestMatch", "user-agent: FooBot\n" + robots, "FooBot", *expectations)
cases("ID_LongestMatch", "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n", "FooBot",
      ("http://foo.bar/x/page", True), ("http://foo.bar/y/page", False))

ENCODING = "User-agent: FooBot\nDisallow: /\nAllow: {}\n"
WHY_ENCODE = "RFC 9309 2.2.2: octets of the URI outside US-ASCII are percent-encoded before comparison (Scrapy's Request does it)"
cases("ID_Encoding", ENCODING.format("/foo/bar?qux=taz&baz=http://foo.bar?tar&par"), "FooBot",
      ("http://foo.bar/foo/bar?qux=taz&baz=http://foo.bar?tar&par", True))
cases("ID_Encoding", ENCODING.format("/foo/bar/ツ"), "FooBot", ("http://foo.bar/foo/bar/%E3%83%84", True))
differs("ID_Encoding", ENCODING.format("/foo/bar/ツ"), "FooBot", "http://foo.bar/foo/bar/ツ", False, WHY_ENCODE)
cases("ID_Encoding", ENCODING.format("/foo/bar/%E3%83%84"), "FooBot", ("http://foo.bar/foo/bar/%E3%83%84", True))
differs("ID_Encoding", ENCODING.format("/foo/bar/%E3%83%84"), "FooBot", "http://foo.bar/foo/bar/ツ", False, WHY_ENCODE)
differs("ID_Encoding", ENCODING.format("/foo/bar/%62%61%7A"), "FooBot", "http://foo.bar/foo/bar/baz", False,
        "RFC 9309 2.2.2: a percent-encoded unreserved character is decoded before comparison "
        "(its table: /foo/bar/%62%61%7A is matched as /foo/bar/baz), in the rule as in the URI")
cases("ID_Encoding", ENCODING.format("/foo/bar/%62%61%7A"), "FooBot", ("http://foo.bar/foo/bar/%62%61%7A", True))

cases("ID_SpecialCharacters", "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n", "FooBot",
      ("http://foo.bar/foo/bar/quz", False), ("http://foo.bar/foo/quz", True), ("http://foo.bar/foo//quz", True),
      ("http://foo.bar/foo/bax/quz", True))
cases("ID_SpecialCharacters", "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n", "FooBot",
      ("http://foo.bar/foo/bar", False), ("http://foo.bar/foo/bar/qux", True), ("http://foo.bar/foo/bar/", True),
      ("http://foo.bar/foo/bar/baz", True))
cases("ID_SpecialCharacters", "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n", "FooBot",
      ("http://foo.bar/foo/bar", True), ("http://foo.bar/foo/quz", False))

INDEX = "User-Agent: *\nAllow: /allowed-slash/index.html\nDisallow: /\n"
differs("GoogleOnly_IndexHTMLisDirectory", INDEX, "foobot", "http://foo.com/allowed-slash/", True,
        "not in RFC 9309: an allowed /dir/index.html allows only that path, never /dir/ (2.2.2: the longest match is /)")
cases("GoogleOnly_IndexHTMLisDirectory", INDEX, "foobot", ("http://foo.com/allowed-slash/index.htm", False),
      ("http://foo.com/allowed-slash/index.html", True), ("http://foo.com/anyother-url", False))

MAX_LINE = 2083 * 8
LONG = "/x/" + "a" * (MAX_LINE - len("/x/") - len("disallow: ") + 1 - len("/x/"))
WHY_LONG = "Google cuts lines after 16,664 bytes; RFC 9309 limits a robots.txt to 500 KiB (2.5), not a line"
cases("GoogleOnly_LineTooLong", f"user-agent: FooBot\ndisallow: {LONG}/qux\n", "FooBot", ("http://foo.bar/fux", True))
differs("GoogleOnly_LineTooLong", f"user-agent: FooBot\ndisallow: {LONG}/qux\n", "FooBot", f"http://foo.bar{LONG}/fux", False, WHY_LONG)
LONG_A = "/x/" + "a" * (MAX_LINE - len("/x/") - len("allow: ") + 1 - len("/x/"))
LONG_B = LONG_A.replace("a", "b")
TWO_LONG = f"user-agent: FooBot\ndisallow: /\nallow: {LONG_A}/qux\nallow: {LONG_B}/qux\n"
cases("GoogleOnly_LineTooLong", TWO_LONG, "FooBot", ("http://foo.bar/", False), (f"http://foo.bar{LONG_A}/qux", True))
differs("GoogleOnly_LineTooLong", TWO_LONG, "FooBot", f"http://foo.bar{LONG_B}/fux", True, WHY_LONG)

DOC = "user-agent: FooBot\ndisallow: /\nallow: {}\n"
for pattern, odd in (("/fish", "Fish.asp"), ("/fish*", "Fish.bar")):
    cases("GoogleOnly_DocumentationChecks", DOC.format(pattern), "FooBot",
          *[(f"http://foo.bar/{p}", ok) for p, ok in [
              ("bar", False), ("fish", True), ("fish.html", True), ("fish/salmon.html", True), ("fishheads", True),
              ("fishheads/yummy.html", True), ("fish.html?id=anything", True), (odd, False), ("catfish", False),
              ("?id=fish", False)]])
cases("GoogleOnly_DocumentationChecks", DOC.format("/fish/"), "FooBot",
      *[(f"http://foo.bar/{p}", ok) for p, ok in [
          ("bar", False), ("fish/", True), ("fish/salmon", True), ("fish/?salmon", True), ("fish/salmon.html", True),
          ("fish/?id=anything", True), ("fish", False), ("fish.html", False), ("Fish/Salmon.html", False)]])
cases("GoogleOnly_DocumentationChecks", DOC.format("/*.php"), "FooBot",
      *[(f"http://foo.bar/{p}", ok) for p, ok in [
          ("bar", False), ("filename.php", True), ("folder/filename.php", True), ("folder/filename.php?parameters", True),
          ("/folder/any.php.file.html", True), ("filename.php/", True), ("index?f=filename.php/", True), ("php/", False),
          ("index?php", False), ("windows.PHP", False)]])
cases("GoogleOnly_DocumentationChecks", DOC.format("/*.php$"), "FooBot",
      *[(f"http://foo.bar/{p}", ok) for p, ok in [
          ("bar", False), ("filename.php", True), ("folder/filename.php", True), ("filename.php?parameters", False),
          ("filename.php/", False), ("filename.php5", False), ("php/", False), ("filename?php", False),
          ("aaaphpaaa", False), ("/windows.PHP", False)]])
cases("GoogleOnly_DocumentationChecks", DOC.format("/fish*.php"), "FooBot",
      ("http://foo.bar/bar", False), ("http://foo.bar/fish.php", True),
      ("http://foo.bar/fishheads/catfish.php?parameters", True), ("http://foo.bar/Fish.PHP", False))
cases("GoogleOnly_DocumentationChecks", "user-agent: FooBot\nallow: /p\ndisallow: /\n", "FooBot", ("http://example.com/page", True))
cases("GoogleOnly_DocumentationChecks", "user-agent: FooBot\nallow: /folder\ndisallow: /folder\n", "FooBot",
      ("http://example.com/folder/page", True))
cases("GoogleOnly_DocumentationChecks", "user-agent: FooBot\nallow: /page\ndisallow: /*.htm\n", "FooBot",
      ("http://example.com/page.htm", False))
cases("GoogleOnly_DocumentationChecks", "user-agent: FooBot\nallow: /$\ndisallow: /\n", "FooBot",
      ("http://example.com/", True), ("http://example.com/page.html", False))

#: ID_LinesNumbersAreCountedCorrectly's files (Unix, DOS, Mac, no final newline, mixed)
LINE_FILES = {
    "unix": "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /\n",
    "dos": "User-Agent: foo\r\nAllow: /some/path\r\nUser-Agent: bar\r\n\r\n\r\nDisallow: /\r\n",
    "mac": "User-Agent: foo\rAllow: /some/path\rUser-Agent: bar\r\r\rDisallow: /\r",
    "no-final-newline": "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /",
    "mixed": "User-Agent: foo\nAllow: /some/path\r\nUser-Agent: bar\n\r\n\nDisallow: /",
}
# ... and what they decide (each line ending is RFC 9309's NL): foo's group allows, bar's disallows
for body in LINE_FILES.values():
    cases("ID_LinesNumbersAreCountedCorrectly", body, "foo", ("http://foo.bar/x", True))
    cases("ID_LinesNumbersAreCountedCorrectly", body, "bar", ("http://foo.bar/x", False))

#: Google's decisions this project does not port: why, and how many
NOT_PORTED = {
    "GoogleOnly_SystemTest: an empty URL or an empty user agent": ("a crawl asks about absolute URLs, for a product token", 4),
    "GoogleOnly_AcceptUserAgentUpToFirstSpace: the agent 'Foo Bar'": ("not a product token: the middleware refuses it", 1),
}
#: and of its helper tests
NOT_PORTED_HELPERS = {
    "TestGetPathParamsQuery: the empty URL and URLs without a scheme": ("Scrapy's requests carry absolute URLs", 13),
    "ID_VerifyValidUserAgentsToObey: a null string_view": ("C++ only: the same as the empty string", 1),
}


@pytest.mark.scenario(10)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_google_case_through_the_middleware(case):
    assert allowed(case.robots, case.agent, case.url) is case.expected


def test_the_google_only_differences_are_these():
    """Each case where Google's answer is not RFC 9309's, with the reason (README lists them)."""

    def short(text: str) -> str:  # a run of one character as "a{16649}"
        return re.sub(r"(.)\1{9,}", lambda m: f"{m.group(1)}{{{len(m.group())}}}", text)

    differing = [c for c in CASES if c.rfc is not None]
    assert sorted((c.test, short(c.robots.splitlines()[-1]), short(c.url), c.rfc) for c in differing) == [
        ("GoogleOnly_IndexHTMLisDirectory", "Disallow: /", "http://foo.com/allowed-slash/", False),
        ("GoogleOnly_LineTooLong", "allow: /x/b{16652}/qux", "http://foo.bar/x/b{16652}/fux", False),
        ("GoogleOnly_LineTooLong", "disallow: /x/a{16649}/qux", "http://foo.bar/x/a{16649}/fux", True),
        ("ID_Encoding", "Allow: /foo/bar/%62%61%7A", "http://foo.bar/foo/bar/baz", True),
        ("ID_Encoding", "Allow: /foo/bar/%E3%83%84", "http://foo.bar/foo/bar/ツ", True),
        ("ID_Encoding", "Allow: /foo/bar/ツ", "http://foo.bar/foo/bar/ツ", True),
    ]
    assert all(c.why.startswith(("RFC 9309", "not in RFC 9309", "Google")) for c in differing)


def test_the_port_covers_the_peer_suite():
    """Every decision of Google's file (an ``EXPECT_*`` of ``IsUserAgentAllowed``; the file
    has no loops) is ported, or listed in :data:`NOT_PORTED`."""
    if not PEER.exists():
        pytest.skip(f"Google's suite is not here ({PEER}): ../shared is absent")
    google = len(re.findall(r"EXPECT_(?:TRUE|FALSE)\(\s*IsUserAgentAllowed", PEER.read_text()))
    ours = len([c for c in CASES if c.test != "ID_LinesNumbersAreCountedCorrectly"])  # those are added decisions
    assert google == ours + sum(n for _, n in NOT_PORTED.values())


# -- Google's helper tests, ported onto this project's equivalents ----------------------------


@pytest.mark.parametrize(
    ("token", "valid"),
    [("Foobot", True), ("Foobot-Bar", True), ("Foo_Bar", True), ("", None), ("ツ", False), ("Foobot*", False),
     (" Foobot ", False), ("Foobot/2.1", False), ("Foobot Bar", False)],
)
def test_ID_VerifyValidUserAgentsToObey_through_the_middleware(token, valid):
    """A ``ROBOTSTXT_USER_AGENT`` that is not a product token is refused when the crawl
    starts (``""``: unset, the request's User-Agent is reduced to its product token)."""
    if valid is False:
        with pytest.raises(ValueError, match="product token"):
            middleware("", ROBOTSTXT_USER_AGENT=token)
    else:
        assert middleware("", ROBOTSTXT_USER_AGENT=token)._robotstxt_useragent == token


@pytest.mark.parametrize("name", list(LINE_FILES))
def test_ID_LinesNumbersAreCountedCorrectly(name):
    records = robots_records(LINE_FILES[name])
    assert [k for k, _ in records] == ["user-agent", "allow", "user-agent", "disallow"]


@pytest.mark.parametrize(
    ("body", "known", "unknown"),
    [
        (b"\xef\xbb\xbfUser-Agent: foo\nAllow: /AnyValue\n", 2, 0),
        (b"\xef\xbbUser-Agent: foo\nAllow: /AnyValue\n", 2, 0),  # partial BOM (Google: skipped too)
        (b"\xefUser-Agent: foo\nAllow: /AnyValue\n", 2, 0),
        (b"\xef\x11\xbfUser-Agent: foo\nAllow: /AnyValue\n", 1, 1),  # broken: the first line is garbage
        (b"User-Agent: foo\n\xef\xbb\xbfAllow: /AnyValue\n", 1, 1),  # only at the start
    ],
)
def test_ID_UTF8ByteOrderMarkIsSkipped(body, known, unknown):
    records = robots_records(body)
    assert (sum(k in KNOWN for k, _ in records), sum(k not in KNOWN for k, _ in records)) == (known, unknown)


@pytest.mark.parametrize("sitemap_first", [False, True])
def test_ID_NonStandardLineExample_Sitemap(sitemap_first):
    rest = "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\n"
    line = "Sitemap: http://foo.bar/sitemap.xml\n"
    robots = RobotsTxt(line + rest if sitemap_first else rest + line)
    assert robots.sitemaps() == ["http://foo.bar/sitemap.xml"]


@pytest.mark.parametrize(
    ("url", "path"),
    [("http://www.example.com", "/"), ("http://www.example.com/", "/"), ("http://www.example.com/a", "/a"),
     ("http://www.example.com/a/", "/a/"), ("http://www.example.com/a/b?c=http://d.e/", "/a/b?c=http://d.e/"),
     ("http://www.example.com/a/b?c=d&e=f#fragment", "/a/b?c=d&e=f")],
)
def test_TestGetPathParamsQuery(url, path):
    assert match_path(url) == path


@pytest.mark.parametrize(
    ("pattern", "escaped"),
    [("http://www.example.com", "http://www.example.com"), ("/a/b/c", "/a/b/c"), ("á", "%C3%A1"), ("%aa", "%AA")],
)
def test_TestMaybeEscapePattern(pattern, escaped):
    assert normalise(pattern) == escaped


# -- issue 14, item 1: each failed before ------------------------------------------------------

CONTACT_UA = "newsarchive/1.0 (+mailto:ops@example.org)"


def test_issue14_a_group_named_by_a_word_of_the_contact_string_does_not_apply():
    """The whole User-Agent was matched: ``example`` (from the contact) opened the site."""
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: example\nAllow: /\n"
    assert allowed(robots, None, "http://a.test/page", USER_AGENT=CONTACT_UA) is False
    # and with ROBOTSTXT_USER_AGENT unset, the request's User-Agent is cut to its product token
    assert allowed(robots, "", "http://a.test/page", USER_AGENT=CONTACT_UA) is False


def test_issue14_a_group_named_by_a_prefix_of_the_token_does_not_apply():
    robots = "User-agent: news\nDisallow: /\n"
    assert allowed(robots, None, "http://a.test/page", USER_AGENT=CONTACT_UA) is True


def test_issue14_the_product_token_matches_its_group_ignoring_case():
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: NewsArchive\nAllow: /open/\nDisallow: /\n"
    assert allowed(robots, None, "http://a.test/open/page", USER_AGENT=CONTACT_UA) is True
    assert allowed(robots, None, "http://a.test/closed", USER_AGENT=CONTACT_UA) is False


def test_issue14_an_unknown_line_does_not_split_consecutive_user_agent_lines():
    robots = "User-agent: newsarchive\nNoindex: /\nUser-agent: *\nDisallow: /\n"
    assert allowed(robots, None, "http://a.test/page", USER_AGENT=CONTACT_UA) is False


def test_issue14_an_allowed_index_html_does_not_allow_its_folder():
    robots = "User-agent: *\nAllow: /dir/index.html\nDisallow: /\n"
    assert allowed(robots, None, "http://a.test/dir/", USER_AGENT=CONTACT_UA) is False
    assert allowed(robots, None, "http://a.test/dir/index.html", USER_AGENT=CONTACT_UA) is True


def test_issue14_a_byte_order_mark_is_not_part_of_the_first_line():
    body = b"\xef\xbb\xbfUser-agent: newsarchive\nDisallow: /\n"
    assert allowed(body, None, "http://a.test/page", USER_AGENT=CONTACT_UA) is False
    body = b"\xef\xbb\xbfSitemap: http://a.test/first.xml\nUser-agent: *\nAllow: /\nSitemap: /second.xml\n"
    assert RobotsTxt(body).sitemaps("http://a.test/robots.txt") == ["http://a.test/first.xml", "http://a.test/second.xml"]


def test_crawl_delay_is_read_for_the_product_token_only():
    robots = "User-agent: *\nCrawl-delay: 2\nDisallow: /x\n\nUser-agent: example\nCrawl-delay: 30\nDisallow: /y\n"
    mw = middleware(robots, USER_AGENT=CONTACT_UA)
    asyncio.run(mw.process_request(Request("http://a.test/page")))
    parser = mw._parsers["http://a.test"]
    assert parser.crawl_delay(CONTACT_UA) == 2.0
    assert parser.crawl_delay("newsarchive") == 2.0


def test_a_crawl_delay_between_user_agent_lines_does_not_split_the_group():
    """Crawl-delay is not an RFC 9309 record: like any other, it does not end a group."""
    robots = RobotsTxt("User-agent: other\nCrawl-delay: 5\nUser-agent: *\nDisallow: /p\n")
    assert [g.agents for g in robots.groups] == [["other", "*"]]
    assert (robots.crawl_delay("newsarchive"), robots.allowed("http://a.test/p", "other")) == (5.0, False)


def test_robots_txt_itself_is_always_allowed():
    """RFC 9309 2.2.2: the /robots.txt URI is implicitly allowed."""
    robots = RobotsTxt("User-agent: *\nDisallow: /\n")
    assert (robots.allowed("http://a.test/robots.txt", "newsarchive"), robots.allowed("http://a.test/robots.txt.bak", "newsarchive")) == (True, False)


def test_http_and_https_of_one_host_each_have_their_own_robots_txt():
    """RFC 9309 2.3: the rules apply to the protocol, host and port they were fetched from
    (Scrapy's middleware keeps one per host: an http Disallow applied to https, and an
    unreachable https robots.txt skipped the http site)."""

    class PerScheme(_Engine):
        async def download_async(self, request: Request) -> Response:
            self.requested.append(request.url)
            body = b"User-agent: *\nDisallow: /\n" if request.url.startswith("http:") else b"User-agent: *\nAllow: /\n"
            return Response(request.url, status=200, body=body, headers={"Content-Type": "text/plain"}, request=request)

    mw = middleware("")
    mw.crawler.engine = PerScheme(b"")

    async def verdicts() -> list[bool]:
        found = []
        for url in ("http://a.test/story", "https://a.test/story", "http://a.test:8080/story", "http://a.test/other"):
            try:
                await mw.process_request(Request(url))
                found.append(True)
            except IgnoreRequest:
                found.append(False)
        return found

    assert asyncio.run(verdicts()) == [False, True, False, False]
    assert mw.crawler.engine.requested == ["http://a.test/robots.txt", "https://a.test/robots.txt", "http://a.test:8080/robots.txt"]


def test_a_hostile_pattern_is_matched_in_linear_time():
    """Many wildcards never backtrack (a regular expression would)."""
    robots = "User-agent: *\nDisallow: /" + "*a" * 2000 + "b\n"
    assert allowed(robots, None, "http://a.test/" + "a" * 5000) is True


# -- real crawls -------------------------------------------------------------------------------

#: Google tests whose robots.txt and agent are crawled for real (one origin each)
REAL_CRAWL = [
    ("ID_LineSyntax_Line", "FooBot"), ("ID_LineSyntax_Groups", "FooBot"), ("ID_LineSyntax_Groups", "BarBot"),
    ("ID_LineSyntax_Groups", "BazBot"), ("ID_LineSyntax_Groups_OtherRules", "FooBot"),
    ("ID_REPLineNamesCaseInsensitive", "FooBot"), ("ID_UserAgentValueCaseInsensitive", "Foo"),
    ("ID_GlobalGroups_Secondary", "FooBot"), ("ID_GlobalGroups_Secondary", "BarBot"),
    ("ID_AllowDisallow_Value_CaseSensitive", "FooBot"), ("ID_LongestMatch", "FooBot"),
    ("ID_SpecialCharacters", "FooBot"), ("GoogleOnly_IndexHTMLisDirectory", "foobot"),
    ("GoogleOnly_DocumentationChecks", "FooBot"), ("ID_LinesNumbersAreCountedCorrectly", "bar"),
]
#: issue 14's own cases, crawled with the battery's contact (mailto:archive@example.org)
ISSUE_ORIGINS = {
    "contact-word": ("User-agent: *\nDisallow: /\n\nUser-agent: example\nAllow: /\n", {"/page/a": False}),
    "contact-word-2": ("User-agent: *\nDisallow: /\n\nUser-agent: archive\nAllow: /\n", {"/page/a": False}),
    "token-prefix": ("User-agent: news\nDisallow: /\n", {"/page/a": True}),
    "noindex": ("User-agent: newsarchive\nNoindex: /\nUser-agent: *\nDisallow: /\n", {"/page/a": False}),
    "index-html": ("User-agent: *\nAllow: /dir/index.html\nDisallow: /\n", {"/dir/": False, "/dir/index.html": True}),
}


def _origins() -> list[tuple[str, str, dict[str, bool]]]:
    """(name, robots.txt with the agent renamed newsarchive, {path: allowed})."""
    found = []
    for test, agent in REAL_CRAWL:
        mine = [c for c in CASES if (c.test, c.agent) == (test, agent)]
        assert mine, (test, agent)
        by_robots: dict[str, dict[str, bool]] = {}
        for c in mine:
            by_robots.setdefault(c.robots, {})[re.sub(r"^\w+://[^/]+", "", c.url)] = c.expected
        for n, (robots, paths) in enumerate(by_robots.items()):
            renamed = re.sub(rf"(?i)(?<![\w-]){re.escape(agent)}(?![\w-])", "newsarchive", robots)
            found.append((f"{test}-{agent}-{n}".lower().replace("_", "-"), renamed, paths))
    return found + [(name, robots, paths) for name, (robots, paths) in ISSUE_ORIGINS.items()]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    origins = _origins()
    with ExitStack() as stack:
        # the feed is on a host of its own: many of these robots.txt disallow /feed.xml too
        hub = stack.enter_context(HostileServer("127.0.0.149", name="hub"))
        servers, sources = {}, [source_toml("hub", feeds=[hub.url("/feed.xml")])]
        for n, (name, robots, paths) in enumerate(origins):
            server = stack.enter_context(HostileServer(f"127.0.0.{150 + n}", name=name[:60], robots=robots))
            hub.links += [server.url(p) for p in paths]
            servers[name] = server
        # a robots.txt with a byte order mark and a Sitemap: line first, read as a sitemap
        bom = stack.enter_context(HostileServer(f"127.0.0.{150 + len(origins)}", name="bom-sitemap"))
        bom.set_robots("bytes", f"\ufeffSitemap: {bom.url('/sitemap.xml')}\nUser-agent: *\nAllow: /\n".encode())
        bom.fixture("/sitemap.xml", (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                     f"<url><loc>{bom.url('/page/from-the-bom-sitemap')}</loc></url></urlset>").encode(),
                    content_type="application/xml")
        sources.append(source_toml("bom", sitemaps=[bom.url("/robots.txt")]))
        # the hub's feed links to the other loopback hosts: the CLI's --allow-private lets it
        run = scrapy_crawl(tmp_path_factory.mktemp("robots"), config_toml(*sources), settings={"ARCHIVE_ALLOW_PRIVATE": "True"})
        for server in [*servers.values(), bom]:
            server.wait_idle(2)
    return run, origins, servers, bom


@pytest.mark.slow
@pytest.mark.scenario(10)
def test_google_and_issue14_cases_in_a_real_crawl(crawled):
    run, origins, servers, _ = crawled
    assert run.returncode == 0, run.stderr[-2000:]
    wrong = {}
    for name, _, paths in origins:
        fetched = {p for p in servers[name].paths() if p != "/robots.txt"}
        expected = {p for p, ok in paths.items() if ok}
        if fetched != expected:
            wrong[name] = (sorted(fetched), sorted(expected))
    assert wrong == {}
    # Google's decisions crawled for real (the README gives this figure)
    assert sum(len(paths) for name, _, paths in origins if name not in ISSUE_ORIGINS) == 123
    # a disallowed page is a failure of kind robots
    server = servers["index-html"]
    assert run.failures()[server.url("/dir/")] == ["robots"]


@pytest.mark.slow
def test_a_sitemap_line_after_a_byte_order_mark_is_followed_in_a_real_crawl(crawled):
    _, _, _, bom = crawled
    assert "/sitemap.xml" in bom.paths()
    assert "/page/from-the-bom-sitemap" in bom.paths()
