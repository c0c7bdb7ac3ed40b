"""A small archive for the Datasette tests, made through the real pipeline stages (extract,
identify, version, store) without a network or ``../shared``.

Three stories:

- ``harbour``: two versions; the second changes the headline and one sentence;
- ``hostile``: archived text, title and URL full of script payloads (as text, the way a
  page shows code to its readers), and a raw body with real ``<script>`` tags and event
  handlers; every payload, if it ever ran, sets ``data-xss`` on the page's ``<body>``;
- ``council``: one version, for search.
"""

from __future__ import annotations

import html
from pathlib import Path

from crawler.items import PageItem
from pipelines.stages import run_stages

SITE = "http://news.example"
MARK = "document.body.setAttribute('data-xss', '1')"
# what an escaping mistake would turn into live HTML (OWASP's XSS filter evasion forms:
# tags, event handlers, attribute and element break-outs, URL schemes, mutation XSS)
PAYLOADS = [
    f"<script>{MARK}</script>",
    f'<img src="x" onerror="{MARK}">',
    f'<svg onload="{MARK}"></svg>',
    f"\"><script>{MARK}</script>",
    f"'><img src=x onerror={MARK}>",
    f"<a href=\"javascript:{MARK}\">link</a>",
    f"<iframe srcdoc=\"<script>parent.{MARK}</script>\"></iframe>",
    f"<details open ontoggle=\"{MARK}\">",
    f"<body onload=\"{MARK}\">",
    f"</title><script>{MARK}</script>",
    f"</textarea><script>{MARK}</script>",
    f"<math><mtext><table><mglyph><style><img src=x onerror=\"{MARK}\">",
    f"<input autofocus onfocus=\"{MARK}\">",
    f"<object data=\"javascript:{MARK}\"></object>",
    f"<scr<script>ipt>{MARK}</scr</script>ipt>",
    "{{ 7 * 7 }} {% raw %}",
]
HARBOUR_V1 = [
    "The harbour board voted on Tuesday to extend the north pier by forty metres, ending a dispute that had lasted years.",
    "Fishermen had asked for the extension since the storms of last winter damaged the old breakwater and two boats.",
    "The work is expected to start in the spring and to cost about four million, paid by the port and the region.",
    "Opponents said the money would be better spent on dredging, but the vote passed by seven votes to two.",
]
HARBOUR_V2 = [HARBOUR_V1[0], HARBOUR_V1[1].replace("two boats", "three fishing boats"), *HARBOUR_V1[2:]]
COUNCIL = [
    "The town council approved a budget for the new library on Monday after a long debate about its opening hours.",
    "The library will hold a reading room, a children's corner and an archive of the town's newspapers since 1850.",
    "Councillors from both groups praised the plan, which the region will fund over the next three years.",
]


def page(title: str, paragraphs: list[str], published: str, extra_body: str = "", raw_title: str | None = None) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{raw_title or html.escape(title)}</title>"
        f"<meta property='og:title' content='{html.escape(title)}'>"
        f"<meta property='article:published_time' content='{published}'>"
        "<meta property='og:type' content='article'></head><body>"
        f"<article><h1>{html.escape(title)}</h1>{body}</article>{extra_body}</body></html>"
    ).encode("utf-8")


def hostile_page() -> bytes:
    """A story whose title and every paragraph quote a payload (as text), and whose raw HTML
    also has live scripts, handlers and a javascript: frame."""
    title = "Readers found " + PAYLOADS[0] + " in a form"
    paragraphs = [
        "A reader wrote to the newsroom after the comment form showed this text instead of a name: " + p
        + " The developers said the form now escapes what readers type."
        for p in PAYLOADS
    ]
    # real scripts and handlers in the raw body: they must never run in the archive's pages
    live = f"<script>{MARK}</script><img src='/nothing.png' onerror=\"{MARK}\"><iframe src='javascript:{MARK}'></iframe>"
    return page(title, paragraphs, "2024-03-05T10:00:00+01:00", extra_body=live)


def build(db: Path) -> dict[str, str]:
    """Archive the three stories into ``db`` (harbour twice); returns their URLs by name."""
    urls = {
        "harbour": f"{SITE}/2024/03/04/harbour-pier",
        "hostile": f"{SITE}/2024/03/05/form-" + "%3Cscript%3E",
        "council": f"{SITE}/2024/03/06/library-budget",
    }
    fetches = [
        (urls["harbour"], page("Pier to grow by forty metres", HARBOUR_V1, "2024-03-04T09:00:00+01:00"), "2024-03-04T10:00:00Z"),
        (urls["hostile"], hostile_page(), "2024-03-05T10:00:00Z"),
        (urls["council"], page("Council approves library budget", COUNCIL, "2024-03-06T08:00:00+01:00"), "2024-03-06T09:00:00Z"),
        (urls["harbour"], page("Pier to grow by forty metres after vote", HARBOUR_V2, "2024-03-04T09:00:00+01:00"), "2024-03-04T16:00:00Z"),
    ]
    items = (
        PageItem(
            url=url, final_url=url, status=200, body=body, fetched_at=fetched_at, site="example",
            role="url", content_type="text/html; charset=utf-8",
        )  # fmt: skip
        for url, body, fetched_at in fetches
    )
    for _ in run_stages(items, str(db)):
        pass
    return urls
