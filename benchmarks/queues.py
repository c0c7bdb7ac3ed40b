"""Bounded discovery queues (issue 14): peak memory of a crawl of a 100,000-entry feed
against the same crawl of a 10-entry feed, in the same run.

Each crawl is a real ``scrapy crawl news`` (``tests/battery.py``) of one loopback site whose
RSS feed lists N dated entries (newest last in the document, so that "newest first" has to
sort; about 14 MB, under DOWNLOAD_MAXSIZE); the pages answer 404 at once, so that the runs measure discovery and queuing, not
extraction. Target (issue 14): the large feed peaks within 100 MiB of the small one, and
queues no more than ``max_new_urls_per_feed`` (default 1,000) of its entries.

Usage: python -m benchmarks.queues [--entries 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from crawler.config import DEFAULT_MAX_NEW_URLS_PER_FEED
from tests.battery import config_toml, scrapy_crawl, source_toml
from tests.hostile import HostileServer

TARGET_MIB = 100


def feed_body(base: str, entries: int) -> bytes:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    items = "".join(
        f"<item><title>Story {i}</title><link>{base}/gone/s{i}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=entries - i))}</pubDate></item>"
        for i in range(entries)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title><link>{base}/</link>'
            f"<description>d</description>{items}</channel></rss>").encode()


def feed_run(work: Path, entries: int, host: str) -> dict:
    """One crawl of a feed of ``entries`` entries: peak RSS (MiB), seconds, pages requested."""
    with HostileServer(host, name="feed") as server:
        url = server.fixture("/feed.rss", feed_body(server.base_url, entries), content_type="application/rss+xml")
        run = scrapy_crawl(work, config_toml(source_toml("feed", feeds=[url])), timeout=1800)
        requested = [p for p in server.paths() if p.startswith("/gone/")]
    newest = {f"/gone/s{i}" for i in range(entries - len(requested), entries)}
    return {"entries": entries, "peak_mib": run.peak_rss_mib, "seconds": run.seconds, "requested": len(requested),
            "newest_first": set(requested) == newest, "crashed": run.crash_signs()}


def feed_queue_drill(work: Path, entries: int = 100_000) -> dict:
    """The small and the large feed, one crawl each; ``over_mib``: the large one's extra peak."""
    small = feed_run(work / "small", 10, "127.0.0.210")
    large = feed_run(work / "large", entries, "127.0.0.211")
    return {"small": small, "large": large, "over_mib": large["peak_mib"] - small["peak_mib"]}


def line(d: dict) -> str:
    small, large = d["small"], d["large"]
    return (f"a {large['entries']:,}-entry feed peaked at {large['peak_mib']:.0f} MiB against {small['peak_mib']:.0f} MiB for a "
            f"{small['entries']}-entry one (+{d['over_mib']:.0f} MiB; target +{TARGET_MIB} MiB); it queued {large['requested']:,} "
            f"URLs (max_new_urls_per_feed {DEFAULT_MAX_NEW_URLS_PER_FEED:,}), the newest first: {large['newest_first']}; "
            f"{large['seconds']:.0f} s against {small['seconds']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="queues-") as tmp:
        d = feed_queue_drill(Path(tmp), args.entries)
    print(f"- Bounded queues: {line(d)}")
    if d["small"]["crashed"] or d["large"]["crashed"]:
        print(f"  crash signs: {d['small']['crashed']} {d['large']['crashed']}")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
