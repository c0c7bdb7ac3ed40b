"""Pages out of WARC files (ISO 28500, WARC/1.0 and 1.1, gzip or plain), read with warcio,
also those a WACZ file holds (WACZ 1.1.1: a zip file whose ``archive/`` folder holds them).

Each HTML ``response`` or ``resource`` record becomes a :class:`PageItem` with
``origin = warc`` and its ``WARC-Date`` as ``fetched_at``; a ``revisit`` is resolved:

- profile *server-not-modified* (or a revisit whose HTTP status is 304): a 304 capture
  with no body, as a conditional GET answered in a crawl;
- profile *identical-payload-digest*: the body of the record it refers to, found by its
  payload digest (``WARC-Payload-Digest``) or by ``WARC-Refers-To-Target-URI`` and
  ``WARC-Refers-To-Date``, in the files read so far; with the revisit's own HTTP status
  and headers when it has them (as pywb replays it).

The ``request`` record concurrent to a response gives the request headers; a ``metadata``
record concurrent to it (as ``newsarchive export-warc`` writes) gives the source's name
(``newsarchive-site``) and a 304's status and headers (``http-status``, ``http-header``).
Every other record (``warcinfo``, ``request``, ``metadata``, ``conversion``, responses
that are not HTML or not a 2xx/304) is counted in :attr:`WarcReader.counts` and skipped.
A record that cannot be used (a body over 20 MiB, a revisit whose original is in none of
the files, a bad URL, a ``WARC-Date`` later than now) is a :class:`FailureItem` of kind
``warc``; so is a record whose block is not whole: cut short by the end of its file (fewer
bytes than its ``Content-Length``) or failing its ``WARC-Block-Digest`` or
``WARC-Payload-Digest`` (warcio's ``check_digests``): a part of a page must never become a
version. A file that cannot be read further (not a WARC, a broken gzip member) is one too,
and reading goes on with the next file.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from dateutil.parser import isoparse
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive import interrupt
from archive.timefmt import iso_utc
from crawler.config import url_problem
from crawler.items import FailureItem, PageItem
from archive.urls import redact_credentials, strip_credentials

MAX_BODY_BYTES = 20 * 1024 * 1024  # as DOWNLOAD_MAXSIZE
HTML_TYPES = ("text/html", "application/xhtml+xml")
NOT_MODIFIED = "server-not-modified"
FAILURE_KIND = "warc"
#: how far a WARC-Date may lie ahead of this machine's clock (another machine's clock, time
#: zones written wrong): beyond it the date is refused, as a page's future dates are
FUTURE_SLACK = timedelta(days=1)
#: no capture is older than the web
FIRST_YEAR = 1991
#: the folder of a WACZ file that holds its WARC files (WACZ 1.1.1, "Directory Layout")
WACZ_WARCS = "archive/"


@dataclass(frozen=True)
class WarcSource:
    """One WARC to read: the file at ``path``, or a member of the WACZ (zip) file at ``path``
    (``index``: its place in the zip's list of members, which names it even where two share
    a name; ``member``: its name, for messages).

    Attributes:
        size: its bytes as stored (the file's, or the member's compressed size).
        length: its bytes once read (the member's uncompressed size; a file's: ``size``).
    """

    path: str
    member: str | None = None
    index: int | None = None
    size: int = 0
    length: int = 0

    def __str__(self) -> str:
        return f"{self.path} ({self.member})" if self.member is not None else self.path

    @contextlib.contextmanager
    def open(self, wacz: zipfile.ZipFile | None = None) -> Iterator:
        """The WARC's bytes as a seekable binary stream (a member's from ``wacz``, the zip
        file at ``path`` already open, if given).

        Raises:
            OSError, zipfile.BadZipFile: the file, or the member, cannot be read;
            RuntimeError, NotImplementedError: an encrypted member, a compression method
            Python's zipfile does not read (:func:`warc_file_problem` refuses both first).
        """
        if self.index is None:
            with open(self.path, "rb") as stream:
                yield stream
            return
        with contextlib.ExitStack() as stack:
            wacz = wacz or stack.enter_context(zipfile.ZipFile(self.path))
            yield stack.enter_context(wacz.open(wacz.infolist()[self.index]))

    def stored(self, position: int) -> int:
        """The bytes as stored up to ``position`` in the bytes read (proportional inside a
        compressed member), for a progress bar over the files' sizes."""
        return min(self.size, position * self.size // self.length) if self.length else self.size


#: a zip file's first bytes: a local file header (APPNOTE.TXT 4.3.7); a WARC starts with
#: ``WARC/`` or gzip's magic, and may carry a zip file as a payload further on
ZIP_MAGIC = b"PK\x03\x04"
#: compression methods Python's zipfile reads
ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})


