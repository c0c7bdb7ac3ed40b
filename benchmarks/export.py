"""Memory of ``newsarchive export`` as the archive grows: streaming means flat.

Builds two archives of synthetic versions (``--small``, default 10,000, and ``--large``,
default 100,000 snapshots of about 2 KB of text each, 10 versions per story) and runs
``newsarchive export --what versions`` in each format in a fresh process, reading the
process's peak resident memory (``ru_maxrss``, KiB on Linux). Prints each peak and the
ratio large/small: about 1.0 when the export streams, about large/small (10x) when it
holds the rows.

The rows are written straight into the tables (the archive's own write path keeps one
fsync'd transaction per capture, minutes for 100,000): only their number and size matter.

Usage: python -m benchmarks.export [--small N] [--large N]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from archive.database import Archive

WORDS = "the council harbour library vote budget minister said on monday after a long debate about its future".split()
MEASURE = """
import resource, sys
from newsarchive.cli import cli
try:
    cli.main(args=sys.argv[1:], standalone_mode=False)
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def build(path: Path, snapshots: int) -> None:
    rng = random.Random(1)
    with Archive.open(path) as archive:
        conn = archive.db.conn
        stories = snapshots // 10
        conn.executemany(
            "INSERT INTO articles (id, canonical_url, site, first_seen, last_seen, status) VALUES (?, ?, 'bench', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'live')",
            [(i, f"http://news.example/story/{i}") for i in range(1, stories + 1)],
        )
        rows = (
            (a, v, f"2026-01-01T00:{v:02d}:00Z", f"h{a}-{v}", f"Story {a}", " ".join(rng.choice(WORDS) for _ in range(330)))
            for a in range(1, stories + 1)
            for v in range(1, 11)
        )
        conn.executemany(
            "INSERT INTO snapshots (article_id, version, fetched_at, content_hash, reason, title, text, authors, tags) "
            "VALUES (?, ?, ?, ?, 'edit', ?, ?, '[]', '[]')",
            rows,
        )
        conn.commit()


def peak_kib(db: Path, fmt: str, out: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, "export", "--what", "versions", "--format", fmt, "--out", str(out), "--db", str(db)],
        capture_output=True, text=True, check=True,
    )
    return int(result.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dbs = {}
        for n in (args.small, args.large):
            dbs[n] = Path(tmp) / f"a{n}.db"
            build(dbs[n], n)
        print(f"{'format':<8} {'snapshots':>10} {'peak RSS':>10} {'output':>10}")
        for fmt in ("jsonl", "csv", "parquet"):
            peaks = {}
            for n, db in dbs.items():
                out = Path(tmp) / f"out{n}.{fmt}"
                peaks[n] = peak_kib(db, fmt, out)
                print(f"{fmt:<8} {n:>10,} {peaks[n] / 1024:>8.1f} MiB {out.stat().st_size / 2**20:>6.1f} MiB")
                out.unlink()
            print(f"{fmt:<8} ratio {args.large // args.small}x the rows: {peaks[args.large] / peaks[args.small]:.2f}x the memory")


if __name__ == "__main__":
    main()
