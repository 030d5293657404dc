"""The pre-flight projection: windows in several zones, wrapping windows, rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier_tui.core.projection import open_intervals, project
from notifier_tui.core.rules import parse_window

# 2026-03-02 06:00 UTC: 09:00 in Moscow (UTC+3), 13:00 in Novosibirsk (UTC+7),
# 01:00 in New York (UTC-5, before its DST change on 2026-03-08).
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_no_window_and_no_rate_sends_everything_at_once() -> None:
    p = project({"Europe/Moscow": 10, "Asia/Novosibirsk": 5}, None, T0, T0 + H, None)
    assert (p.audience, p.in_window, p.will_miss) == (15, 15, 0)
    assert p.finish_at == T0
    assert p.window_opens[0] == 15


@pytest.mark.parametrize(
    ("zones", "window", "span", "rate", "in_window", "miss", "finish"),
    [
        # 100 messages at 10/s with no window: done after 10 s.
        ({"Europe/Moscow": 100}, None, H, 10.0, 100, 0, T0 + timedelta(seconds=10)),
        # 1 hour at 0.01/s holds only 36 of 100.
        ({"Europe/Moscow": 100}, None, H, 0.01, 100, 64, None),
        # Moscow's 09-21 window is open now; New York's opens at 14:00 UTC, after a 2 h span.
        (
            {"Europe/Moscow": 10, "America/New_York": 5},
            "09:00-21:00",
            2 * H,
            None,
            10,
            5,
            None,
        ),
        # The same over a day: New York's window opens 8 h in; at no rate limit it ends then.
        (
            {"Europe/Moscow": 10, "America/New_York": 5},
            "09:00-21:00",
            24 * H,
            None,
            15,
            0,
            T0 + 8 * H,
        ),
        # A wrapping night window 22:00-06:00: Moscow opens at 19:00 UTC, Novosibirsk at 15:00.
        (
            {"Europe/Moscow": 3, "Asia/Novosibirsk": 4},
            "22:00-06:00",
            24 * H,
            None,
            7,
            0,
            T0 + 13 * H,
        ),
        # The same window with a span that ends before Moscow's night starts.
        (
            {"Europe/Moscow": 3, "Asia/Novosibirsk": 4},
            "22:00-06:00",
            12 * H,
            None,
            4,
            3,
            None,
        ),
        # Rate-limited inside a window: Moscow's 09:00-09:30 holds 1,800 s at 1/s: 1,800 of 2,000.
        ({"Europe/Moscow": 2000}, "09:00-09:30", 3 * H, 1.0, 2000, 200, None),
    ],
)
def test_projection_table(
    zones: dict[str, int],
    window: str | None,
    span: timedelta,
    rate: float | None,
    in_window: int,
    miss: int,
    finish: datetime | None,
) -> None:
    p = project(zones, parse_window(window), T0, T0 + span, rate)
    assert p.audience == sum(zones.values())
    assert p.in_window == in_window
    assert p.will_miss == miss
    assert p.finish_at == finish


def test_zones_share_the_rate_first_come_first_served() -> None:
    # Moscow open from now, Novosibirsk (09-21 local = 02-14 UTC) open from now too.
    p = project(
        {"Europe/Moscow": 30, "Asia/Novosibirsk": 30}, parse_window("09:00-21:00"), T0, T0 + H, 1.0
    )
    assert p.will_miss == 0
    assert p.finish_at == T0 + timedelta(seconds=60)


def test_histogram_counts_when_windows_open() -> None:
    p = project(
        {"Europe/Moscow": 2, "America/New_York": 3, "Asia/Novosibirsk": 1},
        parse_window("09:00-21:00"),
        T0,
        T0 + 48 * H,
        None,
    )
    assert p.window_opens[0] == 3  # Moscow and Novosibirsk are open at once
    assert p.window_opens[8] == 3  # New York at 09:00 EST = 14:00 UTC
    assert sum(p.window_opens) == 6
    assert p.to_json()["window_opens_by_hour"][8] == 3


def test_open_intervals_across_a_dst_change() -> None:
    # New York springs forward on 2026-03-08: 09:00 local is 14:00 UTC before, 13:00 after.
    start = datetime(2026, 3, 7, 0, 0, tzinfo=UTC)
    spans = open_intervals(parse_window("09:00-10:00"), "America/New_York", start, start + 48 * H)
    assert [a.hour for a, _ in spans] == [14, 13]
    assert all(b - a == H for a, b in spans)


def test_empty_audience() -> None:
    p = project({}, None, T0, T0 + H, 5.0)
    assert (p.audience, p.in_window, p.will_miss, p.finish_at) == (0, 0, 0, None)
