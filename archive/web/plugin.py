"""newsarchive's Datasette plugin: story pages, links to them, safety headers, no writes.

Hooks (Datasette's plugin hooks, https://docs.datasette.io/en/0.65.x/plugin_hooks.html):

- ``register_routes``: ``/-/story/<id>`` (a story page: text, dates, URLs, versions,
  diffs; ``?from=N&to=M`` compares any two versions), ``/-/story?url=`` (find a story by
  its canonical URL or any alias), ``/-/capture/<id>/source`` (a capture's archived HTML
  as plain text, never rendered);
- ``render_cell``: a ``story`` column (canned queries) and the ``stories`` view's ``id``
  link to story pages; search excerpts and word diffs are highlighted; dates are written
  for people (:mod:`archive.web.dates`: as the page stated them, then UTC); everything
  else Datasette escapes as usual;
- ``prepare_jinja2_environment``: the same date forms for the templates;
- ``prepare_connection``: ``newsarchive_fts(q)`` quotes each word of a search for FTS5
  (Datasette's ``escape_fts``), so that any text typed in the search box is a valid query,
  and bounds its length; ``newsarchive_url(u)`` normalises a URL as the archive keys it;
- ``extra_template_vars``: the home page's figures and story lists;
- ``asgi_wrapper``: a Content-Security-Policy and other headers on every response,
  405 for every method but GET/HEAD/OPTIONS (Datasette's POST endpoints write), and a
  table search of no word left out (:func:`without_empty_searches`);
- ``permission_allowed``: every write action refused.

Archived text is only ever put into pages through Jinja's autoescaping or
:func:`markupsafe.escape`; nothing from an archived page runs in the browser.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from datasette import hookimpl
from datasette.utils import escape_fts
from datasette.utils.asgi import NotFound, Response
from datasette.version import __version__ as datasette_version
from markupsafe import Markup, escape
from w3lib.encoding import html_to_unicode

from archive import cjk, queries
from archive.urls import normalize_url
from archive.web import dates

# Datasette's own pages use inline scripts and styles; nothing may load from elsewhere,
# so an archived page's images, scripts or forms can never reach the publisher or a third party.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-src 'none'; "
    "frame-ancestors 'none'; form-action 'self'; connect-src 'self'"
)
# archived HTML shown as text: no scripts, no plugins, no same-origin access, even if sniffed
SOURCE_CSP = "default-src 'none'; sandbox"
SECURITY_HEADERS = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
}
WRITE_ACTIONS = {
    "insert-row", "delete-row", "update-row", "upsert-row", "create-table", "alter-table", "drop-table",
    "execute-write", "set-column-type",
}  # fmt: skip
HOME_STORIES = 12
MAX_SEARCH_WORDS = 32
MAX_SEARCH_CHARS = 1000
# only reading: POST (Datasette's writable canned queries, its write API) is refused
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
EXCERPT_MATCH = re.compile("»([^»«]*)«")  # the marks the search query gives snippet()


# -- routes ------------------------------------------------------------------------------


@hookimpl
def register_routes():
    return [
        # ids fit SQLite's 64-bit integers; anything else under /-/story/ is no story
        (r"^/-/story/(?P<article_id>\d{1,18})$", story_page),
        (r"^/-/story/(?P<other>.+)$", no_such_story),
        (r"^/-/story$", story_by_url),
        (r"^/-/capture/(?P<capture_id>\d{1,18})/source$", capture_source),
        (r"^/-/changes\.atom$", changes_feed),
        (r"^/-/search$", search_page),
        (r"^/$", home_page),
    ]


#: tables and views the home page names before "..." (as Datasette's own index page)
HOME_TABLES = 5


async def home_page(datasette, request) -> Response:
    """The home page (``index.html``: the archive's figures, a search, the latest and the
    changed stories, the canned queries, the first tables) in place of Datasette's index
    view, which checks the permissions of every table and reads the schema of each (60 ms
    and more per request under load at 100,000 snapshots, issue 16). Tables are named in
    the order of ``metadata.json`` (stories first), each only if the actor may see it;
    ``/.json`` stays Datasette's own."""
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    metadata = datasette.metadata()
    databases = []
    for name, db in datasette.databases.items():
        visible, _ = await datasette.check_visibility(request.actor, "view-database", name)
        if not visible:
            continue
        hidden = set(await db.hidden_table_names())  # FTS5's own tables, those metadata hides
        names = [t for t in await db.table_names() + await db.view_names() if t not in hidden]
        described = (metadata.get("databases", {}).get(name) or {}).get("tables") or {}
        ordered = [t for t in described if t in names] + sorted(t for t in names if t not in described)
        shown = []
        for table in ordered:
            if len(shown) == HOME_TABLES:
                break
            if (await datasette.check_visibility(request.actor, "view-table", (name, table)))[0]:
                shown.append({"name": table, "count": None})
        databases.append(
            {"name": name, "path": datasette.urls.database(name), "tables_and_views_truncated": shown, "tables_and_views_more": len(ordered) > len(shown)}
        )
    context = {"databases": databases, "metadata": metadata, "datasette_version": datasette_version}
    return Response.html(await datasette.render_template("index.html", context, request=request, view_name="index"))


