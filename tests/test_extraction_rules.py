"""The general rules of extraction, each on a small page built like real ones (no site named)."""

from __future__ import annotations

import pytest
from lxml import etree

from pipelines.extraction import body, extract
from tests.conftest import requires_shared
from tests.pages import DATA

STORY = [
    "The harbour board voted on Tuesday to extend the north pier by forty metres, ending a dispute that had lasted years.",
    "Fishermen had asked for the extension since the storms of last winter damaged the old breakwater and two boats.",
    "The work is expected to start in the spring and to cost about four million, paid by the port and the region.",
    "Opponents said the money would be better spent on dredging, but the vote passed by seven votes to two.",
]


def page(body: str, head: str = "") -> bytes:
    return (
        "<html><head><title>Pier to grow</title><meta property='og:type' content='article'>"
        f"{head}</head><body><header><nav><a href='/'>Home</a></nav></header><main><article>"
        f"<h1>Pier to grow</h1>{body}</article></main><footer>© 2024 Harbour News</footer></body></html>"
    ).encode()


def paragraphs(lines=STORY) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


def test_headline_and_byline_are_not_body_text():
    e = extract(page("<p>By Jane Reporter</p><p>Updated 10:42 a.m.</p>" + paragraphs()))
    assert e.title == "Pier to grow"
    assert e.text.split("\n")[0] == STORY[0]


def test_latest_news_box_with_timestamps_inside_the_article_goes():
    box = "<div class='box'><h3>Latest News</h3><ul>" + "".join(
        f"<li><a href='/n/{i}'>Other story number {i} about something else entirely</a> <span>{i} hours ago</span></li>"
        for i in range(1, 6)
    ) + "</ul></div>"
    e = extract(page(paragraphs() + box))
    assert "Latest News" not in e.text and "Other story number" not in e.text and "hours ago" not in e.text
    assert STORY[-1] in e.text


def test_read_more_newsletter_and_reprint_lines_go_in_several_languages():
    junk = [
        "READ MORE: Council to vote on harbour fees",
        "Lire aussi : Le port s'agrandit",
        "Sign up for our newsletter to get the day's stories.",
        "This copy is for your personal, non-commercial use only.",
        "Write to Jane Reporter at jane@example.com",
        "Reporting by Jane Reporter; Editing by John Editor",
    ]
    e = extract(page(paragraphs(STORY[:2] + junk + STORY[2:])))
    for line in junk:
        assert line not in e.text
    assert all(line in e.text for line in STORY)


def test_hidden_copy_of_the_story_is_not_doubled():
    hidden_copy = f"<div style='display:none' itemprop='articleBody'>{' '.join(STORY)}</div>"
    e = extract(page(paragraphs() + hidden_copy))
    assert e.text.count(STORY[0]) == 1


def test_embedded_post_belongs_to_the_story():
    tweet = (
        "<blockquote class='twitter-tweet'><p>The pier vote is a great day for the fishermen of this town, "
        "and a long time coming.</p>— Harbour Mayor (@mayor) May 1, 2024</blockquote>"
    )
    e = extract(page(paragraphs(STORY[:2]) + tweet + paragraphs(STORY[2:])))
    assert "great day for the fishermen" in e.text


def test_story_split_by_ad_rows_is_kept_whole():
    chunks = [paragraphs(STORY[:2]), paragraphs(STORY[2:])]
    body = f"<div class='story-body'>{chunks[0]}</div><div class='ad-row'><div>Advertisement</div></div><div class='story-body'>{chunks[1]}</div>"
    e = extract(page(body))
    assert all(line in e.text for line in STORY)
    assert "Advertisement" not in e.text


def test_a_menu_is_not_taken_for_the_story():
    menu = "<ul class='menu'>" + "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(60)) + "</ul>"
    story = "<div class='text'>" + paragraphs() + "</div>"
    e = extract(f"<html><head><title>Pier</title></head><body>{menu}{story}</body></html>".encode())
    assert STORY[0] in e.text and "Section 12" not in e.text


def test_section_front_is_not_an_article():
    links = "".join(f"<li><a href='/story-{i}'>Headline of story number {i} in today's paper</a></li>" for i in range(40))
    e = extract(f"<html><head><title>News</title><meta property='og:type' content='website'></head><body><ul>{links}</ul></body></html>".encode())
    assert not e.is_article


def test_dates_of_teasers_and_updates_are_not_the_publication_date():
    body = (
        "<p class='dateline'>Published April 25, 2018 · Updated May 2, 2018</p>"
        + paragraphs()
        + "<aside class='related'><a href='/x'>Older story</a> <span>December 3, 2024</span></aside>"
    )
    e = extract(page(body))
    assert (e.published.value, e.published.source) == ("2018-04-25", "text")
    assert e.modified.value == "2018-05-02"


