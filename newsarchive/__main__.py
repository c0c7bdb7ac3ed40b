"""``python -m newsarchive`` and the ``newsarchive`` command: :func:`main`."""

import sys


def main() -> None:
    """Run the ``newsarchive`` command (:mod:`newsarchive.cli`). Its import takes about half a
    second (Scrapy, SQLite's and Datasette's libraries): a Ctrl-C then (the demo passes one on
    to the crawl it starts) stops it with one line, exit 1 (``archive.interrupt.EXIT_INTERRUPTED``),
    not a traceback from inside a library's import; nothing was done yet."""
    try:
        from newsarchive.cli import cli
    except KeyboardInterrupt:
        print("stopped (SIGINT) while starting: nothing was done", file=sys.stderr)
        sys.exit(1)
    cli()


if __name__ == "__main__":
    main()
