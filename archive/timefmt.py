"""Timestamps as the archive writes them: ISO 8601, UTC, with a ``Z`` (see design.md, Time)."""

from __future__ import annotations

from datetime import datetime, timezone

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> datetime:
    """The local clock, in UTC, as an aware datetime (second precision)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso_utc(moment: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC.

    Raises:
        ValueError: ``moment`` is naive (its offset is unknown).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime has no UTC offset: {moment!r}")
    return moment.astimezone(timezone.utc).strftime(UTC_FORMAT)


def utc_now_iso() -> str:
    """The local clock in UTC as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return iso_utc(utc_now())


def parse_utc(value: str) -> datetime:
    """Parse a timestamp written by :func:`iso_utc` back into an aware datetime.

    Raises:
        ValueError: ``value`` is not in the archive's UTC format.
    """
    return datetime.strptime(value, UTC_FORMAT).replace(tzinfo=timezone.utc)