def test_structured_dates_keep_their_offset_and_published_is_not_the_modified_date():
    head = (
        "<meta property='article:published_time' content='2018-04-25T06:35:00+05:00'>"
        "<meta property='article:modified_time' content='2018-04-26T10:00:00+05:00'>"
    )
    e = extract(page(paragraphs(), head))
    assert (e.published.value, e.published.utc) == ("2018-04-25T06:35:00+05:00", "2018-04-25T01:35:00Z")
    assert e.modified.value == "2018-04-26T10:00:00+05:00"


def test_mis_declared_charset_of_a_page_re_saved_as_utf8():
    text = "Zürich: la réunion des ministres s'est terminée tard, après un débat très animé sur le budget. " * 6
    html = f"<html><head><meta charset='iso-8859-1'><title>Réunion</title></head><body><p>{text}</p></body></html>"
    assert "Zürich: la réunion" in extract(html.encode("utf-8")).text


def test_ad_slots_with_changing_tokens_do_not_reach_the_story():
    # a page whose story is loose text in <body> (no article container): trafilatura keeps
    # the body's last block, here an ad slot whose token changes on every fetch
    def fetch(token: str) -> bytes:
        return (
            "<html><head><title>Pier to grow</title></head><body><h1>Pier to grow</h1>"
            f"<h2>The vote</h2>{STORY[0]} <em>{STORY[1]}</em>\n<h2>The work</h2>{STORY[2]} <em>{STORY[3]}</em>"
            f"<div class='ad-slot'>Advertisement {token}</div></body></html>"
        ).encode()

    first, second = extract(fetch("17-8812")), extract(fetch("18-9921"))
    assert "Advertisement" not in first.text and "17-8812" not in first.text
    assert first.text == second.text
    assert all(line in first.text for line in STORY)


def test_a_story_container_named_like_an_ad_with_prose_stays():
    # "ad" in a class name is not enough: a block with real paragraphs is kept
    e = extract(page(f"<div class='ad-free-story'>{paragraphs()}</div>"))
    assert all(line in e.text for line in STORY)


def test_cookie_notice_and_the_decorated_headline_above_the_story_go():
    head = "<title>Pier to grow | Local | Harbour News | 23.05.2011</title>"
    cookie = "<p>We use cookies to improve our service. You will find more information in our privacy statement.</p>"
    body = f"<p>Pier to grow | Local | Harbour News | 23.05.2011</p>{cookie}<p>Pier to grow</p>" + paragraphs()
    e = extract(page(body, head))
    assert e.text.split("\n")[0] == STORY[0]
    assert "cookies" not in e.text


def test_label_lines_and_photo_credits_go_also_with_soft_hyphens():
    labels = [
        "News date : 04/21/2022 \u00a0 Category : <a href='/c/10'>Press Releases</a>",
        "Image illus\u00adtra\u00adtive\u00a0: <a href='/p'>Lots of toy figures</a> by <a href='/u'>A. Photographer</a>, licence CC BY",
    ]
    e = extract(page(paragraphs() + "".join(f"<p>{line}</p>" for line in labels)))
    assert "Category" not in e.text and "illustrative" not in e.text.replace("\u00ad", "")
    assert all(line in e.text for line in STORY)


def test_linked_headlines_with_timestamps_go_but_linked_section_headings_stay():
    # on trafilatura's main-content tree, as it returns a "Related stories" row of teasers
    story = "".join(f"<p>{line}</p>" for line in STORY)
    teasers = "".join(
        f"<head rend='h3'><ref target='/news/other-{i}'>Other story number {i} about the council</ref></head>February {i}, 2021"
        for i in range(1, 4)
    )
    sections = "<head rend='h2'><ref target='#work'>The work</ref></head>"
    tree = body.clean_body(etree.fromstring(f"<body>{story}{sections}{story}{teasers}</body>"), "Pier to grow")
    text = body.to_text(tree)
    assert "Other story number" not in text and "February 2, 2021" not in text
    assert "The work" in text and text.count(STORY[-1]) == 2


def test_a_story_sentence_about_getting_an_app_stays_and_the_app_promotion_goes():
    sentences = [
        "In order to get the new version of the app, the store sends your phone a patch that lists what changed since the old one.",
        "Officials have struggled to get the port's tide-warning app working on older phones.",
    ]
    promos = ["Get the free Harbour News app for the latest stories.", "Get the North Coast Evening Gazette app for alerts."]
    e = extract(page(paragraphs(STORY[:2] + sentences + promos + STORY[2:])))
    assert all(s in e.text for s in sentences) and not any(p in e.text for p in promos)


