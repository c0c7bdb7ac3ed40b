"""Extraction quality and speed: newsarchive against bare trafilatura, on the shared real pages.

Prints, for our extraction and for trafilatura (the installed release, defaults, and
again with ``include_comments=False``), on the same bytes:

- article-extraction-benchmark: F1, precision, recall, accuracy, median ms/page, and our
  time over bare trafilatura's (defaults), measured in this run: each page is timed
  ``--repeat`` times (default 3) for each extractor in turn, and its fastest time kept, so
  that a pause of the machine does not fall on one extractor only;
- trafilatura-eval: share of ``must_contain`` segments found, share of pages leaking any
  ``must_not_contain`` segment;
- readability-testpages (real pages only): F1 against ``body_text``;
- dates on htmldate-eval and trafilatura-eval: day-exact share, wrong dates.

Usage: python -m benchmarks.extraction [--shared ../shared] [--only aeb,eval,readability,dates] [--repeat 3]
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
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from benchmarks.scoring import date_score, segment_score, text_score
from pipelines.extraction import extract

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Page:
    key: str
    url: str | None
    body: bytes
    truth: dict


@dataclass
class Result:
    text: str
    day: str | None
    ms: float


def ours(page: Page) -> Result:
    started = time.perf_counter()
    try:
        e = extract(page.body, page.url)
        text, day = e.text, (e.published.day if e.published else None)
    except ValueError:
        text, day = "", None
    return Result(text, day, (time.perf_counter() - started) * 1000)


def bare(include_comments: bool) -> Callable[[Page], Result]:
    def run(page: Page) -> Result:
        started = time.perf_counter()
        text = trafilatura.extract(page.body, url=page.url, include_comments=include_comments) or ""
        ms = (time.perf_counter() - started) * 1000
        return Result(text, None, ms)

    return run


def bare_date(page: Page) -> str | None:
    doc = trafilatura.bare_extraction(page.body, url=page.url, with_metadata=True)
    return doc.date if doc is not None and doc.date else None


EXTRACTORS = {
    "newsarchive": ours,
    "trafilatura": bare(True),
    "trafilatura, no comments": bare(False),
}


# -- data sets ---------------------------------------------------------------------


def aeb_pages(data: Path) -> list[Page]:
    folder = data / "article-extraction-benchmark"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        Page(key, item.get("url"), gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes()), item)
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
            pages.append(Page(str(expected_path.parent.relative_to(root)), expected.get("url"), source.read_bytes(), expected))
    return pages


# -- reports -----------------------------------------------------------------------


def run_all(pages: list[Page], names: list[str]) -> dict[str, list[Result]]:
    return {name: [EXTRACTORS[name](p) for p in pages] for name in names}


def timed(pages: list[Page], names: list[str], repeat: int) -> dict[str, list[float]]:
    """Per page, the fastest of ``repeat`` runs of each extractor (milliseconds), the
    extractors taking turns page by page."""
    best: dict[str, list[float]] = {name: [] for name in names}
    for page in pages:
        for name in names:
            best[name].append(min(EXTRACTORS[name](page).ms for _ in range(repeat)))
    return best


def report_aeb(data: Path, repeat: int = 3) -> dict:
    pages = aeb_pages(data)
    runs = run_all(pages, list(EXTRACTORS))
    times = timed(pages, list(EXTRACTORS), repeat)
    print(f"\n## article-extraction-benchmark ({len(pages)} pages)")
    print(f"{'extractor':<26} {'F1':>6} {'prec.':>6} {'recall':>6} {'acc.':>6} {'ms/page':>8}")
    figures = {}
    for name, results in runs.items():
        score = text_score((p.truth.get("articleBody"), r.text) for p, r in zip(pages, results, strict=True))
        ms = statistics.median(times[name])
        figures[name] = {"f1": score.f1, "precision": score.precision, "recall": score.recall, "accuracy": score.accuracy, "ms": ms}
        print(f"{name:<26} {score.f1:6.3f} {score.precision:6.3f} {score.recall:6.3f} {score.accuracy:6.3f} {ms:8.1f}")
    ratio = figures["newsarchive"]["ms"] / figures["trafilatura"]["ms"]
    print(f"time, newsarchive / trafilatura (defaults), median per page: {ratio:.2f}x")
    figures["time_ratio"] = ratio
    return figures


def report_eval(data: Path) -> dict:
    pages = folder_pages(data / "trafilatura-eval")
    runs = run_all(pages, list(EXTRACTORS))
    print(f"\n## trafilatura-eval ({len(pages)} pages)")
    print(f"{'extractor':<26} {'found':>7} {'leaking':>8}")
    figures = {}
    for name, results in runs.items():
        score = segment_score(
            (p.truth.get("must_contain") or [], p.truth.get("must_not_contain") or [], r.text) for p, r in zip(pages, results, strict=True)
        )
        figures[name] = {"found": score.found, "leaking": score.leaking}
        print(f"{name:<26} {score.found:7.1%} {score.leaking:8.1%}   ({score.segments} segments)")
    return figures


def report_readability(data: Path) -> dict:
    pages = [p for p in folder_pages(data / "readability-testpages", only_real=True) if p.truth.get("body_text")]
    runs = run_all(pages, list(EXTRACTORS))
    print(f"\n## readability-testpages, real pages ({len(pages)} pages)")
    print(f"{'extractor':<26} {'F1':>6} {'prec.':>6} {'recall':>6}")
    figures = {}
    for name, results in runs.items():
        score = text_score((p.truth["body_text"], r.text) for p, r in zip(pages, results, strict=True))
        figures[name] = {"f1": score.f1, "precision": score.precision, "recall": score.recall}
        print(f"{name:<26} {score.f1:6.3f} {score.precision:6.3f} {score.recall:6.3f}")
    return figures


def report_dates(data: Path) -> dict:
    figures = {}
    print("\n## dates, annotated pages (day-exact share; wrong = a date given that is not the true day)")
    print(f"{'set':<18} {'extractor':<14} {'exact':>14} {'wrong':>6}")
    for set_name in ("trafilatura-eval", "htmldate-eval"):
        # pages without a date annotation (9 "hard::" pages of trafilatura-eval) are not scored:
        # their truth is unknown, not "no date"
        pages = [p for p in folder_pages(data / set_name) if p.truth.get("published")]
        for name, get in (("newsarchive", lambda p: ours(p).day), ("trafilatura", bare_date)):
            score = date_score((p.truth.get("published"), get(p)) for p in pages)
            figures[f"{set_name}/{name}"] = {"exact": score.exact, "truths": score.truths, "wrong": score.wrong}
            print(f"{set_name:<18} {name:<14} {score.exact:>3}/{score.truths:<3} {score.exact_share:6.1%} {score.wrong:>6}")
    return figures


REPORTS = {"aeb": report_aeb, "eval": report_eval, "readability": report_readability, "dates": report_dates}


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
    print(f"trafilatura {trafilatura.__version__}; newsarchive extraction")
    figures = {
        name: REPORTS[name](data, args.repeat) if name == "aeb" else REPORTS[name](data) for name in args.only.split(",")
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
