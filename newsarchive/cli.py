"""The ``newsarchive`` command: thin click commands over the spiders, pipelines and archive.

Every command takes ``--db PATH`` (default ``archive.db``, or ``$NEWSARCHIVE_DB``),
``-v/--verbose`` and ``--log-file PATH``. Exit status (design.md, Interfaces):
0 done (a crawl with some failed pages is done), 1 some URLs failed (``archive``) or a
run was interrupted (SIGINT, SIGTERM: :mod:`archive.interrupt`), 2 usage or config error,
3 another run holds the archive's lock, 4 storage error (disk full, corrupt or
newer-schema archive), 5 (``crawl --strict``) the run finished but a source could not be
read at all.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import gzip
import json
import math
import os
import re
import sys
import time
from pathlib import Path

import click

from archive import __version__, interrupt, runlog
from archive.database import Archive, ArchiveError, OutputExistsError
from archive.interrupt import Interrupted
from archive.runlog import run_log
from newsarchive.logs import configure_logging

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_STORAGE = 4
EXIT_UNREADABLE_SOURCE = 5


class CliError(click.ClickException):
    """A one-line error and the exit status that goes with it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _check_log_file(ctx, param, value):
    if value is not None:
        folder = Path(value).resolve().parent
        if not folder.is_dir():
            raise click.BadParameter(f"folder {folder} does not exist", ctx=ctx, param=param)
        try:
            with open(value, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise click.BadParameter(f"cannot write {value}: {exc.strerror}", ctx=ctx, param=param) from exc
    return value


class FiniteFloatRange(click.FloatRange):
    """click's ``FloatRange`` without ``nan`` and ``inf``: ``nan`` passes every bound
    (each comparison with it is false), and an infinite wait or limit is a mistake."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def common_options(command):
    """``--db``, ``-v/--verbose`` and ``--log-file``, shared by every command."""

    @click.option(
        "--db",
        default="archive.db",
        envvar="NEWSARCHIVE_DB",
        show_default=True,
        type=click.Path(dir_okay=False),
        help="The archive (SQLite file). Also $NEWSARCHIVE_DB.",
    )
    @click.option("-v", "--verbose", count=True, help="Log progress (-v) or everything (-vv).")
    @click.option("--log-file", type=click.Path(dir_okay=False), callback=_check_log_file, help="Write the log to this file.")
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)

    return wrapper


def worker_options(command):
    """``--workers`` and ``--extract-timeout``: how pages are extracted (pipelines.workers)."""

    @click.option(
        "--workers",
        type=click.IntRange(0, 256),
        envvar="NEWSARCHIVE_WORKERS",
        help="Worker processes that extract pages (default: one per CPU core; 0: in this process, no time limit). Also $NEWSARCHIVE_WORKERS.",
    )
    @click.option(
        "--extract-timeout",
        "extract_timeout",
        type=FiniteFloatRange(min=0.1),
        help="Time limit of one page's extraction in a worker, seconds (default 20); the page then fails as extract_timeout.",
    )
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)

    return wrapper


def worker_settings(workers: int | None, extract_timeout: float | None) -> dict:
    """The Scrapy settings ``--workers`` and ``--extract-timeout`` override (none when not given)."""
    settings = {}
    if workers is not None:
        settings["ARCHIVE_EXTRACT_WORKERS"] = workers
    if extract_timeout is not None:
        settings["ARCHIVE_EXTRACT_TIMEOUT_SECS"] = extract_timeout
    return settings


def extraction_pool_size(workers: int | None, extract_timeout: float | None) -> tuple[int, float]:
    """(workers, time limit in seconds) for runs outside Scrapy: the options, else the
    crawl's defaults (crawler.settings)."""
    from crawler import settings
    from pipelines.forkserver import default_workers

    return (
        default_workers() if workers is None else workers,
        extract_timeout if extract_timeout is not None else float(settings.ARCHIVE_EXTRACT_TIMEOUT_SECS),
    )


def open_archive(db: str, *, create: bool = True) -> Archive:
    """Open the archive or exit with status 4 and a one-line reason."""
    try:
        return Archive.open(db, create=create)
    except ArchiveError as exc:
        raise CliError(str(exc), EXIT_STORAGE) from exc


#: the run this command recorded (``(db, crawl_id)``): a signal that stops the command before
#: its crawl could record its own end marks it ``interrupted`` (ArchiveGroup.invoke)
_RUN: list[tuple[str, int]] = []


def start_run(db: str, command: str, config_text: str | None) -> int:
    """Record the run in ``crawls`` before Scrapy starts, after marking the runs whose process
    is gone ``interrupted``; exit 4 if the archive cannot be written."""
    with open_archive(db) as archive:
        try:
            log_repaired(archive.end_dead_runs(locked=False))
            crawl_id = archive.start_crawl(command, config_text)
        except ArchiveError as exc:
            raise CliError(f"cannot write to the archive: {exc}", EXIT_STORAGE) from exc
    _RUN.append((db, crawl_id))
    return crawl_id


class ArchiveGroup(click.Group):
    """The command group; an :class:`ArchiveError` that a command did not handle itself (a
    read-only or full archive found mid-command) is a one-line error with exit status 4,
    never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            with interrupt.installed():
                return super().invoke(ctx)
        except BrokenPipeError:
            # the reader of standard output stopped (`| head`): it had what it wanted, which is no
            # error; standard output goes to /dev/null so that Python's final flush cannot fail
            # (the recipe of Python's signal documentation, "Note on SIGPIPE"), and the exit is 0
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except ArchiveError as exc:
            raise CliError(str(exc), EXIT_STORAGE) from exc
        except Interrupted as exc:
            if _RUN:  # stopped before its crawl ran (or could record its end): the run ends here
                from crawler.stopping import end_interrupted

                db, crawl_id = _RUN[-1]
                end_interrupted(db, crawl_id, {"stop/signal": interrupt.signal_name(exc.signum)})
            # a command that recorded a run stored captures as it went; others read, or write in one transaction
            kept = "; what was stored stays stored" if _RUN else ""
            raise CliError(f"{exc}: stopped{kept}", interrupt.EXIT_INTERRUPTED) from exc


@click.group(cls=ArchiveGroup)
@click.version_option(__version__, prog_name="newsarchive")
def cli() -> None:
    """newsarchive: crawl news sites into a versioned, searchable SQLite archive.

    \b
    Examples:
      newsarchive crawl --config sources.toml --db archive.db
      newsarchive archive https://www.example.com/news/some-story
      newsarchive extract saved-page.html
      newsarchive serve --db archive.db
    """
    # At exit, CPython's finalization runs the cyclic garbage collector over everything the
    # command left in memory (Scrapy's, Twisted's, lxml's objects): about 0.4 s of a crawl's
    # or an archive's run. gc.freeze moves them to the permanent generation, which the
    # collector skips (Python's gc documentation). Nothing written is lost: the archive, WARC
    # files and the log are closed before (logging closes its handlers in its own atexit
    # handler), and Python does not promise to call __del__ at exit (object.__del__).
    atexit.register(gc.freeze)


# -- crawl -------------------------------------------------------------------------


@cli.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Sources to crawl (TOML).")
@click.option("--revisit-only", is_flag=True, help="Only re-check known articles that are due; no discovery.")
@click.option("--no-revisit", is_flag=True, help="Only discover new articles; re-check none.")
@click.option("--allow-private", is_flag=True, help="Let every source reach loopback/private addresses.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when the run completes and every source could be read (for cron).")
@click.option("--recheck", "recheck", multiple=True, metavar="TARGET", help="Make stories due now: 'all', a source's name, or a story's URL (canonical or alias). Repeatable.")
@click.option("--strict", is_flag=True, help="Exit 5 when a source could not be read at all (none of its feeds, sitemaps, start pages).")
@click.option("--redis", "redis_url", metavar="URL", help="Share the crawl with `newsarchive worker` processes through this Redis (redis://host:port/db); this process only seeds and stores.")
@click.option("--redis-wait", "redis_wait", type=FiniteFloatRange(min=0), help="With --redis: how long to wait for a lost Redis, seconds (default 30); then the run stops interrupted.")
@worker_options
@common_options
def crawl(config_path, revisit_only, no_revisit, allow_private, quiet, recheck, strict, redis_url, redis_wait, workers, extract_timeout, db, verbose, log_file) -> None:
    """Crawl the sources of a config file into the archive.

    Re-checks the known articles that are due (conditional GETs) and discovers new ones
    through each source's feeds, sitemaps and section pages; fetches politely (robots.txt,
    one request at a time per host, Crawl-delay, Retry-After); stores every fetch as a
    capture, every new or changed story as a snapshot. One run at a time per archive:
    another run exits at once with status 3. Prints a one-line summary.

    \b
    Examples:
      newsarchive crawl --config sources.toml --db archive.db
      newsarchive crawl --config sources.toml --revisit-only -q --log-file crawl.log
      newsarchive crawl --config sources.toml --recheck dawn --revisit-only
    """
    from archive.lock import ArchiveLock, LockHeld
    from crawler.config import ConfigError, load_config

    runlog.configure(verbose, log_file)
    if revisit_only and no_revisit:
        raise CliError("--revisit-only and --no-revisit exclude each other", EXIT_USAGE)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    if config.warc:
        try:  # before the crawl starts: the WARC pipeline appends to it
            open(config.warc, "ab").close()  # noqa: SIM115
        except OSError as exc:
            raise CliError(f"{config_path}: [crawl] warc: cannot write {config.warc}: {exc.strerror or exc}", EXIT_USAGE) from exc
    server = connect_redis(redis_url) if redis_url else None
    lock = ArchiveLock(db)
    try:
        lock.acquire()
    except LockHeld as exc:
        run_log.warning("crawl refused: %s", exc)
        raise CliError(str(exc), EXIT_LOCKED) from exc
    except OSError as exc:
        folder = Path(db).parent
        reason = f"the folder {folder} does not exist" if not folder.is_dir() else exc.strerror
        raise CliError(f"cannot create the lock file beside {db}: {reason}", EXIT_STORAGE) from exc
    try:
        # The archive is opened (created, upgraded) only with the lock held: runs started
        # together must not race to create it. Scrapy is imported only then too: a run that
        # finds the lock taken exits at once. The extraction workers' server starts loading
        # now, while Scrapy is imported and the archive opened (a writer for Redis workers
        # extracts nothing).
        from pipelines.forkserver import start_forkserver

        start_forkserver(0 if server is not None else workers)
        with open_archive(db) as archive:
            log_repaired(archive.end_dead_runs())
            if recheck:
                from crawler.recheck import UnknownTarget, make_due

                try:
                    due = sum(make_due(archive, config, target) for target in recheck)
                except UnknownTarget as exc:
                    raise CliError(str(exc), EXIT_USAGE) from exc
                run_log.info("--recheck %s: %d %s due now", " ".join(recheck), due, "story" if due == 1 else "stories")
        from newsarchive.runner import project_settings, run_spider

        crawl_id = start_run(db, "crawl", config.text)
        run_log.info("crawl %s started (pid %d): %s, %s", crawl_id, os.getpid(), config_path, _plural(len(config.sources), "source"))
        settings = project_settings(
            db,
            verbosity=verbose,
            log_file=log_file,
            ARCHIVE_COMMAND="crawl",
            ARCHIVE_CRAWL_ID=crawl_id,
            ARCHIVE_LOCK_HELD=True,
            ARCHIVE_ALLOW_PRIVATE=allow_private,
            **worker_settings(workers, extract_timeout),
            **({"ARCHIVE_REDIS_WAIT_SECS": redis_wait} if redis_wait is not None else {}),
        )
        revisit = "only" if revisit_only else "no" if no_revisit else "yes"
        if server is not None:
            run = write_distributed(server, db, config_path, crawl_id, settings, revisit)
        else:
            run = run_spider("news", settings, config=config_path, revisit=revisit)
    finally:
        lock.release()
    unreadable = (run.stats.get("discovery/unreadable") or {}) if run.finish_reason == "finished" else {}
    for name, causes in unreadable.items():
        # on standard error, also with -q: cron mails any output
        click.echo(unreadable_line(name, causes), err=True)
        run_log.warning(unreadable_line(name, causes))
    (run_log.info if run.finish_reason == "finished" else run_log.warning)(summary_line(run))
    if not quiet or run.finish_reason != "finished":
        click.echo(summary_line(run))
    exit_for(run)
    if strict and unreadable:
        sys.exit(EXIT_UNREADABLE_SOURCE)


def connect_redis(url: str):
    """A Redis client for ``--redis``, or exit 2 with the reason it cannot be reached."""
    from crawler.distributed import RedisUnavailable, connect

    try:
        return connect(url)
    except RedisUnavailable as exc:
        hint = "" if str(exc).startswith("not a Redis URL") else " (is redis-server running there?)"
        raise CliError(f"{exc}{hint}", EXIT_USAGE) from exc


def write_distributed(server, db: str, config_path: str, crawl_id: int, settings, revisit: str):
    """``crawl --redis``: the archive writer of a crawl shared with workers (pipelines.distributed)."""
    import redis

    from newsarchive.runner import CrawlRun
    from pipelines.distributed import Writer

    writer = Writer(server, db, config_path, crawl_id, settings, revisit=revisit, prefix=settings.get("ARCHIVE_REDIS_PREFIX"))
    run_log.info("crawl %s: seeding the queue in Redis; `newsarchive worker --redis URL` fetches and extracts", crawl_id)
    try:
        run = writer.run()
    except redis.RedisError as exc:
        raise CliError(f"lost Redis: {exc}; the run is recorded interrupted, what was stored stays stored", EXIT_FAILED) from exc
    return CrawlRun(crawl_id=crawl_id, finish_reason=run.status, stats=run.stats, seconds=run.seconds, command="crawl")


@cli.command()
@click.option("--redis", "redis_url", required=True, metavar="URL", help="The Redis of the crawl (redis://host:port/db).")
@click.option("--allow-private", is_flag=True, help="Let every source reach loopback/private addresses.")
@click.option("--wait", "wait_secs", type=FiniteFloatRange(min=0), default=60.0, show_default=True, help="Seconds to wait for a writer (`crawl --redis`) to publish a run.")
@click.option("--redis-wait", "redis_wait", type=FiniteFloatRange(min=0), help="How long to wait for a lost Redis, seconds (default 30); then this worker stops.")
@click.option("--lease-secs", type=FiniteFloatRange(min=0.5), help="How long this worker's requests stay leased if it dies before finishing them, seconds (default 60); then they return to the queue.")
@worker_options
@click.option("-v", "--verbose", count=True, help="Log progress (-v) or everything (-vv).")
@click.option("--log-file", type=click.Path(dir_okay=False), callback=_check_log_file, help="Write the log to this file.")
def worker(redis_url, allow_private, wait_secs, redis_wait, lease_secs, workers, extract_timeout, verbose, log_file) -> None:
    """Fetch and extract for a crawl shared over Redis, on any machine; no archive here.

    Takes requests from the crawl's queue in Redis, fetches them politely (one request at a
    time per host in the whole cluster, the host's delay, robots.txt fetched once per host),
    extracts the pages in --workers processes, and hands every result to the archive
    writer (`newsarchive crawl --redis URL` on the archive's machine). Sources and templates
    come from the writer through Redis. Stops when the writer's run is done.

    \b
    Examples:
      newsarchive worker --redis redis://archive-host:6379/0
    """
    from crawler.distributed import Keys
    from crawler.distributed import worker_settings as distributed_settings
    from newsarchive.runner import project_settings, run_spider

    runlog.configure(verbose, log_file)
    server = connect_redis(redis_url)
    prefix = project_settings("").get("ARCHIVE_REDIS_PREFIX")
    keys = Keys(prefix)
    deadline = time.monotonic() + wait_secs
    while (run := server.hgetall(keys.run)).get(b"state") not in (b"seeding", b"running"):
        if time.monotonic() >= deadline:
            raise CliError(f"no crawl to work for in Redis after {wait_secs:g} s (start `newsarchive crawl --redis URL` on the archive's machine)", EXIT_USAGE)
        time.sleep(0.2)
    theirs = run.get(b"code_version", b"?").decode()
    if theirs != __version__:
        raise CliError(f"refused: the writer runs newsarchive {theirs}, this worker {__version__} (run the same version everywhere)", EXIT_USAGE)
    from pipelines.forkserver import start_forkserver

    start_forkserver(workers)  # the extraction workers' server loads while Scrapy is set up
    run_log.info("worker (pid %d) for crawl %s, config %s", os.getpid(), run.get(b"crawl_id", b"?").decode(), run.get(b"config_version", b"?").decode())
    settings = project_settings(
        "", verbosity=verbose, log_file=log_file, ARCHIVE_ALLOW_PRIVATE=allow_private,
        **distributed_settings(redis_url, prefix), **worker_settings(workers, extract_timeout),
        **({"ARCHIVE_REDIS_LEASE_SECS": lease_secs} if lease_secs else {}),
        **({"ARCHIVE_REDIS_WAIT_SECS": redis_wait} if redis_wait is not None else {}),
    )
    result = run_spider("worker", settings, config_text=run[b"config"].decode("utf-8"), redis_url=redis_url, prefix=prefix)
    message = f"worker finished in {result.seconds:.1f} s: {_plural(result.count('distributed/streamed'), 'item')} handed to the writer"
    if result.finish_reason != "finished":
        # with Redis gone, its leases run out there and return the requests once Redis is back
        then = "its unfinished requests return to the queue" if result.stopped_by else "its leased requests return to the queue when their leases run out"
        raise CliError(f"worker stopped: {result.stopped_by or result.finish_reason}; {then}", EXIT_FAILED)
    click.echo(message)


def unreadable_line(source: str, causes: list[str]) -> str:
    """``source dawn: nothing could be read (feeds, sitemaps, start pages): URL: cause; ...``."""
    shown = "; ".join(causes[:UNREADABLE_CAUSES_SHOWN])
    more = f"; and {len(causes) - UNREADABLE_CAUSES_SHOWN} more" if len(causes) > UNREADABLE_CAUSES_SHOWN else ""
    return f"source {source}: nothing could be read (feeds, sitemaps, start pages): {shown}{more}"


UNREADABLE_CAUSES_SHOWN = 5


def log_repaired(runs: list[dict]) -> None:
    """One run-log line per run found dead and marked ``interrupted``."""
    for r in runs:
        run_log.warning("%s %s (started %s, pid %s) did not end: marked interrupted", r["command"], r["id"], r["started_at"], r["pid"] or "?")


def summary_line(run) -> str:
    """``crawl 3 finished in 12.1 s: 28 new articles, 1 new version, ...``."""
    parts = [
        _plural(run.count("archive/new"), "new article"),
        _plural(run.count("archive/changed"), "new version"),
        f"{run.count('archive/unchanged')} unchanged",
        f"{run.count('archive/not_modified')} not modified (304)",
        f"{run.count('archive/not_article')} not articles",
        _plural(run.count("archive/failed"), "failure"),
    ]
    reason = f"interrupted by {run.stopped_by}" if run.stopped_by else run.finish_reason
    return f"{run.command} {run.crawl_id} {reason} in {run.seconds:.1f} s: " + ", ".join(parts)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class _ProgressBar:
    """click's progress bar on standard error, made at the first item done (when the total
    is known), or nothing at all when ``shown`` is false (standard
    error is no terminal: a log, cron's mail; or the log goes there, ``-v``). Call it with
    ``(done, total)``; use it as a context manager. :meth:`note` writes a line above it."""

    def __init__(self, label: str, shown: bool) -> None:
        self.label = label
        self.shown = shown
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        # made at the first item done: click's time estimate counts from there, not from the
        # start-up (the workers' start, a crawl's robots.txt)
        if not self.shown or (self.bar is None and (total <= 0 or done <= 0)):
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr).__enter__()
        self.bar.update(min(done, self.bar.length) - self.bar.pos)

    def note(self, message: str) -> None:
        """Write ``message`` to standard error on a line of its own, the bar drawn again under it."""
        if self.bar is None:
            click.echo(message, err=True)
            return
        click.echo("\r\x1b[K" + message, err=True)  # over the bar's line (ECMA-48 EL: erase the line)
        self.bar._last_line = None  # click draws a line only when it changed: the bar was erased
        self.bar.render_progress()

    def finish(self) -> None:
        """The run went through every item: the bar at 100%."""
        if self.bar is not None:
            self.bar.update(self.bar.length - self.bar.pos)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _stories(n: int) -> str:
    return f"{n} {'story' if n == 1 else 'stories'}"


def exit_for(run) -> None:
    """Exit status for a finished run: 1 if it was interrupted or did not finish, 4 on a storage error."""
    if run.finish_reason == "interrupted":
        resumed = "; the next crawl takes up the URLs not fetched" if run.command == "crawl" else ""
        raise CliError(f"interrupted by {run.stopped_by}: what was stored stays stored{resumed}", EXIT_FAILED)
    if run.finish_reason == "storage_error" or run.count("archive/storage_error"):
        raise CliError("the crawl stopped on a storage error (see the log); nothing half-written", EXIT_STORAGE)
    if run.crawl_id is None:
        raise CliError("the crawl could not start (see the log)", EXIT_STORAGE)
    if run.finish_reason != "finished":
        raise CliError(f"the crawl did not finish: {run.finish_reason}", EXIT_FAILED)


# -- archive -----------------------------------------------------------------------

OUTCOME_WORDS = {
    "new": "new article",
    "changed": "new version",
    "unchanged": "unchanged",
    "not_modified": "not modified",
    "not_article": "not an article",
    "failed": "error",
}


@cli.command("archive")
@click.argument("urls", nargs=-1)
@click.option("--from-file", "from_file", type=click.File("r", encoding="utf-8-sig"), help="Read URLs from a file, one per line ('-' for stdin).")
@click.option("--html", "html_file", type=click.Path(exists=True, dir_okay=False), help="Import a page saved by a browser (.html or .html.gz).")
@click.option("--url", "page_url", help="With --html: the address the page was saved from (default: the one the page names, rel=canonical or og:url).")
@click.option("--allow-private", is_flag=True, help="Let these URLs reach loopback/private addresses.")
@worker_options
@common_options
def archive_cmd(urls, from_file, html_file, page_url, allow_private, workers, extract_timeout, db, verbose, log_file) -> None:
    """Archive URLs now, or import a saved page.

    Prints one line per URL: new article, new version, unchanged, not modified (the
    server answered a conditional GET with 304), not an article, or error with the reason.
    Exits 1 if any URL failed (the others are still archived).

    \b
    Examples:
      newsarchive archive https://www.example.com/news/story-1 https://www.example.com/news/story-2
      newsarchive archive --from-file urls.txt
      newsarchive archive --html saved.html --url https://www.example.com/news/story-1
    """
    from crawler.items import FailureItem, PageItem
    from newsarchive.runner import project_settings, run_spider

    url_list = list(urls)
    if from_file is not None:
        try:
            url_list += [line.strip() for line in from_file if line.strip() and not line.lstrip().startswith("#")]
        except UnicodeDecodeError as exc:
            raise CliError(f"{from_file.name}: not UTF-8 text (byte {exc.start}): give one URL per line", EXIT_USAGE) from exc
    if page_url is not None and not page_url.strip():
        raise CliError("--url is empty: give the address the page was saved from, or leave --url out for the one it names", EXIT_USAGE)
    if page_url and not html_file:
        raise CliError("--url goes with --html (the saved page's address)", EXIT_USAGE)
    if html_file and not page_url:
        page_url = _declared_address(html_file)
        if page_url is None:
            fetched = " (a URL given without --url is fetched and archived on its own)" if url_list else ""
            raise CliError(
                f"--html needs --url: the address the page was saved from; {html_file} names no address of its own "
                f"(rel=canonical, og:url){fetched}",
                EXIT_USAGE,
            )
    if not url_list and not html_file:
        if from_file is not None:
            raise CliError(f"no URLs in {from_file.name} (one per line; '#' starts a comment)", EXIT_USAGE)
        raise CliError("give URLs, --from-file FILE or --html FILE --url URL", EXIT_USAGE)
    from archive.urls import redact_credentials

    # the run's record names the URLs, never a password given in one (user:password@)
    given = [redact_credentials(u) for u in url_list] + ([f"{html_file} as {redact_credentials(page_url)}"] if html_file else [])
    runlog.configure(verbose, log_file)
    from pipelines.forkserver import start_forkserver

    start_forkserver(workers)  # the extraction workers' server loads while Scrapy is imported
    crawl_id = start_run(db, "archive", "\n".join(given))
    run_log.info("archive %s started (pid %d): %s", crawl_id, os.getpid(), _plural(len(given), "URL"))
    settings = project_settings(
        db,
        verbosity=verbose,
        log_file=log_file,
        ARCHIVE_COMMAND="archive",
        ARCHIVE_CRAWL_ID=crawl_id,
        ARCHIVE_ALLOW_PRIVATE=allow_private,
        **worker_settings(workers, extract_timeout),
    )  # the crawl's politeness: robots.txt, one request at a time per host, its delay, AutoThrottle
    # several URLs: a bar on a terminal while they are fetched (their lines come at the end);
    # each URL given (once: a repeated one is fetched once) is answered by one page or failure
    answered: set[str] = set()
    total = len(dict.fromkeys(url_list)) + (1 if html_file else 0)
    bar = _ProgressBar("archiving", total > 1 and not verbose and sys.stderr.isatty())

    def on_item(item, spider) -> None:
        if isinstance(item, (PageItem, FailureItem)) and item.url not in answered:
            answered.add(item.url)
            bar(len(answered), total)

    with bar:
        run = run_spider("urls", settings, on_item=on_item, urls=url_list, html_file=html_file, url=page_url, allow_private=allow_private)
        if run.finish_reason == "finished":
            bar.finish()
    if run.crawl_id is None:
        exit_for(run)
    (run_log.info if run.finish_reason == "finished" else run_log.warning)(summary_line(run))
    with open_archive(db) as archive:
        results = archive.crawl_results(run.crawl_id)
    if run.spider is not None:
        if run.finish_reason != "finished":
            # a URL the stopped run never got to has its line too, in its place
            answered = {row["url"] for row in results}
            stopped = f"interrupted by {run.stopped_by}" if run.stopped_by else run.finish_reason
            results += [
                {"url": url, "outcome": "failed", "message": f"not fetched: the run was {stopped}; archive it again"}
                for url in run.spider.input_order
                if url not in answered
            ]
        results = run.spider.in_input_order(results)
    failed = 0
    for row in results:
        word = OUTCOME_WORDS.get(row["outcome"], row["outcome"])
        if row["outcome"] == "failed":
            failed += 1
            click.echo(f"{word:<14} {row['url']}: {row['message']}")
        elif row["canonical_url"]:
            click.echo(f"{word:<14} {row['canonical_url']} v{row['version']}: {row['title'] or '(no title)'}")
        else:
            click.echo(f"{word:<14} {row['final_url'] or row['url']}")
    exit_for(run)
    if failed:
        sys.exit(EXIT_FAILED)


# -- import-warc -------------------------------------------------------------------


@cli.command("import-warc")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--site", help="The site name of every imported page (default: as the WARC's metadata says, else the host).")
@common_options
def import_warc(files, site, db, verbose, log_file) -> None:
    """Import WARC files (or WACZ files): every HTML response or resource record becomes a capture.

    Each page is extracted, identified and versioned as in a crawl (captures with
    origin "warc", fetched at their WARC-Date); revisit records are resolved; other
    records are counted and skipped; a record that fails is a failures row.

    \b
    Examples:
      newsarchive import-warc crawl-1.warc.gz crawl-2.warc.gz --db archive.db
      newsarchive import-warc CC-NEWS-20260101.warc.gz --site ccnews
      newsarchive import-warc browsertrix-crawl.wacz
    """
    from crawler.warcread import warc_file_problem
    from pipelines.warcimport import import_warc as run_import

    configure_logging(verbose, log_file)
    if not verbose:  # each failed record is a failures row and counted in the summary line
        import logging

        logging.getLogger("pipelines.store").setLevel(logging.ERROR)
    for name in files:
        if problem := warc_file_problem(name):
            raise CliError(f"{name}: {problem}", EXIT_USAGE)
    crawl_id = start_run(db, "import-warc", "\n".join(str(Path(f).resolve()) for f in files))
    started = time.monotonic()
    total = sum(Path(f).stat().st_size for f in files)
    with _ProgressBar("importing", not verbose and sys.stderr.isatty()) as bar:  # over the files' bytes
        run = run_import(db, list(files), site=site, crawl_id=crawl_id, progress=lambda done: bar(done, total))
    done = "imported" if run.status == "finished" else "stopped importing"  # the error line follows
    click.echo(
        f"{done} {_plural(len(files), 'file')} in {time.monotonic() - started:.1f} s: "
        f"{_plural(run.count('archive/new'), 'new article')}, {_plural(run.count('archive/changed'), 'new version')}, "
        f"{run.count('archive/unchanged')} unchanged, {run.count('archive/not_modified')} not modified (304), "
        f"{run.count('archive/not_article')} not articles, {_plural(run.count('archive/failed'), 'failure')}; "
        f"{_plural(run.records.get('revisits', 0), 'revisit')} resolved, {_plural(run.records.get('skipped', 0), 'other record')} skipped"
        + (f", {_plural(run.count('archive/already_stored'), 'capture')} already in the archive" if run.count("archive/already_stored") else "")
    )
    if run.status == "storage_error":
        raise CliError("the import stopped on a storage error (see the log); nothing half-written", EXIT_STORAGE)
    if run.status != "finished":
        raise CliError(f"the import did not finish: {run.status}; the captures stored so far are kept", EXIT_FAILED)


# -- extract -----------------------------------------------------------------------


@cli.command()
# a folder among the files is an error of its own, as a missing file is: the others are still extracted
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--url", help="The page's address (one file only); else the page's own canonical URL.")
@click.option("--include", help="CSS selector of the story container (as [source.extract] include).")
@click.option("--exclude", multiple=True, help="CSS selector of elements to drop (repeatable).")
@click.option("--timezone", "timezone_name", help="IANA zone for dates stated without offset.")
@worker_options
@common_options
def extract(files, url, include, exclude, timezone_name, workers, extract_timeout, db, verbose, log_file) -> None:
    """Show what extraction keeps of saved pages, as JSON Lines; writes nothing.

    One JSON object per file, with keys file, url, canonical_url, title, standfirst,
    text, authors, published, modified, published_source, modified_source, language,
    description, sitename, tags, image, is_article, template.

    With an archive (--db, default archive.db, when the file exists), a page of a site
    the archive has learned a template for is extracted with it, as a crawl would keep
    it; template names it (site@version), else it is null.

    \b
    Examples:
      newsarchive extract page.html --url https://www.example.com/news/story
      newsarchive extract saved/*.html.gz
      newsarchive extract page.html --exclude '.related' --exclude 'aside'
    """
    from crawler.config import ConfigError, check_css
    from crawler.options import ExtractOptions
    from collections import deque
    from datetime import datetime, timezone

    from pipelines.jobs import map_jobs
    from pipelines.extraction import ExtractionError
    from pipelines.workers import ExtractJob
    from crawler.sniff import read_saved_page, unreadable_because
    from archive.urls import canonical_url

    configure_logging(verbose, log_file)
    if url and len(files) > 1:
        raise CliError("--url names one page: give one file, or omit --url to use each page's canonical URL", EXIT_USAGE)
    if url:
        from crawler.config import url_problem

        if problem := url_problem(url):
            raise CliError(f"--url: {problem}", EXIT_USAGE)
    try:
        for selector in ([include] if include else []) + list(exclude):
            check_css(selector, "--include/--exclude")
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    if timezone_name:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CliError(f"unknown timezone {timezone_name!r}", EXIT_USAGE) from exc
    options = ExtractOptions(include=include, exclude=tuple(exclude), timezone=timezone_name)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    in_flight: deque[str] = deque()
    failed = read = 0

    def jobs():
        nonlocal failed, read
        for name in files:
            read += 1
            try:
                body = read_saved_page(name)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                failed += 1
                bar.note(f"error: {name}: {unreadable_because(exc)}")
                continue
            except ExtractionError as exc:
                failed += 1
                bar.note(f"error: {name}: {exc}")
                continue
            in_flight.append(name)
            # without --url, the page's own address, as a crawl has the page's URL (a date in it)
            yield ExtractJob(body, url or _declared_address_of(body), None, options, None, now)

    # over many files, a bar while the JSON goes to a file or a pipe
    bar = _ProgressBar("extracting", len(files) > 1 and not verbose and sys.stderr.isatty() and not sys.stdout.isatty())

    def show(result, name: str) -> None:
        """One file's result: its JSON line, or its error on standard error."""
        nonlocal failed
        if result.error is None and templates is not None:
            # at the page's own address without --url, as the job was (a date in it counts)
            result = templates.applied(result, name, url or _first_http_url(result.extraction.canonical_candidates), options, now)
        if result.error is not None:
            failed += 1
            bar.note(f"error: {name}: {result.error[1]}")
            return
        e = result.extraction
        if include and not e.include_matched:
            bar.note(f"note: {name}: --include {include!r} matched nothing; the whole page was used")
        # the address the page names for itself: a relative rel=canonical is resolved against it
        page_url = url or _first_http_url(e.canonical_candidates)
        canonical = None
        if page_url:
            try:
                canonical = canonical_url(page_url, e.canonical_candidates)[0]
            except ValueError:
                canonical = None
        record = {
            "file": name,
            "url": page_url,
            "canonical_url": canonical,
            "title": e.title,
            "standfirst": e.standfirst,
            "text": e.text,
            "authors": e.authors,
            "published": e.published.value if e.published else None,
            "modified": e.modified.value if e.modified else None,
            "published_source": e.published.source if e.published else None,
            "modified_source": e.modified.source if e.modified else None,
            "language": e.language,
            "description": e.description,
            "sitename": e.sitename,
            "tags": e.tags,
            "image": e.image,
            "is_article": e.is_article,
            "template": e.template,
        }
        click.echo(json.dumps(record, ensure_ascii=False))

    # one file is extracted here; several in worker processes (one per core by default)
    pool_size = extraction_pool_size(workers, extract_timeout) if len(files) > 1 else (0, None)
    templates = _SiteTemplates(db) if Path(db).is_file() else None
    with bar:
        for result in map_jobs(jobs(), *pool_size):
            show(result, in_flight.popleft())
            bar(read - len(in_flight), len(files))
        bar.finish()
    if templates is not None:
        templates.close()
    if failed:
        sys.exit(EXIT_FAILED)


class _SiteTemplates:
    """``extract --db``: a page of a site the archive knows (by its URL's host: the
    :func:`pipelines.templates.load_template` that ``archive URL`` uses) is extracted again,
    in this process, with the site's learned template, as the archive would keep it."""

    def __init__(self, db: str) -> None:
        self.archive = open_archive(db, create=False)

    def applied(self, result, name: str, url: str | None, options, fetched_at: str):
        """``result`` again with the template of its page's site; as it is without one."""
        from dataclasses import replace

        from crawler.sniff import read_saved_page
        from pipelines.jobs import run_job
        from pipelines.templates import load_template
        from pipelines.workers import ExtractJob

        e = result.extraction
        page_url = url or _first_http_url(e.canonical_candidates)
        template = load_template(self.archive, None, page_url) if page_url else None
        if template is None:
            return result
        return run_job(ExtractJob(read_saved_page(name), url, None, replace(options, template=template), None, fetched_at))

    def close(self) -> None:
        self.archive.close()


# -- history, reextract, export-warc --------------------------------------------------


def _since(value: str | None) -> str | None:
    """``--since`` as the archive's UTC text form (a day or a full timestamp)."""
    if value is None:
        return None
    from dateutil.parser import isoparse

    try:
        moment = isoparse(value)
    except ValueError as exc:
        raise CliError(f"--since {value!r}: not a date like 2026-11-29 or 2026-11-29T12:00:00Z", EXIT_USAGE) from exc
    if moment.tzinfo is not None:
        from datetime import timezone

        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@cli.command()
@click.argument("url")
@click.option("--from", "from_version", type=click.IntRange(1, 10**9), help="Compare from this version (default: the one before --to).")
@click.option("--to", "to_version", type=click.IntRange(1, 10**9), help="Compare to this version (default: the latest).")
@common_options
def history(url, from_version, to_version, db, verbose, log_file) -> None:
    """Show a story's versions and a word diff between two of them.

    URL may be the canonical URL or any alias. Re-extraction versions (our extractor
    changed, not the story) are marked as such.

    \b
    Examples:
      newsarchive history https://www.example.com/news/story
      newsarchive history https://www.example.com/news/story --from 1 --to 3
    """
    from archive.diff import compare, render

    configure_logging(verbose, log_file)
    if not url.strip():
        raise CliError("URL is empty: give a story's URL (its canonical URL or any alias)", EXIT_USAGE)
    with open_archive(db, create=False) as archive:
        article_id = archive.find_article_id(url)
        if article_id is None:
            from archive.urls import redact_credentials

            raise CliError(f"no article for {redact_credentials(url)} in {db}", EXIT_FAILED)
        a = archive.article(article_id)
        versions = a["versions"]
        wanted = len(versions) >= 2 or bool(from_version or to_version)  # a comparison to show
        if wanted:  # checked before anything is printed: a usage error prints only itself
            if not versions:
                raise CliError("this story has no versions to compare (its text was redacted)" if a["status"] == "redacted"
                               else "this story has no versions to compare", EXIT_USAGE)
            given = (from_version, to_version)
            to_version = to_version or versions[-1]["version"]
            from_version = from_version or max(1, to_version - 1)
            old, new = archive.snapshot(article_id, from_version), archive.snapshot(article_id, to_version)
            latest = versions[-1]["version"]
            if old is None or new is None:
                raise CliError(f"versions are 1 to {latest}", EXIT_USAGE)
            if from_version == to_version:
                raise CliError(
                    "this story has one version: nothing to compare" if latest == 1
                    else f"--from and --to are both version {to_version}: give two different versions" if all(given)
                    else f"--from {from_version} is the latest version: give --to too (1 to {latest})" if given[0]
                    else f"--to {to_version} is the first version: give --from too (1 to {latest})",
                    EXIT_USAGE,
                )
        click.echo(a["canonical_url"])
        click.echo(
            f"article {a['id']} · site {a['site']} · {a['status']} · first seen {a['first_seen']} · "
            f"last seen {a['last_seen']} · {_plural(a['captures'], 'capture')}"
        )
        if a["status"] == "redacted":
            click.echo(f"redacted {a.get('redacted_at')}: {a.get('redaction_reason')}")
        for v in versions:
            change = f"   (+{v['words_added']} −{v['words_removed']} words{', new title' if v['title_changed'] else ''})" if v["words_added"] is not None else ""
            click.echo(f"  v{v['version']:<3} {v['fetched_at']}  {v['reason']:<9}  {v['title'] or '(no title)'}{change}")
        for alias in a["aliases"]:
            click.echo(f"  alias ({alias['kind']}): {alias['url']}")
        for other in a["near_duplicates"]:
            click.echo(f"  near-duplicate: article {other['id']} {other['canonical_url']} (similarity {other['similarity']:.2f})")
        if not wanted:
            return
        change = compare(old, new)
        # consecutive versions: why the later one was made; any other pair: just a comparison
        label = new["reason"] if to_version == from_version + 1 else "comparison"
        click.echo(f"\nv{from_version} → v{to_version} ({label}):")
        if change.title_changed:
            click.echo(f"  title: {old['title']!r} → {new['title']!r}")
        for field in ("published", "modified"):
            if old[field] != new[field]:
                click.echo(f"  {field}: {old[field]} → {new[field]}")
        click.echo(render(change.ops))


@cli.command()
@click.option("--since", help="Only stories captured since this date (UTC), e.g. 2026-11-01.")
@worker_options
@common_options
def reextract(since, workers, extract_timeout, db, verbose, log_file) -> None:
    """Run the current extraction again on stored bodies; fetches nothing.

    A story whose content now extracts differently gets a new version with reason
    "reextract", kept apart from the publisher's edits.

    \b
    Example:
      newsarchive reextract --db archive.db --since 2026-11-01
    """
    from pipelines.reextract import reextract as run

    configure_logging(verbose, log_file)
    since_utc = _since(since)
    with open_archive(db, create=False) as archive:
        try:
            log_repaired(archive.end_dead_runs(locked=False))
            with _ProgressBar("re-extracting", not verbose and sys.stderr.isatty()) as bar:
                counts = run(archive, since_utc, *extraction_pool_size(workers, extract_timeout), progress=bar)
                bar.finish()
        except ArchiveError as exc:
            raise CliError(str(exc), EXIT_STORAGE) from exc
    click.echo(
        f"re-extracted {_plural(counts['articles'], 'article')}: {_plural(counts['changed'], 'new version')} (reextract), "
        f"{counts['unchanged']} unchanged, {counts['skipped']} skipped, {_plural(counts['failed'], 'failure')}"
    )


@cli.command("export-warc")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The WARC file to write: .warc.gz (or .warc, uncompressed; .wacz with --wacz); must not exist.")
@click.option("--since", help="Only captures since this date (UTC), e.g. 2026-11-01.")
@click.option("--wacz", "wacz", is_flag=True, help="Write a WACZ 1.1.1 file (the WARC, its CDXJ index and a page list, zipped) for ReplayWeb.page.")
@common_options
def export_warc(out, since, wacz, db, verbose, log_file) -> None:
    """Write the archive's captures as a WARC/1.1 file (request, response, revisit and metadata records).

    \b
    Examples:
      newsarchive export-warc --db archive.db --out archive.warc.gz --since 2026-11-01
      newsarchive export-warc --wacz --db archive.db --out archive.wacz
    """
    from archive.warcwriter import export_archive

    configure_logging(verbose, log_file)
    since_utc = _since(since)
    if wacz and not out.endswith(".wacz"):
        raise CliError(f"--out must name a .wacz file with --wacz: {out}", EXIT_USAGE)
    if not wacz and not out.endswith((".warc.gz", ".warc")):
        hint = " (add --wacz for a WACZ file)" if out.endswith(".wacz") else ""
        raise CliError(f"--out must name a .warc.gz file (or .warc, uncompressed): {out}{hint}", EXIT_USAGE)
    _check_new_file(out)
    with open_archive(db, create=False) as archive, _removed_if_unfinished(out) as stream:
        if wacz:
            from archive.wacz import export_wacz

            captures, records, pages = export_wacz(archive, stream, title=f"newsarchive {Path(db).name}", since=since_utc)
        else:
            captures, records = export_archive(archive, stream, Path(out).name, gzip=out.endswith(".gz"), since=since_utc)
    click.echo(f"wrote {out}: {_plural(captures, 'capture')} in {_plural(records, 'record')}" + (f", {_plural(pages, 'page')}" if wacz else ""))


@contextlib.contextmanager
def _removed_if_unfinished(out: str):
    """Create ``out`` (:func:`_create_new`) and give its stream; remove it if a signal stops
    the command (exit 1, one line), writing it fails (a full disk, an I/O error: exit 4, one
    line), or anything else is raised inside: an unfinished file would look like a whole
    export."""
    stream = _create_new(out)
    try:
        with stream:
            yield stream
            interrupt.raise_if_stopped()  # a signal whose exception a library swallowed (cdxj_indexer)
    except Interrupted as exc:
        _discard(stream, out)
        raise CliError(f"{exc}: stopped; the unfinished {out} removed", interrupt.EXIT_INTERRUPTED) from exc
    except OSError as exc:  # also from the close, which writes the last bytes
        _discard(stream, out)
        raise CliError(f"cannot write {out}: {exc.strerror or exc}; {out} removed", EXIT_STORAGE) from exc
    except BaseException:
        _discard(stream, out)
        raise


def _discard(stream, out: str) -> None:
    """Close ``stream`` (what it still buffers may not be written: that error is moot) and
    remove ``out``."""
    with contextlib.suppress(OSError):
        stream.close()
    Path(out).unlink(missing_ok=True)


@cli.command("export")
@click.option("--what", "what", type=click.Choice(["stories", "versions", "changes"]), default="stories", show_default=True, help="One row per story, per version, or per change.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), help="JSON Lines, CSV, or Parquet (needs pyarrow). Default: --out's extension (.jsonl, .csv, .parquet), else jsonl.")
@click.option("--site", help="Only this site (articles.site).")
@click.option("--since", help="Only stories seen, versions fetched or changes made since this date (UTC), e.g. 2026-11-01.")
@click.option("--out", help="The file to write (must not exist; a name ending .gz is gzip-compressed, e.g. versions.jsonl.gz); - or none: standard output.")
@common_options
def export(what, fmt, site, since, out, db, verbose, log_file) -> None:
    """Export stories, versions or changes for research, streamed (constant memory).

    Redacted stories are left out. Prints the row count on standard error.

    \b
    Examples:
      newsarchive export --what versions --format jsonl > versions.jsonl
      newsarchive export --what changes --format csv --site nyt --since 2026-11-01 --out changes.csv
      newsarchive export --what stories --format parquet --out stories.parquet
      newsarchive export --what versions --out versions.jsonl.gz
    """
    import os

    from archive.export import ExportError, write

    configure_logging(verbose, log_file)
    since_utc = _since(since)
    if out is not None and not out.strip():
        raise CliError("--out '': give a file name, or - for standard output", EXIT_USAGE)
    if out and Path(out).name.lower() in {*EXPORT_EXTENSIONS, ".gz", *(f"{e}.gz" for e in EXPORT_EXTENSIONS)}:
        raise CliError(f"--out {out}: give a file name before the extension (e.g. versions{Path(out).name})", EXIT_USAGE)
    out = None if out == "-" else out  # "-": standard output, as without --out
    named, gzipped = _export_format_of(out) if out else (None, False)
    note = None  # said once the export is sure to be written (after every check)
    if out and not fmt and not named:
        note = f"{out}: its extension names no format (.jsonl, .csv, .parquet); writing JSON Lines"
    elif out and fmt and named and fmt != named:
        note = f"{out}: writing {fmt}, as --format says, not the {named} its extension names"
    fmt = fmt or named or "jsonl"
    if gzipped and fmt == "parquet":
        raise CliError(f"--out {out}: Parquet compresses its own columns; name the file .parquet", EXIT_USAGE)
    if out:
        _check_new_file(out)
    elif fmt == "parquet" and sys.stdout.isatty():
        raise CliError("Parquet is binary: give --out FILE (or redirect standard output)", EXIT_USAGE)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise CliError("--format parquet needs pyarrow: pip install 'newsarchive[parquet]'", EXIT_USAGE) from exc
    with open_archive(db, create=False) as archive:
        _check_site(site, {row["site"] for row in archive.sites()}, db)
        with _removed_if_unfinished(out) if out else contextlib.nullcontext(click.get_binary_stream("stdout")) as file:
            if note:
                click.echo(note, err=True)
            # the name without .gz names the format (RFC 1952 gzip, streamed)
            stream = gzip.GzipFile(filename=Path(out).stem, mode="wb", fileobj=file, mtime=0) if gzipped else file
            try:
                count = write(archive.db.conn, stream, what, fmt, site, since_utc)
                interrupt.raise_if_stopped()  # a signal whose exception a library swallowed
                stream.flush()
                if gzipped:
                    stream.close()  # writes the gzip trailer
            except BrokenPipeError:  # standard output's reader stopped (| head): not an error
                sys.stderr.close()
                sys.exit(0)
            except ExportError as exc:
                raise CliError(str(exc) + (f"; {out} removed" if out else ""), EXIT_USAGE) from exc
            except OSError as exc:
                if out:
                    raise  # the file's: _removed_if_unfinished removes it and says so
                # what is still buffered would fail again at exit, with a traceback
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise CliError(f"cannot write standard output: {exc.strerror or exc}", EXIT_STORAGE) from exc
    noun = {"stories": "story"}.get(what, what[:-1]) if count == 1 else what
    click.echo(f"exported {count} {noun}" + (f" to {out}" if out else ""), err=True)


@cli.command()
@click.argument("url", required=False)
@click.option("--site", help="Redact every story of this site (articles.site) instead of one URL.")
@click.option("--reason", required=True, help="Why (a court order, an erasure request, ...); kept on the tombstone.")
@common_options
def redact(url, site, reason, db, verbose, log_file) -> None:
    """Remove a story's text, bodies and search entries; keep a tombstone.

    The article row stays (status "redacted", when, the reason); every version, diff,
    raw body and search entry of the story goes, the file is vacuumed and its WAL
    truncated, and exports, WARC and pages leave the story out. A later fetch of the URL
    is not archived.

    \b
    Examples:
      newsarchive redact https://www.example.com/news/story --reason "court order 2026/123"
      newsarchive redact --site example --reason "publisher request"
    """
    from archive.lock import ArchiveLock, LockHeld
    from archive.redaction import RedactionError, find_articles
    from archive.redaction import redact as run

    configure_logging(verbose, log_file)
    if bool(url) == bool(site):
        raise CliError("give a story's URL or --site NAME (one of them)", EXIT_USAGE)
    if not reason.strip():
        raise CliError("--reason must say why (it stays on the story's tombstone)", EXIT_USAGE)
    open_archive(db, create=False).close()
    lock = ArchiveLock(db)
    try:
        lock.acquire()  # no crawl writes meanwhile (VACUUM rewrites the file)
    except LockHeld as exc:
        raise CliError(str(exc), EXIT_LOCKED) from exc
    try:
        with open_archive(db, create=False) as archive:
            try:
                if site:
                    articles = find_articles(archive, site=site)
                else:
                    articles = find_articles(archive, url=_known_url(archive, url))
                done = run(archive, articles, reason)
            except RedactionError as exc:
                raise CliError(str(exc), EXIT_USAGE) from exc
    finally:
        lock.release()
    for _, canonical_url in done.articles:
        click.echo(f"redacted       {canonical_url}")
    for canonical_url in done.already:
        click.echo(f"already        {canonical_url} (redacted before; left as it was)")
    stories = "1 story" if len(done.articles) == 1 else f"{len(done.articles)} stories"
    click.echo(
        f"{stories} redacted: {_plural(done.versions, 'version')} and {done.bodies} raw "
        f"{'body' if done.bodies == 1 else 'bodies'} removed, {_plural(done.captures, 'capture')} emptied"
        + (f", {_plural(done.mentions, 'other capture')} emptied (feeds, sitemaps or pages that named it)"
           if done.mentions else "")
        + (f", {done.shared_bodies} raw bodies kept (another story's capture has the same bytes)" if done.shared_bodies else "")
        + ("; file vacuumed, WAL truncated" if done.wal_clear else "; file vacuumed, but a reader kept the WAL open: run again when it has closed")
    )


def _known_url(archive, url: str) -> str:
    """``url`` as the archive knows it: as given, else normalised (w3lib), as ``history`` does."""
    if archive.find_article_id(url) is not None:
        return url
    from archive.urls import normalize_url

    try:
        return normalize_url(url)
    except ValueError:
        return url


#: ``export``'s formats by a file's extension (``--out``, without ``--format``)
EXPORT_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def _export_format_of(out: str) -> tuple[str | None, bool]:
    """The format ``out``'s extension names (``None``: none) and whether it ends ``.gz``:
    ``changes.csv.gz`` is ``("csv", True)``."""
    suffixes = [suffix.lower() for suffix in Path(out).suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes.pop()
    return EXPORT_EXTENSIONS.get(suffixes[-1] if suffixes else ""), gzipped


def _check_new_file(out: str) -> None:
    """Exit 2 unless ``out`` names nothing yet (not even a symbolic link, dangling or not:
    writing through one would create or replace a file elsewhere) in an existing folder."""
    import os

    if not out or not Path(out).name or out.endswith(("/", os.sep)):
        raise CliError(f"--out {out!r}: give a file name", EXIT_USAGE)
    if os.path.lexists(out):
        raise CliError(f"{out} exists; give a new file name", EXIT_USAGE)
    if not Path(out).parent.resolve().is_dir():
        raise CliError(f"folder {Path(out).parent.resolve()} does not exist", EXIT_USAGE)


def _create_new(out: str):
    """Open ``out`` for writing only if it does not exist (O_CREAT | O_EXCL: never through a
    symbolic link, never over a file created since the check); exit 2 otherwise."""
    try:
        return open(out, "xb")  # noqa: SIM115 - the caller's with-statement closes it
    except FileExistsError as exc:
        raise CliError(f"{out} exists; give a new file name", EXIT_USAGE) from exc
    except OSError as exc:  # a name too long, a folder without write permission, ...
        raise CliError(f"cannot create {out}: {exc.strerror}", EXIT_USAGE) from exc


# -- check and backup --------------------------------------------------------------


@cli.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Sources to check (TOML).")
@click.option("--offline", is_flag=True, help="Only validate the file; fetch nothing.")
@click.option("--allow-private", is_flag=True, help="Let every source reach loopback/private addresses.")
@common_options
def check(config_path, offline, allow_private, db, verbose, log_file) -> None:
    """Validate a config and say what each source would fetch first (a dry run).

    Reads each source's feeds, sitemaps and section pages (robots.txt obeyed) and lists
    the article URLs a crawl would fetch, without requesting any article and without
    writing to the archive; counts the known articles due for a re-check.

    \b
    Examples:
      newsarchive check --config sources.toml
      newsarchive check --config sources.toml --offline
    """
    from crawler.config import ConfigError, load_config
    from newsarchive.runner import project_settings, run_spider
    from crawler.useragent import user_agent

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    click.echo(f"{config_path}: valid, {_plural(len(config.sources), 'source')}")
    click.echo(f"User-Agent: {user_agent(config.user_agent, config.contact)}")
    if not config.contact and not config.user_agent:
        click.echo("note: no [crawl] contact: site operators cannot reach you (set contact = URL or e-mail)")
    plan = {}
    if not offline:
        settings = project_settings(db, verbosity=verbose, log_file=log_file, ARCHIVE_ALLOW_PRIVATE=allow_private)
        run = run_spider("check", settings, config=config_path)
        plan = run.spider.plan if run.spider is not None else {}
    for source in config.sources:
        click.echo(f"\nsource {source.name} (hosts: {', '.join(sorted(source.hosts))})")
        for key in ("feeds", "sitemaps", "start_urls"):
            values = getattr(source, key)
            click.echo(f"  {key + ':':<12}{' '.join(values) if values else '-'}")
        rules = [f"depth {source.depth}"]
        rules += [f"allow {', '.join(p.pattern for p in source.allow)}"] if source.allow else []
        rules += [f"deny {', '.join(p.pattern for p in source.deny)}"] if source.deny else []
        rules += [f"since {source.since_days:g} days"] if source.since_days is not None else []
        rules += [f"timezone {source.timezone}"] if source.timezone else []
        rules += ["allow_private"] if source.allow_private else []
        click.echo(f"  rules:      {'; '.join(rules)}")
        if source.name in plan:
            p = plan[source.name]
            click.echo(
                f"  would fetch: {_plural(len(p['new']), 'new article')}, re-check {p['due']} due; "
                f"{p['known']} discovered URLs are known articles"
            )
            for url in p["new"][:CHECK_SHOWN]:
                click.echo(f"    {url}")
            if len(p["new"]) > CHECK_SHOWN:
                click.echo(f"    ... and {len(p['new']) - CHECK_SHOWN} more")
            if p["failed"]:
                click.echo(f"  could not read {_plural(len(p['failed']), 'URL')}:")
                for url, message in p["failed"][:CHECK_SHOWN]:
                    click.echo(f"    {url}: {message}")
                if len(p["failed"]) > CHECK_SHOWN:
                    click.echo(f"    ... and {len(p['failed']) - CHECK_SHOWN} more")


CHECK_SHOWN = 5


@cli.command("add-source")
@click.argument("url")
@click.option("--name", help="The source's name (default: from the host, e.g. dawn for www.dawn.com).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Append the stanza to this config file (checked first).")
@click.option("--allow-private", is_flag=True, help="Let the home page be a loopback/private address (and say so in the stanza).")
@common_options
def add_source(url, name, config_path, allow_private, db, verbose, log_file) -> None:
    """Find a site's feeds and sitemaps from its home page; print a [[source]] stanza.

    Reads the home page's <link rel="alternate"> feeds, robots.txt's Sitemap: lines and
    common feed and sitemap paths, through the crawl's downloader (robots.txt obeyed),
    and keeps what parses as a feed or a sitemap. Writes nothing to the archive.

    \b
    Examples:
      newsarchive add-source https://www.example.com/
      newsarchive add-source https://www.example.com/ --name example --config sources.toml
    """
    from crawler.addsource import AddSourceError, append, check_name, source_name, stanza
    from crawler.config import url_problem
    from newsarchive.runner import project_settings, run_spider

    if problem := url_problem(url):
        raise CliError(f"{url}: {problem}", EXIT_USAGE)
    name = name or source_name(url)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise CliError(f"--name {name!r}: use letters, digits, '.', '_' and '-'", EXIT_USAGE)
    if config_path:
        try:
            check_name(config_path, name)
        except AddSourceError as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc
    settings = project_settings(
        db, verbosity=verbose, log_file=log_file, ARCHIVE_ALLOW_PRIVATE=allow_private, ITEM_PIPELINES={},
        DOWNLOAD_DELAY=0.5, AUTOTHROTTLE_ENABLED=False,
    )
    run = run_spider("discover", settings, url=url)
    spider = run.spider
    if spider is None or spider.found["home"] is None:
        reason = spider.home_error if spider is not None and spider.home_error else run.finish_reason
        raise CliError(f"could not read the home page {url}: {reason}", EXIT_FAILED)
    found = spider.found
    text = stanza(name, found["home"], found["feeds"], found["sitemaps"], allow_private)
    for line in found["robots_sitemaps"]:
        click.echo(f"# robots.txt names the sitemap {line}", err=True)
    if not found["feeds"] and not found["sitemaps"]:
        click.echo("# no feed or sitemap found: the source has only its home page as a section page", err=True)
    if config_path:
        try:
            append(config_path, text, name)
        except AddSourceError as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc
        click.echo(f"added source {name!r} to {config_path}:", err=True)
    click.echo(text, nl=False)
    if run.finish_reason != "finished":
        raise CliError(f"stopped before the end: {run.finish_reason}", EXIT_FAILED)


@cli.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The copy to write (must not exist).")
@common_options
def backup(out, db, verbose, log_file) -> None:
    """Make a consistent copy of the archive, also while a crawl writes (SQLite VACUUM INTO).

    \b
    Example:
      newsarchive backup --db archive.db --out backups/archive-2026-11-29.db
    """
    configure_logging(verbose, log_file)
    _check_new_file(out)
    with open_archive(db, create=False) as archive:
        try:
            size = archive.backup(out)
        except OutputExistsError as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc
        except ArchiveError as exc:
            raise CliError(str(exc), EXIT_STORAGE) from exc
    click.echo(f"wrote {out} ({size / 1024 / 1024:.1f} MiB)")


# -- stats and serve ---------------------------------------------------------------


@cli.command()
@common_options
def stats(db, verbose, log_file) -> None:
    """Print the archive's counts and its last crawl.

    \b
    Example:
      newsarchive stats --db archive.db
    """
    configure_logging(verbose, log_file)
    with open_archive(db, create=False) as archive:
        counts = archive.counts()
        last = archive.last_crawl()
    click.echo(f"archive:   {db}")
    for table in ("articles", "snapshots", "captures", "bodies", "aliases", "failures", "crawls"):
        click.echo(f"{table + ':':<10} {counts[table]}")
    if last:
        click.echo(
            f"last crawl: #{last['id']} {last['command']} {last['status']}, "
            f"started {last['started_at']}, finished {last['finished_at'] or '-'}"
        )


@cli.command()
@click.argument("site", required=False)
@click.option("--learn", is_flag=True, help="Learn SITE's template now from the stories the archive holds.")
@common_options
def templates(site, learn, db, verbose, log_file) -> None:
    """Show the site templates learned from the archive, or learn one.

    A template is the blocks a site repeats around its stories (menus, share bars, teaser
    lists, "most read", footers), learned from the stories the archive holds; extraction
    removes them, and never takes a date from them. Without SITE: every site with its
    latest template; with SITE: its versions and the latest one's blocks.

    \b
    Examples:
      newsarchive templates
      newsarchive templates example-news
      newsarchive templates --learn example-news
    """
    from pipelines.templates import learn_site

    configure_logging(verbose, log_file)
    if learn and not site:
        raise CliError("--learn needs a SITE (newsarchive templates lists them)", EXIT_USAGE)
    with open_archive(db, create=False) as archive:
        known = {row["site"]: row["stories"] for row in archive.sites()}
        _check_site(site, known, db)
        if learn:
            from pipelines.extraction.template import MIN_BLOCK_STORIES

            # fewer stories than a block must be seen on learn nothing: no empty template is saved
            template = learn_site(archive, site, min_stories=MIN_BLOCK_STORIES)
            if template is None:
                click.echo(
                    f"{site}: no template: a template is learned from {MIN_BLOCK_STORIES} stories with a stored page "
                    f"or more ({_stories(known[site])} in the archive); the site gets the generic extraction"
                )
                return
            click.echo(
                f"{site}: learned template v{template.version} from {_stories(template.stories)}: "
                f"{_plural(len(template.blocks), 'block')}"
            )
        rows = archive.templates(site)
    if not site:
        if not known:
            click.echo(f"no stories in {db} yet: templates are learned from them")
        for name, stories in sorted(known.items()):
            latest = next((r for r in rows if r["site"] == name), None)
            if latest is None:
                click.echo(f"{name}: {_stories(stories)}, no template (generic extraction)")
            else:
                click.echo(
                    f"{name}: {_stories(stories)}, template v{latest['version']} learned {latest['learned_at']} "
                    f"from {_stories(latest['stories'])}: {_plural(len(latest['blocks']), 'block')}"
                )
        return
    if not rows:
        click.echo(f"{site}: {_stories(known[site])}, no template (generic extraction)")
        return
    for row in rows:
        click.echo(f"{site} v{row['version']}: learned {row['learned_at']} from {_stories(row['stories'])}, {_plural(len(row['blocks']), 'block')}")
    for block in rows[0]["blocks"]:
        click.echo(f"  {block['kind']:<5} on {block['stories']:>4} stories  {block['path']}")
        if block.get("sample"):
            click.echo(f"        {block['sample']}")


@cli.command()
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (0: any free port).")
@common_options
def serve(port, db, verbose, log_file) -> None:
    """Browse and search the archive in Datasette on 127.0.0.1.

    Read-only: Datasette reads through read-only connections and every write action is
    refused, so a crawl can write to the same archive meanwhile (WAL). The home page
    searches the stories; each story has a page with its text, dates, URLs, versions and
    diffs (/-/story/ID).

    \b
    Example:
      newsarchive serve --db archive.db --port 8001
    """
    import json
    import logging
    import tempfile

    # A stop is how serve ends (exit status 0), also one that comes while it starts (the
    # Datasette import takes about a second). uvicorn shuts down on SIGINT/SIGTERM, then
    # raises the signal again: archive.interrupt turns it into Interrupted, and the
    # temporary folder goes with the with-block.
    try:
        from datasette.cli import cli as datasette_cli

        from archive import web

        configure_logging(verbose, log_file)
        if not verbose:
            # Datasette runs uvicorn at log level "info" (its start and stop lines, a line per
            # request): without -v serve prints its own line and errors only. uvicorn's
            # logging.config.dictConfig keeps the filters a logger already has.
            for name in ("uvicorn.error", "uvicorn.access"):
                logging.getLogger(name).addFilter(lambda record: record.levelno >= logging.WARNING)
        open_archive(db, create=False).close()  # refuses what is not an archive; upgrades an old one
        if port == 0:  # any free port: chosen here, so that the address printed is the real one
            port = _any_free_port()
        elif not _port_free(port):
            raise CliError(f"port {port} on 127.0.0.1 is in use; choose another with --port (make serve PORT=N)", EXIT_USAGE)
        with tempfile.TemporaryDirectory(prefix="newsarchive-serve-") as tmp:
            metadata = Path(tmp) / "metadata.json"
            metadata.write_text(json.dumps(web.metadata(web.database_name(db))), encoding="utf-8")
            click.echo(f"serving {db} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
            web.watch_replaced(db, _stop_serving)
            datasette_cli.main(args=web.serve_args(db, port, metadata), prog_name="newsarchive serve", standalone_mode=False)
    except Interrupted:
        return  # stopping is how serve ends: exit status 0


def _declared_address(html_file: str) -> str | None:
    """The address a saved page names as its own (:func:`_declared_address_of`); ``None``
    when it names none or cannot be read (the import then reports why)."""
    from crawler.sniff import read_saved_page

    try:
        return _declared_address_of(read_saved_page(html_file))
    except (OSError, EOFError, gzip.BadGzipFile):
        return None


def _declared_address_of(body: bytes) -> str | None:
    """The address a page's bytes name as its own (``<link rel=canonical>``, then ``og:url``:
    :func:`pipelines.extraction.metadata.canonical_candidates`), the first absolute http(s)
    one; ``None`` when it names none or is no HTML page."""
    from pipelines.extraction.html import ExtractionError, parse_document
    from pipelines.extraction.metadata import canonical_candidates

    try:
        tree, _ = parse_document(body)
    except ExtractionError:
        return None
    return _first_http_url(canonical_candidates(tree))


def _check_site(site: str | None, known, db) -> None:
    """Raise a usage error when ``site`` is given and is not one of the archive's sites (``known``)."""
    if site is not None and site not in known:
        raise CliError(f"no site {site!r} in {db} (sites: {', '.join(sorted(known)) or 'none'})", EXIT_USAGE)


def _first_http_url(candidates: list[str]) -> str | None:
    """The first of a page's declared addresses that is an absolute http(s) URL, or ``None``
    (a malformed one, "http://[evil/...", is passed over)."""
    from urllib.parse import urlsplit

    def absolute(candidate: str) -> bool:
        try:
            parts = urlsplit(candidate)
            return parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            return False

    return next((c for c in candidates if absolute(c)), None)


def _stop_serving(reason: str) -> None:
    """Stop ``serve`` (as SIGTERM does: uvicorn shuts down, the temporary files go) when its
    archive file is removed or replaced: it would go on showing the old, deleted file."""
    click.echo(f"{reason}: stopping; start serve again to browse the new archive", err=True)
    interrupt.stop_self()


def _any_free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
