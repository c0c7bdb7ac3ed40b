"""Extraction on real pages (pipelines/extraction): the story, its title and its dates."""

from __future__ import annotations

import json

import pytest

from crawler.options import ExtractOptions
from pipelines.extraction import ExtractionError, extract
from pipelines.extraction.text import looks_like_article
from tests.conftest import requires_shared
from tests.pages import CASES, DATA, SEED_STORY, SEED_TEASERS, seed_page

REAL = [
    # folder, words of the story's opening, published as stated
    ("readability-testpages/bbc-1", "President Barack Obama has admitted", "2015-07-24T05:36:09+01:00"),
    ("readability-testpages/nytimes-1", "LONDON — After nearly 20 years of hostile relations", "2017-01-13T00:00:04-05:00"),
    ("readability-testpages/folha", "Após rechaçar um encontro da seleção brasileira", "2018-12-21T12:55:00Z"),
    ("readability-testpages/schema-org-context-object", "SEOUL, South Korea — A plan to impeach", "2024-12-06T22:00:40Z"),
]


def load(folder: str) -> tuple[bytes, dict]:
    return (DATA / folder / "source.html").read_bytes(), json.loads((DATA / folder / "expected.json").read_text())


@requires_shared
@pytest.mark.parametrize(("folder", "opening", "published"), REAL)
def test_real_pages(folder, opening, published):
    body, expected = load(folder)
    e = extract(body, expected["url"])
    assert e.title == expected["title"]
    assert opening in e.text[:400]
    assert not e.text.startswith(e.title)  # the headline is a field of its own
    assert e.published.value == published
    assert e.is_article
    assert e.language == expected["lang"][:2]


@requires_shared
def test_published_and_modified_with_their_sources():
    body, expected = load("readability-testpages/schema-org-context-object")
    e = extract(body, expected["url"])
    assert (e.published.source, e.modified.value, e.modified.utc) == ("jsonld", "2024-12-07T12:43:39Z", "2024-12-07T12:43:39Z")
    assert e.authors == ["Stella Kim", "Jennifer Jett"]
    assert e.canonical_candidates[0] == expected["url"]


@requires_shared
def test_seed_story_beside_december_2024_opinion_teasers():
    """A story dated 25 April 2018 beside opinion teasers dated December 2024, no date in
    the metadata: the text is the story's and none of the teasers', published 2018-04-25."""
    e = extract(seed_page(), "http://127.0.0.2:8000/schools-safe-amidst-surge/")
    assert all(sentence in e.text for sentence in SEED_STORY)
    assert [t for t in SEED_TEASERS if t in e.text] == []
    assert "2024" not in e.text
    assert (e.published.value, e.published.source) == ("2018-04-25", "text")


@requires_shared
def test_case_07_month_only_date_is_not_padded():
    case = json.loads((CASES / "07-partial-date-padded-with-today" / "expected.json").read_text())
    e = extract((CASES / "07-partial-date-padded-with-today" / "input.html").read_bytes(), case["page_url"])
    assert e.published.value == case["published"]


def test_no_date_is_better_than_a_footer_copyright_year():
    page = (
        "<html><head><title>Quiet story</title></head><body><article><h1>Quiet story</h1>"
        + "<p>A long paragraph about nothing in particular, written to be the main text of the page. </p>" * 8
        + "</article><footer>© 2024 Example News. All rights reserved.</footer></body></html>"
    )
    e = extract(page.encode(), "https://news.example.com/quiet-story")
    assert e.published is None


def test_extraction_hints_include_and_exclude():
    story = "<p>" + "The council approved the new budget after a long debate in the chamber. " * 6 + "</p>"
    box = "<p>" + "Subscribe to our newsletter for the best stories delivered to your inbox daily. " * 6 + "</p>"
    page = f"<html><body><div class='story'>{story}<div class='promo'>{box}</div></div></body></html>".encode()
    assert "Subscribe" in extract(page).text
    assert "Subscribe" not in extract(page, options=ExtractOptions(exclude=(".promo",))).text
    assert "Subscribe" not in extract(page, options=ExtractOptions(include="div.story > p")).text


def test_charset_from_meta_is_used():
    text = "Ça coûte très cher à Zürich, déclare le ministre des Finances après la réunion. " * 8
    page = f"<html><head><meta charset='windows-1252'><title>Prix</title></head><body><p>{text}</p></body></html>"
    e = extract(page.encode("cp1252"))
    assert "Ça coûte très cher à Zürich" in e.text


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "empty"), (b"   \n", "empty"), (b"%PDF-1.7\n%binary", "PDF"), (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG")],
)
def test_not_html_is_an_extraction_error(body, message):
    with pytest.raises(ExtractionError, match=message):
        extract(body)


def test_lists_of_headlines_are_not_articles():
    headlines = "\n".join(f"Headline number {i} about the news" for i in range(40))
    prose = "\n".join(["A full sentence of reporting that goes on for quite a while, as stories do here."] * 10)
    assert not looks_like_article(headlines, declared_article=False, og_type=None)
    assert looks_like_article(prose, declared_article=False, og_type=None)
    assert not looks_like_article(prose[:300], declared_article=False, og_type="website")
