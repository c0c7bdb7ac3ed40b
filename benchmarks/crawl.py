"""Crawl throughput and memory on a replay site of 1,200 distinct article pages.

The pages are made from real ones (../shared/data/article-extraction-benchmark): each
keeps a real page's layout and carries other real pages' paragraphs, with its own title,
URL and canonical link. They are served by four loopback sites (feed, sitemap, section
pages, robots.txt, ETag/304), crawled by the real `newsarchive crawl`, then crawled again.

Prints, measured in one run: the baseline, bare ``trafilatura.extract`` on the same pages
in one process (one core); the first crawl's pages/s with the default extraction workers
(one per core) and with one worker, each as a ratio to the baseline, the run's start and
end included; the same crawl's rate while fetching (its first request to its last); the crawl process's
own CPU per page (its workers excluded) and, from a profiled run (cProfile, CPU time of
the reactor thread), how it splits by stage; peak memory. Then, for a second run, the
share of known stories skipped as not due (default schedule), and the share of article
requests answered 304 when every story is due.

Usage: python -m benchmarks.crawl [--pages 1200] [--shared ../shared] [--no-profile]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pstats
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import html as lxml_html

from benchmarks.template_sites import retitle
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
        path = f"/story/{i}"
        retitle(tree, title, path)
        pages.append(ReplayPage(path=path, body=lxml_html.tostring(tree), original_url=f"https://example.invalid{path}", title=title))
    return pages


def crawl(config: Path, db: Path, *options: str) -> tuple[float, str]:
    seconds, line, _ = crawl_cpu(config, db, *options)
    return seconds, line


def cpu_secs(pid: int) -> float | None:
    """User + system CPU seconds of one process so far (/proc; None where it is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ProcessCpu:
    """CPU seconds of the crawl process itself (its workers excluded), sampled every 50 ms:
    ``start`` before the replay sites saw its first request, ``fetching`` from then until
    its last one (the crawl proper), ``total`` at its end (``end``: after the last request:
    templates learned, dictionaries trained, the run recorded)."""

    start: float = 0.0
    fetching: float = 0.0
    total: float = 0.0

    @property
    def end(self) -> float:
        return self.total - self.start - self.fetching


def crawl_cpu(
    config: Path, db: Path, *options: str, command: list[str] | None = None, web: ReplayWeb | None = None
) -> tuple[float, str, ProcessCpu | None]:
    """(wall seconds, summary line, the crawl process's own CPU: split by the requests
    ``web`` saw when it is given)."""
    started = time.monotonic()
    run = subprocess.Popen(
        command or [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(db), *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    cpu, seen, first, last = None, None, None, None
    while run.poll() is None:  # the last reading before it exits (it is reaped after)
        cpu = cpu_secs(run.pid) or cpu
        if web is not None and cpu is not None:
            requests = sum(len(site.requests) for site in web.sites.values())
            if seen is not None and requests != seen:
                first = first if first is not None else previous
                last = cpu
            seen, previous = requests, cpu
        time.sleep(0.05)
    stdout, stderr = run.communicate()
    if run.returncode != 0:
        sys.exit(stderr)
    if cpu is None:
        return time.monotonic() - started, stdout.strip(), None
    first, last = (first, last) if first is not None else (0.0, 0.0)
    return time.monotonic() - started, stdout.strip(), ProcessCpu(first, last - first, cpu)


def bare_rate(pages: list[ReplayPage]) -> float:
    """Pages/s (wall time, as the crawls are timed) of bare ``trafilatura.extract`` on the
    pages' bytes, in this one process."""
    import trafilatura

    trafilatura.extract(pages[0].body)  # load what trafilatura loads lazily
    started = time.monotonic()
    for page in pages:
        trafilatura.extract(page.body)
    return len(pages) / (time.monotonic() - started)


#: The crawl process's functions whose CPU time is a stage (cumulative: with what they call).
STAGES = {
    "extract (hand-off to a worker and back)": ("pipelines/extract.py", "process_item"),
    "identify": ("pipelines/identify.py", "process_item"),
    "version (hash, near-duplicate signature)": ("pipelines/version.py", "process_item"),
    "store (SHA-256, zstd, SQLite)": ("pipelines/store.py", "process_item"),
    "  of which body compression (zstd)": ("archive/bodies.py", "compress"),
    "compression dictionaries (trained at the end)": ("archive/database.py", "train_dictionaries"),
    "site templates (learned at the end)": ("pipelines/templates.py", "learn_due"),
}

#: Runs the newsarchive command under cProfile, timing CPU of the reactor thread.
PROFILED = """
import cProfile, sys, time
from newsarchive.cli import cli
out, sys.argv = sys.argv[1], ["newsarchive", *sys.argv[2:]]
profile = cProfile.Profile(time.thread_time)
try:
    profile.runcall(cli, standalone_mode=False)
finally:
    profile.dump_stats(out)
"""


def profiled_stages(config: Path, db: Path, out: Path) -> tuple[dict[str, float], float]:
    """CPU seconds of the reactor thread per stage, and in all, from a crawl under cProfile."""
    crawl_cpu(config, db, command=[sys.executable, "-c", PROFILED, str(out), "crawl", "--config", str(config), "--db", str(db)])
    stats = pstats.Stats(str(out))
    where = {(str(ROOT / file), function): name for name, (file, function) in STAGES.items()}
    found = {name: 0.0 for name in STAGES}
    for (file, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        if (file, function) in where:
            found[where[(file, function)]] += cumulative
    return found, stats.total_tt


def fetching_span(web: ReplayWeb, since: dict[str, int]) -> tuple[float, float]:
    """The monotonic times of the first and the last request the sites saw after the request
    counts in ``since``."""
    times = [request["time"] for name, site in web.sites.items() for request in site.requests[since[name]:]]
    return min(times), max(times)


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
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled run (stages' CPU)")
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
        print(f"{len(pages)} distinct article pages on {SITES} loopback sites; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        bare = bare_rate(pages)
        print(f"baseline: bare trafilatura.extract, one process: {bare:.1f} pages/s")

        one_db = tmp / "one-worker.db"
        one_seconds, _, one_cpu = crawl_cpu(default, one_db, "--workers", "1", web=web)
        one_requests = {name: len(site.requests) for name, site in web.sites.items()}
        one_db.unlink()
        seconds, line, cpu = crawl_cpu(default, db, web=web)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"first run: {line}")
        with sqlite3.connect(db) as conn:
            failures = conn.execute("SELECT kind, count(*), min(message) FROM failures GROUP BY kind").fetchall()
        for kind, count, message in failures:
            print(f"  failures: {count} {kind} (e.g. {message})")
        print(f"  default workers ({os.cpu_count()}): {len(pages) / seconds:.1f} pages/s = {len(pages) / seconds / bare:.2f} x bare "
              f"({seconds:.1f} s wall, start-up included); peak RSS of one process {peak_mib:.0f} MiB")
        print(f"  1 worker: {len(pages) / one_seconds:.1f} pages/s = {len(pages) / one_seconds / bare:.2f} x bare ({one_seconds:.1f} s wall)")
        first, last = fetching_span(web, since=one_requests)
        rate = len(pages) / (last - first)
        print(f"  while fetching (the first request to the last, {last - first:.1f} s of the {seconds:.1f}): {rate:.1f} pages/s = "
              f"{rate / bare:.2f} x bare; the rest is the run's start (Scrapy, the workers' models, robots.txt) and its end "
              "(the pages still being extracted, site templates learned, compression dictionaries trained)")
        if cpu is not None and one_cpu is not None:
            per_page = 1000 / len(pages)
            print(f"  the crawl process's own CPU (workers excluded): {cpu.total * per_page:.1f} ms per page "
                  f"({one_cpu.total * per_page:.1f} with 1 worker); of which")
            print(f"    while fetching (first to last request)       {cpu.fetching * per_page:6.1f} ms per page "
                  f"({one_cpu.fetching * per_page:.1f} with 1 worker)")
            print(f"    start-up (before the first request)          {cpu.start * per_page:6.1f} ms per page ({cpu.start:.1f} s)")
            print(f"    the end (templates, dictionaries, the record) {cpu.end * per_page:6.1f} ms per page ({cpu.end:.1f} s)")
        if not args.no_profile:
            stages, total = profiled_stages(default, tmp / "profiled.db", tmp / "crawl.prof")
            print(f"  profiled run (cProfile on the reactor thread, CPU time; profiling adds its own cost): {total * 1000 / len(pages):.1f} ms per page")
            for name, secs in stages.items():
                print(f"    {name:<42} {secs * 1000 / len(pages):6.2f} ms per page")
            rest = total - sum(v for k, v in stages.items() if not k.startswith("  "))
            print(f"    {'Scrapy (fetch, parse links, schedule) and the rest':<42} {rest * 1000 / len(pages):6.2f} ms per page")

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
