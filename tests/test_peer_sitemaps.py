"""crawler-commons' sitemap tests as a peer suite, through one real crawl (issue 14).

The cases (``tests/peer_sitemaps.py``: Apache-2.0, crawler-commons/crawler-commons at
8e14e27, credited there) are served by loopback servers, one per origin a case names, and
read by one ``scrapy crawl news`` with a source per case. Each case must fetch exactly the
URLs its Java test says the sitemap yields, or, where newsarchive differs, what the case's
``expect`` says and ``why`` (listed by :func:`test_every_difference_from_crawler_commons_says_why`).
"""

from __future__ import annotations

import gzip
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.battery import config_toml, scrapy_crawl, source_toml
from tests.hostile import HostileServer
from tests.peer_sitemaps import CASES, PEER, Case, origins_of, plain_body

#: every loopback address may be fetched (cases span hosts); no timeouts tested here, so none
#: that a loaded machine trips
SETTINGS = {"ARCHIVE_ALLOW_PRIVATE": "True", "DOWNLOAD_TIMEOUT": "15"}

pytestmark = pytest.mark.skipif(not PEER.is_dir(), reason=f"needs crawler-commons' test files at {PEER}")


class Served:
    """One case on its loopback servers: URLs rewritten there and back."""

    def __init__(self, case: Case, index: int) -> None:
        self.case = case
        plain = plain_body(case)
        self.servers: dict[str, HostileServer] = {}
        for n, origin in enumerate(origins_of(case, plain)):
            self.servers[origin] = HostileServer(f"127.2.{index}.{n + 1}", name=f"cc-{index}-{n}").start()
        body = self.local(plain)
        if case.body[:2] == b"\x1f\x8b":
            body = gzip.compress(body)
        parts = urlsplit(case.url)
        self.target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.sitemap = self.local(case.url)
        self.servers[self.origin(case.url)].fixture(self.target, body, content_type=case.content_type)
        for origin, robots in case.robots.items():
            self.servers[origin].robots = ("body", self.local(robots))

    @staticmethod
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def local(self, value):
        """``value`` (str or bytes) with each origin of the case replaced by its server's."""
        for origin, server in self.servers.items():
            if isinstance(value, bytes):
                value = value.replace(origin.encode(), server.base_url.encode())
            else:
                value = value.replace(origin, server.base_url)
        return value

    def source(self, name: str) -> str:
        return source_toml(name, sitemaps=[self.local(self.case.entry or self.case.url)], sitemap_location_rule=self.case.location_rule)

    def fetched(self) -> set[str]:
        """What the crawl fetched, in the case's own URLs (robots.txt and the sitemap aside)."""
        found = set()
        for origin, server in self.servers.items():
            for path in server.paths():
                if path == "/robots.txt" or (server is self.servers[self.origin(self.case.url)] and path == self.target):
                    continue
                found.add(origin + path)
        return found

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    served = []
    try:
        for index, case in enumerate(CASES):
            served.append(Served(case, index))
        config = config_toml(*(s.source(f"cc-{i}") for i, s in enumerate(served)))
        run = scrapy_crawl(tmp_path_factory.mktemp("peer"), config, settings=SETTINGS)
    finally:
        for s in served:
            s.stop()
    assert not run.crash_signs(), run.crash_signs()
    return run, {s.case.test: s for s in served}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.test for c in CASES])
def test_crawler_commons_case(suite, case):
    run, served = suite
    s = served[case.test]
    assert s.fetched() == {urldefrag(u)[0] for u in case.expected}
    kinds = {r["kind"] for r in run.rows("SELECT kind FROM failures WHERE url = ?", [s.sitemap])}
    assert kinds == ({case.failure} if case.failure else set())
    assert not [p for server in s.servers.values() for p in server.paths() if "do-not-visit" in p]


def test_the_suite_ports_every_sitemap_file_and_thirty_cases():
    files = {p.relative_to(PEER / "src/test/resources/sitemaps").as_posix() for p in (PEER / "src/test/resources/sitemaps").rglob("*") if p.is_file()}
    used = {"do-not-visit.txt"}  # the XXE and XInclude cases' target
    for case in CASES:
        for name in files:
            if name.rsplit("/", 1)[-1] in case.test or case.body == (PEER / "src/test/resources/sitemaps" / name).read_bytes():
                used.add(name)
    assert used == files
    assert len(CASES) >= 30


def test_every_difference_from_crawler_commons_says_why():
    differ = [c for c in CASES if c.java is not None and c.expected != c.java]
    assert all(c.why for c in differ)
    assert sorted(c.test for c in differ) == [
        "SiteMapParserTest.testAtomFormat",
        "SiteMapParserTest.testMissingLocSitemapIndexFile",
        "SiteMapParserTest.testPartialSitemapIndicesAllowed",
        "SiteMapParserTest.testSitemapTXTfilterUrls",
        "SiteMapParserTest.testSitemapXMLfilterUrls",
        "SiteMapParserTest.testUnclosedSitemapIndexFile/1",
        "SiteMapParserTest.testUnclosedSitemapIndexFile/2",
    ]
