"""The store's validated operations on a real SQLite file, with a fake clock."""

from __future__ import annotations

import csv
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from notifier_tui.core.errors import ConflictError, NotFoundError, RowErrors, ValidationError
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import MailingState
from notifier_tui.core.store import Store
from tests.core.conftest import FakeClock, message_rows, phone, statuses

# --- helpers -----------------------------------------------------------------------


def count(store: Store, table: str) -> int:
    return int(store.db.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def live_mailing(store: Store, clock: FakeClock, **kwargs: object) -> int:
    """A mailing that started now and runs for a day, already materialised."""
    mailing = store.create_mailing(
        clock() - timedelta(minutes=1), clock() + timedelta(days=1), "hello", **kwargs
    )
    store.materialize_due()
    return mailing.id


def send(store: Store, clock: FakeClock, mailing_id: int) -> list[int]:
    """Claim and mark sent every due message of the store; returns the ids sent."""
    claims = [c for c in store.claim_due(limit=10_000) if c.mailing_id == mailing_id]
    store.record_outcomes(Outcome(c.id, "sent", sent_at=clock()) for c in claims)
    return [c.id for c in claims]


# --- clients -----------------------------------------------------------------------


def test_create_client_normalises(store: Store, clock: FakeClock) -> None:
    client = store.create_client("+7 (900) 123-45-67", " vip ", "Asia/Kolkata")
    assert client.phone == "79001234567"
    assert client.operator_code == "900"
    assert client.tag == "vip"
    assert client.timezone == "Asia/Kolkata"
    assert client.created_at == clock()
    assert store.get_client(client.id) == client


def test_create_client_defaults_and_explicit_operator(store: Store) -> None:
    default = store.create_client("8 912 000 00 01")
    assert default.timezone == "Europe/Moscow"
    assert default.tag == ""
    assert default.operator_code == "912"
    explicit = store.create_client("79120000002", operator_code="555")
    assert explicit.operator_code == "555"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "79001234567", "timezone": "Mars/Base"}, "timezone"),
        ({"phone": "79001234567", "operator_code": "12"}, "operator_code"),
        ({"phone": "79001234567", "tag": "x" * 65}, "tag"),
    ],
)
def test_create_client_invalid_writes_nothing(store: Store, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        store.create_client(**kwargs)
    assert err.value.field == field
    assert count(store, "client") == 0


def test_duplicate_phone_conflict_writes_nothing(store: Store) -> None:
    store.create_client("79001234567", "a")
    with pytest.raises(ConflictError) as err:
        store.create_client("+7 900 123 45 67", "b")
    assert err.value.field == "phone"
    assert count(store, "client") == 1
    other = store.create_client("79001234568")
    with pytest.raises(ConflictError):
        store.update_client(other.id, phone="8 900 123 45 67")
    assert store.get_client(other.id).phone == "79001234568"


def test_update_client_fields(store: Store) -> None:
    c = store.create_client("79001234567", "a", "UTC")
    updated = store.update_client(c.id, tag="b", timezone="Europe/Berlin")
    assert (updated.phone, updated.tag, updated.timezone) == ("79001234567", "b", "Europe/Berlin")
    assert store.get_client(c.id) == updated
    # Keeping the own phone is not a conflict.
    assert store.update_client(c.id, phone="+7 900 123-45-67").phone == "79001234567"


def test_derived_operator_follows_phone_explicit_one_stays(store: Store) -> None:
    derived = store.create_client("79001234567")
    assert store.update_client(derived.id, phone="79511234567").operator_code == "951"
    explicit = store.create_client("79002222222", operator_code="777")
    moved = store.update_client(explicit.id, phone="79613333333")
    assert moved.operator_code == "777"
    # An empty code asks for the derived one again.
    assert store.update_client(explicit.id, operator_code="").operator_code == "961"
    assert store.update_client(explicit.id, operator_code="123").operator_code == "123"


def test_update_client_invalid_writes_nothing(store: Store) -> None:
    c = store.create_client("79001234567", "a", "UTC")
    with pytest.raises(ValidationError) as err:
        store.update_client(c.id, tag="b", timezone="nowhere")
    assert err.value.field == "timezone"
    assert store.get_client(c.id) == c


def test_unknown_ids(store: Store) -> None:
    for call in (
        lambda: store.get_client(99),
        lambda: store.update_client(99, tag="x"),
        lambda: store.delete_client(99),
        lambda: store.get_mailing(99),
        lambda: store.update_mailing(99, text="x"),
        lambda: store.delete_mailing(99),
        lambda: store.pause_mailing(99),
        lambda: store.resume_mailing(99),
        lambda: store.cancel_mailing(99),
        lambda: store.mailing_stats(99),
        lambda: store.get_message(99),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_list_count_search_paging(store: Store) -> None:
    for i in range(25):
        store.create_client(
            phone(i),
            tag="even" if i % 2 == 0 else "odd",
            timezone="UTC" if i < 5 else "Europe/Berlin",
            operator_code="901" if i % 5 == 0 else None,
        )
    assert store.count_clients() == 25
    page = store.list_clients(offset=10, limit=10)
    assert [c.id for c in page] == list(range(11, 21))
    assert len(store.list_clients(limit=None)) == 25
    assert store.list_clients(offset=20, limit=10)[-1].id == 25
    assert store.count_clients(tag="even") == 13
    assert {c.tag for c in store.list_clients(tag="odd", limit=None)} == {"odd"}
    assert store.count_clients(operator="901") == 5
    assert store.count_clients(operator="900", tag="even") == 10
    # Search looks at phone digits, tag and timezone.
    assert [c.phone for c in store.list_clients("0000012")] == [phone(12)]
    assert store.count_clients("berl") == 20
    assert store.count_clients("ODD") == 12
    assert store.count_clients("nothing-like-this") == 0


def test_distinct_tags_and_operators(store: Store) -> None:
    store.create_client(phone(1), "b")
    store.create_client(phone(2), "a")
    store.create_client(phone(3), "")
    store.create_client(phone(4), "b", operator_code="555")
    assert store.distinct_tags() == ["a", "b"]
    assert store.distinct_operators() == ["555", "900"]


def test_listeners_called_after_commit(store: Store, db_path: Path) -> None:
    seen: list[int] = []

    def listener() -> None:
        # Another connection already sees the row: the write is committed.
        with sqlite3.connect(db_path) as other:
            seen.append(other.execute("SELECT COUNT(*) FROM client").fetchone()[0])

    store.add_listener(listener)
    store.create_client(phone(1))
    store.create_client(phone(2))
    assert seen == [1, 2]
    with pytest.raises(ValidationError):
        store.create_client("bad")
    assert seen == [1, 2]
    store.remove_listener(listener)
    store.create_client(phone(3))
    assert seen == [1, 2]


def test_listener_sees_mailing_writes(store: Store, clock: FakeClock) -> None:
    calls: list[str] = []
    store.add_listener(lambda: calls.append("x"))
    m = store.create_mailing(clock(), clock() + timedelta(hours=1), "t")
    store.pause_mailing(m.id)
    store.resume_mailing(m.id)
    store.cancel_mailing(m.id)
    store.delete_mailing(m.id)
    assert len(calls) == 5


# --- import / export -----------------------------------------------------------------


def test_import_csv_atomic_reports_every_bad_line(store: Store, tmp_path: Path) -> None:
    store.create_client(phone(99))
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["phone", "tag", "timezone"],  # line 1
            [phone(1), "a", "UTC"],  # 2
            ["12345", "a", "UTC"],  # 3 bad phone
            [phone(2), "b", ""],  # 4 default tz
            [phone(3), "c", "Nowhere/City"],  # 5 bad tz
            ["+7 900 000-00-01", "d", "UTC"],  # 6 repeats line 2
            [phone(99), "e", "UTC"],  # 7 already in the store
            [phone(4), "f"],  # 8 missing column
            [phone(5), "x" * 65, "UTC"],  # 9 tag too long
            [phone(6), "g", "UTC"],  # 10
        ],
    )
    with pytest.raises(RowErrors) as err:
        store.import_csv(path)
    assert [line for line, _ in err.value.errors] == [3, 5, 6, 7, 8, 9]
    fields = [e.field for _, e in err.value.errors]
    assert fields == ["phone", "timezone", "phone", "phone", "row", "tag"]
    assert "line 3" in str(err.value)
    assert store.count_clients() == 1


