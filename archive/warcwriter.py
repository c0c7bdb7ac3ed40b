"""Captures as WARC/1.1 records (ISO 28500), written with warcio.

For each capture: a ``request`` record (the request headers as sent), then a ``response``
record (status line, response headers, body) or a ``revisit`` record: profile
identical-payload-digest when the same body was already written in this file,
server-not-modified for a 304 answer to a conditional GET (referring to the URL's last
response); then a ``metadata`` record (what the archive made of the capture: outcome,
article, flag), concurrent to it. A page imported from a file is a ``resource`` record.

A server-not-modified revisit has an empty block (WARC 1.1, 6.7.3: the block of a revisit
may be empty), so that replay serves the response it refers to: the last body the server
confirmed, with that response's own status and headers. Its block must not carry the 304's
status line: pywb (``ResolvingLoader``, 2.8) replays a revisit whose HTTP status is 3xx as
that status with an empty body, which made every re-checked story replay blank
(ukwa/ukwa-pywb#40). The 304 itself is kept, truthfully, in the concurrent ``metadata``
record (``http-status: 304 Not Modified`` and one ``http-header`` field per header) and in
the ``request`` record (the conditional GET as sent). No record ever claims a 200 that the
server did not send.

Bodies are stored decoded (Content-Encoding removed, chunks joined), so the response
headers written are made to match the bytes: ``Content-Encoding`` and
``Transfer-Encoding`` are dropped and ``Content-Length`` is the body's length. The
original values are kept in ``X-Archive-Orig-*`` headers, as archive tools do.
"""

from __future__ import annotations

import base64
import hashlib
import json
from http import HTTPStatus
from io import BytesIO
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive import __version__

DROPPED = {"content-encoding", "transfer-encoding", "content-length"}
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


def warc_date(utc: str) -> str:
    """The archive's ``YYYY-MM-DDTHH:MM:SSZ`` is already a valid WARC-Date (W3C-ISO8601)."""
    return utc


def payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, the payload digest warcio writes (so revisits match it)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()  # noqa: S324 - WARC's customary digest


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _response_headers(stored: dict[str, str] | None, body_length: int) -> list[tuple[str, str]]:
    headers = []
    for name, value in (stored or {}).items():
        if name.lower() in DROPPED:
            if name.lower() != "content-length":
                headers.append((f"X-Archive-Orig-{name}", value))
            continue
        headers.append((name, value))
    headers.append(("Content-Length", str(body_length)))
    return headers


