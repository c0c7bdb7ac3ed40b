"""Stage 5 (optional): write each capture to a WARC file as the crawl goes.

For users who keep WARC as their primary record (``[crawl] warc = "path.warc.gz"``, or
the ``ARCHIVE_WARC`` setting). The records are the same as ``newsarchive export-warc``
writes (:mod:`archive.warcwriter`); the file is appended to, one ``warcinfo`` record per run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from scrapy.exceptions import NotConfigured

from archive.bodies import digest
from archive.database import Archive
from archive.warcwriter import WarcExporter
from crawler.items import PageItem

logger = logging.getLogger(__name__)


class WarcPipeline:
    """Append every stored capture to the WARC file at ``ARCHIVE_WARC``.

    Raises:
        NotConfigured: no ``ARCHIVE_WARC`` (the pipeline is then off).
    """

    def __init__(self, path: str, db: str = "") -> None:
        self.path = Path(path)
        self.db = db
        self.archive: Archive | None = None
        self.stream = None
        self.exporter: WarcExporter | None = None

    @classmethod
    def from_crawler(cls, crawler) -> WarcPipeline:
        path = crawler.settings.get("ARCHIVE_WARC")
        if not path:
            # off by configuration: no message, or Scrapy logs it as a warning
            raise NotConfigured()
        return cls(path, crawler.settings.get("ARCHIVE_DB", ""))

    def open_spider(self) -> None:
        self.stream = open(self.path, "ab")  # noqa: SIM115 - closed in close_spider
        # a 304 refers to the URL's last response, which an earlier run may have written
        self.archive = Archive.open(self.db, create=False) if self.db else None
        previous = self.archive.last_response if self.archive is not None else None
        self.exporter = WarcExporter(self.stream, self.path.name, gzip=self.path.name.endswith(".gz"), previous=previous)
        logger.info("writing WARC records to %s", self.path)

    def process_item(self, item):
        if isinstance(item, PageItem) and item.flag == "redacted" and item.status != 304 and self.exporter is not None:
            # nothing written; a later 304 of this URL is then the plain 304 it was (archive/warcwriter.py)
            self.exporter.write_capture({"url": item.url, "final_url": item.final_url, "status": item.status, "flag": "redacted"}, None)
        if isinstance(item, PageItem) and item.outcome and item.flag != "redacted" and self.exporter is not None:
            body = None if item.status == 304 else item.body
            capture = {
                "url": item.url,
                "final_url": item.final_url,
                "fetched_at": item.fetched_at,
                "status": item.status,
                "request_headers": item.request_headers,
                "response_headers": item.response_headers,
                "body_digest": digest(body) if body is not None else None,
                "origin": item.origin,
                "content_type": item.content_type,
            }
            metadata = {"newsarchive-outcome": item.outcome, "newsarchive-article": item.canonical_url, "newsarchive-flag": item.flag}
            self.exporter.write_capture(capture, body, metadata)
        return item

    def close_spider(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if self.archive is not None:
            self.archive.close()
            self.archive = None
