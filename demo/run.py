"""``make demo``: crawl real news pages, served offline, into demo.db, twice.

1. Serves the bundled pages (demo/pages, credited in demo/pages/CREDITS.md) from one
   local HTTP server per site on 127.0.0.2, 127.0.0.3, ..., each with a generated home
   page, section page, RSS feed, sitemap and robots.txt.
2. Writes a config for them (demo/run/sources.toml) and runs
   ``newsarchive crawl --config demo/run/sources.toml --db demo.db``.
3. Edits one sentence of one story on its server and crawls again: every known story is
   re-checked with a conditional GET (the servers answer 304 for unchanged ones), and the
   archive gains exactly one new version and stores nothing else twice.
4. Shows that version's word diff with ``newsarchive history``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from archive.database import Archive
from demo.replay import ReplayWeb, load_manifest

HERE = Path(__file__).resolve().parent
EDIT_SITE = "nytimes"
EDIT_OLD = "After nearly 20 years of hostile relations"
EDIT_NEW = "After two decades of hostile relations"


def crawl(config: Path, db: Path) -> float:
    """Run the real CLI; returns the seconds it took.

    The crawl runs in a session of its own, so that a Ctrl-C on the terminal reaches this
    process only, which passes each SIGINT or SIGTERM on to the crawl: the crawl then stops
    as it does when run by hand (the first signal finishes the pages in flight and records
    the run ``interrupted``; a second exits at once), and this process waits for it.
    Without that, ``subprocess.run`` would kill the crawl on a KeyboardInterrupt, leaving
    its run marked ``running`` until the next run finds it dead."""
    command = [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(db)]
    print("$ newsarchive crawl --config", config.relative_to(Path.cwd()) if config.is_relative_to(Path.cwd()) else config, "--db", db)
    started = time.monotonic()
    child = subprocess.Popen(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    forwarded: list[int] = []

    def forward(signum: int, _frame) -> None:
        forwarded.append(signum)
        child.send_signal(signum)

    # Ctrl-C, Ctrl-\\, a closed terminal: what the terminal would have sent the crawl too
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP)}
    try:
        stdout, stderr = child.communicate()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(stdout.rstrip())
    if child.returncode != 0:
        print(stderr, file=sys.stderr)
    if forwarded:  # also when the signal came as the crawl ended (it finished first): the user asked to stop
        stopped = "interrupted" if child.returncode != 0 else "stopped after it finished"
        raise SystemExit(f"demo stopped: the crawl was {stopped} ({signal.Signals(forwarded[0]).name}); what it stored stays in {db}")
    if child.returncode != 0:
        raise SystemExit(f"crawl failed with exit status {child.returncode}")
    return time.monotonic() - started


def counts(db: Path) -> dict[str, int]:
    with Archive.open(db, create=False) as archive:
        return archive.counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("demo.db"))
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    sites = load_manifest(HERE / "pages" / "pages.json")
    pages = sum(len(p) for p in sites.values())
    run_dir = HERE / "run"
    run_dir.mkdir(exist_ok=True)
    config = run_dir / "sources.toml"
    with ReplayWeb(sites, conditional=True) as web:
        config.write_text(web.sources_toml(delay_secs=0.25), encoding="utf-8")
        print(f"Serving {pages} real news pages from {len(sites)} sites on 127.0.0.2-127.0.0.{1 + len(sites)} (offline).\n")

        print("== First crawl")
        first_secs = crawl(config, args.db)
        first = counts(args.db)
        print(_table(first))

        edit_site = web.sites[EDIT_SITE]
        page = next(p for p in edit_site.pages.values() if EDIT_OLD.encode() in p.body)
        edit_site.edit(page.path, EDIT_OLD, EDIT_NEW)
        print(f"\n== Second crawl, after the server edited one sentence of {edit_site.url(page.path)}:")
        print(f'   "{EDIT_OLD}" -> "{EDIT_NEW}"')
        second_secs = crawl(config, args.db)
        second = counts(args.db)
        print(_table(second, first))

    with Archive.open(args.db, create=False) as archive:
        changed = [
            row["canonical_url"]
            for row in archive.db.query(
                "SELECT DISTINCT a.canonical_url FROM snapshots s JOIN articles a ON a.id = s.article_id "
                "WHERE s.version > 1"
            )
        ]
    for url in changed:
        print(f"\n== What changed\n$ newsarchive history {url} --db {args.db}")
        result = subprocess.run(
            [sys.executable, "-m", "newsarchive", "history", url, "--db", str(args.db)], text=True, capture_output=True
        )
        print(result.stdout.rstrip() or result.stderr.rstrip())
    print(
        f"\nDemo done: {second['articles']} articles, {second['snapshots']} snapshots, {second['captures']} captures "
        f"in {args.db} (crawls took {first_secs:.1f} s and {second_secs:.1f} s)."
    )
    print(f"Browse it:  make serve   (or: .venv/bin/newsarchive serve --db {args.db})")


def _table(now: dict[str, int], before: dict[str, int] | None = None) -> str:
    names = ["articles", "snapshots", "captures", "bodies", "aliases", "failures"]
    cells = []
    for name in names:
        cell = f"{name} {now[name]}"
        if before is not None:
            cell += f" ({now[name] - before[name]:+d})"
        cells.append(cell)
    return "   archive: " + ", ".join(cells)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        main()
    except KeyboardInterrupt:  # before or after a crawl (during one, the crawl handles it)
        raise SystemExit("demo stopped (SIGINT)") from None
