"""Dates as stated (pipelines/extraction/dates.py): precision kept, never padded."""

from __future__ import annotations

from datetime import datetime, timezone

import lxml.html
import pytest

from pipelines.extraction import extract
from pipelines.extraction.dates import date_from_url, day_first, find_text_dates, parse_stated_date, stated_day

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("raw", "value", "utc"),
    [
        ("2018-04-25T06:35:00+05:00", "2018-04-25T06:35:00+05:00", "2018-04-25T01:35:00Z"),
        ("2016-12-09T16:18:48Z", "2016-12-09T16:18:48Z", "2016-12-09T16:18:48Z"),
        ("2024-12-07T12:43:39.889Z", "2024-12-07T12:43:39Z", "2024-12-07T12:43:39Z"),
        ("Wed, 25 Apr 2018 06:35:00 GMT", "2018-04-25T06:35:00Z", "2018-04-25T06:35:00Z"),
        ("2015-07-24T05:36:09-04:00", "2015-07-24T05:36:09-04:00", "2015-07-24T09:36:09Z"),
        ("2018-04-25 06:35", "2018-04-25T06:35:00", None),
        ("2018-04-25", "2018-04-25", None),
        ("April 25, 2018", "2018-04-25", None),
    ],
)
def test_value_keeps_what_was_stated(raw, value, utc):
    stated = parse_stated_date(raw, "meta", now=NOW)
    assert (stated.value, stated.utc, stated.source) == (value, utc, "meta")


@pytest.mark.parametrize("raw", ["2023/12", "2023-12", "December 2023", "2018", "Spring 2019"])
def test_partial_dates_are_refused_not_padded_with_today(raw):
    assert parse_stated_date(raw, "meta", now=NOW) is None


@pytest.mark.parametrize("raw", ["", "   ", "garbage", "no digits here", "1990-01-01", "2031-01-01", "99999-99-99"])
def test_junk_ancient_and_future_dates_are_refused(raw):
    assert parse_stated_date(raw, "meta", now=NOW) is None


def test_timezone_setting_gives_utc_for_times_without_offset():
    stated = parse_stated_date("2019-04-28 06:01:07", "meta", tz="America/Los_Angeles", now=NOW)
    assert (stated.value, stated.utc) == ("2019-04-28T06:01:07", "2019-04-28T13:01:07Z")


def test_text_dates_in_many_forms_and_languages():
    text = "Posted April 25, 2018; 3 de abril de 2019; 12. März 2020; 24.12.2021; 2017-01-02"
    assert [d.value for _, d in find_text_dates(text, now=NOW)] == [
        "2018-04-25", "2019-04-03", "2020-03-12", "2021-12-24", "2017-01-02",
    ]


def test_chinese_japanese_and_korean_dates():
    text = "投稿 2020年07月12日 | 2019年4月5日 | 2018년 3월 9일"
    assert [d.value for _, d in find_text_dates(text, now=NOW)] == ["2020-07-12", "2019-04-05", "2018-03-09"]


def test_two_digit_years_only_in_a_dateline_and_never_a_time():
    text = "( Pescasseroli, 14 Gennaio 20 ) mardi 10.12.19"
    assert find_text_dates(text, now=NOW) == []
    assert [d.value for _, d in find_text_dates(text, now=NOW, short_years=True)] == ["2020-01-14", "2019-12-10"]
    assert find_text_dates("Doors open 14 May 20:30, tickets 2.50", now=NOW, short_years=True) == []


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("https://cdn.example/uploads/2018/10/26e39cee-b5eb.jpeg", []),  # a file name starting with digits
        ("/wp-content/uploads/2018/10/26/photo.jpg", []),  # a path
        ("Posted 2018-04-25T10:00:00Z", ["2018-04-25"]),
        ("Published: 2018/04/25 by Jane Roe", ["2018-04-25"]),
        ("发布时间2018-04-25 10:32　来源：新华网", ["2018-04-25"]),  # a label in another script touches it
        ("입력2018.04.25 10:00", ["2018-04-25"]),
        ("2018-04-25am", ["2018-04-25"]),
    ],
)
def test_a_numeric_date_in_a_picture_s_address_shown_as_text_is_no_date(text, days):
    assert [d.value for _, d in find_text_dates(text, now=NOW)] == days


def test_a_page_stating_no_date_takes_none_from_its_picture_s_address():
    # a theme's structured-data span spells the picture's address as (hidden) text
    picture = "<span class='hidden'><span itemprop='url'>https://cdn.example/uploads/2018/10/26e39cee-b5eb.jpeg</span></span>"
    assert extract(_story_page("", trailer=picture), "https://blog.example/e/1", now=NOW).published is None


def test_ambiguous_slash_dates_are_not_read_from_text():
    assert find_text_dates("Posted 04/05/2018", now=NOW) == []


