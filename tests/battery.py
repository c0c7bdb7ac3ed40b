"""The reliability battery's hostile webs and crawl runs, shared by ``tests/test_reliability_*.py``
and ``benchmarks/reliability.py``.

Each ``*_battery`` function starts :mod:`tests.hostile` servers on loopback addresses (one
address per site: Scrapy's download slots are per host name), runs one crawl through the
real Scrapy engine in a subprocess (``scrapy crawl news`` from the project root, with
``DOWNLOAD_TIMEOUT = 1`` as reliability.md asks for tests), stops the servers and returns a
:class:`Battery`: the run (exit status, log, peak RSS, the archive) and every server's
request log. The tests assert on these; the benchmark counts them.
"""

from __future__ import annotations

import html
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.conftest import ROOT, child_env
from tests.hostile import CanaryServer, HostileServer, attributes_bomb, bomb, deep_nesting, story_html

#: reliability.md: "Timeout (~30 s; 1 s in tests)"
TEST_SETTINGS = {"DOWNLOAD_TIMEOUT": "1"}
CONTACT = "mailto:archive@example.org"
MIB = 1024 * 1024


# -- running ---------------------------------------------------------------------------------


@dataclass
class Run:
    """One process run: exit status, output, log, wall time, peak RSS, and its archive."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    log: str
    seconds: float
    peak_rss_mib: float
    db: Path

    def rows(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Query the archive read-only."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def value(self, sql: str, params: tuple | list = ()) -> Any:
        rows = self.rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def stats(self) -> dict[str, Any]:
        """Scrapy's stats of the last crawl, as recorded in ``crawls.stats``."""
        raw = self.value("SELECT stats FROM crawls ORDER BY id DESC LIMIT 1")
        return json.loads(raw) if raw else {}

    def failures(self) -> dict[str, list[str]]:
        """Failure kinds by URL."""
        found: dict[str, list[str]] = {}
        for row in self.rows("SELECT url, kind FROM failures ORDER BY id"):
            found.setdefault(row["url"], []).append(row["kind"])
        return found

    def failure(self, url: str) -> dict[str, Any] | None:
        rows = self.rows("SELECT * FROM failures WHERE url = ? ORDER BY id DESC", [url])
        return rows[0] if rows else None

    def captures(self, url: str) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM captures WHERE url = ? ORDER BY id", [url])

    def snapshots_of(self, url: str) -> list[dict[str, Any]]:
        """Snapshots written from captures of ``url`` (as requested)."""
        return self.rows(
            "SELECT s.* FROM snapshots s JOIN captures c ON c.id = s.capture_id WHERE c.url = ? ORDER BY s.id", [url]
        )

    def retries(self, url: str) -> list[str]:
        """The reasons of the retries of ``url``, in order, from the log's INFO lines
        (:class:`crawler.middlewares.LoggedRetryMiddleware`). Under load a 1 s timeout can
        fire on any fetch; its retry is a second request the test must not take for a bug."""
        marker = f"Retrying <GET {url}> (attempt "
        return [line.split("): ", 1)[1] for line in self.log.splitlines() if marker in line]

    def tracebacks(self) -> int:
        """Unhandled exceptions: tracebacks in the log and on standard error."""
        return (self.log + self.stderr).count("Traceback (most recent call last)")

    def crash_signs(self) -> list[str]:
        """What says the crawl did not survive its inputs: a non-zero exit, a traceback, a
        finish other than ``finished``, an exception counted by Scrapy or the pipelines.
        Empty for a crawl that survived."""
        stats = self.stats()
        signs = [f"exit {self.returncode}"] if self.returncode != 0 else []
        signs += [f"{self.tracebacks()} tracebacks"] if self.tracebacks() else []
        signs += [] if stats.get("finish_reason") == "finished" else [f"finish_reason {stats.get('finish_reason')}"]
        return signs + [k for k in stats if k.startswith(("spider_exceptions", "archive/failure/pipeline_error", "archive/failure/spider_error"))]


def run_process(args: list[str], cwd: Path, log: Path | None = None, timeout: float = 300, env: dict | None = None) -> Run:
    """Run a process to completion (killed after ``timeout`` seconds) and measure its peak
    RSS with ``wait4(2)`` (the child's own ``ru_maxrss``)."""
    started = time.monotonic()
    # unnamed temporary files, not pipes: a chatty child never blocks on a full pipe
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(args, cwd=cwd, stdout=stdout, stderr=stderr, env=env)
        status, usage = None, None
        while status is None:
            pid, raw, rusage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                status, usage = raw, rusage
                break
            if time.monotonic() - started > timeout:
                process.send_signal(signal.SIGKILL)
                _, raw, rusage = os.wait4(process.pid, 0)
                status, usage = raw, rusage
                break
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        stdout.seek(0)
        stderr.seek(0)
        return Run(
            args=[str(a) for a in args],
            returncode=process.returncode,
            stdout=stdout.read().decode(errors="replace"),
            stderr=stderr.read().decode(errors="replace"),
            log=log.read_text(errors="replace") if log is not None and log.exists() else "",
            seconds=seconds,
            peak_rss_mib=usage.ru_maxrss / 1024,
            db=Path(),
        )


