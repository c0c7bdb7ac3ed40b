"""The failure cases of ../shared/cases, each through newsarchive's own pipeline."""

from __future__ import annotations

import json

import pytest

from pipelines.extraction import extract
from tests.conftest import requires_shared
from tests.pages import CASES

pytestmark = requires_shared


def case(name: str) -> dict:
    return json.loads((CASES / name / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("01-trafilatura-teaser-lead-dropped", "input.html"),
        ("03-trafilatura-latest-news-box-in-body", "input.html"),
        ("03-trafilatura-latest-news-box-in-body", "variant-sibling-box.html"),
    ],
)
def test_body_cases(name, page):
    expected = case(name)
    text = extract((CASES / name / page).read_bytes()).text
    for segment in expected["body_must_contain"]:
        assert segment in text
    for segment in expected["body_must_not_contain"]:
        assert segment not in text


def test_case_01_lead_comes_first():
    text = extract((CASES / "01-trafilatura-teaser-lead-dropped" / "input.html").read_bytes()).text
    assert text.startswith("The nine members of the court met in person on Wednesday")
