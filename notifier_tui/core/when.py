"""Time input: ``WHEN`` as typed on the command line or in a form.

``now``, relative times (``+10m``, ``-2h``, ``+1d``) and ISO 8601; a local
time without an offset is read in the zone given, by the DST rules of
:func:`parse_when`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from notifier_tui.core.errors import ValidationError

_RELATIVE = re.compile(r"([+-])\s*([0-9]+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class LocalTime(StrEnum):
    """How often a wall-clock time occurs in a zone on its date."""

    ONCE = "once"
    MISSING = "missing"
    """In a spring-forward gap: the clocks skip it."""
    TWICE = "twice"
    """In a fall-back overlap: the clocks show it twice."""


def local_time_kind(naive: datetime, zone: tzinfo) -> LocalTime:
    """Whether ``naive`` exists once, not at all (a DST gap) or twice (a repeated hour) in ``zone``.

    A zone that ignores ``fold`` (a fixed offset, the C library's local time)
    always answers :attr:`LocalTime.ONCE`.
    """
    first = naive.replace(tzinfo=zone, fold=0)
    if first.utcoffset() == naive.replace(tzinfo=zone, fold=1).utcoffset():
        return LocalTime.ONCE
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0)
    return LocalTime.MISSING if back != naive.replace(fold=0) else LocalTime.TWICE


def parse_when(text: str, now: datetime, local_tz: tzinfo, field: str = "when") -> datetime:
    """Parse ``now``, ``+10m``/``-2h``/``+1d`` or ISO 8601 (local time without an offset).

    A local time without an offset is read in ``local_tz`` with ``fold=0``, which
    settles the two DST cases (see :func:`local_time_kind`):

    - a time the clocks skip (02:30 on a spring-forward night that jumps from
      02:00 to 03:00) is shifted forward by the gap: 03:30, the instant that
      02:30 at the old offset names;
    - a time the clocks show twice (02:30 on a fall-back night) is the first
      of the two, still at the summer offset.
    """
    value = str(text).strip()
    if value.lower() == "now":
        return now
    m = _RELATIVE.fullmatch(value.lower())
    if m:
        sign, amount, unit = m.groups()
        try:
            delta = timedelta(**{_UNITS[unit]: int(amount)})
            return now + delta if sign == "+" else now - delta
        except OverflowError:
            raise ValidationError(field, f"{text!r} is outside the supported dates") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            field, f"must be ISO 8601 (2026-12-01T09:00), 'now' or '+10m', got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_tz)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        # 9999-12-31T23:00-05:00 is a valid ISO string but not a representable UTC
        # instant; 0001-01-01T00:00 east of UTC would fall in year 0 (ValueError
        # from the C library's local time).
        raise ValidationError(field, f"{text!r} is outside the supported dates") from None
