"""Extraction in a pool of worker processes, off the crawl's reactor thread.

The seam is plain and serialisable: an :class:`ExtractJob` (body bytes, URL, Content-Type,
discovery hints, fetch time and the :class:`~crawler.options.ExtractOptions`) goes to a
worker, an :class:`ExtractResult` (the :class:`~pipelines.extraction.Extraction`, or a
failure kind and message) comes back. Both pickle, so the same seam serves a pool on one
machine and, later, workers on other machines.

The pool is `pebble <https://pypi.org/project/Pebble/>`_'s ``ProcessPool`` (documented:
a task that overruns its timeout has its worker terminated and replaced; a worker that
dies fails the one task it held with ``ProcessExpired``), started with multiprocessing's
``forkserver`` method (never a ``fork`` of the crawl process, whose reactor and threads a
child must not inherit). The forkserver loads the extraction and its models once
(:mod:`pipelines.preload`), so that the workers forked from it share that memory; each
worker's initializer (:func:`start_worker`) sets up its logging. What this module adds:

- every way a job can end is an :class:`ExtractResult`: a timeout is the failure kind
  ``extract_timeout``, a worker that died ``extract_crash``, an exception of the
  extractor ``extract_error`` (an :class:`~pipelines.extraction.ExtractionError` keeps its
  own kind); nothing is raised to the caller, so one page never stops a run;
- a pool pebble gave up on (pebble 5 breaks the whole pool when a worker dies while no
  task is running) is replaced, and the jobs it aborted, which no worker had started, are
  scheduled once more on the new one;
- :meth:`ExtractionPool.map` for runs outside Scrapy (``reextract``, ``extract`` with many
  files), with a bounded number of jobs in flight so that memory stays flat.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from pebble import ProcessExpired, ProcessPool

from archive.runlog import REPEATED_ERROR_LOGGERS
from crawler.options import ExtractOptions
from pipelines.extraction import Extraction, warm_up
from pipelines.forkserver import default_workers, use_forkserver

logger = logging.getLogger(__name__)

#: Jobs kept in flight per worker by :meth:`ExtractionPool.map`: enough that no worker
#: waits for the next job, few enough that memory does not grow with the run.
IN_FLIGHT_PER_WORKER = 2
#: Jobs a worker runs before pebble replaces it with a fresh fork of the forkserver
#: (pebble's ``max_tasks``): what a worker's heap gains over a long run (copied pages,
#: fragments of freed parse trees) is given back, so memory stays flat; a fork with the
#: extraction preloaded costs a few milliseconds.
TASKS_PER_WORKER = 200


@dataclass(frozen=True)
class ExtractJob:
    """One page to extract: the arguments of :func:`pipelines.jobs.extract_page`.

    Attributes:
        body: the body bytes, after Content-Encoding was decoded.
        url: the final URL.
        content_type: the ``Content-Type`` header value, or ``None``.
        options: the source's extraction options.
        hints: what discovery said of the page (``published``, ``published_source``), or ``None``.
        fetched_at: the fetch time, UTC ``YYYY-MM-DDTHH:MM:SSZ``.
    """

    body: bytes = field(repr=False)
    url: str
    content_type: str | None
    options: ExtractOptions
    hints: dict[str, Any] | None
    fetched_at: str
    #: also make what the crawl's process would do next with the page (its version
    #: identity, its body compressed): done in a worker, that work leaves the reactor
    precompute: bool = False
    #: the site's compression dictionary: with ``precompute``, the body is compressed with it too
    dictionary: bytes | None = field(default=None, repr=False)


@dataclass
class ExtractResult:
    """How one job ended: ``extraction`` set, or ``error`` as ``(kind, message)``.

    Kinds: an :class:`~pipelines.extraction.ExtractionError`'s own (``empty``,
    ``not_html``, ``content_type_mismatch``, ``too_complex``), ``extract_error`` (the
    extractor raised anything else), ``extract_timeout`` (cut off at the time limit),
    ``extract_crash`` (the worker process died).
    """

    extraction: Extraction | None = None
    error: tuple[str, str] | None = None
    #: with ``precompute``: the :class:`pipelines.version.VersionIdentity`, and the body
    #: compressed on its own (:func:`archive.bodies.compress_full`)
    identity: Any = None
    compressed: bytes | None = None
    #: with ``precompute`` and a ``dictionary``: the body compressed with it
    compressed_dictionary: bytes | None = None


def _ready() -> int:
    return os.getpid()


def start_worker(level: int = logging.WARNING) -> None:
    """Each worker's start: log as the crawl's process does (its ``level``; to standard
    error, with Scrapy's line format), so that the extraction libraries' own lines are not
    lost with ``-v``/``-vv``, and stay quiet without (:data:`archive.runlog.REPEATED_ERROR_LOGGERS`);
    then make sure the models are loaded (:func:`pipelines.extraction.warm_up`: at no cost
    when the forkserver loaded them, :mod:`pipelines.preload`)."""
    logging.basicConfig(level=level, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    if level > logging.INFO:
        for name in REPEATED_ERROR_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    warm_up()


class ExtractionPool:
    """A bounded pool of warmed worker processes that extract pages with a time limit.

    Args:
        workers: number of worker processes (>= 1).
        timeout_secs: the time limit of one extraction, seconds (``None``: none).
        job: the function a worker runs on each job, importable by name
            (:func:`pipelines.jobs.run_job`, taking an :class:`ExtractJob`).
        initializer: run once in each worker as it starts (:func:`start_worker`).

    Use as a context manager, or call :meth:`start` and :meth:`close`.
    """

    def __init__(
        self,
        workers: int,
        timeout_secs: float | None,
        *,
        job: Callable[[Any], Any],
        initializer: Callable[[], None] | None = start_worker,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self.timeout_secs = timeout_secs
        self.job = job
        self.initializer = initializer
        # the forkserver loads the extraction once and every worker shares it (pipelines.preload)
        self._context = use_forkserver()
        self._lock = threading.Lock()
        self._pool = None
        self._closed = False
        self.restarts = 0

    def __enter__(self) -> ExtractionPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> ExtractionPool:
        """Start the workers; each loads the models (the initializer) before its first job."""
        with self._lock:
            self._live_pool().schedule(_ready)  # pebble starts its workers on a first task
        return self

    def close(self) -> None:
        """Stop the workers (jobs still running are cut off) and wait for them to end."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.stop()
            pool.join()

    def pids(self) -> list[int]:
        """The ids of this pool's worker processes alive now (for tests and memory figures).
        Read from pebble's worker table (``_pool_manager.worker_manager.workers``, pebble 5):
        pebble has no public way to list them."""
        manager = getattr(getattr(self._pool, "_pool_manager", None), "worker_manager", None)
        workers = dict(getattr(manager, "workers", None) or {})
        return [pid for pid, process in workers.items() if process.is_alive()]

    def _live_pool(self):
        """The pebble pool, (re)started if there is none or pebble gave up on it. Hold ``_lock``.

        Raises:
            RuntimeError: the pool was closed.
        """
        if self._closed:
            raise RuntimeError("the extraction pool is closed")
        if self._pool is not None and not self._pool.active:
            broken, self._pool = self._pool, None
            self.restarts += 1
            logger.warning("extraction pool broken: starting a new one")
            # never joined from pebble's own threads (this may run in one of them)
            threading.Thread(target=_dispose, args=(broken,), daemon=True).start()
        if self._pool is None:
            self._pool = ProcessPool(
                max_workers=self.workers, max_tasks=TASKS_PER_WORKER, initializer=self.initializer, context=self._context
            )
        return self._pool

    def submit(self, job: Any, function: Callable[[Any], Any] | None = None, *, timed: bool = True) -> Future:
        """Schedule one job: ``function(job)`` in a worker (default: the pool's ``job``
        function), with the pool's time limit unless ``timed`` is false (end-of-run work
        such as learning a site's template). The returned future's result is always what
        the function returns or an :class:`ExtractResult` with the ``error``, never an
        exception."""
        out: Future = Future()
        self._schedule((function or self.job, job, self.timeout_secs if timed else None), out, retry=True)
        return out

    def _schedule(self, task_spec: tuple[Callable[[Any], Any], Any, float | None], out: Future, retry: bool) -> None:
        function, job, timeout = task_spec
        with self._lock:
            try:
                try:
                    task = self._live_pool().schedule(function, (job,), timeout=timeout)
                except RuntimeError:  # pebble's "Unexpected error within the Pool": broken since
                    task = self._live_pool().schedule(function, (job,), timeout=timeout)
            except RuntimeError as exc:  # closed (the run is ending), or broken again at once
                out.set_result(ExtractResult(error=("extract_error", str(exc))))
                return
        task.add_done_callback(lambda done: self._finish(done, task_spec, out, retry))

    def _finish(self, done: Future, task_spec: tuple[Callable[[Any], Any], Any, float | None], out: Future, retry: bool) -> None:
        job, timeout = task_spec[1], task_spec[2]
        url = getattr(job, "url", None) or getattr(job, "site", "?")
        try:
            out.set_result(done.result())
            return
        except FutureTimeout:
            message = f"extraction cut off after {timeout:g} s"
            kind = "extract_timeout"
        except ProcessExpired as exc:
            message = f"the extraction worker died (exit code {exc.exitcode})"
            kind = "extract_crash"
        except Exception as exc:  # noqa: BLE001 - the pool itself failed: once more on a new one
            if retry:
                self._schedule(task_spec, out, retry=False)
                return
            kind, message = "extract_error", f"{type(exc).__name__}: {exc}"
        logger.warning("%s: %s", url, message)
        out.set_result(ExtractResult(error=(kind, message)))

    def map(
        self, jobs: Iterable[Any], function: Callable[[Any], Any] | None = None, *, timed: bool = True,
        in_flight: int | None = None,
    ) -> Iterator[Any]:
        """The results of ``jobs`` (:meth:`submit`'s), in order, with at most ``in_flight``
        jobs scheduled ahead of the one being returned (default ``IN_FLIGHT_PER_WORKER`` per
        worker; fewer for large jobs, such as a site's pages, so that no job waits in memory
        for a busy worker, or so that only one worker at a time grows with one)."""
        pending: deque[Future] = deque()
        limit = max(1, in_flight or self.workers * IN_FLIGHT_PER_WORKER)
        for job in jobs:
            pending.append(self.submit(job, function, timed=timed))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _dispose(pool) -> None:
    try:
        pool.stop()
        pool.join()
    except Exception:  # noqa: BLE001 - a broken pool may fail to stop cleanly; its workers are gone
        logger.debug("stopping a broken extraction pool failed", exc_info=True)