async def story_page(datasette, request) -> Response:
    """The story page of one article (404 if there is none)."""
    article_id = int(request.url_vars["article_id"])
    compare_from, compare_to = _int_arg(request, "from"), _int_arg(request, "to")
    db = datasette.get_database()
    story = await db.execute_fn(lambda conn: queries.story(conn, article_id, compare_from, compare_to))
    if story is None:
        raise NotFound(f"There is no story {article_id} in this archive.")
    if story["status"] == "redacted":
        # a tombstone: the story was taken out of the archive (archive/redaction.py)
        page = Markup(
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Story {id} redacted</title></head>"
            "<body><h1>Story {id} was redacted</h1><p>On {at}: {reason}.</p><p><a href=\"{home}\">Back to the archive</a></p></body></html>"
        ).format(id=article_id, at=dates.readable(story["redacted_at"]), reason=story["redaction_reason"] or "", home=datasette.urls.instance())
        return Response.html(str(page), status=410)
    compare_error = _compare_error(request, len(story["versions"]), story["comparison"])
    latest = story["latest"] or {}
    context = {
        "story": story,
        "latest": latest,
        "paragraphs": [p for p in (latest.get("text") or "").split("\n") if p.strip()],
        "database": db.name,
        "changes": [_change_view(c) for c in story["changes"]],
        "comparison": _change_view(story["comparison"]) if story["comparison"] else None,
        "canonical_href": safe_href(story["canonical_url"]),
        "aliases": [{**a, "href": safe_href(a["url"])} for a in story["aliases"]],
        "compare_error": compare_error,
        "text_lang": language_tag(latest.get("language")),
        "text_dir": text_direction(latest.get("language")),
    }
    return Response.html(await datasette.render_template("story.html", context, request=request, view_name="story"))


def _search_day(value: str | None, name: str) -> tuple[str | None, str | None]:
    """A search form's day as ``YYYY-MM-DD`` (``2015/07/01`` and ``2015.07.01`` read too),
    or an error saying what is wrong."""
    value = (value or "").strip()
    if not value:
        return None, None
    normal = re.sub(r"[/.]", "-", value)
    try:
        return datetime.date.fromisoformat(normal).isoformat(), None
    except ValueError:
        return None, f"{name} {value!r} is not a day: write it as 2015-07-01"


