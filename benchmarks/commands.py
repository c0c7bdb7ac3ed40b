"""How fast the small commands are: ``newsarchive stats`` against ``sqlite-utils tables --counts``,
and ``newsarchive archive --html`` against ``trafilatura``.

``stats`` and ``sqlite-utils`` both read the row counts of one archive; sqlite-utils is the
baseline (a thin click command over SQLite, as newsarchive's commands should be).
``archive --html`` archives one saved page (a bundled demo page, into a new archive each
run: the whole start, extraction in the workers, storing and exit of the command a user
runs for one page); trafilatura's command line extracting the same page from its
standard input is the baseline (its start, parse and extraction, nothing stored).

Each command runs as a fresh process (as a user or a cron job starts it), the two of a
comparison interleaved, ``--runs`` times each after one warm-up run; the
median wall-clock time, CPU time (user + system, from ``wait4``) and peak memory (max RSS)
of each are printed with newsarchive's ratio to the baseline. The target (issue 15) is a
ratio of at most 1.5 in time.

The archive is ``--db PATH`` (read only; e.g. ``demo.db`` after ``make demo``), else a copy
of the test archive ``tests/data/archive-v1.db`` brought up to the current schema.

Usage: python -m benchmarks.commands [--db archive.db] [--runs 11]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_RATIO = 1.5
#: the saved page of the second comparison: a bundled demo page (a user's clone has it)
SAVED_PAGE = "bbc-1.html.gz"


def run_once(args: list[str], stdin: Path | None = None) -> tuple[float, float, float]:
    """Run a command once (its standard input read from ``stdin``, if given); returns (wall
    seconds, CPU seconds, peak RSS MiB)."""
    started = time.perf_counter()
    with open(stdin or os.devnull, "rb") as source:
        process = subprocess.Popen(args, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode(errors='replace') if process.stderr else ''}")
    process.returncode = 0
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compare(commands: dict[str, list[str]], runs: int, before=None, stdin: Path | None = None) -> dict[str, list[float]]:
    """Median (wall s, CPU s, RSS MiB) of each command, the commands interleaved, after one
    warm-up run each; ``before()`` runs before every run (e.g. to remove its output)."""
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, args in commands.items():
            if before is not None:
                before()
            result = run_once(args, stdin)
            if round_:  # the first round warms the file cache
                results[name].append(result)
    return {name: [statistics.median(r[i] for r in runs_) for i in range(3)] for name, runs_ in results.items()}


def print_table(medians: dict[str, list[float]], baseline: str) -> None:
    base = medians[baseline]
    print(f"{'command':<36} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8}   ratios (wall, CPU, RSS)")
    for name, (wall, cpu, rss) in medians.items():
        print(f"{name:<36} {wall:8.3f} {cpu:8.3f} {rss:8.1f}   {wall / base[0]:.2f}x {cpu / base[1]:.2f}x {rss / base[2]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="an archive to read (default: a copy of the test archive)")
    parser.add_argument("--runs", type=int, default=11, help="runs of each command (default 11)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = options.db
        if db is None:
            from archive.database import Archive

            db = Path(tmp) / "archive.db"
            shutil.copy(ROOT / "tests" / "data" / "archive-v1.db", db)
            Archive.open(db).close()  # upgraded once, as the first command after an upgrade would
        commands = {
            "sqlite-utils tables --counts": [str(BIN / "sqlite-utils"), "tables", "--counts", str(db)],
            "newsarchive stats": [str(BIN / "newsarchive"), "stats", "--db", str(db)],
        }
        medians = compare(commands, options.runs)
        print(f"archive: {options.db or 'copy of tests/data/archive-v1.db'}; {options.runs} runs each, medians")
        print_table(medians, "sqlite-utils tables --counts")
        ratio = medians["newsarchive stats"][0] / medians["sqlite-utils tables --counts"][0]
        print(f"newsarchive stats: {ratio:.2f}x the baseline's wall time (target: at most {TARGET_RATIO}x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")

        page = Path(tmp) / "page.html"
        page.write_bytes(gzip.decompress((ROOT / "demo" / "pages" / SAVED_PAGE).read_bytes()))
        new_db = Path(tmp) / "new.db"
        commands = {
            "trafilatura < page.html": [str(BIN / "trafilatura")],
            "newsarchive archive --html": [
                str(BIN / "newsarchive"), "archive", "--html", str(page), "--url", "https://www.example.com/news/story", "--db", str(new_db),
            ],
        }
        medians = compare(commands, options.runs, before=lambda: new_db.unlink(missing_ok=True), stdin=page)
        print(f"\none saved page ({SAVED_PAGE}, {page.stat().st_size:,} bytes), a new archive each run; {options.runs} runs each, medians")
        print("(CPU and RSS: the command's own process; the extraction workers' are not counted)")
        print_table(medians, "trafilatura < page.html")


if __name__ == "__main__":
    main()
