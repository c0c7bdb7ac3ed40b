"""Extraction quality and speed on the shared real pages, per fixed half of the sites.

The shared sites are split in two by a hash of the host (:mod:`benchmarks.split`): rules
are tuned on ``tune``; ``check`` stands in for the pages we do not have. Printed:

- quality, per half: F1 / precision / recall (the article-extraction-benchmark's metric,
  :mod:`benchmarks.scoring`) over the pages with a whole-body truth (article-extraction-
  benchmark, Readability's real pages); trafilatura-eval's segments found and pages leaking
  boilerplate; dates (trafilatura-eval, htmldate-eval, Readability's dated pages) day-exact
  and wrong; authors (Readability's bylines, trafilatura-eval's authors) exact, and their
  words' precision and recall. newsarchive beside bare trafilatura (defaults, and without
  comments). Then the stories cut short: pages where newsarchive's recall is under 0.5 and
  trafilatura's full mode (no comments) finds 0.9 or more (issue 13: there must be none).
- ablation, per half: each rule of :data:`pipelines.extraction.RULES` switched off in turn,
  the change in F1, precision, recall, leaking pages, day-exact and wrong dates, pages
  whose authors are exact, and how many pages' results changed. A rule that stays must
  pay on the ``check`` half.
- time: median ms/page over the article-extraction-benchmark, newsarchive against bare
  trafilatura with its defaults, in the same run; each page timed ``--repeat`` times per
  extractor, the extractors taking turns, its fastest time kept.

Usage: python -m benchmarks.extraction [--shared ../shared] [--only quality,ablation,time] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

import pipelines.extraction as extraction
from benchmarks.scoring import author_score, cut_short, date_score, segment_score, text_score
from benchmarks.split import HALVES, half_of

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Page:
    key: str
    url: str | None
    body: bytes
    truth: dict
    set: str = ""

    @property
    def half(self) -> str:
        return half_of(self.url, self.key)


@dataclass
class Result:
    text: str
    day: str | None
    ms: float
    standfirst: str = ""
    authors: list[str] = field(default_factory=list)


def ours(page: Page) -> Result:
    started = time.perf_counter()
    try:
        e = extraction.extract(page.body, page.url)
        text, day, standfirst, authors = e.text, (e.published.day if e.published else None), e.standfirst or "", e.authors
    except ValueError:
        text, day, standfirst, authors = "", None, "", []
    return Result(text, day, (time.perf_counter() - started) * 1000, standfirst, authors)


def bare(include_comments: bool) -> Callable[[Page], Result]:
    def run(page: Page) -> Result:
        started = time.perf_counter()
        doc = trafilatura.bare_extraction(page.body, url=page.url, include_comments=include_comments, with_metadata=True)
        ms = (time.perf_counter() - started) * 1000
        text = trafilatura.extract(page.body, url=page.url, include_comments=include_comments) or ""
        authors = (doc.author or "").split("; ") if doc is not None and doc.author else []
        return Result(text, doc.date if doc is not None and doc.date else None, ms, authors=authors)

    return run


def bare_time(page: Page) -> float:
    started = time.perf_counter()
    trafilatura.extract(page.body, url=page.url)
    return (time.perf_counter() - started) * 1000


EXTRACTORS = {"newsarchive": ours, "trafilatura": bare(True), "trafilatura, no comments": bare(False)}


# -- data sets ---------------------------------------------------------------------


def aeb_pages(data: Path) -> list[Page]:
    folder = data / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        Page(key, item.get("url"), gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes()), item, "aeb")
        for key, item in sorted(truth.items())
    ]


def folder_pages(root: Path, *, only_real: bool = False) -> list[Page]:
    pages = []
    for expected_path in sorted(root.rglob("expected.json")):
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        if only_real and expected.get("kind") not in (None, "page"):
            continue
        source = expected_path.with_name("source.html")
        if source.exists():
            key = str(expected_path.parent.relative_to(root))
            pages.append(Page(key, expected.get("url"), source.read_bytes(), expected, root.name))
    return pages


def all_pages(data: Path) -> list[Page]:
    """Every scored page once: the article benchmark, Readability's real pages, trafilatura's
    and htmldate's evaluation pages."""
    return [
        *aeb_pages(data),
        *folder_pages(data / "readability-testpages", only_real=True),
        *folder_pages(data / "trafilatura-eval"),
        *folder_pages(data / "htmldate-eval"),
    ]