async def search_page(datasette, request) -> Response:
    """``/-/search?q=&site=&from=&to=``: stories matching a search as linked headlines with
    their site, publication day and excerpt; a filter with a bad value says what is wrong
    instead of answering nothing."""
    args = request.args
    q = (args.get("q") or "").strip()
    site = (args.get("site") or "").strip() or None
    from_day, from_error = _search_day(args.get("from"), "from")
    to_day, to_error = _search_day(args.get("to"), "to")
    db = datasette.get_database()
    sites = await db.execute_fn(queries.sites)
    errors = [e for e in (from_error, to_error) if e]
    invalid = {name for name, e in (("from", from_error), ("to", to_error)) if e}  # the fields the messages are about
    if site and site not in sites:
        errors.append(f"site {site!r} has no stories here" + (f"; sites: {', '.join(sites)}" if sites else ""))
        invalid.add("site")
    if from_day and to_day and from_day > to_day:
        errors.append(f"from {from_day} is after to {to_day}")
        invalid |= {"from", "to"}
    if not q and (site or args.get("from") or args.get("to")):
        errors.append("give words to search for: site, from and to narrow a search, they do not make one")
        invalid.add("q")
    results = None
    if q and not errors:
        fts, cjk_fts = fts_query(q), cjk_query(q)
        if fts == '""' and cjk_fts == '""':
            if any(ch.isalnum() for ch in q):
                errors.append("nothing to search for: one-character Chinese, Japanese or Korean words are not looked up (give two characters or more)")
            else:
                errors.append(f"nothing to search for in {q[:40]!r}: give words (letters or digits)")
            invalid.add("q")
        else:
            results = await db.execute_fn(
                lambda conn: queries.search(conn, fts, cjk_fts, q[:MAX_SEARCH_CHARS], site=site, from_day=from_day, to_day=to_day)
            )
            for r in results:
                r["excerpt_html"] = highlight_excerpt(r["excerpt"] or "")
    context = {
        "q": q, "site": site or "", "from_day": args.get("from") or "", "to_day": args.get("to") or "",
        "from_read": from_day, "to_read": to_day,
        "sites": sites, "errors": errors, "invalid": invalid, "results": results, "limit": queries.SEARCH_RESULTS,
        # ranking is bounded (archive.queries.search): the page says so when it was
        "capped": bool(results) and results[0]["ranked"] >= queries.SEARCH_CANDIDATES,
        "candidates": f"{queries.SEARCH_CANDIDATES:,}",
    }
    return Response.html(await datasette.render_template("search.html", context, request=request, view_name="search"), status=400 if errors else 200)


async def changes_feed(datasette, request) -> Response:
    """``/-/changes.atom``: the publisher's edits as Atom (:mod:`archive.web.atom`), newest
    first; ``site=NAME``, ``headline=1`` (headline changes only), ``min_words=N`` (at least
    N words added or removed), ``story=ID`` (one story's edits). A bad value is a 400 that
    says what is wrong."""
    from archive.timefmt import utc_now_iso
    from archive.web import atom

    args = request.args
    site = (args.get("site") or "").strip() or None
    headline = (args.get("headline") or "0").strip()
    if headline not in ("0", "1"):
        return Response.text(f"headline={headline!r}: give headline=1 (headline changes only) or leave it out\n", status=400)
    story_id = min_words = None
    # at most 18 digits: a number SQLite's INTEGER holds (a bigger one was a 500 and a traceback)
    if not re.fullmatch(r"\s*\d{1,18}\s*", args.get("min_words") or "0"):
        return Response.text(f"min_words={args.get('min_words')!r}: give a whole number of words, e.g. min_words=10\n", status=400)
    min_words = int(args.get("min_words") or 0)
    db = datasette.get_database()
    if site and site not in (sites := await db.execute_fn(queries.sites)):  # as the search page: a typo says so
        return Response.text(f"site={site!r} has no stories here" + (f"; sites: {', '.join(sites)}" if sites else "") + "\n", status=400)
    if args.get("story"):
        if not re.fullmatch(r"\d{1,18}", args.get("story")):
            return Response.text(f"story={args.get('story')!r}: give a story's number, e.g. story=12\n", status=400)
        story_id = int(args.get("story"))
    changes = await db.execute_fn(
        lambda conn: queries.publisher_edits(conn, site=site, headline_only=headline == "1", min_words=min_words, article_id=story_id)
    )
    title = "Publisher edits" + (f" · {site}" if site else "") + (" · headlines" if headline == "1" else "")
    title += (f" · at least {min_words} words" if min_words else "") + (f" · story {story_id}" if story_id else "")
    document = atom.feed(
        changes,
        title=f"{title} · newsarchive",
        self_url=datasette.absolute_url(request, request.full_path),
        home_url=datasette.absolute_url(request, datasette.urls.instance()),
        story_url=lambda c: datasette.absolute_url(request, datasette.urls.path(f"/-/story/{c['article_id']}?from={c['from_version']}&to={c['to_version']}")),
        diff_html=diff_html,
        updated=changes[0]["at"] if changes else utc_now_iso(),
    )
    return Response(document, content_type=atom.CONTENT_TYPE)


