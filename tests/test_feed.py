"""The changes feed (issue 17): publisher edits as Atom at ``/-/changes.atom``."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from archive import web
from archive.database import Archive
from archive.web.atom import clean
from tests.test_archive import capture, snapshot
from tests.webarchive import build

ATOM = "{http://www.w3.org/2005/Atom}"
SMALL = "http://other.example/2024/03/06/small-edit"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The web test archive (harbour: one edit with a new headline) plus a story of
    another site with a one-word edit made later, and a re-extraction (not an edit)."""
    db = tmp_path_factory.mktemp("feed") / "news.db"
    urls = build(db)
    with Archive.open(db) as archive:
        crawl = archive.start_crawl("crawl")
        text = "The ferry timetable changes on Monday for the summer season, the operator said."
        record = capture(b"<p>1</p>", url=SMALL, at="2024-03-06T10:00:00Z")
        archive.record_capture(crawl, record.__class__(**{**record.__dict__, "site": "other"}), snapshot(text, "Ferry timetable", canonical_url=SMALL))
        record = capture(b"<p>2</p>", url=SMALL, at="2024-03-06T12:00:00Z")
        archive.record_capture(crawl, record.__class__(**{**record.__dict__, "site": "other"}), snapshot(text.replace("Monday", "Tuesday"), "Ferry timetable", canonical_url=SMALL))
    ds = web.make_datasette(db)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(ds.invoke_startup())

    class Client:
        def get(self, path: str):
            return loop.run_until_complete(ds.client.get(path))

    client = Client()
    client.urls = {**urls, "small": SMALL}
    yield client
    loop.close()


def entries(client, query: str = "") -> list[dict]:
    response = client.get("/-/changes.atom" + query)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}id").text and root.find(f"{ATOM}updated").text
    return [
        {
            "title": e.find(f"{ATOM}title").text,
            "updated": e.find(f"{ATOM}updated").text,
            "href": e.find(f"{ATOM}link[@rel='alternate']").get("href"),
            "related": e.find(f"{ATOM}link[@rel='related']").get("href"),
            "summary": e.find(f"{ATOM}summary").text,
            "content": e.find(f"{ATOM}content").text,
        }
        for e in root.findall(f"{ATOM}entry")
    ]


def test_feed_lists_publisher_edits_newest_first(client):
    found = entries(client)
    assert [e["related"] for e in found] == [SMALL, client.urls["harbour"]]
    small, harbour = found
    assert small["title"] == "Edited: Ferry timetable" and small["updated"] == "2024-03-06T12:00:00Z"
    assert small["summary"] == "v1 → v2: +1 −1 words (other)"
    assert "<del>Monday</del>" in small["content"] and "<ins>Tuesday</ins>" in small["content"]
    assert harbour["title"] == "Headline changed: Pier to grow by forty metres → Pier to grow by forty metres after vote"
    assert harbour["href"].startswith("http://localhost/-/story/") and harbour["href"].endswith("?from=1&to=2")


def test_feed_filters(client):
    assert [e["related"] for e in entries(client, "?site=other")] == [SMALL]
    assert [e["related"] for e in entries(client, "?headline=1")] == [client.urls["harbour"]]
    assert [e["related"] for e in entries(client, "?min_words=3")] == [client.urls["harbour"]]
    assert entries(client, "?min_words=1000") == []


def test_bad_filter_values_are_400s_that_say_why(client):
    for query, message in [
        ("?min_words=ten", "whole number"), ("?min_words=-1", "whole number"),
        ("?min_words=99999999999999999999999", "whole number"),  # beyond SQLite's INTEGER: was a 500
        ("?headline=yes", "headline=1"), ("?story=x", "story's number"),
        ("?site=nosuch", "site='nosuch' has no stories here; sites: "),  # a typo in a feed reader's address: it was an empty feed
    ]:
        response = client.get("/-/changes.atom" + query)
        assert response.status_code == 400 and message in response.text, query


def test_home_and_story_pages_link_the_feed(client):
    home = client.get("/")
    assert '<link rel="alternate" type="application/atom+xml" title="Publisher edits (Atom)" href="/-/changes.atom">' in home.text
    story_id = client.get("/-/story?url=" + SMALL).headers["location"].rsplit("/", 1)[1]
    story = client.get(f"/-/story/{story_id}")
    assert f'href="/-/changes.atom?story={story_id}"' in story.text
    assert [e["related"] for e in entries(client, f"?story={story_id}")] == [SMALL]


def test_text_that_xml_cannot_hold_is_dropped():
    assert clean("a\x00b\x0bc\ufffe d") == "abc d"


def test_a_404_page_offers_a_way_on(client):
    response = client.get("/-/story/999999")
    assert response.status_code == 404
    assert "There is no story 999999 in this archive." in response.text
    assert """<a href="/">the archive's home page</a>""" in response.text
    assert 'href="/-/search"' in response.text and 'action="/-/story"' in response.text
