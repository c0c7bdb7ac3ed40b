"""Crawl throughput and memory on a replay site of 1,200 distinct article pages.

The pages are made from real ones (../shared/data/article-extraction-benchmark): each
keeps a real page's layout and carries other real pages' paragraphs, with its own title,
URL and canonical link. They are served by four loopback sites (feed, sitemap, section
pages, robots.txt, ETag/304), crawled by the real `newsarchive crawl`, then crawled again.

Prints: pages/s and peak memory of the first run; for a second run, the share of known
stories skipped as not due (default schedule), and the share of article requests
answered 304 when every story is due.

Usage: python -m benchmarks.crawl [--pages 1200] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import html as lxml_html

from demo.replay import ReplayPage, ReplayWeb

ROOT = Path(__file__).resolve().parents[1]
SITES = 4


def make_pages(shared: Path, count: int) -> list[ReplayPage]:
    """``count`` distinct article pages from the benchmark's real pages and texts."""
    folder = shared / "data" / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    templates, pool = [], []
    for key, item in sorted(truth.items()):
        pool += [p for p in item["articleBody"].split("\n") if len(p) > 80]
        body = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        try:
            tree = lxml_html.fromstring(body)
        except (ValueError, TypeError):
            continue
        if len([p for p in tree.iter("p") if len(p.text_content()) > 80]) >= 4:
            templates.append(body)
        if len(templates) >= 40:
            break
    pages = []
    for i in range(count):
        tree = lxml_html.fromstring(templates[i % len(templates)])
        paragraphs = [p for p in tree.iter("p") if len(p.text_content()) > 80]
        for n, p in enumerate(paragraphs):
            text = pool[(i * 7 + n) % len(pool)]
            for child in list(p):
                p.remove(child)
            p.text = f"{text} (story {i}, paragraph {n})"
        title = f"Story {i}: {pool[i % len(pool)][:60]}"
        for el in tree.iter("title", "h1"):
            for child in list(el):
                el.remove(child)
            el.text = title
        for el in tree.xpath('//link[@rel="canonical"] | //meta[@property="og:url"]'):
            el.getparent().remove(el)
        path = f"/story/{i}"
        head = tree.find("head")
        if head is not None:
            link = lxml_html.Element("link", rel="canonical", href=f"https://example.invalid{path}")
            head.append(link)
        pages.append(ReplayPage(path=path, body=lxml_html.tostring(tree), original_url=f"https://example.invalid{path}", title=title))
    return pages


def crawl(config: Path, db: Path) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(db)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if result.returncode != 0:
        sys.exit(result.stderr)
    return time.monotonic() - started, result.stdout.strip()


def article_requests(web: ReplayWeb, since: dict[str, int]) -> tuple[int, int]:
    """(article requests, of which answered 304) after the request counts in ``since``."""
    total = not_modified = 0
    for name, site in web.sites.items():
        for request in site.requests[since[name]:]:
            if request["path"].startswith("/story/"):
                total += 1
                not_modified += "If-None-Match" in request["headers"]
    return total, not_modified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1200)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    if not (args.shared / "data").is_dir():
        sys.exit(f"no shared data at {args.shared / 'data'} (the real pages this benchmark serves)")
    pages = make_pages(args.shared, args.pages)
    per_site = {f"site{n}": pages[n::SITES] for n in range(SITES)}
    with tempfile.TemporaryDirectory() as tmp, ReplayWeb(per_site, conditional=True) as web:
        tmp = Path(tmp)
        default = tmp / "default.toml"
        default.write_text(web.sources_toml(sections=False, revisit_steps=("3h=15m", "1d=30m", "7d=2h", "30d=1d", "*=7d")))
        db = tmp / "bench.db"

        seconds, line = crawl(default, db)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"{len(pages)} distinct article pages on {SITES} loopback sites")
        print(f"first run: {line}")
        print(f"  {len(pages) / seconds:.1f} pages/s ({seconds:.1f} s wall, extraction included); peak RSS {peak_mib:.0f} MiB")

        since = {name: len(site.requests) for name, site in web.sites.items()}
        seconds, line = crawl(default, db)
        total, _ = article_requests(web, since)
        print(f"second run, default schedule (no story due yet): {line}")
        print(f"  {len(pages) - total}/{len(pages)} known stories skipped, not fetched ({(len(pages) - total) / len(pages):.0%}); {seconds:.1f} s")

        # time passes: every story's check comes due (as after a day of the default schedule)
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE articles SET next_check_at = '2000-01-01T00:00:00Z'")
        since = {name: len(site.requests) for name, site in web.sites.items()}
        seconds, line = crawl(default, db)
        total, not_modified = article_requests(web, since)
        print(f"the same second run once every check is due: {line}")
        print(f"  {not_modified}/{total} article requests were conditional GETs answered 304 ({not_modified / max(1, total):.0%}); {seconds:.1f} s")
        print(f"archive size: {db.stat().st_size / 1024 / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