def test_a_story_about_cookie_law_keeps_its_paragraphs():
    law = [
        "We use cookies to give you the best experience is the phrase the court examined, and judges found it meant nothing to readers.",
        "Under the ruling, a banner that says this website uses cookies is no longer enough, and sites must ask before they store anything.",
        "Accept all cookies buttons in bright colours next to grey refusal links were singled out as a trick that regulators will now fine.",
    ]
    notice = "<p>Nous utilisons des cookies pour améliorer notre offre. Plus d'informations dans la déclaration sur la protection des données.</p>"
    e = extract(page(notice + paragraphs(STORY[:1] + law + STORY[1:])))
    assert all(line in e.text for line in law) and "Nous utilisons" not in e.text


def test_closing_paragraphs_that_only_look_like_a_bio_stay():
    endings = [
        "Musk is the world's richest person and bought Twitter in 2022 for forty-four billion dollars, a deal he tried to escape.",
        "Mayor Jane Okafor was a vocal critic of the plan and did not respond to an email asking for comment on Tuesday evening.",
    ]
    for ending in endings:
        assert ending in extract(page(paragraphs() + f"<p>{ending}</p>")).text


def test_short_lines_that_start_like_a_label_but_are_sentences_stay():
    lines = ["The main topics: pensions, housing and the new harbour tax.", "Am ersten Tag: Regen, Wind und kaum Besucher am Hafen."]
    e = extract(page(paragraphs(STORY[:2] + lines + STORY[2:])))
    assert all(line in e.text for line in lines)


def test_rules_read_turkish_capitals():
    e = extract(page("<p>By İsmail Kılıç</p>" + paragraphs()))
    assert "İsmail" not in e.text and e.text.split("\n")[0] == STORY[0]


def test_teasers_dated_hours_ago_and_notices_with_zero_width_spaces_go():
    story = "".join(f"<p>{line}</p>" for line in STORY)
    teasers = "".join(f"<head rend='h3'><ref target='/n/{i}'>Other story number {i} on the quay</ref></head>{i} hours ago" for i in (2, 3))
    notice = "<p>This site uses\u200b cookies.</p>"
    text = body.to_text(body.clean_body(etree.fromstring(f"<body>{story}{teasers}{notice}</body>"), "Pier to grow"))
    assert "Other story number" not in text and "hours ago" not in text and "cookies" not in text
    assert text.split("\n") == STORY


def test_the_standfirst_is_a_field_of_its_own_and_in_story_headings_stay():
    lead = "The board's vote ends a dispute of three years, and the work starts in spring with money from the port and region."
    e = extract(page(f"<h2 class='article-summary'>{lead}</h2>" + paragraphs(STORY[:2]) + "<h2>What comes next</h2>" + paragraphs(STORY[2:])))
    assert e.standfirst == lead and lead not in e.text
    assert e.text.split("\n") == [*STORY[:2], "What comes next", *STORY[2:]]


def test_a_script_a_repeated_headline_or_a_video_s_headline_is_no_standfirst():
    lead = "The board's vote ends a dispute of three years, and the work starts in spring with money from the port and region."
    code = "var adSafety = 'General news, passed for ad targeting'; window.ads = window.ads || [];"
    # a summary's container that also holds a script: the reader sees the summary only
    e = extract(page(f"<h2 class='summary'><script>{code}</script>{lead}</h2>" + paragraphs()))
    assert e.standfirst == lead
    e = extract(page(f"<div class='article-lead'><script>{code}</script></div>" + paragraphs()))
    assert e.standfirst is None and "adSafety" not in e.text
    # the headline printed again in an <h2> (the <h1> holds the site's logo)
    logo = page(paragraphs()).replace(b"<h1>Pier to grow</h1>", b"<h1><img alt=''></h1><h2 class='story-headline'>Pier to grow by forty metres as the harbour board votes</h2>")
    assert extract(logo.replace(b"<title>Pier to grow", b"<title>Pier to grow by forty metres as the harbour board votes")).standfirst is None
    # a video player's "up next" card, or a teaser whose link wraps its heading, between the
    # headline and the story
    video = ("<div class='video__end-slate'><ul><h3>Just watched</h3><h2 class='cd__headline'>"
             "<span>Officials explain the plan for the north pier in a video</span></h2></ul></div>")
    assert extract(page(video + paragraphs())).standfirst is None
    teaser = "<a class='promo-card' href='/video/9'><h2>Watch: drone footage shows the harbour and the old pier from the air</h2></a>"
    assert extract(page(teaser + paragraphs())).standfirst is None
    # an audio player's title
    audio = "<div class='c-audio'><h2 class='c-audio-title'>Listen to this article, read aloud by an automated voice</h2></div>"
    assert extract(page(audio + paragraphs())).standfirst is None
    # a slideshow's description, the caption of its first picture
    slideshow = ("<div><h1 class='slideshow-headline'>In this photo the north pier is seen from the harbour office</h1>"
                 "<div class='slideshow-description'>In this photo taken on Tuesday, the north pier is seen from the "
                 "harbour office, where the board met.</div></div>")
    assert extract(page(slideshow + paragraphs())).standfirst is None
    # a summary of a story told in pictures is one
    summary = "A decade after it opened, the pier has become the town's favourite meeting place. Our photographer looks back."
    for element in ("p class='article-dek article-dek--slideshow'", "div class='slideshow-summary'"):
        tag = element.split()[0]
        assert extract(page(f"<{element}>{summary}</{tag}>" + paragraphs())).standfirst == summary, element