class WarcExporter:
    """Writes captures to one WARC file, with revisits for repeated bodies.

    Args:
        stream: a binary file opened for writing (or appending).
        filename: recorded in the ``warcinfo`` record.
        gzip: compress each record on its own (``.warc.gz``, the usual form, which
            replay tools index record by record); ``False`` for a plain ``.warc``.
        previous: ``previous(uri, fetched_at) -> (fetched_at, body) | None``, the URL's
            last response with a body before that time, for a 304 whose response was not
            written in this file (an export ``--since``, a crawl appending to a WARC
            written by earlier runs); ``None``: such a 304 is written as the plain 304
            response it was.
    """

    def __init__(self, stream: BinaryIO, filename: str = "", gzip: bool = True, previous=None) -> None:
        self.previous = previous
        self.writer = WARCWriter(stream, gzip=gzip, warc_version="1.1")
        self.first: dict[str, tuple[str, str]] = {}  # body digest -> (uri, WARC-Date) of its response record
        self.last_response: dict[str, tuple[str, str]] = {}  # uri -> (WARC-Date, payload digest) of its last response
        self.records = 0
        self.redacted: set[str] = set()  # URLs whose last response's body a redaction removed
        info = {"software": f"newsarchive/{__version__} (warcio)", "format": "WARC File Format 1.1", "isPartOf": "newsarchive"}
        self._write(self.writer.create_warcinfo_record(filename, info))

    def _write(self, record) -> None:
        self.writer.write_record(record)
        self.records += 1

    def write_capture(self, capture: dict[str, Any], body: bytes | None, metadata: dict[str, Any] | None = None) -> None:
        """Write one capture.

        Args:
            capture: a ``captures`` row (``final_url``, ``fetched_at``, ``status``,
                ``request_headers``/``response_headers`` as dicts or JSON text,
                ``body_digest``, ``origin``, ``content_type``).
            body: the stored body bytes, or ``None`` (a 304, or a body a redaction removed:
                ``flag = 'redacted'``, nothing written).
            metadata: fields for the ``metadata`` record (outcome, article, ...).
        """
        uri = capture["final_url"] or capture["url"]
        if capture.get("flag") == "redacted" and body is None and capture.get("status") != 304:
            # a redaction removed this body (archive/redaction.py): nothing is written, and a
            # later 304 of the URL is written as the plain 304 it was, not as a revisit of an
            # older body the server did not confirm
            self.last_response.pop(uri, None)
            self.redacted.add(uri)
            return
        date = warc_date(capture["fetched_at"])
        dated = {"WARC-Date": date}
        if capture.get("origin") == "import":
            digest = capture.get("body_digest")
            if digest and digest in self.first:
                # the same saved page imported again: a revisit, not the bytes again
                refers_uri, refers_date = self.first[digest]
                self._write(
                    self.writer.create_revisit_record(uri, payload_digest(body or b""), refers_uri, refers_date, warc_headers_dict=dated)
                )
                return
            self._write(
                self.writer.create_warc_record(
                    uri, "resource", payload=BytesIO(body or b""), length=len(body or b""),
                    warc_content_type=capture.get("content_type") or "text/html", warc_headers_dict=dated,
                )
            )
            if digest:
                self.first.setdefault(digest, (uri, date))
            return
        request_headers = _decoded(capture.get("request_headers"))
        parts = urlsplit(uri)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_list = [("Host", parts.netloc)] + [(k, v) for k, v in request_headers.items() if k.lower() != "host"]
        request = self.writer.create_warc_record(
            uri, "request", http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", request_list, is_http_request=True),
            warc_headers_dict=dated,
        )
        status = capture.get("status") or 200
        body = body or b""
        http_headers = StatusAndHeaders(
            f"{status} {_reason(status)}", _response_headers(_decoded(capture.get("response_headers")), len(body)), protocol="HTTP/1.1"
        )
        digest = capture.get("body_digest")
        if status == 304 and uri not in self.last_response and uri not in self.redacted and self.previous is not None:
            found = self.previous(uri, capture["fetched_at"])
            if found is not None:
                self.last_response[uri] = (warc_date(found[0]), payload_digest(found[1]))
        if status == 304 and uri in self.last_response:
            # a conditional GET answered 304: a revisit of this URL's last response
            # (WARC 1.1 revisit profile server-not-modified), with an empty block so that
            # replay serves the response it refers to (see the module's docstring)
            refers_date, refers_digest = self.last_response[uri]
            response = self.writer.create_revisit_record(uri, refers_digest, uri, refers_date, warc_headers_dict=dated)
            response.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED_PROFILE)
            metadata = list((metadata or {}).items()) + [("http-status", http_headers.statusline)]
            metadata += [("http-header", f"{name}: {value}") for name, value in http_headers.headers]
        elif digest and digest in self.first and status != 304:
            refers_uri, refers_date = self.first[digest]
            response = self.writer.create_revisit_record(
                uri, payload_digest(body), refers_uri, refers_date, http_headers=http_headers, warc_headers_dict=dated
            )
        else:
            response = self.writer.create_warc_record(
                uri, "response", payload=BytesIO(body), length=len(body), http_headers=http_headers, warc_headers_dict=dated
            )
            if digest:
                self.first.setdefault(digest, (uri, date))
        if digest and status != 304:
            self.last_response[uri] = (date, payload_digest(body))
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
        self._write(request)
        self._write(response)
        if metadata:
            pairs = metadata.items() if isinstance(metadata, dict) else metadata
            fields = "".join(f"{k}: {_field(v)}\r\n" for k, v in pairs if v is not None).encode()
            meta = self.writer.create_warc_record(
                uri, "metadata", payload=BytesIO(fields), length=len(fields),
                warc_content_type="application/warc-fields", warc_headers_dict=dated,
            )
            meta.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
            self._write(meta)


def export_archive(archive: Any, stream: BinaryIO, filename: str, *, gzip: bool = True, since: str | None = None) -> tuple[int, int]:
    """Write an archive's captures (fetched at or after ``since``, UTC, when given) to
    ``stream`` as WARC records, oldest first, each with a ``metadata`` record of what the
    archive made of it.

    Args:
        archive: an open :class:`archive.database.Archive`.
        stream: a binary stream opened for writing.
        filename: the file's name, for the ``warcinfo`` record.

    Returns:
        ``(captures, records)`` written.
    """
    exporter = WarcExporter(stream, filename, gzip=gzip, previous=archive.last_response)
    captures = 0
    for row in archive.export_rows(since):
        body = archive.read_body(row["body_digest"]) if row["body_digest"] else None
        metadata = {
            "newsarchive-outcome": row["outcome"],
            "newsarchive-article": row["canonical_url"],
            "newsarchive-version": row["version"],
            "newsarchive-flag": row["flag"],
            "newsarchive-crawl": row["crawl_id"],
            "newsarchive-site": row["site"],
        }
        written = exporter.records
        exporter.write_capture(row, body, metadata)
        captures += exporter.records > written
    return captures, exporter.records


def _field(value: Any) -> str:
    """A value on one application/warc-fields line (no line breaks)."""
    return " ".join(str(value).splitlines())


def _decoded(value: Any) -> dict[str, str]:
    if not value:
        return {}
    if isinstance(value, dict):
        return value
    return json.loads(value)
