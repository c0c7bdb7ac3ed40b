"""A hostile web for the reliability battery (``../shared/docs/reliability.md``): loopback only.

:class:`HostileServer` is a raw-socket HTTP/1.1 server on a loopback address (127.0.0.0/8)
that misbehaves on request: it never answers, trickles, resets or truncates a body,
streams huge bodies and compression bombs, redirects in loops and chains, answers 429/503
with every kind of ``Retry-After``, serves a robots.txt from the RFC 9309 matrix, and
serves any fixture (charset conflicts, binary as HTML, pathological HTML, meta refresh,
spider traps, hostile feeds and sitemaps). It logs every request (path, headers, arrival
and end times, bytes sent), so that tests assert on what really went over the wire.
:class:`CanaryServer` answers anything and counts its hits: the SSRF tests require 0
hits, and a positive control (the guard off) must hit it.

Every thread stops itself: the accept loop polls a stop flag, every response loop is
bounded in bytes and seconds, and all threads are daemons. Nothing listens beyond
loopback (:func:`loopback_only` refuses any other address).

Routes (query parameters in brackets):

- ``/page/<anything>[?title=&delay=]``: a story page (an article for the extractor), after
  ``delay`` seconds.
- ``/silent``: reads the request, never answers (until the client leaves or ``SILENT_MAX_SECS``).
- ``/trickle[?bps=1&length=200]``: headers with Content-Length, then ``bps`` bytes a second.
- ``/drop[?abort=1&at=600&length=5000]``: Content-Length ``length``, ``at`` bytes, then TCP RST
  (``abort=1``: SO_LINGER 0) or FIN (``abort=0``).
- ``/truncated/cl``, ``/truncated/chunked``, ``/truncated/close[?complete=0|1]``,
  ``/truncated/open[?complete=0|1]``, ``/truncated/gzip``: Content-Length larger than the
  body; a broken chunk; no length, body delimited by the close; no length, the body sent
  and the connection held open; a gzip stream cut short (with a Content-Length that
  matches it).
- ``/huge[?mb=200&length=0|1]``: a generated body of ``mb`` MiB, streamed (chunked, or with
  Content-Length when ``length=1``).
- ``/bomb[?enc=gzip|deflate|br|zstd|gzip,br&mb=200]``: ``mb`` MiB of zeros, compressed by
  streaming compressors, ``Content-Encoding`` as given (stacked in order).
- ``/endless[?enc=gzip]``: a chunked gzip stream that never ends (until the client leaves, or
  ``ENDLESS_MAX_MB``).
- ``/redirect?to=URL[&status=302]``, ``/loop`` (redirects to itself), ``/chain/<n>`` (n hops
  to ``/page/chain-end``).
- ``/status/<name>?n=429&retry_after=VALUE[&times=1]``: the first ``times`` requests answer
  ``n`` with that Retry-After (``date:+3`` is an HTTP date 3 s from now, ``date:-3600`` one in
  the past), later ones a story page.
- ``/echo``: a story page whose text lists the request headers (and the log has them).
- ``/cal/<y>/<m>``, ``/a/...``, ``/session[?sid=]``, ``/long``: spider traps.
- ``/textnode[?mb=50]``: one text node of ``mb`` MiB; ``/bigsitemap[?mb=51]``: a urlset that big.
- ``/robots.txt``: per :attr:`HostileServer.robots` (see :meth:`HostileServer.set_robots`).
- ``/feed.xml``: an RSS feed of :attr:`HostileServer.links`; ``/``: a home page of them.
- anything in :attr:`HostileServer.fixtures`: that status, headers and body.
"""

from __future__ import annotations

import email.utils
import html
import ipaddress
import json
import os
import random
import select
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

MIB = 1024 * 1024
SILENT_MAX_SECS = 30.0
TRICKLE_MAX_SECS = 30.0
ENDLESS_MAX_MB = 512
MAX_REQUEST_BYTES = 64 * 1024

STORY = " ".join(
    f"Paragraph {i} of a story about the harbour, with enough words to read as prose in any extractor."
    for i in range(10)
)