def test_a_standfirst_classed_as_a_secondary_headline_or_opening_with_the_headline_is_kept():
    lead = "The board's vote ends a dispute of three years, and the work starts in spring with money from the port and region."
    assert extract(page(f"<h2 class='secondary-headline'>{lead}</h2>" + paragraphs())).standfirst == lead
    assert extract(page(f"<h2 class='sub_headline'>{lead}</h2>" + paragraphs())).standfirst == lead
    opening = "Pier to grow by forty metres after a vote that ends three years of dispute in the port"
    assert extract(page(f"<h2 class='standfirst'>{opening}</h2>" + paragraphs())).standfirst == opening
    # inline markup inside it adds no spaces
    marked = "The <a href='/t/port'>Port Authority</a>'s £<b>4</b>m plan will add forty metres to the north pier by next summer"
    assert extract(page(f"<h2>{marked}</h2>" + paragraphs())).standfirst == (
        "The Port Authority's £4m plan will add forty metres to the north pier by next summer"
    )


def test_a_paragraph_opening_with_an_empty_anchor_is_story_not_a_link():
    # <a id="..."></a> marks a place to jump to (an index term); trafilatura made the text
    # after it the link's text, and the paragraph went as a teaser
    lead_in = "There are many reasons to extend the pier, including:"
    items = "<ul><li>Storms damaged the old breakwater last winter</li><li>Two fishing boats were lost at their moorings</li></ul>"
    e = extract(page(paragraphs(STORY[:2]) + f"<p><a id='idx-1'></a>{lead_in}</p>" + items + paragraphs(STORY[2:])))
    assert lead_in in e.text.split("\n")
    assert e.text.split("\n")[:2] == STORY[:2] and e.text.split("\n")[-2:] == STORY[2:]
    # an empty link with an address is a card's click overlay: its list stays a list of links
    cards = "".join(
        f"<li><a class='stretched' href='/news/{i}'></a><span>Other story number {i} about the harbour and its busy quay</span></li>"
        for i in range(3)
    )
    e = extract(page(paragraphs() + f"<ul class='story-links'>{cards}</ul>"))
    assert e.text.split("\n") == STORY


def test_white_space_inside_a_paragraph_is_not_a_paragraph_break():
    wrapped = STORY[0].replace(" by ", "\nby ").replace(", ending", ",\n   ending")
    e = extract(page(f"<p>{wrapped}</p>" + paragraphs(STORY[1:])))
    assert e.text.split("\n") == STORY


def test_a_wire_story_starts_with_its_story():
    share = "<ul><li><a href='#'>Tweet this</a></li><li><a href='#'>Link this</a></li><li><a href='#'>Share this</a></li></ul>"
    first = f"HARBOUR TOWN (Wire) - {STORY[0]}"
    e = extract(page(f"{share}<p>HARBOUR TOWN</p><p>{first}</p>" + paragraphs(STORY[1:])))
    assert e.text.split("\n") == [first, *STORY[1:]]


