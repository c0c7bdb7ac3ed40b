"""What the archive costs on disk, and how long archiving and re-extraction take.

Over the shared real pages (../shared/data: readability-testpages' real pages and the
article extraction benchmark), through the real pipeline stages (extract, identify,
version, store) without a network:

1. every page archived once;
2. every page archived again, with per-request noise outside the story (an ad slot and a
   timestamp that change on every fetch, as real sites have), and a small edit (one word)
   in every tenth story;
3. ``reextract`` over the whole archive;
4. per-site dictionaries: sites of many story pages on one real page's layout
   (:mod:`benchmarks.template_sites`: each page its own story, headline, date and
   teasers); each site's first ``--earlier`` pages are stored, a dictionary is trained on
   them (as at the end of a crawl), and the next ``--measured`` pages are stored and
   measured: they were never trained on.

Prints raw HTML bytes against stored bytes per snapshot, the bytes the second pass added
(bodies, and capture rows), milliseconds per page to archive and to re-extract, and the
stored bytes per raw byte of first captures with dictionaries (the dictionaries' own
bytes counted) against zstd on its own, the same pages in the same run; every body read
back is checked against its SHA-256 digest.

Usage: python -m benchmarks.storage [--shared ../shared] [--sites 12] [--earlier 40] [--measured 40]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from archive.database import Archive
from archive.timefmt import utc_now_iso
from crawler.items import PageItem
from pipelines.reextract import reextract
from pipelines.stages import run_stages

ROOT = Path(__file__).resolve().parents[1]


def load(shared: Path) -> list[tuple[str, bytes]]:
    pages = []
    for expected in sorted((shared / "data" / "readability-testpages").glob("*/expected.json")):
        if json.loads(expected.read_text()).get("kind") == "page":
            pages.append(expected.parent.name)
    out = [(f"http://news.invalid/r/{name}", (shared / "data" / "readability-testpages" / name / "source.html").read_bytes()) for name in pages]
    aeb = shared / "data" / "article-extraction-benchmark" / "html"
    out += [(f"http://news.invalid/a/{p.name[:16]}", gzip.decompress(p.read_bytes())) for p in sorted(aeb.glob("*.html.gz"))]
    return out


def noisy(body: bytes, n: int) -> bytes:
    token = f"{n}-{time.time_ns()}".encode()
    return body.replace(b"</body>", b'<div class="ad-slot">Advertisement ' + token + b"</div><script>var ts='" + token + b"'</script></body>", 1)


PARAGRAPH = re.compile(rb"<p[\s>].*?</p>", re.DOTALL | re.IGNORECASE)


def edited(body: bytes) -> bytes:
    """One word of the story changed: " the " in the page's longest paragraph."""
    paragraphs = [m for m in PARAGRAPH.finditer(body) if b" the " in m.group()]
    if not paragraphs:
        return body
    longest = max(paragraphs, key=lambda m: len(m.group()))
    at = body.index(b" the ", longest.start())
    return body[:at] + b" THE " + body[at + 5 :]


def codec_comparison(pages: list[tuple[str, bytes]]) -> dict[str, tuple[float, float]]:
    """Share of the raw bytes kept and ms/page for each candidate codec, page by page."""
    import zstandard

    from archive.bodies import LEVEL as ZSTD_LEVEL

    raw = sum(len(b) for _, b in pages)
    candidates = {
        "gzip -6": lambda b: gzip.compress(b, compresslevel=6, mtime=0),
        "gzip -9": lambda b: gzip.compress(b, compresslevel=9, mtime=0),
        f"zstd {ZSTD_LEVEL}": zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress,
    }
    out = {}
    for name, compress in candidates.items():
        started = time.perf_counter()
        kept = sum(len(compress(b)) for _, b in pages)
        out[name] = (kept / raw, (time.perf_counter() - started) * 1000 / len(pages))
    return out


