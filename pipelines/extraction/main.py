"""Stage 4, main content: trafilatura separates the story from the page around it.

trafilatura's full mode (``fast=False``: its own extraction compared with its fallback
extractors, readability-lxml and jusText, trafilatura's documented ``bare_extraction``
behaviour), comments excluded. Its fast mode cut about one story in a hundred short after
a photo caption and the first paragraph (issue 13): full mode on every page keeps them.

One change to full mode's comparison (``trafilatura.core.compare_extraction``): a fallback's
text that is longer than trafilatura's own text of paragraphs replaces it only when it is
:data:`FAR_LONGER` times as long (trafilatura takes readability's at twice the length, and
jusText's at any length when its own holds unsanitised markup). A story cut short after its
first paragraph is a small part of the whole; a fallback's text two to five times as long
as a story of several paragraphs is that story inside its parent container, with other
stories' excerpts, a video player's text or a comment thread around it. A fallback that is
shorter (it left boilerplate out) or replaces an empty or paragraph-less text stands.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import trafilatura
from dateutil.parser import UnknownTimezoneWarning
from lxml.html import HtmlElement
from trafilatura import core as trafilatura_core

logger = logging.getLogger(__name__)

#: a fallback extractor's longer text replaces trafilatura's own (a story of paragraphs)
#: only when it is at least this many times as long
FAR_LONGER = 5
#: the rules that may be switched off (benchmarks.extraction, ablation)
RULES = ("far_longer",)


def run(tree: HtmlElement, url: str | None, off: set[str] = frozenset()):
    """trafilatura's main content of ``tree`` (it works on a copy), as its ``Document``
    whose ``body`` is an XML tree of ``<p>``, ``<head>``, ``<list>``, ``<quote>``,
    ``<table>`` with links as ``<ref>``; or ``None`` when it finds none or fails (a crawl
    never dies on one page: the failure is logged). A text that is no HTML document (no
    ``<html>`` root, fewer than two elements: trafilatura's own test in ``load_html``) has no
    main content: its fast mode finds none, and its fallback extractors would return any text.
    ``off``: rules switched off (``far_longer``: trafilatura's own comparison)."""
    if tree.tag != "html" and len(tree) < 2:
        return None
    try:
        with warnings.catch_warnings(), _fallback_only_when_far_longer("far_longer" not in off):
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


@contextmanager
def _fallback_only_when_far_longer(active: bool = True) -> Iterator[None]:
    """Inside, trafilatura's full mode keeps its own text of paragraphs over a fallback's
    that is longer but less than :data:`FAR_LONGER` times as long: in its comparison with
    readability and jusText (``compare_extraction``), and in its recall escalation, where a
    jusText candidate replaces a short extraction at ``ESCALATION_JUSTEXT_RATIO`` times its
    length (2.0 in trafilatura). Without those two (another trafilatura) nothing changes."""
    original = getattr(trafilatura_core, "compare_extraction", None)
    escalation_ratio = getattr(trafilatura_core, "ESCALATION_JUSTEXT_RATIO", None)
    if not active or original is None or escalation_ratio is None:
        yield
        return

    def compare(cleaned_tree, raw_tree, body, text, options):
        chosen, chosen_text = original(cleaned_tree, raw_tree, body, text, options)
        own_paragraphs = bool(text) and bool(body.xpath(".//p//text()")) and len(body.findall(".//table")) <= len(body.findall(".//p"))
        if chosen is not body and own_paragraphs and len(text) < len(chosen_text) < FAR_LONGER * len(text):
            return body, text
        return chosen, chosen_text

    trafilatura_core.compare_extraction = compare
    trafilatura_core.ESCALATION_JUSTEXT_RATIO = max(escalation_ratio, FAR_LONGER)
    try:
        yield
    finally:
        trafilatura_core.compare_extraction = original
        trafilatura_core.ESCALATION_JUSTEXT_RATIO = escalation_ratio
