"""The ``newsarchive`` command, run as a user runs it (a subprocess)."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from demo.replay import ReplaySite, page_from_folder
from tests.conftest import ROOT, db_rows, run_cli_on_terminal
from tests.pages import DATA
from tests.servers import free_port

EXTRACT_KEYS = {
    "file", "url", "canonical_url", "title", "standfirst", "text", "authors", "published", "modified", "published_source",
    "modified_source", "language", "description", "sitename", "tags", "image", "is_article", "template",
}


@pytest.fixture
def site():
    if not DATA.is_dir():
        pytest.skip(f"needs the shared real pages at {DATA}")
    pages = [page_from_folder(DATA / "readability-testpages" / f) for f in ("bbc-1", "wapo-2")]
    with ReplaySite("news", pages, host="127.0.0.2") as s:
        yield s


def urls(site) -> list[str]:
    return [site.url(path) for path in site.pages]


# runs `newsarchive ARGS` in this process, then says, last of all at exit, how many
# objects were frozen (out of the collector's reach) when the interpreter finalized
FROZEN_AT_EXIT = (
    "import atexit, gc, os, sys\n"
    "atexit.register(lambda: os.write(2, f'frozen at exit: {gc.get_freeze_count()}\\n'.encode()))\n"
    "from newsarchive.cli import cli\n"
    "cli(sys.argv[1:])\n"
)


def test_a_command_skips_the_collectors_pass_at_exit_and_loses_nothing(site, tmp_path):
    db, log = tmp_path / "a.db", tmp_path / "run.log"
    args = ["archive", "--allow-private", "--db", db, "--log-file", log, *urls(site)]
    result = subprocess.run([sys.executable, "-c", FROZEN_AT_EXIT, *map(str, args)], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 0, result.stderr
    frozen = int(result.stderr.rsplit("frozen at exit: ", 1)[1])
    assert frozen > 10_000  # the run's objects: the finalization's collection skips them
    # what the run wrote is whole: both articles, and the log's last line
    assert len(db_rows(db, "select id from articles")) == 2
    assert log.read_text().splitlines()[-1].split(": ", 1)[1].startswith("archive 1 finished in")


@pytest.mark.slow
def test_archive_urls_then_again(cli, site):
    first = cli("archive", *urls(site), "--allow-private")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("new article") for line in lines)
    assert "Obama admits US gun laws are his 'biggest frustration'" in first.stdout
    again = cli("archive", *urls(site), "--allow-private")
    assert [line.split()[0] for line in again.stdout.splitlines()] == ["unchanged", "unchanged"]


def test_archiving_a_stored_url_again_is_a_conditional_get(cli, tmp_path):
    if not DATA.is_dir():
        pytest.skip(f"needs the shared real pages at {DATA}")
    page = page_from_folder(DATA / "readability-testpages" / "bbc-1")
    with ReplaySite("news", [page], host="127.0.0.2", conditional=True) as server:
        url = server.url(page.path)
        first = cli("archive", url, "--allow-private")
        again = cli("archive", url, "--allow-private")
        server.edit(page.path, "biggest frustration", "greatest frustration")
        edited = cli("archive", url, "--allow-private")
        sent = [r["headers"] for r in server.requests if r["path"] == page.path]
    assert [r.stdout.split()[:2] for r in (first, again, edited)] == [["new", "article"], ["not", "modified"], ["new", "version"]]
    # the second and third requests carry the validators of the last 200 answer (RFC 9110, 13.1)
    etag = db_rows(tmp_path / "archive.db", "SELECT etag FROM captures WHERE status = 200 ORDER BY id")[0]["etag"]
    assert "If-None-Match" not in sent[0] and sent[1]["If-None-Match"] == etag and sent[2]["If-None-Match"] == etag
    captures = db_rows(tmp_path / "archive.db", "SELECT status, article_id FROM captures ORDER BY id")
    assert captures == [{"status": 200, "article_id": 1}, {"status": 304, "article_id": 1}, {"status": 200, "article_id": 1}]


def test_archive_of_several_urls_shows_a_progress_bar_on_a_terminal(cli, site, tmp_path):
    result = cli("archive", *urls(site), "--allow-private")
    assert result.returncode == 0 and result.stderr == ""  # no bar into a log or a pipe
    # a URL given twice is fetched once, one with a fragment is the page: the bar still ends at 100%
    first, second = urls(site)
    given = [first, second, first, first + "#top", "not-a-url"]
    shown = run_cli_on_terminal("archive", *given, "--allow-private", "--db", tmp_path / "b.db", cwd=tmp_path)
    assert shown.returncode == 1
    assert sorted(line.split()[0] for line in shown.stdout.splitlines()) == ["error", "new", "new", "unchanged"]
    assert "archiving" in shown.stderr and "100%" in shown.stderr
    assert shown.stderr.rstrip().endswith("\x1b[?25h")  # the cursor shown again


@pytest.mark.slow
def test_archive_bad_and_unreachable_urls_fail_alone(cli, site, tmp_path):
    good = urls(site)[0]
    result = cli("archive", "not-a-url", "ftp://example.org/x", good, "http://127.0.0.1:9/closed", "--allow-private")
    assert result.returncode == 1
    out = result.stdout
    assert "new article" in out and good in out
    assert "error          not-a-url: not an http(s) URL" in out
    assert "error          ftp://example.org/x: not an http(s) URL" in out
    assert "error          http://127.0.0.1:9/closed: connection refused (robots.txt not reachable" in out
    # an address no request can be made for fails alone too (it stopped the whole run)
    result = cli("archive", "http://256.1.1.1/", good, "--allow-private", "--db", tmp_path / "b.db")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error          http://256.1.1.1/: malformed URL" in result.stdout and "new article" in result.stdout
    kinds = db_rows(tmp_path / "archive.db", "SELECT url, kind FROM failures ORDER BY id")
    assert [k["kind"] for k in kinds] == ["bad_url", "bad_url", "connection"]  # robots.txt unreachable: why
    assert db_rows(tmp_path / "archive.db", "SELECT count(*) AS n FROM articles")[0]["n"] == 1


@pytest.mark.slow
def test_loopback_is_refused_without_allow_private(cli, site, tmp_path):
    result = cli("archive", urls(site)[0])
    assert result.returncode == 1
    assert "refused: 127.0.0.2 is a loopback address" in result.stdout
    assert site.request_paths() == []


@pytest.mark.slow
def test_archive_from_file(cli, site, tmp_path):
    listing = tmp_path / "urls.txt"
    # saved with a byte-order mark, as Notepad does: it is not part of the first line
    listing.write_bytes(b"\xef\xbb\xbf" + ("# stories\n" + "\n".join(urls(site)) + "\n\n").encode())
    result = cli("archive", "--from-file", listing, "--allow-private")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("new article") == 2


@pytest.mark.slow
def test_archive_saved_html(cli, tmp_path):
    if not DATA.is_dir():
        pytest.skip(f"needs the shared real pages at {DATA} (beside the project; CI has them)")
    saved = tmp_path / "saved.html.gz"
    saved.write_bytes(gzip.compress((DATA / "readability-testpages" / "bbc-1" / "source.html").read_bytes()))
    url = "http://www.bbc.com/news/world-us-canada-33646704"
    result = cli("archive", "--html", saved, "--url", url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"new article    {url} v1: Obama admits")
    (capture,) = db_rows(tmp_path / "archive.db", "SELECT origin, status, final_url FROM captures")
    assert capture == {"origin": "import", "status": None, "final_url": url}


# runs `newsarchive ARGS` in this process with Scrapy's engine heartbeat (5 s) made an hour
HEARTBEAT_AN_HOUR = (
    "import sys\n"
    "from scrapy.core.engine import ExecutionEngine\n"
    "ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = 3600\n"
    "from newsarchive.cli import cli\n"
    "cli(sys.argv[1:])\n"
)


def test_archiving_a_saved_page_ends_when_it_is_stored_not_at_the_engines_heartbeat(tmp_path):
    (tmp_path / "page.html").write_text("# notes\n\nnot html at all, a few words of plain text\n")
    # the page needs no fetch: without the spider waking the engine once it is stored, the
    # run waits for the heartbeat to see that it is over
    args = ["archive", "--html", "page.html", "--url", "http://x.example/a"]
    result = subprocess.run([sys.executable, "-c", HEARTBEAT_AN_HOUR, *args], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)
    assert result.stdout.startswith("not an article http://x.example/a"), result.stderr
    assert db_rows(tmp_path / "archive.db", "SELECT status FROM crawls") == [{"status": "finished"}]


def test_a_crawl_that_cannot_start_says_why(tmp_path):
    # a reactor other than the one Scrapy is set to use, installed before the run
    code = "import sys, twisted.internet.reactor\nfrom newsarchive.cli import cli\ncli(sys.argv[1:])\n"
    result = subprocess.run([sys.executable, "-c", code, "archive", "http://x.example/a"], cwd=tmp_path, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=False)
    assert result.returncode == 4
    assert "the crawl could not start: The installed reactor (twisted.internet.epollreactor.EPollReactor) does not match" in result.stderr
    assert result.stderr.rstrip().endswith("Error: the crawl could not start (see the log)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["archive"], "give URLs"),
        (["archive", "--html", "pyproject.toml"], "--html needs --url"),
        (["archive", "--url", "http://x.example/"], "--url goes with --html"),
        (["archive", "--html", "pyproject.toml", "--url", "  "], "--url is empty"),
        (["archive", "--extract-timeout", "nan", "http://x.example/"], "'nan' is not a finite number"),
        (["archive", "--extract-timeout", "inf", "http://x.example/"], "'inf' is not a finite number"),
    ],
)
def test_archive_usage_errors_exit_2(args, message):
    result = subprocess.run([sys.executable, "-m", "newsarchive", *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert message in result.stderr


def test_archive_html_without_url_takes_the_address_the_page_names(cli, tmp_path):
    story = "".join(f"<p>Paragraph {i} of a story about the harbour, long enough to be prose.</p>" for i in range(6))
    page = tmp_path / "saved.html"
    page.write_text(
        "<html><head><title>Harbour</title><link rel='canonical' href='https://news.example.org/2024/05/harbour'>"
        f"</head><body><article><h1>Harbour</h1>{story}</article></body></html>"
    )
    result = cli("archive", "--html", page)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("new article    https://news.example.org/2024/05/harbour v1: Harbour")
    (capture,) = db_rows(tmp_path / "archive.db", "SELECT origin, final_url FROM captures")
    assert capture == {"origin": "import", "final_url": "https://news.example.org/2024/05/harbour"}


def test_extract_prints_json_lines(tmp_path):
    if not DATA.is_dir():
        pytest.skip(f"needs the shared real pages at {DATA} (beside the project; CI has them)")
    plain = DATA / "readability-testpages" / "bbc-1" / "source.html"
    gz = tmp_path / "nytimes.html.gz"
    gz.write_bytes(gzip.compress((DATA / "readability-testpages" / "nytimes-1" / "source.html").read_bytes()))
    result = subprocess.run([sys.executable, "-m", "newsarchive", "extract", plain, gz], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(r) for r in records] == [EXTRACT_KEYS, EXTRACT_KEYS]
    bbc, nyt = records
    assert bbc["title"] == "Obama admits US gun laws are his 'biggest frustration'"
    assert bbc["canonical_url"] == "http://www.bbc.com/news/world-us-canada-33646704"
    assert (bbc["published"], bbc["published_source"]) == ("2015-07-24T05:36:09+01:00", "jsonld")
    assert nyt["authors"] and isinstance(nyt["tags"], list) and nyt["is_article"] is True
    assert not (tmp_path / "archive.db").exists()


def test_extract_resolves_a_relative_canonical_link_against_the_page_s_og_url(tmp_path):
    page = tmp_path / "saved.html"
    page.write_text(
        "<html><head><title>Harbour</title><link rel='canonical' href='8003098'>"
        "<meta property='og:url' content='https://news.example.org/food/2014/12/8003098'></head>"
        "<body><article><h1>Harbour</h1><p>The harbour board voted on Tuesday to extend the north pier.</p></article></body></html>"
    )
    result = subprocess.run([sys.executable, "-m", "newsarchive", "extract", page], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["url"] == "https://news.example.org/food/2014/12/8003098"
    assert record["canonical_url"] == "https://news.example.org/food/2014/12/8003098"


def test_extract_several_files_take_no_url(tmp_path):
    page = tmp_path / "a.html"
    page.write_text("<html><body><p>x</p></body></html>")
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", "extract", page, page, "--url", "http://x.example/a"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "--url names one page" in result.stderr


def test_extract_unreadable_file_is_reported_and_others_go_on(tmp_path):
    good = tmp_path / "good.html"
    good.write_text("<html><head><title>T</title></head><body><p>" + "Words of a story. " * 40 + "</p></body></html>")
    pdf = tmp_path / "doc.html"
    pdf.write_bytes(b"%PDF-1.5 not html")
    folder = tmp_path / "saved"
    folder.mkdir()
    big = tmp_path / "big.html"
    big.write_text("<html><body>" + "<p>x</p>" * 40_000 + "</body></html>")
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", "extract", tmp_path / "missing.html", pdf, folder, big, good], capture_output=True, text=True
    )
    assert result.returncode == 1
    # extract keeps nothing: no "the raw page is kept" (the crawl's words)
    assert f"error: {big}: over 30000 elements: too complex to parse\n" in result.stderr
    assert "missing.html" in result.stderr and "PDF" in result.stderr
    assert f"error: {folder}: Is a directory" in result.stderr  # a folder stopped the whole batch
    assert f"error: {tmp_path / 'missing.html'}: No such file or directory\n" in result.stderr and "Errno" not in result.stderr
    assert json.loads(result.stdout)["title"] == "T"
    assert "extracting" not in result.stderr  # no progress bar where standard error is no terminal


def test_extract_without_url_reads_the_page_s_own_address_as_a_crawl_would(tmp_path):
    # the date in the address the page names for itself counts, as it does in a crawl
    page = tmp_path / "saved.html"
    page.write_text(
        "<html><head><title>T</title><link rel='canonical' href='https://news.example.org/2015/03/18/pier.html'></head>"
        "<body><article><h1>T</h1>" + "<p>The harbour board voted to extend the north pier by forty metres.</p>" * 6
        + "</article></body></html>"
    )
    result = subprocess.run([sys.executable, "-m", "newsarchive", "extract", page], capture_output=True, text=True, cwd=tmp_path)
    record = json.loads(result.stdout)
    assert (record["url"], record["published"], record["published_source"]) == (
        "https://news.example.org/2015/03/18/pier.html", "2015-03-18", "url"
    )


def test_extract_passes_over_a_malformed_canonical_address(tmp_path):
    page = tmp_path / "evil.html"
    page.write_text(
        "<html><head><title>T</title><link rel='canonical' href='http://[evil/2019/03/04/x'></head>"
        "<body><article><h1>T</h1>" + "<p>The harbour board voted to extend the north pier by forty metres.</p>" * 6
        + "</article></body></html>"
    )
    result = subprocess.run([sys.executable, "-m", "newsarchive", "extract", page, page], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert [json.loads(line)["url"] for line in result.stdout.splitlines()] == [None, None]


def test_extract_of_many_files_shows_a_progress_bar_on_a_terminal(tmp_path):
    pages = []
    for n in range(4):
        pages.append(tmp_path / f"p{n}.html")
        pages[-1].write_text(f"<html><head><title>T{n}</title></head><body><p>" + "Words of a story. " * 40 + "</p></body></html>")
    # JSON Lines into a file, the bar on the terminal; an error on a line of its own
    result = run_cli_on_terminal("extract", *pages[:2], tmp_path / "missing.html", *pages[2:], "--workers", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == ["T0", "T1", "T2", "T3"]
    assert "extracting" in result.stderr and "100%" in result.stderr
    lines = [line.split("\r")[-1].replace("\x1b[K", "") for line in result.stderr.split("\r\n")]
    assert any(line.startswith(f"error: {tmp_path / 'missing.html'}: ") for line in lines)
    # the last file failing: the bar still ends at 100%; with -v the log has the terminal, no bar
    result = run_cli_on_terminal("extract", *pages, tmp_path / "missing.html", "--workers", "1", cwd=tmp_path)
    assert "100%" in result.stderr and result.stderr.count("error: ") == 1
    result = run_cli_on_terminal("extract", *pages, "--workers", "1", "-v", cwd=tmp_path)
    assert result.returncode == 0 and "extracting" not in result.stderr


@contextlib.contextmanager
def raw_server(answer: bytes):
    """A loopback server that answers every page request with the raw bytes ``answer`` (any
    status line, or none at all) and /robots.txt with a 404; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                if conn.recv(65536).startswith(b"GET /robots.txt"):
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                else:
                    conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_a_status_code_that_is_no_http_status_is_an_error_line(cli):
    """Twisted reads any integer as the status: one too large for SQLite failed the capture
    with an OverflowError (a tester's report)."""
    with raw_server(b"HTTP/1.1 999999999999999999999 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok") as base:
        result = cli("archive", f"{base}/story", "--allow-private")
    assert result.returncode == 1, result.stderr
    assert result.stdout == f"error          {base}/story: the status line's code 999999999999999999999 is not an HTTP status code (three digits, RFC 9110 15)\n"


