"""Write the README's screenshots: every screen of the demo at 120x40, as SVG.

Run from the repository root::

    .venv/bin/python screenshots/make_screenshots.py

The demo data (``notifier_tui.ui.demo.seed_demo``) goes into a temporary store
with a fixed clock and seed, then the active mailing is advanced as if the
sender had worked on it for a few minutes. No sender runs: the live figures
are one fixed snapshot and the log holds fixed lines, so the same code gives
the same pictures on any machine.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from notifier_tui.core.audit import Actor, Surface
from notifier_tui.core.events import BreakerState, GatewayHealth, SenderSnapshot
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import MailingState, MessageStatus
from notifier_tui.core.sending.livestats import LiveWindow
from notifier_tui.core.standby import StandbyFigures
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings
from notifier_tui.settings.logs import LogRing
from notifier_tui.ui.app import NotifierApp, create_app
from notifier_tui.ui.demo import seed_demo

OUT = Path(__file__).resolve().parent
"""Where the SVGs go: beside this script."""

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""The fixed 'now' of every screenshot (12:00 in Moscow, a Monday)."""

SEED = 2026
SIZE = (120, 40)


def advance_active_mailing(store: Store, now: datetime, rng: random.Random) -> None:
    """Give the running mailing what a few minutes of sending would have left.

    Most claimed messages were accepted over the last five minutes, a few
    failed for good, some wait for a retry after a busy gateway, a handful are
    in flight right now and the rest are still pending.
    """
    store.materialize_due(now)
    claims = store.claim_due(now, limit=10_000)
    outcomes = []
    for claim in claims:
        roll = rng.random()
        if roll < 0.55:
            sent_at = now - timedelta(seconds=rng.uniform(2, 300))
            outcomes.append(Outcome(claim.id, MessageStatus.SENT, sent_at=sent_at))
        elif roll < 0.59:
            error = "HTTP 400: phone is not served by the gateway"
            outcomes.append(Outcome(claim.id, MessageStatus.FAILED, last_error=error))
        elif roll < 0.66:
            retry_at = now + timedelta(seconds=rng.uniform(5, 40))
            outcomes.append(
                Outcome(
                    claim.id,
                    MessageStatus.PENDING,
                    last_error="HTTP 503: gateway busy",
                    next_attempt_at=retry_at,
                )
            )
        elif roll < 0.72:
            continue  # in flight: stays 'sending'
        else:
            outcomes.append(Outcome(claim.id, MessageStatus.PENDING, charge=False))
    store.record_outcomes(outcomes)


def active_mailing(store: Store) -> int:
    """The id of the demo's running mailing."""
    return next(m.id for m in store.list_mailings() if m.state == MailingState.ACTIVE)


