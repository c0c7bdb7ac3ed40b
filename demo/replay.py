"""A replay web: real news pages served from loopback HTTP servers, one server per site.

Each site is served on its own loopback address (127.0.0.2, 127.0.0.3, ...: all of
127.0.0.0/8 is loopback) with a generated home page, a section page, an RSS feed, a
sitemap and a robots.txt pointing at its pages. Each page is served under the path of
its original URL, byte for byte, except that its ``rel=canonical``/``og:url`` are
rewritten to the local address (the original URL stays in :attr:`ReplayPage.original_url`).

The servers can edit a page (replace a sentence), add per-request noise outside the
story (as real sites do: ad slots, timestamps, tokens), answer with any status for a
path, and log every request with its time and headers. Used by ``make demo`` and the
tests; never reaches beyond loopback.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CANONICAL_TAGS = re.compile(
    rb"<(?:link[^>]+rel=[\"']?canonical|meta[^>]+(?:property|name)=[\"']?og:url)[^>]*>", re.IGNORECASE
)
ABSOLUTE_ORIGIN = re.compile(rb"https?://[^/\"'\s>]+")


@dataclass
class ReplayPage:
    """One real page to serve.

    Attributes:
        path: local path (the original URL's path and query).
        body: the page's bytes as stored upstream.
        original_url: the URL it was saved from.
        title / published: for the generated feed, sitemap and section pages.
        strip_canonical: serve it without ``rel=canonical``/``og:url``.
        origin: where the page comes from (data set and folder), and its licence.
    """

    path: str
    body: bytes
    original_url: str
    title: str | None = None
    published: str | None = None
    strip_canonical: bool = False
    origin: dict[str, Any] = field(default_factory=dict)


def local_path(url: str) -> str:
    """The path (and query) under which a page saved from ``url`` is served."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path == "/":
        path = "/index"
    return path + (f"?{parts.query}" if parts.query else "")


class ReplaySite:
    """One site: a ThreadingHTTPServer on a loopback address, serving pages and generated fronts.

    Args:
        name: the site's name (used as the source name).
        pages: the pages to serve.
        host: a loopback address.
        robots_txt: the robots.txt body, ``{base}`` replaced by the site's base URL.
        noise: add per-request noise outside the story to every page.
        conditional: send ETag/Last-Modified for pages and answer 304 to a conditional GET
            for an unchanged page (the ETag follows the page's edits, not the noise).
    """

    def __init__(
        self,
        name: str,
        pages: list[ReplayPage],
        host: str = "127.0.0.1",
        *,
        robots_txt: str = "User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n",
        noise: bool = False,
        conditional: bool = False,
    ) -> None:
        self.name = name
        self.host = host
        self.pages = {p.path: p for p in pages}
        self.robots_txt = robots_txt
        self.noise = noise
        #: answer conditional GETs: an ETag and a Last-Modified per page version, and 304
        self.conditional = conditional
        self.edits: dict[str, list[tuple[bytes, bytes]]] = {}
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.once: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        #: more links for the home and section pages and the feed (absolute, or paths)
        self.extra_links: list[str] = []
        self.requests: list[dict[str, Any]] = []
        #: seconds each answer takes (so that overlapping requests can be seen)
        self.latency = 0.0
        #: requests being answered now, and the most there ever were at once
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> ReplaySite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"replay-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ReplaySite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the site first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- changes -------------------------------------------------------------------

    def edit(self, path: str, old: str | bytes, new: str | bytes) -> None:
        """Serve ``path`` with ``old`` replaced by ``new`` (both must be in the page's bytes)."""
        old_b = old.encode() if isinstance(old, str) else old
        new_b = new.encode() if isinstance(new, str) else new
        if old_b not in self.pages[path].body:
            raise ValueError(f"{old!r} is not in {path}")
        self.edits.setdefault(path, []).append((old_b, new_b))

    def route(self, path: str, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Answer ``path`` with this status, body and headers."""
        self.routes[path] = (status, headers or {}, body)

    def route_once(self, path: str, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Answer the next request for ``path`` so, and later ones as before."""
        self.once.setdefault(path, []).append((status, headers or {}, body))

    # -- serving ---------------------------------------------------------------------

    def page_bytes(self, page: ReplayPage, serial: int = 0) -> bytes:
        """The bytes served for a page: canonical links made local, edits and noise applied."""
        body = page.body
        base = self.base_url.encode()
        if page.strip_canonical:
            body = CANONICAL_TAGS.sub(b"", body)
        else:
            body = CANONICAL_TAGS.sub(lambda m: ABSOLUTE_ORIGIN.sub(base, m.group(0)), body)
        for old, new in self.edits.get(page.path, []):
            body = body.replace(old, new)
        if self.noise:
            token = f"{serial}-{time.time_ns()}".encode()
            noise = (
                b'<div class="ad-slot" data-request="' + token + b'">Advertisement ' + token + b"</div>"
                b"<script>window.__ts='" + token + b"';</script>"
            )
            body = re.sub(rb"</body>", lambda m: noise + m.group(0), body, count=1, flags=re.IGNORECASE)
        return body

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            serial = len(self.requests)
            self.requests.append(
                {"time": time.monotonic(), "path": handler.path, "headers": dict(handler.headers.items())}
            )
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            self._answer(handler, serial)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, handler: BaseHTTPRequestHandler, serial: int) -> None:
        status, headers, body = self._response(handler.path, serial, handler.headers)
        handler.send_response(status)
        headers.setdefault("Content-Type", "text/html")
        headers["Content-Length"] = str(len(body))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _response(self, path: str, serial: int, request_headers=None) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            if self.once.get(path):
                status, headers, body = self.once[path].pop(0)
                return status, dict(headers), body
        if path in self.routes:
            status, headers, body = self.routes[path]
            return status, dict(headers), body
        # like real sites, ignore query parameters a page does not use (utm_source=...)
        page = self.pages.get(path) or self.pages.get(path.split("?", 1)[0])
        if page is not None:
            headers = {"Content-Type": "text/html"}
            if self.conditional:
                etag, modified = self._version(page)
                headers.update({"ETag": etag, "Last-Modified": modified})
                if request_headers is not None and request_headers.get("If-None-Match") == etag:
                    return 304, {"ETag": etag}, b""
            return 200, headers, self.page_bytes(page, serial)
        generated = {
            "/": self.home_page,
            "/section/news": self.section_page,
            "/feed.xml": self.feed,
            "/sitemap.xml": self.sitemap,
            "/sitemap_index.xml": self.sitemap_index,
            "/sitemap-pages.xml.gz": lambda: gzip.compress(self.sitemap(half=0), mtime=0),
            "/news-sitemap.xml": lambda: self.sitemap(half=1, news=True),
            "/robots.txt": lambda: self.robots_txt.replace("{base}", self.base_url).encode(),
        }
        if path in generated:
            kind = {
                "/feed.xml": "application/rss+xml", "/robots.txt": "text/plain",
                "/sitemap-pages.xml.gz": "application/gzip",
            }
            default = "application/xml" if "sitemap" in path else "text/html; charset=utf-8"
            return 200, {"Content-Type": kind.get(path, default)}, generated[path]()
        return 404, {"Content-Type": "text/html"}, b"<html><body><h1>Not found</h1></body></html>"

    def _version(self, page: ReplayPage) -> tuple[str, str]:
        """ETag and Last-Modified of a page's current version (its edits count, noise does not)."""
        edits = self.edits.get(page.path, [])
        etag = '"' + hashlib.sha256(page.body + repr(edits).encode()).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(1_500_000_000 + 3600 * len(edits), usegmt=True)
        return etag, modified

    # -- generated fronts ------------------------------------------------------------

    def _targets(self) -> list[tuple[str, str]]:
        """(href, title) of every page and extra link."""
        return [(p.path, p.title or p.path) for p in self.pages.values()] + [(u, u) for u in self.extra_links]

    def _links(self) -> str:
        return "\n".join(f'<li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in self._targets())

    def home_page(self) -> bytes:
        return (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(self.name)}</title>"
            f"<meta property='og:type' content='website'></head><body><h1>{html.escape(self.name)}</h1>"
            f"<nav><a href='/section/news'>News</a></nav><h2>Top stories</h2><ul>{self._links()}</ul></body></html>"
        ).encode()

    def section_page(self) -> bytes:
        return (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>News | {html.escape(self.name)}</title>"
            f"<meta property='og:type' content='website'></head><body><h1>News</h1><ul>{self._links()}</ul></body></html>"
        ).encode()

    def feed(self) -> bytes:
        items = []
        for p in self.pages.values():
            date = ""
            if p.published:
                try:
                    from dateutil.parser import isoparse

                    moment = isoparse(p.published)
                    if moment.tzinfo is not None:
                        date = f"<pubDate>{email.utils.format_datetime(moment)}</pubDate>"
                except ValueError:
                    pass
            items.append(
                f"<item><title>{html.escape(p.title or p.path)}</title><link>{html.escape(self.url(p.path))}</link>"
                f"<guid>{html.escape(self.url(p.path))}</guid>{date}</item>"
            )
        for link in self.extra_links:
            absolute = link if "://" in link else self.url(link)
            items.append(f"<item><title>{html.escape(link)}</title><link>{html.escape(absolute)}</link></item>")
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{html.escape(self.name)}</title>'
            f"<link>{self.base_url}/</link><description>Latest stories</description>{''.join(items)}</channel></rss>"
        ).encode()

    def sitemap(self, half: int | None = None, news: bool = False) -> bytes:
        """A urlset of the pages (``half`` 0 or 1: every other page), as a Google News
        sitemap with publication dates and titles when ``news``."""
        pages = list(self.pages.values())
        if half is not None:
            pages = pages[half::2]
        urls = []
        for p in pages:
            extra = ""
            if news:
                extra = (
                    "<news:news><news:publication><news:name>" + html.escape(self.name) + "</news:name>"
                    "<news:language>en</news:language></news:publication>"
                    + (f"<news:publication_date>{html.escape(p.published)}</news:publication_date>" if p.published else "")
                    + f"<news:title>{html.escape(p.title or p.path)}</news:title></news:news>"
                )
            urls.append(f"<url><loc>{html.escape(self.url(p.path))}</loc>{extra}</url>")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{"".join(urls)}</urlset>'
        ).encode()

    def sitemap_index(self) -> bytes:
        """A sitemap index of a gzip sitemap (half the pages) and a news sitemap (the other half)."""
        children = "".join(
            f"<sitemap><loc>{self.url(path)}</loc></sitemap>" for path in ("/sitemap-pages.xml.gz", "/news-sitemap.xml")
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
        ).encode()

    def request_paths(self) -> list[str]:
        with self._lock:
            return [r["path"] for r in self.requests]

    def request_times(self, path: str | None = None) -> list[float]:
        """Monotonic arrival times of the requests (for ``path`` only, if given)."""
        with self._lock:
            return [r["time"] for r in self.requests if path is None or r["path"] == path]


