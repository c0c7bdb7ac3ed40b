"""newsarchive's downloader middlewares, one at a time, as Scrapy tests its own: a crawler from
``get_crawler``, plain requests and responses, no network and no crawl.

(robots.txt is tested elsewhere; tests/test_reliability_rules.py has the redirect headers,
the shared redirect budget and credentials in a Location.)
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from datetime import datetime, timezone
from types import SimpleNamespace

import brotli
import pytest
import twisted.internet
from scrapy import Request, signals
from scrapy.core.downloader import Slot
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import HtmlResponse, Response
from scrapy.resolver import dnscache
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from crawler.errors import HostDeferred, OffsiteRedirect, PrivateAddressRefused
from crawler.middlewares import (
    AliasKeepingRedirectMiddleware,
    ArchiveMetaRefreshMiddleware,
    LoggedRetryMiddleware,
    PrivateAddressGuard,
    TruncatedEncodingMiddleware,
    encoded_stream_complete,
    non_public_reason,
)
from crawler.politeness import HostPacing, retry_after_secs
from crawler.spiders.news import NewsSpider
from crawler.spiders.urls import UrlsSpider

try:
    from compression import zstd
except ImportError:  # Python < 3.14: the backport Scrapy decodes with
    from backports import zstd

CONFIG = """
[[source]]
name = "daily"
feeds = ["http://news.example/feed.xml"]

[[source]]
name = "lab"
start_urls = ["http://127.0.0.5:8000/"]
allow_private = true
"""


def crawler_for(spidercls, tmp_path=None, settings=None, **spider_kwargs):
    """A crawler whose spider exists (a NewsSpider reads CONFIG)."""
    crawler = get_crawler(spidercls, settings)
    if spidercls is NewsSpider:
        (tmp_path / "sources.toml").write_text(CONFIG)
        spider_kwargs["config"] = str(tmp_path / "sources.toml")
    crawler.spider = spidercls(**spider_kwargs)  # NewsSpider.from_crawler would set frozen settings
    return crawler


# -- PrivateAddressGuard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "special-purpose"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
        ("8.8.8.8", None), ("::ffff:8.8.8.8", None), ("2606:4700::1111", None),
    ],
)
def test_non_public_reason(address, reason):
    assert non_public_reason(address) == reason


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "0.0.0.0", "::", "64:ff9b::7f00:1"])
def test_link_local_unspecified_and_nat64_addresses_are_not_public(address):
    assert non_public_reason(address) is not None


def test_from_crawler_reads_the_setting_and_the_spiders_declarations(tmp_path):
    assert PrivateAddressGuard.from_crawler(crawler_for(UrlsSpider, settings={"ARCHIVE_ALLOW_PRIVATE": True})).allow_all
    assert PrivateAddressGuard.from_crawler(crawler_for(UrlsSpider, allow_private="1")).allow_all
    assert not PrivateAddressGuard.from_crawler(crawler_for(UrlsSpider)).allow_all
    guard = PrivateAddressGuard.from_crawler(crawler_for(NewsSpider, tmp_path))
    assert (guard.allow_all, guard.private_hosts) == (False, {"127.0.0.5"})  # only the source that allows it


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://10.0.0.1:8080/a", "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8000/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://127.0.0.6:8000/"],
)
def test_non_public_literal_addresses_are_refused(tmp_path, url):
    crawler = crawler_for(NewsSpider, tmp_path)  # 127.0.0.5 is allowed, no other address
    guard = build_from_crawler(PrivateAddressGuard, crawler)
    with pytest.raises(PrivateAddressRefused, match="allow_private"):
        asyncio.run(guard.process_request(Request(url)))
    assert crawler.stats.get_value("guard/refused") == 1


@pytest.mark.parametrize(
    ("url", "settings"),
    [("http://93.184.216.34/a", None), ("http://[2606:4700::1111]/", None),
     ("http://127.0.0.5:8000/story", None), ("http://127.0.0.1/", {"ARCHIVE_ALLOW_PRIVATE": True})],
)
def test_public_addresses_private_hosts_and_allow_private_pass(tmp_path, url, settings):
    crawler = crawler_for(NewsSpider, tmp_path, settings)
    guard = build_from_crawler(PrivateAddressGuard, crawler)
    assert asyncio.run(guard.process_request(Request(url))) is None
    assert crawler.stats.get_value("guard/refused") is None


@pytest.fixture
def resolver(monkeypatch):
    """The reactor's resolver, stubbed: host name -> address (missing: DNSLookupError); the
    names asked are kept in ``resolver.asked``. Scrapy's DNS cache is a fresh one."""
    answers: dict[str, str] = {}
    asked: list[str] = []

    def getHostByName(name, timeout=None):  # Twisted's IResolverSimple
        asked.append(name)
        return defer.succeed(answers[name]) if name in answers else defer.fail(DNSLookupError(name))

    monkeypatch.setattr(twisted.internet, "reactor", SimpleNamespace(resolver=SimpleNamespace(getHostByName=getHostByName)), raising=False)
    monkeypatch.setattr("crawler.middlewares.dnscache", type(dnscache)(100))
    return SimpleNamespace(answers=answers, asked=asked)


