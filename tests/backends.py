"""The store on each backend: one fixture, run once on SQLite and once on PostgreSQL.

tests/conftest.py registers this module as a plugin, so any test can ask for:

- ``backend`` (parametrised): ``"sqlite"`` or ``"postgresql"``;
- ``store_url``: where that backend's store lives for this test (a file in
  ``tmp_path``, or a fresh database on the throwaway server of tests/pgfixtures.py);
- ``backend_store``: a :class:`~notifier_tui.core.store.Store` opened there on
  the suite's fake clock (``clock`` from tests/core/conftest.py when present).

The PostgreSQL half is skipped where no PostgreSQL is installed (a failure on CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier_tui.core.store import Store
from tests.fakeclock import FakeClock

__all__ = ["backend", "backend_store", "store_url"]

BACKENDS = ("sqlite", "postgresql")
_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def backend_store(store_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    try:
        clock = request.getfixturevalue("clock")
    except pytest.FixtureLookupError:
        clock = FakeClock(_T0)
    store = Store(store_url, clock=clock, default_timezone="Europe/Moscow")
    try:
        yield store
    finally:
        store.close()
