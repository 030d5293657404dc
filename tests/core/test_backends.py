"""The store's invariants on both backends: SQLite and a real PostgreSQL 15 server.

Every test here runs twice through ``backend_store`` (tests/backends.py); the
ones about concurrent claimers run two connections at once (peewee gives each
thread its own), which on PostgreSQL is what two sender processes do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import peewee as pw
import pytest

from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store import Store, dialect
from notifier_tui.core.store.schema import SCHEMA_VERSION
from notifier_tui.core.store.sqlutil import execute
from tests.core.conftest import T0, FakeClock, message_rows, phone

END = T0 + timedelta(hours=2)


def _fill(store: Store, clients: int, **mailing: object) -> int:
    for n in range(clients):
        store.create_client(phone(n), tag="t")
    m = store.create_mailing(T0, END, "hello", tags=["t"], **mailing)  # type: ignore[arg-type]
    store.materialize_due(T0)
    return m.id


def _sent(claim_id: int) -> Outcome:
    return Outcome(claim_id, MessageStatus.SENT, charge=True, sent_at=T0)


def test_schema_is_current_on_both(backend_store: Store) -> None:
    row = execute(backend_store.db, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert int(row.fetchone()[0]) == SCHEMA_VERSION
    assert "claim_expires_at" in dialect.columns(backend_store.db, "message")


def test_one_message_id_per_client(backend_store: Store) -> None:
    mid = _fill(backend_store, 20)
    # A second pass, and a client added later, never duplicate a message.
    backend_store.materialize_due(T0)
    backend_store.create_client(phone(99), tag="t")
    rows = message_rows(backend_store, mid)
    per_client = Counter(r["client_id"] for r in rows)
    assert len(rows) == 21 and set(per_client.values()) == {1}
    assert len({r["id"] for r in rows}) == 21


def test_concurrent_claimers_never_share_a_message(backend_store: Store) -> None:
    """Two connections claim at once until nothing is left: disjoint, complete."""
    mid = _fill(backend_store, 300)
    got: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2, timeout=10)

    def claimer(name: str) -> None:
        try:
            start.wait()
            for _ in range(200):  # bounded: 300 messages, 7 a claim, two claimers
                claims = backend_store.claim_due(T0, 7)
                if not claims:
                    return
                got[name] += [c.id for c in claims]
        except BaseException as err:  # reported in the main thread
            errors.append(err)
        finally:
            backend_store.db.close()  # this thread's own connection

    threads = [threading.Thread(target=claimer, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert not set(got["a"]) & set(got["b"])
    all_ids = {r["id"] for r in message_rows(backend_store, mid)}
    assert sorted(got["a"] + got["b"]) == sorted(all_ids)


def test_rows_another_claimer_holds_are_skipped(backend_store: Store, backend: str) -> None:
    """While one claim's transaction is open, another claims other rows without waiting."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second claim waits instead")
    _fill(backend_store, 10)
    other: list[int] = []
    with backend_store.db.atomic():
        first = [c.id for c in backend_store.claim_due(T0, 4)]

        def claim() -> None:
            try:
                other.extend(c.id for c in backend_store.claim_due(T0, 100))
            finally:
                backend_store.db.close()

        t = threading.Thread(target=claim)
        t.start()
        t.join(timeout=20)
        assert not t.is_alive()
    assert len(first) == 4 and len(other) == 6
    assert not set(first) & set(other)


def test_expired_claims_go_back_with_the_same_id(backend_store: Store, clock: FakeClock) -> None:
    _fill(backend_store, 5)
    backend_store.set_claimant("worker-a", ttl=30)
    claimed = sorted(c.id for c in backend_store.claim_due(T0, 10))
    rows = {r["id"]: r for r in message_rows(backend_store)}
    assert {rows[i]["status"] for i in claimed} == {"sending"}
    owners = execute(backend_store.db, "SELECT DISTINCT claim_owner FROM message").fetchall()
    assert owners == [("worker-a",)]

    # Not yet expired: nothing is given back; renewing pushes the expiry on.
    assert backend_store.expire_claims(T0 + timedelta(seconds=29)) == []
    assert backend_store.renew_claims(T0 + timedelta(seconds=20)) == 5
    assert backend_store.expire_claims(T0 + timedelta(seconds=49)) == []
    given_back = backend_store.expire_claims(T0 + timedelta(seconds=50))
    assert sorted(given_back) == claimed
    assert {r["status"] for r in message_rows(backend_store)} == {"pending"}

    # Another worker takes them again: the same ids, and the first worker's late
    # outcome no longer lands on a claim that is not its own.
    backend_store.set_claimant("worker-b")
    again = sorted(c.id for c in backend_store.claim_due(T0 + timedelta(seconds=51), 10))
    assert again == claimed
    backend_store.set_claimant("worker-a")
    assert backend_store.record_outcomes([_sent(i) for i in again]) == 0
    backend_store.set_claimant("worker-b")
    assert backend_store.record_outcomes([_sent(i) for i in again]) == 5
    assert {r["status"] for r in message_rows(backend_store)} == {"sent"}


