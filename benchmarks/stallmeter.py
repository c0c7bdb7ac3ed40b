"""A Scrapy extension for the benchmarks: how long the crawl's reactor was held at most.

A tick is scheduled every :data:`TICK_SECS`; the longest wait between two ticks beyond that
is the longest time one piece of work (a page parsed, extracted, stored) kept every
download, timer and callback of the crawl waiting. Kept in the stats as
``stall/max_secs`` (and the crawl's ``crawls.stats``). Enabled by the benchmark only:
``-s 'EXTENSIONS={"benchmarks.stallmeter.StallMeter": 0}'``.
"""

from __future__ import annotations

import time

from scrapy import signals
from twisted.internet.task import LoopingCall

TICK_SECS = 0.05


class StallMeter:
    def __init__(self, stats) -> None:
        self.stats = stats
        self.last = 0.0
        self.loop = LoopingCall(self.tick)

    @classmethod
    def from_crawler(cls, crawler) -> StallMeter:
        meter = cls(crawler.stats)
        crawler.signals.connect(meter.opened, signal=signals.spider_opened)
        crawler.signals.connect(meter.closed, signal=signals.spider_closed)
        return meter

    def opened(self, spider=None) -> None:
        self.last = time.monotonic()
        self.loop.start(TICK_SECS, now=False)

    def tick(self) -> None:
        now = time.monotonic()
        self.stats.max_value("stall/max_secs", round(now - self.last - TICK_SECS, 3))
        self.last = now

    def closed(self, spider=None) -> None:
        if self.loop.running:
            self.loop.stop()
