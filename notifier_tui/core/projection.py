"""A mailing's pre-flight projection: who is reachable, when it finishes, who will miss the end.

Pure functions over the audience counted by timezone. Each zone's messages can
go out only while the send window is open in that zone; the sender's capacity
(the rate limit, or the last measured send rate) is shared by the zones open
at the same moment, first come first served. Without a known rate the
capacity is taken as unlimited: every message goes out the moment its window
first opens, which gives the earliest possible finish and the misses no rate
can avoid (windows that open only after the end).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from notifier_tui.core.rules import SendWindow

HISTOGRAM_BUCKETS = 24
"""The histogram of window openings has one bucket per hour of the first day."""


@dataclass(frozen=True, slots=True)
class Projection:
    """What a mailing would do from ``since`` to its end.

    Attributes:
        audience: messages still to send (the whole audience before the start).
        in_window: how many of them have their window open at least once before the end.
        window_opens: per hour after ``since`` (``HISTOGRAM_BUCKETS`` buckets, the
            last one also holding everything later), how many windows first open then.
        rate: the messages per second assumed, or ``None`` for "as fast as windows allow".
        finish_at: when the last message would go out, or ``None`` if some miss the end.
        will_miss: how many would not be sent before the end.
    """

    audience: int
    in_window: int
    window_opens: tuple[int, ...]
    rate: float | None
    finish_at: datetime | None
    will_miss: int

    def to_json(self) -> dict[str, object]:
        return {
            "audience": self.audience,
            "in_window": self.in_window,
            "window_opens_by_hour": list(self.window_opens),
            "rate": self.rate,
            "finish_at": self.finish_at.isoformat() if self.finish_at else None,
            "will_miss": self.will_miss,
        }


def open_intervals(
    window: SendWindow | None, zone: str, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """The UTC intervals within [since, until) when ``window`` is open in ``zone``."""
    if since >= until:
        return []
    if window is None:
        return [(since, until)]
    tz = ZoneInfo(zone)
    first: date = since.astimezone(tz).date() - timedelta(days=1)
    last: date = until.astimezone(tz).date()
    out: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        opens = datetime.combine(day, window.start, tz).astimezone(UTC)
        close_day = day + timedelta(days=1) if window.wraps else day
        closes = datetime.combine(close_day, window.end, tz).astimezone(UTC)
        lo, hi = max(opens, since), min(closes, until)
        if lo < hi:
            if out and out[-1][1] >= lo:  # a window open all day joins its neighbour
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        day += timedelta(days=1)
    return out


def project(
    audience_by_zone: Mapping[str, int],
    window: SendWindow | None,
    since: datetime,
    end: datetime,
    rate: float | None,
) -> Projection:
    """Project sending ``audience_by_zone`` from ``since`` to ``end`` at ``rate`` msg/s.

    Args:
        audience_by_zone: messages still to send, by their client's timezone.
        window: the mailing's local send window, or ``None`` for any time.
        since: the mailing's start, or now once it has started.
        end: the mailing's end: nothing is sent at or after it.
        rate: messages per second (the rate limit or the last measured rate);
            ``None`` or 0 for "unknown": windows are then the only limit.
    """
    rate = rate if rate and rate > 0 and math.isfinite(rate) else None
    total = sum(n for n in audience_by_zone.values() if n > 0)
    intervals = {
        zone: open_intervals(window, zone, since, end)
        for zone, n in audience_by_zone.items()
        if n > 0
    }
    histogram = [0] * HISTOGRAM_BUCKETS
    in_window = 0
    for zone, spans in intervals.items():
        if spans:
            n = audience_by_zone[zone]
            in_window += n
            hour = int((spans[0][0] - since).total_seconds() // 3600)
            histogram[min(max(hour, 0), HISTOGRAM_BUCKETS - 1)] += n
    if rate is None:
        opens = [spans[0][0] for spans in intervals.values() if spans]
        finish = max(opens) if opens and in_window == total else None
        return Projection(total, in_window, tuple(histogram), None, finish, total - in_window)
    sent_last, missed = _simulate(audience_by_zone, intervals, rate)
    return Projection(
        total,
        in_window,
        tuple(histogram),
        rate,
        sent_last if missed == 0 and total else None,
        missed,
    )


def _simulate(
    counts: Mapping[str, int],
    intervals: Mapping[str, list[tuple[datetime, datetime]]],
    rate: float,
) -> tuple[datetime | None, int]:
    """Share ``rate`` among the open zones over time; (last send instant, messages missed)."""
    remaining = {zone: float(counts[zone]) for zone in intervals}
    # Breakpoints where the set of open zones changes.
    edges = sorted({t for spans in intervals.values() for span in spans for t in span})
    last_sent: datetime | None = None
    for lo, hi in itertools.pairwise(edges):
        open_zones = [
            zone
            for zone, spans in intervals.items()
            if remaining[zone] > 0 and any(a <= lo and hi <= b for a, b in spans)
        ]
        if not open_zones:
            continue
        # First come first served: the zones whose window opened first go first.
        open_zones.sort(key=lambda z: (intervals[z][0][0], z))
        capacity = rate * (hi - lo).total_seconds()
        used = 0.0
        for zone in open_zones:
            take = min(remaining[zone], capacity - used)
            if take <= 0:
                break
            remaining[zone] -= take
            used += take
        if used > 0:
            last_sent = lo + timedelta(seconds=used / rate)
    missed = sum(math.ceil(n - 1e-9) for n in remaining.values() if n > 1e-9)
    missed += sum(counts[zone] for zone in counts if zone not in intervals and counts[zone] > 0)
    return last_sent, missed
