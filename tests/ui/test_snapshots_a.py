"""Snapshots of the clients and mailings screens and their forms, at 80x24 and 120x40.

The clock stands still, no sender runs and the data comes from fixed seeds,
so nothing time-dependent is drawn. Regenerate with ``--snapshot-update`` and
look at the SVGs in ``__snapshots__`` before committing them.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.ui.demo import demo_clients
from tests.ui.conftest import T0, AppFactory, go, wait_for

pytestmark = pytest.mark.timeout(60)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def seed_clients(store: Store, n: int = 60) -> None:
    store.import_rows(demo_clients(random.Random(7), n))


def seed_mailings(store: Store) -> None:
    """One mailing in each state, two of them part-way through."""
    seed_clients(store)
    store.create_mailing(
        T0 - timedelta(hours=3), T0 - timedelta(hours=2), "Our shop reopens on Monday."
    )
    active = store.create_mailing(
        T0 - timedelta(minutes=5),
        T0 + timedelta(minutes=10),
        "Flash sale: 30% off everything until midnight. Show this SMS at the till.",
        tags=("vip", "regular"),
    )
    paused = store.create_mailing(
        T0 - timedelta(minutes=20), T0 + timedelta(hours=2), "Loyalty points doubled", tags=("vip",)
    )
    store.create_mailing(
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=30),
        "Welcome! Your first delivery is free with code HELLO.",
        operator_codes=("900", "916"),
        tags=("new",),
        window="08:00-22:00",
    )
    cancelled = store.create_mailing(
        T0 - timedelta(hours=1), T0 + timedelta(hours=1), "Wrong price list, ignore"
    )
    store.materialize_due(T0 - timedelta(hours=3))
    claims = store.claim_due(T0 - timedelta(hours=3), 1000)
    store.record_outcomes(
        [Outcome(c.id, "sent" if c.id % 9 else "failed", sent_at=T0) for c in claims]
    )
    store.finalize(T0)
    store.materialize_due(T0)
    claims = [c for c in store.claim_due(T0, 1000) if c.mailing_id == active.id]
    store.record_outcomes([Outcome(c.id, "sent", sent_at=T0) for c in claims[: len(claims) // 2]])
    store.record_outcomes(
        [Outcome(c.id, "pending", charge=False) for c in claims[len(claims) // 2 :]]
    )
    store.pause_mailing(paused.id)
    store.cancel_mailing(cancelled.id)


@pytest.mark.parametrize("size", SIZES)
def test_clients_screen(snap_compare: Any, make_app: AppFactory, store: Store, size: Any) -> None:
    seed_clients(store)
    assert snap_compare(make_app(), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES)
def test_mailings_screen(snap_compare: Any, make_app: AppFactory, store: Store, size: Any) -> None:
    seed_mailings(store)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "2", "down")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_client_form_with_errors(
    snap_compare: Any, make_app: AppFactory, store: Store, size: Any
) -> None:
    seed_clients(store, 5)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "n")
        for name, value in (
            ("phone", "+7 900 12"),
            ("tag", "x" * 70),
            ("timezone", "Europe/Moskva"),
            ("operator_code", "9O0"),
        ):
            pilot.app.screen.query_one(f"#{name}", Input).value = value
        await go(pilot, "ctrl+s")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_mailing_form(snap_compare: Any, make_app: AppFactory, store: Store, size: Any) -> None:
    seed_clients(store)

    async def run_before(pilot: Pilot[Any]) -> None:
        await go(pilot, "2", "n")
        screen = pilot.app.screen
        screen.query_one("#text").text = "Flash sale: 30% off everything until midnight."
        screen.query_one("#operator_code", Input).value = "900, 916"
        screen.query_one("#tag", Input).value = "vip"
        screen.query_one("#window", Input).value = "9:00-25:00"
        await pilot.pause(0.4)
        await go(pilot, "ctrl+s")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_take_over_dialog(snap_compare: Any, make_app: AppFactory, store: Store, size: Any) -> None:
    """The question after the sending process went away, with the settings that would apply."""
    from dataclasses import replace

    from notifier_tui.ui.dialogs.take_over import TakeOverDialog

    seed_clients(store)
    app = make_app()
    app.settings = replace(app.settings, rate_limit=20.0, sources={"rate_limit": "flag"})

    async def run_before(pilot: Pilot[Any]) -> None:
        # The page behind the dialog and the header's first read land first.
        await go(pilot)
        screen = pilot.app.screen
        await wait_for(
            pilot, lambda: "of 60" in str(screen.query_one("#clients-range", Static).render())
        )
        await wait_for(pilot, lambda: pilot.app.snapshot is not None)
        await go(pilot)
        pilot.app.push_screen(TakeOverDialog(app.settings, 87.0))
        await go(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
