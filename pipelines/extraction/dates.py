"""Publication and modification dates, kept as the page states them (design.md, Time).

A date is read from one place (JSON-LD, a meta tag, a ``<time>`` element, the visible
dateline, the news sitemap, the feed, the URL), parsed with python-dateutil, and written
back as ISO 8601 that keeps its precision: with the stated UTC offset
(``2018-04-25T06:35:00+05:00``), without one when none is stated
(``2018-04-25T06:35:00``), or date-only (``2018-04-25``). A value that lacks the day
(``2023/12``) is refused rather than padded: python-dateutil fills missing fields from a
default, which by default is *today* (the fault of ``shared/cases/07-*``).

Beside each value, the same instant in UTC (``...Z``) when both time and offset are known
(or the offset comes from the source's ``timezone`` setting), else ``None``.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser
from lxml import etree

# Dates before the web had news sites, or after tomorrow, are errors of the page or of
# parsing (htmldate uses the same lower bound).
MIN_YEAR = 1995
MAX_FUTURE = timedelta(days=1)
MAX_DATE_TEXT = 80

# Two different defaults: a field that comes out different was not in the string.
_DEFAULT_A = datetime(2001, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(2002, 2, 2, 1, 1, 1)
_ZULU = re.compile(r"(?:Z|UTC|GMT|\+00:?00)\s*$", re.IGNORECASE)
_HAS_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class StatedDate:
    """A date as the page states it.

    Attributes:
        value: ISO 8601 with the stated precision and offset.
        utc: the same instant as ``YYYY-MM-DDTHH:MM:SSZ``, or ``None`` when the time or
            the offset is unknown.
        source: where it came from: ``jsonld``, ``meta``, ``time``, ``text``,
            ``sitemap``, ``feed`` or ``url``.
    """

    value: str
    utc: str | None
    source: str

    @property
    def day(self) -> str:
        """The calendar day as stated, ``YYYY-MM-DD``."""
        return self.value[:10]


#: a label that makes the date after it a modification date, not a publication date ("Updated:")
UPDATED_LABEL = re.compile(
    r"(?:updated|modified|last\s+update|(?:last\s+)?edited|revised|aktualisiert|geändert|mis\s+à\s+jour|modifié|"
    r"actualizado|atualizado|aggiornato|bijgewerkt)\s*(?:on|am|le|el|il|:)?\W{0,3}$",
    re.IGNORECASE,
)
#: "Stand:" or "Stand vom" (German, "as of"; a noun, always capitalised): the date of the page as
#: it stands, the only date many German news pages show (issue 13 saw the right day refused
#: when it was read as an update)
AS_OF_LABEL = re.compile(r"(?<![\w-])Stand(?:\s*:|\s+vom)\W{0,3}$")


def parse_stated_date(
    raw: str | None,
    source: str,
    *,
    tz: str | None = None,
    now: datetime | None = None,
    dayfirst: bool = False,
) -> StatedDate | None:
    """Parse one date string with python-dateutil, keeping its precision.

    Args:
        raw: the text, e.g. ``"2018-04-25T06:35:00+05:00"`` or ``"Apr 25, 2018"``.
        source: recorded as :attr:`StatedDate.source`.
        tz: IANA zone for a time stated without offset (the source's ``timezone``).
        now: the fetch time (aware); dates more than a day after it are refused.
        dayfirst: read ``01/02/2023`` as 1 February (dateutil's ``dayfirst``).

    Returns:
        The date, or ``None`` when the string is not a date, lacks the day (month-only
        or year-only values are never padded), or is before 1995 or in the future.
    """
    if not raw or not isinstance(raw, str):
        return None
    text = " ".join(raw.split())[:MAX_DATE_TEXT]
    if not _HAS_DIGIT.search(text):
        return None
    parsed = _parse(text, dayfirst)
    if parsed is None:
        return None
    moment, has_time = parsed
    return _stated(moment, has_time, source, tz=tz, now=now, zulu=bool(_ZULU.search(text)))


# 2018-04-25, 2018-04-25T06:35, 2018-04-25T06:35:00.123+05:00, ...Z (Python 3.11's fromisoformat)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$)")


@functools.lru_cache(maxsize=4096)
def _parse(text: str, dayfirst: bool) -> tuple[datetime, bool] | None:
    """``(moment, has_time)`` for a date string, or ``None`` when it is not a whole day.
    Parsed twice with different defaults: a field that differs was filled from the default,
    not stated. Cached: a page states the same value in several places, and its dates are
    read more than once (datetimes are immutable). An ISO 8601 value (what structured data
    state) is read by ``datetime.fromisoformat`` first, about 20 times faster than dateutil."""
    if _ISO.match(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment, len(text) > 10
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # UnknownTimezoneWarning: an unknown zone name is simply no offset
            a = dateutil_parser.parse(text, default=_DEFAULT_A, dayfirst=dayfirst)
            b = dateutil_parser.parse(text, default=_DEFAULT_B, dayfirst=dayfirst)
    except (ValueError, OverflowError, TypeError):
        return None
    if (a.year, a.month, a.day) != (b.year, b.month, b.day):
        return None  # year, month or day missing: never pad it
    return a, (a.hour, a.minute) == (b.hour, b.minute)


_FAR_FUTURE = datetime(9000, 1, 1, tzinfo=timezone.utc)


def future_date(raw: str | None, source: str, *, tz: str | None = None, now: datetime | None = None) -> StatedDate | None:
    """The date ``raw`` states when it lies more than a day after ``now`` (the fetch time),
    else ``None``. Such a date is refused as a publication or modification date (a
    scheduled or mistyped date, or a page with a wrong clock); this says which, so that
    the refusal can be reported (captures.warnings)."""
    if parse_stated_date(raw, source, tz=tz, now=now) is not None:
        return None
    return parse_stated_date(raw, source, tz=tz, now=_FAR_FUTURE)


def stated_from_parts(
    year: int, month: int, day: int, source: str, *, now: datetime | None = None
) -> StatedDate | None:
    """A date-only :class:`StatedDate` from numbers (e.g. a dateline or a URL), or ``None`` if invalid."""
    try:
        moment = datetime(year, month, day)
    except ValueError:
        return None
    return _stated(moment, False, source, tz=None, now=now, zulu=False)


def _stated(moment: datetime, has_time: bool, source: str, *, tz, now, zulu) -> StatedDate | None:
    if moment.year < MIN_YEAR:
        return None
    now = now or datetime.now(timezone.utc)
    if not has_time:
        if date(moment.year, moment.month, moment.day) > (now + MAX_FUTURE).date():
            return None
        return StatedDate(moment.strftime("%Y-%m-%d"), None, source)
    moment = moment.replace(microsecond=0)
    aware = moment
    if moment.tzinfo is None and tz:
        aware = moment.replace(tzinfo=ZoneInfo(tz))
    if aware.tzinfo is not None and aware.utcoffset() is not None:
        instant = aware.astimezone(timezone.utc)
        if instant > now + MAX_FUTURE:
            return None
        utc = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        if moment.date() > (now + MAX_FUTURE).date():
            return None
        utc = None
    return StatedDate(_iso(moment, zulu), utc, source)


def _iso(moment: datetime, zulu: bool) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    offset = moment.utcoffset() if moment.tzinfo is not None else None
    if offset is None:
        return text
    if offset == timedelta(0) and zulu:
        return text + "Z"
    total = int(offset.total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


# -- dates written in running text (datelines) -------------------------------------

_MONTHS = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    # German
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "dezember": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
    # Spanish, Portuguese, Italian
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12, "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6,
    "julho": 7, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "settembre": 9, "ottobre": 10, "dicembre": 12,
    # Dutch
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
}
_MONTH_RE = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_TEXT_PATTERNS = [
    # 2018-04-25, 2018/04/25, 2018-04-25T10:00, 发布时间2018-04-25; not a path's
    # ".../2018/10/26/" nor a file name's "2018/10/26e39c.jpg" (a picture's address shown
    # as text): no ASCII letter, digit or slash before it, no slash, digit, or letters and
    # then a digit after it (but for ISO's "T10")
    (re.compile(r"(?<![A-Za-z0-9_/])((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d/]|(?!T\d)[A-Za-z]+\d)"), ("y", "m", "d")),
    # 25.04.2018 (day first, the European numeric form)
    (re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?((?:19|20)\d{2})(?!\d)"), ("d", "m", "y")),
    # April 25, 2018 / Apr. 25th 2018
    (re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})\b", re.IGNORECASE), ("m", "d", "y")),
    # 25 April 2018 / 25. April 2018 / 25 de abril de 2018 / 25 avril 2018
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|º)?\.?\s+(?:de\s+)?({_MONTH_RE})\.?,?\s+(?:de\s+)?((?:19|20)\d{{2}})\b", re.IGNORECASE), ("d", "m", "y")),
    # 2018年4月25日 (Chinese, Japanese), 2018년 4월 25일 (Korean)
    (re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]"), ("y", "m", "d")),
]
# In a dateline only (next to the headline), years of two digits: "14 Gennaio 20",
# "10.12.19". Not followed by a digit, a colon or "h" (a time: "14 May 20:30").
_SHORT_YEAR_PATTERNS = [
    (re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{2})(?![\d.:])"), ("d", "m", "y")),
    (re.compile(rf"\b(\d{{1,2}})\.?\s+({_MONTH_RE})\.?,?\s+'?(\d{{2}})\b(?!\s*[:h.]?\s*\d)(?!\s+[^\W\d_]{{2}})", re.IGNORECASE), ("d", "m", "y")),
    (re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}}),?\s+'(\d{{2}})\b(?!\s*[:h.]?\d)", re.IGNORECASE), ("m", "d", "y")),
]


# 25/04/2018 or 04/25/2018: which number is the day depends on the page's locale
_SLASH_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?![\d/])")
# Regions whose short numeric dates put the month first (CLDR short date patterns "M/d/yy"):
# the United States and the places that follow its usage.
_MONTH_FIRST_REGIONS = frozenset({"us", "ph", "as", "gu", "mp", "pr", "um", "vi", "fm", "mh", "pw"})
# Languages whose numeric dates put the year first (CLDR "y/M/d"): a slash date with the year
# last is foreign there, so neither reading is assumed.
_YEAR_FIRST_LANGUAGES = frozenset({"zh", "ja", "ko", "hu", "lt", "mn"})


def day_first(locale: str | None) -> bool | None:
    """Whether a numeric date like ``03/04/2020`` on a page in ``locale`` (a BCP 47 tag such
    as ``en-GB``, ``fr``, ``en_US``) names the day first (3 April: ``True``) or the month
    first (March 4: ``False``); ``None`` when the locale cannot tell (none, English without
    a region, Canadian English, year-first languages). After CLDR's short date patterns:
    the day comes first everywhere but in the United States and places using its usage.
    """
    if not locale:
        return None
    parts = locale.strip().lower().replace("_", "-").split("-")
    language = parts[0]
    region = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    if region in _MONTH_FIRST_REGIONS:
        return False
    if language in _YEAR_FIRST_LANGUAGES or (language == "en" and region in (None, "ca")):
        return None
    return True if language.isalpha() and 2 <= len(language) <= 3 else None


def _slash_dates(text: str, dayfirst: bool | None, now: datetime | None) -> dict[int, StatedDate]:
    """Slash dates (``25/04/2018``, ``4/25/2018``): read when a number over 12 tells the
    day from the month, or else in the order of the page's locale (``dayfirst``); skipped
    when neither can tell."""
    found: dict[int, StatedDate] = {}
    for match in _SLASH_DATE.finditer(text):
        a, b, year = (int(g) for g in match.groups())
        if a > 12 >= b:
            day, month = a, b
        elif b > 12 >= a:
            day, month = b, a
        elif a <= 12 and b <= 12 and dayfirst is not None:
            day, month = (a, b) if dayfirst else (b, a)
        else:
            continue
        stated = stated_from_parts(year, month, day, "text", now=now)
        if stated is not None:
            found[match.start()] = stated
    return found


def find_text_dates(
    text: str, *, now: datetime | None = None, dayfirst: bool | None = None, short_years: bool = False
) -> list[tuple[int, StatedDate]]:
    """Day-precise dates written in running text, as ``(offset_in_text, date)`` in text order.

    Recognises ISO-like numeric dates, day-first dotted dates (``25.04.2018``), dates
    with month names in English, German, French, Spanish, Portuguese, Italian and Dutch,
    Chinese, Japanese and Korean dates (``2018年4月25日``), and slash dates
    (``04/05/2018``) when day and month can be told apart: by a number over 12, or by
    ``dayfirst`` (the page's locale, :func:`day_first`; ``None``: unknown). With
    ``short_years`` (a dateline), also two-digit years (``25.04.18``, ``25 April 18``),
    read as 20xx.
    """
    found: dict[int, StatedDate] = _slash_dates(text, dayfirst, now)
    patterns = _TEXT_PATTERNS + (_SHORT_YEAR_PATTERNS if short_years else [])
    for pattern, order in patterns:
        for match in pattern.finditer(text):
            parts = dict(zip(order, match.groups(), strict=True))
            month = parts["m"]
            month_number = int(month) if month.isdigit() else _MONTHS.get(month.lower().rstrip("."))
            if month_number is None:
                continue
            year = int(parts["y"])
            year = year + 2000 if year < 100 else year
            stated = stated_from_parts(year, month_number, int(parts["d"]), "text", now=now)
            if stated is not None and match.start() not in found:
                found[match.start()] = stated
    return sorted(found.items())


_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|-|$)")
_URL_COMPACT = re.compile(r"/((?:19|20)\d{2})(\d{2})(\d{2})(?:/|-|_|$)")


def date_from_url(url: str, *, now: datetime | None = None) -> StatedDate | None:
    """A day stated in a URL path (``/2018/04/25/``, ``/2018-04-25-``, ``/20180425/``), or ``None``."""
    path = url.split("?", 1)[0]
    for pattern in (_URL_DATE, _URL_COMPACT):
        match = pattern.search(path)
        if match:
            y, m, d = (int(g) for g in match.groups())
            stated = stated_from_parts(y, m, d, "url", now=now)
            if stated is not None:
                return stated
    return None


# a run of markup that a URL may span (no quotes, white space or angle brackets), read backwards
_RUN_BACKWARDS = re.compile(r"""[^"'\s<>]*""")


def _in_url(markup: str, start: int) -> bool:
    """Whether the text at ``markup[start]`` lies in a URL: its run of URL characters has
    ``//`` before it (``https://...``, ``//cdn...``), or starts with ``/`` right after a
    quote (``src="/assets/..."``)."""
    run = _RUN_BACKWARDS.match(markup[:start][::-1]).group()[::-1]
    quoted = start > len(run) and markup[start - len(run) - 1] in "\"'"
    return "//" in run or (quoted and run.startswith("/"))


def stated_day(day: str, tree=None, url: str | None = None, *, now: datetime | None = None) -> StatedDate | None:
    """A ``YYYY-MM-DD`` day found by htmldate, as a date-only :class:`StatedDate`, or ``None``.

    Its source is ``url`` when the URL states that day, else ``text`` when the page's
    visible text does, else ``meta`` when the page's markup spells it out
    (``2018-04-25``, ``2018/04/25``, ``20180425``). A day the page states nowhere (htmldate
    turns a lone copyright year into 1 January) is refused, and so is one that the visible
    text states only after an "updated"/"last edited" label (a modification date) or a
    "Stand:" label (:data:`AS_OF_LABEL`: such a day is read only under the headline): ``None``.
    """
    try:
        moment = datetime.strptime(day[:10], "%Y-%m-%d")
    except ValueError:
        return None
    source = "meta"
    if url and (found := date_from_url(url, now=now)) is not None and found.day == day[:10]:
        source = "url"
    elif tree is not None:
        # the headline's own dates are its subject's (story.dateline skips them too)
        visible = " ".join(" ".join(tree.xpath("//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::h1)]")).split())
        places = [offset for offset, d in find_text_dates(visible, now=now) if d.day == day[:10]]
        if places:
            if all(UPDATED_LABEL.search(label := visible[max(0, o - 30) : o].strip()) or AS_OF_LABEL.search(label) for o in places):
                return None
            source = "text"
        else:
            markup = etree.tostring(tree, encoding="unicode")
            y, m, d = day[:4], day[5:7], day[8:10]
            spelled = re.finditer(rf"(?<!\w){y}-{m}-{d}|(?<!\w){y}/{m}/{d}|(?<!\w){y}{m}{d}(?!\w)", markup)
            # spelled as a value, not inside a URL: an asset's ("/assets/20170112-121631/logo.svg"),
            # another story's link or its picture's ("...?d=20150101&...")
            if all(_in_url(markup, match.start()) for match in spelled):
                return None
    return stated_from_parts(moment.year, moment.month, moment.day, source, now=now)
