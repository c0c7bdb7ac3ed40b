"""One story, many URLs, many versions: identity, changes, false versions, raw store,
re-extraction and WARC (issue 5). Real crawls against loopback sites."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.database import Archive
from demo.replay import ReplayPage, ReplaySite, page_from_folder
from tests.conftest import ROOT, db_rows, requires_shared, run_cli, run_cli_on_terminal
from tests.pages import DATA
from tests.servers import free_port

pytestmark = [pytest.mark.slow, requires_shared]

PYWB = ROOT / ".venv-pywb" / "bin"


def config(site: ReplaySite, **keys: str) -> str:
    lines = ["[crawl]", "delay_secs = 0", 'revisit_steps = ["*=0s"]', "[[source]]", f'name = "{site.name}"', "allow_private = true"]
    return "\n".join(lines + [f"{k} = {v}" for k, v in keys.items()]) + "\n"


def crawl(tmp_path: Path, text: str, *extra: str) -> subprocess.CompletedProcess:
    (tmp_path / "sources.toml").write_text(text)
    result = run_cli("crawl", "--config", tmp_path / "sources.toml", "--db", tmp_path / "archive.db", *extra, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result


def real(folder: str, **options) -> ReplayPage:
    return page_from_folder(DATA / "readability-testpages" / folder, **options)


# -- identity -----------------------------------------------------------------------


def test_amp_print_and_redirect_urls_fold_into_the_article(tmp_path):
    story = real("nytimes-1")
    amp = ReplayPage(path="/amp" + story.path, body=story.body.replace(b"<html", b"<html amp", 1), original_url=story.original_url)
    printed = ReplayPage(path=story.path + "?print=1", body=story.body, original_url=story.original_url)
    with ReplaySite("nyt", [story], host="127.0.0.2") as site:
        site.pages[amp.path] = amp
        site.pages[printed.path] = printed
        site.route("/old-link", 301, b"", {"Location": story.path})
        site.extra_links += [amp.path, printed.path, "/old-link"]
        crawl(tmp_path, config(site, start_urls=f'["{site.url("/")}"]'))
        canonical = site.url(story.path)
        aliases = {site.url(amp.path): "amp", site.url(printed.path): "canonical", site.url("/old-link"): "redirect"}
    assert db_rows(tmp_path / "archive.db", "SELECT canonical_url FROM articles") == [{"canonical_url": canonical}]
    rows = db_rows(tmp_path / "archive.db", "SELECT url, kind FROM aliases")
    assert {r["url"]: r["kind"] for r in rows} == aliases
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM snapshots")[0]["n"] == 1


def test_the_same_story_on_two_sites_is_related_not_merged(tmp_path):
    with ReplaySite("one", [real("bbc-1"), real("wapo-1")], host="127.0.0.2") as one, ReplaySite("two", [real("bbc-1")], host="127.0.0.3") as two:
        text = config(one, feeds=f'["{one.url("/feed.xml")}"]') + "\n".join(
            ["[[source]]", 'name = "two"', "allow_private = true", f'feeds = ["{two.url("/feed.xml")}"]', ""]
        )
        crawl(tmp_path, text)
    articles = {r["site"] + r["canonical_url"].split("/", 3)[3]: r["id"] for r in db_rows(tmp_path / "archive.db", "SELECT id, site, canonical_url FROM articles")}
    assert len(articles) == 3
    pairs = db_rows(tmp_path / "archive.db", "SELECT article_id, other_id, similarity FROM near_duplicates")
    assert len(pairs) == 1 and pairs[0]["similarity"] >= 0.95
    sites = {r["site"] for r in db_rows(tmp_path / "archive.db", "SELECT site FROM articles WHERE id IN (?, ?)", [pairs[0]["article_id"], pairs[0]["other_id"]])}
    assert sites == {"one", "two"}


# -- versions and diffs -------------------------------------------------------------


def test_each_edit_is_a_numbered_version_with_what_changed_and_history_shows_it(tmp_path):
    story = real("nytimes-1")
    with ReplaySite("nyt", [story], host="127.0.0.2") as site:
        text = config(site, feeds=f'["{site.url("/feed.xml")}"]')
        crawl(tmp_path, text)
        site.edit(story.path, "After nearly 20 years of hostile relations", "After two decades of hostile relations")
        crawl(tmp_path, text)
        site.edit(story.path, 'og:title" content="United States to Lift Sudan Sanctions"', 'og:title" content="U.S. Will Lift Sudan Sanctions"')
        crawl(tmp_path, text)
        url = site.url(story.path)
    changes = db_rows(tmp_path / "archive.db", "SELECT from_version, to_version, reason, title_changed, words_added, words_removed, diff FROM changes ORDER BY to_version")
    assert [(c["from_version"], c["to_version"], c["reason"]) for c in changes] == [(1, 2, "edit"), (2, 3, "edit")]
    assert (changes[0]["words_added"], changes[0]["words_removed"], changes[0]["title_changed"]) == (2, 3, 0)
    assert ["-", "nearly 20 years"] in json.loads(changes[0]["diff"]) and ["+", "two decades"] in json.loads(changes[0]["diff"])
    assert changes[1]["title_changed"] == 1
    result = run_cli("history", url, "--db", tmp_path / "archive.db", "--from", "1", "--to", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "v2" in result.stdout and "After [-nearly 20 years-] {+two decades+} of hostile relations" in result.stdout
    latest = run_cli("history", url, "--db", tmp_path / "archive.db", cwd=tmp_path)
    assert "title: 'United States to Lift Sudan Sanctions' → 'U.S. Will Lift Sudan Sanctions'" in latest.stdout


@pytest.mark.parametrize(
    ("replacement", "flag"),
    [
        (b"<html><head><title>Page not found</title></head><body><h1>Page not found</h1><p>Sorry, this page does not exist.</p></body></html>", "soft_404"),
        (b"<html><head><title>Before you continue</title></head><body><div><p>We and our partners use cookies to store and access information on your device. Accept all or Manage preferences.</p></div></body></html>", "consent_wall"),
    ],
)
def test_walls_and_soft_404s_are_flagged_captures_not_versions(tmp_path, replacement, flag):
    story = real("bbc-1")
    with ReplaySite("bbc", [story], host="127.0.0.2") as site:
        text = config(site, feeds=f'["{site.url("/feed.xml")}"]')
        crawl(tmp_path, text)
        site.route(story.path, 200, replacement, {"Content-Type": "text/html"})
        crawl(tmp_path, text, "--revisit-only")
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM snapshots")[0]["n"] == 1
    assert db_rows(tmp_path / "archive.db", "SELECT outcome, flag FROM captures WHERE crawl_id = 2 AND article_id IS NOT NULL") == [
        {"outcome": "flagged", "flag": flag}
    ]


def test_a_text_far_shorter_than_the_last_version_is_flagged(tmp_path):
    story = real("nytimes-2")
    with ReplaySite("nyt", [story], host="127.0.0.2") as site:
        text = config(site, feeds=f'["{site.url("/feed.xml")}"]')
        crawl(tmp_path, text)
        first_paragraph = story.body.index(b"<p", story.body.index(b"story-body-text"))
        site.route(story.path, 200, story.body[: first_paragraph + 2000] + b"</p></div></body></html>", {"Content-Type": "text/html"})
        crawl(tmp_path, text, "--revisit-only")
    assert db_rows(tmp_path / "archive.db", "SELECT outcome, flag FROM captures WHERE crawl_id = 2 AND article_id IS NOT NULL") == [
        {"outcome": "flagged", "flag": "shrunk"}
    ]


# -- raw store ----------------------------------------------------------------------


def test_bodies_zstd_and_deltas_for_refetches_with_noise(tmp_path):
    story = real("nytimes-1")
    with ReplaySite("nyt", [story], host="127.0.0.2", noise=True) as site:
        text = config(site, feeds=f'["{site.url("/feed.xml")}"]')
        crawl(tmp_path, text)
        crawl(tmp_path, text)
        url = site.url(story.path)
    rows = db_rows(
        tmp_path / "archive.db",
        "SELECT b.codec, b.size, length(b.data) AS stored, b.base_digest, b.digest FROM captures c JOIN bodies b ON b.digest = c.body_digest "
        "WHERE c.final_url = ? ORDER BY c.id",
        [url],
    )
    assert [r["codec"] for r in rows] == ["zstd", "zstd-delta"]
    assert rows[0]["stored"] < rows[0]["size"] / 4
    assert rows[1]["stored"] < 500 and rows[1]["base_digest"] == rows[0]["digest"]
    assert db_rows(tmp_path / "archive.db", "SELECT outcome FROM captures WHERE crawl_id = 2 AND final_url = ?", [url]) == [{"outcome": "unchanged"}]
    with Archive.open(tmp_path / "archive.db", create=False) as archive:
        second = archive.read_body(rows[1]["digest"])
    assert second.startswith(story.body[:200]) and b"Advertisement" in second


def test_gzip_bodies_of_the_first_release_still_read_after_the_upgrade(tmp_path):
    db = tmp_path / "v1.db"
    shutil.copy(ROOT / "tests" / "data" / "archive-v1.db", db)
    with Archive.open(db) as archive:
        digests = [r["digest"] for r in archive.db.query("SELECT digest FROM bodies WHERE codec = 'gzip'")]
        assert len(digests) == 3
        assert all(archive.read_body(d).lstrip().lower().startswith(b"<!doctype") or b"<html" in archive.read_body(d)[:500] for d in digests)


# -- re-extraction ------------------------------------------------------------------


def test_reextract_adds_versions_only_where_extraction_changed(tmp_path):
    with ReplaySite("news", [real("bbc-1"), real("wapo-1")], host="127.0.0.2") as site:
        crawl(tmp_path, config(site, feeds=f'["{site.url("/feed.xml")}"]'))
    same = run_cli("reextract", "--db", tmp_path / "archive.db", cwd=tmp_path)
    assert same.returncode == 0 and "0 new versions (reextract), 2 unchanged" in same.stdout
    assert "re-extracting" not in same.stderr  # no progress bar into a log
    # on a terminal, a progress bar on standard error; the summary is the same
    shown = run_cli_on_terminal("reextract", "--db", tmp_path / "archive.db", cwd=tmp_path)
    assert shown.returncode == 0 and "0 new versions (reextract), 2 unchanged" in shown.stdout
    assert "re-extracting" in shown.stderr and "100%" in shown.stderr and "50%" in shown.stderr
    nothing = run_cli_on_terminal("reextract", "--since", "2099-01-01", "--db", tmp_path / "archive.db", cwd=tmp_path)
    assert "re-extracted 0 articles" in nothing.stdout and "re-extracting" not in nothing.stderr  # no empty bar
    # an older extractor's output: the body's content as a worse extraction gave it
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("UPDATE snapshots SET text = text || ' Share this story on Twitter', content_hash = 'old', extractor = 'older' WHERE id = 1")
    conn.commit()
    last_changed = conn.execute("SELECT last_changed FROM articles WHERE id = 1").fetchone()[0]
    conn.close()
    changed = run_cli("reextract", "--db", tmp_path / "archive.db", cwd=tmp_path)
    assert "1 new version (reextract), 1 unchanged" in changed.stdout
    rows = db_rows(tmp_path / "archive.db", "SELECT version, reason, extractor FROM snapshots WHERE article_id = 1 ORDER BY version")
    assert [(r["version"], r["reason"]) for r in rows] == [(1, "new"), (2, "reextract")] and rows[1]["extractor"].startswith("newsarchive-extract/")
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM publisher_edits")[0]["n"] == 0
    assert db_rows(tmp_path / "archive.db", "SELECT reason FROM changes") == [{"reason": "reextract"}]
    assert db_rows(tmp_path / "archive.db", "SELECT last_changed FROM articles WHERE id = 1")[0]["last_changed"] == last_changed
    again = run_cli("reextract", "--db", tmp_path / "archive.db", cwd=tmp_path)
    assert "0 new versions (reextract), 2 unchanged" in again.stdout


# -- WARC ---------------------------------------------------------------------------


def read_warc(path: Path) -> list:
    with open(path, "rb") as stream:
        return [
            (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
            for r in ArchiveIterator(stream)
        ]


def test_export_warc_is_valid_and_its_headers_match_the_bytes(tmp_path):
    story = real("nytimes-1")
    with ReplaySite("nyt", [story, real("bbc-1")], host="127.0.0.2", conditional=True) as site:
        text = config(site, feeds=f'["{site.url("/feed.xml")}"]')
        crawl(tmp_path, text)
        crawl(tmp_path, text)  # 304s, and the same feed body again
        url = site.url(story.path)
        base = site.base_url
    out = tmp_path / "archive.warc.gz"
    result = run_cli("export-warc", "--db", tmp_path / "archive.db", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check = subprocess.run([str(ROOT / ".venv" / "bin" / "warcio"), "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    records = read_warc(out)
    types = [t for t, *_ in records]
    assert types[0] == "warcinfo" and {"request", "response", "metadata", "revisit"} <= set(types)
    for kind, rec, http, payload in records:
        if kind == "response":
            assert http.get_header("Content-Encoding") is None
            assert int(http.get_header("Content-Length")) == len(payload)
    profiles = {rec.get_header("WARC-Profile") for kind, rec, *_ in records if kind == "revisit"}
    assert profiles == {
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
        "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
    }
    responses = [payload for kind, rec, http, payload in records if kind == "response" and rec.get_header("WARC-Target-URI") == url]
    assert len(responses) == 1 and base.encode() in responses[0]
    assert b"After nearly 20 years of hostile relations" in responses[0]


def test_warc_written_during_the_crawl(tmp_path):
    with ReplaySite("news", [real("bbc-1")], host="127.0.0.2") as site:
        crawl(tmp_path, config(site, feeds=f'["{site.url("/feed.xml")}"]').replace("[crawl]", '[crawl]\nwarc = "live.warc.gz"'))
        feed = site.url("/feed.xml")
    records = read_warc(tmp_path / "live.warc.gz")
    uris = {rec.get_header("WARC-Target-URI") for kind, rec, *_ in records if kind == "response"}
    assert feed in uris and any("world-us-canada" in u for u in uris)


def pywb_stamp(fetched_at: str) -> str:
    return fetched_at.replace("-", "").replace(":", "").replace("T", "").replace("Z", "")


class Pywb:
    """pywb's ``wayback`` serving the given WARC files in one collection on 127.0.0.1."""

    def __init__(self, root: Path, *warcs: Path) -> None:
        root.mkdir()
        subprocess.run([str(PYWB / "wb-manager"), "init", "news"], cwd=root, check=True, capture_output=True)
        for warc in warcs:
            subprocess.run([str(PYWB / "wb-manager"), "add", "news", str(warc)], cwd=root, check=True, capture_output=True)
        self.port = free_port()
        self.server = subprocess.Popen(
            [str(PYWB / "wayback"), "-b", "127.0.0.1", "-p", str(self.port)], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def get(self, stamp: str, url: str) -> tuple[int, bytes]:
        """The status and body pywb serves for ``url`` at ``stamp`` (the archived bytes: ``id_``)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/news/{stamp}id_/{url}") as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def __enter__(self) -> Pywb:
        return self

    def __exit__(self, *exc) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)


@pytest.mark.skipif(not (PYWB / "wayback").exists(), reason="pywb is installed by `make test` into .venv-pywb")
def test_pywb_replays_an_exported_capture(tmp_path):
    story = real("wapo-1")
    with ReplaySite("wapo", [story], host="127.0.0.2") as site:
        crawl(tmp_path, config(site, feeds=f'["{site.url("/feed.xml")}"]'))
        url = site.url(story.path)
    out = tmp_path / "a.warc.gz"
    assert run_cli("export-warc", "--db", tmp_path / "archive.db", "--out", out, cwd=tmp_path).returncode == 0
    (fetched_at,) = [r["fetched_at"] for r in db_rows(tmp_path / "archive.db", "SELECT fetched_at FROM captures WHERE final_url = ?", [url])]
    with Pywb(tmp_path / "pywb", out) as pywb:
        status, body = pywb.get(pywb_stamp(fetched_at), url)
    assert status == 200
    assert b"Attack stokes instability fears in North Africa" in body


@pytest.mark.skipif(not (PYWB / "wayback").exists(), reason="pywb is installed by `make test` into .venv-pywb")
def test_pywb_replays_every_capture_of_an_edited_story_re_checked_with_304s(tmp_path):
    """200 -> 304 -> 200 (edited) -> 304: at each capture's time pywb serves the body the
    server last confirmed, from the export and from the WARC written during the crawls;
    the 304s are revisits, never responses claiming a 200."""
    story = real("nytimes-1")
    old, new = b"After nearly 20 years of hostile relations", b"After two decades of hostile relations"
    with ReplaySite("nyt", [story], host="127.0.0.2", conditional=True) as site:
        text = config(site, feeds=f'["{site.url("/feed.xml")}"]').replace("[crawl]", '[crawl]\nwarc = "live.warc.gz"')
        crawl(tmp_path, text)
        time.sleep(1.1)  # one capture per second: pywb's timestamps have whole seconds
        crawl(tmp_path, text, "--revisit-only")
        site.edit(story.path, old.decode(), new.decode())
        time.sleep(1.1)
        crawl(tmp_path, text, "--revisit-only")
        time.sleep(1.1)
        crawl(tmp_path, text, "--revisit-only")
        url = site.url(story.path)
    captures = db_rows(tmp_path / "archive.db", "SELECT fetched_at, status FROM captures WHERE final_url = ? ORDER BY id", [url])
    assert [c["status"] for c in captures] == [200, 304, 200, 304]
    out = tmp_path / "export.warc.gz"
    assert run_cli("export-warc", "--db", tmp_path / "archive.db", "--out", out, cwd=tmp_path).returncode == 0
    for warc in (out, tmp_path / "live.warc.gz"):
        records = read_warc(warc)
        story_records = [(kind, rec, http) for kind, rec, http, _ in records if rec.get_header("WARC-Target-URI") == url and kind in ("response", "revisit")]
        assert [(kind, http.get_statuscode() if http else None) for kind, _, http in story_records] == [
            ("response", "200"), ("revisit", None), ("response", "200"), ("revisit", None)
        ]
        notes = [payload for kind, rec, _, payload in records if kind == "metadata" and rec.get_header("WARC-Target-URI") == url]
        assert sum(b"http-status: 304 Not Modified" in n for n in notes) == 2
        with Pywb(tmp_path / f"pywb-{warc.name}", warc) as pywb:
            served = [pywb.get(pywb_stamp(c["fetched_at"]), url) for c in captures]
        assert [status for status, _ in served] == [200, 200, 200, 200], warc.name
        assert [old in body for _, body in served] == [True, True, False, False], warc.name
        assert [new in body for _, body in served] == [False, False, True, True], warc.name