def test_a_name_resolving_to_a_private_address_is_refused(resolver):
    resolver.answers.update({"intranet.example": "10.0.0.7", "127.1": "127.0.0.1"})
    guard = PrivateAddressGuard()
    with pytest.raises(PrivateAddressRefused, match=r"intranet\.example is a private address \(10\.0\.0\.7\)"):
        asyncio.run(guard.process_request(Request("http://intranet.example/")))
    with pytest.raises(PrivateAddressRefused, match="loopback"):  # not a dotted quad: resolved like a name
        asyncio.run(guard.process_request(Request("http://127.1/")))


def test_a_public_name_is_resolved_once_and_pinned_in_scrapys_dns_cache(resolver):
    from crawler import middlewares

    resolver.answers["news.example"] = "93.184.216.34"
    guard = PrivateAddressGuard()
    for path in ("a", "b"):
        assert asyncio.run(guard.process_request(Request(f"http://news.example/{path}"))) is None
    resolver.answers["news.example"] = "127.0.0.1"  # DNS rebinding: the pinned answer stays
    assert asyncio.run(guard.process_request(Request("http://news.example/c"))) is None
    assert resolver.asked == ["news.example"]
    assert middlewares.dnscache["news.example"] == guard.pinned["news.example"] == "93.184.216.34"
    # a name that does not resolve is let through: the download fails with Scrapy's DNS error
    assert asyncio.run(guard.process_request(Request("http://nowhere.example/"))) is None


# -- redirects and meta refresh ---------------------------------------------------------------


def redirect(crawler, location, url="http://news.example/story", **meta):
    middleware = build_from_crawler(AliasKeepingRedirectMiddleware, crawler)
    request = Request(url, meta=meta)
    return middleware.process_response(request, Response(url, status=301, headers={"Location": location}, request=request))


def refresh(crawler, content, url="http://news.example/story", wrap="{}", **meta):
    middleware = build_from_crawler(ArchiveMetaRefreshMiddleware, crawler)
    body = wrap.format(f'<meta http-equiv="refresh" content="{content}">')
    request = Request(url, meta=meta)
    response = HtmlResponse(url, body=f"<html><head>{body}</head><body>x</body></html>".encode(), request=request)
    return response, middleware.process_response(request, response)


@pytest.mark.parametrize(
    ("spidercls", "url", "location", "meta"),
    [
        (NewsSpider, "http://news.example/story", "http://www.news.example/story-2", {"source": "daily"}),  # same site
        (NewsSpider, "http://news.example/robots.txt", "http://cdn.example/robots.txt", {}),  # no source: RFC 9309 2.3.1.2
        (UrlsSpider, "http://news.example/story", "http://elsewhere.example/x", {"source": "news.example"}),  # ad hoc
    ],
)
def test_an_allowed_redirect_is_followed_and_never_filtered(tmp_path, spidercls, url, location, meta):
    moved = redirect(crawler_for(spidercls, tmp_path), location, url, **meta)
    assert (moved.url, moved.dont_filter, moved.meta["redirect_urls"]) == (location, True, [url])


@pytest.mark.parametrize("how", ["Location", "meta refresh"])
def test_a_redirect_off_the_sources_site_raises_offsite_redirect(tmp_path, how):
    crawler = crawler_for(NewsSpider, tmp_path)
    with pytest.raises(OffsiteRedirect, match="elsewhere.example"):
        if how == "Location":
            redirect(crawler, "http://elsewhere.example/story", source="daily")
        else:
            refresh(crawler, "0; url=http://elsewhere.example/", source="daily")
    assert crawler.stats.get_value("redirect/offsite") == 1


@pytest.mark.parametrize("content", ["0; url=http://news.example/story", "0; url=story#comments", "1;URL='/story'"])
def test_a_meta_refresh_to_the_page_itself_is_not_a_redirect(tmp_path, content):
    crawler = crawler_for(NewsSpider, tmp_path)
    response, result = refresh(crawler, content, source="daily")
    assert result is response
    assert crawler.stats.get_value("redirect/meta_refresh_self") == 1


