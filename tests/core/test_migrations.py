"""Schema versions: new files, reopening, upgrading old stores, refusing newer ones."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from notifier_tui.core.store import Store
from notifier_tui.core.store import schema as tables
from tests.core.conftest import FakeClock, phone


def version_of(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0])


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def test_migrations_cover_every_version() -> None:
    assert len(tables.MIGRATIONS) == tables.SCHEMA_VERSION


def test_new_file_gets_current_version(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "deep" / "dir" / "new.db"
    store = Store(path, clock=clock)
    store.close()
    assert version_of(path) == tables.SCHEMA_VERSION
    assert {"meta", "client", "mailing", "message", "lease", "report_log"} <= table_names(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopen_is_a_no_op(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "s.db"
    store = Store(path, clock=clock)
    store.create_client(phone(1), "a")
    store.close()
    with sqlite3.connect(path) as conn:
        schema_before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    store = Store(path, clock=clock)
    try:
        assert [c.phone for c in store.list_clients()] == [phone(1)]
        assert tables.migrate(store.db) == tables.SCHEMA_VERSION
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == (
            schema_before
        )
    assert version_of(path) == tables.SCHEMA_VERSION


def make_v1_store(path: Path) -> None:
    """A store as version 1 of the program left it, with a client in it."""
    db = tables.make_database(path)
    db.bind(tables.MODELS, bind_refs=False, bind_backrefs=False)
    db.connect()
    with db.atomic():
        tables.MIGRATIONS[0](db)
        tables.Meta.replace(key="schema_version", value="1").execute()
    db.execute_sql(
        "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
        " VALUES (?, '900', 'old', 'UTC', 0)",
        (phone(7),),
    )
    db.close()


def test_version_1_store_migrates_keeping_data(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "v1.db"
    make_v1_store(path)
    assert version_of(path) == 1
    assert "report_log" not in table_names(path)
    store = Store(path, clock=clock)
    try:
        assert [(c.phone, c.tag) for c in store.list_clients()] == [(phone(7), "old")]
        store.create_client(phone(8))
        assert store.count_clients() == 2
    finally:
        store.close()
    assert version_of(path) == tables.SCHEMA_VERSION
    assert "report_log" in table_names(path)


def test_newer_store_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "future.db"
    Store(path, clock=clock).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'",
            (str(tables.SCHEMA_VERSION + 1),),
        )
    with pytest.raises(RuntimeError) as err:
        Store(path, clock=clock)
    message = str(err.value)
    assert f"schema {tables.SCHEMA_VERSION + 1}" in message
    assert "newer than this program" in message
    assert "upgrade" in message
    # Refusing did not touch the file.
    assert version_of(path) == tables.SCHEMA_VERSION + 1


def test_migrate_rechecks_the_version_under_the_lock(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes open a new file together: the second must not redo the first's steps."""
    path = tmp_path / "s.db"
    Store(path, clock=clock).close()  # the other process finished migrating
    db = tables.make_database(path)
    db.bind(tables.MODELS, bind_refs=False, bind_backrefs=False)
    db.connect()
    ran: list[int] = []

    def step(index: int) -> Callable[[object], None]:
        return lambda _db: ran.append(index)

    monkeypatch.setattr(tables, "MIGRATIONS", tuple(step(i) for i in range(tables.SCHEMA_VERSION)))
    real = tables.schema_version
    stale = [0]  # what this process read before the other one committed

    def schema_version(database: object) -> int:
        return stale.pop() if stale else real(database)

    monkeypatch.setattr(tables, "schema_version", schema_version)
    try:
        assert tables.migrate(db) == tables.SCHEMA_VERSION
    finally:
        db.close()
    assert ran == []
    assert version_of(path) == tables.SCHEMA_VERSION


def test_concurrent_first_opens(tmp_path: Path) -> None:
    """Several processes creating the same store at once all succeed."""
    path = tmp_path / "race.db"
    code = (
        "import sys; from notifier_tui.core.store.facade import Store; "
        "s = Store(sys.argv[1]); s.count_clients(); s.close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    assert version_of(path) == tables.SCHEMA_VERSION


def make_v2_store(path: Path, errors: list[str | None]) -> None:
    """A store as version 2 left it: one mailing, one message per ``last_error``."""
    db = tables.make_database(path)
    db.bind(tables.MODELS, bind_refs=False, bind_backrefs=False)
    db.connect()
    with db.atomic():
        tables.MIGRATIONS[0](db)
        tables.MIGRATIONS[1](db)
        tables.set_meta(db, "schema_version", "2")
    db.execute_sql(
        "INSERT INTO mailing (start_at, end_at, text, operator_codes, tags, paused, cancelled,"
        " created_at, updated_at) VALUES (0, 10, 'x', '[]', '[]', 0, 0, 0, 0)"
    )
    for n, error in enumerate(errors):
        db.execute_sql(
            "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
            " VALUES (?, '900', '', 'UTC', 0)",
            (phone(n),),
        )
        db.execute_sql(
            "INSERT INTO message (mailing_id, client_id, phone, status, created_at, attempts,"
            " last_error, next_attempt_at) VALUES (1, ?, ?, 'failed', 0, 1, ?, 0)",
            (n + 1, phone(n), error),
        )
    db.close()


def test_version_2_store_gets_error_classes_from_its_texts(
    tmp_path: Path, clock: FakeClock
) -> None:
    texts = {
        None: None,
        "HTTP 500": "http_5xx",
        "HTTP 429": "http_429",
        "HTTP 404: no such route": "http_4xx",
        "HTTP 401": "credentials",
        "HTTP 403: forbidden": "credentials",
        "timeout": "timeout",
        "connect error: connection refused": "connect",
        "connection reset": "connect",
        "bad answer: code 1": "bad_answer",
        "bad gateway URL": "other",
        "not sent before end": "not_sent_before_end",
        "send window opens only after the mailing ends": "window_after_end",
        "client deleted": "client_deleted",
        "client no longer matches": "client_no_longer_matches",
        "mailing cancelled": "mailing_cancelled",
    }
    path = tmp_path / "v2.db"
    make_v2_store(path, list(texts))
    store = Store(path, clock=clock)
    try:
        got = dict(store.db.execute_sql("SELECT last_error, error_class FROM message ORDER BY id"))
        assert got == texts
    finally:
        store.close()
    assert version_of(path) == tables.SCHEMA_VERSION


def schema_of(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    return [(name, sql) for name, sql in rows]


def test_upgraded_and_new_stores_have_one_schema(tmp_path: Path, clock: FakeClock) -> None:
    make_v1_store(tmp_path / "old.db")
    Store(tmp_path / "old.db", clock=clock).close()
    Store(tmp_path / "new.db", clock=clock).close()
    assert schema_of(tmp_path / "old.db") == schema_of(tmp_path / "new.db")


def test_models_match_the_migrated_tables(tmp_path: Path, clock: FakeClock) -> None:
    """The frozen DDL of the steps and the peewee models describe the same columns."""
    path = tmp_path / "s.db"
    Store(path, clock=clock).close()
    with sqlite3.connect(path) as conn:
        for model in tables.MODELS:
            name = model._meta.table_name
            columns = {row[1]: row for row in conn.execute(f'PRAGMA table_info("{name}")')}
            fields = {f.column_name: f for f in model._meta.sorted_fields}
            assert set(columns) == set(fields), name
            for column, field in fields.items():
                not_null = bool(columns[column][3]) or bool(columns[column][5])
                assert not_null == (not field.null), (name, column)