def archive_pass(db: Path, pages: list[tuple[str, bytes]]) -> list[float]:
    times = []
    started = time.perf_counter()
    items = (
        PageItem(url=url, final_url=url, status=200, body=body, fetched_at=utc_now_iso(), site="bench", role="url", content_type="text/html")
        for url, body in pages
    )
    for _ in run_stages(items, str(db)):
        times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
    return times


def sizes(db: Path) -> dict[str, int]:
    with Archive.open(db, create=False) as archive:
        q = archive.db.execute
        return {
            "bodies": q("SELECT coalesce(sum(length(data)), 0) FROM bodies").fetchone()[0],
            "raw": q("SELECT coalesce(sum(size), 0) FROM bodies").fetchone()[0],
            "captures": q(
                "SELECT coalesce(sum(length(coalesce(url,'')) + length(coalesce(final_url,'')) + length(coalesce(request_headers,'')) "
                "+ length(coalesce(response_headers,'')) + length(coalesce(hints,'')) + length(coalesce(extract_settings,'')) + 120), 0) FROM captures"
            ).fetchone()[0],
            "snapshots": q("SELECT count(*) FROM snapshots").fetchone()[0],
            "n_captures": q("SELECT count(*) FROM captures").fetchone()[0],
            "codecs": dict(q("SELECT codec, count(*) FROM bodies GROUP BY codec").fetchall()),
        }


