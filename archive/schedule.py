"""When to check an article again (design.md, Revisits).

A story is edited most soon after publication: it is re-checked often while it keeps
changing and less and less after it stops. The schedule is a list of steps, from the
config's ``revisit_steps`` (``["3h=15m", "1d=30m", "7d=2h", "30d=1d", "*=7d"]``): while
the last change is at most *age* ago, check every *interval*.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

Steps = list[tuple[float | None, float]]  # (max age secs or None for any, interval secs)

DEFAULT_STEPS_TEXT = ["3h=15m", "1d=30m", "7d=2h", "30d=1d", "*=7d"]
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
UNIT_SECS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: the longest duration, seconds (100 years): a check time must stay a date (Python's
#: ``datetime`` ends in the year 9999; a step of 999999999 days made every capture's
#: schedule overflow, and the capture was lost)
MAX_DURATION_SECS = 100 * 365 * 86400


def parse_duration(text: str) -> float:
    """``"15m"`` -> 900.0 seconds (units s, m, h, d, w), at most :data:`MAX_DURATION_SECS`.

    Raises:
        ValueError: not a number followed by one of those units, or longer than 100 years.
    """
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration like '15m' or '2h': {text!r}")
    secs = float(match.group(1)) * UNIT_SECS[match.group(2)]
    if secs > MAX_DURATION_SECS:
        raise ValueError(f"{text.strip()!r} is over 100 years")
    return secs


def parse_revisit_steps(steps: tuple[str, ...] | list[str]) -> Steps:
    """Parse ``["3h=15m", ..., "*=7d"]`` into ``[(max_age_secs or None, interval_secs), ...]``.

    Each step reads "while the last change is at most <age> ago, check every <interval>";
    ``*`` is any age and must come last. Ages must grow.

    Raises:
        ValueError: a step is malformed, or the ages do not grow.
    """
    parsed: Steps = []
    for i, step in enumerate(steps):
        age_text, sep, interval_text = step.partition("=")
        try:
            if not sep:
                raise ValueError("expected '<age>=<interval>'")
            age = None if age_text.strip() == "*" else parse_duration(age_text)
            interval = parse_duration(interval_text)
        except ValueError as exc:
            raise ValueError(f"revisit_steps[{i}] {step!r}: {exc}") from exc
        if parsed and (parsed[-1][0] is None or (age is not None and age <= parsed[-1][0])):
            raise ValueError(f"revisit_steps must go from the shortest age to '*' (at {step!r})")
        parsed.append((age, interval))
    return parsed


DEFAULT_STEPS: Steps = parse_revisit_steps(DEFAULT_STEPS_TEXT)


def next_check(now: datetime, last_changed: datetime, steps: Steps | None = None) -> datetime:
    """The time of the next check: ``now`` plus the interval of the first step whose age
    covers ``now - last_changed`` (the last step if none does). Times are aware (UTC)."""
    steps = steps or DEFAULT_STEPS
    age = (now - last_changed).total_seconds()
    for max_age, interval in steps:
        if max_age is None or age <= max_age:
            return now + timedelta(seconds=interval)
    return now + timedelta(seconds=steps[-1][1])


def longest_interval(steps: Steps | None = None) -> float:
    """The last step's interval, seconds (how often a story that stopped changing, or is gone, is checked)."""
    return (steps or DEFAULT_STEPS)[-1][1]
