"""The UI stays responsive while the sender, in the same loop, sends thousands of messages.

The simulator, the sender and the app share one event loop here exactly as in
``--demo``. Keys are pressed while 3,000 messages go out at 64 in flight; the
time from a key press to the screen having switched must stay far below what a
user notices, and the sending must really have progressed meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.screen import Screen

from notifier_tui.core.secret import Secret
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from notifier_tui.ui.app import NotifierApp, create_app
from notifier_tui.ui.screens.clients import ClientsScreen
from notifier_tui.ui.screens.log import LogScreen
from notifier_tui.ui.screens.mailings import MailingsScreen
from notifier_tui.ui.screens.stats import StatsScreen
from tests.ui.conftest import SIZE, add_clients

pytestmark = pytest.mark.timeout(90)

CLIENTS = 3000
MAX_REACTION = 0.5
"""Seconds from a key press to the new screen being current, at most."""


@pytest.fixture
def live_store(settings: Settings) -> Iterator[Store]:
    """A store on the real clock: the sender must really send here."""
    store = Store(settings.db, default_timezone=settings.default_timezone)
    yield store
    store.close()


async def counts(store: Store) -> dict[str, int]:
    """Counts by status, read on the store's thread like the app does (never on the loop)."""
    return (await store.run(store.overall_stats)).by_status


async def switch_all(
    app: NotifierApp, keys: list[tuple[str, type[Screen]]], reactions: list[float]
) -> None:
    """Press each key as a terminal would and time it until its screen is current."""
    for key, screen in keys:
        started = time.perf_counter()
        # Posted like the driver's input thread does: Pilot.press waits for the loop to go
        # idle, which under load would time its own patience rather than the app.
        app.simulate_key(key)
        while not isinstance(app.screen, screen):
            assert time.perf_counter() - started < 5, f"{key} did not switch to {screen}"
            await asyncio.sleep(0.002)
        reactions.append(time.perf_counter() - started)
        # A user reads the screen before the next key; wait for it to take the focus.
        while app.focused is None and time.perf_counter() - started < 5:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)


async def test_keys_answer_quickly_while_thousands_of_messages_go_out(
    settings: Settings, live_store: Store, tmp_path: Path
) -> None:
    add_clients(live_store, CLIENTS)
    now = datetime.now(UTC)
    live_store.create_mailing(now - timedelta(minutes=1), now + timedelta(hours=1), "Hello")
    sim = GatewaySimulator(SimulatorConfig(latency_ms=20, jitter_ms=10, fail_rate=0.02, seed=1))
    await sim.start()
    app_settings = replace(
        settings,
        base_url=sim.base_url,
        token=Secret("test-token"),
        concurrency=64,
        retry_base=0.2,
        retry_cap=0.5,
    )
    app = create_app(app_settings, store=live_store, sender=True)
    app.animation_level = "none"
    reactions: list[float] = []
    try:
        async with app.run_test(size=SIZE):
            # Wait until sending is under way, so keys are pressed in the thick of it.
            deadline = time.monotonic() + 20
            while (await counts(live_store)).get("sent", 0) < 200:
                assert time.monotonic() < deadline, "sending did not start"
                await asyncio.sleep(0.02)
            sent_before = (await counts(live_store)).get("sent", 0)
            keys: list[tuple[str, type[Screen]]] = [
                ("2", MailingsScreen),
                ("3", StatsScreen),
                ("4", LogScreen),
                ("1", ClientsScreen),
            ]
            # The first visit composes each screen; the next ones are what a user lives with.
            await switch_all(app, keys, [])
            for _ in range(3):
                await switch_all(app, keys, reactions)
            sent_during = (await counts(live_store)).get("sent", 0) - sent_before
            assert app.snapshot is not None and app.snapshot.sending
            # Everything goes out (the 2% of 500s are retried within a second).
            deadline = time.monotonic() + 40
            while (await counts(live_store)).get("sent", 0) < CLIENTS:
                assert time.monotonic() < deadline, f"stalled at {(await counts(live_store))}"
                await asyncio.sleep(0.05)
            app.simulate_key("q")
            deadline = time.monotonic() + 10
            while app.is_running:
                assert time.monotonic() < deadline, "q did not quit"
                await asyncio.sleep(0.02)
    finally:
        await sim.stop()
    assert max(reactions) < MAX_REACTION, reactions
    assert sent_during > 0, "sending progressed while keys were pressed"
    final = live_store.overall_stats().by_status
    assert final.get("sent") == CLIENTS and final.get("sending", 0) == 0
    # The lease was released on the way out: the next process takes over at once.
    assert live_store.lease_holder(settings.lease_ttl) is None
