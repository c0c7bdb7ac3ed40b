"""The reliability battery's web figures (scenarios 23 and 29), over ``newsarchive serve``.

- Concurrent reading: Datasette answers a reader loop while 1,000 stories are written.
- Stored XSS: a story whose title, text and raw HTML carry every payload of
  ``tests/webarchive.py``, loaded through every view of the archive in headless Chromium;
  with the positive controls (the same payloads served unescaped).

``run()`` returns the lines that ``python -m benchmarks.reliability`` prints; alone:
``python -m benchmarks.reliability_web``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.servers import html_pages, serving
from tests.webarchive import PAYLOADS, build, hostile_page
from tests.webdrills import count_executions, payload_controls, ran_script, read_while_writing, xss_views

WRITES = 1000


def run() -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "news.db"
        build(db)
        with serving(db, cwd=Path(tmp)) as base:
            load = read_while_writing(db, base, WRITES)
            lines.append(
                f"Datasette under write load: {load['requests']} reader requests during {WRITES} writes, "
                f"{load['non_200']} non-200s, counts went back {load['went_back']} times, "
                f"max WAL {load['max_wal_bytes'] / 1024 / 1024:.1f} MB, p95 latency {load['p95_ms']:.0f} ms "
                f"(median {load['median_ms']:.0f}, max {load['max_ms']:.0f}); writer stored {load['stored']}/{WRITES}, "
                f"writer errors: {0 if load['writer_error'] is None else repr(load['writer_error'])}"
            )
            lines.append(_xss(base, db.stem))
    return lines


def _xss(base: str, name: str) -> str:
    from tests.browser import browser_or_skip, quit_browser

    try:
        browser = browser_or_skip()
    except BaseException as exc:  # pytest's skip outside pytest: say why, go on
        return f"Stored XSS: not run ({exc})"
    try:
        views = xss_views(name, 2, 2)
        ran = count_executions(browser, base, views)
        with html_pages() as put:
            page_control = ran_script(browser, put(hostile_page()))
            controls = payload_controls(browser, put)
    finally:
        quit_browser(browser)
    return (
        f"Stored XSS: {len(PAYLOADS)} payloads (title, text, raw HTML) x {len(views)} views in headless Chromium: "
        f"{sum(ran.values())} script executions; controls served unescaped: the archived page "
        f"{'ran' if page_control else 'did NOT run'} its scripts, {controls}/{len(PAYLOADS)} payloads ran on pages of their own"
    )


if __name__ == "__main__":
    for line in run():
        print(line)