async def no_such_story(datasette, request) -> Response:
    raise NotFound(f"There is no story {request.url_vars['other']!r} in this archive: story pages are /-/story/<number>.")


async def story_by_url(datasette, request) -> Response:
    """``/-/story?url=U``: redirect to the story of URL ``U`` (canonical or alias), else 404."""
    url = (request.args.get("url") or "").strip()
    if not url:
        raise NotFound("Give a URL: /-/story?url=https://...")
    db = datasette.get_database()
    article_id = await db.execute_fn(lambda conn: queries.find_article_id(conn, url))
    if article_id is None:
        raise NotFound(f"No story in this archive has the URL {url}")
    return Response.redirect(datasette.urls.path(f"/-/story/{article_id}"))


async def capture_source(datasette, request) -> Response:
    """A capture's archived body as ``text/plain`` (decoded by its declared charset, w3lib),
    with a sandboxing CSP and ``nosniff``: the archived HTML is shown, never rendered."""
    capture_id = int(request.url_vars["capture_id"])
    db = datasette.get_database()

    def load(conn):
        capture = queries.capture(conn, capture_id)
        if capture is None or not capture["body_digest"]:
            return None
        return capture, queries.read_body(conn, capture["body_digest"])

    found = await db.execute_fn(load)
    if found is None:
        raise NotFound(f"Capture {capture_id} has no stored body.")
    capture, body = found
    _, text = html_to_unicode(capture.get("content_type"), body)
    return Response.text(
        text,
        headers={
            "content-security-policy": SOURCE_CSP,
            "x-content-type-options": "nosniff",
            "content-disposition": f'inline; filename="capture-{capture_id}.txt"',
        },
    )


# -- cells, search, home page -------------------------------------------------------------


# archive times and UTC instants (design.md: UTC text), and dates as a page stated them
UTC_COLUMNS = {
    "published_utc", "modified_utc", "first_seen", "last_seen", "last_changed", "fetched_at", "at", "started_at",
    "finished_at", "redacted_at", "discovered_at", "learned_at", "next_check_at",
}  # fmt: skip
STATED_COLUMNS = {"published": "published_utc", "modified": "modified_utc"}