def live_figures(store: Store, now: datetime) -> SenderSnapshot:
    """The sender's live figures, worked out from what the store says it did.

    Every message the store shows as sent, failed or tried again is fed, at
    its time, into a real :class:`LiveWindow` (the sender's own figures), with
    latencies drawn from a fixed seed: the charts show the demo's history.
    """
    mailing_id = active_mailing(store)
    sent = store.mailing_stats(mailing_id, status=MessageStatus.SENT).messages
    counts = store.mailing_stats(mailing_id, limit=0).by_status
    failed = store.mailing_stats(mailing_id, status=MessageStatus.FAILED).messages
    retried = [
        m
        for m in store.mailing_stats(mailing_id, status=MessageStatus.PENDING).messages
        if m.last_error
    ]
    rng = random.Random(SEED)
    window_start = now - timedelta(seconds=300)
    events: list[tuple[float, bool, str, bool]] = []
    for message in sent:
        assert message.sent_at is not None
        events.append(((message.sent_at - window_start).total_seconds(), True, "ok", False))
    # Failures and retries have no time of their own in the store: spread them
    # over the last five minutes, in a fixed order.
    for message in failed:
        events.append((rng.uniform(0, 299), False, message.error_class or "http_4xx", False))
    for message in retried:
        events.append((rng.uniform(0, 299), False, message.error_class or "timeout", True))
    live = LiveWindow(rng=random.Random(SEED))
    base = 10_000.0  # monotonic seconds at the window's start, on a 10 s step
    for at, accepted, kind, again in sorted(e for e in events if 0 <= e[0] < 300):
        latency = rng.lognormvariate(-2.5, 0.5) if kind not in ("timeout", "connect") else None
        live.record(base + at, accepted, latency, kind, retried=again)
    mono = base + 300
    p50, p95 = live.latency()
    return SenderSnapshot(
        at=now,
        sending=True,
        holder=None,
        health=GatewayHealth.OK,
        breaker=BreakerState.CLOSED,
        next_probe_at=None,
        in_flight=counts.get(MessageStatus.SENDING, 0),
        rate=live.rate(mono, seconds=10),
        latency_p50=p50,
        latency_p95=p95,
        error_rate=live.error_rate(mono),
        sent_total=len(sent),
        failed_total=len(failed),
        retries_total=len(retried),
        credentials_error=None,
        rate_history=live.history(mono),
        requests_by_outcome=dict(live.by_outcome),
        outcome_history=live.outcome_history(mono),
        latency_history=live.latency_history(mono),
        latency_step=float(live.bucket_seconds),
        errors_by_class=live.errors_by_class(mono),
        series_window=float(live.history_seconds),
    )


def log_lines(store: Store, now: datetime, rng: random.Random) -> list[str]:
    """The sender's log of the last five minutes, in the log file's format.

    Built from the store, so the failures and retries in the log are the
    ones the mailing detail shows.
    """
    mailing_id = active_mailing(store)
    detail = store.mailing_stats(mailing_id)
    events: list[tuple[float, str, str, str]] = [
        (
            300.5,
            "INFO   ",
            "cli.launch",
            "demo: store in a temporary directory, simulated gateway on http://127.0.0.1:8765",
        ),
        (
            300.2,
            "INFO   ",
            "core.sender",
            "sender lease acquired owner=ui-4242; 0 interrupted message(s) back to pending",
        ),
        (
            300.0,
            "INFO   ",
            "core.sender",
            f"audience materialised mailing={mailing_id} messages={detail.mailing.total}",
        ),
    ]
    for message in detail.messages:
        ids = f"mailing={mailing_id} message={message.id} client={message.client_id}"
        ago = rng.uniform(1, 295)
        if message.status == MessageStatus.FAILED:
            text = f"answer {ids} failed permanently: {message.last_error}"
            events.append((ago, "INFO   ", "core.sender", text))
        elif message.status == MessageStatus.PENDING and message.last_error:
            delay = rng.uniform(0.5, 4)
            text = f"retry scheduled {ids} attempt=1 delay={delay:.2f}s: {message.last_error}"
            events.append((ago, "INFO   ", "core.sender", text))
    # The log file stamps lines in the machine's local time; here that is Moscow,
    # like the header's clock.
    local = now.astimezone(ZoneInfo("Europe/Moscow"))
    lines = []
    for ago, level, name, text in sorted(events, key=lambda event: -event[0]):
        at = local - timedelta(seconds=ago)
        stamp = f"{at:%Y-%m-%d %H:%M:%S},{at.microsecond // 1000:03d}"
        lines.append(f"{stamp} {level} notifier_tui.{name}: {text}")
    return lines


