"""The changes feed: publisher edits as an Atom 1.0 feed (RFC 4287).

Each entry is one edit (a ``changes`` row with ``reason = 'edit'``): its ``id`` and
``link`` are the story page's comparison of the two versions
(``/-/story/ID?from=N&to=M``, absolute), ``updated`` is when the new version was
fetched (UTC), the ``title`` says what changed, the ``summary`` counts the words and the
``content`` (``type="html"``) is the word diff, escaped as the story page escapes it
(:func:`archive.web.plugin.diff_html`); a ``related`` link points at the publisher's URL.
Text is cleaned of the characters XML 1.0 does not allow (control characters that an
archived page may hold).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
# XML 1.0, section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str | None) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return NOT_XML.sub("", text or "")


def entry_title(change: dict[str, Any]) -> str:
    new, old = change.get("new_title") or "(untitled)", change.get("old_title") or "(untitled)"
    if change.get("title_changed"):
        return f"Headline changed: {old} → {new}"
    return f"Edited: {new}"


def summary(change: dict[str, Any]) -> str:
    parts = [f"v{change['from_version']} → v{change['to_version']}: +{change['words_added'] or 0} −{change['words_removed'] or 0} words"]
    if change.get("title_changed"):
        parts.append("headline changed")
    if change.get("published_changed"):
        parts.append("publication date changed")
    if change.get("modified_changed"):
        parts.append("modification date changed")
    return "; ".join(parts) + f" ({change['site']})"


def feed(
    changes: list[dict[str, Any]],
    *,
    title: str,
    self_url: str,
    home_url: str,
    story_url: Callable[[dict[str, Any]], str],
    diff_html: Callable[[list], str],
    updated: str,
) -> bytes:
    """The Atom document (UTF-8 bytes) for ``changes`` (newest first).

    Args:
        changes: rows of :func:`archive.queries.publisher_edits`.
        title: the feed's title.
        self_url / home_url: absolute URLs of this feed and of the archive's home page.
        story_url: the absolute URL of an edit's comparison on its story page.
        diff_html: renders a word diff (ops) as escaped HTML.
        updated: UTC time of the newest entry (or of now, for an empty feed).
    """
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "title", clean(title))
    _text(root, "id", self_url)
    _text(root, "updated", updated)
    ET.SubElement(root, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=self_url)
    ET.SubElement(root, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=home_url)
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "newsarchive")
    _text(root, "generator", "newsarchive")
    for change in changes:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        href = story_url(change)
        _text(entry, "id", href)
        _text(entry, "title", clean(entry_title(change)))
        _text(entry, "updated", change["at"])
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=href)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=clean(change["canonical_url"]))
        category = ET.SubElement(entry, f"{{{ATOM}}}category")
        category.set("term", clean(change["site"] or ""))
        _text(entry, "summary", clean(summary(change)))
        content = _text(entry, "content", clean(str(diff_html(change["ops"]))))
        content.set("type", "html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = text
    return element
