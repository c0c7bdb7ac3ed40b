"""Search, home page and story page at 100,000 snapshots, through Datasette.

Builds an archive of ``--snapshots`` versions (default 100,000: 80% first versions, 20%
edits of them) through the archive layer (``Archive.record_capture``, one transaction
each, as a crawl stores them), from real text: six paragraphs of
../shared/data/article-extraction-benchmark per story, and a byline: a name made of
syllables (names are the rare words of news). Then picks search words by their measured
document frequency (FTS5's ``fts5vocab``): a rare word (in at most 10 snapshots), a
common one (the word whose share is nearest 10%) and a very common one (the most
frequent, at least 80%), and times, in Datasette in this process (``datasette.client``),
the canned search for each, the search page (``/-/search``) for the common words, the home
page, a story page and the canned queries without parameters.

Prints p50 and p95 in milliseconds of each (target: every p95 <= 100 ms).

Usage: python -m benchmarks.search [--snapshots 100000] [--db FILE (kept, reused)] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from archive.database import Archive
from archive.records import CaptureRecord, SnapshotRecord

ROOT = Path(__file__).resolve().parents[1]
SYLLABLES = "ka lo mi ra sen tu vel dor an is per qua zim bel fo ru"
EXTRACTOR = "benchmark"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
CANNED = ("latest_stories", "changed_stories", "headline_changes", "crawl_runs")


def paragraphs(shared: Path) -> list[str]:
    truth = json.loads((shared / "data" / "article-extraction-benchmark" / "ground-truth.json").read_text(encoding="utf-8"))
    return [p.strip() for item in truth.values() for p in item["articleBody"].split("\n") if len(p.strip()) > 80]


def name(rng: random.Random) -> str:
    syllables = SYLLABLES.split()
    # 16**4 = 65,536 spellings per name: each in a handful of 100,000 stories
    return " ".join("".join(rng.choice(syllables) for _ in range(4)).capitalize() for _ in range(2))


def build(db: Path, count: int, pool: list[str]) -> None:
    """``count`` snapshots into ``db`` through :meth:`Archive.record_capture`."""
    rng = random.Random(20261206)
    firsts = count * 4 // 5
    # built in memory (no sync to disk at each of 100,000 commits), then copied to the file
    with Archive.open(":memory:") as archive:
        crawl_id = archive.start_crawl("benchmark", None)
        started = time.monotonic()
        for n in range(count):
            article = n if n < firsts else rng.randrange(firsts)
            text = "\n".join(rng.sample(pool, 6) + [name(rng)])  # a byline: a rare name
            title = " ".join(rng.choice(pool).split()[:8])
            day = f"20{24 + n % 2}-{1 + n % 12:02d}-{1 + n % 28:02d}"
            fetched = (START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            url = f"http://site{article % 20}.invalid/story/{article}"
            capture = CaptureRecord(url=url, final_url=url, fetched_at=fetched, status=200, body=None,
                                    site=f"site{article % 20}", content_type="text/html")
            snapshot = SnapshotRecord(
                canonical_url=url, content_hash=f"{n:064x}", title=title, text=text, extractor=EXTRACTOR,
                published=day if n % 5 else None, published_utc=None, published_source="meta" if n % 5 else None,
            )
            archive.record_capture(crawl_id, capture, snapshot)
            if n % 10_000 == 9_999:
                print(f"  {n + 1} snapshots stored ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        archive.finish_crawl(crawl_id, "finished", {})
        archive.backup(db)


def pick_words(db: Path) -> dict[str, tuple[str, int]]:
    """A rare, a common and a very common word, with the number of snapshots holding each."""
    conn = sqlite3.connect(db)
    conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, snapshots_fts, row)")
    total = conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    rows = conn.execute("SELECT term, doc FROM temp.vocab WHERE term GLOB '[a-z]*'").fetchall()
    conn.close()
    # the most frequent word still in at most 10 snapshots (else the rarest there is)
    rare = min((r for r in rows if r[1] <= 10), key=lambda r: (-r[1], r[0]), default=min(rows, key=lambda r: (r[1], r[0])))
    common = min(rows, key=lambda r: abs(r[1] - total / 10))
    very = max(rows, key=lambda r: r[1])
    return {"rare": rare, "common": common, "very common": very, "total": ("", total)}


async def timings(ds, path: str, runs: int) -> tuple[float, float, int]:
    """(p50 ms, p95 ms, status) of ``runs`` GETs of ``path``, after one unmeasured."""
    response = await ds.client.get(path)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await ds.client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], response.status_code


async def measure(db: Path, runs: int) -> None:
    from archive.web import make_datasette

    words = pick_words(db)
    total = words.pop("total")[1]
    ds = make_datasette(db)
    name_ = db.stem
    story = sqlite3.connect(db).execute("SELECT article_id FROM snapshots WHERE version = 2 LIMIT 1").fetchone()[0]
    print(f"archive: {total} snapshots")
    print(f"{'what':<52} {'p50 ms':>8} {'p95 ms':>8}")
    pages = [(f"search {kind} '{word}' ({doc} snapshots, {doc / total:.1%})", f"/{name_}/search?q={word}&from_day=&to_day=")
             for kind, (word, doc) in words.items()]
    pages += [(f"search page /-/search '{word}'", f"/-/search?q={word}") for kind, (word, doc) in words.items() if kind != "rare"]
    pages += [("home page", "/"), (f"story page (/-/story/{story}, 2 versions)", f"/-/story/{story}")]
    pages += [(f"canned query {name}", f"/{name_}/{name}") for name in CANNED]
    for label, path in pages:
        p50, p95, status = await timings(ds, path, runs)
        print(f"{label:<52} {p50:8.1f} {p95:8.1f}" + ("" if status == 200 else f"  (status {status})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", type=Path, help="build the archive here, or reuse it if it exists")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "search.db"
        if not db.exists():
            if not (args.shared / "data").is_dir():
                sys.exit(f"no shared data at {args.shared / 'data'} (the real text this benchmark uses)")
            build(db, args.snapshots, paragraphs(args.shared))
        asyncio.run(measure(db, args.runs))


if __name__ == "__main__":
    main()
