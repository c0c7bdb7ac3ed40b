"""Memory of a long crawl: the proportional set size (PSS) of all its processes, sampled.

A crawl of ``--pages`` distinct article pages (5,000 by default, made from real pages as
:mod:`benchmarks.crawl` makes them) on four loopback sites, by the real ``newsarchive
crawl`` with its default extraction workers. Every half second the PSS of the crawl's
process and of all its descendants (the forkserver, the extraction workers) is read from
``/proc/<pid>/smaps_rollup`` (PSS shares each page among the processes that map it, so
the sum counts shared libraries once) beside the number of story pages the sites have
served so far.

Prints the peak of the summed PSS while fetching and at the end of the run (templates
learned, dictionaries trained), and what the last 1,000 pages added: the peak over the
last 1,000 pages fetched against the peak before them (issue 16: peak <= 500 MiB, the
last 1,000 pages <= 20 MiB). Linux only.

Usage: python -m benchmarks.memory [--pages 5000] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.crawl import SITES, make_pages
from demo.replay import ReplayWeb

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
SAMPLE_SECS = 0.5


def pss_bytes(pid: int) -> int:
    """One process's PSS in bytes (``Pss:`` of ``/proc/<pid>/smaps_rollup``); 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now (parent ids read from ``/proc/<pid>/stat``)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def role(pid: int, crawl: int) -> str:
    """What a process of the crawl is: the crawl itself, the forkserver, a worker (with its pid)."""
    if pid == crawl:
        return "crawl process"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"gone {pid}"
    if "resource_tracker" in command:
        return "resource tracker"
    try:
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        parent = 0
    return "forkserver" if parent == crawl else f"worker {pid}"


def stories_served(web: ReplayWeb) -> int:
    return sum(1 for site in web.sites.values() for request in list(site.requests) if request["path"].startswith("/story/"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    if not (args.shared / "data").is_dir():
        sys.exit(f"no shared data at {args.shared / 'data'} (the real pages this benchmark serves)")
    if not Path("/proc/self/smaps_rollup").exists():
        sys.exit("PSS is read from /proc/<pid>/smaps_rollup: Linux 4.14 or later only")
    pages = make_pages(args.shared, args.pages)
    per_site = {f"site{n}": pages[n::SITES] for n in range(SITES)}
    with tempfile.TemporaryDirectory() as tmp, ReplayWeb(per_site, conditional=True) as web:
        config = Path(tmp) / "crawl.toml"
        config.write_text(web.sources_toml(sections=False))
        print(f"{len(pages)} distinct article pages on {SITES} loopback sites; {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f}")
        started = time.monotonic()
        run = subprocess.Popen(
            [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(Path(tmp) / "memory.db")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        samples: list[tuple[int, int, int]] = []  # (stories served, summed PSS, processes)
        at_peak: dict[str, int] = {}
        while run.poll() is None:
            by_process = {pid: pss_bytes(pid) for pid in process_tree(run.pid)}
            samples.append((stories_served(web), sum(by_process.values()), len(by_process)))
            if samples[-1][1] >= max(s[1] for s in samples):
                at_peak = {role(pid, run.pid): pss for pid, pss in by_process.items()}
            time.sleep(SAMPLE_SECS)
        stdout, stderr = run.communicate()
        if run.returncode != 0:
            sys.exit(stderr[-2000:])
        print(f"{stdout.strip()} ({time.monotonic() - started:.0f} s wall, {len(samples)} samples)")
        with sqlite3.connect(Path(tmp) / "memory.db") as conn:
            for kind, count, message in conn.execute("SELECT kind, count(*), min(message) FROM failures GROUP BY kind"):
                print(f"  failures: {count} {kind} (e.g. {message})")
    total = max(served for served, _, _ in samples)
    fetching = [s for s in samples if s[0] < total]
    cut = total - 1000
    before = [pss for served, pss, _ in fetching if served <= cut]
    last = [pss for served, pss, _ in fetching if served > cut]
    peak = max(pss for _, pss, _ in samples)
    print(f"summed PSS of the crawl's processes (at most {max(n for _, _, n in samples)} at once):")
    print(f"  peak while fetching      {max(pss for _, pss, _ in fetching) / MIB:7.1f} MiB")
    print(f"  peak of the whole run    {peak / MIB:7.1f} MiB (the end included: templates, dictionaries)")
    print("  at the peak: " + ", ".join(f"{name} {pss / MIB:.0f}" for name, pss in sorted(at_peak.items())) + " MiB")
    if before and last:
        print(f"  peak up to story {cut:>5}  {max(before) / MIB:7.1f} MiB")
        print(f"  peak over the last 1,000 {max(last) / MIB:7.1f} MiB: the last 1,000 pages added "
              f"{(max(last) - max(before)) / MIB:+.1f} MiB")
    for share in (0.2, 0.4, 0.6, 0.8, 1.0):
        mark = int(total * share)
        near = [pss for served, pss, _ in samples if served <= mark]
        print(f"    after {mark:>5} stories: {max(near) / MIB:7.1f} MiB (peak so far)")


if __name__ == "__main__":
    main()
