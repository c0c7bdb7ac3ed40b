"""Screenshots of the archive in Datasette for the README: ``make screenshots``.

Serves ``demo.db`` (made by ``make demo``) with ``newsarchive serve`` and saves the home
page, the search page, the story page of the demo's edited story and the stories table
(its main columns, as the home page links it) under ``docs/``, taken in
headless Chromium (Debian's chromium and chromium-driver, as in the browser tests).

Usage: python -m docs.screenshots [--db demo.db]
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from archive.web.plugin import stories_main_columns
from tests.browser import browser_or_skip, quit_browser
from tests.servers import serving

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("demo.db"))
    args = parser.parse_args()
    name = args.db.stem
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    (story,) = conn.execute("SELECT article_id FROM changes WHERE reason = 'edit' ORDER BY id LIMIT 1").fetchone()
    conn.close()
    views = {
        "home": ("/", 1100),
        "search": ("/-/search?q=government", 1000),
        "story": (f"/-/story/{story}", 1000),
        "stories": (f"/{name}/stories?{stories_main_columns()}", 1000),
    }
    with serving(args.db) as base:
        browser = browser_or_skip()
        try:
            for view, (path, height) in views.items():
                browser.set_window_size(1200, height)
                browser.get(base + path)
                out = HERE / f"screenshot-{view}.png"
                browser.save_screenshot(str(out))
                print(f"{out.relative_to(HERE.parent)}: {base}{path}")
        finally:
            quit_browser(browser)


if __name__ == "__main__":
    main()