def byline_truth(page: Page) -> str | None:
    return page.truth.get("byline") if page.set == "readability-testpages" else page.truth.get("author") if page.set == "trafilatura-eval" else None


def body_truth(page: Page) -> str | None:
    return page.truth.get("articleBody") if page.set == "aeb" else page.truth.get("body_text") if page.set == "readability-testpages" else None


# -- scores ------------------------------------------------------------------------


def scores(pages: list[Page], results: list[Result]) -> dict:
    """The figures of one half: text F1/P/R, segments found/leaking, dates exact/wrong."""
    pairs = list(zip(pages, results, strict=True))
    text = text_score((body_truth(p), r.text) for p, r in pairs if body_truth(p))
    segments = segment_score(
        (p.truth.get("must_contain") or [], p.truth.get("must_not_contain") or [], r.text) for p, r in pairs if p.set == "trafilatura-eval"
    )
    dated = [(p.truth["published"], r.day) for p, r in pairs if p.set != "aeb" and p.truth.get("published")]
    dates = date_score(dated)
    authors = author_score((byline_truth(p), r.authors) for p, r in pairs if byline_truth(p))
    return {
        "f1": text.f1, "precision": text.precision, "recall": text.recall, "documents": text.documents,
        "found": segments.found, "leaking": segments.leaking,
        "dates_exact": dates.exact, "dates_truths": dates.truths, "dates_wrong": dates.wrong,
        "authors_exact": authors.exact, "authors_pages": authors.pages,
        "authors_precision": authors.precision, "authors_recall": authors.recall,
    }


def by_half(pages: list[Page], results: list[Result]) -> dict[str, dict]:
    return {
        half: scores([p for p in pages if p.half == half], [r for p, r in zip(pages, results, strict=True) if p.half == half])
        for half in HALVES
    }


HEADER = (
    f"{'half':<6} {'extractor':<25} {'F1':>6} {'prec.':>6} {'recall':>6} {'found':>6} {'leak':>6} {'dates':>9} {'wrong':>5}"
    f" {'authors':>8} {'a.prec':>6} {'a.rec':>6}"
)


def line(half: str, name: str, s: dict) -> str:
    dates = f"{s['dates_exact']}/{s['dates_truths']}"
    return (
        f"{half:<6} {name:<25} {s['f1']:6.3f} {s['precision']:6.3f} {s['recall']:6.3f} "
        f"{s['found']:6.1%} {s['leaking']:6.1%} {dates:>9} {s['dates_wrong']:>5}"
        f" {s['authors_exact']:>4}/{s['authors_pages']:<3} {s['authors_precision']:6.3f} {s['authors_recall']:6.3f}"
    )


def report_quality(pages: list[Page], repeat: int) -> dict:
    figures = {}
    print(f"\n## quality per half ({sum(p.half == 'tune' for p in pages)} tune pages, {sum(p.half == 'check' for p in pages)} check pages)")
    print(HEADER)
    results = {name: [run(p) for p in pages] for name, run in EXTRACTORS.items()}
    # what the archive keeps of a story: its standfirst (a field of its own) and its text
    results["newsarchive, + standfirst"] = [
        Result("\n".join(filter(None, (r.standfirst, r.text))), r.day, r.ms, authors=r.authors) for r in results["newsarchive"]
    ]
    runs = {name: by_half(pages, found) for name, found in results.items()}
    for half in HALVES:
        for name, halves in runs.items():
            print(line(half, name, halves[half]))
            figures[f"{half}/{name}"] = halves[half]
    print("\nstories cut short (newsarchive's recall under 0.5 where trafilatura's full mode, no comments, finds 0.9 or more):")
    for half in HALVES:
        short = cut_short(
            (f"{p.set}/{p.key}", body_truth(p), ours.text, full.text)
            for p, ours, full in zip(pages, results["newsarchive"], results["trafilatura, no comments"], strict=True)
            if p.half == half and body_truth(p)
        )
        print(f"{half:<6} {len(short)}" + (f": {', '.join(short)}" if short else ""))
        figures[f"{half}/cut_short"] = short
    return figures


