"""Site templates and the archive: learn a site's template from its stored stories, and
hand each page its site's template for extraction (:mod:`pipelines.extraction.template`).

The archive is the one place with many pages of one site. A template is learned from the
raw bodies stored for the site, one page per distinct story (the body of its latest
version; near-duplicates of a story already taken are left out), and saved as the site's
next version in ``templates``. Extraction applies the latest version; a site with no
template (too few stories) gets the generic extraction.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from archive.database import Archive, ArchiveError
from crawler.items import PageItem
from pipelines.extract import EXTRACT_ROLES
from pipelines.extraction.template import LearnJob, Template, learn_job
from pipelines.workers import ExtractionPool, ExtractResult

logger = logging.getLogger(__name__)

#: stories a site needs before a template is learned (benchmarks/templates.py measures it)
MIN_STORIES = 8
#: the most recent stories learned from: learning reads and parses each one (about 15-20 ms
#: a story, in the extraction workers at the end of a crawl, for each site that is due; 100
#: stories made most of a 600-page first crawl's last 6 s); benchmarks/templates.py finds no
#: gain beyond 6 stories, so 50 leaves a wide margin
MAX_PAGES = 50


def load_template(archive: Archive, site: str | None, url: str | None = None) -> Template | None:
    """The latest template of ``site``; else, when ``url`` is given, of the site the archive
    knows for that URL's host (``archive URL`` of a site already crawled); else ``None``.
    A stored template this code cannot read is logged and ignored (generic extraction)."""
    data = archive.template(site) if site else None
    if data is None and url:
        known = archive.site_of_url(url)
        data = archive.template(known) if known else None
    if data is None:
        return None
    try:
        return Template.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("template of %s not readable (%s): generic extraction", site, exc)
        return None


def learn_site(archive: Archive, site: str, *, max_pages: int = MAX_PAGES, min_stories: int = MIN_STORIES) -> Template | None:
    """Learn ``site``'s template from its stored stories and save it as the next version.

    Returns:
        the saved template, or ``None`` when the site has fewer than ``min_stories``
        readable stories (nothing is saved then). A template without blocks (the stories
        share none) is saved too, so that the site is not learned again at the end of every
        run until it has ``min_stories`` new stories; it changes no extraction.
    """
    return save_learned(archive, site, learn_job(learn_job_of(archive, site, max_pages=max_pages, min_stories=min_stories)))


def learn_job_of(archive: Archive, site: str, *, max_pages: int = MAX_PAGES, min_stories: int = MIN_STORIES) -> LearnJob:
    """The :class:`LearnJob` of ``site``: the stored body of each of its latest ``max_pages``
    distinct stories (:meth:`Archive.story_pages`)."""
    rows = archive.story_pages(site, max_pages)
    return LearnJob.of(site, ((row["body"], row["content_type"], row["final_url"]) for row in rows), min_stories)


def save_learned(archive: Archive, site: str, template: Template | None) -> Template | None:
    """Save a learned ``template`` as ``site``'s next version; returns it as stored (with
    its version), or ``None`` when nothing was learned."""
    if template is None:
        return None
    blocks = [{"path": b.path, "kind": b.kind, "stories": b.stories, "sample": b.sample} for b in template.blocks]
    stored = archive.save_template(site, template.to_json(), template.stories, blocks)
    logger.info("template of %s v%s: %d blocks from %d stories", site, stored["version"], len(blocks), template.stories)
    return Template.from_json(stored)


def learn_due(archive: Archive, min_stories: int = MIN_STORIES, pool: ExtractionPool | None = None) -> list[Template]:
    """Learn the template of every site with at least ``min_stories`` stories new since its
    latest template (0: none). Returns the templates saved.

    With ``pool`` (the crawl's extraction workers) the sites are learned in the workers,
    one site a worker (:meth:`ExtractionPool.map`: as many sites' bodies in memory as workers),
    and saved here; a site whose learning fails there (cut off, its worker died) is logged
    and learned at the end of a later run."""
    if min_stories <= 0:
        return []
    due = [
        row["site"] for row in archive.sites()
        if row["stories"] >= min_stories and archive.new_stories(row["site"]) >= min_stories
    ]
    jobs = (learn_job_of(archive, site, min_stories=min_stories) for site in due)
    results = pool.map(jobs, learn_job, timed=False, in_flight=pool.workers) if pool is not None else map(learn_job, jobs)
    learned = []
    for site, result in zip(due, results):
        if isinstance(result, ExtractResult):  # the pool's failure: cut off, or its worker died
            logger.warning("template of %s not learned: %s", site, result.error[1] if result.error else result)
            continue
        template = save_learned(archive, site, result)
        if template is not None:
            learned.append(template)
    return learned


class TemplatePipeline:
    """Stage 0: give each article candidate its site's template (in ``item.options``) and its
    site's compression dictionary (``item.dictionary``: an extraction worker compresses the
    body with it, archive/bodies.py), and learn templates when the spider closes.

    Settings: ``ARCHIVE_DB``; ``ARCHIVE_TEMPLATE_MIN_STORIES`` (stories new since a site's
    latest template before it is learned again at the end of a run; 0 turns learning off).
    At the end of a crawl the sites are learned in the crawl's extraction workers, several
    at once (``crawler.extraction_pool``, set by :class:`~pipelines.extract.ExtractPipeline`),
    else in this process.

    Stats: ``template/applied`` (pages given a template), ``template/learned`` (templates
    saved at the end of the run).
    """

    def __init__(self, db_path: str | None, min_stories: int = MIN_STORIES, stats=None) -> None:
        self.db_path = db_path
        self.min_stories = min_stories
        self.stats = stats
        self.archive: Archive | None = None
        self.crawler = None
        self._by_site: dict[tuple[str, str | None], Template | None] = {}

    @classmethod
    def from_crawler(cls, crawler) -> TemplatePipeline:
        settings = crawler.settings
        pipeline = cls(
            settings.get("ARCHIVE_DB"), settings.getint("ARCHIVE_TEMPLATE_MIN_STORIES", MIN_STORIES), crawler.stats
        )
        pipeline.crawler = crawler
        return pipeline

    def open_spider(self, spider=None) -> None:
        try:
            self.archive = Archive.open(self.db_path, create=False) if self.db_path else None
        except ArchiveError:
            self.archive = None  # a new archive knows no site yet

    def process_item(self, item):
        if (
            self.archive is None
            or not isinstance(item, PageItem)
            or item.role not in EXTRACT_ROLES
            or item.error
            or item.status == 304
        ):
            return item
        # ad hoc archiving names a site by its host: then the known site on that host is used
        key = (item.site, _origin(item.final_url))
        if key not in self._by_site:
            self._by_site[key] = load_template(self.archive, item.site, key[1])
        template = self._by_site[key]
        if template is not None:
            item.options = replace(item.options, template=template)
        dictionary = self.archive.site_dictionary(item.site)
        item.dictionary = dictionary[1] if dictionary else None
        if template is not None and self.stats is not None:
            self.stats.inc_value("template/applied")
        return item

    def close_spider(self, spider=None) -> None:
        if self.archive is None:
            try:
                self.archive = Archive.open(self.db_path, create=False) if self.db_path else None
            except ArchiveError:
                return
        if self.archive is None:
            return
        # the crawl's extraction workers, still running (pipelines.extract): sites learned there, in parallel
        pool = getattr(self.crawler, "extraction_pool", None)
        try:
            learned = learn_due(self.archive, self.min_stories, pool=pool)
        except ArchiveError as exc:
            logger.error("templates not learned: %s", exc)
            learned = []
        finally:
            self.archive.close()
            self.archive = None
        if self.stats is not None and learned:
            self.stats.set_value("template/learned", len(learned))


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else None
