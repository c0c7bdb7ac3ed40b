"""Site templates (issue 13, item 1): learned from a site's stories, removed before the main
content is looked for, never a source of the story's date. Pages are built on real pages'
layouts (benchmarks/template_sites.py over ../shared/data)."""

from __future__ import annotations

import json
from functools import cache

import pytest

from archive.records import CaptureRecord, SnapshotRecord
from archive.database import Archive
from crawler.options import ExtractOptions
from pipelines.extraction import extract
from pipelines.extraction.html import parse_document
from pipelines.extraction.template import Template, _digest, apply, learn
from pipelines.jobs import run_job
from pipelines.templates import learn_due, learn_site, load_template
from pipelines.workers import ExtractionPool
from tests.conftest import requires_shared, run_cli
from tests.pages import SHARED

pytestmark = requires_shared

URL = "http://127.0.0.2"


@cache
def _layouts():
    from benchmarks.template_sites import layouts

    return layouts(SHARED, 4)


def site(n: int, count: int = 14, *, inside: bool = True, style: int = 0):
    """Pages of a site on real layout ``n``; teasers' times in TIME_STYLES[style]."""
    from benchmarks.template_sites import site_pages

    found, pool = _layouts()
    return site_pages(found[n], pool, count, inside=inside, style=style, seed=n)


def trees(pages):
    return [(parse_document(p.body)[0], URL + p.path) for p in pages]


def text_of(tree) -> str:
    return " ".join(tree.text_content().split())


@pytest.mark.parametrize("n, inside", [(0, True), (1, False), (2, True), (3, False)])
def test_the_teaser_sidebar_is_learned_and_removed_and_the_story_stays(n, inside):
    pages = site(n, inside=inside, style=n)
    template = learn(trees(pages[:12]), site="s")
    sidebars = [b for b in template.blocks if b.kind == "links" and b.stories == 12]
    assert len(sidebars) >= 1
    for page in pages[12:]:
        tree = parse_document(page.body)[0]
        removed = apply(tree, template)
        assert any(r.path == sidebars[0].path for r in removed)
        left = text_of(tree)
        # every paragraph of the story is still there; no teaser is
        assert all(" ".join(p.split()) in left for p in page.text.split("\n"))
        assert tree.xpath('//*[@class="teaser"]') == []


def test_no_block_holds_the_story():
    pages = site(0)
    template = learn(trees(pages[:12]), site="s")
    tree = parse_document(pages[13].body)[0]
    story = [p for p in tree.iter("p") if p.text_content().strip() in pages[13].text]
    from pipelines.extraction.template import _PageView

    keys = _PageView(tree.find("body"), None, template.vocabulary).keys
    paths = {b.path for b in template.blocks}
    for p in story:
        key = keys[p]
        assert not any(key == path or key.startswith(path + "/") for path in paths)


def test_copies_of_one_story_do_not_make_its_text_template():
    """Learned from pages that are all the same story (versions, syndicated copies), the
    story's paragraphs recur on every page: counted over captures they would be template.
    Distinct stories are what the archive gives learn (tests below); here the guard holds:
    a block holding the page's prose is never removed."""
    pages = site(1)
    same = [pages[0]] * 12
    template = learn(trees(same), site="s")
    tree = parse_document(pages[0].body)[0]
    apply(tree, template)
    left = text_of(tree)
    assert sum(" ".join(p.split()) in left for p in pages[0].text.split("\n")) >= len(pages[0].text.split("\n")) // 2


def test_a_learn_job_holds_one_parsed_page_at_a_time_and_learns_what_learn_does():
    import gc
    import weakref

    from pipelines.extraction import template as site_template

    pages = site(2)
    job = site_template.LearnJob.of("s", [(p.body, "text/html", URL + p.path) for p in pages], 8)
    assert sum(len(body) for body, _, _ in job.pages) < sum(len(p.body) for p in pages) / 3  # compressed
    alive, most = [], 0
    real_parse = site_template.parse_document

    def counting_parse(*args, **kwargs):
        nonlocal most
        gc.collect()
        most = max(most, sum(ref() is not None for ref in alive))
        parsed = real_parse(*args, **kwargs)
        alive.append(weakref.ref(parsed[0]))
        return parsed

    site_template.parse_document = counting_parse
    try:
        learned = site_template.learn_job(job)
    finally:
        site_template.parse_document = real_parse
    assert len(alive) == 2 * len(pages)  # each page parsed twice: vocabulary, then blocks
    assert most <= 1  # the page before is gone when the next one is parsed
    assert learned.to_json() == learn(trees(pages), site="s").to_json()