@pytest.mark.parametrize(
    ("content", "wrap", "followed"),
    [("5; url=/next", "{}", True), ("6; url=/next", "{}", False), ("0; url=/next", "<noscript>{}</noscript>", False)],
)
def test_a_meta_refresh_is_followed_up_to_its_maximum_delay_and_not_from_noscript(tmp_path, content, wrap, followed):
    crawler = crawler_for(NewsSpider, tmp_path, {"METAREFRESH_MAXDELAY": 5})
    response, result = refresh(crawler, content, wrap=wrap, source="daily")
    assert (result is not response) == followed


def test_a_meta_refresh_drops_credentials_and_is_never_filtered(tmp_path):
    _, result = refresh(crawler_for(NewsSpider, tmp_path), "0; url=http://eve:SECRET@news.example/next", source="daily")
    assert (result.url, result.method, result.dont_filter) == ("http://news.example/next", "GET", True)


# -- HostPacing -------------------------------------------------------------------------------


def pacing(settings=None):
    """A crawler, its HostPacing and its downloader's slots. The engine is a stand-in with what
    HostPacing reads of Scrapy's Downloader: ``slots`` and ``get_slot_key`` (the host, as Scrapy's)."""
    crawler = crawler_for(UrlsSpider, settings=settings)
    downloader = SimpleNamespace(slots={}, get_slot_key=lambda request: urlparse_cached(request).hostname or "")
    crawler.engine = SimpleNamespace(downloader=downloader)
    return crawler, HostPacing.from_crawler(crawler), downloader.slots


@pytest.mark.parametrize(("crawl_delay", "floor"), [("4", 4.0), ("1000", 30.0)])
def test_crawl_delay_is_a_floor_capped_by_the_setting(crawl_delay, floor):
    crawler, _, slots = pacing({"ARCHIVE_CRAWL_DELAY_MAX_SECS": 30})
    slots["a.example"] = Slot(concurrency=1, delay=1.0, jitter=0.5)
    parser = ProtegoRobotParser.from_crawler(crawler, f"User-agent: *\nCrawl-delay: {crawl_delay}\n".encode())
    crawler.signals.send_catch_log(signals.robots_parsed, robotparser=parser, request=Request("http://a.example/robots.txt"))
    assert (slots["a.example"].delay, slots["a.example"].jitter) == (floor, 0)
    assert crawler.stats.get_value("pacing/crawl_delay") == 1


def test_the_crawl_delay_floor_holds_on_new_slots_and_after_autothrottle():
    crawler, middleware, slots = pacing()
    parser = ProtegoRobotParser.from_crawler(crawler, b"User-agent: *\nCrawl-delay: 4\n")
    crawler.signals.send_catch_log(signals.robots_parsed, robotparser=parser, request=Request("http://a.example/robots.txt"))
    request = Request("http://a.example/story")
    slots["a.example"] = slot = Slot(concurrency=1, delay=0.25, jitter=0.5)  # made after robots.txt was read
    asyncio.run(middleware.process_request(request))
    assert (slot.delay, slot.jitter) == (4.0, 0)
    slot.delay = 0.5  # AutoThrottle lowered it after a fast answer
    crawler.signals.send_catch_log(signals.response_downloaded, response=Response(request.url), request=request, spider=crawler.spider)
    assert slot.delay == 4.0
    slot.delay = 9.0  # a longer delay than the floor stays
    asyncio.run(middleware.process_request(request))
    assert slot.delay == 9.0


def test_retry_after_makes_that_host_wait_and_no_other():
    crawler, middleware, slots = pacing()
    slots["a.example"], slots["b.example"] = Slot(1, 1.0, 0.5), Slot(1, 1.0, 0.5)
    request = Request("http://a.example/story")
    middleware.process_response(request, Response(request.url, status=429, headers={"Retry-After": "7"}))
    assert (slots["a.example"].delay, slots["a.example"].jitter) == (7.0, 0)
    assert (slots["b.example"].delay, slots["b.example"].jitter) == (1.0, 0.5)
    assert crawler.stats.get_value("pacing/retry_after") == 1
    assert asyncio.run(middleware.process_request(Request("http://a.example/next"))) is None  # waits, not deferred


def queue_one(slot) -> list:
    """A request waiting in ``slot``'s queue, as Scrapy's downloader holds it; the failures
    its deferred ends with are collected in the list returned."""
    queued = defer.Deferred()
    failures: list = []
    queued.addErrback(failures.append)
    slot.queue.append((Request("http://a.example/queued"), queued))
    return failures