def test_import_skip_invalid(store: Store, tmp_path: Path) -> None:
    store.create_client(phone(99))
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["phone", "tag", "timezone", "operator_code"],
            [phone(1), "a", "UTC", ""],
            ["bad", "a", "UTC", ""],
            [phone(2), "b", "Asia/Kolkata", "777"],
            [phone(1), "dup", "UTC", ""],
            [phone(99), "dup", "UTC", ""],
            [],  # blank lines are skipped
            [phone(3), "", "", ""],
        ],
    )
    result = store.import_csv(path, skip_invalid=True)
    assert result.imported == 3
    assert [line for line, _ in result.errors] == [3, 5, 6]
    assert result.to_json()["errors"][0]["line"] == 3
    by_phone = {c.phone: c for c in store.list_clients(limit=None)}
    assert by_phone[phone(2)].operator_code == "777"
    assert by_phone[phone(2)].timezone == "Asia/Kolkata"
    assert by_phone[phone(3)].timezone == "Europe/Moscow"
    assert by_phone[phone(3)].operator_code == "900"


def test_import_rows_directly(store: Store) -> None:
    result = store.import_rows(
        [(2, {"phone": phone(1), "tag": "a", "timezone": "UTC"}), (3, {"phone": phone(2)})]
    )
    assert result.imported == 2
    assert result.errors == []
    with pytest.raises(RowErrors) as err:
        store.import_rows([(2, {"phone": phone(1)}), (3, {"phone": phone(7), "tag": "a\nb"})])
    assert [line for line, _ in err.value.errors] == [2, 3]
    assert store.count_clients() == 2