def test_too_few_stories_learn_nothing():
    assert learn(trees(site(0, 2)), site="s").blocks == ()


def test_template_is_a_plain_versioned_value():
    template = learn(trees(site(0, 12)), site="s")
    data = json.loads(json.dumps(template.to_json()))
    again = Template.from_json(data)
    assert again == template and again.label == "s@0"
    with pytest.raises(ValueError):
        Template.from_json({**data, "format": 99})


def test_extraction_applies_it_and_says_what_it_removed():
    pages = site(2, inside=True, style=2)
    template = learn(trees(pages[:12]), site="s")
    page = pages[12]
    e = extract(page.body, URL + page.path, options=ExtractOptions(template=template))
    plain = extract(page.body, URL + page.path)
    assert e.template == "s@0" and plain.template is None and plain.removed == []
    assert any(r.kind == "links" for r in e.removed)
    assert "Latest" not in e.text.split("\n")
    assert (e.published.value[:10] if e.published else None) == page.published


@pytest.mark.parametrize("style", [1, 2])
def test_a_date_inside_a_template_block_is_never_the_story_date(style):
    """Pages stating no date of their own, with the dated sidebar inside the story's
    container, teasers dated "December 18, 2024" or "18.12.2024": with the site's
    template, a teaser's day is never the story's (the generic extraction's own rules
    refuse most of them too: a box of links dates nothing)."""
    pages = site(2, 16, inside=True, style=style)
    template = learn(trees(pages[:12]), site="s")
    undated = [p for p in pages[12:] if p.published is None]
    assert undated
    for page in undated:
        assert len(page.teaser_days) == 5
        e = extract(page.body, URL + page.path, options=ExtractOptions(template=template))
        # no teaser's day (what is left of the real page's own metadata may still date it)
        assert e.published is None or e.published.value[:10] not in page.teaser_days, e.published
        assert any(r.kind == "links" and "teaser" not in r.path and r.text.startswith("Latest") for r in e.removed)


# -- the archive's side: distinct stories, versions ---------------------------------


def _store(archive: Archive, pages, site_name="s", start=0):
    crawl = archive.start_crawl("test")
    for i, page in enumerate(pages, start):
        e = extract(page.body, URL + page.path)
        archive.record_capture(
            crawl,
            CaptureRecord(url=URL + page.path, final_url=URL + page.path, fetched_at=f"2026-01-01T00:00:{i:02d}Z", status=200, body=page.body, site=site_name, content_type="text/html"),
            SnapshotRecord(canonical_url=URL + page.path, content_hash=f"h{i}", title=e.title, text=e.text, extractor="x"),
        )


def test_learning_from_the_archive_counts_stories_and_saves_versions(tmp_path):
    pages = site(3, 12, inside=False, style=3)
    with Archive.open(tmp_path / "a.db") as archive:
        _store(archive, pages[:5])
        assert learn_site(archive, "s", min_stories=8) is None  # too few stories
        # the same five stories captured again (new versions): still five stories
        _store(archive, pages[:5], start=10)
        assert len(archive.story_pages("s", 100)) == 5
        assert learn_site(archive, "s", min_stories=8) is None
        _store(archive, pages[5:], start=20)
        first = learn_site(archive, "s", min_stories=8)
        second = learn_site(archive, "s", min_stories=8)
        assert (first.version, second.version, first.stories) == (1, 2, 12)
        assert load_template(archive, "s") == second
        rows = archive.templates("s")
        assert [r["version"] for r in rows] == [2, 1] and rows[0]["blocks"]
        assert archive.new_stories("s") == 0
        # archive URL of a known site's page finds the site by the URL's host
        assert load_template(archive, "127.0.0.2", URL + "/story/new") == second
        assert load_template(archive, "127.0.0.9", "http://127.0.0.9/x") is None


