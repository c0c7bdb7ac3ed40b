"""Sitemaps per sitemaps.org and bounded discovery queues (issue 14, problems 2, 3 and 5).

Each problem of the issue has a test here that failed before the fix: most run through one
real crawl (``scrapy crawl news``, :func:`tests.battery.scrapy_crawl`) against
:class:`tests.hostile.HostileServer` sites on loopback, one site per scenario; unit tests
pin the reader's rules (:mod:`crawler.discovery`) and the config keys. The peer suite
ported from crawler-commons is ``tests/test_peer_sitemaps.py``.
"""

from __future__ import annotations

import gzip
import json
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from crawler.config import ConfigError, parse_config
from crawler.discovery import FEEDPARSER_MAX_BYTES, SitemapError, in_location, read_sitemap, stream_feed
from crawler.spiders.base import MAX_STORED_HEADER_FIELDS, capped_headers
from tests.battery import config_toml, scrapy_crawl, source_toml
from tests.hostile import HostileServer, story_html

URLSET = '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>'
INDEX = '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</sitemapindex>'
XML = "application/xml"
#: every loopback address may be fetched (cases span hosts); no timeouts tested here, so none
#: that a loaded machine trips
SETTINGS = {"ARCHIVE_ALLOW_PRIVATE": "True", "DOWNLOAD_TIMEOUT": "15"}


def urlset(*locs: str, lastmods: list[str] | None = None) -> bytes:
    entries = "".join(
        f"<url><loc>{loc}</loc>{f'<lastmod>{lastmods[i]}</lastmod>' if lastmods else ''}</url>" for i, loc in enumerate(locs)
    )
    return URLSET.format(entries).encode()


# -- the reader (unit) ---------------------------------------------------------------------------


def test_bom_and_white_space_before_the_xml_declaration_keep_every_ampersand():
    """Problem 2: libxml2's recovery, used after "XML declaration allowed only at the start",
    dropped ``&amp;`` from every <loc>."""
    body = "\ufeff\n \t\r\n".encode() + urlset("http://x.example/p?a=1&amp;b=2")
    assert [e.loc for e in read_sitemap(body).entries] == ["http://x.example/p?a=1&b=2"]


def test_a_sitemap_that_is_not_well_formed_is_refused_not_repaired():
    broken = URLSET.format("<url><!-- not valid --></url><url><loc>http://x.example/a</loc></url><!-- no opening --></url>").encode()
    with pytest.raises(SitemapError, match="not well-formed XML"):
        read_sitemap(broken)


def test_text_sitemaps_one_url_per_line():
    sitemap = read_sitemap(b"\xef\xbb\xbfhttp://x.example/a\r\n\n  https://x.example/b?c=1&d=2  \nnot a url\n")
    assert sitemap.kind == "text"
    assert [e.loc for e in sitemap.entries] == ["http://x.example/a", "https://x.example/b?c=1&d=2"]
    assert sitemap.skipped == {"not_url": 1}
    with pytest.raises(SitemapError, match="neither XML nor a text sitemap"):
        read_sitemap(b"this is a bogus sitemap")


def test_every_loc_of_an_index_entry_with_the_lastmod_after_it():
    body = INDEX.format(
        "<sitemap><loc>http://x.example/1.xml</loc><lastmod>2004-10-01</lastmod>"
        "<loc>http://x.example/2.xml</loc><loc>http://x.example/3.xml</loc><lastmod>2005-11-02</lastmod></sitemap>"
    ).encode()
    entries = read_sitemap(body).entries
    assert [(e.loc, e.lastmod) for e in entries] == [
        ("http://x.example/1.xml", "2004-10-01"), ("http://x.example/2.xml", None), ("http://x.example/3.xml", "2005-11-02")]


def test_bare_urls_and_locs_that_hold_markup_are_counted_not_read():
    body = INDEX.format(
        "<sitemap>\nhttp://x.example/bare.xml\n</sitemap>"
        "<sitemap><loc><url>http://x.example/nested.xml</url></loc></sitemap>"
        "<sitemap><loc>http://x.example/good.xml</loc></sitemap>"
    ).encode()
    sitemap = read_sitemap(body)
    assert [e.loc for e in sitemap.entries] == ["http://x.example/good.xml"]
    assert sitemap.skipped == {"bare_url": 1, "bad_loc": 1}


