"""Rebuild tests/data/archive-v1.db: a small archive made by schema m001 (the first release).

It is committed, and never rebuilt once a later schema exists: every schema change is
tested as an upgrade of it (tests/test_archive.py). Made through the real CLI from two
bundled demo pages, one of them imported twice with an edit (two versions).

Usage: python tests/data/make_archive_v1.py
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PAGES = ROOT / "demo" / "pages"


def main() -> None:
    db = HERE / "archive-v1.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    manifest = {e["file"]: e for e in json.loads((PAGES / "pages.json").read_text())["pages"]}
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for name in ("bbc-1.html.gz", "lemonde-1.html.gz"):
            path = Path(tmp) / name.removesuffix(".gz")
            path.write_bytes(gzip.decompress((PAGES / name).read_bytes()))
            jobs.append((path, manifest[name]["url"]))
        edited = Path(tmp) / "bbc-1-edited.html"
        edited.write_bytes(jobs[0][0].read_bytes().replace(b"biggest frustration", b"greatest frustration"))
        jobs.append((edited, jobs[0][1]))
        for path, url in jobs:
            subprocess.run(
                [sys.executable, "-m", "newsarchive", "archive", "--html", str(path), "--url", url, "--db", str(db)],
                check=True,
                cwd=ROOT,
            )
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("VACUUM")
    tables = ["articles", "snapshots", "captures", "bodies", "aliases", "failures", "crawls"]
    expected = {
        "counts": {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables},
        "content_hashes": [r[0] for r in conn.execute("SELECT content_hash FROM snapshots ORDER BY id")],
        "migrations": [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")],
    }
    conn.close()
    (HERE / "archive-v1.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