def test_slash_dates_read_when_a_number_over_12_or_the_locale_tells_day_from_month():
    text = "Posted 25/04/2018, updated 4/26/2018, then 02/10/2020"
    assert [d.value for _, d in find_text_dates(text, now=NOW)] == ["2018-04-25", "2018-04-26"]
    assert [d.value for _, d in find_text_dates(text, now=NOW, dayfirst=True)][-1] == "2020-10-02"
    assert [d.value for _, d in find_text_dates(text, now=NOW, dayfirst=False)][-1] == "2020-02-10"
    assert find_text_dates("version 1/2/2018/3 and 31/31/2018", now=NOW, dayfirst=True) == []


@pytest.mark.parametrize(
    ("locale", "first"),
    [("en-GB", True), ("fr", True), ("de-AT", True), ("pt_BR", True), ("en-US", False), ("es-US", False),
     ("en-PH", False), ("en", None), ("en-CA", None), ("ja", None), ("zh-Hant-TW", None), (None, None), ("", None)],
)
def test_day_first_follows_the_locale_cldr_short_dates(locale, first):
    assert day_first(locale) is first


@pytest.mark.parametrize(("lang", "day"), [("en-GB", "2020-10-02"), ("en-US", "2020-02-10"), ("en", None)])
def test_a_numeric_dateline_under_the_headline_is_read_in_the_pages_locale(lang, day):
    story = " ".join(["The council met on Thursday to discuss the new budget for the coming year."] * 6)
    page = (f"<html lang='{lang}'><head><title>Budget agreed</title></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>Budget agreed</h1><p class='meta'><span class='time'>02/10/2020</span> By A. Writer</p>"
            f"<p>{story}</p><p>{story}</p></article></body></html>")
    found = extract(page.encode(), "https://news.example/budget", now=NOW).published
    assert (found.day if found else None) == day


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("http://nypost.com/2014/12/18/amazon-macmillan/", "2014-12-18"),
        ("https://x.example/news/2018-04-25-story", "2018-04-25"),
        ("https://x.example/a/20180425/b", "2018-04-25"),
        ("https://x.example/2018/13/45/x", None),
        ("https://x.example/story-123", None),
    ],
)
def test_date_from_url(url, day):
    stated = date_from_url(url, now=NOW)
    assert (stated.value if stated else None) == day


def _story_page(header: str, head: str = "", headline: str = "Budget agreed", trailer: str = "") -> bytes:
    story = " ".join(["The council met on Thursday to discuss the new budget for the coming year."] * 6)
    return (f"<html><head><title>{headline}</title>{head}</head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>{headline}</h1>{header}<p>{story}</p><p>{story}</p>{trailer}</article></body></html>").encode()


def test_dates_in_the_headline_are_its_subjects_not_the_dateline():
    page = _story_page("<div class='info'><span>2020年07月12日</span></div>", headline="Race winners (2020/7/11-12)")
    assert extract(page, "https://blog.example/e/1", now=NOW).published.value == "2020-07-12"


def test_a_dateline_with_a_two_digit_year():
    page = _story_page("<em>( Pescasseroli, 14 Gennaio 20 )</em>")
    assert extract(page, "https://park.example/news?id=1", now=NOW).published.value == "2020-01-14"


def test_a_closing_dateline_after_a_tags_line_of_links():
    tags = "<p>Schlagworte: <a href='/t/a'>Cybercrime</a>, <a href='/t/b'>Hacking</a>, <a href='/t/c'>SCADA</a></p>"
    footer = "<p class='postmetadata'><small>Dieser Beitrag wurde am Samstag, 3. Dezember 2011 um 10:00 Uhr veröffentlicht</small></p>"
    e = extract(_story_page("", trailer=tags + footer), "https://blog.example/news/kein/", now=NOW)
    assert e.published.value == "2011-12-03"
    assert "Schlagworte" not in e.text


def test_when_the_structured_data_contradict_themselves_the_visible_day_decides():
    head = ("<meta property='article:published_time' content='2020-01-03T09:48:24Z'>"
            "<meta name='date' content='2020-01-06T09:22:36Z'>")
    page = _story_page("<p class='date'>Published 6 January 2020</p>", head)
    assert extract(page, "https://news.example/goats", now=NOW).published.value == "2020-01-06T09:22:36Z"
    # no contradiction: the structured date stands, whatever the page shows
    page = _story_page("<p class='date'>Published 6 January 2020</p>", head.split("<meta name")[0])
    assert extract(page, "https://news.example/goats", now=NOW).published.value == "2020-01-03T09:48:24Z"


def test_dates_of_a_related_box_named_in_another_language_are_not_the_story_s():
    related = "<div class='box relacionado'><p>08/01/2014 <a href='/otra'>Otra noticia del día sobre el juzgado</a></p></div>"
    page = _story_page("", trailer=related).replace(b"<html>", b"<html lang='es'>")
    assert extract(page, "https://diario.example/noticia", now=NOW).published is None