async def settle(pilot: Pilot[Any]) -> None:
    """Let every read finish and the screen repaint; no blinking cursor in the picture."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for widget in pilot.app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False
    await pilot.pause()


Shot = tuple[str, Callable[[Pilot[Any]], Awaitable[None]]]


def keys(*pressed: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def press(pilot: Pilot[Any]) -> None:
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return press


async def projection(pilot: Pilot[Any]) -> None:
    """The mailing form with a draft whose projection says who will miss the end."""
    await keys("2", "n")(pilot)
    form = pilot.app.screen
    # Early tomorrow: the windows open hour by hour eastward to westward, and the end
    # comes before Kaliningrad's opens.
    form.query_one("#start_at", Input).value = "2026-03-03 06:00"
    form.query_one("#end_at", Input).value = "2026-03-03 09:30"
    form.query_one(
        "#text", TextArea
    ).text = "Распродажа: −30% на всё до полуночи. Покажите это SMS на кассе. Отказ: STOP"
    form.query_one("#tag", Input).value = "vip, regular"
    form.query_one("#window", Input).value = "09:00-21:00"
    start = form.query_one("#start_at", Input)
    start.cursor_position = len(start.value)  # no half-selected year in the picture
    await pilot.pause(0.5)  # the form's debounce
    await settle(pilot)


async def audit(pilot: Pilot[Any]) -> None:
    """A few operators' actions through several surfaces, then the audit trail."""
    store = pilot.app.store
    scheduled = next(m for m in store.list_mailings() if m.state == MailingState.SCHEDULED)
    await store.run(
        store.update_mailing, scheduled.id, text=scheduled.text.replace("HELLO", "WELCOME")
    )
    store.audit.actor = Actor("boris", "crm-2", Surface.CLI)
    await store.run(store.stoplist_add, ["79001234567", "79169876543"])
    store.audit.actor = Actor("anna", "ops-1", Surface.API)
    await store.run(store.pause_mailing, scheduled.id)
    await store.run(store.resume_mailing, scheduled.id)
    store.audit.actor = Actor("anna", "ops-1", Surface.UI)
    await keys("4", "a")(pilot)


SHOTS: list[Shot] = [
    ("clients.svg", keys()),
    ("mailings.svg", keys("2")),
    ("mailing-form.svg", keys("2", "n")),
    ("mailing-projection.svg", projection),
    ("stats.svg", keys("3", "down")),
    ("mailing-detail.svg", keys("3", "down", "enter")),
    ("log.svg", keys("4")),
    ("audit.svg", audit),
    ("help.svg", keys("question_mark")),
]
"""File name and how to get there from a freshly started app."""


def build_app(workdir: Path) -> NotifierApp:
    """The app on a fresh demo store with a clock that never moves."""
    settings = replace(
        Settings(),
        db=workdir / "demo.db",
        log_file=workdir / "demo.log",
        default_timezone="Europe/Moscow",
        display_timezone="Europe/Moscow",
    )
    store = Store(settings.db, default_timezone=settings.default_timezone, clock=lambda: NOW)
    # The audit trail names the OS user and host: fixed ones, not this machine's.
    store.audit.actor = Actor("anna", "ops-1", Surface.UI)
    rng = random.Random(SEED)
    seed_demo(store, NOW, rng)
    advance_active_mailing(store, NOW, rng)
    ring = LogRing()
    ring.lines.extend(log_lines(store, NOW, rng))
    app = create_app(settings, store=store, sender=False, clock=lambda: NOW, log_ring=ring)
    app.animation_level = "none"
    # The log lines above are stamped in Moscow time, as on a machine set to Moscow.
    app.log_zone = ZoneInfo("Europe/Moscow")
    return app


async def shoot(name: str, go: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        figures = live_figures(app.store, NOW)
        # Without a sender the app reads live figures from the store each second
        # (StandbyFigures); pinning that reader keeps the panel and the header on
        # the figures computed above, whenever the app happens to read.
        pinned = mock.patch.object(StandbyFigures, "read", lambda *_args, **_kw: figures)
        try:
            with pinned:
                async with app.run_test(size=SIZE) as pilot:
                    await settle(pilot)
                    await go(pilot)
                    app.save_screenshot(filename=name, path=str(OUT))
        finally:
            app.store.close()
    print(f"wrote {OUT / name}")


async def main() -> int:
    for name, go in SHOTS:
        await shoot(name, go)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