def scrapy_crawl(
    workdir: Path,
    config_text: str,
    *,
    db: str = "archive.db",
    settings: dict[str, str] | None = None,
    timeout: float = 300,
) -> Run:
    """``scrapy crawl news -a config=... -s ARCHIVE_DB=...`` from the project root, with
    :data:`TEST_SETTINGS` and ``settings`` (the documented second entry point; it takes
    Scrapy settings, which the ``newsarchive`` command does not)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "sources.toml"
    config.write_text(config_text)
    log = workdir / "crawl.log"
    args = [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"config={config}", "-s", f"ARCHIVE_DB={workdir / db}",
            "-s", f"LOG_FILE={log}", "-s", "LOG_LEVEL=INFO"]
    for name, value in {**TEST_SETTINGS, **(settings or {})}.items():
        args += ["-s", f"{name}={value}"]
    run = run_process(args, ROOT, log, timeout=timeout, env=child_env())
    run.db = workdir / db
    return run


def newsarchive(workdir: Path, *args: object, db: str = "archive.db", timeout: float = 300, env: dict | None = None) -> Run:
    """``newsarchive ARGS --db DB --log-file crawl.log`` in ``workdir`` (a user's run)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "newsarchive.log"
    argv = [sys.executable, "-m", "newsarchive", *map(str, args), "--db", str(workdir / db), "--log-file", str(log)]
    run = run_process(argv, workdir, log, timeout=timeout, env={**child_env(), **(env or {})})
    run.db = workdir / db
    return run


# -- configs -----------------------------------------------------------------------------------


def source_toml(name: str, *, feeds=(), sitemaps=(), start_urls=(), **keys: Any) -> str:
    """One ``[[source]]`` with ``allow_private = true`` (its own loopback hosts only)."""
    lines = ["[[source]]", f'name = "{name}"', "allow_private = true"]
    for key, values in (("feeds", feeds), ("sitemaps", sitemaps), ("start_urls", start_urls)):
        if values:
            lines.append(f"{key} = {json.dumps(list(values))}")
    for key, value in keys.items():
        lines.append(f"{key} = {json.dumps(value) if not isinstance(value, bool) else str(value).lower()}")
    return "\n".join(lines) + "\n"


def config_toml(*sources: str, delay_secs: float = 0) -> str:
    head = f'[crawl]\ndelay_secs = {delay_secs}\ncontact = "{CONTACT}"\nrevisit_steps = ["*=0s"]\n\n'
    return head + "\n".join(sources)


# -- batteries ---------------------------------------------------------------------------------


@dataclass
class Battery:
    """A hostile web and the crawl run against it.

    Attributes:
        run: the crawl.
        servers: the sites by name (stopped; their request logs kept).
        urls: URLs that the checks name, by key.
        extra: anything else the checks need (canary text, file paths).
    """

    run: Run
    servers: dict[str, HostileServer]
    urls: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def hits(self, key: str) -> list:
        """The request log of the server that served ``urls[key]``, for that path."""
        url = self.urls[key]
        server = next(s for s in self.servers.values() if url.startswith(s.base_url))
        path = url[len(server.base_url):]
        return [h for h in server.hits if h.path == path]

    def downloads(self, key: str) -> list:
        """The :meth:`hits` that received body bytes: a request whose connection the client
        dropped before the first byte (Twisted's persistent-connection pool sends it again on
        a fresh connection, invisibly to Scrapy's retries) is no download of its own."""
        return [h for h in self.hits(key) if h.sent > 0]


class _Web:
    """Servers started for one battery, on loopback addresses from ``first``."""

    def __init__(self, stack: ExitStack, first: int) -> None:
        self.stack = stack
        self.next = first
        self.servers: dict[str, HostileServer] = {}

    def server(self, name: str, robots: str = "User-agent: *\nAllow: /\n", host: str | None = None) -> HostileServer:
        if host is None:
            host = f"127.0.0.{self.next}"
            self.next += 1
        server = self.stack.enter_context(HostileServer(host, name=name, robots=robots))
        self.servers[name] = server
        return server


FETCH_BOMBS = ("gzip", "deflate", "br", "zstd", "gzip,br", "zstd,deflate")


def fetch_battery(workdir: Path) -> Battery:
    """Scenarios 1-9, 12-14 and 20 in one crawl: one site per misbehaviour, each a source
    whose feed lists its hostile URLs."""
    urls: dict[str, str] = {}
    with ExitStack() as stack:
        web = _Web(stack, 40)
        sources = []

        def site(name: str, links: list[str], robots: str = "User-agent: *\nAllow: /\n", **keys) -> HostileServer:
            server = web.server(name, robots)
            server.links = links
            sources.append(source_toml(name, feeds=[server.url("/feed.xml")], **keys))
            return server

        s = site("never", ["/silent", "/page/after-silent"])
        urls.update(silent=s.url("/silent"), after_silent=s.url("/page/after-silent"))
        s = site("trickle", ["/trickle?bps=2&length=200"])
        urls.update(trickle=s.url("/trickle?bps=2&length=200"))
        s = site("drop", ["/drop?abort=1&length=5000&at=600", "/drop?abort=0&length=5000&at=600"])
        urls.update(rst=s.url("/drop?abort=1&length=5000&at=600"), fin=s.url("/drop?abort=0&length=5000&at=600"))
        s = site("truncated", ["/truncated/cl", "/truncated/chunked", "/truncated/close?complete=0", "/truncated/close?complete=1",
                               "/truncated/gzip"])
        urls.update(cl=s.url("/truncated/cl"), chunked=s.url("/truncated/chunked"), gzip_cut=s.url("/truncated/gzip"),
                    close_cut=s.url("/truncated/close?complete=0"), close_whole=s.url("/truncated/close?complete=1"))
        s = site("huge", ["/huge?mb=200", "/huge?mb=200&length=1"])
        urls.update(huge_stream=s.url("/huge?mb=200"), huge_declared=s.url("/huge?mb=200&length=1"))
        s = site("bombs", [f"/bomb?enc={e}" for e in FETCH_BOMBS] + ["/endless"])
        urls.update({f"bomb_{e}": s.url(f"/bomb?enc={e}") for e in FETCH_BOMBS}, endless=s.url("/endless"))
        s = site("redirects", ["/loop", "/chain/25", "/chain/5"])
        urls.update(loop=s.url("/loop"), chain25=s.url("/chain/25"), chain5=s.url("/chain/5"), chain_end=s.url("/page/chain-end"))

        # 8: redirects to another host, another port of the same host, other schemes
        other = web.server("other-host")
        offsite_to = {
            "to_other_host": other.url("/page/offsite-target"),
            "to_other_port": None,  # filled below (the redirecting site's own host, another port)
            "to_ftp": "ftp://127.0.0.1/x",
            "to_file": "file:///etc/passwd",
        }
        s = web.server("offsite")
        port_server = stack.enter_context(HostileServer(s.host, name="offsite-port"))
        web.servers["offsite-port"] = port_server
        offsite_to["to_other_port"] = port_server.url("/page/port-target")
        links = []
        for key, target in offsite_to.items():
            path = f"/redirect?to={target}"
            links.append(path)
            urls[key] = s.url(path)
        urls["other_host_target"] = offsite_to["to_other_host"]
        urls["other_port_target"] = offsite_to["to_other_port"]
        s.links = links
        sources.append(source_toml("offsite", feeds=[s.url("/feed.xml")]))

        # 9: 429/503 with every kind of Retry-After, one host each
        for key, query in {
            "ra_secs": "n=429&retry_after=2",
            "ra_date": "n=503&retry_after=date:+3",
            "ra_huge": "n=429&retry_after=86400",
            "ra_past": "n=429&retry_after=date:-3600",
            "ra_junk": "n=429&retry_after=soon-ish",
        }.items():
            # Scrapy's scheduler is last in, first out: the page after the 429 is listed first
            links = (["/page/after-huge"] if key == "ra_huge" else []) + [f"/status/{key}?{query}"]
            s = site(key.replace("_", "-"), links)
            urls[key] = s.url(links[-1])
            if key == "ra_huge":
                urls["after_huge"] = s.url("/page/after-huge")

        # 12: binary served as HTML, an empty 200
        s = web.server("binary")
        for key, body, kind in [
            ("pdf_as_html", b"%PDF-1.7\n1 0 obj<<>>endobj\n" + b"\x00" * 64, "text/html"),
            ("png_as_html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64, "text/html; charset=utf-8"),
            ("zip_as_html", b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 64, "text/html"),
            ("pdf_as_pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n", "application/pdf"),
            ("empty", b"", "text/html"),
        ]:
            urls[key] = s.fixture(f"/bin/{key}", body, content_type=kind)
        s.links = [u[len(s.base_url):] for k, u in urls.items() if u.startswith(s.base_url + "/bin/")]
        sources.append(source_toml("binary", feeds=[s.url("/feed.xml")]))

        # 13: pathological HTML
        s = web.server("malformed")
        urls["unclosed"] = s.fixture("/html/unclosed", b"<html><head><title>Unclosed</title><body>" + b"<p><b><i><span>Unclosed words of a story. " * 20_000)
        urls["nested"] = s.fixture("/html/nested", b"<html><body>" + b"<div>" * 100_000 + b"<p>deep</p>" + b"</div>" * 100_000 + b"</body></html>")
        urls["nul"] = s.fixture("/html/nul", story_html("NUL bytes").replace(b"<p>", b"<p>\x00", 3))
        urls["nul_late"] = s.fixture("/html/nul-late", story_html("NUL late").replace(b"</article>", b"<p>a\x00b</p></article>"))
        urls["textnode_15"] = s.url("/textnode?mb=15")
        urls["textnode_50"] = s.url("/textnode?mb=50")
        s.links = ["/html/unclosed", "/html/nested", "/html/nul", "/html/nul-late", "/textnode?mb=15", "/textnode?mb=50"]
        sources.append(source_toml("malformed", feeds=[s.url("/feed.xml")]))

        # 14: meta refresh
        s = web.server("refresh")
        far = web.server("refresh-far")
        refresh = {
            "mr_self": ("0", "/mr/mr_self"),
            "mr_short": ("1", "/page/mr-short-target"),
            "mr_five": ("5", "/page/mr-five-target"),
            "mr_long": ("200", "/page/mr-long-target"),
            "mr_noscript": ("0", "/page/mr-noscript-target"),
            "mr_offsite": ("0", far.url("/page/mr-offsite-target")),
        }
        for key, (delay, target) in refresh.items():
            content = delay if target is None else f"{delay}; url={target}"
            meta = f"<meta http-equiv='refresh' content='{content}'>"
            head, body_extra = ("", f"<noscript>{meta}</noscript>") if key == "mr_noscript" else (meta, "")
            urls[key] = s.fixture(f"/mr/{key}", story_html(f"Refresh {key}", head=head, body_extra=body_extra))
            if target:
                urls[f"{key}_target"] = target if "://" in target else s.url(target)
        s.links = [f"/mr/{k}" for k in refresh]
        sources.append(source_toml("refresh", feeds=[s.url("/feed.xml")]))

        # 20: politeness under load: 10 URLs on a host with Crawl-delay 0.3, 6 on one with 0.5
        for name, delay, count in (("polite-a", 0.3, 10), ("polite-b", 0.5, 6)):
            s = site(name, [f"/page/{name}-{i}" for i in range(count)], robots=f"User-agent: *\nCrawl-delay: {delay}\n")
            urls[name] = s.base_url

        run = scrapy_crawl(workdir, config_toml(*sources))
        for server in web.servers.values():
            server.wait_idle(2)
        servers = dict(web.servers)
    return Battery(run, servers, urls)


# -- pages: one hostile page per case (issue 14: no page holds the crawl) --------------------


def _charset_page(encoding: str, meta: str = "") -> bytes:
    paragraphs = "".join(f"<p>{html.escape(CHARSET_TEXT)} ({n})</p>" for n in range(6))
    return (f"<!doctype html><html><head>{meta}<title>Charset test</title><meta property='og:type' content='article'>"
            f"</head><body><article><h1>Charset test</h1>{paragraphs}</article></body></html>").encode(encoding)


#: case -> (path on its server, body of a fixture or None for a route of tests/hostile.py,
#: Content-Type): hostile pages, each of which must cost the crawl process little
PAGE_CASES: dict[str, tuple[str, bytes | None, str]] = {
    "story": ("/page/plain-story", None, ""),
    "attributes_bomb": ("/html/attributes-bomb", None, "text/html; charset=utf-8"),
    "attributes_50k": ("/html/attributes-50k", None, "text/html; charset=utf-8"),
    "deep_nesting": ("/html/deep", None, "text/html; charset=utf-8"),
    "nested_100k": ("/html/nested", b"<html><body>" + b"<div>" * 100_000 + b"<p>deep</p>" + b"</div>" * 100_000 + b"</body></html>",
                    "text/html"),
    "unclosed": ("/html/unclosed", b"<html><head><title>Unclosed</title><body>" + b"<p><b><i><span>Unclosed words of a story. " * 20_000,
                 "text/html"),
    "textnode_15": ("/textnode?mb=15", None, ""),
    "utf16be_no_bom": ("/cs/utf16be", None, "text/html"),
    "utf16le_no_bom": ("/cs/utf16le", None, "text/html"),
    "meta_utf16_on_utf8": ("/cs/meta-utf16", None, "text/html"),
    "meta_utf32_on_utf8": ("/cs/meta-utf32", None, "text/html"),
    "open_whole": ("/truncated/open?complete=1", None, ""),
    "open_cut": ("/truncated/open?complete=0", None, ""),
    "close_whole": ("/truncated/close?complete=1", None, ""),
}


def _page_case_body(case: str) -> bytes | None:
    path, body, _ = PAGE_CASES[case]
    built = {
        "attributes_bomb": lambda: attributes_bomb(200_000),
        "attributes_50k": lambda: attributes_bomb(50_000),
        "deep_nesting": lambda: deep_nesting(1_000),
        "utf16be_no_bom": lambda: _charset_page("utf-16-be"),
        "utf16le_no_bom": lambda: _charset_page("utf-16-le"),
        "meta_utf16_on_utf8": lambda: _charset_page("utf-8", "<meta charset='utf-16'>"),
        "meta_utf32_on_utf8": lambda: _charset_page("utf-8", "<meta http-equiv='Content-Type' content='text/html; charset=utf-32'>"),
    }
    return built[case]() if case in built else body


def page_battery(workdir: Path, cases: list[str] | None = None, first: int = 110, settings: dict[str, str] | None = None) -> Battery:
    """One crawl of the hostile pages of :data:`PAGE_CASES` (``cases``: those only), each on a
    site of its own, so that one page holding the crawl shows as the others' delay
    (``settings``: more Scrapy settings)."""
    urls: dict[str, str] = {}
    with ExitStack() as stack:
        web = _Web(stack, first)
        sources = []
        for case in cases or list(PAGE_CASES):
            path, _, content_type = PAGE_CASES[case]
            server = web.server(case.replace("_", "-"))
            body = _page_case_body(case)
            urls[case] = server.fixture(path, body, content_type=content_type) if body is not None else server.url(path)
            server.links = [path]
            sources.append(source_toml(case.replace("_", "-"), feeds=[server.url("/feed.xml")]))
        run = scrapy_crawl(workdir, config_toml(*sources), settings=settings)
        for server in web.servers.values():
            server.wait_idle(2)
        servers = dict(web.servers)
    return Battery(run, servers, urls)


# -- content --------------------------------------------------------------------------------

# RFC 9309 matrix: case -> (robots behaviour, paths listed, paths the crawler may fetch)
ROBOTS_CASES: dict[str, tuple[tuple[str, Any], list[str], set[str]]] = {
    "rules": (("body", "User-agent: *\nDisallow: /page/private\n"), ["/page/public", "/page/private"], {"/page/public"}),
    "404": (("status", 404), ["/page/a"], {"/page/a"}),
    "401": (("status", 401), ["/page/a"], {"/page/a"}),
    "403": (("status", 403), ["/page/a"], {"/page/a"}),
    "500": (("status", 500), ["/page/a"], set()),
    "503": (("status", 503), ["/page/a"], set()),
    "reset": (("reset", None), ["/page/a"], set()),
    "silent": (("silent", None), ["/page/a"], set()),
    "5-redirects": (("redirects", 5), ["/page/a"], set()),
    "6-redirects": (("redirects", 6), ["/page/a"], {"/page/a"}),
    "garbage": (("bytes", b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage {{{ <html> Disallow /page/a"), ["/page/a"], {"/page/a"}),
    "over-500k": (
        ("body", "User-agent: *\nDisallow: /page/early\n" + "# padding line of a very long robots.txt\n" * 15_000 + "Disallow: /page/late\n"),
        ["/page/early", "/page/late"],
        {"/page/late"},
    ),
}

# the failure kind of a page on a host whose robots.txt disallowed it all: ``robots`` when
# robots.txt answered (5xx), else why it could not be reached
ROBOTS_UNREACHABLE_KINDS = {"reset": "connection", "silent": "timeout"}

CHARSET_TEXT = "Ça coûte très cher à Zürich — déclare le ministre, naïvement, après la réunion du conseil."
# name -> (body bytes, Content-Type, the encoding the archive must record)
def charset_fixtures() -> dict[str, tuple[bytes, str, str]]:
    def page(meta: str = "", text: str = CHARSET_TEXT) -> str:
        paragraphs = "".join(f"<p>{html.escape(text)} ({n})</p>" for n in range(6))
        return (f"<html><head>{meta}<title>Charset test</title><meta property='og:type' content='article'></head>"
                f"<body><article><h1>Charset test</h1>{paragraphs}</article></body></html>")

    return {
        "cp1252_header": (page().encode("cp1252"), "text/html; charset=windows-1252", "cp1252"),
        "cp1252_meta": (page("<meta charset='windows-1252'>").encode("cp1252"), "text/html", "cp1252"),
        "cp1252_none": (page().encode("cp1252"), "text/html", "cp1252"),
        "utf16_bom": (b"\xff\xfe" + page("<meta charset='utf-8'>").encode("utf-16-le"), "text/html; charset=utf-8", "utf-16-le"),
        "header_vs_meta": (page("<meta charset='iso-8859-1'>").encode("utf-8"), "text/html; charset=utf-8", "utf-8"),
        "invalid_utf8": (page("<meta charset='utf-8'>").encode("utf-8").replace("Zürich".encode(), b"Z\xfc\xffrich"), "text/html; charset=utf-8", "utf-8"),
    }


DATE_CASES: dict[str, dict[str, Any]] = {
    # JSON-LD datePublished as stated -> expected published, published_utc, source, warning
    "no_tz": {"jsonld": "2024-05-01T10:00:00", "published": "2024-05-01T10:00:00", "utc": None, "source": "jsonld"},
    "no_tz_zone": {"jsonld": "2024-05-01T10:00:00", "published": "2024-05-01T10:00:00", "utc": "2024-05-01T08:00:00Z",
                   "source": "jsonld", "timezone": "Europe/Berlin"},
    "future": {"jsonld": "2099-01-01T00:00:00+00:00", "published": None, "utc": None, "source": None, "warning": "future_date"},
    "pre_1995": {"jsonld": "1970-01-01T00:00:00Z", "published": None, "utc": None, "source": None},
    "junk": {"jsonld": "the day after yesterday", "published": None, "utc": None, "source": None},
    "conflicting": {"jsonld": "2024-05-01T10:00:00+02:00", "meta": "2023-01-01T00:00:00Z",
                    "published": "2024-05-01T10:00:00+02:00", "utc": "2024-05-01T08:00:00Z", "source": "jsonld"},
    "future_feed": {"feed": "Fri, 01 Jan 2100 00:00:00 GMT", "published": None, "utc": None, "source": None, "warning": "future_date"},
}

SQL_PAYLOADS = [
    "Robert'); DROP TABLE articles;--",
    '" OR 1=1 --',
    "]; DELETE FROM snapshots; [",
    "x' UNION SELECT sql FROM sqlite_master --",
    "ATTACH DATABASE '/tmp/pwn.db' AS pwn; --",
    "\\'; PRAGMA writable_schema=1; --",
    "Ünïcødé: naïve — quotes ‘’ “” and a backslash \\",
]


def content_battery(workdir: Path) -> Battery:
    """Scenarios 10, 11, 15-19, 27 (server dates) and 30 (payloads) in one crawl."""
    urls: dict[str, str] = {}
    extra: dict[str, Any] = {}
    with ExitStack() as stack:
        web = _Web(stack, 60)
        canary = stack.enter_context(CanaryServer())
        sources = []
        # 10: the robots.txt matrix, one origin per case
        for case, (behaviour, paths, _) in ROBOTS_CASES.items():
            server = web.server(f"robots-{case}")
            server.set_robots(*behaviour)
            server.links = paths
            sources.append(source_toml(f"robots-{case}", feeds=[server.url("/feed.xml")]))
        # 11: charsets
        s = web.server("charset")
        for name, (body, ctype, _) in charset_fixtures().items():
            urls[f"cs_{name}"] = s.fixture(f"/cs/{name}", body, content_type=ctype)
        s.links = [f"/cs/{n}" for n in charset_fixtures()]
        sources.append(source_toml("charset", feeds=[s.url("/feed.xml")]))
        # 15: one story under many URLs
        s = web.server("variants")
        canonical = s.url("/story/one")
        page = story_html("One story, many URLs", head=f"<link rel='canonical' href='{canonical}'>")
        amp = story_html("One story, many URLs", head=f"<link rel='canonical' href='{canonical}'>").replace(b"<html lang='en'>", b"<html amp lang='en'>")
        s.fixture("/story/one", page)
        s.fixture("/amp/story/one", amp)
        variants = ["/story/one", "/story/one?utm_source=feed&utm_medium=rss", "/story/one?fbclid=IwAR0abc", "/story/one;jsessionid=0123456789ABCDEF",
                    "/story/one?print=1", "/amp/story/one", "/story/one#comments"]
        s.links = variants
        urls["variant_canonical"] = canonical
        extra["variants"] = [s.url(v) for v in variants]
        sources.append(source_toml("variants", feeds=[s.url("/feed.xml")]))
        # 16: spider traps, followed from section pages to the deepest allowed depth
        s = web.server("traps")
        starts = ["/cal/2024/01", "/a/", "/session", "/long"]
        urls["traps"] = s.base_url
        sources.append(source_toml("traps", start_urls=[s.url(p) for p in starts], depth=10))
        # 17: hostile feeds
        s = web.server("feeds")
        secret_file = workdir / "xxe-canary.txt"
        extra["xxe_canary"] = "XXE-CANARY-" + os.urandom(6).hex()
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(extra["xxe_canary"])
        local_feed = workdir / "local-feed.xml"
        local_feed.write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>local</title><item><title>LOCAL-FILE-READ</title>'
            f"<link>{s.url('/page/local-file-read')}</link></item></channel></rss>"
        )
        extra["local_feed"] = str(local_feed)
        urls["local_file_target"] = s.url("/page/local-file-read")
        lol = "".join(f'<!ENTITY lol{i} "{"&lol%d;" % (i - 1) * 10}">' for i in range(1, 10))
        feeds = {
            "malformed": (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken <b>feed</title>'
                          + f"<item><title>One & only</title><link>{s.url('/page/from-broken-feed')}</link></item>".encode()
                          + b"<item><title>unclosed", "application/rss+xml"),
            "html": (b"<!doctype html><html><body><h1>Not a feed</h1><a href='/page/x'>x</a></body></html>", "text/html"),
            "script": (b"<script>alert(document.cookie)</script>\nwhile(1){}", "text/plain"),
            "laughs": (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}]><rss version="2.0"><channel><title>&lol9;</title>'
                       f"<item><title>&lol9;</title><link>{s.url('/page/laughs')}</link></item></channel></rss>".encode(), "application/rss+xml"),
            "xxe": (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret_file}">]><rss version="2.0"><channel>'
                    f"<title>&xxe;</title><item><title>&xxe;</title><description>&xxe;</description><link>{s.url('/page/xxe')}?q=&xxe;</link></item>"
                    "</channel></rss>".encode(), "application/rss+xml"),
            "local_path": (str(local_feed).encode(), "application/rss+xml"),
            "bad_links": (('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                           "<item><title>js</title><link>javascript:alert(1)</link></item>"
                           "<item><title>file</title><link>file:///etc/passwd</link></item>"
                           "<item><title>data</title><link>data:text/html,hello</link></item>"
                           f"<item><title>canary</title><link>{canary.url('/from-feed')}</link></item>"
                           f"<item><title>ok</title><link>{s.url('/page/from-bad-links-feed')}</link></item>"
                           "</channel></rss>").encode(), "application/rss+xml"),
        }
        for name, (body, ctype) in feeds.items():
            urls[f"feed_{name}"] = s.fixture(f"/feeds/{name}.xml", body, content_type=ctype)
        urls["from_broken_feed"] = s.url("/page/from-broken-feed")
        urls["from_bad_links_feed"] = s.url("/page/from-bad-links-feed")
        sources.append(source_toml("feeds", feeds=[urls[f"feed_{n}"] for n in feeds]))
        # 18: hostile sitemaps
        s = web.server("sitemaps")
        gz = bomb("gzip", 200)  # 200 MiB of zeros, gzip: a sitemap bomb far over the 50 MB limit
        urls["sm_bomb"] = s.fixture("/sm/bomb.xml.gz", gz, content_type="application/gzip")
        urls["sm_big"] = s.url("/bigsitemap?mb=51")
        index = '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</sitemapindex>'
        entry = "<sitemap><loc>{}</loc></sitemap>"
        urls["sm_index_a"] = s.fixture("/sm/index-a.xml", index.format(entry.format(s.url("/sm/index-a.xml")) + entry.format(s.url("/sm/index-b.xml"))).encode(), content_type="application/xml")
        urls["sm_index_b"] = s.fixture("/sm/index-b.xml", index.format(entry.format(s.url("/sm/index-a.xml")) + entry.format(s.url("/sm/leaf.xml"))).encode(), content_type="application/xml")
        urlset = '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>'
        urls["sm_leaf"] = s.fixture("/sm/leaf.xml", urlset.format(f"<url><loc>{s.url('/page/from-leaf')}</loc></url>").encode(), content_type="application/xml")
        urls["from_leaf"] = s.url("/page/from-leaf")
        bad_locs = ["file:///etc/passwd", "javascript:alert(1)", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x"]
        urls["sm_badlocs"] = s.fixture("/sm/badlocs.xml", urlset.format(
            "".join(f"<url><loc>{html.escape(u)}</loc></url>" for u in bad_locs)
            + f"<url><loc>{canary.url('/from-sitemap')}</loc></url><url><loc>{s.url('/page/from-badlocs')}</loc></url>").encode(),
            content_type="application/xml")
        urls["from_badlocs"] = s.url("/page/from-badlocs")
        urls["sm_xxe"] = s.fixture("/sm/xxe.xml", (f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
                                                  + urlset.split("?>", 1)[1].format(f"<url><loc>{s.url('/page/sm-xxe')}?q=&xxe;</loc></url>")).encode(),
                                   content_type="application/xml")
        sources.append(source_toml("sitemaps", sitemaps=[urls[k] for k in ("sm_bomb", "sm_big", "sm_index_a", "sm_badlocs", "sm_xxe")]))
        # the host's robots.txt lists its sitemaps: they may list any of its URLs (sitemaps.org)
        s.robots = ("body", "User-agent: *\nAllow: /\n" + "".join(f"Sitemap: {urls[k]}\n" for k in ("sm_index_a", "sm_badlocs", "sm_xxe")))
        many = web.server("many")
        body = urlset.format("".join(f"<url><loc>{many.url(f'/page/many-{i}')}</loc></url>" for i in range(50_001))).encode()
        urls["sm_many"] = many.fixture("/sm/many.xml", body, content_type="application/xml")
        many.robots = ("body", f"User-agent: *\nAllow: /\nSitemap: {urls['sm_many']}\n")
        sources.append(source_toml("many", sitemaps=[urls["sm_many"]], deny=["/page/many-"]))
        # 19: dates; 27: a server whose Date and Last-Modified are bogus
        for case, spec in DATE_CASES.items():
            s = web.server(f"dates-{case}")
            ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": f"Dates {case}",
                             **({"datePublished": spec["jsonld"]} if "jsonld" in spec else {})})
            head = f"<script type='application/ld+json'>{ld}</script>"
            if "meta" in spec:
                head += f"<meta property='article:published_time' content='{spec['meta']}'>"
            urls[f"date_{case}"] = s.fixture(f"/dates/{case}", story_html(f"Dates {case}", head=head), headers=[
                ("Date", "Sat, 01 Jan 1999 00:00:00 GMT"), ("Last-Modified", "Fri, 01 Jan 2100 00:00:00 GMT")])
            item = f"<item><title>Dates {case}</title><link>{urls[f'date_{case}']}</link>"
            if "feed" in spec:
                item += f"<pubDate>{spec['feed']}</pubDate>"
            s.fixture("/dates/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>d</title>{item}</item></channel></rss>'.encode(),
                      content_type="application/rss+xml")
            keys = {"timezone": spec["timezone"]} if "timezone" in spec else {}
            sources.append(source_toml(f"dates-{case}", feeds=[s.url("/dates/feed.xml")], **keys))
        # 30: injection payloads in titles, authors, tags and URLs
        s = web.server("inject")
        for i, payload in enumerate(SQL_PAYLOADS):
            ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": payload,
                             "author": {"@type": "Person", "name": payload}, "keywords": [payload]})
            s.fixture(f"/inject/{i}", story_html(payload, head=f"<script type='application/ld+json'>{ld}</script>"
                                                   f"<meta name='author' content='{html.escape(payload, quote=True)}'>"))
            urls[f"inject_{i}"] = s.url(f"/inject/{i}?q={quote(payload, safe='')}")
        s.links = [u[len(s.base_url):] for k, u in urls.items() if k.startswith("inject_")]
        sources.append(source_toml("inject", feeds=[s.url("/feed.xml")]))

        run = scrapy_crawl(workdir, config_toml(*sources))
        for server in [*web.servers.values(), canary]:
            server.wait_idle(2)
        servers = {**web.servers, "canary": canary}
    return Battery(run, servers, urls, extra)


