"""Article identity by URL (archive/urls.py)."""

from __future__ import annotations

import json

import pytest

from archive.urls import aliases, canonical_url, is_home_page, normalize_url, same_site
from tests.conftest import requires_shared
from tests.pages import CASES


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://News.Example.com/a", "http://news.example.com/a"),
        ("http://news.example.com:80/a", "http://news.example.com/a"),
        ("https://news.example.com:443/a", "https://news.example.com/a"),
        ("https://news.example.com:8443/a", "https://news.example.com:8443/a"),
        ("http://news.example.com/a#comments", "http://news.example.com/a"),
        ("http://news.example.com/a?utm_source=x&utm_medium=y", "http://news.example.com/a"),
        ("http://news.example.com/a?fbclid=1&id=7&gclid=2", "http://news.example.com/a?id=7"),
        ("http://news.example.com/a?b=2&a=1", "http://news.example.com/a?a=1&b=2"),
        ("http://news.example.com/a;jsessionid=ABC?x=1", "http://news.example.com/a?x=1"),
        ("http://news.example.com", "http://news.example.com/"),
    ],
)
def test_normalize_url(url, expected):
    assert normalize_url(url) == expected


def test_content_ids_in_query_are_kept():
    # dropping an id that names the story would merge two stories into one article
    assert normalize_url("http://x.example/article.php?cid=1") != normalize_url("http://x.example/article.php?cid=2")


@pytest.mark.parametrize("bad", ["ftp://x.example/a", "not a url", "/relative/path", "http:///nohost"])
def test_normalize_url_refuses_non_http(bad):
    with pytest.raises(ValueError):
        normalize_url(bad)


@requires_shared
def test_case_12_default_ports():
    case = json.loads((CASES / "12-w3lib-canonicalize-default-port" / "expected.json").read_text())
    for a, b in case["must_be_equal"]:
        assert normalize_url(a) == normalize_url(b)
    for a, b in case["must_differ"]:
        assert normalize_url(a) != normalize_url(b)
    assert normalize_url(case["must_be_equal"][0][0]) == case["canonical_url"]


def test_declared_canonical_within_site_is_used():
    url, declared = canonical_url("https://www.example.com/amp/story", ["https://www.example.com/story"])
    assert (url, declared) == ("https://www.example.com/story", True)


def test_an_absolute_declaration_wins_over_a_relative_canonical():
    # a real page: <link rel="canonical" href="8003098"> beside an og:url naming the story
    page = "http://www.cleveland.com/food/index.ssf/2014/12/the_story.html"
    assert canonical_url(page, ["8003098", page])[0] == page
    assert canonical_url(page, ["8003098"])[0] == "http://www.cleveland.com/food/index.ssf/2014/12/8003098"


def test_relative_canonical_is_resolved():
    assert canonical_url("https://example.com/a/b?x=1", ["/a/b"])[0] == "https://example.com/a/b"


def test_canonical_to_other_site_or_home_page_is_ignored():
    assert canonical_url("https://example.com/story", ["https://other.org/story"]) == ("https://example.com/story", False)
    assert canonical_url("https://example.com/story", ["https://example.com/"]) == ("https://example.com/story", False)


def test_same_site_ignores_www_and_subdomains():
    assert same_site("http://www.example.com/a", "https://example.com/b")
    assert same_site("http://in.reuters.com/a", "http://www.reuters.com/b")
    assert not same_site("http://example.com/a", "http://example.org/a")


def test_home_page():
    assert is_home_page("https://example.com/") and is_home_page("https://example.com/index.html")
    assert not is_home_page("https://example.com/news/") and not is_home_page("https://example.com/?p=12")


def test_aliases_name_their_kind():
    canonical = "https://www.example.com/story"
    found = aliases(
        canonical,
        "http://example.com/s",
        ["http://example.com/s", "https://www.example.com:443/story?utm_source=rss"],
        "https://www.example.com/amp/story",
        declared_used=True,
        is_amp=True,
    )
    assert found == [
        ("http://example.com/s", "redirect"),
        ("https://www.example.com:443/story?utm_source=rss", "port"),
        ("https://www.example.com/amp/story", "amp"),
    ]


def test_no_alias_when_reached_at_canonical():
    assert aliases("https://e.com/a", "https://e.com/a", [], "https://e.com/a", False) == []
