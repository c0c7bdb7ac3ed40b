"""The forkserver the extraction pool forks its workers from, started as early as a command
knows it will extract.

multiprocessing's ``forkserver`` start method runs one server process per process that
uses it; it imports the modules named by ``set_forkserver_preload`` once, and every worker
is a ``fork`` of it (Python's documented behaviour; :mod:`pipelines.preload` says what it
loads). Loading them takes about 1.5 s. Started by the pool, that load began only once
Scrapy was set up and the first pages waited for it; started by the command first
(:func:`start_forkserver`), it runs on the other core while the command imports Scrapy and
opens the archive: a one-URL ``archive`` of a loopback page took 4.2 s instead of 5.6. Light on purpose:
this module imports nothing of the extraction.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing import forkserver

#: The module the forkserver imports before it forks a worker: the extraction and its models,
#: loaded once and shared by the workers (:mod:`pipelines.preload`).
PRELOAD = "pipelines.preload"


def default_workers() -> int:
    """The CPU cores this process may run on (``os.sched_getaffinity`` where the platform
    has it, else ``os.cpu_count()``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def use_forkserver() -> multiprocessing.context.BaseContext:
    """multiprocessing's ``forkserver`` context, with the extraction preloaded in the server
    (``"__main__"`` is multiprocessing's own default preload)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", PRELOAD])
    return context


def start_forkserver(workers: int | None) -> None:
    """Start the forkserver now, unless ``workers`` is 0 (extraction in this process). Returns
    at once: the server loads the extraction in the background. Calling it again, or
    creating the pool later, uses the same server (multiprocessing keeps one per process)."""
    if workers == 0:
        return
    use_forkserver()
    forkserver.ensure_running()
