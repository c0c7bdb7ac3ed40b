"""Content identity: when two captures of an article hold the same version (design.md, Versions)."""

from __future__ import annotations

import hashlib
import unicodedata


def normalise(text: str | None) -> str:
    """Unicode NFC with every run of white space folded to one space, trimmed."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_hash(title: str | None, text: str | None, standfirst: str | None = None) -> str:
    """SHA-256 (hex) of the normalised title, a newline, and the normalised text; then, when
    the story has a standfirst, a newline and the normalised standfirst. A story without a
    standfirst keeps the hash it had before standfirsts were kept (newsarchive 0.1), so
    that upgrading alone makes no new version of it.

    Two captures with the same hash are the same version: differences in white space
    or Unicode composition, and everything outside the extracted story (ads, teasers,
    timestamps, tokens), make no new version.
    """
    payload = normalise(title) + "\n" + normalise(text)
    if normalise(standfirst):
        payload += "\n" + normalise(standfirst)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