def test_an_unexpanded_entity_never_shortens_a_url():
    body = ('<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + URLSET.split("?>", 1)[1].format("<url><loc>http://x.example/a?q=&e;</loc></url><url><loc>http://x.example/b</loc></url>")).encode()
    sitemap = read_sitemap(body)
    assert [e.loc for e in sitemap.entries] == ["http://x.example/b"]
    assert sitemap.skipped == {"bad_loc": 1}


@pytest.mark.parametrize(
    ("url", "sitemap", "inside"),
    [  # sitemaps.org, "Sitemap file location", and crawler-commons' testFileLocationValidation
        ("http://example.com/catalog/show?item=233&user=3453", "http://example.com/catalog/sitemap.xml", True),
        ("http://example.com/image/show?item=233&user=3453", "http://example.com/catalog/sitemap.xml", False),
        ("https://example.com/catalog/page1.php", "http://example.com/catalog/sitemap.xml", False),
        ("https://example.com/catalog/page1.php", "https://example.com/index.php?route=path/sitemap", True),
        ("http://example.com:8080/a", "http://example.com/sitemap.xml", False),
        ("http://EXAMPLE.com:80/a", "http://example.com/sitemap.xml", True),
        ("http://www.example.com/a", "http://example.com/sitemap.xml", False),
    ],
)
def test_location_rule(url, sitemap, inside):
    assert in_location(url, sitemap) is inside


def test_a_large_feed_is_read_entry_by_entry_as_far_as_it_is_well_formed():
    body = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>A</title>'
            b'<link rel="edit" href="http://x.example/edit"/><link href="http://x.example/a"/>'
            b"<published>2024-05-01T10:00:00Z</published><updated>2024-05-02T10:00:00Z</updated></entry>"
            b"<entry><link href='http://x.example/b'/></entry><entry><link href='http://x.example/c'/></entr")
    problems: list[str] = []
    entries = list(stream_feed(body, problems))
    assert entries == [
        {"title": "A", "link": "http://x.example/a", "published": "2024-05-01T10:00:00Z", "updated": "2024-05-02T10:00:00Z"},
        {"link": "http://x.example/b"},
    ]
    assert problems and problems[0].startswith("not well-formed XML")


def test_caps_are_config_keys_with_defaults():
    base = '[[source]]\nname = "a"\nfeeds = ["https://a.example/feed"]\n'
    config = parse_config(base)
    assert (config.max_new_urls_per_feed, config.max_new_urls_per_sitemap, config.max_new_urls_per_source) == (1000, 1000, 3000)
    assert config.sources[0].sitemap_location_rule is True
    config = parse_config("[crawl]\nmax_new_urls_per_feed = 0\nmax_new_urls_per_source = 7\n" + base + "sitemap_location_rule = false\n")
    assert (config.max_new_urls_per_feed, config.max_new_urls_per_source, config.sources[0].sitemap_location_rule) == (0, 7, False)
    for bad in ("max_new_urls_per_sitemap = -1", "max_new_urls_per_sitemap = 1.5", "max_new_urls_per_feed = true"):
        with pytest.raises(ConfigError, match="whole number >= 0"):
            parse_config(f"[crawl]\n{bad}\n" + base)
    with pytest.raises(ConfigError, match="sitemap_location_rule must be true or false"):
        parse_config(base + 'sitemap_location_rule = "no"\n')


def test_headers_are_capped_keeping_what_the_archive_reads():
    headers = {f"X-Junk-{i}": "v" * 30 for i in range(10_000)} | {"ETag": '"abc"', "Content-Type": "text/html"}
    kept, warning = capped_headers(headers)
    assert len(kept) == MAX_STORED_HEADER_FIELDS and kept["ETag"] == '"abc"' and kept["Content-Type"] == "text/html"
    assert warning.startswith(f"headers_truncated: {MAX_STORED_HEADER_FIELDS} of 10002 header fields stored")
    small = {"ETag": '"abc"'}
    assert capped_headers(small) == (small, None)
    huge = {"Content-Security-Policy": "x" * 200_000}
    kept, warning = capped_headers(huge)
    assert len(kept["Content-Security-Policy"]) < 70_000 and warning


# -- one crawl, one loopback site per scenario ---------------------------------------------------


