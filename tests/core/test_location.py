"""Where a store lives: paths and URLs, and the password never shown."""

from __future__ import annotations

from pathlib import Path

import peewee as pw
import pytest

from notifier_tui.core.store import Store
from notifier_tui.core.store.location import APPLICATION_NAME, StoreLocation

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ("/var/lib/n/store.db", Path("/var/lib/n/store.db")),
        ("store.db", Path("store.db")),
        ("sqlite:///var/lib/n/store.db", Path("/var/lib/n/store.db")),
        ("sqlite:////var/lib/n/store.db", Path("/var/lib/n/store.db")),
        ("sqlite:relative/store.db", Path("relative/store.db")),
        ("sqlite:///tmp/with%20space.db", Path("/tmp/with space.db")),
        (Path("/x/y.db"), Path("/x/y.db")),
    ],
)
def test_sqlite_locations(given: str | Path, path: Path) -> None:
    loc = StoreLocation.parse(given)
    assert loc.kind == "sqlite" and loc.path == path
    assert isinstance(loc.open_database(), pw.SqliteDatabase)


def test_a_postgresql_url_is_masked_everywhere_it_shows() -> None:
    url = f"postgresql://alice:{SECRET}@db.example:5433/notifier?sslmode=require"
    loc = StoreLocation.parse(url)
    assert loc.kind == "postgresql" and loc.path is None
    for shown in (loc.masked(), str(loc), repr(loc), f"{loc}"):
        assert SECRET not in shown
    assert loc.masked() == "postgresql://alice:********@db.example:5433/notifier?sslmode=require"
    dbname, params = loc.connect_params()
    assert dbname == "notifier"
    assert params["password"] == SECRET and params["sslmode"] == "require"
    assert params["application_name"] == APPLICATION_NAME and int(params["connect_timeout"]) > 0


def test_url_parameters_win_over_the_defaults() -> None:
    loc = StoreLocation.parse("postgres://u@h/d?connect_timeout=3&application_name=mine")
    _, params = loc.connect_params()
    assert params["connect_timeout"] == "3" and params["application_name"] == "mine"


@pytest.mark.parametrize(
    "bad", ["mysql://u:pw@h/d", "sqlite://host/file.db", f"postgresql://u:{SECRET}@h"]
)
def test_bad_locations_are_refused_without_the_password(bad: str) -> None:
    with pytest.raises(ValueError) as err:
        StoreLocation.parse(bad)
    assert SECRET not in str(err.value)


def test_a_store_that_cannot_connect_does_not_show_the_password() -> None:
    # Port 1 on localhost: nothing listens, libpq fails at once.
    url = f"postgresql://alice:{SECRET}@127.0.0.1:1/notifier?connect_timeout=2"
    with pytest.raises(pw.OperationalError) as err:
        Store(url)
    assert SECRET not in str(err.value)
    assert SECRET not in repr(err.value)


def test_store_opens_a_postgresql_url(pg_url: str) -> None:
    store = Store(pg_url)
    try:
        assert store.location.is_postgres
        assert store.create_client("79001234567").id == 1
        app = store.db.execute_sql("SELECT current_setting('application_name')").fetchone()[0]
        assert app == APPLICATION_NAME
    finally:
        store.close()
