"""The audit trail on a real store file: who did what, append-only, no secrets."""

from __future__ import annotations

import getpass
import socket
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from notifier_tui.core.audit import MASK, Action, Surface, diff, scrub
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.store import Store
from tests.core.conftest import T0, FakeClock, phone


def actions(store: Store, **filters: object) -> list[str]:
    return [e.action for e in store.audit_entries(**filters)]  # type: ignore[arg-type]


def test_client_changes_record_old_and_new(store: Store) -> None:
    store.surface = "cli"
    c = store.create_client(phone(1), tag="a")
    store.update_client(c.id, tag="b")
    store.delete_client(c.id)
    created, updated, deleted = store.audit_entries()
    assert [created.action, updated.action, deleted.action] == [
        Action.CLIENT_CREATE,
        Action.CLIENT_UPDATE,
        Action.CLIENT_DELETE,
    ]
    assert updated.change == {"tag": {"old": "a", "new": "b"}}
    assert created.change["phone"] == {"old": None, "new": phone(1)}
    assert deleted.change["phone"] == {"old": phone(1), "new": None}
    assert (updated.object_kind, updated.object_id) == ("client", c.id)
    assert updated.surface == "cli"
    assert updated.os_user == getpass.getuser()
    assert updated.host == socket.gethostname()
    assert updated.describe_change() == 'tag: "a" -> "b"'


def test_mailing_lifecycle_is_recorded(store: Store, clock: FakeClock) -> None:
    m = store.create_mailing(T0 + timedelta(hours=1), T0 + timedelta(days=1), "hello")
    store.update_mailing(m.id, text="hello again", window="09:00-18:00")
    store.pause_mailing(m.id)
    store.resume_mailing(m.id)
    store.cancel_mailing(m.id)
    other = store.create_mailing(T0 + timedelta(hours=1), T0 + timedelta(days=1), "x")
    store.delete_mailing(other.id)
    assert actions(store, mailing_id=m.id) == [
        "mailing.create",
        "mailing.update",
        "mailing.pause",
        "mailing.resume",
        "mailing.cancel",
    ]
    update = store.audit_entries(mailing_id=m.id)[1]
    assert update.change == {
        "text": {"old": "hello", "new": "hello again"},
        "window": {"old": None, "new": "09:00-18:00"},
    }
    assert store.audit_entries(mailing_id=m.id)[2].change == {"paused": {"old": False, "new": True}}
    assert actions(store, mailing_id=other.id) == ["mailing.create", "mailing.delete"]


def test_imports_and_stop_list_record_counts(store: Store) -> None:
    store.import_rows([(2, {"phone": phone(1), "tag": "", "timezone": "UTC"})])
    store.stoplist_add([phone(1)])
    store.stoplist_remove([phone(1)])
    imported, added, removed = store.audit_entries()
    assert imported.action == "client.import"
    assert imported.change == {"imported": 1, "skipped": 0}
    assert added.change == {"phones": [phone(1)], "messages_cancelled": 0}
    assert removed.action == "stoplist.remove"


def test_a_refused_change_leaves_no_row(store: Store) -> None:
    with pytest.raises(ValidationError):
        store.create_client("123")
    with pytest.raises(ValidationError):
        store.stoplist_add(["nope"])
    assert store.audit_entries() == []


def test_append_only(store: Store, db_path: Path) -> None:
    store.create_client(phone(1))
    with sqlite3.connect(db_path) as other:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            other.execute("UPDATE audit_log SET os_user = 'someone else'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            other.execute("DELETE FROM audit_log")
    assert len(store.audit_entries()) == 1


def test_listeners_hear_after_the_audit_row_is_committed(store: Store, db_path: Path) -> None:
    seen: list[int] = []

    def listener() -> None:
        with sqlite3.connect(db_path) as other:
            seen.append(other.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0])

    store.add_listener(listener)
    store.create_client(phone(1))
    store.stoplist_add([phone(2)])
    assert seen == [1, 2]


def test_filters_since_and_limit(store: Store, clock: FakeClock) -> None:
    store.create_client(phone(1))
    clock.advance(hours=1)
    store.create_client(phone(2))
    store.create_client(phone(3))
    assert len(store.audit_entries(since=T0 + timedelta(minutes=30))) == 2
    newest = store.audit_entries(limit=1)
    assert newest[0].change["phone"]["new"] == phone(3)


def test_lease_take_over_is_recorded(store: Store, clock: FakeClock) -> None:
    store.surface = Surface.DAEMON
    assert store.acquire_lease("a", 1, "h1", "ui", ttl=5)
    assert store.acquire_lease("a", 1, "h1", "ui", ttl=5)  # renewing is not a take-over
    clock.advance(seconds=10)
    assert store.acquire_lease("b", 2, "h2", "daemon", ttl=5)
    (entry,) = store.audit_entries()
    assert entry.action == "lease.take_over"
    assert entry.surface == "daemon"
    assert entry.change == {"holder": {"old": "ui pid 1 on h1", "new": "daemon pid 2 on h2"}}


def test_diff_and_scrub() -> None:
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": {"old": 2, "new": 3}}
    change = scrub({"token": "s3cret", "nested": [{"smtp_password": "pw", "tag": "x"}]})
    assert change == {"token": MASK, "nested": [{"smtp_password": MASK, "tag": "x"}]}


def test_an_unknown_surface_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.surface = "web"


async def test_one_call_can_act_as_another_surface(store: Store) -> None:
    store.surface = Surface.DAEMON
    await store.run(store.acting_as, "api", store.create_client, phone(1))
    store.create_client(phone(2))
    assert [e.surface for e in store.audit_entries()] == ["api", "daemon"]
