"""Every script searchable (issue 17): Chinese, Japanese and Korean words of two characters
or more are found through the bigram index; Latin search keeps its ranking; story text
carries ``lang`` and ``dir``. Real pages from ``../shared/data`` through the pipelines."""

from __future__ import annotations

import asyncio
import html
import sqlite3

import pytest

from archive import cjk, web
from archive.database import Archive
from archive.web.plugin import cjk_query, fts_query, search_excerpt, text_direction
from crawler.items import PageItem
from pipelines.stages import run_stages
from tests.conftest import requires_shared
from tests.pages import DATA
from tests.webarchive import COUNCIL, HARBOUR_V1, page

ARABIC = [
    "وافق مجلس المدينة يوم الاثنين على ميزانية المكتبة الجديدة بعد نقاش طويل حول ساعات العمل فيها وخدماتها للسكان.",
    "وستضم المكتبة قاعة للقراءة وركنا للأطفال وأرشيفا لصحف المدينة منذ أكثر من مئة عام، بحسب ما قاله رئيس المجلس.",
    "وأشاد أعضاء المجلس من الكتلتين بالخطة التي ستمولها المنطقة على مدى السنوات الثلاث المقبلة.",
]
PAGES = {
    "zh": ("http://www.bbc.co.uk/zhongwen/simp/chinese_news/2012/12/121210_hongkong_politics.shtml", DATA / "goose3" / "test_bbc_chinese" / "source.html"),
    "ja": ("http://www.afpbb.com/articles/-/3178894", DATA / "newspaper4k" / "current" / "japanese_article2" / "source.html"),
}


def store(db, fetches) -> None:
    items = (
        PageItem(url=url, final_url=url, status=200, body=body, fetched_at=fetched_at, site="example", role="url", content_type="text/html")
        for url, body, fetched_at in fetches
    )
    for _ in run_stages(items, str(db)):
        pass


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    if not DATA.is_dir():
        pytest.skip(f"needs the shared real pages at {DATA}")
    db = tmp_path_factory.mktemp("cjk") / "news.db"
    store(db, [
        (PAGES["zh"][0], PAGES["zh"][1].read_bytes(), "2026-01-01T10:00:00Z"),
        (PAGES["ja"][0], PAGES["ja"][1].read_bytes(), "2026-01-01T11:00:00Z"),
        ("http://news.example/harbour", page("Pier to grow by forty metres", HARBOUR_V1, "2024-03-04T09:00:00+01:00"), "2026-01-01T12:00:00Z"),
        ("http://news.example/council", page("Council approves library budget", COUNCIL, "2024-03-06T08:00:00+01:00"), "2026-01-01T13:00:00Z"),
        ("http://news.example/arabic", page("مجلس المدينة يوافق على ميزانية المكتبة", ARABIC, "2024-03-07"), "2026-01-01T14:00:00Z"),
    ])
    ds = web.make_datasette(db)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(ds.invoke_startup())

    class Client:
        path = db

        def get(self, path: str, **params):
            return loop.run_until_complete(ds.client.get(path, params=params) if params else ds.client.get(path))

        def search(self, q: str) -> list[dict]:
            response = self.get("/news/search.json", q=q, from_day="", to_day="", _shape="array")
            assert response.status_code == 200, response.text
            return response.json()

    yield Client()
    loop.close()


def story_urls(client, q: str) -> list[str]:
    conn = sqlite3.connect(client.path)
    return [conn.execute("SELECT canonical_url FROM articles WHERE id = ?", [row["story"]]).fetchone()[0] for row in client.search(q)]


@requires_shared
@pytest.mark.parametrize("word, lang", [("梁振英", "zh"), ("香港", "zh"), ("违章建筑", "zh"), ("ナイジェリア", "ja"), ("自爆攻撃", "ja")])
def test_cjk_words_are_found(client, word, lang):
    assert story_urls(client, word) == [PAGES[lang][0]]
    (row,) = client.search(word)
    assert f"»{word}«" in row["excerpt"]


@requires_shared
def test_cjk_search_is_exact_and_combines_with_other_words(client):
    assert story_urls(client, "港香") == []  # the same characters in another order
    assert story_urls(client, "梁振英 ナイジェリア") == []  # both words: no story has both
    assert story_urls(client, "AFP ナイジェリア") == [PAGES["ja"][0]]
    assert story_urls(client, "harbour ナイジェリア") == []


@requires_shared
def test_latin_and_arabic_search_keep_their_word_ranking(client):
    assert story_urls(client, "library") == ["http://news.example/council"]
    assert story_urls(client, "المكتبة") == ["http://news.example/arabic"]
    assert story_urls(client, "forty metres") == ["http://news.example/harbour"]
    (row,) = client.search("library")
    assert "»library«" in row["excerpt"] and row["relevance"] > 0


@requires_shared
def test_cjk_lookups_use_the_index(client):
    conn = sqlite3.connect(client.path)
    plan = " ".join(str(r) for r in conn.execute("EXPLAIN QUERY PLAN SELECT rowid FROM snapshots_cjk WHERE snapshots_cjk MATCH ?", [cjk.query("香港")]))
    assert "VIRTUAL TABLE INDEX" in plan and "SCAN snapshots " not in plan


