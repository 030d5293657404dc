"""``Retry-After`` read defensively: clamped, never raising (docs/gateway.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier_tui.core.sending.retry_after import (
    DEFAULT_MAX_RETRY_AFTER,
    RetryAfter,
    parse_retry_after,
    read_retry_after,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAX = DEFAULT_MAX_RETRY_AFTER


def test_retry_after_http_date() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 02 Mar 2026 09:01:00 GMT", now) == 60.0
    assert parse_retry_after("Mon, 02 Mar 2026 08:00:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("Monday, 02-Mar-26 09:00:30 GMT", now) == 30.0  # RFC 850
    assert parse_retry_after("Mon, 99 Foo 2026 09:00:00 GMT", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, RetryAfter(None, None)),
        ("", RetryAfter(None, None)),
        ("   ", RetryAfter(None, None)),
        ("0", RetryAfter(0.0, None)),
        ("3", RetryAfter(3.0, None)),
        (" 1.5 ", RetryAfter(1.5, None)),
        ("60", RetryAfter(60.0, None)),
        ("60.5", RetryAfter(MAX, 60.5)),
        # Huge: honoured only up to the maximum, and what was asked is kept for the log.
        ("1e20", RetryAfter(MAX, 1e20)),
        ("86400", RetryAfter(MAX, 86400.0)),
        ("9" * 60, RetryAfter(MAX, float("9" * 60))),
        ("1e400", RetryAfter(MAX, math.inf)),  # too big for a float: still just "huge"
        # Not a number we honour: ignored, never raised.
        ("-5", RetryAfter(None, None)),
        ("-0", RetryAfter(None, None)),
        ("+5", RetryAfter(None, None)),
        ("nan", RetryAfter(None, None)),
        ("NaN", RetryAfter(None, None)),
        ("inf", RetryAfter(None, None)),
        ("-inf", RetryAfter(None, None)),
        ("Infinity", RetryAfter(None, None)),
        ("soon", RetryAfter(None, None)),
        ("5 seconds", RetryAfter(None, None)),
        ("0x10", RetryAfter(None, None)),
        ("\x00", RetryAfter(None, None)),
        ("1" * 65, RetryAfter(None, None)),  # longer than any valid value
        # HTTP dates: from now, past is 0, far future clamped.
        ("Mon, 02 Mar 2026 09:00:10 GMT", RetryAfter(10.0, None)),
        ("Mon, 02 Mar 2026 08:59:00 GMT", RetryAfter(0.0, None)),
        (
            "Fri, 31 Dec 9999 23:59:59 GMT",
            RetryAfter(MAX, (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - NOW).total_seconds()),
        ),
        ("Mon, 01 Jan 0001 00:00:00 GMT", RetryAfter(0.0, None)),
        ("Sun Mar  2 09:00:20 2026", RetryAfter(20.0, None)),  # asctime
        ("Mon, 02 Mar 2026 25:00:00 GMT", RetryAfter(None, None)),
        ("Mon, 02 Mar 99999 09:00:00 GMT", RetryAfter(None, None)),
    ],
)
def test_read_retry_after(value: str | None, expected: RetryAfter) -> None:
    assert read_retry_after(value, NOW) == expected


def test_the_maximum_is_a_parameter() -> None:
    assert read_retry_after("90", NOW, maximum=120) == RetryAfter(90.0, None)
    assert read_retry_after("90", NOW, maximum=5) == RetryAfter(5.0, 90.0)
    assert parse_retry_after("90", NOW, maximum=5) == 5.0
    assert parse_retry_after("1e20", NOW) == MAX


@given(st.text(max_size=80) | st.from_regex(r"\A[0-9eE.+-]{1,30}\Z"))
def test_never_raises_and_stays_within_bounds(value: str) -> None:
    seconds, asked = read_retry_after(value, NOW, maximum=30)
    assert seconds is None or 0 <= seconds <= 30
    assert asked is None or (seconds == 30 and asked > 30)
