"""The User-Agent newsarchive sends."""

from __future__ import annotations

from archive import __version__


def user_agent(override: str | None = None, contact: str | None = None) -> str:
    """``newsarchive/<version> (+<contact>)``, or the config's full ``user_agent``.

    Site operators look for a product name and a way to reach the crawler's operator
    (RFC 9110 section 10.1.5 describes the product token and comment form).
    """
    if override:
        return override
    base = f"newsarchive/{__version__}"
    return f"{base} (+{contact})" if contact else base
