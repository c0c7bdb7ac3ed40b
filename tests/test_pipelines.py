"""The item pipelines one by one, without a crawl (Scrapy's get_crawler / build_from_crawler)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from archive.database import Archive
from crawler.items import FailureItem, PageItem
from crawler.spiders.news import NewsSpider
from pipelines.extract import ExtractPipeline
from pipelines.identify import IdentifyPipeline
from pipelines.store import StorePipeline
from pipelines.version import VersionPipeline
from tests.conftest import child_env

ROOT = Path(__file__).resolve().parents[1]

STORY = "<p>" + "The harbour board voted to extend the pier by forty metres on Tuesday evening. " * 8 + "</p>"
PAGE = (
    "<html><head><title>Pier to grow</title><meta property='og:type' content='article'>"
    "<meta property='article:published_time' content='2018-04-25T06:35:00+05:00'></head>"
    f"<body><article><h1>Pier to grow</h1>{STORY}</article></body></html>"
).encode()


def item(body: bytes = PAGE, url: str = "http://news.example.com/pier?utm_source=rss", **kw) -> PageItem:
    return PageItem(url=url, final_url=url, status=200, body=body, fetched_at="2026-11-29T12:00:00Z", site="example", content_type="text/html", **kw)


@pytest.fixture
def crawler(tmp_path):
    return get_crawler(NewsSpider, {"ARCHIVE_DB": str(tmp_path / "a.db")})


def through_stages(crawler, page):
    page = build_from_crawler(ExtractPipeline, crawler).process_now(page)
    for cls in (IdentifyPipeline, VersionPipeline):
        page = build_from_crawler(cls, crawler).process_item(page)
    return page


def test_stages_set_extraction_identity_and_hash(crawler):
    page = through_stages(crawler, item())
    assert page.extraction.title == "Pier to grow"
    assert page.extraction.published.value == "2018-04-25T06:35:00+05:00"
    assert page.canonical_url == "http://news.example.com/pier"
    assert page.aliases == [("http://news.example.com/pier?utm_source=rss", "tracking")]
    assert len(page.content_hash) == 64
    assert crawler.stats.get_value("extract/articles") == 1


def test_feed_date_is_used_when_the_page_states_none(crawler):
    page = item(PAGE.replace(b"article:published_time", b"x"), hints={"published": "Wed, 25 Apr 2018 01:35:00 GMT", "published_source": "feed"})
    page = through_stages(crawler, page)
    assert (page.extraction.published.value, page.extraction.published.source) == ("2018-04-25T01:35:00Z", "feed")


def test_binary_body_served_as_html_is_a_content_type_mismatch(crawler):
    page = through_stages(crawler, item(b"%PDF-1.4 binary"))
    assert page.error == ("content_type_mismatch", "not HTML: the body is PDF data")
    assert page.canonical_url is None and page.content_hash is None


def test_binary_body_labelled_as_such_is_not_html(crawler):
    page = item(b"%PDF-1.4 binary")
    page.content_type = "application/pdf"
    assert through_stages(crawler, page).error == ("not_html", "not HTML: the body is PDF data")


def test_sections_and_feeds_are_not_extracted(crawler):
    page = through_stages(crawler, item(role="section"))
    assert page.extraction is None and page.canonical_url is None


def test_store_pipeline_writes_captures_and_failures(crawler, tmp_path):
    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    try:
        first = store.process_item(through_stages(crawler, item()))
        second = store.process_item(through_stages(crawler, item()))
        store.process_item(FailureItem(url="http://nowhere.invalid/", kind="dns", message="cannot resolve host"))
    finally:
        store.spider_closed(None, "finished")
    assert (first.outcome, second.outcome) == ("new", "unchanged")
    assert crawler.stats.get_value("archive/new") == 1 and crawler.stats.get_value("archive/failure/dns") == 1
    with Archive.open(tmp_path / "a.db", create=False) as archive:
        assert archive.counts()["captures"] == 2 and archive.counts()["failures"] == 1
        assert archive.last_crawl()["status"] == "finished"


def test_a_pipeline_error_is_a_counted_and_logged_failure(crawler, tmp_path, caplog):
    """A stage that raised (Scrapy's item_error): a failures row, in the summary's count of
    failures (archive/failed) and in the run log, as any failed page."""
    from twisted.python.failure import Failure

    store = build_from_crawler(StorePipeline, crawler)
    store.open_spider()
    try:
        page = item()
        with caplog.at_level("WARNING", logger="newsarchive.run"):
            store.item_error(page, None, None, Failure(OverflowError("date value out of range")))
    finally:
        store.spider_closed(None, "finished")
    assert crawler.stats.get_value("archive/failed") == 1
    assert crawler.stats.get_value("archive/failure/pipeline_error") == 1
    assert f"failed {page.url}: OverflowError: date value out of range" in caplog.messages
    with Archive.open(tmp_path / "a.db", create=False) as archive:
        assert archive.counts()["failures"] == 1


def test_the_extractor_is_warmed_up_when_the_spider_opens():
    # in a new process: the language model is loaded by open_spider, before the first fetch
    code = (
        "from pipelines.extraction import text; from pipelines.extract import ExtractPipeline\n"
        "assert text._IDENTIFIER is None\n"
        "ExtractPipeline().open_spider(None)\n"
        "assert text._IDENTIFIER is not None\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
