"""The ``warc`` spider: pages out of WARC files, through the same pipelines as a crawl.

Used by ``newsarchive import-warc FILE...``. Fetches nothing: each HTML record becomes a
:class:`~crawler.items.PageItem` (``origin = warc``, the record's ``WARC-Date`` as
``fetched_at``; :mod:`crawler.warcread`) that extraction, identity, versioning and the
store handle as they handle a fetched page; a record that cannot be used is a failure
item (a ``failures`` row) and the import goes on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from crawler.config import Source
from crawler.spiders.base import ArchivingSpider
from crawler.warcread import WarcReader


class WarcImportSpider(ArchivingSpider):
    """Import WARC files.

    Args:
        files: paths of WARC files (a list, or one string with one path per line).
        site: the ``articles.site`` for every imported page (default: the site the
            record's metadata names, else the URL's host).

    Attributes:
        reader: the :class:`~crawler.warcread.WarcReader`, whose ``counts`` say what
            became of the records.
    """

    name = "warc"

    def __init__(self, files: list[str] | str | None = None, site: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(files, str):
            files = files.splitlines()
        self.reader = WarcReader(list(files or []), site=site or None)

    def source_of(self, meta: dict[str, Any]) -> Source:
        return Source(name=meta.get("source") or "unknown", start_urls=(), depth=0)

    async def start(self) -> AsyncIterator[Any]:
        for item in self.reader.items():
            yield item
