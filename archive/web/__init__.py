"""Browse the archive in Datasette: metadata, canned queries, story pages, read-only.

``newsarchive serve`` runs Datasette (the stable 0.65 line) on 127.0.0.1 with:

- ``metadata.json``: title, table and column descriptions (units, time zones), default
  sorts (newest first), facets, and the canned queries; written for the archive's own
  database name at start (Datasette names a database after its file);
- ``templates/``: the home page (search, latest and changed stories) and the story page
  (text as paragraphs, dates, URLs, versions and highlighted diffs);
- ``plugin.py``: the story and capture-source routes, links to story pages, security
  headers, and a refusal of every write permission.

Datasette opens a mutable file with ``mode=ro`` connections (its documented behaviour),
so serving never writes and, with WAL, never blocks a crawl that writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PLUGINS = HERE / "plugins"
STATIC_MOUNT = "newsarchive-static"
SETTINGS = {
    # long story texts are cut in table views; the story page shows them whole
    "truncate_cells_html": "300",
    "default_page_size": "50",
    # rows counted on the home page only where it is cheap
    "sql_time_limit_ms": "3000",
}


def database_name(db_path: str | Path) -> str:
    """The name Datasette gives a database file: its file name without the extension."""
    return Path(db_path).stem


def metadata(db_name: str) -> dict[str, Any]:
    """The project's Datasette metadata (``metadata.json``) for the database named ``db_name``."""
    data = json.loads((HERE / "metadata.json").read_text(encoding="utf-8"))
    data["databases"] = {db_name: data["databases"]["ARCHIVE"]}
    return data


def serve_args(db_path: str | Path, port: int, metadata_path: str | Path) -> list[str]:
    """Arguments for ``datasette serve``: loopback only, the project's templates, static files,
    plugin and settings; ``metadata_path`` is a file holding :func:`metadata`'s output."""
    args = [
        "serve", str(db_path), "--host", "127.0.0.1", "--port", str(port),
        "--metadata", str(metadata_path),
        "--template-dir", str(TEMPLATES),
        "--plugins-dir", str(PLUGINS),
        "--static", f"{STATIC_MOUNT}:{STATIC}",
    ]  # fmt: skip
    for name, value in SETTINGS.items():
        args += ["--setting", name, value]
    return args


def make_datasette(db_path: str | Path):
    """A configured :class:`datasette.app.Datasette` over one archive, in this process (tests).

    The plugin is registered once per process with Datasette's plugin manager.
    """
    from datasette.app import Datasette
    from datasette.plugins import pm

    from archive.web import plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="newsarchive")
    return Datasette(
        [str(db_path)],
        metadata=metadata(database_name(db_path)),
        template_dir=str(TEMPLATES),
        static_mounts=[(STATIC_MOUNT, str(STATIC))],
        settings={name: int(value) for name, value in SETTINGS.items()},
    )


#: how often ``serve`` checks that its archive file is still the one it opened, seconds
WATCH_INTERVAL_SECS = 1.0


def watch_replaced(db_path: str | Path, on_replaced, interval: float = WATCH_INTERVAL_SECS):
    """Call ``on_replaced(reason)`` once if the file at ``db_path`` is removed or replaced by
    another file (another inode, as ``make demo`` does when it remakes ``demo.db``): an open
    SQLite connection would go on reading the old, deleted file. Checks every ``interval``
    seconds in a daemon thread; returns the thread.
    """
    import os
    import threading

    path = Path(db_path)
    first = os.stat(path)

    def watch() -> None:
        import time

        while True:
            time.sleep(interval)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                on_replaced(f"{path} was removed")
                return
            if (now.st_dev, now.st_ino) != (first.st_dev, first.st_ino):
                on_replaced(f"{path} was replaced by another file")
                return

    thread = threading.Thread(target=watch, name="archive-watch", daemon=True)
    thread.start()
    return thread
