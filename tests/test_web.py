"""The archive in Datasette (issue 6), in process: home page, metadata, search, canned
queries, story pages with diffs, escaping, security headers, read-only serving."""

from __future__ import annotations

import asyncio
import html
import json
import re
import sqlite3
from pathlib import Path

import pytest

from archive import web
from archive.web.plugin import diff_html, fts_query, highlight_excerpt, safe_href
from crawler.items import PageItem
from pipelines.stages import run_stages
from tests.webarchive import MARK, build, page


@pytest.fixture(scope="module")
def archive_db(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("web") / "news.db"
    return db, build(db)


@pytest.fixture(scope="module")
def client(archive_db):
    db, _ = archive_db
    ds = web.make_datasette(db)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(ds.invoke_startup())

    class Client:
        def get(self, path: str, **kwargs):
            return loop.run_until_complete(ds.client.get(path, **kwargs))

        def post(self, path: str, **kwargs):
            return loop.run_until_complete(ds.client.post(path, **kwargs))

    yield Client()
    loop.close()


def rows(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def text_of(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


# -- home, metadata, tables ------------------------------------------------------------


def test_home_page_has_figures_search_and_stories(client):
    response = client.get("/")
    assert response.status_code == 200
    page = text_of(response.text)
    assert "3 stories, 4 versions, 4 captures" in page
    assert 'action="/-/search"' in response.text and 'href="/news/search"' in response.text  # the search page; its SQL as a query
    assert 'action="/-/story"' in response.text
    # latest first (by publication date); the edited story is listed as recently changed
    latest = page.index("Latest stories")
    assert page.index("Council approves library budget", latest) < page.index("Pier to grow by forty metres after vote", latest)
    assert "Pier to grow by forty metres after vote example · 1 edit" in page
    assert 'href="/-/story/1"' in response.text
    # the newsarchive home page (not Datasette's index view): the first tables in the order
    # of metadata.json, hidden ones never; Datasette's /.json stays
    assert "Tables stories , articles , snapshots , changes , publisher_edits , ..." in page
    assert "fingerprints" not in page
    assert "news" in client.get("/.json").json()


def test_tables_and_columns_are_described_with_units(client):
    metadata = client.get("/-/metadata.json").json()
    tables = metadata["databases"]["news"]["tables"]
    for table in ("stories", "articles", "snapshots", "captures", "changes", "bodies", "aliases", "crawls", "failures"):
        assert tables[table]["description"], table
    assert "UTC" in tables["captures"]["columns"]["fetched_at"]
    assert "as the page states" in tables["snapshots"]["columns"]["published"].lower()
    assert tables["stories"]["facets"] == ["site", "language", "published_day", "status"]
    # Datasette shows them: the column description on the table page
    assert "When the response arrived (UTC)." in client.get("/news/captures").text


def test_stories_are_newest_first_with_facets(client):
    data = client.get("/news/stories.json?_extra=facet_results").json()
    days = [row[data["columns"].index("published_day")] for row in data["rows"]]
    assert days == ["2024-03-06", "2024-03-05", "2024-03-04"]
    facets = data["facet_results"]
    assert {f["value"] for f in facets["published_day"]["results"]} == {"2024-03-04", "2024-03-05", "2024-03-06"}
    assert [f["value"] for f in facets["site"]["results"]] == ["example"]
    assert [f["value"] for f in facets["language"]["results"]] == ["en"]


# -- search and canned queries -----------------------------------------------------------


def test_search_is_ranked_one_row_per_story_and_bounded_by_day(client):
    found = rows(client, "/news/search.json?_shape=array&q=library+budget&from_day=&to_day=")
    assert [r["title"] for r in found] == ["Council approves library budget"]
    assert "<mark>" not in found[0]["excerpt"] and "»library«" in found[0]["excerpt"]
    # both versions of the harbour story match "pier": one row, ranked
    pier = rows(client, "/news/search.json?_shape=array&q=pier&from_day=&to_day=")
    assert [r["story"] for r in pier] == [1]
    # a word only in the old version still finds the story (every version is searched)
    assert [r["matched_version"] for r in rows(client, "/news/search.json?_shape=array&q=two+boats&from_day=&to_day=")] == [1]
    assert rows(client, "/news/search.json?_shape=array&q=library&from_day=2024-03-07&to_day=") == []
    assert len(rows(client, "/news/search.json?_shape=array&q=library&from_day=2024-03-06&to_day=2024-03-06")) == 1
    # not a day: matches nothing (SQLite's date() reads "2016" as a Julian day number: it matched everything)
    for day in ("2016", "2024-3-6", "yesterday"):
        assert rows(client, f"/news/search.json?_shape=array&q=library&from_day={day}&to_day=") == [], day
        assert rows(client, f"/news/search.json?_shape=array&q=library&from_day=&to_day={day}") == [], day
    # anything typed is a valid query: quotes, operators, nothing
    for q in ['"unbalanced', "NEAR(", "pier AND", ""]:
        response = client.get(f"/news/search.json?_shape=array&q={q}&from_day=&to_day=")
        assert response.status_code == 200, (q, response.text[:300])


def test_search_results_highlight_matches_in_the_html_page(client):
    html = client.get("/news/search?q=library&from_day=&to_day=").text
    assert "<mark>library</mark>" in html
    assert 'href="/-/story/3"' in html


def test_canned_queries_answer_what_a_newsroom_asks(client, archive_db):
    _, urls = archive_db
    changed = rows(client, "/news/changed_stories.json?_shape=array")
    assert [(r["story"], r["edits"], r["versions"]) for r in changed] == [(1, 1, 2)]
    headlines = rows(client, "/news/headline_changes.json?_shape=array")
    assert [(r["old_title"], r["new_title"]) for r in headlines] == [("Pier to grow by forty metres", "Pier to grow by forty metres after vote")]
    history = rows(client, f"/news/story_history.json?_shape=array&url={urls['harbour']}")
    assert [(r["version"], r["reason"], r["words_added"], r["words_removed"]) for r in history] == [(1, "new", None, None), (2, "edit", 2, 1)]
    latest = rows(client, "/news/latest_stories.json?_shape=array")
    assert [r["story"] for r in latest] == [3, 2, 1]
    runs = rows(client, "/news/crawl_runs.json?_shape=array")
    assert len(runs) == 1 and runs[0]["status"] == "finished" and runs[0]["new_articles"] == 3
    assert rows(client, "/news/recent_failures.json?_shape=array") == []
    # every canned query has a title and its SQL hidden behind a link
    queries = client.get("/-/metadata.json").json()["databases"]["news"]["queries"]
    assert set(queries) == {"search", "latest_stories", "changed_stories", "headline_changes", "story_history", "crawl_runs", "recent_failures"}
    assert all(q["title"] and q["hide_sql"] for q in queries.values())


# -- the story page ------------------------------------------------------------------------


def test_story_page_shows_text_dates_urls_versions_and_the_diff(client, archive_db):
    _, urls = archive_db
    response = client.get("/-/story/1")
    assert response.status_code == 200
    html = response.text
    page = text_of(html)
    # text as paragraphs
    assert "<p>The work is expected to start in the spring" in html
    assert html.count("<p>") >= 4
    # dates as stated and in UTC, archive times in UTC
    # (readable: archive/web/dates.py; the ISO 8601 value in <time datetime>)
    assert "Published 4 Mar 2024, 09:00 (UTC+01:00) · 08:00 UTC" in page
    assert '<time datetime="2024-03-04T09:00:00+01:00" title="2024-03-04T09:00:00+01:00">' in html
    assert "First seen 4 Mar 2024, 10:00 UTC" in page and "Last changed 4 Mar 2024, 16:00 UTC" in page
    # the versions and the highlighted diff between them
    assert "v1 → v2 publisher's edit" in page
    assert "<del>two</del> <ins>three fishing</ins>" in html
    assert "<del>Pier to grow by forty metres</del> → <ins>Pier to grow by forty metres after vote</ins>" in html
    assert f'<a href="{urls["harbour"]}" rel="noopener noreferrer nofollow">' in html


def test_any_two_versions_can_be_compared(client):
    page = text_of(client.get("/-/story/1?from=2&to=1").text)
    assert "Version 2 → 1" in page


def test_a_story_is_found_by_its_url(client, archive_db):
    _, urls = archive_db
    response = client.get(f"/-/story?url={urls['council']}")
    assert response.status_code == 302 and response.headers["location"] == "/-/story/3"
    # spelled differently (tracking parameter, upper-case host): the same story
    variant = urls["council"].replace("news.example", "NEWS.example") + "?utm_source=x"
    assert client.get("/-/story", params={"url": variant}).headers["location"] == "/-/story/3"
    assert client.get("/-/story?url=http://elsewhere.example/").status_code == 404
    assert client.get("/-/story/999").status_code == 404


# -- nothing from an archived page runs -------------------------------------------------------


LIVE_MARKUP = ("<script>document.body", '<img src="x" onerror', "<svg onload", 'href="javascript:')
PAGES_WITH_THE_PAYLOAD_TEXT = [
    "/", "/-/story/2", "/news/stories", "/news/snapshots", "/news/snapshots/2",
    "/news/search?q=reader&from_day=&to_day=", "/news/latest_stories",
]  # fmt: skip


@pytest.mark.parametrize("path", [*PAGES_WITH_THE_PAYLOAD_TEXT, "/news/articles", "/news/captures", "/news/aliases"])
def test_archived_script_payloads_are_escaped(client, path):
    page = client.get(path).text
    if path in PAGES_WITH_THE_PAYLOAD_TEXT:
        assert "&lt;script&gt;document.body" in page  # the payload is on the page, as text
    for live in LIVE_MARKUP:
        assert live not in page, (path, live)


def test_escaping_is_what_stops_the_payloads(archive_db):
    # positive control: the same story page rendered with autoescaping off has live payloads
    db, _ = archive_db
    ds = web.make_datasette(db)
    ds.jinja_env.autoescape = False
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ds.invoke_startup())
        page = loop.run_until_complete(ds.client.get("/-/story/2")).text
    finally:
        loop.close()
    assert "<script>document.body" in page


def test_the_archived_html_is_served_as_sandboxed_plain_text(client):
    response = client.get("/-/capture/2/source")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert f"<script>{MARK}</script>" in response.text  # the bytes as they were, shown as text


def test_every_page_sends_a_content_security_policy(client):
    for path in ("/", "/-/story/1", "/news/snapshots"):
        headers = client.get(path).headers
        assert "object-src 'none'" in headers["content-security-policy"]
        assert "img-src 'self' data:" in headers["content-security-policy"]  # no request ever leaves for an archived page's images
        assert headers["x-content-type-options"] == "nosniff"


def test_rendering_helpers_escape_everything():
    assert str(diff_html([["=", "a <b>\nc"], ["-", "<script>x</script>"], ["+", "&"]])) == (
        '<span class="word-diff"><span>a &lt;b&gt;<br>c</span> <del>&lt;script&gt;x&lt;/script&gt;</del> <ins>&amp;</ins></span>'
    )
    assert str(highlight_excerpt("<i>»word«</i> » alone")) == "&lt;i&gt;<mark>word</mark>&lt;/i&gt; » alone"
    assert safe_href("javascript:alert(1)") is None and safe_href("https://x.example/a") == "https://x.example/a"
    assert fts_query('say "hello') == '"say" "hello"' and fts_query("") == '""'


# -- read-only -------------------------------------------------------------------------


def test_the_served_archive_cannot_be_written(client, archive_db):
    db, _ = archive_db
    before = sqlite3.connect(db).execute("SELECT count(*) FROM articles").fetchone()[0]
    attempts = [
        client.get("/news.json", params={"sql": "DELETE FROM articles"}),
        client.get("/news.json", params={"sql": "UPDATE articles SET site = 'x'"}),
        client.get("/news.json", params={"sql": "SELECT 1; DROP TABLE articles"}),
        client.post("/news/-/create", json={"table": "x", "rows": [{"a": 1}]}),
        client.post("/news/articles/-/insert", json={"row": {"canonical_url": "http://x"}}),
        client.post("/news/articles/1/-/delete"),
    ]
    assert all(r.status_code in (400, 403, 404, 405) for r in attempts), [r.status_code for r in attempts]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == before
    assert conn.execute("SELECT count(*) FROM articles WHERE site = 'x'").fetchone()[0] == 0


def test_serving_does_not_stop_a_crawl_from_writing(client, archive_db):
    db, _ = archive_db
    assert rows(client, "/news/stories.json?_shape=array")  # Datasette has the archive open
    item = PageItem(
        url="http://news.example/2024/03/07/late", final_url="http://news.example/2024/03/07/late", status=200,
        body=page("A late story arrives", ["A late story arrived while the archive was being read by its readers in Datasette."] * 3,
                  "2024-03-07T08:00:00Z"),
        fetched_at="2024-03-07T09:00:00Z", site="example", role="url", content_type="text/html",
    )  # fmt: skip
    (item,) = run_stages([item], str(db))
    assert item.outcome == "new"
    titles = [r["title"] for r in rows(client, "/news/stories.json?_shape=array")]
    assert "A late story arrives" in titles


def test_serve_args_keep_datasette_on_loopback_with_the_project_files(tmp_path):
    args = web.serve_args(tmp_path / "a.db", 8001, tmp_path / "m.json")
    assert args[args.index("--host") + 1] == "127.0.0.1"
    assert Path(args[args.index("--template-dir") + 1]).joinpath("story.html").exists()
    assert Path(args[args.index("--plugins-dir") + 1]).joinpath("newsarchive_plugin.py").exists()
    assert json.loads(json.dumps(web.metadata("a")))["databases"].keys() == {"a"}


# -- what a first user tried ------------------------------------------------------------------


def test_only_reading_methods_are_answered(client):
    for path in ("/news/search", "/news/articles", "/-/story/1", "/news/-/create"):
        response = client.post(path, data={"q": "x"})
        assert response.status_code == 405, path
        assert "read-only" in response.text


def test_serve_s_plugins_dir_registers_every_hook_of_the_plugin():
    # `newsarchive serve` loads the hooks through --plugins-dir (archive/web/plugins/), not
    # make_datasette's registration that the other tests use: a hook missing there is lost
    import archive.web.plugin as plugin
    from archive.web.plugins import newsarchive_plugin as shim

    def hooks(module):
        return {name for name in dir(module) if hasattr(getattr(module, name), "datasette_impl")}

    assert hooks(shim) == hooks(plugin) and "startup" in hooks(shim)


def test_no_story_pages_are_clear_404s(client, capsys):
    for path in ("/-/story/abc", "/-/story/-1", "/-/story/99999999999999999999999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "story" in response.text.lower() and "Database not found" not in response.text
    assert client.get("/-/story/12345").status_code == 404
    assert client.get("/nosuchdb.json").json()["status"] == 404
    # no traceback on the console for a reader's mistake (Datasette prints one with rich installed)
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err and "NotFound" not in printed.out + printed.err


def test_a_comparison_of_missing_or_equal_versions_says_so(client):
    assert "Compare needs two versions between 1 and 2" in text_of(client.get("/-/story/1?from=0&to=9").text)
    page = text_of(client.get("/-/story/1?from=1&to=1").text)
    assert "Version 1 compared with itself: nothing changed." in page and "Version 1 → 1" not in page


def test_searches_stay_bounded_and_valid(client, archive_db):
    _, urls = archive_db
    # a pasted essay is cut to its first words (FTS5 snippet() costs grow with the square of the terms)
    assert fts_query("pier " * 10_000).count('"pier"') == 32
    assert client.get("/news/search.json", params={"q": "pier " * 10_000, "from_day": "", "to_day": ""}).status_code == 200
    # the snapshots table's own search box quotes what is typed, too
    assert client.get("/news/snapshots.json", params={"_search": 'pier "unbalanced'}).status_code == 200
    # a search of no word (a lone quote: Datasette's quoting makes it an empty FTS5 query, a
    # syntax error) shows the table unfiltered
    every = client.get("/news/snapshots.json", params={"_shape": "array"}).json()
    for name in ("_search", "_search_title"):
        for typed in ('"', '""'):
            found = client.get("/news/snapshots.json", params={"_shape": "array", name: typed})
            assert found.status_code == 200 and len(found.json()) == len(every), (name, typed, found.text[:300])
    # a sort by a column that does not exist is the request's error (400), not the server's
    for params in ({"_sort": "nonexistent"}, {"_sort_desc": "zzz"}, {"_sort": "title", "_sort_desc": "title"}):
        for path in ("/news/snapshots", "/news/snapshots.json"):
            refused = client.get(path, params=params)
            assert refused.status_code == 400 and "sort" in refused.text, (path, params, refused.status_code)
    assert client.get("/news/snapshots.json", params={"_sort": "title"}).status_code == 200
    # a day that is no date matches nothing, instead of everything
    assert rows(client, "/news/search.json?_shape=array&q=library&from_day=%27%3B+drop&to_day=") == []
    # one story's history by an alias spelling (tracking parameter)
    found = client.get("/news/story_history.json", params={"_shape": "array", "url": urls["harbour"] + "?utm_source=x"}).json()
    assert [r["version"] for r in found] == [1, 2]


def test_history_and_export_refuse_what_they_cannot_do(archive_db, tmp_path):
    from tests.conftest import run_cli

    db, urls = archive_db
    for args in (["--from", "1", "--to", "1"], ["--to", "0"], ["--from", "99999999999999999999999"]):
        result = run_cli("history", urls["harbour"], "--db", db, *args, cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr, (args, result.stderr)
    for args in (["--from", "1", "--to", "1"], ["--to", "9"]):  # a usage error prints only itself
        result = run_cli("history", urls["harbour"], "--db", db, *args, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == "" and result.stderr.startswith("Error: "), (args, result)
    # one end given that leaves no other version: the error says which end to add
    result = run_cli("history", urls["harbour"], "--db", db, "--from", "2", cwd=tmp_path)
    assert "--from 2 is the latest version: give --to too (1 to 2)" in result.stderr
    result = run_cli("history", urls["harbour"], "--db", db, "--to", "1", cwd=tmp_path)
    assert "--to 1 is the first version: give --from too (1 to 2)" in result.stderr
    result = run_cli("history", urls["council"], "--db", db, "--from", "1", cwd=tmp_path)  # a story of one version
    assert result.returncode == 2 and "this story has one version: nothing to compare" in result.stderr
    result = run_cli("history", urls["harbour"], "--db", db, "--from", "2", "--to", "1", cwd=tmp_path)
    assert "v2 → v1 (comparison):" in result.stdout
    result = run_cli("export-warc", "--db", db, "--out", tmp_path / "x.txt", cwd=tmp_path)
    assert result.returncode == 2 and ".warc.gz" in result.stderr and not (tmp_path / "x.txt").exists()
    result = run_cli("export-warc", "--db", db, "--out", tmp_path / "x.warc", cwd=tmp_path)
    captures, records = map(int, re.search(r"(\d+) captures in (\d+) records", result.stdout).groups())
    assert result.returncode == 0 and records > captures > 0
    assert (tmp_path / "x.warc").read_bytes().startswith(b"WARC/1.1\r\n")  # plain, not gzip
