"""Logging of the commands that do not run Scrapy, and the library loggers kept quiet.

Imports no crawling or extraction library: ``stats``, ``history`` and ``backup`` start
fast because of it.
"""

from __future__ import annotations

import logging

from archive.runlog import REPEATED_ERROR_LOGGERS

def quiet_repeated_errors() -> None:
    """Raise the :data:`REPEATED_ERROR_LOGGERS` to CRITICAL."""
    for name in REPEATED_ERROR_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def configure_logging(verbose: int, log_file: str | None) -> None:
    """Logging for commands that do not run Scrapy (which configures its own from settings):
    warnings only (0), progress (1, INFO) or everything (2, DEBUG); to ``log_file`` if given,
    else to standard error."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    if not verbose:
        quiet_repeated_errors()
