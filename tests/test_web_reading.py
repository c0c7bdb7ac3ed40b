"""Browsing made for people (issue 17, item 8), in process: readable dates, the stories
table with its rows first, the 404 page's ways home. The browser checks are in
tests/test_browser.py."""

from __future__ import annotations

import pytest

from archive.web import dates
from tests.test_web import archive_db, client, text_of  # noqa: F401 - the module's fixtures


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2014-12-29T10:20:00-05:00", "29 Dec 2014, 10:20 (UTC\u221205:00)"),
        ("2014-12-29T10:20:07+05:30", "29 Dec 2014, 10:20:07 (UTC+05:30)"),
        ("2014-12-29T15:20:00Z", "29 Dec 2014, 15:20 UTC"),
        ("2014-12-29T15:20:00+00:00", "29 Dec 2014, 15:20 UTC"),  # the same instant, one form
        ("2014-12-29T10:20:00", "29 Dec 2014, 10:20 (no time zone stated)"),
        ("2014-12-29", "29 Dec 2014"),
        ("last Tuesday", "last Tuesday"),  # not ISO 8601: as it is
        (None, ""),
    ],
)
def test_readable_dates(value, shown):
    assert dates.readable(value) == shown


def test_stated_then_utc():
    assert dates.stated_then_utc("2014-12-29T10:20:00-05:00", "2014-12-29T15:20:00Z") == "29 Dec 2014, 10:20 (UTC\u221205:00) · 15:20 UTC"
    assert dates.stated_then_utc("2014-12-29T22:20:00-05:00", "2014-12-30T03:20:00Z") == (
        "29 Dec 2014, 22:20 (UTC\u221205:00) · 30 Dec 2014, 03:20 UTC")  # another day in UTC: said
    assert dates.stated_then_utc("2014-12-29T15:20:00Z", "2014-12-29T15:20:00Z") == "29 Dec 2014, 15:20 UTC"
    assert dates.stated_then_utc("2014-12-29", None) == "29 Dec 2014"
    assert dates.stated_then_utc("2014-12-29", "2014-12-29T15:20:00Z") == "29 Dec 2014 · 29 Dec 2014, 15:20 UTC"
    assert str(dates.time_html('2014-12-29"><b>')) == '<time datetime="2014-12-29&#34;&gt;&lt;b&gt;" title="2014-12-29&#34;&gt;&lt;b&gt;">2014-12-29&#34;&gt;&lt;b&gt;</time>'


def test_the_stories_table_folds_its_column_descriptions_and_reads_its_dates(client):  # noqa: F811
    home = client.get("/").text
    assert 'href="/news/stories?_col=id&amp;_col=title&amp;_col=site&amp;_col=language&amp;_col=published&amp;_col=versions' in home
    response = client.get("/news/stories?_col=id&_col=title&_col=site&_col=published&_col=first_seen")
    assert response.status_code == 200
    page = response.text
    # the descriptions are there, folded (a <details> closed by default) before the rows
    assert '<details class="column-help">' in page and "<summary>What the columns mean</summary>" in page
    assert page.index('<details class="column-help">') < page.index('<table class="rows-and-columns">')
    assert "Headline of the latest version." in page
    assert '<a href="/news/stories">Every column</a>' in page
    # dates for people, the ISO value kept in <time datetime>
    assert '<time datetime="2024-03-04T09:00:00+01:00" title="2024-03-04T09:00:00+01:00">4 Mar 2024, 09:00 (UTC+01:00) · 08:00 UTC</time>' in page
    assert '<time datetime="2024-03-04T10:00:00Z" title="2024-03-04T10:00:00Z">4 Mar 2024, 10:00 UTC</time>' in page
    # the JSON keeps the stored values
    assert client.get("/news/stories.json?_shape=array&_col=published").json()[0]["published"].startswith("2024-03-0")


def test_the_404_page_leads_home(client):  # noqa: F811
    response = client.get("/news/nosuch")
    assert response.status_code == 404
    page = text_of(response.text)
    assert page.startswith("Not found · newsarchive") and "Not found (404)" in page
    assert '<p class="crumbs"><a href="/">home</a></p>' in response.text
    assert 'href="/-/search"' in response.text and 'action="/-/story"' in response.text


def test_an_offset_gives_the_utc_instant_without_a_utc_column():
    assert dates.stated_then_utc("2014-12-29T10:20:00-05:00", None) == "29 Dec 2014, 10:20 (UTC\u221205:00) · 15:20 UTC"
    assert dates.stated_then_utc("2014-12-29T10:20:00", None) == "29 Dec 2014, 10:20 (no time zone stated)"
