"""The overall view counts again only mailings whose counts can still change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notifier_tui.core import stats
from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from tests.core.conftest import FakeClock, phone


def mailing(store: Store, clock: FakeClock, hours: float) -> int:
    m = store.create_mailing(clock() - timedelta(minutes=1), clock() + timedelta(hours=hours), "x")
    return m.id


def by_id(store: Store) -> dict[int, dict[str, int]]:
    return {m.id: m.by_status for m in store.list_mailings()}


def test_only_open_mailings_are_counted_again(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        store.create_client(phone(n))
    short = mailing(store, clock, hours=1)
    long = mailing(store, clock, hours=5)
    store.materialize_due()
    clock.advance(hours=2)
    store.finalize()
    assert by_id(store) == {short: {"expired": 3}, long: {"pending": 3}}
    asked: list[list[int] | None] = []
    real = stats.counts_by_mailing

    def spy(db: object, mailing_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
        asked.append(mailing_ids)
        return real(db, mailing_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(stats, "counts_by_mailing", spy)
    assert by_id(store) == {short: {"expired": 3}, long: {"pending": 3}}
    assert asked == [[long]]


def test_kept_counts_follow_every_change_that_reaches_them(store: Store, clock: FakeClock) -> None:
    for n in range(2):
        store.create_client(phone(n))
    mid = mailing(store, clock, hours=1)
    store.materialize_due()
    [first, second] = store.claim_due(limit=2)
    clock.advance(hours=2)
    store.finalize()
    # Still sending at its end: not over yet, its outcomes are still to come.
    assert by_id(store)[mid] == {"sending": 2}
    store.record_outcomes([Outcome(first.id, "sent", sent_at=clock())])
    store.record_outcomes([Outcome(second.id, "failed", last_error="HTTP 400")])
    assert by_id(store)[mid] == {"sent": 1, "failed": 1}
    # Over and kept: an edit that brings it back to life counts it again.
    store.create_client(phone(7))
    store.update_mailing(mid, end_at=clock() + timedelta(hours=1))
    assert by_id(store)[mid] == {"sent": 1, "failed": 1, "pending": 1}
    clock.advance(hours=2)
    store.finalize()
    assert by_id(store)[mid] == {"sent": 1, "failed": 1, "expired": 1}
    store.delete_mailing(mid)
    assert by_id(store) == {}
    # The clock going back (a fake one) makes it live again: counted, not kept.
    other = mailing(store, clock, hours=1)
    store.materialize_due()
    clock.advance(hours=2)
    store.finalize()
    assert by_id(store)[other] == {"expired": 3}
    clock.advance(hours=-2)
    assert store.overall_stats().by_status["expired"] == 3