class Scenario:
    """What the crawl did on one site."""

    def __init__(self, server: HostileServer) -> None:
        self.server = server

    def fetched(self, prefix: str = "/page/") -> list[str]:
        return [p for p in self.server.paths() if p.startswith(prefix)]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    work = tmp_path_factory.mktemp("sitemaps")
    servers: dict[str, HostileServer] = {}
    sources = []
    hosts = iter(f"127.0.0.{n}" for n in range(150, 200))

    def site(name: str, robots: str = "User-agent: *\nAllow: /\n") -> HostileServer:
        server = HostileServer(next(hosts), name=name, robots=robots).start()
        servers[name] = server
        return server

    try:
        # 2: a BOM and white space before <?xml
        s = site("bom")
        body = "\ufeff\n \t\r\n".encode() + urlset(*(s.url(f"/page/p?a=1&amp;b={i}") for i in range(5)))
        sources.append(source_toml("bom", sitemaps=[s.fixture("/sitemap.xml", body, content_type=XML)]))
        # 2: a sitemap that is not well-formed
        s = site("broken")
        body = URLSET.format(f"<url><!-- not valid --></url><url><loc>{s.url('/page/in-broken')}</loc></url><!-- x --></url>").encode()
        sources.append(source_toml("broken", sitemaps=[s.fixture("/sitemap.xml", body, content_type=XML)]))
        # 3: text sitemaps: .txt, .txt.gz, and text at a .xml URL labelled XML
        s = site("text")
        txt = s.fixture("/sitemap.txt", f"{s.url('/page/t1')}\n{s.url('/page/t2')}\n".encode(), content_type="text/plain")
        txt_gz = s.fixture("/sitemap.txt.gz", gzip.compress(f"{s.url('/page/g1')}\n{s.url('/page/g2')}\n".encode()), content_type="application/gzip")
        txt_xml = s.fixture("/text-sitemap.xml", f"{s.url('/page/x1')}\n".encode(), content_type=XML)
        sources.append(source_toml("text", sitemaps=[txt, txt_gz, txt_xml]))
        # 3: the location rule: another folder, another host
        s, other = site("location"), site("elsewhere")
        body = urlset(s.url("/news/page/in"), s.url("/page/other-folder"), other.url("/page/other-host"))
        sources.append(source_toml("location", sitemaps=[s.fixture("/news/sitemap.xml", body, content_type=XML)]))
        # 3: ... unless the host's robots.txt lists the sitemap (read by the robots.txt middleware)
        s = site("listed")
        s.robots = ("body", f"User-agent: *\nAllow: /\nSitemap: {s.url('/sitemaps/index.xml')}\n")
        child = s.fixture("/sitemaps/news.xml", urlset(s.url("/page/listed")), content_type=XML)
        index = s.fixture("/sitemaps/index.xml", INDEX.format(f"<sitemap><loc>{child}</loc></sitemap>").encode(), content_type=XML)
        sources.append(source_toml("listed", sitemaps=[index]))
        # 3: ... or the source turns the rule off
        s = site("rule-off")
        body = urlset(s.url("/page/off"))
        sources.append(source_toml("rule-off", sitemaps=[s.fixture("/sm/sitemap.xml", body, content_type=XML)], sitemap_location_rule=False))
        # 3: several <loc> in one <sitemap>; bare URLs in <sitemap>
        s = site("index")
        children = [s.fixture(f"/child-{n}.xml", urlset(s.url(f"/page/child-{n}")), content_type=XML) for n in range(3)]
        body = INDEX.format(
            f"<sitemap><loc>{children[0]}</loc><loc>{children[1]}</loc></sitemap>"
            f"<sitemap>\n{children[2]}\n</sitemap><sitemap>{s.url('/bare-2.xml')}</sitemap>"
        ).encode()
        sources.append(source_toml("index", sitemaps=[s.fixture("/index.xml", body, content_type=XML)]))
        # 3: an index chain deeper than 10
        s = site("deep")
        for n in range(13):
            s.fixture(f"/deep-{n}.xml", INDEX.format(f"<sitemap><loc>{s.url(f'/deep-{n + 1}.xml')}</loc></sitemap>").encode(), content_type=XML)
        sources.append(source_toml("deep", sitemaps=[s.url("/deep-0.xml")]))
        # 5: 10,000 response headers
        s = site("headers")
        s.fixture("/page/many-headers", story_html("Many headers"), headers=[(f"X-Junk-{i}", "v" * 30) for i in range(10_000)])
        s.links = ["/page/many-headers"]
        sources.append(source_toml("headers", feeds=[s.url("/feed.xml")]))

        run = scrapy_crawl(work, config_toml(*sources), settings=SETTINGS)
    finally:
        for server in servers.values():
            server.stop()
    assert not run.crash_signs(), run.crash_signs()
    return run, {name: Scenario(server) for name, server in servers.items()}


