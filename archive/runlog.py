"""The run log: what ``--log-file`` keeps (and ``-v`` shows on standard error).

One line per stored article, new version and failure, and one line at the start and end
of each run, also of a run refused by the crawl lock or found interrupted by the next
run; nothing else unless asked (``-v`` adds progress, ``-vv`` Scrapy's banner, settings
and stats dumps). The lines go to the logger :data:`RUN_LOGGER`, which
:func:`configure` gives a handler of its own: Scrapy's root handler, which writes
everything else, is then left at errors only. Where :func:`configure` was not called
(``scrapy crawl news``), the lines reach Scrapy's log like any other.

Only the standard library, so that every command can use it.
"""

from __future__ import annotations

import logging
import sys

RUN_LOGGER = "newsarchive.run"
#: the line format, as Scrapy's LOG_FORMAT (times are the local clock's)
FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

run_log = logging.getLogger(RUN_LOGGER)

#: loggers that repeat, with tracebacks, a failure the archive already records (a failures
#: row and a run-log line): silenced unless -v
REPEATED_ERROR_LOGGERS = (
    "scrapy.downloadermiddlewares.retry",
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.core.scraper",
    "crawler.spiders.base",
    # the extraction libraries log a page's faults ("not valid HTML") as errors; the
    # pipeline reports those itself
    "trafilatura",
    "htmldate",
    "courlan",
)


def configure(verbose: int, log_file: str | None) -> None:
    """Send the run lines to ``log_file`` (appended), else to standard error with ``-v``,
    else nowhere. Safe to call again (the previous handler is replaced)."""
    for handler in list(run_log.handlers):
        run_log.removeHandler(handler)
        handler.close()
    if log_file:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
    elif verbose:
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    run_log.addHandler(handler)
    run_log.setLevel(logging.INFO)
    run_log.propagate = False
