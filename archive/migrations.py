"""The archive's schema, built by numbered migrations (sqlite-utils ``Migrations``).

Every schema change is a new function appended here; an archive made by any earlier
release is upgraded in place when it is opened. Table and column names are fixed by
``design.md`` (Tables): add columns freely, rename none.

The applied migrations are recorded in ``_sqlite_migrations`` (sqlite-utils). An archive
that lists a migration this code does not know was written by a newer newsarchive and is
refused (:class:`archive.database.NewerSchemaError`).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("newsarchive")


@migrations()
def m001_initial(db: Database) -> None:
    """Tables of design.md: crawls, articles, snapshots (+ FTS5), captures, bodies, aliases, failures."""
    db["crawls"].create(
        {
            "id": int,
            "started_at": str,  # UTC, ISO 8601 with Z
            "finished_at": str,
            "command": str,  # crawl, archive, ...
            "config": str,  # the config file's text (TOML), or the URLs archived
            "status": str,  # running, finished, failed, interrupted
            "stats": str,  # JSON: Scrapy's stats of the run
        },
        pk="id",
    )
    db["articles"].create(
        {
            "id": int,
            "canonical_url": str,
            "site": str,
            "first_seen": str,
            "last_seen": str,
            "last_changed": str,
            "next_check_at": str,
            "latest_snapshot_id": int,
            "status": str,  # live, gone
        },
        pk="id",
        not_null={"canonical_url", "first_seen", "last_seen", "status"},
        defaults={"status": "live"},
    )
    db["articles"].create_index(["canonical_url"], unique=True)
    db["articles"].create_index(["site"])
    db["articles"].create_index(["next_check_at"])

    db["bodies"].create(
        {
            "digest": str,  # SHA-256 (hex) of the body bytes after Content-Encoding is decoded
            "codec": str,  # how data is compressed: gzip
            "size": int,  # bytes, uncompressed
            "data": bytes,
        },
        pk="digest",
        not_null={"codec", "size", "data"},
    )

    db["captures"].create(
        {
            "id": int,
            "crawl_id": int,
            "url": str,  # requested URL (first of a redirect chain)
            "final_url": str,
            "article_id": int,
            "fetched_at": str,  # UTC, when the response arrived
            "status": int,  # HTTP status; null for a page imported from a file
            "etag": str,
            "last_modified": str,
            "body_digest": str,
            "request_headers": str,  # JSON object
            "response_headers": str,  # JSON object
            "outcome": str,  # new, changed, unchanged, not_modified, not_article, failed
            "site": str,
            "content_type": str,
            "origin": str,  # fetch, import
        },
        pk="id",
        foreign_keys=[
            ("crawl_id", "crawls", "id"),
            ("article_id", "articles", "id"),
            ("body_digest", "bodies", "digest"),
        ],
        not_null={"url", "fetched_at", "outcome"},
    )
    db["captures"].create_index(["article_id", "fetched_at"])
    db["captures"].create_index(["crawl_id"])
    db["captures"].create_index(["final_url"])

    db["snapshots"].create(
        {
            "id": int,
            "article_id": int,
            "version": int,  # 1, 2, ... per article
            "capture_id": int,
            "fetched_at": str,
            "content_hash": str,  # SHA-256 (hex) of normalised title + text
            "title": str,
            "text": str,
            "authors": str,  # JSON list
            "published": str,  # as the page states it (ISO 8601, offset or date-only)
            "published_utc": str,
            "published_source": str,
            "modified": str,
            "modified_utc": str,
            "modified_source": str,
            "language": str,
            "description": str,
            "sitename": str,
            "tags": str,  # JSON list
            "image": str,
            "extractor": str,
            "reason": str,  # new, edit, reextract
        },
        pk="id",
        foreign_keys=[
            ("article_id", "articles", "id"),
            ("capture_id", "captures", "id"),
        ],
        not_null={"article_id", "version", "fetched_at", "content_hash", "reason"},
    )
    db["snapshots"].create_index(["article_id", "version"], unique=True)
    db["snapshots"].create_index(["capture_id"])
    db["snapshots"].create_index(["published_utc"])
    db["snapshots"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True)

    db["aliases"].create(
        {
            "url": str,
            "article_id": int,
            "kind": str,  # redirect, tracking, port, canonical, amp, ...
            "first_seen": str,
        },
        pk="url",
        foreign_keys=[("article_id", "articles", "id")],
        not_null={"article_id", "kind"},
    )
    db["aliases"].create_index(["article_id"])

    db["failures"].create(
        {
            "id": int,
            "crawl_id": int,
            "url": str,
            "at": str,  # UTC
            "kind": str,  # http_error, dns, timeout, not_html, bad_url, robots, ...
            "message": str,
            "status": int,
            "site": str,
            "capture_id": int,  # the failed capture, when there was a response
        },
        pk="id",
        foreign_keys=[("crawl_id", "crawls", "id"), ("capture_id", "captures", "id")],
        not_null={"url", "at", "kind"},
    )
    db["failures"].create_index(["crawl_id"])
    db["failures"].create_index(["url"])


@migrations()
def m002_versions_identity_raw_store(db: Database) -> None:
    """What changed between versions, near-duplicates, flagged captures, delta-compressed bodies,
    and what re-extraction needs (the discovery hints and extraction settings of a capture)."""
    db["captures"].add_column("flag", str)  # soft_404, consent_wall, paywall, empty, shrunk
    db["captures"].add_column("hints", str)  # JSON: what discovery said (feed/sitemap date, title)
    db["captures"].add_column("extract_settings", str)  # JSON: the source's timezone and hints
    db["bodies"].add_column("base_digest", str)  # the body a zstd-delta body was compressed against

    db["changes"].create(
        {
            "id": int,
            "article_id": int,
            "snapshot_id": int,  # the new version
            "from_version": int,
            "to_version": int,
            "reason": str,  # edit (the publisher's), reextract (ours)
            "at": str,  # fetched_at of the new version, UTC
            "title_changed": int,  # 0/1
            "words_added": int,
            "words_removed": int,
            "published_changed": int,
            "modified_changed": int,
            "diff": str,  # JSON: [["=", "text"], ["-", "removed"], ["+", "added"], ...]
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id"), ("snapshot_id", "snapshots", "id")],
        not_null={"article_id", "snapshot_id", "from_version", "to_version", "reason"},
    )
    db["changes"].create_index(["article_id", "to_version"], unique=True)
    db["changes"].create_index(["reason", "at"])

    db["fingerprints"].create(
        {"article_id": int, "snapshot_id": int, "minhash": bytes},  # 64 x uint64 MinHash signature
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["fingerprint_bands"].create({"band": str, "article_id": int}, pk=("band", "article_id"))
    db["fingerprint_bands"].create_index(["article_id"])
    db["near_duplicates"].create(
        {
            "article_id": int,
            "other_id": int,  # always other_id < article_id: one row per pair
            "similarity": float,  # estimated Jaccard similarity of 5-word shingles, 0..1
            "method": str,
            "found_at": str,
        },
        pk=("article_id", "other_id"),
        foreign_keys=[("article_id", "articles", "id"), ("other_id", "articles", "id")],
    )
    db["near_duplicates"].create_index(["other_id"])
    db.create_view(
        "publisher_edits",
        "SELECT * FROM changes WHERE reason = 'edit'",
    )


@migrations()
def m003_stories_view(db: Database) -> None:
    """A ``stories`` view for browsing: one row per article with its latest version's title,
    language and dates, its publication day (for facets) and its number of versions."""
    db.create_view(
        "stories",
        """
        SELECT a.id, s.title, a.site, s.language,
               substr(coalesce(s.published_utc, s.published), 1, 10) AS published_day,
               s.published, s.published_utc, s.modified, s.modified_utc,
               a.first_seen, a.last_seen, a.last_changed,
               (SELECT count(*) FROM snapshots v WHERE v.article_id = a.id) AS versions,
               (SELECT count(*) FROM changes c WHERE c.article_id = a.id AND c.reason = 'edit') AS edits,
               a.status, a.canonical_url
        FROM articles a LEFT JOIN snapshots s ON s.id = a.latest_snapshot_id
        """,
    )


@migrations()
def m004_capture_encoding_and_warnings(db: Database) -> None:
    """What a capture keeps for the record: the character encoding its body was decoded
    with, and warnings that did not stop archiving (a date in the future refused, the local
    clock found earlier than a previous capture of the same article)."""
    db["captures"].add_column("encoding", str)  # utf-8, cp1252, utf-16-le, ...
    db["captures"].add_column("warnings", str)  # JSON list of short notes, or null


@migrations()
def m005_snapshot_standfirst(db: Database) -> None:
    """A snapshot's standfirst (the summary between the headline and the story, issue 13),
    searched with the title and the text: the full-text index is rebuilt on ``title``,
    ``text`` and ``standfirst`` (``text`` stays column 1 for ``snippet()``). Snapshots
    stored before keep ``standfirst`` null until ``newsarchive reextract``."""
    db["snapshots"].add_column("standfirst", str)
    db["snapshots"].disable_fts()
    db["snapshots"].enable_fts(["title", "text", "standfirst"], fts_version="FTS5", create_triggers=True)


@migrations()
def m006_templates(db: Database) -> None:
    """Site templates learned from the archive (pipelines/extraction/template.py): one row per
    site and version; and, on each snapshot, the template its extraction applied and the
    blocks it removed."""
    db["templates"].create(
        {
            "site": str,  # the source's name (the host for ad hoc archiving)
            "version": int,  # 1, 2, ... per site
            "learned_at": str,  # UTC, ISO 8601 with Z
            "stories": int,  # distinct stories it was learned from
            "blocks": str,  # JSON: [{"path", "kind", "stories", "sample"}, ...]
            "template": str,  # JSON: the whole value extraction applies
        },
        pk=("site", "version"),
        not_null={"site", "version", "learned_at", "stories", "blocks", "template"},
    )
    db["snapshots"].add_column("template", str)  # site@version, or null
    db["snapshots"].add_column("template_removed", str)  # JSON: [{"path", "kind", "text"}, ...]


@migrations()
def m007_frontier(db: Database) -> None:
    """The crawl frontier: URLs discovered and not yet fetched (or whose failure was not
    final), kept across runs so that a killed or stopped crawl resumes them; the pid of
    each run, so that a run that died without closing its ``crawls`` row can be told apart
    from one that is still running; and the revisit steps the schedules follow, so that
    changed steps reschedule every story."""
    db["frontier"].create(
        {
            "url": str,  # as it will be requested
            "source": str,  # the config's source name
            "discovered_at": str,  # UTC
            "hints": str,  # JSON: what discovery said (feed/sitemap date, title)
            "via": str,  # feed, sitemap, section
            "link_depth": int,  # links followed from a section page to reach it
            "attempts": int,  # runs that requested it
        },
        pk="url",
        not_null={"source", "discovered_at", "attempts"},
        defaults={"attempts": 0},
    )
    db["frontier"].create_index(["source", "discovered_at"])
    db["crawls"].add_column("pid", int)
    # the archive's own settings: the revisit_steps its schedules were computed with
    db["archive_settings"].create({"key": str, "value": str}, pk="key")


@migrations()
def m008_redaction(db: Database) -> None:
    """Redaction (``newsarchive redact``): an article row stays as a tombstone with
    ``status = 'redacted'``, when (``redacted_at``, UTC) and why (``redaction_reason``); the
    ``stories`` view leaves redacted stories out."""
    db["articles"].add_column("redacted_at", str)
    db["articles"].add_column("redaction_reason", str)
    db.execute("DROP VIEW IF EXISTS stories")
    db.create_view(
        "stories",
        """
        SELECT a.id, s.title, a.site, s.language,
               substr(coalesce(s.published_utc, s.published), 1, 10) AS published_day,
               s.published, s.published_utc, s.modified, s.modified_utc,
               a.first_seen, a.last_seen, a.last_changed,
               (SELECT count(*) FROM snapshots v WHERE v.article_id = a.id) AS versions,
               (SELECT count(*) FROM changes c WHERE c.article_id = a.id AND c.reason = 'edit') AS edits,
               a.status, a.canonical_url
        FROM articles a LEFT JOIN snapshots s ON s.id = a.latest_snapshot_id
        WHERE a.status != 'redacted'
        """,
    )


@migrations()
def m009_cjk_search(db: Database) -> None:
    """``snapshots_cjk``: an FTS5 index of each version's Chinese, Japanese and Korean runs
    as overlapping bigrams (:mod:`archive.cjk`), rowid = ``snapshots.id``; filled for the
    versions already stored."""
    from archive import cjk

    db.execute("CREATE VIRTUAL TABLE snapshots_cjk USING fts5(grams)")
    for snapshot_id, title, text in db.execute("SELECT id, title, text FROM snapshots").fetchall():
        grams = cjk.index_text(title, text)
        if grams:
            db.execute("INSERT INTO snapshots_cjk (rowid, grams) VALUES (?, ?)", [snapshot_id, grams])


@migrations()
def m010_reading_at_scale(db: Database) -> None:
    """What keeps the home page, the canned queries and the story page fast at 100,000
    snapshots (issue 16), kept by triggers so that every writer keeps them right:

    - ``articles.edits``: the number of the article's ``changes`` with ``reason = 'edit'``;
    - ``articles.published_or_seen``: the latest version's publication date (UTC when known,
      else as the page states it), else ``first_seen``: the order of "latest stories";
    - indexes for the story page's versions (``changes.snapshot_id``), the latest and the
      changed stories, the crawl runs' counts (``captures(crawl_id, outcome)``) and the
      search page's list of sites (``articles(site, status)``)."""
    db["articles"].add_column("edits", int, not_null_default=0)
    db["articles"].add_column("published_or_seen", str)
    order = (
        "coalesce((SELECT coalesce(s.published_utc, s.published) FROM snapshots s WHERE s.id = {row}.latest_snapshot_id), "
        "{row}.first_seen)"
    )
    db.execute(
        "UPDATE articles SET edits = (SELECT count(*) FROM changes c WHERE c.article_id = articles.id AND c.reason = 'edit'), "
        f"published_or_seen = {order.format(row='articles')}"
    )
    statements = [
        f"CREATE TRIGGER articles_order_insert AFTER INSERT ON articles BEGIN "
        f"UPDATE articles SET published_or_seen = {order.format(row='NEW')} WHERE id = NEW.id; END",
        f"CREATE TRIGGER articles_order_update AFTER UPDATE OF latest_snapshot_id, first_seen ON articles BEGIN "
        f"UPDATE articles SET published_or_seen = {order.format(row='NEW')} WHERE id = NEW.id; END",
        "CREATE TRIGGER changes_edits_insert AFTER INSERT ON changes WHEN NEW.reason = 'edit' BEGIN "
        "UPDATE articles SET edits = edits + 1 WHERE id = NEW.article_id; END",
        "CREATE TRIGGER changes_edits_delete AFTER DELETE ON changes WHEN OLD.reason = 'edit' BEGIN "
        "UPDATE articles SET edits = edits - 1 WHERE id = OLD.article_id; END",
        "CREATE TRIGGER changes_edits_update AFTER UPDATE OF reason, article_id ON changes BEGIN "
        "UPDATE articles SET edits = (SELECT count(*) FROM changes c WHERE c.article_id = articles.id AND c.reason = 'edit') "
        "WHERE id IN (OLD.article_id, NEW.article_id); END",
        "CREATE INDEX idx_changes_snapshot_id ON changes (snapshot_id)",
        "CREATE INDEX idx_articles_published_or_seen ON articles (published_or_seen)",
        "CREATE INDEX idx_articles_changed ON articles (last_changed) WHERE edits > 0",
        "CREATE INDEX idx_articles_edits ON articles (edits, last_changed) WHERE edits > 0",
        "CREATE INDEX idx_captures_crawl_id_outcome ON captures (crawl_id, outcome)",
        "CREATE INDEX idx_articles_site_status ON articles (site, status)",
    ]
    for statement in statements:  # one by one: executescript() would commit the migration's transaction
        db.execute(statement)


@migrations()
def m011_body_dictionaries(db: Database) -> None:
    """Per-site zstd dictionaries (:mod:`archive.bodies`, codec ``zstd-dict``): one row per
    trained dictionary, with the bodies it was trained on (so that redacting one of them
    can take the dictionary out too); ``bodies.dictionary_id`` names the dictionary a
    ``zstd-dict`` body needs."""
    db["dictionaries"].create(
        {
            "id": int,
            "site": str,  # the source's name, as captures.site
            "trained_at": str,  # UTC, ISO 8601 with Z
            "site_bodies": int,  # the site's first-capture bodies stored when it was trained
            "samples": str,  # JSON list of the SHA-256 digests of the bodies it was trained on
            "size": int,  # bytes of the dictionary
            "data": bytes,  # the dictionary, zstd-compressed (archive.bodies.pack_dictionary)
        },
        pk="id",
        not_null={"site", "trained_at", "site_bodies", "samples", "size", "data"},
    )
    db["dictionaries"].create_index(["site"])
    db["bodies"].add_column("dictionary_id", int)  # the dictionary of a zstd-dict body
    db.execute("CREATE INDEX idx_bodies_dictionary_id ON bodies (dictionary_id) WHERE dictionary_id IS NOT NULL")
