"""How fast the small commands are: ``newsarchive stats`` against ``sqlite-utils tables --counts``.

Both read the row counts of one archive; sqlite-utils is the baseline (a thin click command
over SQLite, as newsarchive's commands should be). Each command runs as a fresh process
(as a user or a cron job starts it), the two interleaved, ``--runs`` times each; the
median wall-clock time, CPU time (user + system, from ``wait4``) and peak memory (max RSS)
of each are printed with newsarchive's ratio to the baseline. The target (issue 15) is a
ratio of at most 1.5 in time.

The archive is ``--db PATH`` (read only; e.g. ``demo.db`` after ``make demo``), else a copy
of the test archive ``tests/data/archive-v1.db`` brought up to the current schema.

Usage: python -m benchmarks.commands [--db archive.db] [--runs 11]
"""

from __future__ import annotations

import argparse
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


def run_once(args: list[str]) -> tuple[float, float, float]:
    """Run a command once; returns (wall seconds, CPU seconds, peak RSS MiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode(errors='replace') if process.stderr else ''}")
    process.returncode = 0
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


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
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for name, args in commands.items():  # warm the file cache once
            run_once(args)
        for _ in range(options.runs):
            for name, args in commands.items():
                results[name].append(run_once(args))
    medians = {name: [statistics.median(r[i] for r in runs) for i in range(3)] for name, runs in results.items()}
    base = medians["sqlite-utils tables --counts"]
    print(f"archive: {options.db or 'copy of tests/data/archive-v1.db'}; {options.runs} runs each, medians")
    print(f"{'command':<30} {'wall s':>8} {'CPU s':>8} {'RSS MiB':>8}   ratios (wall, CPU, RSS)")
    for name, (wall, cpu, rss) in medians.items():
        print(f"{name:<30} {wall:8.3f} {cpu:8.3f} {rss:8.1f}   {wall / base[0]:.2f}x {cpu / base[1]:.2f}x {rss / base[2]:.2f}x")
    ratio = medians["newsarchive stats"][0] / base[0]
    print(f"newsarchive stats: {ratio:.2f}x the baseline's wall time (target: at most {TARGET_RATIO}x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}")


if __name__ == "__main__":
    main()