# -- 28: SSRF -----------------------------------------------------------------------------------

PUBLIC_IP = "93.184.215.14"  # a global address: the netstub sends its connections to a loopback stand-in
SCHEME_PAYLOADS = ["file:///etc/passwd", "ftp://127.0.0.1:{port}/x", "gopher://127.0.0.1:{port}/_x", "dict://127.0.0.1:{port}/x",
                   "data:text/html,hello"]


@dataclass
class Ssrf:
    """One SSRF run: the payload URLs by name, the canary's hits, the netstub's log."""

    run: Run
    payloads: dict[str, str]
    canary_paths: list[str]
    net: list[dict[str, Any]]

    def reached(self) -> set[str]:
        """Payload names whose path reached the canary."""
        return {name for name in self.payloads if f"/p/{name}" in self.canary_paths}


def ssrf_payloads(port: int) -> dict[str, str]:
    """SSRF payloads against a canary on 127.0.0.1:``port``: loopback spellings, private and
    special ranges, names resolving to them, and hops (redirect, meta refresh, DNS rebinding)
    from a host that looks public."""
    direct = {
        "loopback": f"127.0.0.1:{port}", "localhost": f"localhost:{port}", "short": f"127.1:{port}",
        "hex": f"0x7f000001:{port}", "decimal": f"2130706433:{port}", "octal": f"017700000001:{port}",
        "zeros": f"127.000.000.001:{port}", "unspecified": f"0.0.0.0:{port}", "ipv6_loopback": f"[::1]:{port}",
        "ipv4_mapped": f"[::ffff:127.0.0.1]:{port}", "dns_loopback": f"loopback.test:{port}",
        "private_10": "10.0.0.5", "private_192": "192.168.1.1", "private_172": "172.16.0.1", "metadata": "169.254.169.254",
        "cgnat": "100.64.0.1", "ula": "[fc00::1]", "dns_private": "intranet.test",
    }
    payloads = {name: f"http://{netloc}/p/{name}" for name, netloc in direct.items()}
    payloads.update(
        redirect="http://public.test/redir/redirect",
        redirect_private="http://public.test/redir/redirect_private",
        meta_refresh="http://public.test/meta/meta_refresh",
        rebind="http://rebind.test/p/rebind",
    )
    return payloads


