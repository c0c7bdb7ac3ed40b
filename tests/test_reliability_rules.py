"""Reliability battery, the rules without a crawl (../shared/docs/reliability.md).

Unit tests of what the whole-crawl tests (``tests/test_reliability_*.py``, marked ``slow``)
rely on: redirect headers, Retry-After values, meta refresh budget, failure kinds, decoding
order, trap rules, future dates, disk-full rollback, clock regressions, byte-exact storage.
They run in ``make test-fast``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from archive.records import CaptureRecord, SnapshotRecord
from archive.database import Archive
from crawler.middlewares import AliasKeepingRedirectMiddleware, ArchiveMetaRefreshMiddleware
from crawler.politeness import retry_after_secs
from crawler.spiders.news import NewsSpider
from crawler.spiders.urls import UrlsSpider
from archive.urls import strip_credentials
from crawler.traps import strip_session_ids, trap_reason
from pipelines.content import content_hash
from pipelines.extraction.dates import future_date, parse_stated_date
from pipelines.extraction.html import decode
from tests.battery import archive_state, byte_exact_drill, disk_full_points


@pytest.mark.scenario(8)
@pytest.mark.parametrize(
    ("location", "authorization", "cookie"),
    [
        ("/b", True, True),  # positive control: same origin keeps both
        ("http://127.0.0.3:8000/b", False, False),  # another host: neither
        ("http://127.0.0.2:9000/b", False, True),  # another port: no Authorization (cookies are per host, RFC 6265 8.5)
        ("https://127.0.0.2:8000/b", False, True),  # upgrade to https: no Authorization
    ],
)
def test_r08_authorization_and_cookie_are_not_forwarded_to_another_origin(location, authorization, cookie):
    """Scrapy's redirect code (kept by AliasKeepingRedirectMiddleware) drops Authorization on a
    change of host, scheme or port, and Cookie on a change of host or a downgrade."""
    crawler = get_crawler(UrlsSpider, {"REDIRECT_MAX_TIMES": 10})
    crawler.spider = UrlsSpider()
    middleware = AliasKeepingRedirectMiddleware.from_crawler(crawler)
    request = Request("http://127.0.0.2:8000/a", headers={"Authorization": "Bearer SECRET", "Cookie": "session=SECRET"})
    response = Response("http://127.0.0.2:8000/a", status=302, headers={"Location": location}, request=request)
    moved = middleware.process_response(request, response)
    assert (moved.headers.get("Authorization") is not None, moved.headers.get("Cookie") is not None) == (authorization, cookie)


@pytest.mark.scenario(9)
@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("0", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None), ("-5", None), ("", None), (None, None)],
)
def test_r09_retry_after_values(value, expected):
    assert (retry_after_secs(value) or None) == (expected or None)


@pytest.mark.scenario(14)
def test_r14_meta_refresh_shares_the_redirect_budget():
    crawler = get_crawler(NewsSpider, {"REDIRECT_MAX_TIMES": 2, "METAREFRESH_MAXDELAY": 5})
    middleware = ArchiveMetaRefreshMiddleware.from_crawler(crawler)
    crawler.spider = None
    body = b"<html><head><meta http-equiv='refresh' content='0; url=/next'></head></html>"
    request = Request("http://127.0.0.2/a", meta={"redirect_times": 2, "redirect_ttl": 0})
    response = HtmlResponse("http://127.0.0.2/a", body=body, request=request)
    with pytest.raises(Exception, match="max redirections"):
        middleware.process_response(request, response)


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        ("tls", "tls"),
        ("gzip", "bad_encoding"),
        ("offsite", "offsite"),
        ("deferred", "deferred"),
        ("maxsize", "too_large"),
        ("dataloss", "truncated"),
    ],
)
def test_failure_kinds_name_the_cause(exception, kind):
    """Every hostile outcome has its own failure kind (failures.kind), looked up through
    Twisted's and Scrapy's wrapping."""
    import gzip

    from OpenSSL.SSL import Error as OpenSSLError
    from scrapy.exceptions import IgnoreRequest, ResponseDataLossError
    from twisted.python.failure import Failure
    from twisted.web._newclient import ResponseNeverReceived

    from crawler.middlewares import OffsiteRedirect
    from crawler.politeness import HostDeferred
    from crawler.errors import failure_kind

    def wrapped(exc):
        outer = ResponseNeverReceived([Failure(exc)])
        return outer

    made = {
        "tls": lambda: wrapped(OpenSSLError([("SSL routines", "", "certificate verify failed")])),
        "gzip": lambda: gzip.BadGzipFile("Not a gzipped file (b'xx')"),
        "offsite": lambda: OffsiteRedirect("redirect to another site not followed"),
        "deferred": lambda: HostDeferred("deferred to the next run"),
        "maxsize": lambda: IgnoreRequest("Ignored response because its body exceeded DOWNLOAD_MAXSIZE"),
        "dataloss": ResponseDataLossError,
    }[exception]()
    found, message = failure_kind(Failure(made))
    assert found == kind, message
    if kind == "tls":
        assert "certificate verify failed" in message


@pytest.mark.scenario(11)
@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"\xef\xbb\xbf<meta charset='cp1252'>caf\xc3\xa9", "text/html; charset=iso-8859-2", "utf-8"),  # BOM first
        ("<meta charset='utf-8'>café".encode("cp1252"), "text/html; charset=cp1252", "cp1252"),  # then the header
        ("<meta charset='windows-1252'>café".encode("cp1252"), "text/html", "cp1252"),  # then the meta
        ("café".encode(), None, "utf-8"),  # then sniffing: valid UTF-8
        ("café".encode("cp1252"), None, "cp1252"),  # else Windows-1252
    ],
)
def test_r11_decode_order_bom_header_meta_sniff(body, content_type, expected):
    encoding, text = decode(body, content_type)
    assert encoding == expected and "café" in text


@pytest.mark.scenario(16)
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://x.example/a/a/", None),
        ("http://x.example/a/a/a/", "repeated_segment"),
        ("http://x.example/a/b/a/b/a/b/", "repeated_segment"),
        ("http://x.example/" + "/".join(f"s{i}" for i in range(21)), "too_many_segments"),
        ("http://x.example/news/2024/01/02/story", None),
    ],
)
def test_r16_trap_rules(url, reason):
    assert trap_reason(url) == reason


@pytest.mark.scenario(16)
def test_r16_session_ids_and_credentials_are_stripped_from_links():
    assert strip_session_ids("http://x.example/a;jsessionid=AB12CD?id=7&PHPSESSID=0123456789abcdef01") == "http://x.example/a?id=7"
    assert strip_session_ids("http://x.example/s?sid=0123456789abcdef0123456789abcdef&page=2") == "http://x.example/s?page=2"
    assert strip_session_ids("http://x.example/article.php?sid=12") == "http://x.example/article.php?sid=12"  # a content id
    assert strip_credentials("http://user:secret@x.example:8080/a?b=1") == "http://x.example:8080/a?b=1"


@pytest.mark.scenario(16)
def test_r16_per_host_budget_of_followed_links(tmp_path):
    crawler = get_crawler(NewsSpider, {"ARCHIVE_DB": str(tmp_path / "a.db")})
    config = tmp_path / "s.toml"
    config.write_text('[[source]]\nname = "x"\nstart_urls = ["http://x.example/"]\ndepth = 10\n')
    spider = NewsSpider(config=str(config))
    spider._set_crawler(crawler)
    spider.follow_max_per_host = 25
    links = "".join(f"<a href='/day/{i}'>day {i}</a>" for i in range(100))
    for page in range(3):
        url = f"http://x.example/cal/{page}"
        response = HtmlResponse(url, body=f"<html><body>{links}</body></html>".encode(),
                                request=Request(url, meta={"source": "x", "link_depth": 0}))
        requests = list(spider.follow_links(response, spider.sources["x"]))
        assert len(requests) == (25 if page == 0 else 0)
    assert crawler.stats.get_value("traps/host_budget") == 3 * 75  # links beyond the budget (the first 25 were followed)


@pytest.mark.scenario(19)
@pytest.mark.parametrize(
    ("raw", "future"),
    [("2099-01-01", "2099-01-01"), ("2099-01-01T10:00:00+02:00", "2099-01-01T10:00:00+02:00"), ("2024-05-01", None),
     ("1970-01-01", None), ("junk", None), (None, None)],
)
def test_r19_future_dates_are_recognised(raw, future):
    now = datetime(2026, 11, 29, tzinfo=timezone.utc)
    found = future_date(raw, "jsonld", now=now)
    assert (found.value if found else None) == future
    if future:
        assert parse_stated_date(raw, "jsonld", now=now) is None


@pytest.mark.scenario(30)
def test_r30_archive_stores_hostile_values_byte_exact(tmp_path):
    found = byte_exact_drill(tmp_path / "a.db")
    assert found["exact"] == found["fields"] == found["values"] * 11 + 2
    assert found["schema_same"]


@pytest.mark.scenario(24)
def test_r24_disk_full_at_many_points_rolls_back_cleanly_and_recovers(tmp_path):
    """SQLITE_FULL at 12 points of a growing archive (``PRAGMA max_page_count``): each write
    commits whole or fails leaving nothing behind, and succeeds once there is room again.
    (tests/test_cli.py::test_disk_full_while_archiving_exits_4_and_keeps_the_archive_sound
    fills a real tmpfs.)"""
    found = disk_full_points(tmp_path / "a.db", 12)
    assert found["full"] >= 9
    assert found["clean"] == found["recovered"] == found["full"] and found["corrupt"] == 0
    state = archive_state(tmp_path / "a.db")
    assert (state["integrity"], state["half_rows"], state["digest_mismatches"], len(state["snapshots"])) == ("ok", 0, 0, 12)


@pytest.mark.scenario(27)
def test_r27_a_clock_that_jumps_back_is_flagged_and_last_seen_never_moves_back(tmp_path):
    with Archive.open(tmp_path / "a.db") as archive:
        crawl = archive.start_crawl("crawl")
        url = "http://x.example/story"
        snapshot = SnapshotRecord(canonical_url=url, content_hash=content_hash("T", "text"), title="T", text="text", extractor="t")
        for at in ("2026-11-29T12:00:00Z", "2026-11-29T11:00:00Z"):  # the clock went back an hour
            archive.record_capture(crawl, CaptureRecord(url=url, final_url=url, fetched_at=at, status=200, body=b"b", site="x"), snapshot)
        rows = list(archive.db.query("SELECT id, fetched_at, warnings FROM captures ORDER BY id"))
        assert [r["fetched_at"] for r in rows] == ["2026-11-29T12:00:00Z", "2026-11-29T11:00:00Z"]  # order by id, as it happened
        assert rows[0]["warnings"] is None and json.loads(rows[1]["warnings"])[0].startswith("clock_regression")
        assert next(archive.db.query("SELECT last_seen FROM articles"))["last_seen"] == "2026-11-29T12:00:00Z"


# -- found by a fresh-clone trial ------------------------------------------------------------


@pytest.mark.scenario(32)
def test_r32_credentials_in_a_pages_own_urls_and_in_redirects_are_dropped():
    from pipelines.extraction import extract
    from archive.urls import canonical_url

    page = (b"<html><head><title>Story</title>"
            b"<link rel='canonical' href='http://eve:SECRET@x.example/news/story'>"
            b"<meta property='og:url' content='http://eve:SECRET@x.example/news/story'>"
            b"<meta property='og:image' content='http://eve:SECRET@x.example/photo.jpg'></head>"
            b"<body><article><h1>Story</h1><p>" + b"The council met on Thursday about the budget. " * 20 + b"</p></article></body></html>")
    found = extract(page, "http://x.example/news/story?ref=1")
    assert canonical_url("http://x.example/news/story?ref=1", found.canonical_candidates)[0] == "http://x.example/news/story"
    assert found.image == "http://x.example/photo.jpg"
    assert "SECRET" not in repr(found)  # sitename, image, text: nowhere
    # a redirect to a URL with credentials goes to the same URL without them
    crawler = get_crawler(UrlsSpider, {"REDIRECT_MAX_TIMES": 10})
    crawler.spider = UrlsSpider()
    middleware = AliasKeepingRedirectMiddleware.from_crawler(crawler)
    request = Request("http://x.example/a")
    response = Response("http://x.example/a", status=302, headers={"Location": "http://eve:SECRET@x.example/b"}, request=request)
    assert middleware.process_response(request, response).url == "http://x.example/b"
    # and every request a spider makes (a robots.txt Sitemap: line, a start URL, a link)
    spider = NewsSpider.__new__(NewsSpider)
    source = type("S", (), {"name": "x"})()
    assert spider.request("http://eve:SECRET@x.example/sitemap.xml", None, source, "sitemap").url == "http://x.example/sitemap.xml"


@pytest.mark.scenario(32)
def test_r32_a_malformed_url_never_shows_its_password():
    from crawler.config import url_problem
    from archive.urls import redact_credentials

    assert redact_credentials("http://a:SECRET[@127.0.0.20:18091/z") == "http://***@127.0.0.20:18091/z"
    assert "SECRET" not in url_problem("https://a:SECRET@[::1/")


@pytest.mark.scenario(13)
def test_r13_a_page_of_too_many_elements_is_kept_raw_not_extracted_for_minutes():
    """Extraction time grows with the tree (a 19 MiB page of 323,000 paragraphs took minutes):
    past MAX_ELEMENTS the page is a too_complex failure at once, its raw bytes kept."""
    import time

    from pipelines.extraction import ExtractionError, extract
    from crawler.markup import MAX_ELEMENTS

    page = ("<html><body><article>" + "<p>A line of a very long page.</p>" * (MAX_ELEMENTS + 10) + "</article></body></html>").encode()
    started = time.monotonic()
    with pytest.raises(ExtractionError) as refused:
        extract(page, "http://x.example/big")
    assert refused.value.kind == "too_complex" and time.monotonic() - started < 10
    just_under = ("<html><body><article>" + "<p>A line.</p>" * 100 + "</article></body></html>").encode()
    assert extract(just_under, "http://x.example/small").text.startswith("A line.")


def test_a_saved_page_is_read_up_to_the_fetch_size_limit(tmp_path):
    import gzip

    from crawler.sniff import read_saved_page

    page = tmp_path / "page.html"
    page.write_bytes(b"<p>x</p>" * 10)
    assert read_saved_page(page) == b"<p>x</p>" * 10
    with pytest.raises(OSError, match="over 0 MiB"):
        read_saved_page(page, max_bytes=40)
    bomb = tmp_path / "bomb.html.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (3 * 1024 * 1024)))
    with pytest.raises(OSError, match="decompressed"):
        read_saved_page(bomb, max_bytes=1024 * 1024)
    with pytest.raises(OSError, match="over"):
        read_saved_page("/dev/zero", max_bytes=1024 * 1024)


def test_backup_never_writes_through_a_link_made_after_the_check(tmp_path, monkeypatch):
    """The check-then-write race of a shared folder: a symbolic link appears at --out after
    the check; the copy is linked into place with link(2), which refuses, and the link's
    target is never written."""
    import os

    from archive.database import OutputExistsError

    victim = tmp_path / "victim.db"
    victim.write_bytes(b"")
    out = tmp_path / "out.db"
    with Archive.open(tmp_path / "a.db") as archive:
        monkeypatch.setattr(os.path, "lexists", lambda path: False)  # the check passed...
        os.symlink(victim, out)  # ...and then the link appeared
        with pytest.raises(OutputExistsError):
            archive.backup(out)
    assert victim.read_bytes() == b"" and os.path.islink(out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".newsarchive-backup")] == []


@pytest.mark.scenario(28)
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://%00/", "invalid host name"),
        ("http://127.0.0.1%2e/", "invalid host name"),
        ("http://a..b/", "invalid host name"),
        ("http://x.example/" + "a" * 2100, "longer than 2083"),
        ("ftp://x.example/", "not an http(s) URL"),
        ("http://x.example/a", None),
        ("http://bücher.example/", None),
        ("http://my_host.example./", None),
        ("http://[::1]/", None),  # a valid URL: the SSRF guard refuses it later, before connecting
        # an IPv4 address out of range: Scrapy's Request refuses it (w3lib's WHATWG parsing);
        # given with others it stopped the whole `archive` run with a traceback
        ("http://256.1.1.1/", "not a valid IPv4 address"),
    ],
)
def test_r28_urls_that_cannot_name_a_host_are_bad_urls_before_any_lookup(url, problem):
    from crawler.config import url_problem

    found = url_problem(url)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.scenario(5)
@pytest.mark.scenario(6)
def test_a_refused_bombs_partly_decompressed_body_is_freed_when_recorded():
    """Scrapy raises IgnoreRequest from the decompression error: its frames hold the body
    decompressed so far, in a cycle only the cycle collector would free (117 MiB for six
    bombs). release_frames lets it go at once."""
    import gc
    import weakref

    from scrapy.exceptions import IgnoreRequest
    from twisted.python.failure import Failure

    from crawler.spiders.base import release_frames

    class Body(bytearray):
        pass

    def decompress():
        body = Body(1024)
        decompress.body = weakref.ref(body)
        raise ValueError("over the limit")

    def middleware():
        try:
            decompress()
        except ValueError as e:
            raise IgnoreRequest("body exceeded DOWNLOAD_MAXSIZE") from e

    gc.disable()  # as between two runs of the cycle collector during a crawl
    try:
        try:
            middleware()
        except IgnoreRequest:
            failure = Failure()
        assert decompress.body() is not None
        release_frames(failure)
        assert decompress.body() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("status, location, kind, message", [
    # a 304 answers only a conditional request (RFC 9110 15.4.5): to a first, unconditional
    # GET it brings no page, and it is no redirect (a tester saw "redirect without a Location")
    (304, None, "http_error", "HTTP 304 Not Modified to a request without If-None-Match or If-Modified-Since"),
    (302, None, "redirects", "HTTP 302 redirect without a Location not followed"),
    (301, "ftp://example.org/x", "redirects", "HTTP 301 redirect to 'ftp://example.org/x' not followed"),
    (503, None, "http_error", "HTTP 503"),
])
def test_an_http_error_answer_is_named_by_its_kind(status, location, kind, message):
    from scrapy.http import Response

    from crawler.spiders.base import ArchivingSpider

    headers = {"Location": location} if location else {}
    found_kind, found_message = ArchivingSpider.http_error(Response("http://example.org/a", status=status, headers=headers))
    assert found_kind == kind and found_message.startswith(message)