class _Memo:
    """The ablation's cache of the two costly steps whose input a rule of a later stage does
    not change: trafilatura's main content and htmldate's day, by page and by the cleaning
    and main-content rules switched off (the only ones that change them)."""

    def __init__(self) -> None:
        self.page = ""
        self.cache: dict = {}
        self.main_run, self.find_date = extraction.main.run, extraction.dating.htmldate.find_date

    def key(self, name: str) -> tuple:
        return (name, self.page, frozenset(extraction.OFF & {*extraction.clean.RULES, *extraction.main.RULES}))

    def run(self, tree, url, off=frozenset()):
        key = self.key("main")
        if key not in self.cache:
            self.cache[key] = self.main_run(tree, url, off)
        return self.cache[key]

    def date(self, tree, **kw):
        key = self.key("htmldate")
        if key not in self.cache:
            self.cache[key] = self.find_date(tree, **kw)
        return self.cache[key]


def report_ablation(pages: list[Page], repeat: int) -> dict:
    memo = _Memo()
    extraction.main.run, extraction.dating.htmldate.find_date = memo.run, memo.date
    try:
        return _ablation(pages, memo)
    finally:
        extraction.main.run, extraction.dating.htmldate.find_date = memo.main_run, memo.find_date


def _ablation(pages: list[Page], memo: _Memo) -> dict:
    def run(page: Page) -> Result:
        memo.page = f"{page.set}/{page.key}"
        return ours(page)

    rules = list(extraction.RULES)
    print(f"\n## ablation: each rule switched off in turn (change against all rules on; + is better for F1/P/R/dates, - for leak/wrong)")
    base_results = [run(p) for p in pages]
    base = by_half(pages, base_results)
    print(HEADER)
    for half in HALVES:
        print(line(half, "newsarchive, all rules", base[half]))
    print(f"{'rule':<18} {'half':<6} {'dF1':>7} {'dP':>7} {'dR':>7} {'dleak':>7} {'ddates':>6} {'dwrong':>6} {'dauth':>5} {'changed':>7}")
    figures = {}
    for rule in rules:
        extraction.OFF.add(rule)
        try:
            results = [run(p) for p in pages]
        finally:
            extraction.OFF.discard(rule)
        halves = by_half(pages, results)
        for half in HALVES:
            a, b = base[half], halves[half]
            changed = sum(
                1 for p, r0, r1 in zip(pages, base_results, results, strict=True)
                if p.half == half and (r0.text, r0.day, r0.authors) != (r1.text, r1.day, r1.authors)
            )
            delta = {k: a[k] - b[k] for k in ("f1", "precision", "recall", "leaking", "dates_exact", "dates_wrong", "authors_exact")}
            figures[f"{rule}/{half}"] = {**delta, "changed": changed}
            print(
                f"{rule:<18} {half:<6} {delta['f1']:+7.4f} {delta['precision']:+7.4f} {delta['recall']:+7.4f} "
                f"{-delta['leaking']:+7.1%} {delta['dates_exact']:+6d} {-delta['dates_wrong']:+6d} {delta['authors_exact']:+5d} {changed:>7}"
            )
    return figures


def report_time(pages: list[Page], repeat: int) -> dict:
    """Median ms/page on the article benchmark, newsarchive and bare trafilatura (defaults)."""
    aeb = [p for p in pages if p.set == "aeb"]
    mine, theirs = [], []
    for page in aeb:
        mine.append(min(ours(page).ms for _ in range(repeat)))
        theirs.append(min(bare_time(page) for _ in range(repeat)))
    a, b = statistics.median(mine), statistics.median(theirs)
    print(f"\n## time, article-extraction-benchmark ({len(aeb)} pages, fastest of {repeat} per page)")
    print(f"newsarchive {a:.1f} ms/page, trafilatura (defaults) {b:.1f} ms/page: {a / b:.2f}x")
    return {"newsarchive_ms": a, "trafilatura_ms": b, "ratio": a / b}


REPORTS = {"quality": report_quality, "ablation": report_ablation, "time": report_time}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--only", default=",".join(REPORTS), help="comma-separated: " + ", ".join(REPORTS))
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per page and extractor (the fastest counts)")
    args = parser.parse_args()
    data = args.shared / "data"
    if not data.is_dir():
        sys.exit(f"no shared data at {data}")
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    print(f"trafilatura {trafilatura.__version__}; {extraction.EXTRACTOR}")
    pages = all_pages(data)
    figures = {name: REPORTS[name](pages, args.repeat) for name in args.only.split(",")}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