@requires_shared
def test_story_text_has_lang_and_dir(client):
    conn = sqlite3.connect(client.path)
    ids = dict(conn.execute("SELECT canonical_url, id FROM articles"))
    zh = client.get(f"/-/story/{ids[PAGES['zh'][0]]}").text
    ar = client.get(f"/-/story/{ids['http://news.example/arabic']}").text
    assert 'class="story-body" lang="zh" dir="ltr"' in zh
    assert 'class="story-body" lang="ar" dir="rtl"' in ar and 'lang="ar" dir="rtl">مجلس المدينة' in ar


def test_bigrams_and_queries():
    assert cjk.index_text("梁振英說，香港。", None) == "梁振 振英 英說\n香港"
    assert cjk.query("梁振英 港 Obama") == '"梁振 振英"'
    assert cjk.query("Obama") == '""' and fts_query("梁振英") == '""'
    assert fts_query("Obama 香港") == '"Obama"' and cjk_query("Obama 香港") == '"香港"'
    assert search_excerpt("前文。梁振英在各方压力下", "梁振英") == "前文。»梁振英«在各方压力下"
    assert text_direction("he") == "rtl" and text_direction("en") == "ltr" and text_direction(None) == "auto"


def test_the_migration_indexes_versions_stored_before_it(tmp_path):
    from archive.migrations import migrations

    db = tmp_path / "old.db"
    with Archive.open(db) as archive:
        archive.db.execute("DROP TABLE snapshots_cjk")
        archive.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm009_cjk_search'")
        archive.db.execute("INSERT INTO articles (id, canonical_url, site, first_seen, last_seen) VALUES (1, 'http://news.example/hk', 'example', 'x', 'x')")
        archive.db.execute("INSERT INTO snapshots (article_id, version, fetched_at, content_hash, reason, title, text) VALUES (1, 1, 'x', 'x', 'new', '香港新闻', 'x')")
        archive.db.conn.commit()
    with Archive.open(db) as archive:
        assert archive.db.execute("SELECT rowid FROM snapshots_cjk WHERE snapshots_cjk MATCH ?", [cjk.query("香港")]).fetchall() == [(1,)]
        assert "m009_cjk_search" in [m.name for m in migrations.applied(archive.db)]


# -- the search page (/-/search) ---------------------------------------------------------


@requires_shared
def test_search_page_lists_linked_headlines_with_site_day_and_excerpt(client):
    response = client.get("/-/search", q="library")
    assert response.status_code == 200
    page = response.text
    assert "1 story matches “library”" in page
    story_id = sqlite3.connect(client.path).execute("SELECT id FROM articles WHERE canonical_url = 'http://news.example/council'").fetchone()[0]
    assert f'<a class="search-title" href="/-/story/{story_id}">Council approves library budget</a>' in page
    assert "<mark>library</mark>" in page and 'example · <time datetime="2024-03-06" title="2024-03-06">6 Mar 2024</time>' in page
    assert "SQL" not in page.replace("sqlite", "")
    chinese = client.get("/-/search", q="香港").text
    assert "1 story matches “香港”" in chinese and "<mark>香港</mark>" in chinese


@requires_shared
def test_search_page_filters_say_what_is_wrong(client):
    slashed = client.get("/-/search", q="library", **{"from": "2024/03/01", "to": "2024-03-31"}).text
    assert "1 story matches" in slashed and "published from" in slashed and ">1 Mar 2024</time> to " in slashed  # 2024/03/01 read as a day
    assert "No story matches “library”" in client.get("/-/search", q="library", **{"from": "2024-04-01"}).text
    for params, message in [
        ({"from": "01.2024"}, "from &#39;01.2024&#39; is not a day: write it as 2015-07-01"),
        ({"to": "yesterday"}, "to &#39;yesterday&#39; is not a day"),
        ({"site": "nosuch"}, "site &#39;nosuch&#39; has no stories here; sites: example"),
        ({"from": "2024-05-01", "to": "2024-04-01"}, "from 2024-05-01 is after to 2024-04-01"),
    ]:
        response = client.get("/-/search", q="library", **params)
        assert response.status_code == 400 and message in response.text, (params, response.text[-2000:])
    empty = client.get("/-/search")
    assert empty.status_code == 200 and "Type a word or a phrase" in empty.text
    assert "nothing to search for" in client.get("/-/search", q="港").text
    # no word at all: said so, not blamed on one-character CJK words
    quote = client.get("/-/search", q='""').text
    assert "nothing to search for in '\"\"': give words (letters or digits)" in html.unescape(quote) and "Chinese" not in quote
    filters_only = client.get("/-/search", site="example", **{"from": "2024-03-01"})
    assert filters_only.status_code == 400 and "give words to search for" in filters_only.text
    assert 'id="q" name="q" value="" placeholder="words or a phrase" aria-invalid="true"' in filters_only.text
    bad_day = client.get("/-/search", q="library", **{"from": "2015/13/01"}).text
    assert 'name="from" value="2015/13/01" placeholder="YYYY-MM-DD" size="10" aria-invalid="true"' in bad_day
