"""``Retry-After`` read defensively (docs/gateway.md).

The header is the gateway's to send and ours to distrust: ``1e20``, ``nan``,
``-5``, ``soon`` or a date in the year 9999 must neither raise nor park a
message for centuries. A value is delta-seconds (fractions accepted: the
simulator sends them) or an HTTP date; it is clamped to a maximum, and anything
unparsable, negative or not a number is ignored.

This module is part of the core: pure functions, no I/O.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

__all__ = ["DEFAULT_MAX_RETRY_AFTER", "RetryAfter", "parse_retry_after", "read_retry_after"]

DEFAULT_MAX_RETRY_AFTER = 60.0
"""Seconds: the longest wait a gateway may ask for; the breaker handles longer outages."""

_MAX_HEADER = 64
"""Characters looked at: a valid value is at most 29 (an IMF-fixdate)."""


class RetryAfter(NamedTuple):
    """A parsed ``Retry-After``.

    Attributes:
        seconds: The wait to honour, clamped to the maximum; ``None`` if absent or ignored.
        asked: The wait the gateway asked for when it was over the maximum
            (``math.inf`` for an integer too large for a float), else ``None``.
    """

    seconds: float | None
    asked: float | None


_NONE = RetryAfter(None, None)


def read_retry_after(
    value: str | None,
    now: datetime | None = None,
    *,
    maximum: float = DEFAULT_MAX_RETRY_AFTER,
) -> RetryAfter:
    """Parse a ``Retry-After`` value. Never raises.

    Args:
        value: The header's value, or ``None`` when it is absent.
        now: The instant an HTTP date is measured from (default: the current time).
        maximum: The longest wait returned, in seconds.

    Returns:
        The wait in seconds, clamped to ``[0, maximum]`` (a date in the past is 0),
        and what was asked if it was clamped. ``nan``, ``inf``, negative or
        unparsable values are ignored.
    """
    if value is None:
        return _NONE
    value = value.strip()
    if not value or len(value) > _MAX_HEADER:
        return _NONE
    seconds = _delta_seconds(value)
    if seconds is None:
        seconds = _date_seconds(value, now)
    if seconds is None:
        return _NONE
    if seconds > maximum:
        return RetryAfter(maximum, seconds)
    return RetryAfter(seconds, None)


def parse_retry_after(
    value: str | None,
    now: datetime | None = None,
    *,
    maximum: float = DEFAULT_MAX_RETRY_AFTER,
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, clamped; ``None`` if absent or ignored."""
    return read_retry_after(value, now, maximum=maximum).seconds


def _delta_seconds(value: str) -> float | None:
    """Delta-seconds as a float, or ``None`` when ``value`` is no number we honour."""
    if not value[0].isdigit():
        # "-5", "+5", "nan", "inf", "infinity", ".5": RFC 9110's delta-seconds
        # start with a digit; float() alone would accept all of these.
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    # "9" * 400 overflows to inf: a huge wait, clamped by the caller, not garbage.
    return seconds if not math.isnan(seconds) else None


def _date_seconds(value: str, now: datetime | None) -> float | None:
    """Seconds from ``now`` until an HTTP date (0 if it is past), or ``None``."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means "-0000"
        when = when.replace(tzinfo=UTC)
    now = now if now is not None else datetime.now(UTC)
    try:
        return max((when - now).total_seconds(), 0.0)
    except OverflowError:
        return None
