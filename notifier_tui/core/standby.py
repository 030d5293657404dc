"""Live figures read from the store, for when this process does not send.

Attached to a daemon (or with no sender at all) the UI still shows who sends
and how the messages stand, once a second, from the store the daemon writes.
The result has the shape of the sender's own :class:`SenderSnapshot` so the
screens need not care where it came from.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from notifier_tui.core.events import BreakerState, GatewayHealth, SenderSnapshot
from notifier_tui.core.store import Store

HISTORY = 300
"""Seconds of send-rate history kept, like the sender's."""


class StandbyFigures:
    """Turns successive store reads into snapshots; the send rate is the change in ``sent``."""

    def __init__(self) -> None:
        self._last: tuple[datetime, int] | None = None
        self._history: deque[float] = deque(maxlen=HISTORY)

    def read(self, store: Store, lease_ttl: float, holder: str | None) -> SenderSnapshot:
        """Build a snapshot; call on the store's thread (``await store.run(figures.read, ...)``).

        Args:
            store: the store to read.
            lease_ttl: the sender lease's time to live, to tell a live holder from a dead one.
            holder: who sends, when the caller already knows (a standby sender does).
        """
        now = store.clock()
        if holder is None:
            lease = store.lease_holder(lease_ttl, now)
            holder = lease.describe() if lease is not None else None
        by_status = store.overall_stats().by_status
        sent = by_status.get("sent", 0)
        rate = 0.0
        if self._last is not None:
            elapsed = (now - self._last[0]).total_seconds()
            if elapsed > 0:
                rate = max(0.0, (sent - self._last[1]) / elapsed)
            self._history.append(rate)
        self._last = (now, sent)
        return SenderSnapshot(
            at=now,
            sending=False,
            holder=holder,
            health=GatewayHealth.UNKNOWN,
            breaker=BreakerState.CLOSED,
            next_probe_at=None,
            in_flight=by_status.get("sending", 0),
            rate=rate,
            latency_p50=None,
            latency_p95=None,
            error_rate=0.0,
            sent_total=sent,
            failed_total=by_status.get("failed", 0),
            retries_total=0,
            credentials_error=None,
            rate_history=tuple(self._history),
            requests_by_outcome={},
        )