@pytest.mark.parametrize(
    "header",
    [["phone", "tag"], ["tag", "phone", "timezone"], ["phone", "tag", "timezone", "extra"]],
)
def test_import_bad_header(store: Store, tmp_path: Path, header: list[str]) -> None:
    path = write_csv(tmp_path / "in.csv", [header, [phone(1), "a", "UTC"]])
    with pytest.raises(ValidationError) as err:
        store.import_csv(path)
    assert err.value.field == "header"
    assert store.count_clients() == 0


def test_import_unreadable_files(store: Store, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"phone,tag,timezone\n\xff\xfe\x00junk\n")
    huge = tmp_path / "huge.csv"
    huge.write_text(f"phone,tag,timezone\n{phone(1)},a,UTC\n{phone(2)},{'x' * 200_000},UTC\n")
    for path in (empty, binary, huge, tmp_path / "missing.csv"):
        with pytest.raises(ValidationError) as err:
            store.import_csv(path)
        assert err.value.field == "file"
    assert store.count_clients() == 0


def test_import_accepts_bom_and_case(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text(f"\ufeffPhone, Tag ,TIMEZONE\n{phone(1)},a,UTC\n", encoding="utf-8")
    assert store.import_csv(path).imported == 1


def test_export_round_trip(tmp_path: Path, clock: FakeClock) -> None:
    first = Store(tmp_path / "a.db", clock=clock)
    first.create_client(phone(1), "a, with comma", "UTC")
    first.create_client(phone(2), 'quote "q"', "Asia/Kolkata", operator_code="555")
    first.create_client(phone(3), "", "Europe/Berlin")
    before = [(c.phone, c.tag, c.timezone, c.operator_code) for c in first.list_clients()]
    assert first.export_csv(tmp_path / "out.csv") == 3
    first.close()
    # One Store per process at a time: tables.open_database binds the models globally.
    second = Store(tmp_path / "b.db", clock=clock)
    try:
        assert second.import_csv(tmp_path / "out.csv").imported == 3
        after = [(c.phone, c.tag, c.timezone, c.operator_code) for c in second.list_clients()]
        assert after == before
    finally:
        second.close()


# --- mailings ----------------------------------------------------------------------


def test_create_mailing(store: Store, clock: FakeClock) -> None:
    m = store.create_mailing(
        clock() + timedelta(hours=1),
        clock() + timedelta(hours=5),
        "Hello",
        operator_codes=["901", "900", ""],
        tags=["b", "a"],
        window=" 9:00-21:00 ",
    )
    assert m.operator_codes == ("900", "901")
    assert m.tags == ("a", "b")
    assert m.window == "09:00-21:00"
    assert m.state is MailingState.SCHEDULED
    assert m.total == 0
    assert store.get_mailing(m.id) == m
    assert [x.id for x in store.list_mailings()] == [m.id]
    js = m.to_json()
    assert js["start_at"].endswith("+00:00")
    assert js["state"] == "scheduled"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"end": -1}, "end_at"),
        ({"naive": True}, "start_at"),
        ({"operator_codes": ["90"]}, "operator_code"),
        ({"tags": ["x" * 65]}, "tag"),
        ({"window": "25:00-01:00"}, "window"),
    ],
)
def test_create_mailing_invalid_writes_nothing(
    store: Store, clock: FakeClock, kwargs: dict, field: str
) -> None:
    start = clock()
    end = start + timedelta(hours=kwargs.pop("end", 1))
    if kwargs.pop("naive", False):
        start = start.replace(tzinfo=None)
    args = {"text": "hi", **kwargs}
    with pytest.raises(ValidationError) as err:
        store.create_mailing(start, end, **args)
    assert err.value.field == field
    assert count(store, "mailing") == 0