def test_extract_with_the_archive_applies_the_sites_template(tmp_path):
    from tests.conftest import run_cli

    pages = site(2, 14, inside=True, style=2)
    with Archive.open(tmp_path / "a.db") as archive:
        _store(archive, pages[:12])
        template = learn_site(archive, "s", min_stories=8)
    page = tmp_path / "page.html"
    page.write_bytes(pages[12].body)
    url = URL + pages[12].path
    known = run_cli("extract", page, "--url", url, "--db", tmp_path / "a.db", cwd=tmp_path)
    generic = run_cli("extract", page, "--url", url, "--db", tmp_path / "none.db", cwd=tmp_path)
    unknown_site = run_cli("extract", page, "--url", "http://127.0.0.9/x", "--db", tmp_path / "a.db", cwd=tmp_path)
    assert known.returncode == generic.returncode == unknown_site.returncode == 0, known.stderr
    with_template, without, elsewhere = (json.loads(r.stdout) for r in (known, generic, unknown_site))
    assert with_template["template"] == template.label == "s@1"
    assert without["template"] is None and elsewhere["template"] is None
    assert with_template["text"] == extract(pages[12].body, url, options=ExtractOptions(template=template)).text
    assert without["text"] == extract(pages[12].body, url).text
    assert with_template["text"] != without["text"]
    assert not (tmp_path / "none.db").exists()  # extract writes nothing


def test_sites_learned_in_the_extraction_workers_match_those_learned_here(tmp_path):
    learned = {}
    for name in ("here", "workers"):
        with Archive.open(tmp_path / f"{name}.db") as archive:
            _store(archive, site(0, 12), "s")
            _store(archive, site(2, 10, style=1), "t", start=20)
            if name == "here":
                learned[name] = {t.site: t for t in learn_due(archive, 8)}
            else:
                with ExtractionPool(2, 5.0, job=run_job) as pool:
                    learned[name] = {t.site: t for t in learn_due(archive, 8, pool=pool)}
                assert learn_due(archive, 8, pool=pool) == []  # nothing new since: nothing learned (the pool is closed)
    assert set(learned["here"]) == {"s", "t"} == set(learned["workers"])
    for name, template in learned["here"].items():
        other = learned["workers"][name]
        assert template.blocks and (other.blocks, other.vocabulary, other.stories, other.version) == (
            template.blocks, template.vocabulary, template.stories, template.version)