@pytest.mark.slow
def test_problem_2_ampersands_survive_a_bom_and_white_space(crawl):
    run, sites = crawl
    assert sorted(sites["bom"].fetched()) == [f"/page/p?a=1&b={i}" for i in range(5)]
    assert run.rows("SELECT kind FROM failures WHERE site = 'bom'") == []


@pytest.mark.slow
def test_problem_2_a_broken_sitemap_is_a_bad_sitemap_failure(crawl):
    run, sites = crawl
    assert sites["broken"].fetched() == []
    (row,) = run.rows("SELECT kind, message FROM failures WHERE site = 'broken'")
    assert row["kind"] == "bad_sitemap" and "not well-formed XML" in row["message"]


@pytest.mark.slow
def test_problem_3_text_sitemaps_are_read(crawl):
    run, sites = crawl
    assert sorted(sites["text"].fetched()) == ["/page/g1", "/page/g2", "/page/t1", "/page/t2", "/page/x1"]
    assert run.rows("SELECT kind FROM failures WHERE site = 'text'") == []


@pytest.mark.slow
def test_problem_3_urls_outside_the_sitemaps_location_are_dropped_with_a_count(crawl):
    run, sites = crawl
    assert sites["location"].fetched("/news/page/") == ["/news/page/in"]
    assert sites["location"].fetched() == [] and sites["elsewhere"].fetched() == []
    (row,) = run.rows("SELECT url, kind, message FROM failures WHERE site = 'location' AND kind <> 'http_error'")
    assert row["kind"] == "sitemap_skipped" and row["url"].endswith("/news/sitemap.xml")
    assert row["message"] == "2 URL(s) outside the sitemap's location dropped (sitemaps.org location rule)"


@pytest.mark.slow
def test_problem_3_a_sitemap_its_hosts_robots_txt_lists_may_list_the_whole_host(crawl):
    run, sites = crawl
    assert sites["listed"].fetched() == ["/page/listed"]
    assert run.rows("SELECT kind FROM failures WHERE site = 'listed'") == []


@pytest.mark.slow
def test_problem_3_sitemap_location_rule_false_turns_the_rule_off(crawl):
    assert crawl[1]["rule-off"].fetched() == ["/page/off"]


@pytest.mark.slow
def test_problem_3_every_loc_of_an_index_entry_and_bare_urls_counted(crawl):
    run, sites = crawl
    requested = sites["index"].server.paths()
    assert "/child-0.xml" in requested and "/child-1.xml" in requested
    assert "/child-2.xml" not in requested and "/bare-2.xml" not in requested
    assert sorted(sites["index"].fetched()) == ["/page/child-0", "/page/child-1"]
    (row,) = run.rows("SELECT url, kind, message FROM failures WHERE site = 'index'")
    assert row["kind"] == "sitemap_skipped" and row["url"].endswith("/index.xml")
    assert row["message"] == "2 entries with a bare URL and no <loc> (sitemaps.org requires <loc>)"


@pytest.mark.slow
def test_problem_3_an_index_chain_cut_at_depth_10_leaves_a_failure(crawl):
    run, sites = crawl
    requested = [p for p in sites["deep"].server.paths() if p.startswith("/deep-")]
    assert requested == [f"/deep-{n}.xml" for n in range(11)]
    (row,) = run.rows("SELECT url, kind, message FROM failures WHERE site = 'deep'")
    assert row["kind"] == "sitemap_skipped" and row["url"].endswith("/deep-10.xml")
    assert row["message"] == "index chain cut at depth 10: 1 sitemap(s) not read"


@pytest.mark.slow
def test_problem_5_ten_thousand_response_headers_are_capped_with_a_warning(crawl):
    run, _ = crawl
    (capture,) = run.rows("SELECT response_headers, warnings FROM captures WHERE url LIKE '%/page/many-headers'")
    headers = json.loads(capture["response_headers"])
    assert len(headers) == MAX_STORED_HEADER_FIELDS and "Content-Type" in headers
    assert len(capture["response_headers"]) < 20_000
    (warning,) = json.loads(capture["warnings"])
    assert warning.startswith("headers_truncated: 200 of 1000")


# -- caps: two runs --------------------------------------------------------------------------------