def test_update_mailing_and_failures_write_nothing(store: Store, clock: FakeClock) -> None:
    m = store.create_mailing(clock(), clock() + timedelta(hours=2), "one", window="09:00-10:00")
    up = store.update_mailing(m.id, text="two", tags=["vip"], end_at=clock() + timedelta(hours=3))
    assert (up.text, up.tags, up.window) == ("two", ("vip",), "09:00-10:00")
    assert up.end_at == clock() + timedelta(hours=3)
    assert store.update_mailing(m.id, window="").window is None
    before = store.get_mailing(m.id)
    with pytest.raises(ValidationError) as err:
        # A valid period change and then a bad text: nothing of it may stick.
        store.update_mailing(m.id, end_at=clock() + timedelta(hours=9), text=" ")
    assert err.value.field == "text"
    with pytest.raises(ValidationError) as err:
        store.update_mailing(m.id, end_at=clock() - timedelta(hours=1))
    assert err.value.field == "end_at"
    assert store.get_mailing(m.id) == before


def test_states_through_the_clock(store: Store, clock: FakeClock) -> None:
    store.create_client(phone(1))
    m = store.create_mailing(clock() + timedelta(hours=1), clock() + timedelta(hours=2), "t")
    assert store.get_mailing(m.id).state is MailingState.SCHEDULED
    clock.advance(hours=1)
    store.materialize_due()
    assert store.get_mailing(m.id).state is MailingState.ACTIVE
    assert store.pause_mailing(m.id).state is MailingState.PAUSED
    assert store.resume_mailing(m.id).state is MailingState.ACTIVE
    send(store, clock, m.id)
    assert store.get_mailing(m.id).state is MailingState.FINISHED  # every message final
    clock.advance(hours=1)
    assert store.get_mailing(m.id).state is MailingState.FINISHED
    with pytest.raises(ValidationError) as err:
        store.pause_mailing(m.id)
    assert err.value.field == "mailing"


def test_cancel_finalises_pending(store: Store, clock: FakeClock) -> None:
    for i in range(3):
        store.create_client(phone(i))
    mid = live_mailing(store, clock)
    claims = store.claim_due(limit=1)
    store.record_outcomes([Outcome(claims[0].id, "sent", sent_at=clock())])
    cancelled = store.cancel_mailing(mid)
    assert cancelled.state is MailingState.CANCELLED
    assert cancelled.by_status == {"sent": 1, "cancelled": 2}
    assert {r["last_error"] for r in message_rows(store) if r["status"] == "cancelled"} == {
        "mailing cancelled"
    }
    # Idempotent, and a cancelled mailing cannot be paused or resumed.
    assert store.cancel_mailing(mid).by_status == {"sent": 1, "cancelled": 2}
    for action in (store.pause_mailing, store.resume_mailing):
        with pytest.raises(ValidationError):
            action(mid)


def test_delete_mailing_removes_messages(store: Store, clock: FakeClock) -> None:
    store.create_client(phone(1))
    store.create_client(phone(2))
    keep = live_mailing(store, clock)
    gone = live_mailing(store, clock)
    assert count(store, "message") == 4
    store.delete_mailing(gone)
    assert count(store, "message") == 2
    assert {r["mailing_id"] for r in message_rows(store)} == {keep}
    assert [m.id for m in store.list_mailings()] == [keep]


def test_audience_count(store: Store) -> None:
    store.create_client(phone(1), "vip")
    store.create_client(phone(2), "vip", operator_code="901")
    store.create_client(phone(3), "")
    assert store.audience_count() == 3
    assert store.audience_count(["900"]) == 2
    assert store.audience_count(["900", "901"], ["vip"]) == 2
    assert store.audience_count(["901"], ["vip"]) == 1
    assert store.audience_count([], ["nobody"]) == 0
    with pytest.raises(ValidationError):
        store.audience_count(["9001"])