class ReplayWeb:
    """Several :class:`ReplaySite` servers, one loopback address each (127.0.0.2, ...)."""

    def __init__(
        self, sites: dict[str, list[ReplayPage]], *, noise: bool = False, conditional: bool = False, first_host: int = 2
    ) -> None:
        self.sites = {
            name: ReplaySite(name, pages, host=f"127.0.0.{first_host + i}", noise=noise, conditional=conditional)
            for i, (name, pages) in enumerate(sites.items())
        }

    def start(self) -> ReplayWeb:
        for site in self.sites.values():
            site.start()
        return self

    def stop(self) -> None:
        for site in self.sites.values():
            site.stop()

    def __enter__(self) -> ReplayWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sources_toml(
        self,
        *,
        feeds: bool = True,
        sitemaps: bool = True,
        sections: bool = True,
        delay_secs: float = 0,
        revisit_steps: tuple[str, ...] = ("*=0s",),
        sitemap_path: str = "/sitemap.xml",
    ) -> str:
        """A config file crawling every site through its feed, sitemap and home page.

        ``revisit_steps`` defaults to checking every known article on every run."""
        steps = ", ".join(f'"{s}"' for s in revisit_steps)
        lines = [
            "[crawl]", f"delay_secs = {delay_secs}", 'contact = "https://github.com/newsarchive/newsarchive"',
            f"revisit_steps = [{steps}]", "",
        ]
        for name, site in self.sites.items():
            lines += [
                "[[source]]",
                f'name = "{name}"',
                f'feeds = ["{site.url("/feed.xml")}"]' if feeds else "feeds = []",
                f'sitemaps = ["{site.url(sitemap_path)}"]' if sitemaps else "sitemaps = []",
                f'start_urls = ["{site.url("/")}"]' if sections else "start_urls = []",
                "depth = 1",
                "allow_private = true",
                "",
            ]
        return "\n".join(lines)


# -- loading pages -----------------------------------------------------------------


def page_from_folder(folder: Path, **options: Any) -> ReplayPage:
    """A page of a ``shared/data`` set (``source.html`` + ``expected.json``)."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    url = expected.get("url") or f"http://example.invalid/{folder.name}"
    return ReplayPage(
        path=local_path(url),
        body=(folder / "source.html").read_bytes(),
        original_url=url,
        title=expected.get("title"),
        published=expected.get("published"),
        origin={"folder": str(folder), "licence": expected.get("licence")},
        **options,
    )


def load_manifest(manifest: Path) -> dict[str, list[ReplayPage]]:
    """Pages bundled with the demo, by site, from ``demo/pages/pages.json``."""
    entries = json.loads(manifest.read_text(encoding="utf-8"))["pages"]
    sites: dict[str, list[ReplayPage]] = {}
    for entry in entries:
        body = gzip.decompress((manifest.parent / entry["file"]).read_bytes())
        sites.setdefault(entry["site"], []).append(
            ReplayPage(
                path=local_path(entry["url"]),
                body=body,
                original_url=entry["url"],
                title=entry.get("title"),
                published=entry.get("published"),
                origin=entry,
            )
        )
    return sites
