"""The sender lease: one holder at a time, taken over once the holder stops beating."""

from __future__ import annotations

from datetime import timedelta

from notifier_tui.core.store import Store
from tests.core.conftest import FakeClock

TTL = 5.0


def acquire(store: Store, owner: str, role: str = "daemon") -> bool:
    return store.acquire_lease(owner, 100 if owner == "a" else 200, "host", role, TTL)


def test_acquire_and_holder(store: Store, clock: FakeClock) -> None:
    assert store.lease_holder(TTL) is None
    assert acquire(store, "a")
    holder = store.lease_holder(TTL)
    assert holder is not None
    assert (holder.owner, holder.pid, holder.host, holder.role) == ("a", 100, "host", "daemon")
    assert holder.acquired_at == holder.heartbeat_at == clock()
    assert holder.describe() == "daemon pid 100 on host"


def test_second_owner_refused_while_fresh(store: Store, clock: FakeClock) -> None:
    assert acquire(store, "a")
    clock.advance(seconds=TTL - 0.1)
    assert not acquire(store, "b", "ui")
    holder = store.lease_holder(TTL)
    assert holder is not None and holder.owner == "a"


def test_heartbeat_keeps_it(store: Store, clock: FakeClock) -> None:
    assert acquire(store, "a")
    start = clock()
    for _ in range(10):
        clock.advance(seconds=1)
        assert store.heartbeat("a")
        assert not acquire(store, "b")
    holder = store.lease_holder(TTL)
    assert holder is not None
    assert holder.heartbeat_at == clock()
    assert holder.acquired_at == start
    # Re-acquiring our own lease keeps acquired_at.
    assert acquire(store, "a")
    holder = store.lease_holder(TTL)
    assert holder is not None and holder.acquired_at == start


def test_takeover_after_ttl(store: Store, clock: FakeClock) -> None:
    assert acquire(store, "a")
    clock.advance(seconds=TTL)
    assert store.lease_holder(TTL) is None  # stale: nobody sends
    assert acquire(store, "b", "ui")
    holder = store.lease_holder(TTL)
    assert holder is not None
    assert (holder.owner, holder.role, holder.acquired_at) == ("b", "ui", clock())
    # The old holder learns it lost the lease on its next heartbeat.
    assert not store.heartbeat("a")
    assert not acquire(store, "a")


def test_release(store: Store, clock: FakeClock) -> None:
    assert acquire(store, "a")
    store.release_lease("b")  # not ours: no effect
    assert not acquire(store, "b")
    store.release_lease("a")
    assert store.lease_holder(TTL) is None
    assert acquire(store, "b")
    assert not store.heartbeat("a")


def test_explicit_now(store: Store, clock: FakeClock) -> None:
    later = clock() + timedelta(minutes=1)
    assert store.acquire_lease("a", 1, "h", "daemon", TTL, now=later)
    assert store.lease_holder(TTL, now=later) is not None
    assert store.lease_holder(TTL, now=later + timedelta(seconds=TTL)) is None
    assert store.heartbeat("a", now=later + timedelta(seconds=TTL + 1))
    assert store.lease_holder(TTL, now=later + timedelta(seconds=TTL + 2)) is not None
