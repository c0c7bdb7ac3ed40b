"""The extraction options: one plain value carried whole from the config to the item, the
capture (``captures.extract_settings``) and any later re-extraction.

Extraction is a pure function of a page's bytes, its URL and these options (design.md,
Tables: re-extraction must never invent versions), so the options stored with a capture
are exactly the ones its extraction used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExtractOptions:
    """How to extract one site's pages.

    Attributes:
        include: CSS selector of the story container (``[source.extract] include``); only
            what it matches is extracted.
        exclude: CSS selectors of elements removed before extraction (``[source.extract]
            exclude``).
        timezone: IANA zone for dates the site states without an offset (the source's
            ``timezone``).
        template: the site's learned template, a plain frozen value
            (:class:`pipelines.extraction.template.Template`: JSON-able, versioned), or
            ``None`` for the generic extraction. It is recorded with a capture by its label
            (``site@version``); re-extraction applies the site's current template.
    """

    include: str | None = None
    exclude: tuple[str, ...] = ()
    timezone: str | None = None
    template: Any = None

    def as_json(self) -> dict[str, Any] | None:
        """The options as stored with a capture (``captures.extract_settings``), or ``None``
        when every option has its default."""
        stored = {"timezone": self.timezone, "include": self.include, "exclude": list(self.exclude)}
        if self.template is not None:
            stored["template"] = self.template.label  # site@version
        return stored if any(stored.values()) else None

    @classmethod
    def from_json(cls, stored: dict[str, Any] | None) -> ExtractOptions:
        """The options :meth:`as_json` stored (``None`` or ``{}``: the defaults), without the
        template (the archive holds it: the caller adds the one to apply)."""
        stored = stored or {}
        return cls(
            include=stored.get("include"),
            exclude=tuple(stored.get("exclude") or ()),
            timezone=stored.get("timezone"),
        )
