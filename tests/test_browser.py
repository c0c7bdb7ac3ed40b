"""The archive in a real browser (issue 6): headless Chromium over ``newsarchive serve``.

Opens the home page, searches for a word of an archived story and finds it on the search
page, is told what is wrong with a bad filter, sees the stories table's rows first within
the window, goes home from a 404, opens a story
with two versions and sees the highlighted diff, and loads every view of a story whose
archived text, title and HTML carry script payloads: none runs. The positive control
loads the same payloads as a page of their own, where they do run, so that a zero means
something. Screenshots of each view go to the test's temporary folder
(``docs/screenshots.py`` makes the README's).
"""

from __future__ import annotations

import pytest

from tests.browser import browser_or_skip, quit_browser
from tests.servers import html_pages, serving
from tests.webarchive import PAYLOADS, build, hostile_page
from tests.webdrills import payload_controls, ran_script, xss_views

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    db = folder / "news.db"
    urls = build(db)
    with serving(db, cwd=folder) as base:
        yield base, urls, folder


@pytest.fixture(scope="module")
def browser():
    b = browser_or_skip()
    yield b
    quit_browser(b)


def test_home_page_opens(served, browser):
    base, _, folder = served
    browser.get(base + "/")
    assert browser.title == "newsarchive"
    text = browser.find_element("tag name", "body").text
    assert "3 stories, 4 versions, 4 captures" in text
    assert "Latest stories" in text and "Recently changed" in text
    browser.save_screenshot(str(folder / "home.png"))


def shown(browser, css: str):
    """The element matching ``css`` once the page that has it is loaded: submit() and
    click() return before the next page arrives (up to 10 s)."""
    from selenium.webdriver.support import expected_conditions  # imported late, as tests/browser.py does
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located(("css selector", css)))


def test_search_finds_a_story_and_opens_it(served, browser):
    base, _, folder = served
    browser.get(base + "/")
    box = browser.find_element("id", "q")
    box.send_keys("library")
    box.submit()
    shown(browser, "ol.search-results")
    assert browser.current_url.startswith(base + "/-/search?q=library")
    results = browser.find_elements("css selector", "ol.search-results li")
    assert len(results) == 1
    assert "1 story matches “library”" in browser.find_element("css selector", ".search-count").text
    assert results[0].find_element("tag name", "mark").text == "library"
    assert "SQL" not in browser.find_element("tag name", "body").text
    browser.save_screenshot(str(folder / "search.png"))
    results[0].find_element("link text", "Council approves library budget").click()
    assert shown(browser, "h1.story-title").text == "Council approves library budget"


def test_the_search_page_says_what_is_wrong_with_a_filter(served, browser):
    base, _, folder = served
    browser.get(base + "/-/search")
    assert "Type a word or a phrase" in browser.find_element("tag name", "body").text
    browser.find_element("id", "q").send_keys("library")
    day = browser.find_element("id", "from")
    day.send_keys("2024/13/01")
    day.submit()
    errors = shown(browser, "ul.search-errors")
    assert errors.text == "from '2024/13/01' is not a day: write it as 2015-07-01"
    field = browser.find_element("id", "from")
    assert field.get_attribute("aria-invalid") == "true" and field.get_attribute("value") == "2024/13/01"
    assert field.value_of_css_property("border-top-color") == "rgba(187, 0, 0, 1)"  # marked in red
    browser.save_screenshot(str(folder / "search-error.png"))
    field.clear()
    field.send_keys("2024/03/01")  # slashes read as a day
    field.submit()
    assert "1 story matches “library”, published from 1 Mar 2024." in shown(browser, ".search-count").text
    browser.find_element("id", "q").clear()
    browser.find_element("id", "q").submit()
    assert shown(browser, "ul.search-errors").text.startswith("give words to search for")


def test_the_stories_table_shows_its_rows_first_within_the_window(served, browser):
    base, _, folder = served
    browser.get(base + "/")
    browser.find_element("link text", "All stories").click()
    first = shown(browser, "table.rows-and-columns tbody tr")
    height, width = browser.execute_script("return [window.innerHeight, window.innerWidth]")
    assert first.rect["y"] + first.rect["height"] < height  # above the fold
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width  # no sideways scrolling
    help_ = browser.find_element("css selector", "details.column-help")
    assert help_.get_attribute("open") is None and not browser.find_element("css selector", "details.column-help dl").is_displayed()
    title = first.find_element("css selector", "td.col-title")
    assert title.rect["width"] >= 200  # a headline is not squeezed into a narrow column
    assert "UTC" in first.find_element("css selector", "td.col-first_seen").text
    browser.save_screenshot(str(folder / "stories.png"))
    help_.find_element("tag name", "summary").click()
    assert browser.find_element("css selector", "details.column-help dl").is_displayed()


def test_the_404_page_leads_home(served, browser):
    base, _, _ = served
    browser.get(base + "/news/no-such-table")
    assert browser.find_element("tag name", "h1").text == "Not found (404)"
    browser.find_element("css selector", ".crumbs a").click()
    shown(browser, ".archive-columns")
    assert browser.title == "newsarchive"


def test_a_story_with_two_versions_shows_the_diff(served, browser):
    base, _, folder = served
    browser.get(base + "/")
    browser.find_element("link text", "Pier to grow by forty metres after vote").click()
    change = shown(browser, "#changes .change")
    assert "v1 → v2" in change.text and "publisher's edit" in change.text
    diff = change.find_element("css selector", ".diff")
    assert [e.text for e in diff.find_elements("tag name", "del")] == ["two"]
    assert [e.text for e in diff.find_elements("tag name", "ins")] == ["three fishing"]
    # highlighted: removed words struck through on red, added words on green
    assert diff.find_element("tag name", "del").value_of_css_property("text-decoration-line") == "line-through"
    assert diff.find_element("tag name", "ins").value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    headline = change.find_element("css selector", ".headline-change")
    assert headline.find_element("tag name", "ins").text == "Pier to grow by forty metres after vote"
    paragraphs = browser.find_elements("css selector", "#text p")
    assert len(paragraphs) == 4 and "three fishing boats" in paragraphs[1].text
    browser.save_screenshot(str(folder / "story.png"))


# the hostile story is article 2, first stored by capture 2 (tests/webarchive.py)
XSS_VIEWS = xss_views("news", 2, 2)


@pytest.mark.scenario(29)
@pytest.mark.parametrize("path", XSS_VIEWS)
def test_archived_scripts_never_run(served, browser, path):
    base, _, _ = served
    assert not ran_script(browser, base + path), path
    if path == "/-/story/2":  # the payloads are on the page, as text
        body = browser.find_element("tag name", "body").text
        assert all(payload in body for payload in PAYLOADS)


@pytest.mark.scenario(29)
def test_the_payloads_run_when_not_escaped(browser):
    # positive controls: the archived page itself, and each payload on a page of its own,
    # served unescaped, do run here; a zero above is not a blind browser
    with html_pages() as put:
        assert ran_script(browser, put(hostile_page()))
        assert payload_controls(browser, put) >= 8
