"""The sender's store queries: materialise, claim (with send windows), record, finalise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.core.store.schema import Mailing
from tests.core.conftest import FakeClock, message_rows, phone, statuses


def make_clients(store: Store, n: int, start: int = 0, **kwargs: str) -> list[int]:
    return [store.create_client(phone(start + i), **kwargs).id for i in range(n)]


def mailing(store: Store, clock: FakeClock, *, starts: float = -1, hours: float = 24, **kw) -> int:
    """A mailing starting ``starts`` minutes from now and lasting ``hours``."""
    start = clock() + timedelta(minutes=starts)
    return store.create_mailing(start, start + timedelta(hours=hours), "text", **kw).id


# --- materialize_due -----------------------------------------------------------------


def test_materialize_due_only_started_and_idempotent(store: Store, clock: FakeClock) -> None:
    make_clients(store, 3)
    now_id = mailing(store, clock)
    later_id = mailing(store, clock, starts=60)
    cancelled_id = mailing(store, clock)
    store.cancel_mailing(cancelled_id)

    assert store.materialize_due() == [(now_id, 3)]
    assert store.materialize_due() == []
    # Forcing the INSERT again cannot duplicate: one message per (mailing, client).
    assert store.audience.materialize(Mailing.get_by_id(now_id), clock()) == 0
    assert len(message_rows(store, now_id)) == 3
    assert message_rows(store, later_id) == []
    assert message_rows(store, cancelled_id) == []

    clock.advance(hours=1)
    assert store.materialize_due() == [(later_id, 3)]
    assert store.materialize_due() == []
    assert all(r["status"] == "pending" for r in message_rows(store))
    assert all(r["attempts"] == 0 for r in message_rows(store))


def test_materialize_respects_filter(store: Store, clock: FakeClock) -> None:
    make_clients(store, 2, tag="vip")
    make_clients(store, 2, start=10, tag="")
    store.create_client("79511234567", tag="vip")
    mid = mailing(store, clock, operator_codes=["900"], tags=["vip"])
    assert store.materialize_due() == [(mid, 2)]


def test_materialize_explicit_now(store: Store, clock: FakeClock) -> None:
    make_clients(store, 1)
    mid = mailing(store, clock, starts=30)
    assert store.materialize_due(clock() + timedelta(minutes=30)) == [(mid, 1)]


# --- claim_due -------------------------------------------------------------------------


def test_claim_moves_pending_to_sending(store: Store, clock: FakeClock) -> None:
    ids = make_clients(store, 3)
    mid = mailing(store, clock)
    store.materialize_due()
    claims = store.claim_due(limit=2)
    assert len(claims) == 2
    claim = claims[0]
    assert (claim.mailing_id, claim.text, claim.attempts) == (mid, "text", 0)
    assert claim.client_id in ids
    assert claim.phone == phone(ids.index(claim.client_id))
    assert claim.end_at == store.get_mailing(mid).end_at
    by_id = {r["id"]: r["status"] for r in message_rows(store)}
    assert sorted(s for s in by_id.values()) == ["pending", "sending", "sending"]
    assert all(by_id[c.id] == "sending" for c in claims)
    # What is sending is not claimed again.
    rest = store.claim_due(limit=10)
    assert len(rest) == 1
    assert {c.id for c in rest}.isdisjoint(c.id for c in claims)
    assert store.claim_due(limit=10) == []


def test_claim_respects_next_attempt_at(store: Store, clock: FakeClock) -> None:
    make_clients(store, 1)
    mailing(store, clock)
    store.materialize_due()
    [claim] = store.claim_due()
    later = clock() + timedelta(minutes=5)
    store.record_outcomes([Outcome(claim.id, "pending", last_error="503", next_attempt_at=later)])
    assert store.claim_due() == []
    clock.set(later)
    [again] = store.claim_due()
    assert (again.id, again.attempts) == (claim.id, 1)


def test_claim_shares_limit_across_mailings(store: Store, clock: FakeClock) -> None:
    make_clients(store, 10)
    a = mailing(store, clock)
    b = mailing(store, clock)
    store.materialize_due()
    claims = store.claim_due(limit=10)
    assert len(claims) == 10
    per = {a: 0, b: 0}
    for c in claims:
        per[c.mailing_id] += 1
    assert per == {a: 5, b: 5}


def test_claim_never_exceeds_limit(store: Store, clock: FakeClock) -> None:
    make_clients(store, 2)
    for _ in range(3):
        mailing(store, clock)
    store.materialize_due()
    assert len(store.claim_due(limit=2)) <= 2


def test_claim_fills_limit_from_busy_mailing(store: Store, clock: FakeClock) -> None:
    make_clients(store, 10, tag="big")
    make_clients(store, 1, start=100, tag="small")
    mailing(store, clock, tags=["big"])
    small = mailing(store, clock, tags=["small"])
    store.materialize_due()
    # The small mailing has one message: the big one may use the rest of the batch.
    claims = store.claim_due(limit=10)
    assert sum(c.mailing_id == small for c in claims) == 1
    assert len(claims) == 10


def test_small_batches_rotate_over_mailings(store: Store, clock: FakeClock) -> None:
    # The sender claims as slots free up (concurrency // 8 at a time): 3 mailings, 2 slots.
    make_clients(store, 4)
    ids = [mailing(store, clock) for _ in range(3)]
    store.materialize_due()
    served = {c.mailing_id for _ in range(3) for c in store.claim_due(limit=2)}
    assert served == set(ids)


def test_not_claimed_paused_cancelled_scheduled_ended(store: Store, clock: FakeClock) -> None:
    make_clients(store, 2)
    paused = mailing(store, clock)
    cancelled = mailing(store, clock)
    ended = mailing(store, clock, hours=1)
    store.materialize_due()
    # Materialised and then moved to the future: not started any more.
    moved = mailing(store, clock)
    store.materialize_due()
    store.update_mailing(
        moved, start_at=clock() + timedelta(hours=2), end_at=clock() + timedelta(hours=3)
    )
    scheduled = mailing(store, clock, starts=30)  # not materialised yet
    store.pause_mailing(paused)
    store.cancel_mailing(cancelled)
    clock.advance(hours=1)  # `ended` ends exactly now: end_at is exclusive
    assert store.claim_due(limit=100) == []
    assert message_rows(store, scheduled) == []  # started, but the sender has not materialised
    # Resume: claimable again; the others stay as they are.
    store.resume_mailing(paused)
    assert {c.mailing_id for c in store.claim_due(limit=100)} == {paused}
    assert set(statuses(store, ended).values()) == {"pending"}  # until finalize expires them
    assert set(statuses(store, moved).values()) == {"pending"}


def test_pause_stops_claims_at_once(store: Store, clock: FakeClock) -> None:
    make_clients(store, 4)
    mid = mailing(store, clock)
    store.materialize_due()
    assert len(store.claim_due(limit=2)) == 2
    store.pause_mailing(mid)
    assert store.claim_due(limit=10) == []
    store.resume_mailing(mid)
    assert len(store.claim_due(limit=10)) == 2


# --- send windows ------------------------------------------------------------------------

# T0 is Monday 2026-03-02 09:00 UTC: 12:00 in Moscow, 04:00 in New York, 18:00 in Tokyo.


def test_window_claims_open_reschedules_closed_expires_late(store: Store, clock: FakeClock) -> None:
    moscow = store.create_client(phone(1), timezone="Europe/Moscow").id
    new_york = store.create_client(phone(2), timezone="America/New_York").id
    tokyo = store.create_client(phone(3), timezone="Asia/Tokyo").id
    # Ends 20:00 UTC: New York opens at 14:00 UTC, Tokyo only at 00:00 UTC tomorrow.
    mid = mailing(store, clock, starts=0, hours=11, window="09:00-17:00")
    store.materialize_due()
    claims = store.claim_due(limit=10)
    assert [c.client_id for c in claims] == [moscow]
    rows = {r["client_id"]: r for r in message_rows(store, mid)}
    assert rows[moscow]["status"] == "sending"
    assert rows[new_york]["status"] == "pending"
    assert rows[new_york]["next_attempt_at"] == datetime(2026, 3, 2, 14, tzinfo=UTC).timestamp()
    assert rows[tokyo]["status"] == "expired"
    assert "window" in rows[tokyo]["last_error"]
    # Nothing to do before New York's window opens.
    clock.set(datetime(2026, 3, 2, 13, 59, tzinfo=UTC))
    assert store.claim_due() == []
    clock.set(datetime(2026, 3, 2, 14, tzinfo=UTC))
    assert [c.client_id for c in store.claim_due()] == [new_york]


def test_wrapping_window_in_the_evening(store: Store, clock: FakeClock) -> None:
    [cid] = make_clients(store, 1, timezone="UTC")
    mid = mailing(store, clock, window="22:00-06:00")
    store.materialize_due()
    assert store.claim_due() == []
    [row] = message_rows(store, mid)
    assert row["next_attempt_at"] == datetime(2026, 3, 2, 22, tzinfo=UTC).timestamp()
    assert row["client_id"] == cid
    clock.set(datetime(2026, 3, 2, 22, tzinfo=UTC))
    assert len(store.claim_due()) == 1


# --- record_outcomes ------------------------------------------------------------------------


def test_record_outcomes_each_kind(store: Store, clock: FakeClock) -> None:
    make_clients(store, 5)
    mid = mailing(store, clock)
    store.materialize_due()
    pending_one = store.claim_due(limit=4)
    sent, retry, failed, released = pending_one
    later = clock() + timedelta(seconds=30)
    store.record_outcomes(
        [
            Outcome(sent.id, "sent", sent_at=clock()),
            Outcome(retry.id, "pending", last_error="HTTP 503", next_attempt_at=later),
            Outcome(failed.id, "failed", last_error="HTTP 400: bad phone"),
            Outcome(released.id, "pending", charge=False),
        ]
    )
    rows = {r["id"]: r for r in message_rows(store, mid)}
    assert rows[sent.id]["status"] == "sent"
    assert rows[sent.id]["sent_at"] == clock().timestamp()
    assert rows[sent.id]["attempts"] == 1
    assert (rows[retry.id]["status"], rows[retry.id]["attempts"]) == ("pending", 1)
    assert rows[retry.id]["last_error"] == "HTTP 503"
    assert rows[retry.id]["next_attempt_at"] == later.timestamp()
    assert (rows[failed.id]["status"], rows[failed.id]["attempts"]) == ("failed", 1)
    assert rows[failed.id]["last_error"] == "HTTP 400: bad phone"
    assert (rows[released.id]["status"], rows[released.id]["attempts"]) == ("pending", 0)
    assert rows[released.id]["sent_at"] is None
    # A release right away is claimable again with the same id.
    assert released.id in {c.id for c in store.claim_due(limit=10)}


def test_record_outcomes_only_touches_sending(store: Store, clock: FakeClock) -> None:
    make_clients(store, 3)
    mid = mailing(store, clock)
    store.materialize_due()
    [claim] = store.claim_due(limit=1)
    store.record_outcomes([Outcome(claim.id, "sent", sent_at=clock())])
    before = message_rows(store, mid)
    pending_ids = [r["id"] for r in before if r["status"] == "pending"]
    # A duplicate answer for a sent message, and outcomes for messages never claimed.
    store.record_outcomes(
        [
            Outcome(claim.id, "failed", last_error="late duplicate"),
            *(Outcome(i, "sent", sent_at=clock()) for i in pending_ids),
            Outcome(10_000, "sent", sent_at=clock()),
        ]
    )
    assert message_rows(store, mid) == before
    assert store.record_outcomes([]) == 0


def test_record_outcomes_after_cancel_and_delete(store: Store, clock: FakeClock) -> None:
    make_clients(store, 2)
    mid = mailing(store, clock)
    store.materialize_due()
    claims = store.claim_due(limit=2)
    store.cancel_mailing(mid)  # in flight: stays sending, its answer still counts
    store.record_outcomes([Outcome(claims[0].id, "sent", sent_at=clock())])
    assert sorted(statuses(store, mid).values()) == ["sending", "sent"]
    store.delete_mailing(mid)
    store.record_outcomes([Outcome(claims[1].id, "sent", sent_at=clock())])  # no row: no error
    assert message_rows(store) == []


# --- finalize ---------------------------------------------------------------------------


def test_finalize_expires_ended_and_cancels_cancelled(store: Store, clock: FakeClock) -> None:
    make_clients(store, 3)
    ending = mailing(store, clock, hours=1)
    cancelling = mailing(store, clock)
    live = mailing(store, clock)
    store.materialize_due()
    claims = store.claim_due(limit=100)
    by_mailing: dict[int, list[int]] = {}
    for c in claims:
        by_mailing.setdefault(c.mailing_id, []).append(c.id)
    # Back to pending as retries; one of `ending` still in flight.
    retry_at = clock() + timedelta(minutes=1)
    store.record_outcomes(
        Outcome(i, "pending", last_error="HTTP 503", next_attempt_at=retry_at)
        for m, ids in by_mailing.items()
        for i in (ids[1:] if m == ending else ids)
    )
    store.cancel_mailing(cancelling)  # cancels the pending ones itself
    # A retry that lands after the cancel comes back as pending: finalize cancels it.
    store.db.execute_sql(
        "UPDATE message SET status = 'pending' WHERE mailing_id = ? AND id = ?",
        (cancelling, by_mailing[cancelling][0]),
    )
    clock.advance(hours=1)
    changed = store.finalize()
    assert sorted(changed["expired"]) == sorted(by_mailing[ending][1:])
    assert changed["cancelled"] == [by_mailing[cancelling][0]]
    ending_rows = {r["id"]: r for r in message_rows(store, ending)}
    assert ending_rows[by_mailing[ending][0]]["status"] == "sending"  # in flight: untouched
    assert {ending_rows[i]["status"] for i in by_mailing[ending][1:]} == {"expired"}
    assert {ending_rows[i]["last_error"] for i in by_mailing[ending][1:]} == {"HTTP 503"}
    assert set(statuses(store, cancelling).values()) == {"cancelled"}
    assert set(statuses(store, live).values()) == {"pending"}
    assert store.finalize() == {"expired": [], "cancelled": []}


def test_finalize_reason_when_never_tried(store: Store, clock: FakeClock) -> None:
    make_clients(store, 1)
    mid = mailing(store, clock, hours=1)
    store.materialize_due()
    clock.advance(hours=2)
    store.finalize()
    [row] = message_rows(store, mid)
    assert (row["status"], row["last_error"]) == ("expired", "not sent before end")


def test_mailing_created_after_its_end_expires_everything(store: Store, clock: FakeClock) -> None:
    make_clients(store, 2)
    mid = mailing(store, clock, starts=-120, hours=1)
    store.materialize_due()
    assert store.claim_due() == []
    store.finalize()
    assert set(statuses(store, mid).values()) == {"expired"}


# --- next_due_at ------------------------------------------------------------------------


def test_next_due_at(store: Store, clock: FakeClock) -> None:
    assert store.next_due_at() is None
    make_clients(store, 1)
    start = clock() + timedelta(hours=1)
    mid = mailing(store, clock, starts=60, hours=2)
    assert store.next_due_at() == start  # the next start
    clock.set(start)
    store.materialize_due()
    assert store.next_due_at() == start  # a message due now
    [claim] = store.claim_due()
    assert store.next_due_at() == start + timedelta(hours=2)  # only the end is left
    retry = clock() + timedelta(minutes=3)
    store.record_outcomes([Outcome(claim.id, "pending", last_error="x", next_attempt_at=retry)])
    assert store.next_due_at() == retry  # the retry
    store.pause_mailing(mid)
    assert store.next_due_at() == start + timedelta(hours=2)  # paused: only its end
    clock.advance(hours=2)
    assert store.next_due_at() == clock()  # ended with pending: finalise now
    store.finalize()
    assert store.next_due_at() is None


def test_next_due_at_waits_for_window(store: Store, clock: FakeClock) -> None:
    make_clients(store, 1, timezone="UTC")
    mailing(store, clock, window="22:00-06:00")
    store.materialize_due()
    store.claim_due()
    assert store.next_due_at() == datetime(2026, 3, 2, 22, tzinfo=UTC)


# --- recover_sending --------------------------------------------------------------------


def test_recover_sending_keeps_ids(store: Store, clock: FakeClock) -> None:
    make_clients(store, 4)
    mid = mailing(store, clock)
    store.materialize_due()
    claims = store.claim_due(limit=3)
    store.record_outcomes([Outcome(claims[0].id, "sent", sent_at=clock())])
    clock.advance(seconds=5)
    assert store.recover_sending() == 2
    rows = {r["id"]: r for r in message_rows(store, mid)}
    waiting = [r["next_attempt_at"] for i, r in rows.items() if i not in {c.id for c in claims}]
    for c in claims[1:]:
        assert rows[c.id]["status"] == "pending"
        assert rows[c.id]["attempts"] == 0
        # Due at once, and ahead of everything already waiting (issue 9.3: recovery used
        # to set "now", which put them behind the whole backlog to expire untried).
        assert rows[c.id]["next_attempt_at"] <= clock().timestamp()
        assert rows[c.id]["next_attempt_at"] < min(waiting)
    assert rows[claims[0].id]["status"] == "sent"
    again = store.claim_due(limit=10)
    assert {c.id for c in claims[1:]} <= {c.id for c in again}
    assert store.recover_sending() == 3
    assert store.open_messages() == 3


def test_retry_of_deleted_clients_message_is_not_sent(store: Store, clock: FakeClock) -> None:
    [cid] = make_clients(store, 1)
    mailing(store, clock)
    store.materialize_due()
    [claim] = store.claim_due()
    store.delete_client(cid)  # in flight: stays sending
    store.record_outcomes([Outcome(claim.id, "pending", last_error="503")])
    # Rule 2: a pending message whose client is deleted is cancelled, never sent.
    assert store.claim_due() == []
