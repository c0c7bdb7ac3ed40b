"""Content identity: when two captures of an article hold the same version (design.md, Versions).

:func:`version_identity` is the one place a version's identity is computed: crawls
(pipelines/version.py), the extraction workers and re-extraction use it."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

from archive.similarity import signature
from pipelines.quality import capture_flag


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


@dataclass(frozen=True)
class VersionIdentity:
    """What makes a version (design.md, Versions).

    Attributes:
        content_hash: SHA-256 (hex) of the normalised title, text and standfirst
            (:func:`pipelines.content.content_hash`).
        fingerprint: the text's MinHash signature, for near-duplicates (bytes).
        flag: why the capture may not be a version (:func:`pipelines.quality.capture_flag`:
            ``soft_404``, ``consent_wall``, ...), or ``None``.
    """

    content_hash: str
    fingerprint: bytes
    flag: str | None


def version_identity(extraction: Any) -> VersionIdentity:
    """The version identity of an extraction (a :class:`pipelines.extraction.Extraction`)."""
    return VersionIdentity(
        content_hash=content_hash(extraction.title, extraction.text, extraction.standfirst),
        fingerprint=signature(extraction.text),
        flag=capture_flag(extraction.title, extraction.text),
    )