def is_zip(path: str) -> bool:
    """Whether the file at ``path`` starts as a zip file does (raises OSError)."""
    with open(path, "rb") as stream:
        return stream.read(4) == ZIP_MAGIC


def warc_sources(path: str) -> list[WarcSource]:
    """The WARCs of the file at ``path``: the file itself; for a zip file (a WACZ), its
    members in :data:`WACZ_WARCS` named ``.warc`` or ``.warc.gz`` (in any case; a leading
    ``./`` or ``/`` allowed), in the zip's order.

    Raises:
        OSError, zipfile.BadZipFile: the file cannot be read.
    """
    if not is_zip(path):
        size = os.path.getsize(path)
        return [WarcSource(path, None, None, size, size)]
    with zipfile.ZipFile(path) as wacz:
        return [
            WarcSource(path, info.filename, index, info.compress_size, info.file_size)
            for index, info in enumerate(wacz.infolist())
            if _is_warc_member(info)
        ]


def _is_warc_member(info: zipfile.ZipInfo) -> bool:
    name = info.filename.lower().lstrip("./")
    return not info.is_dir() and name.startswith(WACZ_WARCS) and name.endswith((".warc", ".warc.gz"))


def _start_problem(stream) -> str | None:
    """Why the binary ``stream`` holds no WARC (its first record does not start with
    ``WARC/``, gzipped or not), or ``None``; the stream is left at its start."""
    try:
        head = stream.read(2)
        stream.seek(0)
        if head == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=stream) as unzipped:
                head = unzipped.read(5)
        else:
            head = stream.read(5)
    except (OSError, EOFError, zlib.error) as exc:
        return f"unreadable at its start ({type(exc).__name__}: {exc})"
    finally:
        stream.seek(0)
    if head != b"WARC/":
        return "not a WARC file (a WARC record starts with 'WARC/'; gzip or plain)"
    return None


def _short(text: str, limit: int = 300) -> str:
    """``text`` cut to ``limit`` characters (a library's error may quote a whole line of the
    file: megabytes of it), and made one printable line."""
    text = " ".join(text.split())
    if not text.isprintable():  # control bytes of a damaged file, as escapes
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Pending:
    """A response, resource or revisit record read, waiting for its concurrent records."""

    record_id: str
    uri: str
    date: str
    kind: str  # response, resource, revisit
    status: int | None
    headers: dict[str, str]
    content_type: str | None
    body: bytes | None
    request_headers: dict[str, str] | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    problem: str | None = None


def _payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, WARC's customary payload digest (as :mod:`archive.warcwriter` writes)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()  # noqa: S324 - WARC's customary digest