@hookimpl
def startup(datasette):
    """Datasette 0.65 prints every exception, a 404 for a missing story included, to the
    console with its local variables when ``rich`` happens to be installed
    (``datasette/handle_exception.py``); without rich it prints only a server error's
    traceback (``traceback.print_exc`` for a 500). A reader's mistake is no server error:
    the behaviour without rich is kept."""
    errors = sys.modules.get("datasette.handle_exception")
    if errors is not None and hasattr(errors, "rich"):
        errors.rich = None


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["readable_date"] = dates.readable
    env.filters["time_html"] = dates.time_html
    env.globals["stated_then_utc"] = lambda stated, utc: dates.time_html(stated or utc, dates.stated_then_utc(stated, utc))


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if isinstance(value, str) and value and (column in UTC_COLUMNS or column in STATED_COLUMNS):
        # one readable form for every date (archive/web/dates.py); the ISO value in the tooltip
        utc = STATED_COLUMNS.get(column)
        keys = row.keys() if hasattr(row, "keys") else ()
        return dates.time_html(value, dates.stated_then_utc(value, row[utc] if utc in keys else None))
    if isinstance(value, int) and (column == "story" and table is None or column == "id" and table == "stories"):
        href = datasette.urls.path(f"/-/story/{value}")
        return Markup(f'<a href="{escape(href)}">story {value}</a>')
    if column == "excerpt" and table is None and isinstance(value, str):
        return highlight_excerpt(value)
    if column == "diff" and table in ("changes", "publisher_edits") and isinstance(value, str):
        try:
            return diff_html(json.loads(value))
        except (ValueError, TypeError):
            return None
    return None


@hookimpl
def prepare_connection(conn):
    conn.create_function("newsarchive_fts", 1, fts_query, deterministic=True)
    conn.create_function("newsarchive_cjk", 1, cjk_query, deterministic=True)
    conn.create_function("newsarchive_excerpt", 2, search_excerpt, deterministic=True)
    conn.create_function("newsarchive_url", 1, normalized_url, deterministic=True)


def fts_query(text: str | None) -> str:
    """Any search text as an FTS5 query: each word quoted (Datasette's ``escape_fts``), at
    most :data:`MAX_SEARCH_WORDS` words (FTS5's ``snippet()`` costs grow with the square of
    the number of terms, beyond the reach of Datasette's time limit); ``'""'`` (matches
    nothing) for empty text."""
    words = cjk.without_cjk((text or "")[:MAX_SEARCH_CHARS]).split()[:MAX_SEARCH_WORDS]
    return escape_fts(" ".join(words)).strip() or '""'


def cjk_query(text: str | None) -> str:
    """The Chinese, Japanese and Korean words of a search as a query on the bigram index
    ``snapshots_cjk`` (:func:`archive.cjk.query`); ``'""'`` when there are none. The other
    words go to ``snapshots_fts`` (:func:`fts_query`); a story must match both."""
    return cjk.query((text or "")[:MAX_SEARCH_CHARS], MAX_SEARCH_WORDS)


def search_excerpt(text: str | None, search: str | None, context: int = 40) -> str:
    """An excerpt of ``text`` around the first search word it holds, marked ``»word«`` as
    FTS5's ``snippet()`` marks matches: a Chinese, Japanese or Korean word (FTS5 cannot
    make a snippet from the bigram index), else another word at the start of a word, case
    folded (for a text too long for ``snippet()``, :data:`archive.queries.SNIPPET_MAX_CHARS`);
    the text's beginning when none is found. Linear in the text's length."""
    text = text or ""
    search = (search or "")[:MAX_SEARCH_CHARS]
    found = None
    for run in cjk.CJK_RUN.findall(search):
        at = text.find(run) if len(run) >= 2 else -1
        if at >= 0:
            found = (at, at + len(run))
            break
    words = re.findall(r"\w+", cjk.without_cjk(search))[:MAX_SEARCH_WORDS]
    if found is None and words:
        match = re.search(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")\w*", text, re.IGNORECASE)
        found = match.span() if match else None
    if found is None:
        return " ".join(text[: 2 * context].split()) + " …"
    at, end_of_word = found
    start, end = max(0, at - context), min(len(text), end_of_word + context)
    before, after = text[start:at], text[end_of_word:end]
    # white space folded, and kept on either side of the match where the text has it
    before = " ".join(before.split()) + (" " if before[-1:].isspace() and before.strip() else "")
    after = (" " if after[:1].isspace() and after.strip() else "") + " ".join(after.split())
    return ("… " if start else "") + before + f"»{text[at:end_of_word]}«" + after + (" …" if end < len(text) else "")