@pytest.mark.parametrize("text", ["Published 14 May 15 comments", "Since 1 May 15 ministers have resigned", "Doors 5 May 15 : 30"])
def test_a_number_after_a_month_is_not_a_two_digit_year_when_words_or_a_time_follow(text):
    assert find_text_dates(text, now=NOW, short_years=True) == []


def test_a_date_in_the_headline_alone_is_not_the_publication_date():
    page = _story_page("", headline="What happened on 6 January 2021, hour by hour")
    assert extract(page, "https://news.example/riot", now=NOW).published is None


def test_german_stand_labels_the_modification_date():
    head = ("<script type='application/ld+json'>{\"@type\": \"NewsArticle\", \"datePublished\": \"2024-03-03T08:00:00+01:00\"}</script>"
            "<meta property='article:published_time' content='2024-03-09T10:00:00+01:00'>")
    e = extract(_story_page("<p class='meta'>Stand: 09.03.2024 10:00 Uhr</p>", head), "https://nachrichten.example/a", now=NOW)
    assert (e.published.day, e.modified.day) == ("2024-03-03", "2024-03-09")


@pytest.mark.parametrize(
    "jsonld",
    [
        '{"@type": "WebPage", "mainEntity": {"@type": "NewsArticle", "datePublished": "2018-04-25T06:35:00+05:00"}}',
        '{"@graph": [{"@type": "WebSite"}, {"@type": "NewsArticle", "datePublished": "2018-04-25T06:35:00+05:00"}]}',
        '[{"@type": "BreadcrumbList"}, {"@type": "NewsArticle", "datePublished": "2018-04-25T06:35:00+05:00"}]',
    ],
)
def test_json_ld_article_read_wherever_it_nests(jsonld):
    page = _story_page("", head=f'<script type="application/ld+json">{jsonld}</script>')
    e = extract(page, "https://news.example/a", now=NOW)
    assert (e.published.value, e.published.source) == ("2018-04-25T06:35:00+05:00", "jsonld")


@pytest.mark.parametrize(
    "line",
    ["Published in Dawn, April 25th, 2018", "First published on 25 April 2018", "A version of this article appears in print on April 25, 2018",
     "Erschienen in der Zeitung am 25. April 2018", "Publié dans le journal le 25 avril 2018"],
)
def test_a_closing_publication_line_dates_the_story(line):
    e = extract(_story_page("", trailer=f"<p>{line}</p>"), "https://news.example/a", now=NOW)
    assert e.published.day == "2018-04-25"


def test_a_date_inside_a_sentence_of_the_story_is_not_its_dateline():
    sentence = "<p>On 3 March 2019 the council first met to discuss the budget, and it has met every month since then.</p>"
    e = extract(_story_page(sentence), "https://news.example/a", now=NOW)
    assert e.published is None


@pytest.mark.parametrize(
    ("markup", "source"),
    [
        ('<meta name="pubdate" content="2018-04-25"/>', "meta"),
        ('<span data-day="20180425"></span>', "meta"),
        ('<img src="/assets/20180425/logo.png"/>', None),
        ('<img src="https://cdn.example/2018/04/25/a.jpg"/>', None),
        ('<a href="//cdn.example/x?d=2018-04-25">x</a>', None),
    ],
)
def test_htmldate_s_day_spelled_in_the_markup_counts_outside_urls_only(markup, source):
    tree = lxml.html.fromstring(f"<html><head>{markup}</head><body><p>No date in the text.</p></body></html>")
    stated = stated_day("2018-04-25", tree, "https://news.example/a", now=NOW)
    assert (stated.source if stated else None) == source



def test_htmldate_s_dateparser_is_asked_only_about_strings_naming_a_month(monkeypatch):
    """A date string that htmldate's own patterns cannot read goes to dateparser. One that
    names no month in any of its languages makes it build every language's patterns (about
    2.4 s and 42 MiB) and holds no date: the extraction does not ask it about such strings.
    A month name in a language the extraction does not read still goes to it. htmldate
    called elsewhere asks it everything, and gets no answer cached without it."""
    import htmldate
    from htmldate import extractors

    asked = []

    class Parser:
        def get_date_data(self, string):
            asked.append(string)
            return {"date_obj": None}

    monkeypatch.setattr(extractors, "get_external_parser", lambda: Parser())
    extractors.try_date_expr.cache_clear()
    page = (
        "<html><head><title>A story</title></head><body><article><h1>A story</h1>"
        "<p>The council met again on Tuesday evening to discuss the plans for the new library, debated for years.</p>"
        "<p>Residents said they wanted more space for children and longer hours; the plans are to be published soon.</p>"
        "<div>Bereits 2004 begann 44</div><div>duminică, 20 septembrie 2020</div></article></body></html>"
    )
    assert extract(page, "http://example.com/story").published is None
    assert asked == ["duminică, 20 septembrie 2020"]
    assert extractors._external_date.__name__ == "_external_date"
    asked.clear()
    htmldate.find_date(page, extensive_search=True, original_date=True)
    assert "Bereits 2004 begann 44" in asked
