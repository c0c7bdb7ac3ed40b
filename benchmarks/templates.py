"""Site templates: precision, recall and dates with and without them, on replay sites.

Each replay site is one real page's layout (benchmarks/template_sites.py) with 24 story
pages whose teaser sidebar (other headlines and their times) differs from page to page,
inside the story's container on half the sites and beside it on the others; one page in
four states no date of its own. The sites are served on loopback and crawled by the real
``newsarchive crawl`` twice into two archives, one with templates learned (the default) and
one without (``template_min_stories = 0``): the first crawl sees 12 stories a site (the
template is learned at its end), the second crawl 12 new ones (extracted with it).

Prints, for the second crawl's stories: precision and recall of the story text (the
article extraction benchmark's 4-token shingles, benchmarks/scoring.py), dates day-exact
(no date where the page states none), and dates taken from the sidebar; the same for the
first crawl's stories after ``newsarchive reextract``; then, in process, the same scores
when the template is learned from the first k stories of each site: how many stories a site
needs before its template helps; and the time extraction takes with a template, without one
and by bare ``trafilatura.extract`` (its defaults), and learning's time per story (same run,
same pages).

Usage: python -m benchmarks.templates [--sites 8] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trafilatura

from benchmarks.scoring import text_score
from benchmarks.template_sites import TIME_STYLES, StoryPage, layouts, site_pages
from demo.replay import ReplayPage, ReplayWeb
from crawler.options import ExtractOptions
from pipelines.extraction import extract
from pipelines.extraction.html import parse_document
from pipelines.extraction.template import learn

ROOT = Path(__file__).resolve().parents[1]
PAGES = 24
FIRST = 12
CURVE = (0, 2, 3, 4, 6, 8, 12)


def run(*args: object) -> str:
    result = subprocess.run([sys.executable, "-m", "newsarchive", *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.stderr)
    return result.stdout.strip()


def scores(results: list[tuple[StoryPage, str | None, str | None]]) -> str:
    """``P .. R .. dates a/b, sidebar dates n`` for (page, text, published) triples."""
    text = text_score([(page.text, got) for page, got, _ in results])
    exact = sum((published or "")[:10] == (page.published or "") for page, _, published in results)
    return f"P {text.precision:.3f}  R {text.recall:.3f}  dates {exact}/{len(results)} right"


def sidebar_dated(results) -> int:
    """Results whose date is not the page's own but a day its sidebar shows."""
    return sum(
        bool(published) and published[:10] != (page.published or "") and published[:10] in page.teaser_days
        for page, _, published in results
    )