def rss(items: list[tuple[str, datetime]]) -> bytes:
    entries = "".join(f"<item><title>{link}</title><link>{link}</link><pubDate>{format_datetime(when)}</pubDate></item>" for link, when in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link><description>d</description>{entries}</channel></rss>'.encode()


BIG = 20_000  # entries of a feed over FEEDPARSER_MAX_BYTES


@pytest.mark.slow
def test_problem_5_caps_queue_the_newest_and_leave_the_rest_to_the_next_run(tmp_path):
    """A feed of 10 and two sitemaps of 8, capped at 3 per feed, 4 per sitemap and 6 per
    source: the newest go first, the rest wait in the frontier, which the next run takes up
    first, newest first, within the per-source cap."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    order = [4, 9, 0, 7, 2, 5, 8, 1, 6, 3]  # document order of the stories' ages (hours)
    with HostileServer("127.0.0.201", name="feed") as feed, HostileServer("127.0.0.202", name="maps") as maps, \
            HostileServer("127.0.0.203", name="big") as big:
        feed_url = feed.fixture("/feed.rss", rss([(feed.url(f"/page/f{age}"), now - timedelta(hours=age)) for age in order]),
                                content_type="application/rss+xml")
        # over FEEDPARSER_MAX_BYTES: read entry by entry, the newest last in the document
        big_body = rss([(big.url(f"/page/b{i}"), now - timedelta(minutes=BIG - i)) for i in range(BIG)])
        assert len(big_body) > FEEDPARSER_MAX_BYTES
        big_url = big.fixture("/big.rss", big_body, content_type="application/rss+xml")
        sitemaps = []
        for n in range(2):
            ages = order[:8]
            body = urlset(*(maps.url(f"/page/s{n}-{age}") for age in ages),
                          lastmods=[(now - timedelta(hours=age)).isoformat() for age in ages])
            sitemaps.append(maps.fixture(f"/sitemap-{n}.xml", body, content_type=XML))
        config = config_toml(source_toml("feed", feeds=[feed_url]), source_toml("maps", sitemaps=sitemaps),
                             source_toml("big", feeds=[big_url])).replace(
            "[crawl]\n", "[crawl]\nmax_new_urls_per_feed = 3\nmax_new_urls_per_sitemap = 4\nmax_new_urls_per_source = 6\n"
        ).replace('revisit_steps = ["*=0s"]', 'revisit_steps = ["*=1d"]')  # the second run re-checks nothing
        first = scrapy_crawl(tmp_path, config, settings=SETTINGS)
        first_feed = [p for p in feed.paths() if p.startswith("/page/")]
        first_maps = [p for p in maps.paths() if p.startswith("/page/")]
        failures = first.rows("SELECT site, url, kind, message FROM failures ORDER BY id")
        stats = first.stats()
        second = scrapy_crawl(tmp_path, config, settings=SETTINGS)
        second_feed = [p for p in feed.paths() if p.startswith("/page/")][len(first_feed):]
        big_fetched = [p for p in big.paths() if p.startswith("/page/")]
    assert not first.crash_signs() and not second.crash_signs()
    assert sorted(first_feed) == ["/page/f0", "/page/f1", "/page/f2"]
    assert sorted(second_feed) == ["/page/f3", "/page/f4", "/page/f5", "/page/f6", "/page/f7", "/page/f8"]
    assert len(first_maps) == 6
    for n in range(2):
        mine = sorted(int(p.rsplit("-", 1)[1]) for p in first_maps if p.startswith(f"/page/s{n}-"))
        assert len(mine) <= 4 and mine == sorted(order[:8])[: len(mine)]  # the newest of that sitemap
    feed_row = next(f for f in failures if f["site"] == "feed")
    assert feed_row["kind"] == "feed_skipped" and feed_row["message"].startswith("7 URL(s) over the cap not queued in this run")
    map_rows = [f for f in failures if f["site"] == "maps"]
    assert {f["kind"] for f in map_rows} == {"sitemap_skipped"} and len(map_rows) == 2
    assert sum(int(f["message"].split()[0]) for f in map_rows) == 16 - 6
    assert stats["discovery/over_cap/feed"] == 7 and stats["discovery/over_cap/maps"] == 10
    # the large feed: streamed, the 3 newest fetched in the first run, the 6 next from the frontier in the second
    assert stats["discovery/feed_streamed"] == 1 and stats["discovery/over_cap/big"] == BIG - 3
    assert sorted(big_fetched) == sorted(f"/page/b{BIG - n}" for n in range(1, 10))
    big_row = next(f for f in failures if f["site"] == "big")
    assert big_row["kind"] == "feed_skipped" and big_row["message"].startswith(f"{BIG - 3} URL(s) over the cap")