def test_ids_are_never_reused_after_delete(backend_store: Store) -> None:
    mid = _fill(backend_store, 3)
    top_message = max(r["id"] for r in message_rows(backend_store))
    top_client = max(c.id for c in backend_store.list_clients())
    backend_store.delete_mailing(mid)
    for c in backend_store.list_clients():
        backend_store.delete_client(c.id)
    c = backend_store.create_client(phone(50), tag="t")
    m = backend_store.create_mailing(T0, END, "again", tags=["t"])
    assert c.id > top_client and m.id > mid
    backend_store.materialize_due(T0)
    assert min(r["id"] for r in message_rows(backend_store)) > top_message


def test_pause_then_cancel_finalises(backend_store: Store) -> None:
    mid = _fill(backend_store, 4)
    backend_store.pause_mailing(mid)
    assert backend_store.claim_due(T0, 10) == []
    backend_store.resume_mailing(mid)
    first = backend_store.claim_due(T0, 1)
    assert len(first) == 1
    backend_store.cancel_mailing(mid)
    backend_store.finalize(T0)  # cancelling may already have finalised the pending ones
    assert backend_store.claim_due(T0, 10) == []
    assert backend_store.record_outcomes([_sent(first[0].id)]) == 1
    statuses = Counter(r["status"] for r in message_rows(backend_store, mid))
    assert statuses == {"cancelled": 3, "sent": 1}
    assert backend_store.open_messages() == 0


def test_end_expires_what_was_not_sent(backend_store: Store) -> None:
    mid = _fill(backend_store, 3)
    assert backend_store.claim_due(END, 10) == []  # nothing is claimed at or after the end
    assert len(backend_store.finalize(END)["expired"]) == 3
    assert {r["status"] for r in message_rows(backend_store, mid)} == {"expired"}


def test_search_stop_list_and_stats_read_alike(backend_store: Store) -> None:
    mid = _fill(backend_store, 3)
    change = backend_store.stoplist_add([phone(1)])
    assert backend_store.stoplist_count() == 1, change
    statuses = Counter(r["status"] for r in message_rows(backend_store, mid))
    assert statuses == {"pending": 2, "cancelled": 1}
    assert [c.phone for c in backend_store.list_clients(phone(2)[-4:])] == [phone(2)]
    detail = backend_store.mailing_stats(mid, offset=1)
    assert detail.matching == 3 and len(detail.messages) == 2
    overall = backend_store.overall_stats()
    assert len(overall.mailings) == 1 and overall.total == 3


def test_the_audit_log_refuses_changes(backend_store: Store) -> None:
    backend_store.create_client(phone(1))
    with pytest.raises(pw.DatabaseError), backend_store.db.atomic():
        execute(backend_store.db, "DELETE FROM audit_log")


def test_a_lease_has_one_holder(backend_store: Store) -> None:
    assert backend_store.acquire_lease("a", 1, "h", "daemon", 10.0, T0)
    assert not backend_store.acquire_lease("b", 2, "h", "daemon", 10.0, T0)
    assert backend_store.acquire_lease("b", 2, "h", "daemon", 10.0, T0 + timedelta(seconds=11))
    holder = backend_store.lease_holder(10.0, T0 + timedelta(seconds=11))
    assert holder is not None and holder.owner == "b"


def test_the_two_schemas_have_the_same_tables_and_columns(tmp_path: Path, pg_url: str) -> None:
    shapes = []
    for where in (f"sqlite:///{tmp_path / 's.db'}", pg_url):
        store = Store(where)
        try:
            names = dialect.tables(store.db)
            shapes.append({t: dialect.columns(store.db, t) for t in names})
        finally:
            store.close()
    assert shapes[0] == shapes[1]


def test_import_rows_on_both(backend_store: Store) -> None:
    """The staged import (temporary tables, one merge) and its row errors."""
    mid = _fill(backend_store, 2)  # a live mailing: imported clients join it (rule 2)
    rows = [(i + 2, {"phone": phone(100 + i), "tag": "t", "timezone": "UTC"}) for i in range(50)]
    rows.append((52, {"phone": phone(100), "tag": "t", "timezone": "UTC"}))  # repeats line 2
    rows.append((53, {"phone": phone(0), "tag": "t", "timezone": "UTC"}))  # already a client
    result = backend_store.import_rows(rows, skip_invalid=True)
    assert result.imported == 50
    assert [line for line, _ in result.errors] == [52, 53]
    assert backend_store.count_clients() == 52
    assert len(message_rows(backend_store, mid)) == 52