def _warc_date(value: str | None) -> str | None:
    """A ``WARC-Date`` (W3C ISO 8601, maybe with fractions of a second) as the archive's UTC
    text; ``None`` when it is none, or names a time before the web (1991: the year 1 made a
    ``fetched_at`` of ``1-01-01T00:00:00Z``, which nothing reads back)."""
    if not value:
        return None
    try:
        moment = isoparse(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.year < FIRST_YEAR:
        return None
    return iso_utc(moment)


def _after_last_record(stream, records: ArchiveIterator) -> int:
    """Bytes after the end of the last record warcio read (``member_info``: its offset and
    length), white space aside: a record cut inside its WARC headers is not yielded at all."""
    offset, length = records.member_info or (0, 0)
    stream.seek(offset + length)
    while chunk := stream.read(1 << 16):  # in chunks: warcio may have stopped early in a big file
        if chunk.strip():
            return stream.seek(0, os.SEEK_END) - (offset + length)
    return 0


def _unread_after_end(block) -> int:
    """Bytes of a record's block its file does not hold: the block (warcio's ``LimitReader``,
    ``limit`` bytes left of its ``Content-Length``) is read to its end first, since decoding
    the payload may stop before it; 0 for a whole record (and one read another way)."""
    while getattr(block, "limit", 0) > 0:
        if not block.read(min(block.limit, 1 << 16)):
            break  # the file ended inside the record
    return getattr(block, "limit", 0)


def _is_html(content_type: str | None, body: bytes) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


class WarcReader:
    """Reads WARC files into items, in file order.

    Args:
        paths: the WARC files (``.warc``, ``.warc.gz``; gzip is recognised by its bytes), or
            WACZ files (a zip file is read as one: :func:`warc_sources`).
        site: the ``articles.site`` of imported pages; default: the ``newsarchive-site``
            of the record's metadata, else the URL's host.

    Attributes:
        done_bytes: how far reading has got, in bytes of the files as stored (for a
            progress bar over their total size).
        counts: records by what became of them: ``pages`` (responses and resources),
            ``not_modified`` (304 revisits), ``revisits`` (resolved identical-payload
            revisits), ``skipped`` (other records), ``failed``.
    """

    def __init__(self, paths: list[str], site: str | None = None) -> None:
        self.paths = list(paths)
        self.site = site
        self.counts: Counter = Counter()
        self.by_digest: dict[str, tuple[WarcSource, int]] = {}  # payload digest -> (WARC, offset)
        self.by_uri_date: dict[tuple[str, str], tuple[WarcSource, int]] = {}  # (uri, WARC-Date) -> (WARC, offset)
        self.done_bytes = 0  # bytes of the files read so far (compressed, as on disk)
        self._zips: dict[str, zipfile.ZipFile] = {}  # the WACZ files read, open (each opening reads its list of members)

    def items(self) -> Iterator[PageItem | FailureItem]:
        for path in self.paths:
            before = self.done_bytes
            try:
                sources = warc_sources(path)
            except (OSError, zipfile.BadZipFile) as exc:
                self.counts["failed"] += 1
                yield FailureItem(url=str(path), kind=FAILURE_KIND, message=f"cannot read {path}: {type(exc).__name__}: {_short(str(exc))}")
                sources = []
            try:
                for source in sources:
                    yield from self._file(source)
            finally:
                for wacz in self._zips.values():
                    wacz.close()
                self._zips.clear()  # a revisit of a record in an earlier file opens that file again
            try:
                self.done_bytes = before + os.path.getsize(path)  # a zip file's own headers too
            except OSError:
                pass

    # -- one file ------------------------------------------------------------------

    def _open(self, source: WarcSource):
        """``source.open()``, a WACZ member's zip file opened once for the file's members.

        Raises:
            the errors of :meth:`WarcSource.open`.
        """
        if source.index is not None and source.path not in self._zips:
            self._zips[source.path] = zipfile.ZipFile(source.path)
        return source.open(self._zips.get(source.path))

    def _file(self, path: WarcSource) -> Iterator[PageItem | FailureItem]:
        pending: _Pending | None = None
        requests: dict[str, dict[str, str]] = {}
        before = self.done_bytes
        try:
            with self._open(path) as stream:
                if problem := _start_problem(stream):
                    raise ValueError(problem)
                records = ArchiveIterator(stream, no_record_parse=False, arc2warc=True, check_digests=True)
                for record in records:
                    # a library's bare "except:" may have swallowed a signal's exception: stop here
                    interrupt.raise_if_stopped()
                    self.done_bytes = before + path.stored(stream.tell())
                    if record.rec_headers.get_header("Content-Length") is None:
                        # a mandatory field (WARC 1.1, 5.3): the file ends inside the record's headers
                        raise EOFError("a record without Content-Length: the file ends inside its WARC headers")
                    kind = record.rec_type
                    concurrent = record.rec_headers.get_header("WARC-Concurrent-To")
                    if kind == "metadata" and pending is not None and concurrent == pending.record_id:
                        pending.fields += _warc_fields(record.content_stream().read(64 * 1024))
                        self.counts["skipped"] += 1
                        continue
                    if kind == "request":
                        if record.http_headers is not None and concurrent:
                            if pending is not None and concurrent == pending.record_id:
                                pending.request_headers = dict(record.http_headers.headers)
                            else:
                                requests[concurrent] = dict(record.http_headers.headers)
                        self.counts["skipped"] += 1
                        continue
                    if pending is not None:
                        yield self._item(pending)
                        pending = None
                    if kind not in ("response", "resource", "revisit"):
                        self.counts["skipped"] += 1
                        continue
                    pending = self._read(path, records, record)
                    if pending is None:
                        self.counts["skipped"] += 1
                        continue
                    pending.request_headers = requests.pop(pending.record_id, None)
                if leftover := _after_last_record(stream, records):
                    raise EOFError(f"the file ends inside a record's WARC headers ({leftover} bytes after the last whole record)")
        # (AttributeError: warcio's reader on a file cut inside a record's first header line;
        # RuntimeError, NotImplementedError: an encrypted zip member, an unknown compression)
        except (OSError, ArchiveLoadFailed, EOFError, ValueError, zlib.error, AttributeError, zipfile.BadZipFile,
                RuntimeError, NotImplementedError) as exc:
            if pending is not None:
                yield self._item(pending)
                pending = None
            self.counts["failed"] += 1
            yield FailureItem(url=str(path), kind=FAILURE_KIND, message=f"cannot read {path} further: {type(exc).__name__}: {_short(str(exc))}")
        if pending is not None:
            yield self._item(pending)
        self.done_bytes = before + path.size

    def _read(self, path: WarcSource, records: ArchiveIterator, record) -> _Pending | None:
        """The record as a :class:`_Pending`, or ``None`` when it is not an HTML page."""
        headers = record.rec_headers
        uri = strip_credentials((headers.get_header("WARC-Target-URI") or "").strip("<>"))
        date = _warc_date(headers.get_header("WARC-Date"))
        record_id = headers.get_header("WARC-Record-ID") or ""
        future = date is not None and date > iso_utc(datetime.now(timezone.utc) + FUTURE_SLACK)
        http = record.http_headers if record.rec_type != "resource" else None
        status = None
        if http is not None and http.statusline:
            try:
                status = int(http.get_statuscode())
            except (TypeError, ValueError):
                status = None
        response_headers = dict(http.headers) if http is not None else {}
        content_type = (http.get_header("Content-Type") if http is not None else None) or (
            headers.get_header("Content-Type") if record.rec_type == "resource" else None
        )
        pending = _Pending(record_id, uri, date or "", record.rec_type, status, response_headers, content_type, None)
        if future:
            pending.problem = f"WARC-Date {headers.get_header('WARC-Date')} is in the future: not a capture time"
        if record.rec_type == "revisit":
            profile = headers.get_header("WARC-Profile") or ""
            if profile.endswith(NOT_MODIFIED) or status == 304:
                pending.status, pending.body = 304, None
                return pending
            return self._resolve(pending, headers)
        body = record.content_stream().read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            pending.problem = f"body over {MAX_BODY_BYTES} bytes"
            return pending
        if (missing := _unread_after_end(record.raw_stream)) > 0:
            pending.problem = f"cut short: the file ends {missing} bytes before the record does (Content-Length {record.length})"
            return pending
        if record.digest_checker.passed is False:
            pending.problem = f"not whole: {'; '.join(record.digest_checker.problems)}"
            return pending
        if pending.problem:
            return pending
        if record.rec_type == "response" and (status is None or not 200 <= status < 300):
            return None
        # every payload may be what a later revisit refers to, HTML or not
        location = (path, records.get_record_offset())
        for digest in {headers.get_header("WARC-Payload-Digest"), _payload_digest(body)} - {None}:
            self.by_digest.setdefault(digest, location)
        if date:
            self.by_uri_date[(uri, date)] = location
        if not _is_html(content_type, body):
            return None
        pending.body = body
        return pending

    def _resolve(self, pending: _Pending, headers) -> _Pending | None:
        """An identical-payload-digest revisit with the body of the record it refers to."""
        refers_uri = (headers.get_header("WARC-Refers-To-Target-URI") or "").strip("<>")
        refers_date = _warc_date(headers.get_header("WARC-Refers-To-Date"))
        location = self.by_digest.get(headers.get_header("WARC-Payload-Digest") or "") or self.by_uri_date.get(
            (refers_uri, refers_date or "")
        )
        if location is None:
            pending.problem = "revisit: the record it refers to is in none of the files read so far"
            return pending
        source, offset = location
        original = None
        with contextlib.suppress(RuntimeError, NotImplementedError, OSError, zipfile.BadZipFile):
            with self._open(source) as stream:
                original = _load(stream, offset)
        if original is None:
            pending.problem = "revisit: the record it refers to could not be read again"
            return pending
        status, response_headers, content_type, body = original
        if pending.status is None or not pending.headers:
            pending.status, pending.headers, pending.content_type = status, response_headers, content_type
        pending.content_type = pending.content_type or content_type
        if (pending.status is not None and not 200 <= pending.status < 300) or not _is_html(pending.content_type, body):
            return None
        pending.body = body
        return pending

    # -- the item ------------------------------------------------------------------

    def _item(self, p: _Pending) -> PageItem | FailureItem:
        problem = p.problem or url_problem(p.uri) or (None if p.date else "no valid WARC-Date")
        if problem:
            self.counts["failed"] += 1
            return FailureItem(url=redact_credentials(p.uri) or p.record_id, kind=FAILURE_KIND, message=f"{p.kind} record {p.record_id}: {problem}")
        fields = dict(p.fields)
        response_headers = p.headers
        if p.status == 304:
            self.counts["not_modified"] += 1
            # the 304's own headers, where the revisit's block left them out (archive.warcwriter)
            noted = [value.split(":", 1) for name, value in p.fields if name == "http-header" and ":" in value]
            response_headers = response_headers or {name.strip(): value.strip() for name, value in noted}
        else:
            self.counts["revisits" if p.kind == "revisit" else "pages"] += 1
        site = self.site or fields.get("newsarchive-site") or urlsplit(p.uri).hostname or "unknown"
        return PageItem(
            url=p.uri,
            final_url=p.uri,
            status=p.status,
            body=p.body or b"",
            fetched_at=p.date,
            site=site,
            role="article",
            content_type=p.content_type,
            request_headers=p.request_headers,
            response_headers=response_headers or None,
            origin="warc",
        )


def warc_file_problem(path: str) -> str | None:
    """Why ``path`` cannot be read as a WARC file (missing, a folder, unreadable, neither
    ``WARC/`` nor gzip at its start), or as a WACZ file (a zip file: damaged, with no WARC in
    :data:`WACZ_WARCS`, or with one that is encrypted, compressed by a method Python's
    zipfile does not read, or no WARC), or ``None``."""
    try:
        if not is_zip(path):
            with open(path, "rb") as stream:
                return _start_problem(stream)
        sources = warc_sources(path)
        if not sources:
            return f"a zip file with no WARC file in its {WACZ_WARCS} folder (where a WACZ keeps them)"
        with zipfile.ZipFile(path) as wacz:
            members = wacz.infolist()
            for source in sources:
                info = members[source.index]
                if info.flag_bits & 0x1:
                    return f"{info.filename} is encrypted: give the WACZ without a password"
                if info.compress_type not in ZIP_METHODS:
                    return f"{info.filename} is compressed with method {info.compress_type}, which Python's zipfile does not read"
                with source.open(wacz) as stream:
                    if problem := _start_problem(stream):
                        return f"{info.filename}: {problem}"
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "a folder, not a WARC file"
    except zipfile.BadZipFile as exc:
        return f"not a readable zip file (WACZ): {exc}"
    except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        return f"cannot read it: {_short(str(exc))}"
    return None


def _warc_fields(data: bytes) -> list[tuple[str, str]]:
    """``name: value`` lines of an ``application/warc-fields`` block."""
    fields = []
    for line in data.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.append((name.strip(), value.strip()))
    return fields


def _load(stream, offset: int) -> tuple[int | None, dict[str, str], str | None, bytes] | None:
    """Read the record at ``offset`` of a WARC's ``stream`` again: (status, headers,
    Content-Type, body), or ``None`` when it cannot be read."""
    try:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        http = record.http_headers if record.rec_type != "resource" else None
        status = int(http.get_statuscode()) if http is not None and http.statusline else None
        content_type = (http.get_header("Content-Type") if http is not None else None) or record.rec_headers.get_header("Content-Type")
        return status, dict(http.headers) if http is not None else {}, content_type, record.content_stream().read(MAX_BODY_BYTES)
    except (OSError, ArchiveLoadFailed, StopIteration, ValueError, zlib.error):
        return None
