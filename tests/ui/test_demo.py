"""``--demo``: deterministic sample data, and a UI that sends to its own simulator."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from pathlib import Path

import pytest

from notifier_tui.cli.launch import demo_app
from notifier_tui.core.rules import MailingState
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings
from notifier_tui.ui.demo import seed_demo
from tests.ui.conftest import SIZE, T0, FakeClock, wait_for

pytestmark = pytest.mark.timeout(60)


def snapshot_of(store: Store) -> tuple[object, ...]:
    clients = [
        (c.phone, c.tag, c.timezone, c.operator_code) for c in store.list_clients(limit=None)
    ]
    mailings = [(m.text, m.start_at, m.end_at, m.state, m.by_status) for m in store.list_mailings()]
    return clients, mailings


def seeded(path: Path, seed: int) -> Store:
    store = Store(path, clock=FakeClock())
    seed_demo(store, T0, random.Random(seed))
    return store


def seeded_snapshot(path: Path, seed: int) -> tuple[object, ...]:
    # One store open at a time: the core binds its peewee models to the last store opened.
    store = seeded(path, seed)
    try:
        return snapshot_of(store)
    finally:
        store.close()


def test_seed_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = seeded_snapshot(tmp_path / "a.db", 1)
    assert a == seeded_snapshot(tmp_path / "b.db", 1)
    assert a[0] != seeded_snapshot(tmp_path / "c.db", 2)[0]


def test_seed_has_varied_clients_and_a_mailing_in_each_phase(tmp_path: Path) -> None:
    store = seeded(tmp_path / "demo.db", 2026)
    try:
        clients = store.list_clients(limit=None)
        assert 150 <= len(clients) <= 250
        assert {
            "Europe/Moscow",
            "Asia/Yekaterinburg",
            "Asia/Novosibirsk",
            "Asia/Vladivostok",
            "Europe/Kaliningrad",
        } <= {c.timezone for c in clients}
        assert {"vip", "new", "regular"} <= {c.tag for c in clients}
        assert {"900", "916", "926", "999"} <= {c.operator_code for c in clients}
        by_state = {m.state: m for m in store.list_mailings()}
        assert set(by_state) == {MailingState.FINISHED, MailingState.ACTIVE, MailingState.SCHEDULED}
        active = by_state[MailingState.ACTIVE]
        assert active.end_at - T0 == timedelta(minutes=10)
        assert by_state[MailingState.SCHEDULED].start_at - T0 == timedelta(minutes=1)
        finished = by_state[MailingState.FINISHED].by_status
        assert set(finished) == {"sent", "failed", "expired"}
        assert finished["sent"] > 5 * (finished["failed"] + finished["expired"])
        assert sum(finished.values()) == len(clients), "every client got the finished mailing"
    finally:
        store.close()


async def test_demo_app_sends_to_its_simulator_in_a_temp_dir(
    settings: Settings, tmp_path: Path
) -> None:
    workdir = tmp_path / "demo"
    workdir.mkdir()
    app = demo_app(settings, workdir)
    store = app.store
    try:
        # Nothing of the user's: store, log and gateway are the demo's own.
        assert app.settings.db.parent == workdir and app.settings.log_file.parent == workdir
        assert app.settings.base_url.startswith("http://127.0.0.1:")
        assert str(app.settings.token) == "********"
        async with app.run_test(size=SIZE) as pilot:
            started = time.monotonic()
            await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sending, 10)
            await wait_for(
                pilot, lambda: app.snapshot is not None and app.snapshot.sent_total >= 10, 30
            )
            assert time.monotonic() - started < 30
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running, 15)
        active = next(m for m in store.list_mailings() if "Flash sale" in m.text)
        assert active.by_status.get("sent", 0) >= 10
        assert active.by_status.get("sending", 0) == 0, "quit handed everything back"
    finally:
        store.close()
