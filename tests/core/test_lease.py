"""The sender lease: one holder at a time, taken over once the holder stops beating."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from notifier_tui.core.store import Store
from tests.core.conftest import FakeClock, phone

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


# --- what a takeover recovers (issues 9.2 and 9.3) --------------------------------------


def backlog(store: Store, clock: FakeClock, n: int) -> int:
    for i in range(n):
        store.create_client(phone(i))
    m = store.create_mailing(clock() - timedelta(minutes=1), clock() + timedelta(hours=1), "hi")
    store.materialize_due()
    return m.id


def sending(store: Store) -> set[int]:
    rows = store.db.execute_sql("SELECT id FROM message WHERE status = 'sending'").fetchall()
    return {mid for (mid,) in rows}


def test_takeover_recovers_only_the_previous_holders_claims(store: Store, clock: FakeClock) -> None:
    backlog(store, clock, 6)
    assert acquire(store, "a")
    assert len(store.claim_due(limit=2)) == 2
    clock.advance(seconds=TTL + 1)  # "a" stopped beating
    assert acquire(store, "b")
    assert store.recover_sending() == 2  # what "a" left in flight
    mine = {c.id for c in store.claim_due(limit=2)}
    assert sending(store) == mine
    # Taking the lease again as its holder (after a missed heartbeat, say) is no
    # takeover: the messages claimed under this lease are in flight, not abandoned.
    clock.advance(seconds=TTL + 1)
    assert acquire(store, "b")
    assert store.recover_sending() == 0
    assert sending(store) == mine


def test_claims_of_an_old_holder_that_kept_going_are_recovered_later(
    store: Store, clock: FakeClock, raw: sqlite3.Connection
) -> None:
    """A holder that lost the lease without noticing claims under its old epoch."""
    backlog(store, clock, 4)
    assert acquire(store, "a")
    epoch_a = store.db.execute_sql("SELECT epoch FROM lease").fetchone()[0]
    clock.advance(seconds=TTL + 1)
    assert acquire(store, "b")
    epoch_b = store.db.execute_sql("SELECT epoch FROM lease").fetchone()[0]
    assert epoch_b > epoch_a
    mine = {c.id for c in store.claim_due(limit=1)}
    # Another process, still "a", claims one more under its old epoch.
    raw.execute(
        "UPDATE message SET status = 'sending', claim_epoch = ? WHERE id ="
        " (SELECT MIN(id) FROM message WHERE status = 'pending')",
        (epoch_a,),
    )
    assert store.recover_sending() == 1
    assert sending(store) == mine


def test_epochs_never_go_back_after_a_release(store: Store, clock: FakeClock) -> None:
    epochs = []
    for owner in ("a", "b", "a"):
        assert acquire(store, owner)
        epochs.append(store.db.execute_sql("SELECT epoch FROM lease").fetchone()[0])
        store.release_lease(owner)
    assert epochs == sorted(set(epochs)) and len(epochs) == 3


def test_recovered_messages_are_claimed_first(store: Store, clock: FakeClock) -> None:
    """Issue 9.3: after kill -9 the messages in flight went behind the backlog and expired."""
    backlog(store, clock, 10)
    assert acquire(store, "a")
    crashed = [c.id for c in store.claim_due(limit=3)]
    clock.advance(minutes=10)  # the backlog is now 10 minutes overdue
    assert acquire(store, "b")
    assert store.recover_sending() == 3
    assert sorted(c.id for c in store.claim_due(limit=3)) == sorted(crashed)


def test_a_store_without_the_lease_recovers_everything(store: Store, clock: FakeClock) -> None:
    backlog(store, clock, 3)
    assert acquire(store, "a")
    store.claim_due(limit=2)
    store.release_lease("a")
    assert store.recover_sending() == 2
