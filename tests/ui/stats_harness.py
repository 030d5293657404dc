"""A small stand-in for NotifierApp for the statistics and log screen tests.

It has exactly what those screens use of the app (``store``, ``sender``,
``clock``, ``display_tz``, ``log_ring``, ``snapshot``, ``takeover_offered``)
and switches between them as modes like the real app, so screen suspend and
resume behave the same. No sender runs: the data is what a test writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen

import notifier_tui
from notifier_tui.core.events import (
    BreakerState,
    GatewayHealth,
    LatencyPoint,
    OutcomeRates,
    SenderSnapshot,
)
from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.settings.logs import LogRing
from notifier_tui.ui.screens.log import LogScreen
from notifier_tui.ui.screens.stats import StatsScreen
from tests.fakeclock import FakeClock as _FakeClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday in winter: the fixed 'now' of these tests (12:00 in Moscow)."""

_APP_TCSS = Path(notifier_tui.__file__).parent / "ui" / "app.tcss"


class FakeClock(_FakeClock):
    """The shared fake clock, starting at this harness's :data:`T0`."""

    def __init__(self, now: datetime = T0) -> None:
        super().__init__(now)


class StatsTestApp(App[None]):
    """The attributes of NotifierApp the stats and log screens read, and nothing else."""

    CSS_PATH = [_APP_TCSS] if _APP_TCSS.exists() else None
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "stats": StatsScreen,
        "log": LogScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("3", "switch_mode('stats')", "Stats"),
        Binding("4", "switch_mode('log')", "Log"),
    ]

    snapshot: var[SenderSnapshot | None] = var(None)
    takeover_offered: var[bool] = var(False)

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        log_ring: LogRing | None = None,
        snapshot: SenderSnapshot | None = None,
        mode: str = "stats",
    ) -> None:
        super().__init__()
        self.store = store
        self.sender = None
        self.clock = clock
        self.log_ring = log_ring if log_ring is not None else LogRing()
        self.display_tz = ZoneInfo("Europe/Moscow")
        self.log_zone = ZoneInfo("Europe/Moscow")
        self.set_reactive(StatsTestApp.snapshot, snapshot)
        self._start_mode = mode

    def on_mount(self) -> None:
        self.switch_mode(self._start_mode)


def seed(store: Store, now: datetime = T0) -> dict[str, int]:
    """Three mailings with known counts; returns their ids by name.

    ``sale``: 40 clients, 30 claimed of which 6 failed, 3 retried (pending
    again), 21 sent; ``vip``: 14 clients, all pending; ``tomorrow``: scheduled,
    no messages yet.
    """
    for i in range(40):
        store.create_client(f"7900{i:07d}", tag="vip" if i % 3 == 0 else "")
    sale = store.create_mailing(
        now - timedelta(hours=1),
        now + timedelta(hours=8),
        "Spring sale: 20% off [everything] until Friday!",
    )
    vip = store.create_mailing(
        now - timedelta(minutes=30), now + timedelta(hours=8), "VIP preview tonight", tags=["vip"]
    )
    tomorrow = store.create_mailing(
        now + timedelta(days=1), now + timedelta(days=2), "Tomorrow's news"
    )
    store.materialize_due(now)
    claims = store.claim_due(now, limit=1000)
    sale_claims = [c for c in claims if c.mailing_id == sale.id][:30]
    chosen = {c.id for c in sale_claims}
    outcomes = []
    for n, claim in enumerate(sale_claims):
        if n % 5 == 0:
            outcomes.append(Outcome(claim.id, "failed", last_error="HTTP 400: invalid phone"))
        elif n % 9 == 1:
            outcomes.append(
                Outcome(
                    claim.id,
                    "pending",
                    last_error="timeout after 5 s",
                    next_attempt_at=now + timedelta(seconds=30),
                )
            )
        else:
            outcomes.append(Outcome(claim.id, "sent", sent_at=now - timedelta(minutes=n)))
    # What was claimed but not chosen goes back to pending, as if never tried.
    outcomes += [Outcome(c.id, "pending", charge=False) for c in claims if c.id not in chosen]
    store.record_outcomes(outcomes)
    return {"sale": sale.id, "vip": vip.id, "tomorrow": tomorrow.id}


def snapshot(now: datetime = T0, **changes: object) -> SenderSnapshot:
    """A fixed, plausible snapshot of a sender in trouble (breaker open)."""
    values: dict[str, object] = {
        "at": now,
        "sending": True,
        "holder": None,
        "health": GatewayHealth.DEGRADED,
        "breaker": BreakerState.OPEN,
        "next_probe_at": now + timedelta(seconds=12),
        "in_flight": 7,
        "rate": 42.5,
        "latency_p50": 0.12,
        "latency_p95": 0.345,
        "error_rate": 0.023,
        "sent_total": 1234,
        "failed_total": 12,
        "retries_total": 40,
        "credentials_error": None,
        "rate_history": tuple(float((i * 7) % 50) for i in range(180)),
        # Three minutes of a sender ramping up, a burst of retries, then a few failures.
        "outcome_history": tuple(
            OutcomeRates(
                float(min(i // 2, 49) - (20 if 100 <= i < 130 else 0)),
                15.0 if 100 <= i < 130 else float(i % 3 == 0),
                4.0 if 150 <= i < 160 else 0.0,
            )
            for i in range(180)
        ),
        "latency_history": tuple(
            LatencyPoint(None, None)
            if i == 3
            else LatencyPoint(0.08 + 0.004 * i, 0.2 + 0.012 * i + (0.3 if 10 <= i < 13 else 0))
            for i in range(19)
        ),
        "errors_by_class": {"http_5xx": 160, "timeout": 42, "http_429": 13, "connect": 5},
    }
    values.update(changes)
    return SenderSnapshot(**values)  # type: ignore[arg-type]