# languages written right to left (ISO 639-1 codes, as py3langid gives them; Unicode CLDR
# character order "right-to-left")
RTL_LANGUAGES = {"ar", "dv", "fa", "he", "iw", "ks", "ku", "ps", "sd", "ug", "ur", "yi"}


def language_tag(language: str | None) -> str | None:
    """A story's detected language as an HTML ``lang`` value (a BCP 47 primary tag), or
    ``None`` when it is unknown or not a plausible tag."""
    tag = (language or "").strip().lower()
    return tag if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", tag) else None


def text_direction(language: str | None) -> str:
    """HTML ``dir`` for a story's text: ``rtl`` for a right-to-left language, ``ltr`` for
    another known one, ``auto`` (the browser looks at the first strong character) when the
    language is unknown."""
    tag = language_tag(language)
    if tag is None:
        return "auto"
    return "rtl" if tag.split("-")[0] in RTL_LANGUAGES else "ltr"


def normalized_url(url: str | None) -> str | None:
    """``url`` as the archive keys it (:func:`archive.urls.normalize_url`: tracking
    parameters, default ports and fragments dropped), or ``url`` itself if it is no URL."""
    try:
        return normalize_url(url or "")
    except ValueError:
        return url


# the stories view's columns a reader needs first (the home page links to them; the table
# page links to every column): ?_col=, Datasette's column selection
STORIES_MAIN_COLUMNS = ("id", "title", "site", "language", "published", "versions", "edits", "first_seen")


def stories_main_columns() -> str:
    """The query string that shows the stories view's main columns."""
    return "&".join(f"_col={c}" for c in STORIES_MAIN_COLUMNS)


@hookimpl
def extra_template_vars(template, view_name, datasette, request):
    if view_name == "table":
        return {"stories_main_columns": stories_main_columns()}
    if view_name != "index":
        return {}

    async def home() -> dict[str, Any]:
        db = datasette.get_database()
        return {"archive_home": await db.execute_fn(_home_figures) | {"database": db.name, "stories_main_columns": stories_main_columns()}}

    return home


def _home_figures(conn) -> dict[str, Any]:
    count = lambda table: conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]  # noqa: E731
    # The stories are picked through indexes of ``articles`` first (archive/migrations.py,
    # m010: ``published_or_seen`` and ``edits`` are kept by triggers) and only then read
    # through the ``stories`` view, whose per-row counts (versions, edits) would otherwise
    # be computed for every article before the sort.
    latest = queries.rows(
        conn,
        "SELECT id, title, site, published, first_seen, versions FROM stories WHERE id IN ("
        " SELECT id FROM articles WHERE status != 'redacted' ORDER BY published_or_seen DESC, id DESC LIMIT :n) "
        "ORDER BY coalesce(published_utc, published, first_seen) DESC, id DESC",
        {"n": HOME_STORIES},
    )
    changed = queries.rows(
        conn,
        "SELECT id, title, site, edits, last_changed FROM stories WHERE id IN ("
        " SELECT id FROM articles WHERE edits > 0 AND status != 'redacted' ORDER BY last_changed DESC, id DESC LIMIT :n) "
        "ORDER BY last_changed DESC, id DESC",
        {"n": HOME_STORIES},
    )
    crawl = queries.rows(conn, "SELECT id, status, started_at, finished_at FROM crawls ORDER BY id DESC LIMIT 1")
    return {
        "articles": count("articles"),
        "snapshots": count("snapshots"),
        "captures": count("captures"),
        "failures": count("failures"),
        "latest": latest,
        "changed": changed,
        "last_crawl": crawl[0] if crawl else None,
    }


# -- safety ------------------------------------------------------------------------------


@hookimpl
def permission_allowed(action):
    if action in WRITE_ACTIONS:
        return False
    return None


#: Datasette's errors that a request's own parameters cause (views/table.py), raised as
#: ``DatasetteError`` with its default status 500: a client's error (RFC 9110 15.5.1, 400)
CLIENT_ERRORS = ("Cannot sort table by ", "Cannot use _sort and _sort_desc at the same time")


