"""``newsarchive import-warc``: WARC records through the crawl's pipeline stages.

The records (:class:`crawler.warcread.WarcReader`) go through the same stages, in the
same order, as a crawled page (:func:`pipelines.stages.run_stages`: the site's template,
extract -> identify -> version -> store). They are fed to the stages directly rather than
through Scrapy's engine: nothing is fetched, and Scrapy
2.14's engine, stopped (Ctrl-C) while an item yielded by a spider's ``start()`` is in the
item pipeline, waits for ever (see :meth:`pipelines.store.StorePipeline._close_when_idle`).
Ctrl-C here stops between two records, or rolls back the one being stored (one
transaction per capture), and the run is recorded ``interrupted``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import DropItem

from archive.interrupt import Interrupted
from crawler.warcread import WarcReader
from pipelines.stages import run_stages

logger = logging.getLogger(__name__)


class Stats(dict):
    """The part of Scrapy's stats collector API the stages use, as a plain dict."""

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self[key] = self.get(key, start) + count

    def set_value(self, key: str, value: Any) -> None:
        self[key] = value

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    def max_value(self, key: str, value: Any) -> None:
        self[key] = max(self.get(key, value), value)

    def get_stats(self) -> dict[str, Any]:
        return dict(self)


@dataclass
class ImportRun:
    """What an import did: ``stats`` (``archive/<outcome>`` counts, as a crawl's),
    ``records`` (:attr:`crawler.warcread.WarcReader.counts`) and ``status``
    (``finished``, ``interrupted`` or ``storage_error``)."""

    stats: Stats = field(default_factory=Stats)
    records: dict[str, int] = field(default_factory=dict)
    status: str = "finished"

    def count(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)


def import_warc(
    db: str, files: list[str], site: str | None = None, crawl_id: int | None = None, progress: Callable[[int], None] | None = None
) -> ImportRun:
    """Import WARC files into the archive at ``db``; returns what it did.

    Args:
        db: the archive's path.
        files: WARC files, read in order.
        site: ``articles.site`` for every page (see :class:`~crawler.warcread.WarcReader`).
        crawl_id: a ``crawls`` row the caller started (else the store starts one).
        progress: called after each record with the bytes of the files read so far.
    """
    run = ImportRun()
    reader = WarcReader(files, site=site)
    try:
        # a capture stored already (the same WARC, or the crawl's own WARC, imported again) is skipped
        for _ in run_stages(reader.items(), db, command="import-warc", crawl_id=crawl_id, stats=run.stats, skip_stored=True):
            if progress is not None:
                progress(reader.done_bytes)
        if progress is not None:
            progress(reader.done_bytes)  # the end of the last file
    except DropItem:  # a storage error: nothing of that capture was written
        run.status = "storage_error"
    except (KeyboardInterrupt, Interrupted):
        run.status = "interrupted"
        logger.info("import interrupted: the captures stored so far are kept")  # the command says so
    finally:
        run.records = dict(reader.counts)
    return run
