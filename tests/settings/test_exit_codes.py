"""settings/exit_codes.classify on real errors: one status per class of failure (issue 9.12)."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifier_tui.core.errors import ConflictError, NotFoundError, ValidationError
from notifier_tui.core.store import Store
from notifier_tui.settings.errors import ConfigError, StoreUnusable
from notifier_tui.settings.exit_codes import Exit, classify, exit_code


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "s.db", default_timezone="UTC")
    try:
        yield s
    finally:
        s.close()


def test_disk_full_is_transient_and_says_so(store: Store) -> None:
    store.create_client("79000000001")
    pages = store.db.execute_sql("PRAGMA page_count").fetchone()[0]
    store.db.execute_sql(f"PRAGMA max_page_count = {pages + 1}")  # a real SQLITE_FULL
    with pytest.raises(Exception) as caught:
        for i in range(5000):
            store.create_client(f"7900{i + 2:07d}", tag="x" * 60)
    # What surfaces is the failed rollback; the full disk is behind it.
    failure = classify(caught.value)
    assert failure.code == Exit.ERROR and failure.expected
    assert failure.message.startswith("db: disk full")
    assert "rollback" not in failure.message


def test_read_only_store_is_setup(store: Store) -> None:
    store.db.execute_sql("PRAGMA query_only = 1")  # SQLite answers SQLITE_READONLY
    with pytest.raises(Exception) as caught:
        store.create_client("79000000001")
    assert classify(caught.value).code == Exit.CONFIG
    assert classify(caught.value).message == "db: the store is read-only"


def test_busy_store_is_transient(tmp_path: Path, store: Store) -> None:
    holder = sqlite3.connect(store.path, timeout=0)
    other = sqlite3.connect(store.path, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("BEGIN IMMEDIATE")
    finally:
        holder.close()
        other.close()
    failure = classify(caught.value)
    assert (failure.code, failure.expected) == (Exit.ERROR, True)
    assert "busy" in failure.message


def test_not_a_database_is_setup(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(Exception) as caught:
        Store(path)
    assert classify(caught.value).code == Exit.CONFIG


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (ValidationError("phone", "bad"), Exit.USAGE, "phone: bad"),
        (ConflictError("phone", "taken"), Exit.USAGE, "phone: taken"),
        (NotFoundError("client", 7), Exit.USAGE, "client: no client with id 7"),
        (
            ConfigError("/c.toml: timeout", "must be positive"),
            Exit.CONFIG,
            "/c.toml: timeout: must be positive",
        ),
        (StoreUnusable("db", "cannot open x:\nnewer"), Exit.CONFIG, "db: cannot open x: newer"),
        (OSError(errno.ENOSPC, "No space left on device"), Exit.ERROR, None),
        (
            PermissionError(errno.EACCES, "Permission denied", "/var/x"),
            Exit.CONFIG,
            "file: cannot use /var/x: Permission denied",
        ),
        (KeyboardInterrupt(), Exit.INTERRUPTED, "interrupted"),
    ],
)  # fmt: skip
def test_known_failures(exc: BaseException, code: Exit, message: str | None) -> None:
    failure = classify(exc)
    assert failure.code == code and failure.expected
    assert exit_code(exc) == code
    if message is not None:
        assert failure.message == message
    else:
        assert failure.message.startswith("db: disk full")


def test_anything_else_is_unexpected() -> None:
    failure = classify(RuntimeError("boom\nsecond line"))
    assert (failure.code, failure.expected, failure.message) == (
        Exit.ERROR,
        False,
        "RuntimeError: boom second line",
    )