@pytest.mark.parametrize(
    ("where", "value", "authors"),
    [
        ("meta", "Darcie Moran | dmoran@mlive.example.com", ["Darcie Moran"]),
        ("meta", "Jane Roe, jane.roe@example.co.uk", ["Jane Roe"]),
        ("byline", "Darcie Moran | dmoran@mlive.example.com", ["Darcie Moran"]),
        ("meta", "Kim Com; Kim Lee", ["Kim Com", "Kim Lee"]),
    ],
)
def test_an_e_mail_address_beside_an_author_s_name_is_no_second_author(where, value, authors):
    # trafilatura made "Dmoran Com" of "dmoran@mlive.example.com", "Jane Roe Co Uk" of the second
    head = f"<meta name='author' content='{value}'>" if where == "meta" else ""
    byline = f"<p class='byline'><span class='author-name'>{value}</span></p>" if where == "byline" else ""
    page = (
        f"<html><head><title>Harbour</title>{head}</head><body><article><h1>Harbour reopens</h1>{byline}"
        + "<p>The harbour reopened on Monday after a week of repairs to its outer wall.</p>" * 5
        + "</article></body></html>"
    )
    assert extract(page, "http://x.example/a").authors == authors


def test_a_byline_is_read_where_the_page_has_no_author_metadata():
    page = (
        "<html><head><title>Harbour</title></head><body><article><h1>Harbour reopens</h1>"
        "<div class='sidebar'><span class='author-name'>Sidebar Columnist</span></div>"
        "<figure><span class='author'>Photo Agency</span></figure>"
        "<p class='byline'>By <span class='author-name'>Jane Doe</span></p>"
        + "<p>The harbour reopened on Monday after a week of repairs to its outer wall.</p>" * 5
        + "</article></body></html>"
    )
    # the sidebar's and the photo's credits are pruned first (trafilatura's discard rules)
    assert extract(page, "http://x.example/a").authors == ["Jane Doe"]
    # a byline holding its date: the date is pruned from the name, its tail text kept
    dated = page.replace("By <span class='author-name'>Jane Doe</span>", "<span class='author-name'><time>2 May</time>Jane Doe</span>")
    assert extract(dated, "http://x.example/a").authors == ["Jane Doe"]


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        # the byline's date or time, in words or numbers, is no part of the name
        ("by Jane Doe July 10, 2015", ["Jane Doe"]),
        ("By Jane Doe and John Roe Monday, November 18, 2019, 04:05 pm", ["Jane Doe", "John Roe"]),
        ("By JANE DOE March 11, 2015 3:46 PM", ["JANE DOE"]),
        ("Jan Novák před 2 hodinami", ["Jan Novák"]),
        ("Von Hans Müller, Montag, 3. März 2020", ["Hans Müller"]),
        ("By Jane Doe | Updated 2 hours ago", ["Jane Doe"]),
        ("Posted on September 21, 2020 by Jane Doe", ["Jane Doe"]),  # the names after the date
        ("By Jane Doe, Sat 3 March 2020 and John Smith", ["Jane Doe", "John Smith"]),
        ("9:39AM BST 05 Oct 2011", []),  # no names: a time's zone is none
        ("Article by", []),
        # nor a "by" in another language, nor the lower-case words after the names
        ("Por María Alejandra Reina", ["María Alejandra Reina"]),
        (", par Jeanne Dupont", ["Jeanne Dupont"]),
        ("vom Stadtreporter", ["Stadtreporter"]),
        ("Art Edwards says:", ["Art Edwards"]),
        # names stay as they are, separate
        ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        ("By Jane Doe & John Smith", ["Jane Doe", "John Smith"]),
        ("Jane Doe | John Smith", ["Jane Doe", "John Smith"]),
        ("Jane Doe, John Smith & Sam Lee", ["Jane Doe", "John Smith", "Sam Lee"]),
        ("Michiel de Jong", ["Michiel de Jong"]),
        ("By Ahmed al-Omran", ["Ahmed al-Omran"]),
        ("By Mohamed el-Erian, 3 hours ago", ["Mohamed el-Erian"]),
        ("By Kate Crawford and danah boyd", ["Kate Crawford", "Danah Boyd"]),  # trafilatura capitalises
        ("By Lena H. Sun", ["Lena H Sun"]),  # trafilatura drops the full stop
        ("Di Caprio", ["Di Caprio"]),
        # a surname that is also a weekday or a label word stays; so do names after a date
        ("By Li Sun, March 3, 2021", ["Li Sun"]),
        ("By Linh Le | Updated 2 hours ago", ["Linh Le"]),
        ("Par Laurent Le, le 3 mars 2021", ["Laurent Le"]),
        ("By Joe Sunday | 3 March 2021", ["Joe Sunday"]),
        ("03.03.2021, 12:41 Uhr | Hans Müller", ["Hans Müller"]),
        ("Jan Kowalski | 3 marca 2021 | Anna Nowak", ["Jan Kowalski", "Anna Nowak"]),
        ("John Smith | Photos by Jane Doe", ["John Smith", "Photos by Jane Doe"]),  # the first named stays first
        ("By John smith", ["John smith"]),
        ("By Reuters محمد علي", ["Reuters محمد علي"]),
        ("肖春芳", ["肖春芳"]),
        ("giampiero rossi", ["Giampiero Rossi"]),  # all in lower case (the page's CSS capitalises it)
    ],
)
def test_a_byline_s_date_and_its_lower_case_words_are_no_names(byline, authors):
    page = (
        f"<html><head><title>Harbour</title></head><body><article><h1>Harbour reopens</h1><div class='byline'>{byline}</div>"
        + "<p>The harbour reopened on Monday after a week of repairs to its outer wall.</p>" * 5
        + "</article></body></html>"
    )
    assert extract(page, "http://x.example/a").authors == authors


