"""Ids are never handed out twice, and a phone gets one message per mailing.

A message id is the gateway's idempotency key (docs/gateway.md): a reused id
would make the gateway answer a new message with an old one's result.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.core.store import schema as tables
from tests.core.conftest import FakeClock, message_rows, phone


def live(store: Store, clock: FakeClock) -> int:
    m = store.create_mailing(clock() - timedelta(minutes=1), clock() + timedelta(days=1), "hi")
    store.materialize_due()
    return m.id


def test_deleted_mailing_ids_and_message_ids_are_not_reused(store: Store, clock: FakeClock) -> None:
    for n in range(3):
        store.create_client(phone(n))
    first = live(store, clock)
    old_ids = [r["id"] for r in message_rows(store, first)]
    assert (first, old_ids) == (1, [1, 2, 3])
    store.delete_mailing(first)
    second = live(store, clock)
    assert second == 2
    assert [r["id"] for r in message_rows(store, second)] == [4, 5, 6]


def test_deleted_client_id_is_not_reused(store: Store) -> None:
    a = store.create_client(phone(1))
    store.delete_client(a.id)
    assert store.create_client(phone(1)).id == a.id + 1


def test_ids_survive_a_reopen(store: Store, db_path: Path, clock: FakeClock) -> None:
    store.create_client(phone(1))
    mid = live(store, clock)
    store.delete_mailing(mid)
    store.close()
    again = Store(db_path, clock=clock)
    try:
        assert live(again, clock) == mid + 1
    finally:
        again.close()


def make_v3_store(path: Path) -> None:
    """A store as version 3 left it: two mailings with messages, ids 1 and 2."""
    db = tables.make_database(path)
    db.bind(tables.MODELS, bind_refs=False, bind_backrefs=False)
    db.connect()
    with db.atomic():
        for step in tables.MIGRATIONS[:3]:
            step(db)
        tables.set_meta(db, "schema_version", "3")
    for n in range(2):
        db.execute_sql(
            "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
            " VALUES (?, '900', '', 'UTC', 0)",
            (phone(n),),
        )
    for mailing_id in (1, 2):
        db.execute_sql(
            "INSERT INTO mailing (id, start_at, end_at, text, operator_codes, tags, paused,"
            " cancelled, created_at, updated_at) VALUES (?, 0, 10, 'x', '[]', '[]', 0, 0, 0, 0)",
            (mailing_id,),
        )
        for client_id in (1, 2):
            db.execute_sql(
                "INSERT INTO message (mailing_id, client_id, phone, status, created_at,"
                " attempts, last_error, error_class, next_attempt_at)"
                " VALUES (?, ?, ?, 'failed', 0, 1, 'HTTP 500', 'http_5xx', 0)",
                (mailing_id, client_id, phone(client_id - 1)),
            )
    db.close()


def test_version_3_store_keeps_rows_and_stops_reusing_ids(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "v3.db"
    make_v3_store(path)
    with sqlite3.connect(path) as conn:
        cursor = conn.execute("SELECT * FROM message ORDER BY id")
        columns = ", ".join(d[0] for d in cursor.description)
        before = cursor.fetchall()
    store = Store(path, clock=clock)
    try:
        rows = store.db.execute_sql(f"SELECT {columns} FROM message ORDER BY id").fetchall()
        assert rows == before  # every column of every row, ids included
        # The newest mailing goes: its id and its messages' ids stay used.
        store.delete_mailing(2)
        assert store.count_clients() == 2
        mid = live(store, clock)
        assert mid == 3
        assert [r["id"] for r in message_rows(store, mid)] == [5, 6]
        store.delete_client(2)
        assert store.create_client(phone(9)).id == 3
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'message'").fetchone()[0]
        assert "AUTOINCREMENT" in sql
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 0  # a fresh connection
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_foreign_keys_are_back_on_after_migrating(store: Store) -> None:
    assert store.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def test_client_deleted_and_added_again_gets_no_second_message(
    store: Store, clock: FakeClock
) -> None:
    sent = store.create_client(phone(1))
    waiting = store.create_client(phone(2))
    mid = live(store, clock)
    [claim] = [c for c in store.claim_due(limit=1)]
    assert claim.client_id == sent.id
    store.record_outcomes([Outcome(claim.id, "sent", sent_at=clock())])
    for client in (sent, waiting):
        store.delete_client(client.id)
    again = store.create_client(phone(1))
    store.create_client(phone(2))
    rows = message_rows(store, mid)
    assert [(r["phone"], r["status"]) for r in rows] == [
        (phone(1), "sent"),
        (phone(2), "cancelled"),
    ]
    # The same for clients imported again in bulk, and for a later mailing, which
    # is a new mailing: it does reach the phone.
    store.delete_client(again.id)
    result = store.import_rows([(2, {"phone": phone(1), "tag": "", "timezone": "UTC"})])
    assert result.imported == 1
    assert len(message_rows(store, mid)) == 2
    later = live(store, clock)
    assert sorted(r["phone"] for r in message_rows(store, later)) == [phone(1), phone(2)]


def test_changed_tag_and_back_still_one_message(store: Store, clock: FakeClock) -> None:
    c = store.create_client(phone(1), "vip")
    mid = store.create_mailing(
        clock() - timedelta(minutes=1), clock() + timedelta(days=1), "hi", tags=["vip"]
    ).id
    store.materialize_due()
    store.update_client(c.id, tag="other")
    store.update_client(c.id, tag="vip")
    assert [(r["client_id"], r["status"]) for r in message_rows(store, mid)] == [(c.id, "pending")]
