"""Fixtures for the core tests: a real SQLite file in ``tmp_path`` and a clock we drive.

``store`` is that file, unless a test is marked :data:`both_backends`: then it
runs once on the file (id ``sqlite``) and once on a fresh, empty database of
the session's throwaway PostgreSQL server (id ``postgresql``, tests/pgfixtures.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier_tui.core.store import Store
from tests.backends import BACKENDS
from tests.fakeclock import FakeClock as _FakeClock

# A Monday in winter: no DST change anywhere near it in Europe or America.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock(_FakeClock):
    """The shared fake clock, starting at this suite's :data:`T0`."""

    def __init__(self, now: datetime = T0) -> None:
        super().__init__(now)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


both_backends = pytest.mark.parametrize("store", BACKENDS, indirect=True)
"""Run a test that takes ``store`` on SQLite and on PostgreSQL (ids ``sqlite``, ``postgresql``)."""


@pytest.fixture
def store(request: pytest.FixtureRequest, db_path: Path, clock: FakeClock) -> Iterator[Store]:
    backend = getattr(request, "param", "sqlite")
    # PostgreSQL: a new database per test on the one cluster the session starts.
    where = request.getfixturevalue("pg_url") if backend == "postgresql" else db_path
    s = Store(where, clock=clock, default_timezone="Europe/Moscow")
    yield s
    s.close()


@pytest.fixture
def raw(db_path: Path, store: Store) -> Iterator[sqlite3.Connection]:
    """A second, plain connection to the store's file: what another process would see."""
    assert db_path.exists(), "raw is a connection to the SQLite file: a SQLite-only test"
    conn = sqlite3.connect(db_path, isolation_level=None)
    yield conn
    conn.close()


def message_rows(store: Store, mailing_id: int | None = None) -> list[dict]:
    """Every message as a dict, ordered by id (reads the table directly)."""
    sql = (
        "SELECT id, mailing_id, client_id, phone, status, attempts, last_error,"
        " next_attempt_at, sent_at FROM message"
    )
    params: list[object] = []
    if mailing_id is not None:
        sql += " WHERE mailing_id = ?"
        params.append(mailing_id)
    cursor = store.db.execute_sql(sql + " ORDER BY id", params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def statuses(store: Store, mailing_id: int | None = None) -> dict[int | None, str]:
    """``{client_id: status}`` of the messages (of one mailing)."""
    return {r["client_id"]: r["status"] for r in message_rows(store, mailing_id)}


def phone(n: int) -> str:
    """A distinct valid phone for ``n`` (operator 900)."""
    return f"7900{n:07d}"
