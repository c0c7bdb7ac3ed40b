"""The parts of Scrapy that are not its public API and that newsarchive relies on, each
named once here with the reason. ``pyproject.toml`` bounds Scrapy's version to the
releases where ``tests/test_scrapy_internals.py`` proves every one of them is there.

| internal | used by | why |
|---|---|---|
| ``RobotsTxtMiddleware._parse_robots`` (overridden) | :mod:`crawler.politeness` | RFC 9309 needs the status and size of the robots.txt answer before Protego parses it (Scrapy allows all on a 5xx) |
| ``RobotsTxtMiddleware._parsers`` | :mod:`crawler.politeness` | a robots.txt that could not be read settles the host's parser (disallow all) |
| ``RedirectMiddleware._redirect`` (overridden) | :mod:`crawler.middlewares` | a redirect's source is kept as an alias, and a redirect off the site is refused |
| ``Downloader.slots`` and ``Slot.queue`` | :mod:`crawler.politeness` | Crawl-delay floors a host's slot delay; a host deferred by Retry-After drops its queued requests |
| ``Scraper.slot`` (``engine.scraper.slot.is_idle()``) | :mod:`pipelines.store` | the spider is closed on a storage error only once no item is being processed (Scrapy 2.19 waits for ever otherwise) |
| ``Slot.transferring``, ``Slot.latercall``, ``Slot.queue`` | :mod:`crawler.stopping` | on a signal, the downloads in flight are counted and the queued requests dropped at once (Scrapy's own shutdown fetches every queued request first) |
| ``engine._slot.nextcall`` | :mod:`crawler.spiders.worker`, :mod:`crawler.spiders.urls` | a distributed worker whose queue (in Redis) was empty looks again within 0.1 s, not at the engine's 5 s heartbeat; ``archive --html`` ends when its page is stored, not at the next heartbeat |
| ``Crawler._create_spider``, ``Crawler._apply_settings`` | :mod:`pipelines.distributed` | the writer of a distributed crawl seeds the queue with the news spider's own requests, without running an engine |
| ``http11._ScrapyAgent._cb_timeout`` (overridden), ``http11._ResponseReader`` (``_bodybuf``, ``_certificate``, ``_ip_address``), Twisted's ``_IdentityTransferDecoder`` | :mod:`crawler.download` | a close-delimited body that arrived whole on a connection left open is kept when the download times out (Scrapy drops it); without them the handler warns once and behaves as Scrapy's |
"""

from __future__ import annotations

from typing import Any


def download_slot(crawler: Any, key: str) -> Any | None:
    """The downloader's slot of a host (``Downloader.slots[key]``), or ``None``."""
    return crawler.engine.downloader.slots.get(key)


def items_in_progress(crawler: Any) -> bool:
    """Whether the scraper is still processing a response or an item
    (``not engine.scraper.slot.is_idle()``)."""
    slot = crawler.engine.scraper.slot
    return slot is not None and not slot.is_idle()


def wake_engine(crawler: Any) -> None:
    """Make the engine ask its scheduler for requests now (``engine._slot.nextcall.schedule()``)
    rather than at its next heartbeat (every 5 s)."""
    slot = getattr(crawler.engine, "_slot", None)
    if slot is not None:
        slot.nextcall.schedule()


def crawler_for(spidercls: Any, settings: Any, **spider_kwargs: Any) -> Any:
    """A crawler whose spider, settings and stats are made as ``Crawler.crawl`` makes them,
    without an engine (``Crawler._create_spider``, ``Crawler._apply_settings``): the
    distributed crawl's writer builds requests with the spider's own methods."""
    from scrapy.crawler import Crawler

    settings = settings.copy()
    settings.set("TWISTED_REACTOR", None, priority="cmdline")  # no engine: whichever reactor is there
    crawler = Crawler(spidercls, settings, init_reactor=True)
    crawler.spider = crawler._create_spider(**spider_kwargs)
    crawler._apply_settings()
    return crawler