def dictionary_pass(shared: Path, sites: int, earlier: int, measured: int) -> None:
    """Section 4 of the module docstring: store each site's earlier pages, train, store the
    measured pages; print stored/raw of the measured pages with and without dictionaries."""
    import hashlib

    from archive import bodies
    from archive.records import CaptureRecord, SnapshotRecord
    from benchmarks.template_sites import layouts, site_pages

    found, pool = layouts(shared, sites)
    measured_digests: set[str] = set()
    raw = alone = 0
    with tempfile.TemporaryDirectory() as tmp, Archive.open(Path(tmp) / "sites.db") as archive:
        crawl = archive.start_crawl("benchmark")
        pages = {n: site_pages(layout, pool, earlier + measured, inside=n % 2 == 0, style=n % 4, seed=n) for n, layout in enumerate(found)}

        def store(n: int, page, at: int) -> str:
            url = f"http://site{n}.invalid{page.path}"
            capture = CaptureRecord(url=url, final_url=url, fetched_at=f"2025-01-01T{at // 3600:02d}:{at // 60 % 60:02d}:{at % 60:02d}Z",
                                    status=200, body=page.body, site=f"site{n}", content_type="text/html")
            snapshot = SnapshotRecord(canonical_url=url, content_hash=hashlib.sha256(page.body).hexdigest(), title=page.title,
                                      text=page.text, extractor="benchmark")
            archive.record_capture(crawl, capture, snapshot)
            return bodies.digest(page.body)

        at = 0
        for n, site in pages.items():
            for page in site[:earlier]:
                store(n, page, at := at + 1)
        started = time.perf_counter()
        trained = archive.train_dictionaries()
        train_secs = time.perf_counter() - started
        for n, site in pages.items():
            for page in site[earlier:]:
                measured_digests.add(store(n, page, at := at + 1))
                raw += len(page.body)
                alone += len(bodies.compress_full(page.body))
        q = archive.db.execute
        marks = ",".join("?" * len(measured_digests))
        kept, codecs = 0, {}
        for codec, count, data in q(f"SELECT codec, count(*), sum(length(data)) FROM bodies WHERE digest IN ({marks}) GROUP BY codec", [*measured_digests]):
            codecs[codec], kept = count, kept + data
        dictionaries = q("SELECT coalesce(sum(length(data) + length(samples)), 0), count(*) FROM dictionaries").fetchone()
        for (digest,) in q("SELECT digest FROM bodies").fetchall():
            if bodies.digest(archive.read_body(digest)) != digest:
                sys.exit(f"body {digest} does not read back exactly")
    print(f"per-site dictionaries: {len(found)} sites, {earlier} earlier pages each (trained on), {measured} measured pages each "
          f"(never trained on), {raw / 1024 / 1024:.1f} MiB of HTML measured")
    print(f"        {len(trained)} dictionaries trained in {train_secs:.1f} s, {dictionaries[0] / 1024:.0f} KiB stored in all "
          f"(zstd-compressed, with their lists of samples)")
    print(f"        first captures, zstd on its own: {alone / raw:.1%} of the raw bytes (1/{raw / alone:.1f})")
    print(f"        first captures with dictionaries, the dictionaries counted: {(kept + dictionaries[0]) / raw:.1%} "
          f"(1/{raw / (kept + dictionaries[0]):.1f}; bodies alone 1/{raw / kept:.1f}); codecs {codecs}; every body read back exact")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--sites", type=int, default=12, help="sites for the dictionaries (real layouts)")
    parser.add_argument("--earlier", type=int, default=40, help="pages of each site stored before its dictionary is trained")
    parser.add_argument("--measured", type=int, default=40, help="pages of each site stored after, and measured")
    args = parser.parse_args()
    if not (args.shared / "data").is_dir():
        sys.exit(f"no shared data at {args.shared / 'data'} (the real pages this benchmark archives)")
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    pages = load(args.shared)
    raw = sum(len(b) for _, b in pages)
    codecs = codec_comparison(pages)
    print("codecs: " + "; ".join(f"{name} keeps {share:.1%} ({ms:.1f} ms/page)" for name, (share, ms) in codecs.items()))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        first = archive_pass(db, pages)
        one = sizes(db)
        print(f"{len(pages)} real pages, {raw / 1024 / 1024:.1f} MiB of HTML")
        print(f"pass 1: {one['snapshots']} snapshots; bodies {one['raw'] / 1024 / 1024:.1f} MiB raw -> {one['bodies'] / 1024 / 1024:.2f} MiB stored "
              f"({one['bodies'] / one['raw']:.1%}); {one['bodies'] / max(1, one['snapshots']) / 1024:.1f} KiB stored per snapshot "
              f"(raw {one['raw'] / max(1, one['snapshots']) / 1024:.1f} KiB); codecs {one['codecs']}")
        print(f"        archive {statistics.median(first):.1f} ms/page (median; extraction included)")
        second_pages = [(url, edited(noisy(body, n)) if n % 10 == 0 else noisy(body, n)) for n, (url, body) in enumerate(pages)]
        second = archive_pass(db, second_pages)
        two = sizes(db)
        added_bodies = two["bodies"] - one["bodies"]
        new_versions = two["snapshots"] - one["snapshots"]
        unchanged = len(pages) - new_versions
        edits = len(range(0, len(pages), 10))
        print(f"pass 2 (noise on every page, one word edited in {edits} pages): {new_versions} new versions, {unchanged} unchanged captures")
        print(f"        bodies added: {added_bodies / 1024:.1f} KiB in all, {added_bodies / len(pages):.0f} bytes per capture "
              f"(every body differs by its noise: kept as zstd deltas; codecs now {two['codecs']})")
        print(f"        capture rows added: about {(two['captures'] - one['captures']) / len(pages):.0f} bytes each")
        print(f"        archive {statistics.median(second):.1f} ms/page (median)")
        with Archive.open(db, create=False) as archive:
            started = time.perf_counter()
            counts = reextract(archive)
            ms = (time.perf_counter() - started) * 1000 / max(1, counts["articles"])
        print(f"reextract: {counts['articles']} articles, {counts['changed']} new versions, {counts['unchanged']} unchanged, "
              f"{counts['skipped']} skipped, {counts['failed']} failed; {ms:.1f} ms/page")
        print(f"archive file: {db.stat().st_size / 1024 / 1024:.1f} MiB")
    dictionary_pass(args.shared, args.sites, args.earlier, args.measured)


if __name__ == "__main__":
    main()
