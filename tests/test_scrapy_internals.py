"""Every Scrapy internal named in crawler/scrapy_internals.py exists in the installed Scrapy
(the proof behind pyproject.toml's upper bound on Scrapy's version)."""

from __future__ import annotations

import inspect

import scrapy
from scrapy.core.downloader import Downloader, Slot
from scrapy.core.scraper import Scraper
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.test import get_crawler


def test_overridden_private_methods_keep_their_signatures():
    assert list(inspect.signature(RobotsTxtMiddleware._parse_robots).parameters) == ["self", "response", "netloc", "request"]
    assert inspect.iscoroutinefunction(RobotsTxtMiddleware._parse_robots)
    assert list(inspect.signature(RedirectMiddleware._redirect).parameters)[:4] == ["self", "redirected", "request", "reason"]


def test_private_state_is_where_newsarchive_reads_it():
    crawler = get_crawler(scrapy.Spider, {"ROBOTSTXT_OBEY": True})
    assert isinstance(RobotsTxtMiddleware(crawler)._parsers, dict)
    assert hasattr(Downloader(crawler), "slots")
    slot = Slot(concurrency=1, delay=0, jitter=0)
    assert len(slot.queue) == 0 and hasattr(slot.queue, "popleft")
    from scrapy.core.scraper import Slot as ScraperSlot

    assert "self.slot" in inspect.getsource(Scraper.open_spider_async if hasattr(Scraper, "open_spider_async") else Scraper.open_spider)
    assert callable(ScraperSlot.is_idle)


def test_the_http_handler_internals_that_keep_a_timed_out_body_exist():
    from scrapy.core.downloader.handlers import http11
    from twisted.web.http import _IdentityTransferDecoder

    from crawler.download import _INTERNALS

    assert _INTERNALS, "crawler.download fell back to Scrapy's handler"
    assert callable(http11._ScrapyAgent._cb_timeout) and isinstance(_IdentityTransferDecoder, type)
    source = inspect.getsource(http11._ResponseReader)
    assert all(f"self.{name}" in source for name in ("_bodybuf", "_certificate", "_ip_address"))


def test_the_download_slot_state_that_stopping_reads_exists():
    slot = Slot(concurrency=1, delay=0, jitter=0)
    assert slot.transferring == set() and slot.latercall is None


def test_what_a_distributed_crawl_relies_on_exists():
    from scrapy.core.engine import ExecutionEngine, _Slot
    from scrapy.crawler import Crawler

    # crawler.scrapy_internals.crawler_for: a spider, settings and stats without an engine
    assert list(inspect.signature(Crawler._create_spider).parameters)[:1] == ["self"]
    assert callable(Crawler._apply_settings)
    # wake_engine: engine._slot.nextcall.schedule()
    assert "nextcall" in inspect.signature(_Slot.__init__).parameters
    assert "self._slot" in inspect.getsource(ExecutionEngine)