def test_a_test_send_id_is_never_a_message_id(backend_store: Store) -> None:
    mid = _fill(backend_store, 2)
    taken = backend_store.reserve_test_send_id()
    assert taken > max(r["id"] for r in message_rows(backend_store))
    backend_store.create_client(phone(9), tag="t")  # joins the live mailing: a new message
    assert min(r["id"] for r in message_rows(backend_store, mid) if r["client_id"]) < taken
    assert max(r["id"] for r in message_rows(backend_store)) > taken
    assert backend_store.reserve_test_send_id() > taken
    assert backend_store.audit_entries()  # the audit trail reads back on both


def test_every_kind_of_outcome_is_written_alike(backend_store: Store) -> None:
    mid = _fill(backend_store, 4)
    a, b, c, d = backend_store.claim_due(T0, 4)
    retry_at = T0 + timedelta(minutes=5)
    changed = backend_store.record_outcomes(
        [
            Outcome(a.id, MessageStatus.SENT, sent_at=T0),
            Outcome(
                b.id,
                MessageStatus.FAILED,
                last_error="HTTP 400 bad phone",
                error_class=ErrorClass.HTTP_4XX,
            ),
            Outcome(
                c.id,
                MessageStatus.PENDING,
                last_error="HTTP 503",
                error_class=ErrorClass.HTTP_5XX,
                next_attempt_at=retry_at,
            ),
            Outcome(d.id, MessageStatus.PENDING, charge=False),  # handed back, costs nothing
        ]
    )
    assert changed == 4
    rows = {r["id"]: r for r in message_rows(backend_store, mid)}
    assert (rows[a.id]["status"], rows[a.id]["sent_at"], rows[a.id]["attempts"]) == (
        "sent",
        T0.timestamp(),
        1,
    )
    assert (rows[b.id]["status"], rows[b.id]["last_error"]) == ("failed", "HTTP 400 bad phone")
    assert rows[c.id]["next_attempt_at"] == retry_at.timestamp() and rows[c.id]["attempts"] == 1
    assert (rows[d.id]["status"], rows[d.id]["attempts"], rows[d.id]["last_error"]) == (
        "pending",
        0,
        None,
    )
    classes = dict(
        execute(
            backend_store.db, "SELECT id, error_class FROM message WHERE mailing_id = ?", (mid,)
        )
    )
    assert classes[b.id] == ErrorClass.HTTP_4XX.value and classes[c.id] == ErrorClass.HTTP_5XX.value
    # Written again, an outcome finds no claim (the row is no longer sending).
    assert backend_store.record_outcomes([_sent(a.id)]) == 0


def test_data_version_sees_another_connections_commit(backend_store: Store) -> None:
    before = backend_store.data_version()

    def other() -> None:
        try:
            backend_store.create_client(phone(77))
        finally:
            backend_store.db.close()

    t = threading.Thread(target=other)
    t.start()
    t.join(timeout=20)
    assert backend_store.data_version() != before


_CLAIMER = """
import json, sys
from datetime import datetime
from notifier_tui.core.store import Store
now = datetime.fromisoformat(sys.argv[2])
store = Store(sys.argv[1], clock=lambda: now)
store.set_claimant("child")
store.open_messages()  # connected and migrated: now wait for the start
print("ready", flush=True)
sys.stdin.readline()
got = []
for _ in range(500):
    claims = store.claim_due(now, 5)
    if not claims:
        break
    got += [c.id for c in claims]
store.close()
print(json.dumps(got))
"""


def test_two_processes_claim_disjoint_messages(pg_url: str) -> None:
    """Another process, its own connection and owner, claims beside this one on PostgreSQL."""
    store = Store(pg_url, clock=lambda: T0)
    try:
        mid = _fill(store, 400)
        store.set_claimant("parent")
        child = subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, pg_url, T0.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        mine: list[int] = []
        for _ in range(500):
            claims = store.claim_due(T0, 5)
            if not claims:
                break
            mine += [c.id for c in claims]
        out, _ = child.communicate(timeout=60)
        theirs = json.loads(out)
        assert child.returncode == 0
        assert mine and theirs  # both took part
        assert not set(mine) & set(theirs)
        assert sorted(mine + theirs) == sorted(r["id"] for r in message_rows(store, mid))
        owners = dict(
            execute(store.db, "SELECT claim_owner, COUNT(*) FROM message GROUP BY claim_owner")
        )
        assert owners == {"parent": len(mine), "child": len(theirs)}
    finally:
        store.close()