# --- DESIGN rule 2: the audience of a live mailing follows the clients -------------------


def test_client_added_during_live_mailing_gets_message(store: Store, clock: FakeClock) -> None:
    store.create_client(phone(1), "vip")
    mid = live_mailing(store, clock, tags=["vip"])
    assert len(message_rows(store, mid)) == 1
    clock.advance(minutes=5)
    c2 = store.create_client(phone(2), "vip")
    store.create_client(phone(3), "other")
    rows = message_rows(store, mid)
    assert [(r["client_id"], r["status"], r["phone"]) for r in rows] == [
        (1, "pending", phone(1)),
        (c2.id, "pending", phone(2)),
    ]
    assert rows[1]["next_attempt_at"] == clock().timestamp()


def test_client_not_added_to_scheduled_or_ended_mailings(store: Store, clock: FakeClock) -> None:
    store.create_mailing(clock() + timedelta(hours=1), clock() + timedelta(hours=2), "later")
    ended = live_mailing(store, clock)
    clock.advance(days=2)
    store.create_client(phone(1))
    assert message_rows(store) == []
    assert store.get_mailing(ended).state is MailingState.FINISHED


def test_client_changed_to_match_and_back(store: Store, clock: FakeClock) -> None:
    c = store.create_client(phone(1), "other")
    mid = live_mailing(store, clock, tags=["vip"])
    assert statuses(store, mid) == {}
    store.update_client(c.id, tag="vip")
    assert statuses(store, mid) == {c.id: "pending"}
    store.update_client(c.id, tag="other")
    rows = message_rows(store, mid)
    assert [(r["status"], r["last_error"]) for r in rows] == [
        ("cancelled", "client no longer matches")
    ]
    store.update_client(c.id, tag="vip")
    rows = message_rows(store, mid)
    assert [(r["status"], r["last_error"]) for r in rows] == [("pending", None)]
    # Still one message per (mailing, client).
    assert len(rows) == 1


def test_operator_change_moves_between_mailings(store: Store, clock: FakeClock) -> None:
    c = store.create_client(phone(1))
    m900 = live_mailing(store, clock, operator_codes=["900"])
    m951 = live_mailing(store, clock, operator_codes=["951"])
    store.update_client(c.id, phone="79511234567")  # derived operator follows the phone
    assert statuses(store, m900) == {c.id: "cancelled"}
    assert statuses(store, m951) == {c.id: "pending"}
    assert [r["phone"] for r in message_rows(store, m951)] == ["79511234567"]


def test_phone_change_updates_pending_messages_only(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1))
    first = live_mailing(store, clock)
    send(store, clock, first)
    second = live_mailing(store, clock)
    store.update_client(a.id, phone=phone(5))
    assert [r["phone"] for r in message_rows(store, first)] == [phone(1)]  # sent keeps it
    assert [r["phone"] for r in message_rows(store, second)] == [phone(5)]


def test_client_stops_matching_keeps_sent_message(store: Store, clock: FakeClock) -> None:
    c = store.create_client(phone(1), "vip")
    mid = live_mailing(store, clock, tags=["vip"])
    send(store, clock, mid)
    store.update_client(c.id, tag="other")
    assert statuses(store, mid) == {c.id: "sent"}


def test_deleted_client(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1))
    b = store.create_client(phone(2))
    first = live_mailing(store, clock)
    send(store, clock, first)
    second = live_mailing(store, clock)
    store.delete_client(a.id)
    rows = message_rows(store)
    sent = [r for r in rows if r["mailing_id"] == first]
    assert {(r["client_id"], r["phone"], r["status"]) for r in sent} == {
        (None, phone(1), "sent"),
        (b.id, phone(2), "sent"),
    }
    pending = {r["phone"]: (r["client_id"], r["status"]) for r in rows if r["mailing_id"] == second}
    assert pending == {phone(1): (None, "cancelled"), phone(2): (b.id, "pending")}
    assert store.get_mailing(first).by_status == {"sent": 2}
    detail = store.mailing_stats(first)
    assert {m.phone for m in detail.messages} == {phone(1), phone(2)}
    assert store.count_clients() == 1


