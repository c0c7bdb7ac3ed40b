"""``newsarchive add-source`` (issue 17): a ``[[source]]`` from a home page, against loopback sites."""

from __future__ import annotations

import pytest

from crawler.addsource import source_name
from crawler.config import load_config
from demo.replay import ReplaySite, page_from_folder
from tests.conftest import requires_shared, run_cli
from tests.pages import DATA

pytestmark = [pytest.mark.slow, requires_shared]

HOME = b"""<!doctype html><html><head><title>News</title>
<link rel="alternate" type="application/atom+xml" title="Latest" href="/news/latest.atom">
<link rel="alternate" type="application/rss+xml" href="/not-a-feed">
<link rel="stylesheet" href="/style.css"></head><body><h1>News</h1></body></html>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Latest</title><id>x</id>
<updated>2026-01-01T00:00:00Z</updated><entry><title>A story</title><id>y</id><link href="/2026/story"/><updated>2026-01-01T00:00:00Z</updated></entry></feed>"""


def story():
    return page_from_folder(DATA / "readability-testpages" / "nytimes-1")


def test_feeds_from_link_tags_and_common_paths_and_sitemaps_from_robots(tmp_path):
    with ReplaySite("news", [story()], host="127.0.0.2") as site:
        site.route("/", 200, HOME, {"Content-Type": "text/html"})
        site.route("/news/latest.atom", 200, ATOM, {"Content-Type": "application/atom+xml"})
        site.route("/not-a-feed", 200, b"<html><body>no feed here</body></html>", {"Content-Type": "text/html"})
        result = run_cli("add-source", site.url("/"), "--allow-private", "--name", "news", cwd=tmp_path)
        base = site.base_url
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '[[source]]\nname = "news"\n'
        f'feeds = ["{base}/news/latest.atom", "{base}/feed.xml"]\n'
        f'sitemaps = ["{base}/robots.txt"]\n'
        f'start_urls = ["{base}/"]\nallow_private = true\n'
    )
    assert f"# robots.txt names the sitemap {base}/sitemap.xml" in result.stderr


def test_without_robots_sitemaps_common_sitemap_paths_are_tried_and_the_config_is_appended(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text('[crawl]\ncontact = "mailto:me@example.org"\n')  # no source yet: not a valid config on its own
    with ReplaySite("news", [story()], host="127.0.0.3", robots_txt="User-agent: *\nDisallow:\n") as site:
        result = run_cli("add-source", site.url("/"), "--allow-private", "--config", config, cwd=tmp_path)
        base = site.base_url
        again = run_cli("add-source", site.url("/"), "--allow-private", "--config", config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sources = {s.name: s for s in load_config(config).sources}
    added = sources["127-0-0-3"]
    assert added.feeds == (f"{base}/feed.xml",)
    assert set(added.sitemaps) == {f"{base}/sitemap.xml", f"{base}/sitemap_index.xml", f"{base}/news-sitemap.xml"}
    assert again.returncode == 2 and "already has a source named '127-0-0-3'" in again.stderr
    assert len(load_config(config).sources) == 1


def test_bad_input_and_unreachable_home_pages(tmp_path):
    for args, code, message in [
        (["not-a-url"], 2, "not an http(s) URL"),
        (["http://127.0.0.1:9/", "--allow-private"], 1, "could not read the home page"),
        (["http://127.0.0.1:9/"], 1, "could not read the home page http://127.0.0.1:9/: refused: 127.0.0.1 is a loopback"),
        (["https://news.example/", "--name", "a b"], 2, "--name 'a b'"),
        # checked before any fetch (it crashed with a traceback after fetching)
        (["http://127.0.0.1:9/", "--config", "no/such/folder/sources.toml"], 2, "the folder no/such/folder does not exist"),
    ]:
        result = run_cli("add-source", *args, cwd=tmp_path)
        assert result.returncode == code and message in result.stderr, (args, result.stderr)


def test_source_names():
    assert source_name("https://www.dawn.com/") == "dawn"
    assert source_name("https://m.bbc.co.uk/news") == "bbc"
    assert source_name("http://127.0.0.2:8080/") == "127-0-0-2"