# -- in a crawl ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_crawl_learns_the_template_and_the_next_pages_lose_the_sidebar_and_its_dates(tmp_path):
    from demo.replay import ReplayPage, ReplaySite
    from tests.conftest import db_rows, run_cli

    pages = site(2, 14, inside=True, style=1)
    replay = [ReplayPage(path=p.path, body=p.body, original_url=f"https://example.invalid{p.path}", title=p.title) for p in pages]
    db = tmp_path / "archive.db"
    with ReplaySite("news", replay[:10], host="127.0.0.2") as web:
        config = tmp_path / "sources.toml"
        config.write_text(
            "[crawl]\ndelay_secs = 0\n[[source]]\nname = \"news\"\nallow_private = true\n"
            f'feeds = ["{web.url("/feed.xml")}"]\n'
        )
        first = run_cli("crawl", "--config", config, "--db", db, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        listed = run_cli("templates", "--db", db, cwd=tmp_path)
        assert listed.stdout.startswith("news: 10 stories, template v1 learned "), listed.stdout
        assert "from 10 stories" in listed.stdout
        web.pages.update({p.path: p for p in replay[10:13]})
        second = run_cli("crawl", "--config", config, "--db", db, "--no-revisit", cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        # archive URL of a page of a site the archive knows uses its template too
        web.pages[replay[13].path] = replay[13]
        adhoc = run_cli("archive", web.url(replay[13].path), "--db", db, "--allow-private", cwd=tmp_path)
        assert adhoc.returncode == 0, adhoc.stderr
        urls = {web.url(p.path): p for p in pages}
    rows = db_rows(db, "SELECT a.canonical_url, s.text, s.published, s.template, s.template_removed FROM articles a JOIN snapshots s ON s.article_id = a.id")
    before, after = [r for r in rows if r["template"] is None], [r for r in rows if r["template"]]
    assert len(before) == 10 and len(after) == 4
    for row in after:
        page = urls[row["canonical_url"]]
        assert row["template"] == "news@1"
        removed = json.loads(row["template_removed"])
        assert any(b["kind"] == "links" and b["text"].startswith("Latest") for b in removed)
        assert (row["published"] or "")[:10] not in page.teaser_days
        if page.published:
            assert row["published"][:10] == page.published
        assert all(" ".join(p.split()) in " ".join(row["text"].split()) for p in page.text.split("\n"))
    settings = db_rows(db, "SELECT extract_settings FROM captures WHERE extract_settings IS NOT NULL")
    assert sum('"template": "news@1"' in r["extract_settings"] for r in settings) == 4
    shown = run_cli("templates", "news", "--db", db, cwd=tmp_path)
    assert "news v1: learned " in shown.stdout and "links on   10 stories" in shown.stdout
    with Archive.open(db) as archive:
        distinct = len(archive.story_pages("news", 100))  # near-duplicates count once
    assert 12 <= distinct <= 14
    relearned = run_cli("templates", "--learn", "news", "--db", db, cwd=tmp_path)
    assert relearned.stdout.startswith(f"news: learned template v2 from {distinct} stories: "), relearned.stdout
    unknown = run_cli("templates", "--learn", "nowhere", "--db", db, cwd=tmp_path)
    assert unknown.returncode == 2 and "no site 'nowhere'" in unknown.stderr


def test_the_story_page_lists_the_blocks_removed(tmp_path):
    import asyncio

    from archive import web

    db = tmp_path / "a.db"
    removed = ({"path": "body/div[1]/aside.rail[1]/ul[1]", "kind": "links", "text": "Most read <b>Teaser one</b> 2 hours ago"},)
    with Archive.open(db) as archive:
        archive.record_capture(
            archive.start_crawl("test"),
            CaptureRecord(url=URL + "/a", final_url=URL + "/a", fetched_at="2026-01-01T00:00:00Z", status=200, body=b"<html></html>", site="news"),
            SnapshotRecord(canonical_url=URL + "/a", content_hash="h", title="A story", text="Its text.", extractor="x", template="news@3", template_removed=removed),
        )
    ds = web.make_datasette(db)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ds.invoke_startup())
        page = loop.run_until_complete(ds.client.get("/-/story/1")).text
    finally:
        loop.close()
    assert "Site template" in page and "news@3" in page
    assert "<code>body/div[1]/aside.rail[1]/ul[1]</code>" in page
    assert "Most read &lt;b&gt;Teaser one&lt;/b&gt; 2 hours ago" in page  # escaped


def test_template_min_stories_is_a_whole_number():
    from crawler.config import ConfigError, parse_config

    base = '[[source]]\nname = "x"\nfeeds = ["https://example.org/feed"]\n'
    assert parse_config(base).template_min_stories is None
    assert parse_config("[crawl]\ntemplate_min_stories = 0\n" + base).template_min_stories == 0
    for bad in ("-1", "2.5", "true", '"8"'):
        with pytest.raises(ConfigError, match="template_min_stories must be a whole number"):
            parse_config(f"[crawl]\ntemplate_min_stories = {bad}\n" + base)


def test_a_byline_with_three_links_and_the_date_stays():
    """A byline linking its author, section and topic, with the story's own date, is on every
    page: no list of links, and its date stays the story's."""
    pages = []
    for i in range(10):
        day = 10 + i
        html = (
            "<html><body><div class='page'><article>"
            f"<div class='meta'>By <a href='/author/ann'>Ann Lee-Whitfield</a> in <a href='/world'>World news</a>, "
            f"<a href='/topic/trade'>Trade and tariffs</a> · {day} March 2025</div>"
            + "".join(f"<p>Story {i} paragraph {n}: " + "words of this story alone " * 8 + "</p>" for n in range(4))
            + "</article><ul class='nav'>" + "".join(f"<li><a href='/s{n}'>Section {n}</a></li>" for n in range(6))
            + "</ul></div></body></html>"
        )
        pages.append((parse_document(html)[0], f"{URL}/story/{i}"))
    template = learn(pages, site="s")
    paths = [b.path for b in template.blocks]
    assert any(p.endswith("ul.nav[1]") for p in paths)
    assert not any("div.meta" in p for p in paths)


def test_a_fixed_block_learned_from_few_stories_of_two_editions_is_removed():
    # learned from 4 stories, a site's header shows one text on 2 pages and another on 2
    # (its editions): fixed, and its texts are removed though none was seen on 3 stories
    def page(i: int, edition: str) -> tuple:
        story = "".join(
            f"<p>Story {i} paragraph {n}: the harbour board met on day {i} to talk about item {n} of the plan for the pier.</p>"
            for n in range(6)
        )
        html = (
            f"<html><head><title>Story {i}</title></head><body><div id='header'><p>Edition: {edition} · Home · World · "
            f"Business · Markets · Sport</p></div><div id='content'><article><h1>Story {i}</h1>{story}</article></div>"
            "</body></html>"
        )
        return parse_document(html.encode())[0], f"{URL}/story/{i}"

    template = learn([page(1, "IN"), page(2, "IN"), page(3, "UK"), page(4, "UK")], site="s")
    (header,) = [b for b in template.blocks if b.path.startswith("body/div#header")]
    assert header.kind == "fixed" and len(header.texts) == 2
    tree, _ = page(5, "UK")
    removed = apply(tree, template)
    assert [r.path for r in removed] == [header.path] and "Edition" not in text_of(tree)


def _bylined_story(i: int, author: str) -> bytes:
    story = "".join(
        f"<p>Story {i} paragraph {n}: the council approved the budget for item {n} of plan {i} after a long debate.</p>"
        for n in range(6)
    )
    return (
        f"<!doctype html><html lang='en'><head><title>Courier story {i}</title></head><body>"
        "<header id='top'><nav><a href='/'>Home</a> <a href='/news/'>News</a></nav></header>"
        f"<main><article class='story'><h1>Courier story {i}</h1><p class='byline'>By {author}</p>{story}</article></main>"
        "<footer>Courier 2024</footer></body></html>"
    ).encode()


def test_a_byline_most_stories_share_is_no_template_and_every_story_keeps_its_author():
    # a tester's site: "By Staff Reporter" on 9 of 16 stories, "By Tom Baker" on 7: the
    # byline was learned as a fixed block and removed, and every later story lost its author
    authors = ["Staff Reporter"] * 9 + ["Tom Baker"] * 7
    pages = [(parse_document(_bylined_story(i, a))[0], f"{URL}/news/c{i}.html") for i, a in enumerate(authors)]
    template = learn(pages, site="courier")
    assert template.blocks and not any("byline" in b.path for b in template.blocks)
    options = ExtractOptions(template=template)
    for i, author in ((77, "Tom Baker"), (78, "Staff Reporter")):
        assert extract(_bylined_story(i, author), f"{URL}/news/c{i}.html", options=options).authors == [author]
    assert Template.from_json(json.loads(json.dumps(template.to_json()))).bylines_kept
    # a template saved before bylines were kept out, which lists the byline: it stays
    saved = template.to_json()
    del saved["bylines_kept"]
    saved["blocks"].append({"path": "body/main[1]/article.story[1]/p.byline[1]", "kind": "fixed", "stories": 16,
                            "sample": "By Staff Reporter", "texts": [_digest("By Staff Reporter")]})
    old = Template.from_json(saved)
    assert not old.bylines_kept
    tree = parse_document(_bylined_story(79, "Staff Reporter"))[0]
    assert not any("byline" in r.path for r in apply(tree, old))
    assert "By Staff Reporter" in text_of(tree)


def test_learning_by_hand_from_too_few_stories_saves_no_template(tmp_path):
    # a new user's `templates --learn` on a site of two stories saved an empty v1, listed as a template
    pages = site(3, 3, inside=False, style=3)
    with Archive.open(tmp_path / "a.db") as archive:
        _store(archive, pages[:2])
    few = run_cli("templates", "--learn", "s", "--db", tmp_path / "a.db", cwd=tmp_path)
    assert few.returncode == 0 and "s: no template: a template is learned from 3 stories" in few.stdout
    assert "2 stories in the archive" in few.stdout
    with Archive.open(tmp_path / "a.db") as archive:
        assert archive.templates("s") == []
        _store(archive, pages[2:], start=5)
    enough = run_cli("templates", "--learn", "s", "--db", tmp_path / "a.db", cwd=tmp_path)
    assert "s: learned template v1 from 3 stories" in enough.stdout