@pytest.mark.parametrize("signalled", [False, True])
def test_a_retry_after_over_the_cap_defers_the_host_to_the_next_run(signalled):
    crawler, middleware, slots = pacing({"ARCHIVE_RETRY_AFTER_MAX_SECS": 300})
    slots["a.example"] = Slot(1, 1.0, 0.5)
    failures = queue_one(slots["a.example"])
    request = Request("http://a.example/story")
    response = Response(request.url, status=503, headers={"Retry-After": "3600"})
    if signalled:
        # as Scrapy runs it: response_downloaded, then the slot sends its next request, then
        # process_response; deferring only in process_response let one more request out
        crawler.signals.send_catch_log(signals.response_downloaded, response=response, request=request, spider=crawler.spider)
        assert [f.type for f in failures] == [HostDeferred] and not slots["a.example"].queue
    assert middleware.process_response(request, response) is response
    assert request.meta["dont_retry"] is True and request.meta["pacing_deferred"] == ("deferred", middleware.deferred["a.example"])
    assert [f.type for f in failures] == [HostDeferred] and not slots["a.example"].queue
    with pytest.raises(HostDeferred, match="3600"):
        asyncio.run(middleware.process_request(Request("http://a.example/later")))
    assert asyncio.run(middleware.process_request(Request("http://b.example/"))) is None
    assert (crawler.stats.get_value("pacing/deferred_hosts"), crawler.stats.get_value("pacing/deferred")) == (1, 2)


@pytest.mark.parametrize(("status", "value", "ignored"), [(503, "soon", 1), (429, "0", None), (200, "3600", None)])
def test_retry_after_that_asks_for_nothing_changes_nothing(status, value, ignored):
    crawler, middleware, slots = pacing()
    slots["a.example"] = Slot(1, 1.0, 0.5)
    middleware.process_response(Request("http://a.example/"), Response("http://a.example/", status=status, headers={"Retry-After": value}))
    assert (slots["a.example"].delay, middleware.deferred) == (1.0, {})
    assert crawler.stats.get_value("pacing/retry_after_ignored") == ignored


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Sun, 06 Nov 1994 08:49:37 GMT", 120.0), ("Sunday, 06-Nov-94 08:49:37 GMT", 120.0), ("Sun Nov  6 08:49:37 1994", 120.0),
     (b"Sun, 06 Nov 1994 08:00:00 GMT", 0.0), (b" 30 ", 30.0), ("1.5", None), ("+5", None), ("12 s", None)],
)
def test_retry_after_secs_reads_seconds_and_the_three_http_date_formats_of_rfc_9110(value, expected):
    assert retry_after_secs(value, now=datetime(1994, 11, 6, 8, 47, 37, tzinfo=timezone.utc)) == expected


def test_retry_after_with_a_non_ascii_digit_is_junk():
    """RFC 9110 delay-seconds are ASCII digits: a latin-1 superscript or Arabic-Indic digits are junk."""
    assert retry_after_secs(b"\xb2") is None
    assert retry_after_secs("\u0661\u0662") is None


# -- TruncatedEncodingMiddleware --------------------------------------------------------------

BODY = b"<html><body>" + b"<p>The council met on Thursday.</p>" * 200 + b"</body></html>"
RAW_DEFLATE = zlib.compressobj(wbits=-zlib.MAX_WBITS)
ENCODED = {"gzip": gzip.compress(BODY), "x-gzip": gzip.compress(BODY), "deflate": zlib.compress(BODY),
           "raw deflate": RAW_DEFLATE.compress(BODY) + RAW_DEFLATE.flush(), "br": brotli.compress(BODY), "zstd": zstd.compress(BODY)}


def truncated(body: bytes, encoding: str, method: str = "GET", settings=None) -> tuple[Response, object]:
    crawler = get_crawler(UrlsSpider, settings)
    middleware = build_from_crawler(TruncatedEncodingMiddleware, crawler)
    headers = {"Content-Encoding": encoding} if encoding else {}
    response = Response("http://a.example/", body=body, headers=headers)
    return middleware.process_response(Request("http://a.example/", method=method), response), crawler.stats


@pytest.mark.parametrize("name", ENCODED)
def test_a_compressed_stream_cut_short_is_flagged_partial_and_a_whole_one_is_not(name):
    encoding = name.split()[-1]
    whole, stats = truncated(ENCODED[name], encoding)
    assert whole.flags == [] and stats.get_value("httpcompression/truncated") is None
    cut, stats = truncated(ENCODED[name][:-4], encoding)  # for gzip: only the trailer missing
    assert cut.flags == ["partial"] and stats.get_value("httpcompression/truncated") == 1