def ssrf_battery(workdir: Path, *, allow_private: bool = False, dnscache: bool = True, only: list[str] | None = None) -> Ssrf:
    """``newsarchive archive PAYLOADS`` (or, for ``dnscache=False``, ``scrapy crawl urls``)
    through :mod:`tests.netstub`, against a canary on 127.0.0.1."""
    workdir.mkdir(parents=True, exist_ok=True)
    with CanaryServer() as canary, HostileServer("127.0.0.96", name="public") as public:
        port = canary.port
        payloads = ssrf_payloads(port)
        if only is not None:
            payloads = {k: v for k, v in payloads.items() if k in only}
        targets = {"redirect": f"http://127.0.0.1:{port}/p/redirect", "redirect_private": "http://10.0.0.5/p/redirect_private"}
        for name, target in targets.items():
            public.fixture(f"/redir/{name}", b"", status=302, headers=[("Location", target)])
        public.fixture("/meta/meta_refresh", story_html("Moved", head=f"<meta http-equiv='refresh' content='0; url=http://127.0.0.1:{port}/p/meta_refresh'>"))
        public.fixture("/p/rebind", story_html("The public page"))
        canary_netloc = f"127.0.0.1:{port}"
        netmap = {
            "dns": {"public.test": [PUBLIC_IP], "intranet.test": ["10.0.0.5"], "loopback.test": ["127.0.0.1"],
                    # a rebinding name: public for the guard's checks (page, then robots.txt),
                    # private for the connections that follow, if they resolve it again
                    "rebind.test": [PUBLIC_IP, PUBLIC_IP, "10.0.0.5", "10.0.0.5"]},
            "connect": {f"{PUBLIC_IP}:80": f"{public.host}:{public.port}",
                        **{f"{ip}:80": canary_netloc for ip in ("10.0.0.5", "192.168.1.1", "172.16.0.1", "169.254.169.254",
                                                               "100.64.0.1", "fc00::1")},
                        f"::1:{port}": canary_netloc, f"::ffff:127.0.0.1:{port}": canary_netloc},
            "log": str(workdir / "net.jsonl"),
        }
        (workdir / "netmap.json").write_text(json.dumps(netmap))
        stub = [sys.executable, "-m", "tests.netstub", str(workdir / "netmap.json")]
        log = workdir / "run.log"
        if dnscache:
            args = [*stub, "newsarchive", "archive", *payloads.values(), *(SCHEME_PAYLOADS if only is None else []),
                    "--db", str(workdir / "archive.db"), "--log-file", str(log), "-v"]
            if allow_private:
                args.append("--allow-private")
            args = [a.format(port=port) for a in args]
            run = run_process(args, workdir, log, env=child_env())
        else:
            args = [*stub, "scrapy", "crawl", "urls", "-a", "urls=" + " ".join(payloads.values()), "-s", f"ARCHIVE_DB={workdir / 'archive.db'}",
                    "-s", "DNSCACHE_ENABLED=False", "-s", f"LOG_FILE={log}", "-s", f"ARCHIVE_ALLOW_PRIVATE={allow_private}",
                    *(f"-s {k}={v}".split(" ", 1)[i] for k, v in TEST_SETTINGS.items() for i in (0, 1))]
            run = run_process(args, ROOT, log, env=child_env())
        run.db = workdir / "archive.db"
        canary.wait_idle(2)
        canary_paths = canary.paths()
    net_log = workdir / "net.jsonl"
    net = [json.loads(line) for line in net_log.read_text().splitlines()] if net_log.exists() else []
    return Ssrf(run, payloads, canary_paths, net)


