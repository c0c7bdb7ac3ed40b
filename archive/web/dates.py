"""Dates for people: the archive's ISO 8601 values written as a reader says them.

The archive keeps dates as text (design.md): a page's date as it stated it
(``2014-12-29T10:20:00-05:00``, ``2014-12-29T10:20:00`` with no offset, ``2014-12-29``), its
UTC instant (``2014-12-29T15:20:00Z``) and the archive's own times (UTC, with ``Z``; some
older rows ``+00:00``). Pages show them one way: ``29 Dec 2014, 10:20 (UTC−05:00)`` as
stated, then ``15:20 UTC``; the ISO value stays in the ``<time datetime>`` attribute and
its tooltip. Anything that does not parse is shown as it is.
"""

from __future__ import annotations

import datetime
import re

from markupsafe import Markup, escape

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse(value: str) -> datetime.date | datetime.datetime | None:
    value = value.strip()
    try:
        if DAY.fullmatch(value):
            return datetime.date.fromisoformat(value)
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None


def _day(moment: datetime.date) -> str:
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def _clock(moment: datetime.datetime) -> str:
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


def _zone(moment: datetime.datetime) -> str:
    """``UTC`` for a zero offset, ``(UTC+05:30)`` or ``(UTC−05:00)`` (a minus sign) for another,
    ``(no time zone stated)`` for a naive time."""
    offset = moment.utcoffset()
    if offset is None:
        return "(no time zone stated)"
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes > 0 else "\u2212"
    return f"(UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"


def readable(value: str | None) -> str:
    """``29 Dec 2014, 10:20 (UTC−05:00)``, ``29 Dec 2014, 15:20 UTC``, ``29 Dec 2014``
    (a day only); the value itself if it is not ISO 8601; ``""`` for none."""
    if not value:
        return ""
    moment = _parse(str(value))
    if moment is None:
        return str(value)
    if not isinstance(moment, datetime.datetime):
        return _day(moment)
    return f"{_day(moment)}, {_clock(moment)} {_zone(moment)}"


def stated_then_utc(stated: str | None, utc: str | None) -> str:
    """A page's date as it stated it, then the same instant in UTC when that says more:
    ``29 Dec 2014, 10:20 (UTC−05:00) · 15:20 UTC`` (the day repeated when it differs).
    ``utc`` is the stored UTC value; without it, a stated offset gives the instant."""
    shown = readable(stated)
    when, instant = _parse(str(stated or "")), _parse(str(utc or ""))
    if instant is None and isinstance(when, datetime.datetime) and when.utcoffset() is not None:
        instant = when.astimezone(datetime.timezone.utc)  # an offset stated: the same instant (no UTC column shown)
    if not isinstance(instant, datetime.datetime) or not shown:
        return shown or readable(utc)
    if isinstance(when, datetime.datetime) and when.utcoffset() is not None and not when.utcoffset():
        return shown  # stated in UTC already
    utc_text = f"{_clock(instant)} UTC"
    if not isinstance(when, datetime.datetime) or when.date() != instant.date():
        utc_text = f"{_day(instant)}, {utc_text}"
    return f"{shown} · {utc_text}"


def time_html(value: str | None, text: str | None = None) -> Markup:
    """``<time datetime="ISO" title="ISO">readable</time>`` (escaped), or ``""``."""
    if not value:
        return Markup("")
    shown = text if text is not None else readable(value)
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(escape(str(value)), shown)