@hookimpl
def handle_exception(datasette, request, exception):
    """A bad ``_sort``/``_sort_desc`` (a column that is not sortable, or both) answered 400,
    not 500 (a server error alarms monitoring and blames the archive): the exception's status
    is set and Datasette's own handler, called after this one, renders it as before."""
    from datasette.views.base import DatasetteError

    if isinstance(exception, DatasetteError) and exception.status == 500 and str(exception.message).startswith(CLIENT_ERRORS):
        exception.status = 400
    return None


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def read_only_with_headers(scope, receive, send):
            async def send_with_headers(event):
                if event["type"] == "http.response.start":
                    headers = list(event.get("headers") or [])
                    present = {name.lower() for name, _ in headers}
                    headers += [(name, value) for name, value in SECURITY_HEADERS.items() if name not in present]
                    event = {**event, "headers": headers}
                await send(event)

            if scope["type"] == "http" and scope.get("method", "GET") not in READ_METHODS:
                refusal = Response.text("This archive is served read-only.\n", status=405, headers={"allow": "GET, HEAD"})
                await refusal.asgi_send(send_with_headers)
                return
            if scope["type"] == "http" and b"_search" in scope.get("query_string", b""):
                scope = {**scope, "query_string": without_empty_searches(scope["query_string"])}
            await app(scope, receive, send_with_headers)

        return read_only_with_headers

    return wrap


def without_empty_searches(query_string: bytes) -> bytes:
    """A query string without the table searches (``_search``, ``_search_<column>``) that
    Datasette's quoting (``escape_fts``) makes empty: a lone ``"`` became an empty FTS5 query,
    a syntax error shown as a 400; with no word there is nothing to search for, and the table
    is shown unfiltered. Other parameters are kept as they are."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not (k.startswith("_search") and v.strip() and not escape_fts(v).strip())]
    return query_string if len(kept) == len(pairs) else urlencode(kept).encode("latin-1")


# -- rendering helpers -------------------------------------------------------------------


def safe_href(url: str | None) -> str | None:
    """``url`` if it is an http(s) URL (safe as a link target), else ``None``."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def diff_html(ops: list[list[str]]) -> Markup:
    """A word diff (:mod:`archive.diff` operations) as HTML: ``<del>`` removed, ``<ins>`` added,
    new lines as ``<br>``; every piece of text escaped."""
    tags = {"-": "del", "+": "ins"}
    out = []
    for op, text in ops:
        lines = [str(escape(line)) for line in str(text).split("\n")]
        html = "<br>".join(lines)
        tag = tags.get(op)
        out.append(f"<{tag}>{html}</{tag}>" if tag else f"<span>{html}</span>")
    return Markup('<span class="word-diff">' + " ".join(out) + "</span>")


def highlight_excerpt(text: str) -> Markup:
    """An FTS5 ``snippet()`` excerpt with each »match« as ``<mark>``; the text escaped first."""
    return Markup(EXCERPT_MATCH.sub(r"<mark>\1</mark>", str(escape(text))))


def _change_view(change: dict[str, Any]) -> dict[str, Any]:
    return {**change, "diff_html": diff_html(change["ops"])}


def _int_arg(request, name: str) -> int | None:
    value = request.args.get(name)
    return int(value) if value and value.isdigit() and len(value) <= 9 else None


def _compare_error(request, versions: int, comparison: dict[str, Any] | None) -> str | None:
    """Why ``?from=&to=`` could not be shown, or ``None`` (also when neither is given)."""
    given = [request.args.get(name) for name in ("from", "to")]
    if not any(given):
        return None
    if comparison is None:
        return f"Compare needs two versions between 1 and {versions} (from={given[0] or ''!s}, to={given[1] or ''!s})."
    if comparison["from_version"] == comparison["to_version"]:
        return f"Version {comparison['from_version']} compared with itself: nothing changed."
    return None
