"""Drills over ``newsarchive serve`` shared by the tests and ``benchmarks/reliability_web.py``:

- :func:`read_while_writing` (reliability scenario 23): Datasette answers readers while a
  crawl writes captures into the same archive;
- :func:`xss_views` and :func:`count_executions` (scenario 29): the archive's views of a
  story full of script payloads, loaded in headless Chromium.
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from crawler.items import PageItem
from pipelines.stages import run_stages
from tests.webarchive import PAYLOADS, page


def read_while_writing(db: Path, base: str, writes: int) -> dict[str, Any]:
    """Store ``writes`` new stories into ``db`` (the real pipeline stages, one transaction
    each) while a reader thread keeps asking the Datasette at ``base`` for the capture count
    and the stories view.

    Returns: ``requests``, ``non_200`` (answers other than 200, errors included),
    ``went_back`` (times the count was lower than an earlier answer), ``p95_ms`` and
    ``max_ms`` (reader latency), ``max_wal_bytes`` (largest ``-wal`` file seen),
    ``stored`` (stories the writer stored as new), ``writer_error`` (its exception, or None),
    ``count_before`` / ``count_after`` (captures, as Datasette answered).
    """
    name = db.stem
    count_url = f"{base}/{name}.json?sql=select+count(*)+as+n+from+captures&_shape=array"
    stories_url = f"{base}/{name}/stories.json?_shape=array&_size=20"
    done = threading.Event()
    result: dict[str, Any] = {"requests": 0, "non_200": 0, "went_back": 0, "latencies": [], "max_wal_bytes": 0}
    wal = Path(f"{db}-wal")

    def get(url: str) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, b""
        except OSError:
            status, body = 0, b""
        result["latencies"].append((time.perf_counter() - started) * 1000)
        result["requests"] += 1
        if status != 200:
            result["non_200"] += 1
        return status, body

    def count() -> int | None:
        import json

        status, body = get(count_url)
        return json.loads(body)[0]["n"] if status == 200 else None

    def reader() -> None:
        last = -1
        while not done.is_set():
            n = count()
            if n is not None:
                if n < last:
                    result["went_back"] += 1
                last = max(last, n)
            get(stories_url)
            if wal.exists():
                result["max_wal_bytes"] = max(result["max_wal_bytes"], wal.stat().st_size)

    result["count_before"] = count()
    thread = threading.Thread(target=reader)
    thread.start()
    stored, error = 0, None
    try:
        def items():
            for n in range(writes):
                url = f"http://load.example/2024/05/{n}/story-{n}"
                body = page(
                    f"Story number {n} of the load drill",
                    [f"Paragraph {k} of story {n}: the council met again on a long evening to discuss the harbour plan." for k in range(4)],
                    "2024-05-01T08:00:00Z",
                )
                yield PageItem(url=url, final_url=url, status=200, body=body, fetched_at="2024-05-01T09:00:00Z", site="load", role="url", content_type="text/html")

        for item in run_stages(items(), str(db)):
            stored += item.outcome == "new"
    except Exception as exc:  # the drill reports the writer's failure instead of raising
        error = exc
    finally:
        done.set()
        thread.join(timeout=60)
    result["count_after"] = count()
    latencies = sorted(result.pop("latencies"))
    result["p95_ms"] = latencies[int(0.95 * (len(latencies) - 1))] if latencies else None
    result["max_ms"] = latencies[-1] if latencies else None
    result["median_ms"] = statistics.median(latencies) if latencies else None
    result["stored"] = stored
    result["writer_error"] = error
    return result


def xss_views(name: str, article_id: int, capture_id: int) -> list[str]:
    """Every view in which the hostile story's title, text, URL or raw HTML appears."""
    return [
        "/",
        f"/-/story/{article_id}",
        f"/-/story/{article_id}?from=1&to=1",
        f"/-/capture/{capture_id}/source",
        f"/{name}/stories",
        f"/{name}/snapshots",
        f"/{name}/snapshots/{article_id}",
        f"/{name}/articles",
        f"/{name}/captures",
        f"/{name}/aliases",
        f"/{name}/search?q=reader&from_day=&to_day=",
        f"/{name}/latest_stories",
        f"/{name}/story_history?url=http%3A%2F%2Fnews.example%2F2024%2F03%2F05%2Fform-%253Cscript%253E",
        f"/{name}/snapshots?_search=reader",
    ]


def count_executions(browser, base: str, views: list[str]) -> dict[str, bool]:
    """Load each view in ``browser``; for each, did any payload run? (Each payload sets
    ``data-xss`` on ``<body>``; a pending ``alert()`` counts too.)"""
    return {view: ran_script(browser, base + view) for view in views}


def ran_script(browser, url: str) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    browser.get(url)
    time.sleep(0.05)  # let onload/onerror handlers of the page fire
    try:
        browser.switch_to.alert.dismiss()
        return True
    except NoAlertPresentException:
        pass
    return browser.execute_script("return document.body && document.body.getAttribute('data-xss')") is not None


def payload_controls(browser, serve_html) -> int:
    """Positive controls: how many of :data:`PAYLOADS` run when served unescaped as a page
    of their own (``serve_html(bytes) -> url``)."""
    ran = 0
    for payload in PAYLOADS:
        url = serve_html(f"<!DOCTYPE html><html><head><title>t</title></head><body><p>{payload}</p></body></html>".encode())
        ran += ran_script(browser, url)
    return ran
