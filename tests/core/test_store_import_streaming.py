"""A big import streams through a staging table and holds the write lock only at the end."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from notifier_tui.core.errors import ConflictError, RowErrors
from notifier_tui.core.store import Store, imports
from tests.core.conftest import FakeClock, message_rows, phone


def rows(n: int, start: int = 0) -> Iterator[tuple[int, dict[str, str]]]:
    for i in range(start, start + n):
        yield i + 2, {"phone": phone(i), "tag": "t", "timezone": "UTC"}


def count(store: Store) -> int:
    return int(store.db.execute_sql("SELECT COUNT(*) FROM client").fetchone()[0])


def test_other_writers_are_not_blocked_while_rows_are_staged(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "STAGE_CHUNK", 100)
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    wrote: list[int] = []

    def feed() -> Iterator[tuple[int, dict[str, str]]]:
        for n, item in enumerate(rows(1_000)):
            if n in (150, 750):  # several chunks are staged by now
                # Another process takes the write lock at once (no waiting allowed).
                other.execute("BEGIN IMMEDIATE")
                other.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (f"probe{n}",))
                other.execute("COMMIT")
                wrote.append(n)
                # ...and nothing of the import is visible to it yet.
                assert other.execute("SELECT COUNT(*) FROM client").fetchone()[0] == 0
            yield item

    result = store.import_rows(feed())
    other.close()
    assert (result.imported, wrote) == (1_000, [150, 750])
    assert count(store) == 1_000
    # The staging table is gone: a second import starts clean.
    assert store.import_rows(rows(5, start=5_000)).imported == 5


def test_bad_rows_across_chunks_write_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "STAGE_CHUNK", 7)
    store.create_client(phone(40))
    items = list(rows(60))
    items[10] = (12, {"phone": "nope", "tag": "", "timezone": "UTC"})
    items[55] = (57, {"phone": phone(3), "tag": "", "timezone": "UTC"})  # repeats line 5
    with pytest.raises(RowErrors) as err:
        store.import_rows(items)
    lines = [line for line, _ in err.value.errors]
    assert lines == [12, 42, 57]
    assert "repeats line 5" in str(err.value.errors[2][1])
    assert "already exists" in str(err.value.errors[1][1])
    assert count(store) == 1
    # Skipping them imports the rest, in file order.
    result = store.import_rows(items, skip_invalid=True)
    assert (result.imported, [line for line, _ in result.errors]) == (57, [12, 42, 57])
    ids = store.db.execute_sql("SELECT phone FROM client ORDER BY id").fetchall()
    assert [p for (p,) in ids][1:4] == [phone(0), phone(1), phone(2)]


def test_a_phone_added_meanwhile_fails_the_whole_import(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store.importer._conflicts

    def then_another_process_adds_one() -> list:  # type: ignore[type-arg]
        found = real()
        with sqlite3.connect(db_path, isolation_level=None) as other:
            other.execute(
                "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
                " VALUES (?, '900', '', 'UTC', 0)",
                (phone(3),),
            )
        return found

    monkeypatch.setattr(store.importer, "_conflicts", then_another_process_adds_one)
    with pytest.raises(ConflictError) as err:
        store.import_rows(rows(10))
    assert "another process" in str(err.value)
    assert count(store) == 1  # only the other process's client


def test_imported_clients_join_live_mailings(store: Store, clock: FakeClock) -> None:
    store.create_client(phone(100), "t")
    m = store.create_mailing(clock() - timedelta(minutes=1), clock() + timedelta(hours=1), "x")
    store.materialize_due()
    store.import_rows(rows(20))
    assert len(message_rows(store, m.id)) == 21