def loopback_only(host: str) -> str:
    """``host`` if it is a loopback address (127.0.0.0/8, ::1), else ValueError: the battery
    never listens beyond loopback."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host} is not a loopback address; the hostile web stays on loopback")
    return host


def story_html(title: str, text: str = STORY, head: str = "", body_extra: str = "") -> bytes:
    """A small story page that the extractor reads as an article."""
    paragraphs = "".join(f"<p>{html.escape(text)} ({n})</p>" for n in range(6))
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<meta property='og:type' content='article'>{head}</head><body><article><h1>{html.escape(title)}</h1>"
        f"{paragraphs}{body_extra}</article></body></html>"
    ).encode()


def many_attributes_page(count: int) -> bytes:
    """A page whose story container carries ``count`` attributes: small on the wire (about
    11 bytes an attribute), slow to extract (the time grows with the square of ``count``:
    about 20 s at 20,000 and 9 minutes at 100,000 on one core of the test machine)."""
    attributes = " ".join(f'data-a{n}="v"' for n in range(count))
    return story_html("Many attributes").replace(b"<article>", f"<article {attributes}>".encode(), 1)


# -- compression bombs, made by streaming compressors (cached per process) ------------------

_BOMBS: dict[tuple[str, int], bytes] = {}
_BOMB_LOCK = threading.Lock()


def slow_story_page(paragraphs: int = 9_000) -> bytes:
    """A story page within every markup limit (crawler/markup.py) that still takes seconds to
    extract: ``paragraphs`` long paragraphs (9,000: about 12 MiB, 5 to 10 s of extraction on
    this machine's cores), each with its own number so that nothing is folded as repeated."""
    sentence = "The council met again on a long evening to discuss the harbour plan and its costs. "
    body = "".join(f"<p>{n}. {sentence * 18}</p>" for n in range(paragraphs))
    return story_html("Slow to extract").replace(b"</article>", body.encode() + b"</article>", 1)


def attributes_bomb(attributes: int = 200_000) -> bytes:
    """A story page whose ``<body>`` carries ``attributes`` attributes (200,000: 2.6 MB, the
    page of issue 14 that lxml took about 60 s to parse)."""
    attrs = " ".join(f'a{i}="yy"' for i in range(attributes))
    return story_html("Attributes bomb").replace(b"<body>", f"<body {attrs}>".encode(), 1)


def deep_nesting(levels: int = 1_000) -> bytes:
    """A story page inside ``levels`` nested ``<div>`` elements (far fewer elements than the
    element limit; libxml2 drops everything below 256 levels)."""
    page = story_html("Deep nesting")
    return page.replace(b"<body>", b"<body>" + b"<div>" * levels, 1).replace(b"</body>", b"</div>" * levels + b"</body>", 1)


def _compressor(encoding: str):
    if encoding == "gzip":
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        return c.compress, c.flush
    if encoding == "deflate":
        c = zlib.compressobj(6, zlib.DEFLATED, 15)
        return c.compress, c.flush
    if encoding == "br":
        import brotli

        c = brotli.Compressor(quality=5)
        return c.process, c.finish
    if encoding == "zstd":
        import zstandard

        c = zstandard.ZstdCompressor(level=3).compressobj()
        return c.compress, c.flush
    raise ValueError(f"unknown encoding {encoding!r}")


def compress_stream(chunks: Iterator[bytes], encoding: str) -> bytes:
    """``chunks`` compressed by one streaming compressor (gzip, deflate, br, zstd)."""
    compress, flush = _compressor(encoding)
    out = [compress(chunk) for chunk in chunks]
    out.append(flush())
    return b"".join(out)


def bomb(encodings: str, mb: int) -> bytes:
    """``mb`` MiB of zeros compressed by each of ``encodings`` in turn ("gzip,br": gzip first,
    then brotli, as ``Content-Encoding: gzip, br`` says), never held uncompressed."""
    key = (encodings, mb)
    with _BOMB_LOCK:
        if key not in _BOMBS:
            layers = [e.strip() for e in encodings.split(",") if e.strip()]
            zeros = b"\0" * MIB
            data = compress_stream((zeros for _ in range(mb)), layers[0])
            for layer in layers[1:]:
                data = compress_stream(iter([data]), layer)
            _BOMBS[key] = data
        return _BOMBS[key]


def _endless_gzip_segments() -> tuple[bytes, bytes]:
    """A gzip header and one full-flushed deflate segment (1 MiB of zeros) that may be repeated
    for ever: after Z_FULL_FLUSH the compressor keeps no history, so each repeat is valid."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = c.compress(b"") + c.flush(zlib.Z_FULL_FLUSH)
    segment = c.compress(b"\0" * MIB) + c.flush(zlib.Z_FULL_FLUSH)
    return head, segment


# -- the request log ---------------------------------------------------------------------


def chunk(data: bytes) -> bytes:
    """``data`` framed as one HTTP/1.1 chunk (RFC 9112, 7.1)."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@dataclass
class Hit:
    """One request as the server saw it.

    Attributes:
        path: request target (path and query).
        headers: request headers (name -> value; the last value of a repeated name).
        time / wall: arrival, ``time.monotonic()`` and ``time.time()`` (seconds).
        ended: when the server finished with it (monotonic), or ``None`` while in progress.
        sent: response bytes written (headers and body).
        status: the status answered, or ``None`` (no answer).
        retry_after: the Retry-After value sent, if any; ``retry_after_secs`` what it asked
            for, in seconds from ``wall``.
    """

    path: str
    headers: dict[str, str]
    time: float
    wall: float
    method: str = "GET"
    ended: float | None = None
    sent: int = 0
    status: int | None = None
    retry_after: str | None = None
    retry_after_secs: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _Conn:
    """One accepted connection: bounded writes that notice a stopped server or a gone client."""

    def __init__(self, sock: socket.socket, server: HostileServer, hit: Hit) -> None:
        self.sock = sock
        self.server = server
        self.hit = hit

    def send(self, data: bytes) -> bool:
        if self.server.stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self.hit.sent += len(data)
        return True

    def head(self, status: int, headers: list[tuple[str, str]] | dict[str, str], reason: str = "") -> bool:
        self.hit.status = status
        items = list(headers.items()) if isinstance(headers, dict) else list(headers)
        names = {k.lower() for k, _ in items}
        if "connection" not in names:
            items.append(("Connection", "close"))
        lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Status')}"] + [f"{k}: {v}" for k, v in items]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def stream(self, block: bytes, total: int, *, chunked: bool = False) -> bool:
        """Send ``total`` bytes cut from repeats of ``block`` (each piece framed as a chunk
        with ``chunked``); False as soon as the client or the server goes."""
        sent = 0
        while sent < total:
            piece = block[: total - sent]
            if not self.send(chunk(piece) if chunked else piece):
                return False
            sent += len(piece)
        return True

    def respond(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None) -> bool:
        items = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        return self.head(status, items) and self.send(body)

    def client_gone(self, wait: float = 0.0) -> bool:
        """True when the client closed its side (or the server is stopping)."""
        if self.server.stopping.is_set():
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], wait)
            if readable:
                return self.sock.recv(4096, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False

    def sleep(self, secs: float) -> bool:
        """Sleep up to ``secs``; False if the server stops or the client leaves meanwhile."""
        return not self.client_gone(secs)

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 410: "Gone", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


@dataclass
class Fixture:
    """A canned response: status, headers (a list keeps repeats and order), body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class HostileServer:
    """A misbehaving HTTP/1.1 server on one loopback address (see the module docstring).

    Args:
        host: a loopback address (127.0.0.0/8).
        name: used as the source name in configs.
        robots: robots.txt body (served 200 text/plain), or see :meth:`set_robots`.
    """

    def __init__(self, host: str = "127.0.0.2", name: str = "hostile", robots: str = "User-agent: *\nAllow: /\n",
                 tls: tuple[str, str] | None = None) -> None:
        self.host = loopback_only(host)
        #: (certificate, key) PEM files: serve HTTPS with them
        self.tls = tls
        self.name = name
        self.robots: tuple[str, Any] = ("body", robots)
        self.fixtures: dict[str, Fixture] = {}
        self.links: list[str] = []
        self.hits: list[Hit] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._port: int | None = None
        self._threads: list[threading.Thread] = []
        self._once: dict[str, int] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> HostileServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(64)
        sock.settimeout(0.1)
        self._sock = sock
        self._port = sock.getsockname()[1]
        thread = threading.Thread(target=self._serve, name=f"hostile-{self.name}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self.stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port (kept after :meth:`stop`, for reading the logs)."""
        assert self._port is not None, "start() the server first"
        return self._port

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- configuration ---------------------------------------------------------------------

    def fixture(self, path: str, body: bytes, status: int = 200, content_type: str | None = "text/html; charset=utf-8",
                headers: list[tuple[str, str]] | None = None) -> str:
        """Serve ``body`` at ``path``; returns the full URL."""
        items = ([("Content-Type", content_type)] if content_type else []) + list(headers or [])
        self.fixtures[path] = Fixture(status, items, body)
        return self.url(path)

    def set_robots(self, kind: str, value: Any = None) -> None:
        """robots.txt behaviour: ``body`` (value: text, 200), ``status`` (value: code),
        ``reset`` (RST before any answer), ``silent`` (never answers), ``redirects``
        (value: number of hops before the body ``Disallow: /``), ``bytes`` (value: raw body)."""
        self.robots = (kind, value)

    # -- log ---------------------------------------------------------------------------------

    def paths(self) -> list[str]:
        with self._lock:
            return [h.path for h in self.hits]

    def hits_for(self, prefix: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.startswith(prefix)]

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every logged request has ended (or ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(h.ended is not None for h in self.hits):
                    return
            time.sleep(0.02)

    # -- serving ---------------------------------------------------------------------------

    def _serve(self) -> None:
        assert self._sock is not None
        while not self.stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._connection, args=(client,), daemon=True)
            thread.start()

    def _read_request(self, client: socket.socket) -> tuple[str, str, dict[str, str]] | None:
        client.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < MAX_REQUEST_BYTES:
                part = client.recv(8192)
                if not part:
                    return None
                data += part
        except OSError:
            return None
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, _ = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip()] = value.strip()
        return method, target, headers

    def _connection(self, client: socket.socket) -> None:
        if self.tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            client.settimeout(5)
            try:
                client = context.wrap_socket(client, server_side=True)
            except (OSError, ssl.SSLError):  # the client refused our certificate
                with self._lock:
                    self.hits.append(Hit(path="(TLS handshake failed)", headers={}, time=time.monotonic(), wall=time.time(), ended=time.monotonic()))
                client.close()
                return
        request = self._read_request(client)
        if request is None:
            client.close()
            return
        method, target, headers = request
        hit = Hit(path=target, headers=headers, time=time.monotonic(), wall=time.time(), method=method)
        with self._lock:
            self.hits.append(hit)
        conn = _Conn(client, self, hit)
        try:
            self._dispatch(conn, target)
        except OSError:
            pass
        finally:
            hit.ended = time.monotonic()
            try:
                client.close()
            except OSError:
                pass

    def _dispatch(self, conn: _Conn, target: str) -> None:
        parts = urlsplit(target)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        plain = path.split(";", 1)[0]  # path parameters (;jsessionid=...) name the same resource
        if target in self.fixtures or path in self.fixtures or plain in self.fixtures:
            f = self.fixtures.get(target) or self.fixtures.get(path) or self.fixtures[plain]
            conn.head(f.status, [*f.headers, ("Content-Length", str(len(f.body)))])
            conn.send(f.body)
            return
        first = "/" + path.strip("/").split("/", 1)[0] if path.strip("/") else "/"
        handler = self._ROUTES.get(first)
        if handler is None and path.startswith("/robots-hop/"):
            handler = HostileServer._robots
        if handler is None:
            conn.respond(404, b"<html><body><h1>Not found</h1></body></html>")
            return
        handler(self, conn, path, query)

    # -- routes --------------------------------------------------------------------------------

    def _home(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        items = "".join(f"<li><a href='{html.escape(link)}'>{html.escape(link)}</a></li>" for link in self.links)
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{self.name}</title>"
            f"<meta property='og:type' content='website'></head><body><ul>{items}</ul></body></html>"
        ).encode()
        conn.respond(200, body)

    def _feed(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        items = "".join(
            f"<item><title>Story {n}</title><link>{html.escape(link if '://' in link else self.url(link))}</link></item>"
            for n, link in enumerate(self.links)
        )
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{self.name}</title>'
            f"<link>{self.base_url}/</link><description>d</description>{items}</channel></rss>"
        ).encode()
        conn.respond(200, body, "application/rss+xml")

    def _page(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        title = query.get("title") or f"Story {path.rsplit('/', 1)[-1] or 'page'}"
        if query.get("delay"):
            conn.sleep(float(query["delay"]))
        conn.respond(200, story_html(title))

    def _robots(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        kind, value = self.robots
        if kind == "body":
            conn.respond(200, value.encode(), "text/plain")
        elif kind == "bytes":
            conn.respond(200, value, "text/plain")
        elif kind == "status":
            conn.respond(value, b"robots.txt status", "text/plain")
        elif kind == "reset":
            conn.reset()
        elif kind == "silent":
            while conn.sleep(0.2) and time.monotonic() - conn.hit.time < SILENT_MAX_SECS:
                pass
        elif kind == "redirects":
            hop = int(path.rsplit("/", 1)[-1]) if path.startswith("/robots-hop/") else 0
            if hop < value:
                conn.respond(301, b"", headers={"Location": f"/robots-hop/{hop + 1}"})
            else:
                conn.respond(200, b"User-agent: *\nDisallow: /\n", "text/plain")
        else:
            raise ValueError(kind)

    def _silent(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        while conn.sleep(0.2) and time.monotonic() - conn.hit.time < SILENT_MAX_SECS:
            pass

    def _trickle(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        bps = float(query.get("bps", 1))
        length = int(query.get("length", 200))
        body = story_html("Trickled story")[:length].ljust(length, b" ")
        if not conn.head(200, {"Content-Type": "text/html", "Content-Length": str(length)}):
            return
        for i in range(length):
            if not conn.send(body[i : i + 1]) or time.monotonic() - conn.hit.time > TRICKLE_MAX_SECS:
                return
            if not conn.sleep(1.0 / bps):
                return

    def _drop(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        length = int(query.get("length", 5000))
        at = int(query.get("at", 600))
        body = story_html("Dropped story").ljust(length, b" ")[:length]
        conn.head(200, {"Content-Type": "text/html", "Content-Length": str(length)})
        conn.send(body[:at])
        time.sleep(0.05)
        if query.get("abort", "1") == "1":
            conn.reset()
        else:
            conn.sock.shutdown(socket.SHUT_RDWR)

    def _truncated(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        page = story_html("Truncated story")
        kind = path.rsplit("/", 1)[-1]
        if kind == "cl":
            conn.head(200, {"Content-Type": "text/html", "Content-Length": str(len(page) + 1000)})
            conn.send(page)
            conn.sock.shutdown(socket.SHUT_RDWR)
        elif kind == "chunked":
            conn.head(200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"})
            conn.send(chunk(page))
            conn.send(b"400\r\n" + b"x" * 10 + b"\r\nzz-not-a-chunk-size\r\n")
            conn.sock.shutdown(socket.SHUT_RDWR)
        elif kind == "gzip":
            # a gzip stream cut at nine tenths (the story still reads as one), served with a
            # Content-Length that matches the cut
            import gzip as gz

            data = gz.compress(story_html("Truncated story", text=STORY + " " + os.urandom(3000).hex()), mtime=0)
            cut = data[: len(data) * 9 // 10]
            conn.respond(200, cut, "text/html", headers={"Content-Encoding": "gzip"})
        elif kind in ("close", "open"):
            body = page if query.get("complete") == "1" else page[: len(page) * 2 // 3]
            conn.head(200, {"Content-Type": "text/html"})
            conn.send(body)
            if kind == "close":
                conn.sock.shutdown(socket.SHUT_RDWR)
            else:  # the body is sent; the connection stays open until the client leaves
                conn.sleep(SILENT_MAX_SECS)
        else:
            conn.respond(404, b"")

    def _huge(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        mb = int(query.get("mb", 200))
        block = (b"<p>" + b"huge body " * 100 + b"</p>\n") * 1000
        total = mb * MIB
        if query.get("length") == "1":
            if conn.head(200, {"Content-Type": "text/html", "Content-Length": str(total)}):
                conn.stream(block, total)
            return
        if conn.head(200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}) and conn.stream(block, total, chunked=True):
            conn.send(b"0\r\n\r\n")

    def _textnode(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        """One text node of ``mb`` MiB (no markup inside), streamed with Content-Length."""
        mb = float(query.get("mb", 50))
        head, tail = b"<html><head><title>Big text node</title></head><body><p>", b"</p></body></html>"
        size = int(mb * MIB)
        if not conn.head(200, {"Content-Type": "text/html", "Content-Length": str(len(head) + size + len(tail))}):
            return
        if conn.send(head) and conn.stream(b"word " * 20_000, size):
            conn.send(tail)

    def _bigsitemap(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        """A urlset of ``mb`` MiB (streamed, chunked), every ``<loc>`` on this server."""
        mb = float(query.get("mb", 51))
        if not conn.head(200, {"Content-Type": "application/xml", "Transfer-Encoding": "chunked"}):
            return
        size = int(mb * MIB)
        head = b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        entry = f"<url><loc>{self.base_url}/page/big-sitemap-entry</loc></url>\n".encode() * 2000
        chunks = [head]
        sent = 0
        while sent < size:
            piece = chunks.pop() if chunks else entry
            if not conn.send(chunk(piece)):
                return
            sent += len(piece)
        conn.send(chunk(b"</urlset>") + b"0\r\n\r\n")

    def _bomb(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        encodings = query.get("enc", "gzip")
        data = bomb(encodings, int(query.get("mb", 200)))
        header_value = ", ".join(e.strip() for e in encodings.split(","))
        conn.respond(200, data, "text/html", headers={"Content-Encoding": header_value})

    def _endless(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        head, segment = _endless_gzip_segments()
        if not conn.head(200, {"Content-Type": "text/html", "Content-Encoding": "gzip", "Transfer-Encoding": "chunked"}):
            return
        data = head + segment * 64
        sent = 0
        while sent < ENDLESS_MAX_MB * MIB:
            if not conn.send(chunk(data)):
                return
            sent += len(data)
            data = segment * 64

    def _redirect(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        status = int(query.get("status", 302))
        headers = {"Location": query["to"]}
        if query.get("cookie"):
            headers["Set-Cookie"] = f"session={query['cookie']}; Path=/"
        conn.respond(status, b"", headers=headers)

    def _loop(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        conn.respond(302, b"", headers={"Location": path})

    def _chain(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        n = int(path.rsplit("/", 1)[-1])
        to = f"/chain/{n - 1}" if n > 1 else "/page/chain-end"
        conn.respond(302, b"", headers={"Location": to})

    def _status(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        times = int(query.get("times", 1))
        with self._lock:
            served = self._once.get(path, 0)
            self._once[path] = served + 1
        if served >= times:
            conn.respond(200, story_html(f"Story after {path.rsplit('/', 1)[-1]}"))
            return
        status = int(query.get("n", 429))
        value = query.get("retry_after")
        headers = {}
        if value is not None:
            if value.startswith("date:"):
                moment = conn.hit.wall + float(value[5:])
                value = email.utils.formatdate(moment, usegmt=True)
                # an HTTP date has whole seconds: what it asks for is measured from the arrival
                conn.hit.retry_after_secs = int(moment) - conn.hit.wall
            elif value.isdigit():
                conn.hit.retry_after_secs = float(value)
            headers["Retry-After"] = value
            conn.hit.retry_after = value
        conn.respond(status, b"<html><body>busy</body></html>", headers=headers)

    def _echo(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        text = "Request headers: " + json.dumps(conn.hit.headers, sort_keys=True) + ". " + STORY
        conn.respond(200, story_html("Echo", text))

    def _calendar(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        parts = [p for p in path.split("/") if p]
        try:
            year, month = int(parts[1]), int(parts[2])
        except (IndexError, ValueError):
            year, month = 2024, 1
        prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
        next_y, next_m = (year, month + 1) if month < 12 else (year + 1, 1)
        links = f"<a href='/cal/{prev_y}/{prev_m:02d}'>prev</a> <a href='/cal/{next_y}/{next_m:02d}'>next</a>"
        conn.respond(200, story_html(f"Calendar {year}-{month:02d}", body_extra=links))

    def _repeat(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        # a relative link one level deeper: /a/ -> /a/a/ -> /a/a/a/ ...
        conn.respond(200, story_html(f"Level {path.count('/a')}", body_extra="<a href='a/'>deeper</a>"))

    def _session(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        token = "%032x" % random.getrandbits(128)
        links = (
            f"<a href='/session?sid={token}'>again</a> <a href='/session;jsessionid={token.upper()}'>java</a> "
            f"<a href='/session?PHPSESSID={token}'>php</a>"
        )
        conn.respond(200, story_html("Session page", body_extra=links))

    def _long(self, conn: _Conn, path: str, query: dict[str, str]) -> None:
        if path != "/long":
            conn.respond(200, story_html("Long URL page"))
            return
        conn.respond(200, story_html("Long links", body_extra=f"<a href='/long/{'x' * 10_000}'>long</a>"))

    _ROUTES: dict[str, Callable[..., None]] = {
        "/": _home, "/feed.xml": _feed, "/page": _page, "/robots.txt": _robots, "/silent": _silent,
        "/trickle": _trickle, "/drop": _drop, "/truncated": _truncated, "/huge": _huge, "/bomb": _bomb,
        "/endless": _endless, "/redirect": _redirect, "/loop": _loop, "/chain": _chain, "/status": _status,
        "/echo": _echo, "/cal": _calendar, "/a": _repeat, "/session": _session, "/long": _long,
        "/textnode": _textnode, "/bigsitemap": _bigsitemap,
    }


class CanaryServer(HostileServer):
    """Answers every request with a small page and counts the hits (SSRF canary).

    A test that requires ``hits == 0`` also needs its positive control: the same payload with
    the guard off must hit it (a zero without its control proves nothing).
    """

    CANARY_TEXT = "canary-page-reached"

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host, name="canary", robots="User-agent: *\nAllow: /\n")

    def _dispatch(self, conn: _Conn, target: str) -> None:
        if target == "/robots.txt":
            conn.respond(200, b"User-agent: *\nAllow: /\n", "text/plain")
            return
        conn.respond(200, story_html("Canary", f"{self.CANARY_TEXT}. {STORY}"))

    @property
    def count(self) -> int:
        """Requests received, robots.txt excluded (any of them proves the crawler got here)."""
        with self._lock:
            return sum(1 for h in self.hits if h.path != "/robots.txt")

    @property
    def any_hits(self) -> int:
        with self._lock:
            return len(self.hits)


def free_loopback_hosts(n: int, first: int = 20) -> list[str]:
    """``n`` distinct loopback addresses (127.0.0.<first>...) for servers that must not share a
    Scrapy download slot (slots are per host name, not per port)."""
    return [f"127.0.0.{first + i}" for i in range(n)]


def self_signed_certificate(folder, host: str = "127.0.0.1") -> tuple[str, str]:
    """A self-signed certificate for ``host`` (PEM certificate and key files in ``folder``),
    made with ``cryptography``: what no certificate authority vouches for."""
    import datetime as dt
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = Path(folder)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_path), str(key_path)
