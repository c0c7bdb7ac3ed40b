"""``newsarchive crawl --recheck TARGET``: make stories due for a re-check now."""

from __future__ import annotations

from archive.database import Archive
from archive.schedule import parse_revisit_steps
from crawler.config import CrawlConfig


class UnknownTarget(ValueError):
    """A ``--recheck`` target that is neither ``all``, a source's name, nor a URL of a known article."""


def make_due(archive: Archive, config: CrawlConfig, target: str) -> int:
    """Make the stories ``target`` names due now; returns how many.

    ``target`` is ``all`` (every story of the config's sources), a source's ``name``, or a
    URL: the canonical URL or any alias of one story. The schedules first follow the
    config's current ``revisit_steps`` (:meth:`archive.database.Archive.apply_revisit_steps`),
    so that the run's own rescheduling does not undo this.

    Raises:
        UnknownTarget: no such source, and no article for that URL.
    """
    steps = list(config.revisit_steps)
    archive.apply_revisit_steps(steps, parse_revisit_steps(steps))
    names = [s.name for s in config.sources]
    if target == "all":
        return archive.recheck_now(sites=names)
    if target in names:
        return archive.recheck_now(sites=[target])
    if "://" not in target:
        raise UnknownTarget(f"--recheck {target!r}: not 'all', a source of the config ({', '.join(names)}), or a URL")
    article_id = archive.find_article_id(target)
    if article_id is None:
        raise UnknownTarget(f"--recheck {target}: no article in the archive has this URL (canonical or alias)")
    return archive.recheck_now(article_id=article_id)