@pytest.mark.parametrize(
    ("body", "encoding", "method"),
    [(ENCODED["gzip"][:40], "gzip", "HEAD"), (ENCODED["gzip"][:40], "", "GET"), (b"not gzip at all", "gzip", "GET"),
     (ENCODED["gzip"][:40], "identity", "GET"), (gzip.compress(b"0" * 300_000)[:-4], "gzip", "GET")],
)
def test_what_cannot_be_told_truncated_is_not_flagged(body, encoding, method):
    response, _ = truncated(body, encoding, method, {"DOWNLOAD_MAXSIZE": 100_000})  # the last: over the limit
    assert response.flags == []


def test_the_outermost_encoding_is_the_one_checked():
    response, _ = truncated(gzip.compress(brotli.compress(BODY))[:-4], "br, gzip")
    assert response.flags == ["partial"]


def test_encoded_stream_complete_cannot_tell():
    assert encoded_stream_complete(b"\xff" * 8, "deflate", 0) is None  # corrupt: HttpCompressionMiddleware reports it
    assert encoded_stream_complete(ENCODED["gzip"], "compress", 0) is None  # unknown
    assert encoded_stream_complete(gzip.compress(b"0" * 300_000), "gzip", 1000) is None  # over the limit


# -- LoggedRetryMiddleware ---------------------------------------------------------------------


def test_each_retry_is_logged_at_info_with_the_url_attempt_and_reason(caplog):
    crawler = get_crawler(UrlsSpider, {"RETRY_TIMES": 2})
    crawler.spider = UrlsSpider.from_crawler(crawler)  # retries count in the spider's crawler's stats
    middleware = build_from_crawler(LoggedRetryMiddleware, crawler)
    request = Request("http://a.example/story")
    caplog.set_level("INFO", logger="crawler.middlewares")
    first = middleware.process_exception(request, DownloadTimeoutError("took too long"))
    second = middleware.process_response(first, Response(request.url, status=503))
    assert isinstance(second, Request) and second.meta["retry_times"] == 2
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "crawler.middlewares"]
    assert logged == [
        ("INFO", "Retrying <GET http://a.example/story> (attempt 2 of 3): took too long"),
        ("INFO", "Retrying <GET http://a.example/story> (attempt 3 of 3): 503 Service Unavailable"),
    ]
    assert middleware.process_response(second, Response(request.url, status=503)).status == 503  # gave up
    assert len([r for r in caplog.records if r.name == "crawler.middlewares"]) == 2
    assert crawler.stats.get_value("retry/count") == 2


def test_a_response_that_is_not_retried_logs_nothing(caplog):
    middleware = build_from_crawler(LoggedRetryMiddleware, crawler_for(UrlsSpider))
    caplog.set_level("INFO", logger="crawler.middlewares")
    response = Response("http://a.example/", status=404)
    assert middleware.process_response(Request("http://a.example/"), response) is response
    assert middleware.process_exception(Request("http://a.example/"), ValueError("not a network error")) is None
    assert [r for r in caplog.records if r.name == "crawler.middlewares"] == []


@pytest.mark.parametrize(("status", "lowered"), [(200, True), (304, True), (404, False), (301, False)])
def test_autothrottle_lowers_a_hosts_delay_after_a_304_as_after_a_200(status, lowered):
    # Scrapy's own lowers it only after a 200: in a revisit run of 304s a host kept the delay a slow answer had raised
    from scrapy.extensions.throttle import AutoThrottle

    from crawler.politeness import RevisitAutoThrottle

    from crawler import settings as project

    crawler = get_crawler(UrlsSpider, {"EXTENSIONS": project.EXTENSIONS, "AUTOTHROTTLE_ENABLED": True, "DOWNLOAD_DELAY": 0.1})
    crawler._apply_settings()  # the crawler's extensions, made as a crawl makes them
    throttles = [e for e in crawler.extensions.middlewares if isinstance(e, AutoThrottle)]
    assert [type(e) for e in throttles] == [RevisitAutoThrottle]  # in place of Scrapy's own, not beside it
    throttle = throttles[0]
    throttle.mindelay, throttle.maxdelay = 0.1, 60.0  # as _spider_opened sets them
    slot = Slot(concurrency=1, delay=1.0, jitter=0)
    throttle._adjust_delay(slot, 0.02, Response("http://a.example/story", status=status))
    assert slot.delay == (0.51 if lowered else 1.0)
    # a slow answer raises it, whatever its status
    throttle._adjust_delay(slot, 3.0, Response("http://a.example/story", status=status))
    assert slot.delay == 3.0
