"""A crawl shared by workers over Redis against the same crawl in one process.

Loopback replay sites (pages made from real ones, as ``benchmarks.crawl`` makes them; each
answer takes ``--latency`` seconds, so that overlapping requests to a host would show) are
crawled by ``newsarchive crawl`` (one process, one extraction worker), then by
``newsarchive crawl --redis`` (the writer) with 1, 2, ... ``newsarchive worker --redis``
processes (one extraction worker each), each run with a fresh ``redis-server`` on a free
loopback port. Prints for each: pages/s (its ratio to the single process), the CPU of
the run's processes summed (writer, workers, Redis: ``RUSAGE_CHILDREN``; and the
extraction processes, which multiprocessing's forkserver starts and no process of the run
reaps, sampled from ``/proc``: :class:`Grandchildren`; the single process learns its
sites' templates in them at the end, the distributed writer in its own process), the CPU
the distribution adds per page against the single process (with, and without, each
worker's fixed cost: one more interpreter and Scrapy, measured on a worker that finds
nothing to do), the most
requests any host saw at once (must be 1) and in any one second, and whether the archive
equals the single process's (articles, titles, versions, captures' outcomes, failures).

Usage: python -m benchmarks.distributed [--pages 400] [--workers 1 2] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks.crawl import make_pages
from demo.replay import ReplayWeb

ROOT = Path(__file__).resolve().parents[1]
SITES = 4


def children_cpu() -> float:
    """User + system CPU seconds of this process's reaped descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Grandchildren:
    """CPU seconds of the processes below this process's children (the extraction
    processes: multiprocessing's forkserver and the pool's workers, which no process of the
    run reaps, so ``RUSAGE_CHILDREN`` never sees them), read from ``/proc/<pid>/stat``
    (their own user + system time) every 20 ms while the run goes on; each process counts
    with its last reading (what it spends in its last 20 ms is lost). Linux only."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Grandchildren:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def total(self) -> float:
        return sum(self.seen.values())

    def _sample(self) -> None:
        me, ticks = os.getpid(), os.sysconf("SC_CLK_TCK")
        while not self._stop.wait(0.02):
            parents: dict[int, int] = {}
            cpu: dict[int, float] = {}
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    parents[int(entry.name)] = int(fields[1])
                    cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
            for pid, parent in parents.items():
                depth, up = 0, pid
                while up in parents and up != me and depth < 8:
                    up, depth = parents[up], depth + 1
                if up == me and depth >= 2:
                    self.seen[pid] = max(self.seen.get(pid, 0.0), cpu[pid])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    sys.exit("redis-server did not start")


def newsarchive(*args: object, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsarchive", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def finish(process: subprocess.Popen) -> str:
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        sys.exit(f"{process.args} exited {process.returncode}:\n{stderr[-3000:]}")
    return stdout.strip()


def summary(db: Path) -> tuple:
    with sqlite3.connect(db) as con:
        articles = sorted(con.execute(
            "SELECT a.canonical_url, s.title, (SELECT count(*) FROM snapshots WHERE article_id = a.id) "
            "FROM articles a JOIN snapshots s ON s.id = a.latest_snapshot_id"))
        captures = Counter(con.execute("SELECT url, outcome FROM captures"))
        failures = sorted(con.execute("SELECT url, kind FROM failures"))
    return articles, captures, failures


def host_figures(web: ReplayWeb) -> tuple[int, int]:
    """(most requests in flight at once on any host, most requests to one host in any second)."""
    per_second = 0
    for site in web.sites.values():
        times = sorted(site.request_times())
        j = 0
        for i, t in enumerate(times):
            while times[j] < t - 1.0:
                j += 1
            per_second = max(per_second, i - j + 1)
    return max(site.max_in_flight for site in web.sites.values()), per_second


def idle_worker_cpu(config_text: str, folder: Path) -> tuple[float, float]:
    """CPU seconds of a worker that starts, finds nothing to do and stops: its fixed cost
    (interpreter, Scrapy, the extraction process's models), paid once per worker and run;
    and the part of it spent by its extraction processes (the single process pays that
    once too)."""
    import redis

    from archive import __version__

    redis_process, url = start_redis()
    client = redis.Redis.from_url(url)
    client.hset("newsarchive:run", mapping={"state": "running", "code_version": __version__, "config": config_text})
    cpu = children_cpu()
    with Grandchildren() as extraction:
        process = newsarchive("worker", "--redis", url, "--workers", "1", cwd=folder)
        # up once its pipelines hold their connections; then time for the extraction process to load its models
        while process.poll() is None and len(client.client_list()) < 4:
            time.sleep(0.05)
        time.sleep(6.0)
        client.hset("newsarchive:run", "state", "done")
        finish(process)
    fixed = children_cpu() - cpu + extraction.total()
    redis_process.terminate()
    redis_process.wait()
    return fixed, extraction.total()


def reset(web: ReplayWeb) -> None:
    for site in web.sites.values():
        with site._lock:
            site.requests.clear()
            site.max_in_flight = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--latency", type=float, default=0.005, help="seconds each answer takes")
    parser.add_argument("--delay", type=float, default=0.0, help="the config's delay_secs")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("needs redis-server (Debian/Ubuntu: apt-get install redis-server)")
    pages = make_pages(args.shared, args.pages)
    sites = {f"site{n}": pages[n::SITES] for n in range(SITES)}
    with tempfile.TemporaryDirectory() as tmp, ReplayWeb(sites) as web:
        folder = Path(tmp)
        for site in web.sites.values():
            site.latency = args.latency
        config = folder / "sources.toml"
        config.write_text(web.sources_toml(delay_secs=args.delay))
        # requests at exactly the delay apart: 1 / delay + 1 of them fit in a closed 1 s window
        bound = f" (politeness allows {int(1 / args.delay + 1e-9) + 1})" if args.delay else " (delay 0: no bound)"
        print(f"{len(pages)} article pages on {SITES} loopback sites ({args.latency * 1000:g} ms an answer, delay {args.delay:g} s); "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

        cpu, started = children_cpu(), time.monotonic()
        with Grandchildren() as extraction:
            line = finish(newsarchive("crawl", "--config", config, "--db", folder / "single.db", "--workers", "1", cwd=folder))
        seconds, single_cpu = time.monotonic() - started, children_cpu() - cpu + extraction.total()
        base_rate = len(pages) / seconds
        in_flight, per_second = host_figures(web)
        baseline = summary(folder / "single.db")
        print(f"  one process:    {base_rate:6.1f} pages/s (1.00 x), CPU {single_cpu:6.1f} s; host max at once {in_flight}, in 1 s {per_second}{bound}  [{line}]")

        fixed, fixed_extraction = idle_worker_cpu(config.read_text(), folder)
        print(f"  a worker's fixed cost (start, models, stop): CPU {fixed:.1f} s, of which its extraction processes {fixed_extraction:.1f} s")
        for workers in args.workers:
            reset(web)
            db = folder / f"dist{workers}.db"
            cpu, started = children_cpu(), time.monotonic()
            with Grandchildren() as extraction:
                redis_process, url = start_redis()
                writer = newsarchive("crawl", "--redis", url, "--config", config, "--db", db, cwd=folder)
                procs = [newsarchive("worker", "--redis", url, "--workers", "1", cwd=folder) for _ in range(workers)]
                line = finish(writer)
                for p in procs:
                    finish(p)
                seconds = time.monotonic() - started
                redis_process.terminate()
                redis_process.wait()
            total_cpu = children_cpu() - cpu + extraction.total()
            in_flight, per_second = host_figures(web)
            added_ms = (total_cpu - single_cpu) / len(pages) * 1000
            # N workers bring N interpreters more than the single process, but only N - 1
            # more extraction starts (the single process has one too)
            marginal_ms = (total_cpu - single_cpu - workers * fixed + fixed_extraction) / len(pages) * 1000
            same = "equal" if summary(db) == baseline else "DIFFERENT"
            print(f"  {workers} worker(s):    {len(pages) / seconds:6.1f} pages/s ({len(pages) / seconds / base_rate:.2f} x), CPU {total_cpu:6.1f} s, "
                  f"added {added_ms:+.1f} ms/page ({marginal_ms:+.1f} without the workers' fixed cost); host max at once {in_flight}, in 1 s {per_second}{bound}; archive {same}  [{line}]")


if __name__ == "__main__":
    main()
