"""Stage 4, main content: trafilatura separates the story from the page around it.

trafilatura's full mode (``fast=False``: its own extraction compared with its fallback
extractors, readability-lxml and jusText, trafilatura's documented ``bare_extraction``
behaviour), comments excluded. Its fast mode cut about one story in a hundred short after
a photo caption and the first paragraph (issue 13): full mode on every page keeps them.
"""

from __future__ import annotations

import logging
import warnings

import trafilatura
from dateutil.parser import UnknownTimezoneWarning
from lxml.html import HtmlElement

logger = logging.getLogger(__name__)


def run(tree: HtmlElement, url: str | None):
    """trafilatura's main content of ``tree`` (it works on a copy), as its ``Document``
    whose ``body`` is an XML tree of ``<p>``, ``<head>``, ``<list>``, ``<quote>``,
    ``<table>`` with links as ``<ref>``; or ``None`` when it finds none or fails (a crawl
    never dies on one page: the failure is logged). A text that is no HTML document (no
    ``<html>`` root, fewer than two elements: trafilatura's own test in ``load_html``) has no
    main content: its fast mode finds none, and its fallback extractors would return any text."""
    if tree.tag != "html" and len(tree) < 2:
        return None
    try:
        with warnings.catch_warnings():
            # htmldate hands time-zone names to dateutil, which warns on unknown ones
            warnings.simplefilter("ignore", UnknownTimezoneWarning)
            return trafilatura.bare_extraction(
                tree,
                url=None,  # links are kept for their text only: resolving each one costs ~1 ms a page
                fast=False,
                with_metadata=False,  # read by the metadata stage, without htmldate
                include_comments=False,
                include_tables=True,
                include_links=True,  # to tell boxes of links from prose (the body stage)
                deduplicate=False,
            )
    except Exception as exc:  # trafilatura raises many kinds on odd pages; the page is then boilerplate-only
        logger.warning("trafilatura failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None