# -- 21 and 22: kill -9 and overlapping runs -----------------------------------------------------

V1_ARCHIVE = ROOT / "tests" / "data" / "archive-v1.db"


def story_site(host: str, pages: int, delay: float = 0.05) -> HostileServer:
    """A site whose feed lists ``pages`` stories, each answered after ``delay`` seconds."""
    server = HostileServer(host, name="stories")
    server.links = [f"/page/story-{i}?delay={delay}" for i in range(pages)]
    return server


def archive_state(db: Path) -> dict[str, Any]:
    """What a drill checks after a kill: integrity, schema, and the committed rows.

    Returns ``integrity`` (``PRAGMA integrity_check``), ``migrations`` (applied names),
    ``snapshots`` (set of (canonical URL, version, content hash)), ``half_rows`` (rows whose
    references dangle: a snapshot without its capture or article, a capture whose body is
    missing, an article whose latest snapshot is missing), ``digest_mismatches`` (bodies whose
    SHA-256 differs from their key), ``duplicates`` (articles sharing a canonical URL, or
    versions of an article sharing a content hash one after the other)."""
    from archive.bodies import decompress, digest, unpack_dictionary

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        state: dict[str, Any] = {"integrity": conn.execute("PRAGMA integrity_check").fetchone()[0]}
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        state["migrations"] = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")] if "_sqlite_migrations" in tables else []
        if "snapshots" not in tables:
            state.update(snapshots=set(), half_rows=0, digest_mismatches=0, duplicates=0)
            return state
        state["snapshots"] = set(conn.execute(
            "SELECT a.canonical_url, s.version, s.content_hash FROM snapshots s JOIN articles a ON a.id = s.article_id"))
        state["half_rows"] = sum(conn.execute(sql).fetchone()[0] for sql in (
            "SELECT count(*) FROM snapshots s LEFT JOIN captures c ON c.id = s.capture_id WHERE c.id IS NULL",
            "SELECT count(*) FROM snapshots s LEFT JOIN articles a ON a.id = s.article_id WHERE a.id IS NULL",
            "SELECT count(*) FROM captures c LEFT JOIN bodies b ON b.digest = c.body_digest WHERE c.body_digest IS NOT NULL AND b.digest IS NULL",
            "SELECT count(*) FROM articles a LEFT JOIN snapshots s ON s.id = a.latest_snapshot_id WHERE a.latest_snapshot_id IS NOT NULL AND s.id IS NULL",
        ))
        mismatches = 0
        has_base = "base_digest" in {r[1] for r in conn.execute("PRAGMA table_info(bodies)")}
        columns = "digest, codec, data, base_digest" if has_base else "digest, codec, data, NULL"
        bodies = {d: (c, data, base) for d, c, data, base in conn.execute(f"SELECT {columns} FROM bodies")}  # noqa: S608
        has_dictionaries = "dictionary_id" in {r[1] for r in conn.execute("PRAGMA table_info(bodies)")}
        for key, (codec, data, base) in bodies.items():
            try:
                base_bytes = decompress(bodies[base][0], bodies[base][1], None) if codec == "zstd-delta" else None
                dictionary = None
                if codec == "zstd-dict" and has_dictionaries:
                    (stored,) = conn.execute(
                        "SELECT d.data FROM bodies b JOIN dictionaries d ON d.id = b.dictionary_id WHERE b.digest = ?", [key]).fetchone()
                    dictionary = unpack_dictionary(stored)
                if digest(decompress(codec, data, base_bytes, dictionary)) != key:
                    mismatches += 1
            except Exception:  # noqa: BLE001 - an unreadable body is a mismatch
                mismatches += 1
        state["digest_mismatches"] = mismatches
        state["duplicates"] = conn.execute(
            "SELECT count(*) - count(DISTINCT canonical_url) FROM articles").fetchone()[0] + conn.execute(
            "SELECT count(*) FROM snapshots a JOIN snapshots b ON b.article_id = a.article_id AND b.version = a.version + 1 "
            "AND b.content_hash = a.content_hash").fetchone()[0]
        return state
    finally:
        conn.close()


