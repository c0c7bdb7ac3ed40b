"""The shared sites in two fixed halves, by a hash of the host (issue 13).

Rules are tuned on the ``tune`` half and must pay on the ``check`` half, which they were
not tuned on: the check half stands in for the pages we do not have. The split is fixed
before any tuning and depends on nothing but the site's name, so that every page of a
site falls in the same half and the halves never move when pages are added.

A site is the page's host (lower case, a leading ``www.`` dropped); a page without a URL
(some of Mozilla Readability's test pages) is named by its folder, without a trailing
``-N`` number (``webmd-1`` and ``webmd-2`` are one site).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

HALVES = ("tune", "check")


def site_of(url: str | None, key: str = "") -> str:
    """The site a page belongs to: its host without ``www.``, else its folder name's stem."""
    host = (urlsplit(url).hostname or "") if url else ""
    if host:
        return host.lower().removeprefix("www.")
    stem = key.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"-\d+$", "", stem.lower())


def half_of(url: str | None, key: str = "") -> str:
    """``"tune"`` or ``"check"``: the low bit of the first byte of SHA-256 of the site name."""
    digest = hashlib.sha256(site_of(url, key).encode("utf-8")).digest()
    return HALVES[digest[0] & 1]
