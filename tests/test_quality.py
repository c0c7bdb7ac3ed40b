"""Quality floors on the shared real pages (as trafilatura's own gate): a change that makes
extraction worse than these fails. The figures come from benchmarks/extraction.py, which
prints them in full."""

from __future__ import annotations

import pytest

from benchmarks.extraction import aeb_pages, folder_pages, ours
from benchmarks.scoring import date_score, segment_score, text_score
from tests.conftest import requires_shared
from tests.pages import DATA

pytestmark = [pytest.mark.slow, requires_shared]


def test_article_extraction_benchmark():
    pages = aeb_pages(DATA)
    score = text_score((p.truth["articleBody"], ours(p).text) for p in pages)
    assert score.f1 >= 0.975 and score.precision >= 0.972 and score.recall >= 0.97


def test_trafilatura_eval_segments():
    pages = folder_pages(DATA / "trafilatura-eval")
    score = segment_score((p.truth.get("must_contain") or [], p.truth.get("must_not_contain") or [], ours(p).text) for p in pages)
    assert score.found >= 0.935 and score.leaking <= 0.02


def test_readability_pages():
    pages = [p for p in folder_pages(DATA / "readability-testpages", only_real=True) if p.truth.get("body_text")]
    score = text_score((p.truth["body_text"], ours(p).text) for p in pages)
    assert score.f1 >= 0.94


@pytest.mark.parametrize(("name", "exact", "wrong"), [("trafilatura-eval", 69, 3), ("htmldate-eval", 60, 1)])
def test_dates(name, exact, wrong):
    pages = [p for p in folder_pages(DATA / name) if p.truth.get("published")]
    score = date_score((p.truth["published"], ours(p).day) for p in pages)
    assert score.exact >= exact and score.wrong <= wrong