def test_import_during_live_mailing_materialises(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    mid = live_mailing(store, clock, tags=["vip"])
    path = write_csv(
        tmp_path / "in.csv",
        [["phone", "tag", "timezone"], [phone(1), "vip", "UTC"], [phone(2), "no", "UTC"]],
    )
    assert store.import_csv(path).imported == 2
    assert [r["phone"] for r in message_rows(store, mid)] == [phone(1)]


def test_failed_import_creates_no_messages(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    live_mailing(store, clock)
    path = write_csv(
        tmp_path / "in.csv", [["phone", "tag", "timezone"], [phone(1), "", "UTC"], ["x", "", ""]]
    )
    with pytest.raises(RowErrors):
        store.import_csv(path)
    assert count(store, "message") == 0
    assert count(store, "client") == 0


def test_update_mailing_filter_resyncs_live_mailing(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1))  # operator 900
    b = store.create_client("79511234567")  # operator 951
    mid = live_mailing(store, clock, operator_codes=["900"])
    assert statuses(store, mid) == {a.id: "pending"}
    store.update_mailing(mid, operator_codes=["951"])
    assert statuses(store, mid) == {a.id: "cancelled", b.id: "pending"}
    # Back again: the client that matches again gets its message back (rule 2).
    store.update_mailing(mid, operator_codes=["900"])
    assert statuses(store, mid) == {a.id: "pending", b.id: "cancelled"}
    store.update_mailing(mid, operator_codes=[])
    assert statuses(store, mid) == {a.id: "pending", b.id: "pending"}
    assert store.get_mailing(mid).by_status == {"pending": 2}


def test_update_mailing_filter_before_start_does_not_materialise(
    store: Store, clock: FakeClock
) -> None:
    store.create_client(phone(1))
    m = store.create_mailing(clock() + timedelta(hours=1), clock() + timedelta(hours=2), "t")
    store.update_mailing(m.id, tags=["vip"])
    assert count(store, "message") == 0


def test_resync_never_touches_sent_or_cancelled_by_user(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1))
    b = store.create_client(phone(2), "vip")
    mid = live_mailing(store, clock)
    claims = store.claim_due(limit=1)
    store.record_outcomes([Outcome(claims[0].id, "sent", sent_at=clock())])
    store.update_mailing(mid, tags=["nobody"])
    assert statuses(store, mid) == {a.id: "sent", b.id: "cancelled"}


# --- plumbing ------------------------------------------------------------------------


async def test_run_executes_on_store_thread(store: Store) -> None:
    main = threading.get_ident()
    client = await store.run(store.create_client, phone(1), tag="t")
    assert client.tag == "t"
    ident = await store.run(threading.get_ident)
    assert ident != main
    assert await store.run(store.count_clients) == 1


def test_data_version_changes_on_foreign_commit(store: Store, raw: sqlite3.Connection) -> None:
    before = store.data_version()
    assert store.data_version() == before
    raw.execute("INSERT INTO meta (key, value) VALUES ('other', 'process')")
    assert store.data_version() != before


def test_write_survives_a_concurrent_commit_from_another_process(
    db_path: Path, clock: FakeClock
) -> None:
    """A UI writing while the daemon commits must not fail with 'database is locked'.

    Writes take the write lock up front (BEGIN IMMEDIATE), so another process
    trying to commit between create_client's read (is the phone free?) and its
    insert waits for us instead of invalidating our read snapshot, which in a
    DEFERRED transaction would fail at once whatever the busy timeout.
    """
    other = sqlite3.connect(db_path, isolation_level=None, timeout=0.2)
    armed = False
    blocked: list[str] = []

    def meddling_clock() -> datetime:  # create_client calls it after its read
        nonlocal armed
        if armed:
            armed = False
            try:
                other.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('x', '1')")
            except sqlite3.OperationalError as err:
                blocked.append(str(err))
        return clock()

    store = Store(db_path, clock=meddling_clock)
    try:
        armed = True
        store.create_client(phone(1))
        assert store.count_clients() == 1
        assert blocked == ["database is locked"]  # the other writer waited on us
        other.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('x', '1')")
    finally:
        store.close()
        other.close()


def test_a_second_open_store_in_one_process_is_refused(tmp_path: Path) -> None:
    """peewee binds models per process: a second store would hijack the first's queries."""
    first = Store(tmp_path / "a.db")
    try:
        with pytest.raises(RuntimeError, match="already open"):
            Store(tmp_path / "b.db")
        first.create_client(phone(1))
    finally:
        first.close()
    second = Store(tmp_path / "b.db")  # fine once the first is closed
    try:
        assert second.count_clients() == 0
    finally:
        second.close()
