"""The reliability and security battery (../shared/docs/reliability.md), as release figures.

Runs the hostile web of ``tests/hostile.py`` through the real ``scrapy crawl`` /
``newsarchive`` commands (``tests/battery.py``, the same scenarios the tests assert on),
on loopback only, and prints the figures of reliability.md section 3, one line each:
hostile inputs x runs, memory and time bounds, kill -9 at K seeded points, overlapping
runs, bounded queues (``benchmarks/queues.py``), disk full, schema upgrade, idempotence, robots.txt matrix, politeness, SSRF, SQL
injection, path traversal, secrets, TLS, pinned versions. The Datasette figures (stored XSS
in headless Chromium, Datasette under write load) come from ``benchmarks/reliability_web.py``
when it is there.

Per hostile page (``tests.battery.PAGE_CASES``: the attributes bomb, deep nesting, UTF-16
without a byte-order mark, a body on a connection left open, ...), one crawl of that page
alone: the crawl's time against a crawl of one plain story, the longest the crawl's reactor
was held (``benchmarks/stallmeter.py``), what was recorded, and peak memory.

Usage: python -m benchmarks.reliability [--runs 3] [--kills 200] [--seed 2026] [--pages]
(about 15 minutes with the defaults on two cores; ``--kills 20 --runs 1`` for a quick look;
``--pages``: the per-page lines only, about 2 minutes)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import queues
from tests import battery
from tests.battery import (
    FETCH_BOMBS,
    ROBOTS_CASES,
    SCHEME_PAYLOADS,
    SQL_PAYLOADS,
    byte_exact_drill,
    content_battery,
    disk_full_points,
    fetch_battery,
    idempotence_drill,
    PAGE_CASES,
    kill_drill,
    listening_drill,
    overlap_drill,
    page_battery,
    rss_drill,
    secrets_drill,
    ssrf_battery,
    tls_drill,
    traversal_drill,
    upgrade_drill,
)

CAP_MIB = 20
TIMEOUT_SECS = 1.0  # DOWNLOAD_TIMEOUT in the battery (tests/battery.py)
RETRIES = 2
NO_CONTROL = {"ipv6_loopback", "ula"}  # Scrapy's default resolver cannot reach IPv6 literals, guard or not

PINS = [
    ("Scrapy", "scrapy", ">= 2.14.2 (pyproject.toml): the Referrer-Policy fix and the 2.11.x advisories' fixes (decompression "
                         "bombs, Authorization/Cookie on cross-domain redirects, offsite redirects); DOWNLOAD_VERIFY_CERTIFICATES"),
    ("Twisted", "twisted", "Scrapy's HTTP/1.1 client (DataLoss, PotentialDataLoss, TLS via pyOpenSSL)"),
    ("brotli", "brotli", ">= 1.2.0: CVE-2025-6176, brotli decompression bomb"),
    ("trafilatura", "trafilatura", "extraction"),
    ("htmldate", "htmldate", "dates (max_date: no future days)"),
    ("feedparser", "feedparser", ">= 6.0.11; parse() is given a stream, never a str/bytes it could open as a path or URL"),
    ("lxml", "lxml", "sitemaps: resolve_entities=False, no_network, no DTD"),
    ("sqlite-utils", "sqlite-utils", "the archive's writes and migrations (all pending ones in one transaction)"),
    ("Datasette", "datasette", "the web interface (its figures: benchmarks/reliability_web.py)"),
]


def line(label: str, text: str) -> None:
    print(f"- {label}: {text}")


def hostile_inputs(work: Path, runs: int) -> dict:
    """The fetch and content batteries, ``runs`` times each."""
    totals = {"inputs": 0, "crashes": 0, "tracebacks": 0, "failed_snapshots": 0, "truncated": 0, "truncated_flagged": 0,
              "retry_after_cases": 0, "retry_after_honoured": 0, "robots_cases": 0, "robots_agree": 0, "worst_secs": 0.0,
              "canary_hits": 0, "xxe_leaks": 0, "local_file_reads": 0}
    for run in range(runs):
        for name, build in (("fetch", fetch_battery), ("content", content_battery)):
            b = build(work / f"{name}-{run}")
            r = b.run
            inputs = r.value("SELECT count(*) FROM (SELECT url FROM captures UNION SELECT url FROM failures)")
            totals["inputs"] += inputs
            totals["crashes"] += bool(r.crash_signs())
            totals["tracebacks"] += r.tracebacks()
            totals["failed_snapshots"] += r.value(
                "SELECT count(*) FROM snapshots s JOIN captures c ON c.id = s.capture_id WHERE c.outcome IN ('failed', 'flagged')")
            totals["failed_snapshots"] += sum(len(r.snapshots_of(row["url"])) for row in r.rows("SELECT url FROM failures WHERE capture_id IS NULL"))
            if name == "fetch":
                fetch_figures(b, totals)
            else:
                content_figures(b, totals)
    return totals


def fetch_figures(b, totals: dict) -> None:
    r = b.run
    for key in ("rst", "fin", "cl", "chunked", "close_cut", "gzip_cut"):
        totals["truncated"] += 1
        captures = r.captures(b.urls[key])
        flagged = (key in ("close_cut", "gzip_cut") and [c["flag"] for c in captures] == ["partial"]) or (
            key not in ("close_cut", "gzip_cut") and not captures and r.failures().get(b.urls[key]) == ["truncated"])
        totals["truncated_flagged"] += flagged
    for key in ("silent", "trickle"):
        hits = b.hits(key)
        if hits:
            totals["worst_secs"] = max(totals["worst_secs"], max(h.ended for h in hits) - hits[0].time)
    for key in ("ra_secs", "ra_date"):
        hits = b.hits(key)
        totals["retry_after_cases"] += 1
        totals["retry_after_honoured"] += len(hits) == 2 and hits[1].time - hits[0].time >= (hits[0].retry_after_secs or 0) - 0.05
    server = b.servers["ra-huge"]
    refused = [h for h in server.hits if h.status == 429]
    totals["retry_after_cases"] += 1
    totals["retry_after_honoured"] += bool(refused) and not [h for h in server.hits if h.time > refused[0].time]


def content_figures(b, totals: dict) -> None:
    r = b.run
    for case, (_, paths, allowed) in ROBOTS_CASES.items():
        server = b.servers[f"robots-{case}"]
        fetched = {p for p in server.paths() if not p.startswith(("/robots", "/feed.xml"))}
        totals["robots_cases"] += 1
        if "/feed.xml" in server.paths():
            totals["robots_agree"] += fetched == allowed
        else:
            kind = battery.ROBOTS_UNREACHABLE_KINDS.get(case, "robots")
            totals["robots_agree"] += allowed == set() and r.failures().get(server.url("/feed.xml")) == [kind]
    totals["canary_hits"] += b.servers["canary"].any_hits
    canary = b.extra["xxe_canary"]
    stored = "\n".join(str(v) for row in r.rows("SELECT * FROM captures") for v in row.values()) + r.log
    totals["xxe_leaks"] += canary in stored
    totals["local_file_reads"] += len(b.hits("local_file_target"))


STALL_METER = {"EXTENSIONS": json.dumps({"benchmarks.stallmeter.StallMeter": 0})}
#: issue 14: no page may hold the crawl process longer than this
HOLD_MAX_SECS = 2.0


def recorded(run, url: str) -> str:
    """What the archive holds for ``url``: its captures (outcome, flag, encoding) and failures."""
    parts = []
    for c in run.captures(url):
        parts.append(f"capture {c['outcome']}" + (f" ({c['flag']})" if c["flag"] else "") + (f", {c['encoding']}" if c["encoding"] else ""))
    for f in run.rows("SELECT kind, message FROM failures WHERE url = ?", [url]):
        parts.append(f"failure {f['kind']}: {f['message'][:70]}")
    return "; ".join(parts) or "nothing"


def per_page(work: Path) -> list[dict]:
    """One crawl per hostile page of PAGE_CASES, with the stall meter on."""
    rows = []
    for case in PAGE_CASES:
        b = page_battery(work / case, [case], settings=STALL_METER)
        r = b.run
        rows.append({"case": case, "secs": r.seconds, "held": r.stats().get("stall/max_secs", 0.0), "rss": r.peak_rss_mib,
                     "recorded": recorded(r, b.urls[case]), "crash": bool(r.crash_signs())})
    return rows


def print_per_page(rows: list[dict]) -> None:
    base = next(r for r in rows if r["case"] == "story")
    for r in rows:
        line(f"Page {r['case']}", f"crawl {r['secs']:.1f} s ({r['secs'] / base['secs']:.2f}x the plain story's {base['secs']:.1f} s), "
             f"reactor held at most {r['held']:.2f} s, peak RSS {r['rss']:.0f} MiB ({r['rss'] - base['rss']:+.0f}); "
             f"{'CRASHED; ' if r['crash'] else ''}{r['recorded']}")
    worst = max(rows, key=lambda r: r["held"])
    over = [r["case"] for r in rows if r["held"] > HOLD_MAX_SECS]
    line("No page holds the crawl", f"{len(rows)} hostile pages, one crawl each: the longest the reactor was held is "
         f"{worst['held']:.2f} s ({worst['case']}); over {HOLD_MAX_SECS:.0f} s: {', '.join(over) or 'none'}")


def politeness_under_load(work: Path) -> dict:
    """Two hosts, ten URLs each: Crawl-delay 0.5 s on one, delay_secs 0.25 s for the other."""
    from tests.hostile import HostileServer

    with HostileServer("127.0.0.94", name="crawl-delay", robots="User-agent: *\nCrawl-delay: 0.5\n") as slow, \
            HostileServer("127.0.0.95", name="delay-secs") as plain:
        for server in (slow, plain):
            server.links = [f"/page/{server.name}-{i}" for i in range(10)]
        text = battery.config_toml(*(battery.source_toml(s.name, feeds=[s.url("/feed.xml")]) for s in (slow, plain)), delay_secs=0.25)
        battery.scrapy_crawl(work, text)
    result = {}
    for server, delay in ((slow, 0.5), (plain, 0.25)):
        hits = [h for h in server.hits if h.path != "/robots.txt"]
        gaps = [b.time - a.time for a, b in zip(hits, hits[1:], strict=False)]
        overlaps = sum(1 for a, b in zip(hits, hits[1:], strict=False) if b.time < a.ended)
        per_second = max(sum(1 for h in hits if t.time <= h.time < t.time + 1) for t in hits)
        result[server.name] = {"delay": delay, "min_gap": min(gaps), "overlaps": overlaps, "per_second": per_second}
    return result


def cli_disk_full(work: Path) -> dict | None:
    """Disk full on a real file system: a 1 MiB tmpfs (needs root), filled to several levels;
    at each, ``newsarchive archive --html`` of a large page must exit 4 (or succeed), leave the
    archive sound, and succeed once space is freed."""
    if os.geteuid() != 0:
        return None
    mount = work / "tmpfs"
    mount.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        return None
    result = {"points": 0, "failed_cleanly": 0, "corrupt": 0, "recovered": 0}
    try:
        page = work / "page.html"
        page.write_bytes(battery.story_html("Disk full", text="A story. " * 50))
        edited = work / "edited.html"  # another story: a new (incompressible) body and a new snapshot
        edited.write_bytes(battery.story_html("Disk full", text="An edited story. " * 50) + b"<!--" + os.urandom(150_000).hex().encode() + b"-->")
        for point, margin in enumerate((2_000, 10_000, 30_000, 60_000)):  # bytes left: all under the new body's size
            db = mount / f"a{point}.db"
            # the archive on the small disk; the log and the outputs beside it, on the big one
            first = battery.newsarchive(work, "archive", "--html", page, "--url", "http://x.example/one", db=str(db))
            if first.returncode != 0:
                continue
            stat = os.statvfs(mount)
            filler = mount / "filler"
            filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - margin))
            full = battery.newsarchive(work, "archive", "--html", edited, "--url", "http://x.example/two", db=str(db))
            result["points"] += 1
            filler.unlink()  # (SQLite cannot even open its shared memory on a full disk)
            conn = sqlite3.connect(db)
            try:
                ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                snapshots = conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
            finally:
                conn.close()
            result["corrupt"] += not ok
            result["failed_cleanly"] += full.returncode == 4 and ok and snapshots == 1
            again = battery.newsarchive(work, "archive", "--html", edited, "--url", "http://x.example/two", db=str(db))
            result["recovered"] += again.returncode == 0
            for leftover in mount.glob(f"a{point}.db*"):
                leftover.unlink()
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mount)], check=False)
    return result


def web_figures() -> list[str]:
    if importlib.util.find_spec("benchmarks.reliability_web") is None:
        return ["web figures: run after archive/web lands"]
    from benchmarks.reliability_web import run

    return run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the hostile batteries (default 3)")
    parser.add_argument("--kills", type=int, default=200, help="kill -9 points (default 200)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the kill points")
    parser.add_argument("--pages", action="store_true", help="only the per-page lines (one crawl per hostile page)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        work = Path(tmp)
        print(f"newsarchive reliability battery (../shared/docs/reliability.md), loopback only; seed {args.seed}")
        print_per_page(per_page(work / "pages"))
        if args.pages:
            print(f"({time.monotonic() - started:.0f} s, Python {sys.version.split()[0]})")
            return

        h = hostile_inputs(work / "hostile", args.runs)
        per_run = h["inputs"] // max(1, args.runs)
        line("Hostile inputs", f"{per_run} hostile inputs (URLs fetched or refused by the fetch and content batteries) x {args.runs} runs: "
             f"{h['crashes']} crashes, {h['tracebacks']} unhandled exceptions in logs, {h['failed_snapshots']} snapshots from failed "
             f"or refused fetches, {h['truncated_flagged']}/{h['truncated']} truncated captures failed or flagged partial")
        rss = rss_drill(work / "rss")
        line("Memory and time bounds", f"peak RSS during bomb and huge-body tests {rss['hostile_mib']:.0f} MiB against {rss['baseline_mib']:.0f} MiB "
             f"for one small page (+{rss['hostile_mib'] - rss['baseline_mib']:.0f} MiB; cap {CAP_MIB} MiB, bound +{3 * CAP_MIB} MiB); "
             f"{rss['refused']}/{rss['inputs']} bombs ({', '.join(FETCH_BOMBS)}, endless, huge, 50 MiB text node, sitemap gzip bomb) refused; "
             f"worst-case time per hostile URL {h['worst_secs']:.1f} s (timeout {TIMEOUT_SECS:.0f} s x {RETRIES + 1} tries)")

        line("Bounded queues", queues.line(queues.feed_queue_drill(work / "queues")))

        kills = kill_drill(work / "kill", args.kills, args.seed)
        phases = {}
        for p in kills.points:
            phases[p["phase"]] = phases.get(p["phase"], 0) + 1
        migrated = sum(1 for p in kills.points if p["phase"] == "migration" and p.get("migrated"))
        final = kills.final
        line("Crash safety", f"kill -9 at K = {len(kills.points)} seeded random points ({', '.join(f'{n} {k}' for k, n in sorted(phases.items()))}; "
             f"{migrated} of the migration points after the upgrade committed): integrity_check ok {kills.integrity_ok}/{len(kills.points)}, "
             f"{kills.lost} committed snapshots lost, {sum(p['half_rows'] for p in kills.points)} half-written rows, "
             f"{final['duplicates']} duplicates after resume ({final['articles']} articles, {final['snapshots_count']} snapshots for "
             f"{kills.pages} stories), digest mismatches {sum(p['digest_mismatches'] for p in kills.points) + final['digest_mismatches']}, "
             f"{kills.mixed_schemas} mixed schemas")

        o = overlap_drill(work / "overlap")
        line("Overlapping runs", f"5 simultaneous cron starts -> {o.wrapped_codes.count(0)} crawl ran ({o.wrapped_codes.count(3)} exited 3; "
             f"{o.wrapped_crawls} crawls row). Unwrapped 3 concurrent writers: exit {o.raw_codes}, {o.raw_locked_messages} 'database is locked' "
             f"surfaced, {o.raw_duplicates} duplicate snapshots ({o.raw_articles} articles, {o.raw_snapshots} snapshots for {o.pages} stories)")

        for text in web_figures():
            line("Datasette (web)", text)

        d = disk_full_points(work / "diskfull.db", 40)
        cli = cli_disk_full(work / "diskfull-cli")
        cli_text = (f"; on a 1 MiB tmpfs: {cli['failed_cleanly']}/{cli['points']} clean failures (exit 4, archive sound), "
                    f"{cli['corrupt']} corruptions, {cli['recovered']}/{cli['points']} recovered after space freed") if cli else "; tmpfs points need root"
        line("Disk full", f"{d['full']} injected disk-full points (SQLITE_FULL via max_page_count, of {d['points']} writes): "
             f"{d['clean']}/{d['full']} clean failures (StorageError, rollback), {d['corrupt']} corruptions, "
             f"{d['recovered']}/{d['full']} recovered after space freed{cli_text}")

        u = upgrade_drill(work / "upgrade")
        line("Schema upgrade", f"migration from 0.1.0 (archive-v1) to {u['migrations'][-1]}: rows and content hashes "
             f"{'identical' if u['identical'] else 'DIFFERENT'}, second run {'no-op' if u['second_noop'] and u['second_unchanged_bytes'] else 'CHANGED'}, "
             f"{u['kills']} kills mid-migration -> {u['mixed']} mixed schemas ({u['after_kill_upgrades']}/{u['kills']} upgraded on the next open); "
             f"newer schema {'refused (exit 4, file untouched)' if u['newer_refused'] else 'NOT refused'}")

        i = idempotence_drill(work / "idempotence", pages=10)
        line("Idempotence", f"re-crawl unchanged site: {i['second']} new snapshots (304s: {i['second_304']}/{i['pages']}); "
             f"one changed article -> exactly {i['third']} new snapshot (304s: {i['third_304']})")

        line("robots.txt", f"robots.txt matrix: {h['robots_agree']}/{h['robots_cases']} cases match the RFC 9309 decision table "
             f"({len(ROBOTS_CASES)} cases: {', '.join(ROBOTS_CASES)})")
        p = politeness_under_load(work / "polite")
        line("Politeness", f"max observed requests per host-second {max(v['per_second'] for v in p.values())} "
             f"(configured: 1 per {min(v['delay'] for v in p.values())} s), min gap "
             + ", ".join(f"{v['min_gap']:.2f} s for {v['delay']} s" for v in p.values())
             + f", {sum(v['overlaps'] for v in p.values())} overlapping requests on a host; Retry-After honored in "
             f"{h['retry_after_honoured']}/{h['retry_after_cases']} 429/503 cases (minimum gap >= header value; beyond the cap: host deferred)")

        guarded = ssrf_battery(work / "ssrf-guarded")
        control = ssrf_battery(work / "ssrf-control", allow_private=True)
        unpinned = ssrf_battery(work / "ssrf-unpinned", dnscache=False, only=["rebind"])
        payloads = len(guarded.payloads) + len(SCHEME_PAYLOADS)
        private_connects = [e for e in guarded.net if e["event"] in ("connect", "blocked") and not e["to"].startswith(battery.PUBLIC_IP)]
        controlled = set(control.payloads) - NO_CONTROL - {"rebind"}
        line("SSRF", f"{payloads} payloads ({len(guarded.payloads)} URLs: loopback spellings, private and special ranges, names, "
             f"redirect, meta refresh, DNS rebinding; {len(SCHEME_PAYLOADS)} schemes), {len(guarded.canary_paths)} canary hits, "
             f"{len(private_connects)} connect attempts to non-loopback special ranges, {h['local_file_reads'] + h['xxe_leaks']} local files read "
             f"(XXE, feed body naming a file); positive controls: guard off -> {len(control.reached() & controlled)}/{len(controlled)} reached the canary "
             f"({len(NO_CONTROL)} IPv6 literals unreachable by Scrapy's resolver either way), DNS cache off -> rebinding "
             f"{'reached' if unpinned.reached() == {'rebind'} else 'did NOT reach'} the canary; feeds and sitemaps: {h['canary_hits']} canary hits")

        line("Stored XSS", "see the web figures above (benchmarks/reliability_web.py)")
        r30 = [b for b in (work / "hostile").glob("content-*")]
        schema_diffs = 0
        exact = 0
        fresh = work / "fresh.db"
        from archive.database import Archive

        Archive.open(fresh).close()
        for folder in r30:
            db = folder / "archive.db"
            schema_diffs += battery.schema_of(db) != battery.schema_of(fresh)
            conn = sqlite3.connect(db)
            titles = {r[0] for r in conn.execute("SELECT title FROM snapshots s JOIN articles a ON a.id = s.article_id WHERE a.site = 'inject'")}
            conn.close()
            exact += sum(1 for payload in SQL_PAYLOADS if payload in titles)
        be = byte_exact_drill(work / "byte-exact.db")
        line("SQL and identifier injection", f"{len(SQL_PAYLOADS)} payloads in crawled titles, authors, keywords and URLs x {len(r30)} runs: "
             f"schema diff {'empty' if schema_diffs == 0 else f'in {schema_diffs} runs'}, titles byte-exact {exact}/{len(SQL_PAYLOADS) * len(r30)}; "
             f"{be['values']} values through the archive layer into {be['fields']} fields: {be['exact']}/{be['fields']} byte-exact, "
             f"schema diff {'empty' if be['schema_same'] else 'NOT empty'}")
        t = traversal_drill(work / "traversal")
        line("Path traversal", f"{t['names']} hostile titles exported + {t['link_cases']} symbolic-link --out names (export-warc, backup): "
             f"{len(t['outside']) + len(t['through_links'])} files outside OUTDIR, {t['link_refusals']}/{t['link_cases']} links refused (exit 2)")
        secret = "CANARY-SECRET-" + os.urandom(4).hex()
        s = secrets_drill(work / "secrets", secret)
        ports = listening_drill(work / "listening")
        line("Secrets", f"canary password in a URL given to archive, in feed links and in a config: {len(s['occurrences'])} occurrences in "
             f"logs, DB, WAL and exports (archive exit {s['archive_exit']}, config exit {s['config_exit']}, linked page fetched without "
             f"credentials: {s['linked_without_credentials']}); listening ports of a running crawl: {len(ports['listening'])} "
             f"(telnet console and remote control off)")
        tls = tls_drill(work / "tls")
        refused = tls["refused_exit"] == 1 and tls["captures"] == 0 and "certificate verify failed" in json.dumps(tls["failures"])
        line("TLS", f"self-signed certificate on loopback: {'refused' if refused else 'NOT refused'} ({tls['failures'][0]['kind'] if tls['failures'] else '-'}: "
             f"certificate verify failed); control with DOWNLOAD_VERIFY_CERTIFICATES=False: {tls['control_outcome']}")
        versions = []
        for name, dist, covers in PINS:
            try:
                versions.append(f"{name} {importlib.metadata.version(dist)} ({covers})")
            except importlib.metadata.PackageNotFoundError:
                versions.append(f"{name} not installed")
        versions.append(f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL, busy_timeout 30000 ms, BEGIN IMMEDIATE)")
        line("Pinned versions", "; ".join(versions))
        print(f"({time.monotonic() - started:.0f} s, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