def stored(db: Path, web: ReplayWeb, pages: dict[str, list[StoryPage]]) -> list[tuple[StoryPage, str | None, str | None]]:
    """(page, latest text, latest published) of each page in the archive."""
    out = []
    with sqlite3.connect(db) as conn:
        for name, site_pages_ in pages.items():
            for page in site_pages_:
                row = conn.execute(
                    "SELECT s.text, s.published FROM articles a JOIN snapshots s ON s.id = a.latest_snapshot_id "
                    "WHERE a.canonical_url = ?",
                    [web.sites[name].url(page.path)],
                ).fetchone()
                out.append((page, row[0] if row else None, row[1] if row else None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    if not (args.shared / "data").is_dir():
        sys.exit(f"no shared data at {args.shared / 'data'} (the real pages these sites are made of)")
    found, pool = layouts(args.shared, args.sites)
    sites = {
        f"layout{n}": site_pages(layout, pool, PAGES, inside=n % 2 == 0, style=n // 2, seed=n)
        for n, layout in enumerate(found)
    }
    first = {name: pages[:FIRST] for name, pages in sites.items()}
    second = {name: pages[FIRST:] for name, pages in sites.items()}
    print(f"{len(sites)} replay sites of {PAGES} story pages, each on one real page's layout "
          f"(sidebar inside the story's container on {sum(1 for n in range(len(sites)) if n % 2 == 0)}); "
          f"{sum(p.published is None for ps in sites.values() for p in ps)} pages state no date; "
          f"teasers' times as {', '.join(repr(s) for s in TIME_STYLES)} (two sites each)")

    def replay(pages: list[StoryPage]) -> list[ReplayPage]:
        return [ReplayPage(path=p.path, body=p.body, original_url=f"https://example.invalid{p.path}", title=p.title) for p in pages]

    with tempfile.TemporaryDirectory() as tmp, ReplayWeb({n: replay(p) for n, p in first.items()}) as web:
        tmp = Path(tmp)
        results = {}
        for label, minimum in (("without templates", 0), ("with templates", None)):
            config = tmp / f"{label.split()[0]}.toml"
            text = web.sources_toml(sections=False, sitemaps=False)
            if minimum is not None:
                text = text.replace("[crawl]\n", f"[crawl]\ntemplate_min_stories = {minimum}\n", 1)
            config.write_text(text)
            db = tmp / f"{label.split()[0]}.db"
            for name, site in web.sites.items():  # the first 12 stories only
                site.pages = {p.path: p for p in replay(first[name])}
            run("crawl", "--config", config, "--db", db, "--no-revisit")
            for name, site in web.sites.items():  # 12 more stories appear
                site.pages.update({p.path: p for p in replay(second[name])})
            run("crawl", "--config", config, "--db", db, "--no-revisit")
            new = stored(db, web, second)
            run("reextract", "--db", db)
            old = stored(db, web, first)
            results[label] = (new, old)
            learned = run("templates", "--db", db)
        print(f"templates: {learned.count('template v')} of {len(sites)} sites learned one after the first crawl")
        print("\ncrawled by newsarchive crawl (second crawl: 12 new stories a site)")
        for label, (new, old) in results.items():
            print(f"  {label:<18} {scores(new)}, {sidebar_dated(new)} from the sidebar")
        print("first crawl's stories after newsarchive reextract")
        for label, (new, old) in results.items():
            print(f"  {label:<18} {scores(old)}, {sidebar_dated(old)} from the sidebar")

    print("\nstories a site needs: template learned in process from the first k stories, "
          f"scored on the last {PAGES - FIRST} of each site")
    learning = 0.0
    for k in CURVE:
        got = []
        for name, pages in sites.items():
            template = None
            if k:
                started = time.perf_counter()
                trees = [(parse_document(p.body)[0], f"http://127.0.0.2{p.path}") for p in pages[:k]]
                template = learn(trees, site=name)
                if k == CURVE[-1]:
                    learning += time.perf_counter() - started
            for page in pages[FIRST:]:
                e = extract(page.body, f"http://127.0.0.2{page.path}", options=ExtractOptions(template=template))
                got.append((page, e.text, e.published.value if e.published else None))
        blocks = "generic extraction" if not k else "template"
        print(f"  k = {k:>2} ({blocks:<18}) {scores(got)}, {sidebar_dated(got)} from the sidebar")
    # time: each page with and without its site's template and by bare trafilatura (its
    # defaults), interleaved, fastest of 3
    plain = with_template = bare = 0.0
    for name, pages in sites.items():
        template = learn([(parse_document(p.body)[0], f"http://127.0.0.2{p.path}") for p in pages[:FIRST]], site=name)
        for page in pages[FIRST:]:
            url = f"http://127.0.0.2{page.path}"
            runs = (
                lambda: extract(page.body, url),
                lambda: extract(page.body, url, options=ExtractOptions(template=template)),
                lambda: trafilatura.extract(page.body, url=url),
            )
            best = [float("inf")] * len(runs)
            for _ in range(3):
                for i, run_one in enumerate(runs):
                    started = time.perf_counter()
                    run_one()
                    best[i] = min(best[i], time.perf_counter() - started)
            plain += best[0]
            with_template += best[1]
            bare += best[2]
    n = len(sites) * (PAGES - FIRST)
    print(f"\ntime (ms a page, fastest of 3 interleaved runs): with a template {with_template / n * 1000:.1f}, "
          f"generic {plain / n * 1000:.1f}, bare trafilatura.extract {bare / n * 1000:.1f}: "
          f"with a template {with_template / bare:.2f}x bare trafilatura, generic {plain / bare:.2f}x "
          f"(with a template {with_template / plain:.2f}x the generic extraction); "
          f"learning {learning / (CURVE[-1] * len(sites)) * 1000:.0f} ms a story (parsing included)")


if __name__ == "__main__":
    main()
