"""Quality floors on the shared real pages, per fixed half of the sites (benchmarks/split.py),
as trafilatura's own gate: a change that makes extraction worse than these fails. The
figures come from ``python -m benchmarks.extraction``, which prints them in full; the
``check`` half is the one no rule was tuned on."""

from __future__ import annotations

import pytest

from benchmarks.extraction import all_pages, by_half, ours
from pipelines.workers import ExtractionPool, default_workers
from tests.conftest import requires_shared
from tests.pages import DATA

pytestmark = [pytest.mark.slow, requires_shared]

# measured with extractor 5 (README, Extraction quality), a little below: F1, precision,
# recall, trafilatura-eval segments found, pages leaking, day-exact dates, wrong dates
FLOORS = {
    "tune": {"f1": 0.963, "precision": 0.968, "recall": 0.957, "found": 0.93, "leaking": 0.03, "dates_exact": 83, "dates_wrong": 3},
    "check": {"f1": 0.956, "precision": 0.963, "recall": 0.948, "found": 0.93, "leaking": 0.03, "dates_exact": 73, "dates_wrong": 2},
}


@pytest.fixture(scope="module")
def figures() -> dict:
    pages = all_pages(DATA)
    # in worker processes, one per core: the same results as here (tests/test_workers.py), sooner
    with ExtractionPool(default_workers(), None, job=ours) as pool:
        return by_half(pages, list(pool.map(pages)))


@pytest.mark.parametrize("half", list(FLOORS))
def test_text(figures, half):
    got, floor = figures[half], FLOORS[half]
    assert got["f1"] >= floor["f1"] and got["precision"] >= floor["precision"] and got["recall"] >= floor["recall"]
    assert got["found"] >= floor["found"] and got["leaking"] <= floor["leaking"]


@pytest.mark.parametrize("half", list(FLOORS))
def test_dates(figures, half):
    got, floor = figures[half], FLOORS[half]
    assert got["dates_exact"] >= floor["dates_exact"] and got["dates_wrong"] <= floor["dates_wrong"]