@requires_shared
def test_the_byline_is_read_as_trafilatura_reads_it():
    """metadata.BYLINE_XPATHS are trafilatura's AUTHOR_XPATHS rewritten for speed: the same
    elements in the same order on the shared pages (the tune half; all 373 were compared
    when they were written); and metadata.byline, which prunes only the candidate it
    reads, gives what trafilatura gives after pruning a copy of the page."""
    from copy import deepcopy

    from trafilatura import xpaths
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.metadata import extract_metainfo

    from benchmarks.extraction import all_pages
    from pipelines.extraction.html import ExtractionError, parse_document
    from pipelines.extraction.metadata import BYLINE_DISCARD_XPATHS, BYLINE_XPATHS, byline

    compared = 0
    for page in all_pages(DATA):
        if page.half != "tune":
            continue  # 183 real pages: the expressions' equality does not need all 373, nor the time
        try:
            tree, _ = parse_document(page.body)
        except ExtractionError:
            continue
        pairs = zip([*xpaths.AUTHOR_XPATHS, *xpaths.AUTHOR_DISCARD_XPATHS], [*BYLINE_XPATHS, *BYLINE_DISCARD_XPATHS], strict=True)
        for theirs, ours in pairs:
            assert theirs(tree) == ours(tree), page.key
        pruned = prune_unwanted_nodes(deepcopy(tree), xpaths.AUTHOR_DISCARD_XPATHS)
        assert byline(tree) == extract_metainfo(pruned, xpaths.AUTHOR_XPATHS, len_limit=120), page.key
        compared += 1
    assert compared > 170


