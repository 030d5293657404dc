"""Resend to the missed: a chaos run on the simulator, then a clone for the failed.

The sender runs on fake time against the real simulator on 127.0.0.1 (500s and
permanent 400s at fixed rates, seeded), so a run ends with some clients
failed; the clone's audience must be exactly those, and the original's
messages must not change.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.core.conftest import T0, FakeClock, message_rows, phone, statuses
from tests.fakeclock import tick

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def chaos() -> AsyncIterator[GatewaySimulator]:
    sim = GatewaySimulator(SimulatorConfig(seed=13, fail_rate=0.2, permanent_rate=0.3))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def sender_config(sim: GatewaySimulator) -> SenderConfig:
    return SenderConfig(
        base_url=sim.base_url,
        token="test-token",
        concurrency=8,
        timeout=2.0,
        retry_base=0.05,
        retry_cap=0.2,
        breaker_threshold=50,
        breaker_cooldown=0.3,
        breaker_max_cooldown=1.0,
        lease_ttl=2.0,
        poll_interval=0.2,
    )


async def run_until_done(
    store: Store, clock: FakeClock, sim: GatewaySimulator, mailing_id: int, total: int
) -> None:
    """Run a sender on fake time until all ``total`` messages of the mailing are final."""
    sender = Sender(store, sender_config(sim), timer=clock)
    task = asyncio.create_task(sender.run())

    def finished() -> bool:
        m = store.get_mailing(mailing_id)
        return m.total == total and m.final == total

    try:
        done = await tick(clock, 120, step=0.05, until=finished)
        assert done, "the run did not finish within 120 fake seconds"
    finally:
        stopping = asyncio.create_task(sender.stop())
        await tick(clock, 60, step=0.1, until=stopping.done)
        await asyncio.wait_for(stopping, 10)
        await asyncio.wait_for(task, 10)


def original_rows(store: Store, mailing_id: int) -> list[dict[str, Any]]:
    return message_rows(store, mailing_id)


async def test_clone_for_the_failed_after_a_chaos_run(
    store: Store, clock: FakeClock, chaos: GatewaySimulator
) -> None:
    store.import_rows((i + 2, {"phone": phone(i), "tag": "", "timezone": "UTC"}) for i in range(40))
    original = store.create_mailing(T0, T0 + timedelta(hours=1), "hello")
    await run_until_done(store, clock, chaos, original.id, 40)
    by_client = statuses(store, original.id)
    failed = {cid for cid, status in by_client.items() if status == "failed"}
    sent = {cid for cid, status in by_client.items() if status == "sent"}
    assert failed and sent, by_client  # the seeded faults leave both
    before = original_rows(store, original.id)

    start = clock() + timedelta(minutes=5)
    clone = store.clone_mailing(
        original.id, start_at=start, end_at=start + timedelta(hours=1), only=frozenset({"failed"})
    )
    assert set(store.explicit_clients(clone.id)) == failed
    assert (clone.text, clone.operator_codes, clone.tags) == ("hello", (), ())
    # At its start its messages are for exactly the failed clients.
    clock.set(start)
    store.materialize_due(clock())
    assert set(statuses(store, clone.id)) == failed
    assert store.preview_mailing(clone.id).projection.audience == len(failed)
    # And the original's messages were never touched.
    assert original_rows(store, original.id) == before
    assert store.mailing_stats(original.id).by_status == store.get_mailing(original.id).by_status
    (entry,) = [e for e in store.audit_entries() if e.action == "mailing.clone"]
    assert entry.change["cloned_from"] == original.id
    assert entry.change["audience"] == len(failed)


def test_clone_without_only_takes_everybody_and_a_new_text(store: Store, clock: FakeClock) -> None:
    ids = [store.create_client(phone(i)).id for i in range(3)]
    original = store.create_mailing(T0, T0 + timedelta(hours=1), "hi")
    store.materialize_due(clock())
    later = T0 + timedelta(days=1)
    clone = store.clone_mailing(
        original.id, start_at=later, end_at=later + timedelta(hours=1), text="again"
    )
    assert store.explicit_clients(clone.id) == ids
    assert clone.text == "again"
    # A client of the list deleted before the start gets nothing; one added later neither.
    store.delete_client(ids[0])
    store.create_client(phone(9))
    clock.set(later)
    store.materialize_due(clock())
    assert set(statuses(store, clone.id)) == set(ids[1:])


def test_clone_of_a_mailing_not_started_keeps_its_filter(store: Store) -> None:
    store.create_client(phone(1), tag="vip")
    store.create_client(phone(2), tag="other")
    m = store.create_mailing(T0 + timedelta(hours=1), T0 + timedelta(hours=2), "x", tags=["vip"])
    clone = store.clone_mailing(
        m.id, start_at=T0 + timedelta(hours=3), end_at=T0 + timedelta(hours=4)
    )
    assert clone.tags == ("vip",)
    assert store.explicit_clients(clone.id) == []


def test_nobody_to_resend_to_writes_nothing(store: Store, clock: FakeClock) -> None:
    store.create_client(phone(1))
    m = store.create_mailing(T0, T0 + timedelta(hours=1), "x")
    store.materialize_due(clock())
    count = len(store.list_mailings())
    with pytest.raises(ValidationError, match="no failed messages"):
        store.clone_mailing(
            m.id,
            start_at=T0 + timedelta(hours=2),
            end_at=T0 + timedelta(hours=3),
            only=frozenset({"failed"}),
        )
    with pytest.raises(ValidationError):
        store.clone_mailing(m.id, start_at=T0 + timedelta(hours=3), end_at=T0)
    with pytest.raises(NotFoundError):
        store.clone_mailing(99, start_at=T0, end_at=T0 + timedelta(hours=1))
    assert len(store.list_mailings()) == count
    assert [e.action for e in store.audit_entries()][-1] == "mailing.create"
