"""The stop list on a real store file: matching leaves its phones out, adding cancels."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from notifier_tui.core.errors import RowErrors, ValidationError
from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.store import Store
from tests.core.conftest import T0, FakeClock, message_rows, phone, statuses


def live_mailing(store: Store, clock: FakeClock, **filters: object) -> int:
    """A mailing started now, its audience materialised."""
    m = store.create_mailing(T0, T0 + timedelta(days=1), "hi", **filters)  # type: ignore[arg-type]
    store.materialize_due(clock())
    return m.id


def test_stop_listed_phones_get_no_message_at_start(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1))
    b = store.create_client(phone(2))
    store.stoplist_add(["+7 900 000-00-02"])
    assert store.audience_count() == 1
    assert store.audience_excluded() == 1
    mailing = live_mailing(store, clock)
    assert statuses(store, mailing) == {a.id: "pending"}
    assert b.id not in statuses(store, mailing)


def test_excluded_counts_only_whom_the_filter_selects(store: Store) -> None:
    store.create_client(phone(1), tag="vip")
    store.create_client(phone(2), tag="other")
    store.stoplist_add([phone(1), phone(2)])
    assert store.audience_count(tags=["vip"]) == 0
    assert store.audience_excluded(tags=["vip"]) == 1
    assert store.audience_excluded() == 2


def test_adding_cancels_pending_messages_with_its_class(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1))
    b = store.create_client(phone(2))
    mailing = live_mailing(store, clock)
    change = store.stoplist_add([phone(1), phone(1), phone(3)])
    assert change.changed == [phone(1), phone(3)]
    assert change.messages == 1
    rows = {r["client_id"]: r for r in message_rows(store, mailing)}
    assert rows[a.id]["status"] == "cancelled"
    assert rows[a.id]["last_error"] == reason_text(ErrorClass.STOP_LISTED)
    assert rows[b.id]["status"] == "pending"
    detail = store.mailing_stats(mailing)
    assert detail.by_error == {ErrorClass.STOP_LISTED.value: 1}
    # Adding again changes nothing and says so.
    again = store.stoplist_add([phone(1)])
    assert (again.changed, again.unchanged, again.messages) == ([], [phone(1)], 0)


def test_live_resync_keeps_stop_listed_phones_out(store: Store, clock: FakeClock) -> None:
    store.create_client(phone(1))
    mailing = live_mailing(store, clock)
    store.stoplist_add([phone(5), phone(6)])
    # A client added during the mailing with a stop-listed phone gets nothing.
    late = store.create_client(phone(5))
    assert late.id not in statuses(store, mailing)
    # A client whose phone changes to a stop-listed one loses its pending message.
    other = store.create_client(phone(7))
    assert statuses(store, mailing)[other.id] == "pending"
    store.update_client(other.id, phone=phone(6))
    row = next(r for r in message_rows(store, mailing) if r["client_id"] == other.id)
    assert row["status"] == "cancelled"
    assert row["last_error"] == reason_text(ErrorClass.STOP_LISTED)


def test_removing_gives_messages_back_in_live_mailings(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1))
    store.stoplist_add([phone(1), phone(2)])
    mailing = live_mailing(store, clock)
    assert a.id not in statuses(store, mailing)
    store.stoplist_remove([phone(1)])
    assert statuses(store, mailing)[a.id] == "pending"
    # A message cancelled by the list comes back when the phone leaves it.
    b = store.create_client(phone(3))
    store.stoplist_add([phone(3)])
    assert statuses(store, mailing)[b.id] == "cancelled"
    change = store.stoplist_remove([phone(3), phone(9)])
    assert change.changed == [phone(3)] and change.unchanged == [phone(9)]
    assert statuses(store, mailing)[b.id] == "pending"
    assert [e.phone for e in store.stoplist_entries()] == [phone(2)]


def test_a_bad_phone_writes_nothing(store: Store, db_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        store.stoplist_add([phone(1), "12345"])
    assert err.value.field == "phone"
    assert store.stoplist_count() == 0
    with pytest.raises(ValidationError):
        store.stoplist_add([])


def test_import_csv_all_or_nothing(store: Store, tmp_path: Path) -> None:
    good = tmp_path / "stop.csv"
    good.write_text(f"phone,tag\n{phone(1)},x\n\n+7 900 000 00 02,y\n", encoding="utf-8")
    change = store.stoplist_import(good)
    assert change.changed == [phone(1), phone(2)]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"phone\n{phone(3)}\nnope\n", encoding="utf-8")
    with pytest.raises(RowErrors) as err:
        store.stoplist_import(bad)
    assert [line for line, _ in err.value.errors] == [3]
    assert store.stoplist_count() == 2
    headerless = tmp_path / "no_phone.csv"
    headerless.write_text("tag\nx\n", encoding="utf-8")
    with pytest.raises(ValidationError) as verr:
        store.stoplist_import(headerless)
    assert verr.value.field == "header"


def test_stored_for_other_processes(store: Store, db_path: Path) -> None:
    store.stoplist_add([phone(1)])
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT phone FROM stop_list").fetchall() == [(phone(1),)]