def test_a_fallback_replaces_the_story_only_when_far_longer(monkeypatch):
    from types import SimpleNamespace

    import lxml.html
    from trafilatura import core as trafilatura_core

    from pipelines.extraction import main

    own = etree.fromstring("<body><p>" + " ".join(STORY) + "</p></body>")
    no_paragraphs = etree.fromstring("<body><list><item>" + " ".join(STORY) + "</item></list></body>")
    own_text = " ".join(STORY)
    fallback = etree.Element("body")
    answer = {}
    # trafilatura's comparison, stubbed: it prefers the fallback's text of the given length
    monkeypatch.setattr(trafilatura_core, "compare_extraction", lambda cleaned, raw, body, text, options: (fallback, "x" * answer["length"]))
    chosen = {}
    escalation_ratio = trafilatura_core.ESCALATION_JUSTEXT_RATIO
    with main._fallback_only_when_far_longer(lxml.html.fromstring("<html><body><p>Elsewhere</p></body></html>")):
        # the recall escalation's jusText candidate is held to the same rule
        assert trafilatura_core.ESCALATION_JUSTEXT_RATIO == main.FAR_LONGER > escalation_ratio
        for length in (3 * len(own_text), main.FAR_LONGER * len(own_text) + 1, len(own_text) // 2):
            answer["length"] = length
            chosen[length] = trafilatura_core.compare_extraction(None, None, own, own_text, None)[0]
        answer["length"] = 3 * len(own_text)
        paragraph_less = trafilatura_core.compare_extraction(None, None, no_paragraphs, own_text, None)[0]
        too_short = SimpleNamespace(min_extracted_size=len(own_text) + 1)  # trafilatura would not keep its own text
        short = trafilatura_core.compare_extraction(None, None, own, own_text, too_short)[0]
    assert chosen[3 * len(own_text)] is own  # the story in its container, with other stories around it
    assert chosen[main.FAR_LONGER * len(own_text) + 1] is fallback  # a story cut short
    assert chosen[len(own_text) // 2] is fallback  # the fallback left boilerplate out
    assert paragraph_less is fallback and short is fallback
    assert trafilatura_core.compare_extraction(None, None, own, own_text, None)[0] is fallback  # restored on leaving
    assert trafilatura_core.ESCALATION_JUSTEXT_RATIO == escalation_ratio


def test_a_short_story_keeps_its_paragraphs_and_an_aside_of_comments_stays_out():
    brief = STORY[:2]
    comments = "<aside class='responses'>" + "".join(f"<p>Reader {i}: {STORY[2]}</p>" for i in range(3)) + "</aside>"
    e = extract(page(paragraphs(brief) + "</article>" + comments + "<article>"))
    assert e.text.split("\n") == brief


def test_a_story_split_in_two_containers_by_an_ad_is_kept_whole():
    # trafilatura's own extraction stops at the first container; readability has the rest
    words = " ".join(STORY).lower().replace(",", "").replace(".", "").split()
    lines = [f"Paragraph {i}: " + " ".join(words[(i * 7 + k) % len(words)] for k in range(40)) + "." for i in range(9)]
    body = f"<div class='article-body'>{paragraphs(lines[:2])}</div><div class='ad'>Advertisement</div><div class='article-body'>{paragraphs(lines[2:])}</div>"
    html = f"<html><head><title>Harbour rules</title></head><body><article><h1>Harbour rules</h1>{body}</article></body></html>"
    assert extract(html, "https://news.example/2024/story").text.split("\n") == lines


def test_a_story_whose_column_is_an_aside_is_kept_and_a_real_sidebar_is_not():
    menu = "<nav><ul>" + "".join(f"<li><a href='/s{i}'>Section number {i}</a></li>" for i in range(12)) + "</ul></nav>"
    sidebar = "<aside class='col-side'><h3>Most read</h3><p>" + STORY[0].replace("harbour", "airport") + " <a href='/o'>More</a></p></aside>"
    html = (
        f"<html><head><title>Pier to grow</title></head><body><header>{menu}</header><div class='wrap'>"
        f"<aside class='col-main'><h1>Pier to grow</h1>{paragraphs()}</aside>{sidebar}</div></body></html>"
    )
    e = extract(html, "http://x.example/pier")
    assert e.text.split("\n") == STORY  # not the menu; the sidebar, a small share of the prose, stays out


def test_a_live_blog_keeps_its_own_headline_and_authors_not_its_newest_updates():
    import json

    update = {"@type": "BlogPosting", "headline": "Polls close in the east", "author": {"@type": "Person", "name": "John Update"}}
    blog = {
        "@context": "https://schema.org", "@type": "LiveBlogPosting", "headline": "Election night: live",
        "author": [{"@type": "Person", "name": "Jane Roe"}, "Rob Poe"], "datePublished": "2024-11-05T18:00:00Z",
        "liveBlogUpdate": [{**update, "datePublished": "2024-11-05T23:00:00Z"}],
    }
    head = f"<script type='application/ld+json'>{json.dumps(blog)}</script>"
    e = extract(page(paragraphs(), head))
    assert (e.title, e.authors, e.published.value) == ("Election night: live", ["Jane Roe", "Rob Poe"], "2024-11-05T18:00:00Z")
    blog["author"] = {"@type": "Organization", "name": "Harbour News"}  # a publisher is no author
    assert extract(page(paragraphs(), f"<script type='application/ld+json'>{json.dumps(blog)}</script>")).authors == []


def test_a_german_stand_date_is_the_page_as_it_stands_published_only_when_no_other_is_stated():
    def dates(line):
        e = extract(f"<html lang='de'><head><title>Pier</title></head><body><article><h1>Pier</h1><p>{line}</p>{paragraphs()}</article></body></html>")
        return (e.published and e.published.value, e.modified and e.modified.value)

    assert dates("Stand: 05.12.2024 14:00 Uhr") == ("2024-12-05", "2024-12-05")
    assert dates("Stand: 05.12.2024 · Veröffentlicht am 01.12.2024") == ("2024-12-01", "2024-12-05")
    assert dates("Aktualisiert am 05.12.2024") == (None, "2024-12-05")  # an update alone states no publication


def test_a_stand_date_of_another_story_or_a_chart_is_never_the_storys_and_a_url_day_comes_first():
    def published(url, inner="", after=""):
        e = extract(f"<html lang='de'><head><title>Pier</title></head><body><article><h1>Pier</h1>{inner}{paragraphs()}{after}</article></body></html>", url)
        return e.published and (e.published.value, e.published.source)

    dated = "https://news.example/2024/03/05/pier"
    assert published(dated, after="<aside><h3><a href='/o'>Neue Brücke</a></h3><p>Stand: 01.02.2024</p></aside>") == ("2024-03-05", "url")
    assert published(dated, after="<p>Quelle: Landesamt, Stand: 01.03.2024</p>") == ("2024-03-05", "url")
    assert published(dated, inner="<p>Stand: 07.03.2024 10:00 Uhr</p>") == ("2024-03-05", "url")


def test_a_long_marked_standfirst_outside_the_story_is_kept_not_lost():
    # the cleaning stage unmarks a lead block of prose so that trafilatura keeps it; one that
    # trafilatura leaves out anyway (it sits in the page's header) is still the standfirst
    lead = "Commuters face long detours for six weeks as engineers replace the corroded cables on the old harbour bridge."
    html = (
        "<html><head><title>Bridge to close</title></head><body><header><h1>Bridge to close</h1>"
        f"<p class='standfirst'>{lead}</p></header><article>{paragraphs()}</article></body></html>"
    )
    e = extract(html, "https://news.example/2024/05/02/bridge")
    assert (e.standfirst, e.text.split("\n")) == (lead, STORY)
    inside = extract(f"<html><head><title>Bridge to close</title></head><body><article><h1>Bridge to close</h1><p class='standfirst'>{lead}</p>{paragraphs()}</article></body></html>")
    assert lead in (inside.standfirst or "") + inside.text  # kept in the story by trafilatura: there it stays


def test_a_visible_dateline_keeps_the_time_its_time_element_states_not_a_teasers():
    teasers = "<aside class='most-read'><ul>" + "".join(
        f"<li><a href='/o{i}'>Another story about the council and its plans number {i}</a> "
        f"<time datetime='2024-05-02T0{i}:00:00+01:00'>2 May 2024</time></li>" for i in range(1, 4)
    ) + "</ul></aside>"
    byline = "<p class='byline'>By Jane Roe, <time datetime='2024-05-02T09:30:00+01:00'>2 May 2024</time></p>"
    html = f"<html><head><title>Pier</title></head><body>{teasers}<article><h1>Pier</h1>{byline}{paragraphs()}</article></body></html>"
    e = extract(html, "https://news.example/pier")
    assert (e.published.value, e.published.utc, e.published.source) == ("2024-05-02T09:30:00+01:00", "2024-05-02T08:30:00Z", "time")
    plain = html.replace("<time datetime='2024-05-02T09:30:00+01:00'>2 May 2024</time>", "2 May 2024")
    assert extract(plain, "https://news.example/pier").published.value == "2024-05-02"  # the teasers' times are not the story's
    comment = "<div><p>Reader: a fine pier, I say, and about time too.</p><time datetime='2024-05-02T22:10:00+01:00'>2 May</time></div>"
    below = extract(plain.replace("</article>", "</article>" + comment), "https://news.example/pier")
    assert (below.published.value, below.published.source) == ("2024-05-02", "text")  # nor a comment's below the story


def test_the_byline_below_a_marked_summary_kept_in_the_text_is_the_storys_dateline():
    summary = "The harbour board voted for a longer pier after years of dispute with the fishermen."
    byline = "<p class='byline'>By Jane Roe, <time datetime='2024-05-02T09:30:00+01:00'>2 May 2024</time></p>"
    teasers = "<aside><h3>Most read</h3><ul>" + "".join(
        f"<li><a href='/o{i}'>Another story about the council and its plans number {i}</a> <span>{i} May 2024</span></li>" for i in (3, 4, 5)
    ) + "</ul></aside>"
    html = (
        f"<html><head><title>Pier</title></head><body><article><h1>Pier</h1><p class='standfirst'>{summary}</p>"
        f"{byline}{paragraphs()}</article>{teasers}</body></html>"
    )
    e = extract(html, "https://news.example/pier")
    assert (e.published.value, e.published.source) == ("2024-05-02T09:30:00+01:00", "time")


def test_a_date_without_offset_takes_the_offset_the_page_states_for_the_same_minute():
    # the <meta> gives the local time, the <time datetime> the same minute with its offset:
    # one instant stated twice, so the UTC is known
    head = "<meta property='article:published_time' content='2014-12-29T16:00:27'>"
    byline = "<p class='byline'><time datetime='2014-12-29T16:00-05:00'>Dec 29, 2014</time></p>"
    e = extract(page(byline + paragraphs(), head))
    assert (e.published.value, e.published.utc, e.published.source) == ("2014-12-29T16:00:27-05:00", "2014-12-29T21:00:27Z", "meta")
    # another minute (a teaser's, a comment's time): the offset is not the story's to take
    other = byline.replace("16:00-05:00", "16:05-05:00")
    e = extract(page(other + paragraphs(), head))
    assert (e.published.value, e.published.utc) == ("2014-12-29T16:00:27", None)
