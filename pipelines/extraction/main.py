"""Stage 4, main content: trafilatura separates the story from the page around it.

trafilatura's full mode (``fast=False``: its own extraction compared with its fallback
extractors, readability-lxml and jusText, trafilatura's documented ``bare_extraction``
behaviour), comments excluded. Its fast mode cut about one story in a hundred short after
a photo caption and the first paragraph (issue 13): full mode on every page keeps them.

One change to full mode (its comparison, ``trafilatura.core.compare_extraction``, and the
jusText candidate of its recall escalation): a fallback's text that is longer than
trafilatura's own text of paragraphs replaces it only when it is :data:`FAR_LONGER` times as
long (trafilatura takes readability's and the escalation's jusText at twice the length,
and its comparison's jusText at any length when its own holds unsanitised markup). A
story cut short after its first paragraph is a small part of the whole; a fallback's text
two to five times as long as a story of several paragraphs is that story inside its parent
container, with other stories' excerpts, a video player's text or a comment thread around
it. A fallback that is
shorter (it left boilerplate out), replaces a text too short for trafilatura to keep
(under its ``min_extracted_size``) or without paragraphs, or whose extra paragraphs sit in
containers of the same kind as trafilatura's own (the same tag and class: a story split
by an ad or a picture, which trafilatura's own extraction cuts at the first) stands.

trafilatura's module is changed while a page is extracted, under a lock: one extraction at
a time per process (the crawl extracts in worker processes).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import trafilatura
from dateutil.parser import UnknownTimezoneWarning
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura import core as trafilatura_core

logger = logging.getLogger(__name__)

#: a fallback extractor's longer text replaces trafilatura's own (a story of paragraphs)
#: only when it is at least this many times as long
FAR_LONGER = 5
#: the rules that may be switched off (benchmarks.extraction, ablation)
RULES = ("far_longer",)
_PATCHING = threading.Lock()


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
        with _PATCHING, warnings.catch_warnings(), _fallback_only_when_far_longer(tree, "far_longer" not in off):
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
def _fallback_only_when_far_longer(page: HtmlElement, active: bool = True) -> Iterator[None]:
    """Inside, trafilatura's full mode keeps its own text of paragraphs over a fallback's
    that is longer but less than :data:`FAR_LONGER` times as long, unless the fallback
    continues the story in ``page`` (:func:`_continues`): in its comparison with
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
        if (
            chosen is not body
            and getattr(options, "min_extracted_size", 0) <= len(text) < len(chosen_text) < FAR_LONGER * len(text)
            and _has_paragraphs(body)
            and not _continues(page, body, chosen)
        ):
            return body, text
        return chosen, chosen_text

    trafilatura_core.compare_extraction = compare
    trafilatura_core.ESCALATION_JUSTEXT_RATIO = max(escalation_ratio, FAR_LONGER)
    try:
        yield
    finally:
        trafilatura_core.compare_extraction = original
        trafilatura_core.ESCALATION_JUSTEXT_RATIO = escalation_ratio


def _has_paragraphs(body) -> bool:
    """trafilatura's own text has paragraph text and is not mostly tables (its own test of a
    structurally deficient extraction, ``_prefer_readability``)."""
    return bool(_PARAGRAPH_TEXT(body)) and len(body.findall(".//table")) <= len(body.findall(".//p"))


_PARAGRAPH_TEXT = XPath(".//p//text()")


def _continues(page: HtmlElement, own, chosen) -> bool:
    """Whether paragraphs the fallback (``chosen``) adds to trafilatura's own (``own``) sit in
    ``page`` in a container of the same tag and class as one of the own paragraphs: the
    rest of a story split in several containers. Paragraphs are matched by their first
    :data:`MATCH_CHARS` characters, white space folded."""
    where: dict[str, HtmlElement] = {}
    for p in page.iter("p"):
        where.setdefault(_start(p.text_content()), p)

    def containers(body) -> list[HtmlElement]:
        found = (where.get(_start("".join(el.itertext()))) for el in body.iter("p"))
        return [p.getparent() for p in found if p is not None and p.getparent() is not None]

    own_containers = containers(own)
    kinds = {(c.tag, c.get("class")) for c in own_containers if c.get("class")}
    return any((c.tag, c.get("class")) in kinds for c in containers(chosen) if c not in own_containers)


MATCH_CHARS = 60


def _start(text: str) -> str:
    return " ".join(text.split())[:MATCH_CHARS]