def test_an_answer_that_is_no_http_is_told_by_its_cause_not_a_repr(cli):
    with raw_server(b"garbage, no status line\r\n\r\n") as base:
        result = cli("archive", f"{base}/story", "--allow-private")
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(f"error          {base}/story: connection failed: ParseError: "), result.stdout
    assert "<twisted.python.failure.Failure" not in result.stdout


def test_stats_of_missing_archive_exits_4(cli, tmp_path):
    result = cli("stats", "--db", tmp_path / "none.db")
    assert result.returncode == 4 and "no archive" in result.stderr


def test_crawl_into_a_missing_folder_says_so_and_exits_4(cli, tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text('[[source]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/feed.xml"]\n')
    result = cli("crawl", "--config", config, "--db", tmp_path / "nowhere" / "a.db")
    assert result.returncode == 4 and f"the folder {tmp_path / 'nowhere'} does not exist" in result.stderr


def test_stats_counts(cli, tmp_path):
    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    result = cli("stats", "--db", db)
    assert result.returncode == 0
    assert "articles:  2" in result.stdout and "snapshots: 3" in result.stdout


def test_crawl_with_bad_config_exits_2(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname = "x"\nfeeds = ["file:///etc/passwd"]\n')
    result = cli("crawl", "--config", bad)
    assert result.returncode == 2
    assert "not an http(s) URL: 'file:///etc/passwd'" in result.stderr


def test_crawl_into_newer_schema_archive_exits_4(cli, tmp_path):
    db = tmp_path / "future.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('newsarchive', 'm999_x', 'x')")
    conn.commit()
    conn.close()
    config = tmp_path / "s.toml"
    config.write_text('[[source]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/feed"]\n')
    result = cli("crawl", "--config", config, "--db", db)
    assert result.returncode == 4 and "newer newsarchive" in result.stderr


def start_serving(db, port: int) -> subprocess.Popen:
    """``newsarchive serve`` on ``db``, once it answers on ``port`` (within 60 s)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "newsarchive", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/-/metadata.json").close()
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_serve_answers_on_loopback(tmp_path):
    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    port = free_port()
    server = start_serving(db, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/articles.json?_shape=array") as response:
            rows = json.load(response)
        assert len(rows) == 2
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/metadata.json") as response:
            assert json.load(response)["title"] == "newsarchive"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_redirect_loop_is_an_error_line(cli, site, tmp_path):
    site.route("/loop", 302, b"", {"Location": "/loop"})
    result = cli("archive", site.url("/loop"), "--allow-private")
    assert result.returncode == 1
    assert f"error          {site.url('/loop')}: too many redirects" in result.stdout
    assert db_rows(tmp_path / "archive.db", "SELECT kind FROM failures") == [{"kind": "redirects"}]


def test_another_applications_database_is_not_touched(cli, tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    for args in (["stats"], ["archive", "http://x.example/a"]):
        result = cli(*args, "--db", other)
        assert result.returncode == 4 and "a SQLite database of something else" in result.stderr
    conn = sqlite3.connect(other)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_read_only_archive_exits_4_before_crawling(cli, tmp_path):
    db = tmp_path / "ro.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    db.chmod(0o444)
    tmp_path.chmod(0o555)  # no journal or WAL file can be made either
    try:
        result = cli("archive", "http://x.example/a", "--db", db)
    finally:
        tmp_path.chmod(0o755)
    assert result.returncode == 4 and "readonly" in result.stderr.replace("-", "")


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (needs root and mount; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.slow
@pytest.mark.scenario(24)
def test_disk_full_while_archiving_exits_4_and_keeps_the_archive_sound(cli, small_disk, tmp_path):
    db = small_disk / "a.db"
    page = tmp_path / "page.html"
    page.write_bytes(gzip.decompress((ROOT / "demo" / "pages" / "nytimes-2.html.gz").read_bytes()))
    assert cli("archive", "--html", page, "--url", "http://x.example/one", "--db", db).returncode == 0
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    (small_disk / "filler").write_bytes(b"\0" * max(0, free - 30_000))
    edited = tmp_path / "edited.html"
    edited.write_bytes(page.read_bytes().replace(b"Verizon", b"VERIZON") + b"<!--" + os.urandom(200_000).hex().encode() + b"-->")
    result = cli("archive", "--html", edited, "--url", "http://x.example/two", "--db", db, timeout=120)
    assert result.returncode == 4
    assert "storage error" in result.stderr or "disk" in result.stderr
    (small_disk / "filler").unlink()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 1
    conn.close()
    assert cli("archive", "--html", edited, "--url", "http://x.example/two", "--db", db).returncode == 0


def test_an_archive_on_a_read_only_mount_says_why_it_cannot_be_opened(cli, tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)]).returncode:
        pytest.skip("needs root to mount a tmpfs")
    try:
        (mount / "a.db").write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
        assert cli("stats", "--db", mount / "a.db").returncode == 0  # upgraded while it can be
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        result = cli("stats", "--db", mount / "a.db")
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    assert result.returncode == 4
    assert f"its folder {mount} is read-only: SQLite writes a a.db-shm file beside an archive even to read it" in result.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no file can be made")
def test_a_warc_file_that_cannot_be_written_stops_the_crawl_before_it_starts(cli, tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text('[crawl]\nwarc = "/proc/crawl.warc.gz"\n[[source]]\nname = "a"\nfeeds = ["http://127.0.0.1:9/feed"]\n')
    result = cli("crawl", "--config", config)
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: {config}: [crawl] warc: cannot write /proc/crawl.warc.gz: No such file or directory"
    assert not (tmp_path / "archive.db").exists()


def test_history_of_an_empty_url_is_a_usage_error(cli, tmp_path):
    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    result = cli("history", " ", "--db", db)
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: URL is empty: give a story's URL (its canonical URL or any alias)"


def test_history_of_an_unknown_url_never_repeats_its_password(cli, tmp_path):
    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    result = cli("history", "http://reader:hunter2@news.example.org/a", "--db", db)
    assert result.returncode == 1 and "no article for" in result.stderr and "hunter2" not in result.stderr


def test_a_reader_that_stops_early_is_no_error(tmp_path):
    """`newsarchive history URL | head -1`: the reader closes the pipe; the command ends 0,
    silently (click's own handling exits 1: a `set -o pipefail` script failed)."""
    from tests.conftest import child_env

    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    url = sqlite3.connect(db).execute("SELECT canonical_url FROM articles LIMIT 1").fetchone()[0]
    for args in (["history", url], ["stats"]):
        reader, writer = os.pipe()
        os.close(reader)  # the reader is gone before the first line: every write fails with EPIPE
        try:
            result = subprocess.run(
                [sys.executable, "-m", "newsarchive", *args, "--db", str(db)],
                stdout=writer, stderr=subprocess.PIPE, text=True, env=child_env(), timeout=120,
            )
        finally:
            os.close(writer)
        assert (result.returncode, result.stderr) == (0, ""), args


def test_log_file_in_a_missing_folder_is_a_usage_error(cli, tmp_path):
    result = cli("stats", "--log-file", tmp_path / "no" / "such" / "log.txt")
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_stops_when_its_archive_file_is_replaced_and_says_only_why(tmp_path):
    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    server = start_serving(db, free_port())
    try:
        other = tmp_path / "other.db"
        other.write_bytes(db.read_bytes())
        other.replace(db)  # a new file under the same name
        out, err = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0
    assert f"{db} was replaced by another file: stopping; start serve again to browse the new archive" in err
    assert "send it again" not in err and "Traceback" not in err  # it stopped itself: nobody is to send another


def test_serve_on_a_busy_port_is_a_usage_error(cli, tmp_path):
    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cli("serve", "--db", db, "--port", busy.getsockname()[1])
    assert result.returncode == 2 and "is in use" in result.stderr


def test_quiet_by_default_even_when_urls_fail(cli):
    result = cli("archive", "http://127.0.0.1:9/closed", "--allow-private")
    assert result.returncode == 1
    assert result.stdout.strip() == (
        "error          http://127.0.0.1:9/closed: connection refused "
        "(robots.txt not reachable: host skipped for this run, RFC 9309)"
    )
    assert result.stderr.strip() == ""


def test_a_page_that_is_no_html_is_quiet_without_verbose(cli, tmp_path):
    # trafilatura logs "not valid HTML" as an error; the result line already says it
    notes = tmp_path / "notes.md"
    notes.write_text("# notes\n\nnot html at all, a few words of plain text\n")
    result = cli("extract", notes, "--url", "http://x.example/a")
    assert result.returncode == 0 and '"is_article": false' in result.stdout and result.stderr == ""
    result = cli("archive", "--html", notes, "--url", "http://x.example/a")
    assert "not an article" in result.stdout and result.stderr == ""
    result = cli("archive", "--html", notes, "--url", "http://x.example/a", "-vv")
    assert "[trafilatura" in result.stderr  # the library's own lines, when everything is logged


# -- found by a fresh-clone trial: every bad input a one-line error with its exit status -----


def test_a_url_file_that_is_not_utf8_is_a_usage_error(cli, tmp_path):
    urls_file = tmp_path / "urls.txt"
    urls_file.write_bytes("http://x.example/a\n".encode("utf-16"))
    result = cli("archive", "--from-file", urls_file)
    assert result.returncode == 2 and "not UTF-8 text" in result.stderr and "Traceback" not in result.stderr


def test_a_url_over_the_length_limit_is_a_failure_not_silence(cli, tmp_path):
    long_url = "http://127.0.0.1:9/" + "a" * 2100
    result = cli("archive", long_url, "--allow-private")
    assert result.returncode == 1 and "longer than 2083 characters" in result.stdout
    assert db_rows(tmp_path / "archive.db", "SELECT kind FROM failures") == [{"kind": "bad_url"}]


def test_extract_reads_no_more_than_a_fetch_would(cli, tmp_path):
    huge = tmp_path / "huge.html"
    with open(huge, "wb") as f:
        f.truncate(21 * 1024 * 1024)  # a sparse file: 21 MiB without writing them
    result = cli("extract", huge, "/dev/zero")
    assert result.returncode == 1 and result.stderr.count("over 20 MiB") == 2 and "Traceback" not in result.stderr
    assert f"error: {huge}: over 20 MiB; not read" in result.stderr  # the file named once


def test_out_names_that_cannot_be_files_are_usage_errors(cli, tmp_path):
    assert cli("archive", "--html", ROOT / "demo" / "pages" / "al-1.html.gz", "--url", "http://x.example/a").returncode == 0
    result = cli("backup", "--out", "")
    assert (result.returncode, "give a file name" in result.stderr) == (2, True), result.stderr
    result = cli("backup", "--out", str(tmp_path) + "/")
    assert (result.returncode, "is a directory" in result.stderr) == (2, True), result.stderr
    result = cli("export-warc", "--out", "a" * 300 + ".warc.gz")
    assert result.returncode == 2 and "File name too long" in result.stderr and "Traceback" not in result.stderr


def test_a_storage_error_in_the_middle_of_a_command_exits_4_in_one_line(tmp_path, monkeypatch):
    """A read-only archive found when the crawl first writes (run as root, file modes do not
    stop writes, so the error is injected): exit 4 and one line, not a traceback."""
    from click.testing import CliRunner

    from newsarchive.cli import cli as newsarchive
    from archive.database import Archive, StorageError

    def read_only(self):
        raise StorageError(f"{tmp_path / 'a.db'}: attempt to write a readonly database")

    monkeypatch.setattr(Archive, "end_dead_runs", read_only)
    config = tmp_path / "s.toml"
    config.write_text('[[source]]\nname = "x"\nfeeds = ["http://x.example/feed.xml"]\n')
    result = CliRunner().invoke(newsarchive, ["crawl", "--config", str(config), "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 4 and "readonly database" in result.output and "Traceback" not in result.output


def test_reextract_and_import_mark_a_killed_run_interrupted(cli, tmp_path):
    """A run killed with SIGKILL stays `running`; the next `reextract` or `import-warc`, as
    `crawl` and `archive` did, finds its process gone and marks it `interrupted`."""
    db = tmp_path / "v1.db"
    db.write_bytes((ROOT / "tests" / "data" / "archive-v1.db").read_bytes())
    assert cli("export-warc", "--out", tmp_path / "v1.warc.gz", "--db", db).returncode == 0
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id no process has now
    for command in (["reextract", "--workers", "0"], ["import-warc", tmp_path / "v1.warc.gz"]):
        with sqlite3.connect(db) as conn:
            conn.execute(
                "INSERT INTO crawls (started_at, status, command, pid) VALUES ('2026-12-01T00:00:00Z', 'running', 'reextract', ?)",
                [gone.pid],
            )
            killed = conn.execute("SELECT max(id) FROM crawls").fetchone()[0]
        result = cli(*command, "--db", db)
        assert result.returncode == 0, result.stderr
        assert db_rows(db, "SELECT status FROM crawls WHERE id = ?", [killed])[0]["status"] == "interrupted", command


def test_a_ctrl_c_while_the_command_loads_is_one_line():
    """A SIGINT while `newsarchive` imports its libraries (the demo passes one on to a crawl
    it just started): one line, exit 1, no traceback. The import is made to raise as Python
    raises KeyboardInterrupt at that moment."""
    from tests.conftest import child_env

    code = (
        "import sys\n"
        "class Interrupting:\n"
        "    @staticmethod\n"
        "    def find_spec(name, path=None, target=None):\n"
        "        if name == 'newsarchive.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupting)\n"
        "from newsarchive.__main__ import main\n"
        "sys.argv = ['newsarchive', 'stats']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=60)
    assert (result.returncode, result.stderr) == (1, "stopped (SIGINT) while starting: nothing was done\n")