@dataclass
class KillReport:
    """The outcome of a kill -9 drill: one dict per kill point, and the final resume."""

    points: list[dict[str, Any]]
    final: dict[str, Any]
    pages: int

    @property
    def integrity_ok(self) -> int:
        return sum(1 for p in self.points if p["integrity"] == "ok")

    @property
    def lost(self) -> int:
        return sum(p["lost"] for p in self.points)

    @property
    def mixed_schemas(self) -> int:
        return sum(1 for p in self.points if p.get("mixed_schema"))


def kill_drill(workdir: Path, points: int, seed: int, *, pages: int = 40, host: str = "127.0.0.98") -> KillReport:
    """kill -9 at ``points`` seeded random moments (reliability.md, scenario 21).

    Most points kill ``newsarchive crawl`` at a random moment of its run (start-up, fetching,
    each capture's commit, the WAL checkpoint at close) on one archive, which each next run
    resumes; every fifth point kills ``newsarchive stats`` opening a fresh copy of the
    0.1.0 archive at a random moment of its start-up, migration included. After each kill:
    integrity_check, no committed snapshot lost, no half-written row, digests match, the
    schema is all old or all new. At the end a crawl runs to completion: every page one
    article, no duplicates."""
    import random
    import shutil

    from archive.migrations import migrations as known

    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "archive.db"
    all_migrations = [m.name for m in known._migrations]
    results: list[dict[str, Any]] = []
    committed: set = set()
    with story_site(host, pages) as site:
        config = workdir / "sources.toml"
        config.write_text(config_toml(source_toml("stories", feeds=[site.url("/feed.xml")])))
        crawl = [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(db), "-q"]
        for point in range(points):
            if point % 5 == 4:
                copy = workdir / f"migrate-{point}.db"
                shutil.copy(V1_ARCHIVE, copy)
                before = archive_state(copy)
                when = rng.uniform(0.2, 1.6)
                process = subprocess.Popen([sys.executable, "-m", "newsarchive", "stats", "--db", str(copy)], cwd=workdir,
                                           env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(when)
                process.send_signal(signal.SIGKILL)
                process.wait()
                state = archive_state(copy)
                applied = state["migrations"]
                mixed = applied not in (before["migrations"], all_migrations)
                lost = len(before["snapshots"] - state["snapshots"])
                results.append({"phase": "migration", "at": round(when, 3), "integrity": state["integrity"], "lost": lost,
                                "half_rows": state["half_rows"], "digest_mismatches": state["digest_mismatches"],
                                "mixed_schema": mixed, "migrated": applied == all_migrations})
                copy.unlink()
                for suffix in ("-wal", "-shm"):
                    Path(f"{copy}{suffix}").unlink(missing_ok=True)
                continue
            when = rng.uniform(0.3, 3.2)
            process = subprocess.Popen(crawl, cwd=workdir, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(when)
            finished = process.poll() is not None
            process.send_signal(signal.SIGKILL)
            process.wait()
            state = archive_state(db) if db.exists() else {"integrity": "ok", "snapshots": set(), "half_rows": 0,
                                                          "digest_mismatches": 0, "duplicates": 0, "migrations": []}
            lost = len(committed - state["snapshots"])
            committed |= state["snapshots"]
            results.append({"phase": "crawl" if not finished else "after the crawl", "at": round(when, 3),
                            "integrity": state["integrity"], "lost": lost, "half_rows": state["half_rows"],
                            "digest_mismatches": state["digest_mismatches"], "duplicates": state["duplicates"],
                            "committed": len(state["snapshots"])})
        final_run = run_process(crawl, workdir, env=child_env())
        final = archive_state(db)
        final["returncode"] = final_run.returncode
        final["lost"] = len(committed - final["snapshots"])
        conn = sqlite3.connect(db)
        final["articles"] = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        final["snapshots_count"] = conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
        final["crawl_statuses"] = [r[0] for r in conn.execute("SELECT status FROM crawls ORDER BY id")]
        conn.close()
    return KillReport(results, final, pages)


def create_archive(db: Path) -> None:
    """Create (or upgrade) the archive at ``db`` and close it."""
    from archive.database import Archive

    Archive.open(db).close()


@dataclass
class Overlap:
    """Scenario 22: ``newsarchive crawl`` started five times at once, and three unwrapped
    ``scrapy crawl`` writers at once."""

    wrapped_codes: list[int]
    wrapped_crawls: int
    raw_codes: list[int]
    raw_locked_messages: int
    raw_articles: int
    raw_snapshots: int
    raw_duplicates: int
    pages: int


def overlap_drill(workdir: Path, *, pages: int = 8, host: str = "127.0.0.99") -> Overlap:
    """Five ``newsarchive crawl`` started at once on one archive (the lock lets one run), and at
    the same time three ``scrapy crawl news`` writing to another archive together, told that
    the lock is held (``ARCHIVE_LOCK_HELD``: writers without the lock, which must wait for
    each other, never fail or duplicate)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with story_site(host, pages, delay=0.05) as site:
        config = workdir / "sources.toml"
        config.write_text(config_toml(source_toml("stories", feeds=[site.url("/feed.xml")])))
        wrapped_db, raw_db = workdir / "wrapped.db", workdir / "raw.db"
        create_archive(raw_db)  # an existing archive, as under cron
        args = [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(wrapped_db), "-q"]
        logs = [workdir / f"raw-{i}.log" for i in range(3)]
        raw = [subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"config={config}", "-s", f"ARCHIVE_DB={raw_db}",
             "-s", f"LOG_FILE={log}", "-s", "LOG_LEVEL=INFO", "-s", "ARCHIVE_LOCK_HELD=True"], cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE) for log in logs]
        starts = [subprocess.Popen(args, cwd=workdir, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(5)]
        codes = [p.wait(timeout=300) for p in starts]
        for p in starts:
            p.stdout.close()
            p.stderr.close()
        conn = sqlite3.connect(wrapped_db)
        crawls = conn.execute("SELECT count(*) FROM crawls").fetchone()[0]
        conn.close()
        raw_codes = [p.wait(timeout=300) for p in raw]
        errors = "".join(p.stderr.read().decode(errors="replace") for p in raw) + "".join(log.read_text() for log in logs)
        for p in raw:
            p.stderr.close()
    conn = sqlite3.connect(raw_db)
    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    snapshots = conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    conn.close()
    state = archive_state(raw_db)
    return Overlap(codes, crawls, raw_codes, errors.lower().count("database is locked"), articles, snapshots,
                   state["duplicates"], pages)


# -- 26: re-running a crawl -------------------------------------------------------------------------


def idempotence_drill(workdir: Path, *, pages: int = 8, host: str = "127.0.0.103") -> dict[str, int]:
    """Crawl a site with ETag/304 support three times: unchanged, then with one story edited.

    Returns the snapshots made by each run (``first``, ``second``, ``third``), the 304
    answers of the second and third runs, and the conditional GETs the server saw."""
    from demo.replay import ReplayPage, ReplaySite

    workdir.mkdir(parents=True, exist_ok=True)
    stories = [ReplayPage(path=f"/story/{i}", body=story_html(f"Story {i}", text=f"Story {i} is about the harbour. " * 12),
                          original_url=f"https://news.example/story/{i}", title=f"Story {i}") for i in range(pages)]
    db = workdir / "archive.db"
    counts: dict[str, int] = {}
    with ReplaySite("stories", stories, host=host, conditional=True) as site:
        config = workdir / "sources.toml"
        config.write_text(config_toml(source_toml("stories", feeds=[site.url("/feed.xml")])))
        args = [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(db), "-q"]
        for run in ("first", "second", "third"):
            if run == "third":
                site.edit("/story/3", "Story 3 is about the harbour.", "Story 3 is about the new harbour.")
            result = run_process(args, workdir, env=child_env())
            conn = sqlite3.connect(db)
            crawl_id = conn.execute("SELECT max(id) FROM crawls").fetchone()[0]
            counts[run] = conn.execute("SELECT count(*) FROM snapshots s JOIN captures c ON c.id = s.capture_id WHERE c.crawl_id = ?",
                                       [crawl_id]).fetchone()[0]
            counts[f"{run}_304"] = conn.execute("SELECT count(*) FROM captures WHERE crawl_id = ? AND status = 304", [crawl_id]).fetchone()[0]
            counts[f"{run}_exit"] = result.returncode
            conn.close()
        counts["conditional_gets"] = sum(1 for r in site.requests if "If-None-Match" in r["headers"])
    counts["pages"] = pages
    return counts


# -- 5 and 6: memory -------------------------------------------------------------------------------


def rss_drill(workdir: Path, *, bombs=("gzip", "deflate", "br", "zstd", "gzip,br", "zstd,deflate")) -> dict[str, Any]:
    """Peak RSS of a crawl of every bomb and huge body (and a gzip sitemap bomb), against a
    crawl of one small page. Returns ``baseline_mib``, ``hostile_mib``, ``refused`` (failure
    rows) and ``inputs``."""
    with HostileServer("127.0.0.90", name="bombs") as hostile, HostileServer("127.0.0.91", name="plain") as plain:
        plain.links = ["/page/plain"]
        baseline = scrapy_crawl(workdir / "baseline", config_toml(source_toml("plain", feeds=[plain.url("/feed.xml")])))
        hostile.links = [f"/bomb?enc={e}&mb=200" for e in bombs] + ["/huge?mb=200", "/huge?mb=200&length=1", "/endless", "/textnode?mb=50"]
        sitemap = hostile.fixture("/sitemap-bomb.xml.gz", bomb("gzip", 200), content_type="application/gzip")
        crawl = scrapy_crawl(workdir / "bombs", config_toml(source_toml("bombs", feeds=[hostile.url("/feed.xml")], sitemaps=[sitemap])))
    return {
        "baseline_mib": baseline.peak_rss_mib,
        "hostile_mib": crawl.peak_rss_mib,
        "refused": crawl.value("SELECT count(*) FROM failures WHERE kind IN ('too_large', 'bad_sitemap')"),
        "inputs": len(hostile.links) + 1,
        "returncodes": (baseline.returncode, crawl.returncode),
        "tracebacks": crawl.tracebacks(),
    }


# -- 31 and 32: exports and secrets -----------------------------------------------------------------

HOSTILE_TITLES = ["../../../../tmp/evil", "..\\..\\windows\\evil", "/etc/passwd", "a/b/../../c", "con.txt", "x\x00y", "~/.bashrc"]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def traversal_drill(workdir: Path) -> dict[str, Any]:
    """Stories with path-like titles archived, then exported into ``out/``; ``--out`` given
    symbolic links (dangling, and to an existing file) for ``export-warc`` and ``backup``.

    Returns ``names`` (hostile names tried), ``outside`` (files that appeared anywhere but the
    export), ``archived``, ``export_exit``, ``link_refusals`` / ``link_cases``, ``through_links``
    (files created or changed through a link)."""
    workdir.mkdir(parents=True, exist_ok=True)
    work, out, outside_dir = workdir / "work", workdir / "out", workdir / "outside"
    out.mkdir()
    outside_dir.mkdir()
    with HostileServer("127.0.0.102", name="titles") as site:
        urls = [site.fixture(f"/t/{i}", story_html(title)) for i, title in enumerate(HOSTILE_TITLES)]
        archived = newsarchive(work, "archive", *urls, "--allow-private")
    before = _tree(workdir)
    export = newsarchive(work, "export-warc", "--out", out / "export.warc.gz")
    appeared = _tree(workdir) - before - {"out/export.warc.gz"}
    precious = outside_dir / "precious.txt"
    precious.write_text("keep me")
    refusals = cases = 0
    for command in ("export-warc", "backup"):
        suffix = ".warc.gz" if command == "export-warc" else ".db"
        dangling = workdir / f"{command}-dangling{suffix}"
        dangling.symlink_to(outside_dir / f"created-by-{command}{suffix}")
        to_existing = workdir / f"{command}-existing{suffix}"
        to_existing.symlink_to(precious)
        for link in (dangling, to_existing):
            cases += 1
            run = newsarchive(work, command, "--out", link)
            refusals += run.returncode == 2 and "exists" in run.stderr
    through = sorted(p.name for p in outside_dir.iterdir() if p.name != "precious.txt") + (
        [] if precious.read_text() == "keep me" else ["precious.txt (changed)"])
    return {
        "names": len(HOSTILE_TITLES), "archived": archived.value("SELECT count(*) FROM snapshots"), "archive_exit": archived.returncode,
        "export_exit": export.returncode, "outside": sorted(appeared), "link_cases": cases, "link_refusals": refusals,
        "through_links": through, "tmp_evil": Path("/tmp/evil").exists(),
    }


def secrets_drill(workdir: Path, secret: str) -> dict[str, Any]:
    """A password (``secret``) in a URL given to ``archive``, in links of a feed, and in a
    config file: it must not reach a log, the archive, its WAL or an export.

    Returns the exit statuses, whether the linked page was fetched without credentials, and
    ``occurrences``: files and outputs that contain the secret."""
    workdir.mkdir(parents=True, exist_ok=True)
    with HostileServer("127.0.0.97", name="secrets") as site:
        site.links = [site.url("/page/linked").replace("http://", f"http://reader:{secret}@"), "/page/plain"]
        given = site.url("/page/given").replace("http://", f"http://reader:{secret}@")
        archived = newsarchive(workdir / "a", "archive", given, "--allow-private", "-vv")
        (workdir / "b").mkdir(parents=True, exist_ok=True)
        (workdir / "b" / "sources.toml").write_text(config_toml(source_toml("secrets", feeds=[site.url("/feed.xml")])))
        crawled = newsarchive(workdir / "b", "crawl", "--config", workdir / "b" / "sources.toml", "-vv")
        (workdir / "c").mkdir(parents=True, exist_ok=True)
        (workdir / "c" / "bad.toml").write_text(f'[[source]]\nname = "x"\nfeeds = ["{given}"]\n')
        refused = newsarchive(workdir / "c", "crawl", "--config", workdir / "c" / "bad.toml")
        exported = newsarchive(workdir / "b", "export-warc", "--out", workdir / "b" / "export.warc.gz")
    linked = [h for h in site.hits if h.path == "/page/linked"]
    occurrences = [f"output of {name}" for name, run in (("archive", archived), ("crawl", crawled), ("bad config", refused),
                                                          ("export", exported)) if secret in run.stdout + run.stderr + run.log]
    for path in workdir.rglob("*"):  # logs, archive, WAL, lock, exports; config files are the user's input
        if path.is_file() and path.suffix != ".toml" and secret.encode() in path.read_bytes():
            occurrences.append(str(path.relative_to(workdir)))
    return {
        "archive_exit": archived.returncode, "archive_says": archived.stdout.strip(), "crawl_exit": crawled.returncode,
        "config_exit": refused.returncode, "export_exit": exported.returncode,
        "linked_without_credentials": bool(linked) and "Authorization" not in linked[0].headers,
        "occurrences": occurrences,
    }


def tls_drill(workdir: Path) -> dict[str, Any]:
    """A loopback HTTPS site with a self-signed certificate: refused by default; the control
    (``DOWNLOAD_VERIFY_CERTIFICATES = False``) fetches it, so the site itself works."""
    from tests.hostile import self_signed_certificate

    workdir.mkdir(parents=True, exist_ok=True)
    cert = self_signed_certificate(workdir, "127.0.0.101")
    with HostileServer("127.0.0.101", name="tls", tls=cert) as site:
        url = site.url("/page/secure")
        refused = newsarchive(workdir / "verify", "archive", url, "--allow-private")
        site.wait_idle(2)
        refused_hits = [h.path for h in site.hits]
        control = run_process(
            [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={url}", "-s", f"ARCHIVE_DB={workdir / 'control.db'}",
             "-s", "ARCHIVE_ALLOW_PRIVATE=True", "-s", "DOWNLOAD_VERIFY_CERTIFICATES=False", "-s", "LOG_LEVEL=ERROR"],
            ROOT, env=child_env())
    control.db = workdir / "control.db"
    return {
        "refused_exit": refused.returncode, "failures": refused.rows("SELECT kind, message FROM failures"),
        "captures": refused.value("SELECT count(*) FROM captures"), "refused_hits": refused_hits,
        "control_exit": control.returncode, "control_outcome": control.value("SELECT outcome FROM captures WHERE url = ?", [url]),
    }


# -- 24 and 25: disk full, schema upgrade ------------------------------------------------------------


def disk_full_points(db: Path, points: int) -> dict[str, int]:
    """SQLITE_FULL injected with ``PRAGMA max_page_count`` (per connection) at ``points`` points
    of a growing archive: each write of an incompressible body either commits whole or raises
    StorageError; then, with room again, the same write is retried.

    Returns ``points``, ``full`` (writes refused for want of space), ``clean`` (of those, the
    archive's counts unchanged and integrity ok), ``recovered`` (retried with room: stored),
    ``corrupt`` (integrity_check not ok, at any point)."""
    from archive.records import CaptureRecord, SnapshotRecord
    from archive.database import Archive, StorageError
    from pipelines.content import content_hash

    full = clean = recovered = corrupt = 0
    with Archive.open(db) as archive:
        crawl = archive.start_crawl("crawl")
        for point in range(points):
            body = os.urandom(20_000 + 7_000 * (point % 12))  # incompressible: it needs new pages
            url = f"http://x.example/story/{point}"
            text = f"Story {point}. " + body[:64].hex()
            capture = CaptureRecord(url=url, final_url=url, fetched_at="2026-11-29T12:00:00Z", status=200, body=body, site="x")
            snapshot = SnapshotRecord(canonical_url=url, content_hash=content_hash(f"T{point}", text), title=f"T{point}",
                                      text=text, extractor="t")
            used = archive.db.execute("PRAGMA page_count").fetchone()[0]
            before = archive.counts()
            archive.db.execute(f"PRAGMA max_page_count = {used + point % 4}")
            try:
                archive.record_capture(crawl, capture, snapshot)
            except StorageError:
                full += 1
                ok = archive.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                clean += ok and archive.counts() == before
                corrupt += not ok
                archive.db.execute("PRAGMA max_page_count = 1073741823")
                archive.record_capture(crawl, capture, snapshot)
                recovered += archive.counts()["snapshots"] == before["snapshots"] + 1
            archive.db.execute("PRAGMA max_page_count = 1073741823")
        corrupt += archive.db.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
    return {"points": points, "full": full, "clean": clean, "recovered": recovered, "corrupt": corrupt}


def hanging_migration_kill(db: Path, migration: str, workdir: Path) -> None:
    """Open ``db`` in a subprocess whose ``migration`` hangs after doing its work (inside the
    upgrade's transaction), and kill -9 it there."""
    flag = workdir / f"in-{migration}"
    script = (
        "import time\n"
        "from archive.migrations import migrations\n"
        f"step = next(m for m in migrations._migrations if m.name == {migration!r})\n"
        "real = step.fn\n"
        "def hanging(db):\n"
        "    real(db)\n"
        f"    open({str(flag)!r}, 'w').close()\n"
        "    time.sleep(60)\n"
        "step.fn = hanging\n"
        "from archive.database import Archive\n"
        f"Archive.open({str(db)!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=child_env())
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if not flag.exists():
        raise RuntimeError(f"migration {migration} never ran")


def upgrade_drill(workdir: Path) -> dict[str, Any]:
    """The 0.1.0 archive (tests/data/archive-v1.db) upgraded: rows and content hashes as
    recorded in archive-v1.json, a second open a no-op, a kill -9 inside each later
    migration, and an archive of a newer schema refused and left as it was.

    Returns ``identical`` (counts and hashes as recorded), ``second_noop``, ``kills``,
    ``mixed`` (kills that left anything but the old schema, whole), ``after_kill_upgrades``
    (kills after which a normal open upgraded fully with rows intact), ``newer_refused``."""
    import shutil

    from archive.migrations import migrations
    from archive.database import Archive

    workdir.mkdir(parents=True, exist_ok=True)
    expected = json.loads((ROOT / "tests" / "data" / "archive-v1.json").read_text())
    all_names = [m.name for m in migrations._migrations]
    result: dict[str, Any] = {"migrations": all_names}
    db = workdir / "upgraded.db"
    shutil.copy(V1_ARCHIVE, db)
    with Archive.open(db) as archive:
        counts = {t: archive.counts()[t] for t in expected["counts"]}
        hashes = [r["content_hash"] for r in archive.db.query("SELECT content_hash FROM snapshots ORDER BY id")]
        applied = [m.name for m in migrations.applied(archive.db)]
    result["identical"] = counts == expected["counts"] and hashes == expected["content_hashes"] and applied == all_names
    before = db.read_bytes()
    with Archive.open(db) as archive:
        result["second_noop"] = [m.name for m in migrations.applied(archive.db)] == applied
    result["second_unchanged_bytes"] = db.read_bytes() == before
    old = archive_state(V1_ARCHIVE)
    kills = mixed = upgraded = 0
    for name in all_names:
        if name in expected["migrations"]:
            continue
        copy = workdir / f"kill-{name}.db"
        shutil.copy(V1_ARCHIVE, copy)
        hanging_migration_kill(copy, name, workdir)
        kills += 1
        state = archive_state(copy)
        mixed += not (state["integrity"] == "ok" and state["migrations"] == old["migrations"] and state["snapshots"] == old["snapshots"])
        with Archive.open(copy) as archive:
            done = [m.name for m in migrations.applied(archive.db)] == all_names
        upgraded += done and archive_state(copy)["snapshots"] == old["snapshots"]
    result.update(kills=kills, mixed=mixed, after_kill_upgrades=upgraded)
    future = workdir / "future.db"
    Archive.open(future).close()
    conn = sqlite3.connect(future)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('newsarchive', 'm999_future', 'x')")
    conn.commit()
    conn.close()
    untouched = future.read_bytes()
    refused = newsarchive(workdir, "stats", db="future.db")
    result["newer_refused"] = refused.returncode == 4 and "newer newsarchive" in refused.stderr and future.read_bytes() == untouched
    return result


def listening_sockets(pid: int) -> list[str]:
    """TCP sockets in LISTEN state owned by ``pid`` (read from /proc, as ``ss -ltnp`` does)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:
                found.append(fields[1])
    return found


def listening_drill(workdir: Path) -> dict[str, Any]:
    """A crawl kept busy by a host that never answers: which ports does it listen on?
    (Scrapy's telnet console would; newsarchive turns it and remote control off.)"""
    workdir.mkdir(parents=True, exist_ok=True)
    with HostileServer("127.0.0.100", name="slow") as site:
        site.links = ["/silent"]
        config = workdir / "sources.toml"
        config.write_text(config_toml(source_toml("slow", feeds=[site.url("/feed.xml")])))
        process = subprocess.Popen([sys.executable, "-m", "newsarchive", "crawl", "--config", str(config), "--db", str(workdir / "a.db")],
                                   cwd=workdir, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not site.hits_for("/silent") and time.monotonic() < deadline:
                time.sleep(0.05)
            running = bool(site.hits_for("/silent"))
            listening = listening_sockets(process.pid)
        finally:
            process.kill()
            process.wait()
    return {"running": running, "listening": listening}


def byte_exact_drill(db: Path) -> dict[str, Any]:
    """Hostile values (SQL payloads, Unicode controls, NUL, CR LF) written through the archive
    layer into every kind of field (URL, site, header, title, text, authors, tags, failure kind
    and message, crawl command and config), then read back.

    Returns ``values``, ``exact`` (fields read back byte for byte, of ``fields``) and
    ``schema_same`` (the schema equals a fresh archive's)."""
    from archive.records import CaptureRecord, SnapshotRecord
    from archive.database import Archive
    from pipelines.content import content_hash

    values = [*SQL_PAYLOADS, "Ünïcødé \u202e RTL 📰", "nul\x00inside", "'; DROP TABLE snapshots; --\r\n"]
    exact = fields = 0
    with Archive.open(db) as archive:
        crawl = archive.start_crawl("crawl'; DROP TABLE crawls; --", "config ' \" ; --")
        for i, value in enumerate(values):
            url = f"http://x.example/{i}?q=" + value.encode().hex()
            capture = CaptureRecord(url=url, final_url=url, fetched_at="2026-11-29T12:00:00Z", status=200,
                                    body=value.encode(), site=value, response_headers={"X-Value": value})
            snapshot = SnapshotRecord(canonical_url=url, content_hash=content_hash(value, value), title=value, text=value,
                                      extractor=value, authors=[value], tags=[value], description=value)
            result = archive.record_capture(crawl, capture, snapshot)
            archive.record_failure(crawl, url, value, value)
            row = next(archive.db.query("SELECT * FROM snapshots WHERE id = ?", [result.snapshot_id]))
            got = [row["title"], row["text"], row["description"], row["extractor"], json.loads(row["authors"])[0], json.loads(row["tags"])[0]]
            cap = next(archive.db.query("SELECT * FROM captures WHERE id = ?", [result.capture_id]))
            got += [cap["site"], json.loads(cap["response_headers"])["X-Value"], archive.read_body(cap["body_digest"]).decode()]
            fail = next(archive.db.query("SELECT kind, message FROM failures ORDER BY id DESC LIMIT 1"))
            got += [fail["kind"], fail["message"]]
            fields += len(got)
            exact += sum(1 for g in got if g == value)
        last = archive.last_crawl()
        fields += 2
        exact += (last["command"] == "crawl'; DROP TABLE crawls; --") + (last["config"] == "config ' \" ; --")
    fresh = db.parent / "fresh-schema.db"
    Archive.open(fresh).close()
    same = schema_of(db) == schema_of(fresh)
    return {"values": len(values), "fields": fields, "exact": exact, "schema_same": same}


def schema_of(db: Path) -> list[tuple[str, str]]:
    """``(name, sql)`` of every object in the schema of ``db``, sorted (a schema diff)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return sorted((r[0], r[1] or "") for r in conn.execute("SELECT name, sql FROM sqlite_master"))
    finally:
        conn.close()
