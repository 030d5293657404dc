"""Opening the store for the daemon, telling "unusable" from "try again".

A supervisor restarts a daemon that failed; restarting cannot fix a store
that is not SQLite, has a newer schema, or cannot be written. Those raise
:class:`~notifier_tui.settings.errors.StoreUnusable` (exit status 78, which
the systemd unit lists in ``RestartPreventExitStatus``). A store that is only
busy (another connection holds the write lock) or a full disk raise as they
are: exit status 1, and a restart a little later may well succeed.
"""

from __future__ import annotations

import logging
import sqlite3

import peewee as pw

from notifier_tui.core.store import Store
from notifier_tui.core.store.sqlutil import execute
from notifier_tui.settings.config import Settings
from notifier_tui.settings.errors import StoreUnusable

log = logging.getLogger("notifier_tui.ops.daemon")

_TRANSIENT = ("database is locked", "database or disk is full", "disk i/o error")
"""SQLite errors a later start may not meet: another writer, a disk being cleaned up."""


def open_store(settings: Settings) -> Store:
    """Open ``settings.db`` and check that this process can write it.

    Raises:
        StoreUnusable: not an SQLite file, a schema newer than this program,
            read-only (file or directory permissions), or a path that cannot
            be created.
        sqlite3.OperationalError: the store is busy or the disk is full (transient).
    """
    path = settings.db
    try:
        store = Store(path, default_timezone=settings.default_timezone)
    except pw.DatabaseError as err:
        if _transient(err):
            raise
        raise StoreUnusable("db", f"{path} cannot be used: {err}") from None
    except RuntimeError as err:  # the schema is newer than this program
        raise StoreUnusable("db", f"{path}: {err}") from None
    except OSError as err:  # its directory cannot be created
        raise StoreUnusable("db", f"{path}: {err.strerror or err}") from None
    try:
        execute(store.db, "SELECT 1")  # connect in this thread, then probe
        _probe_write(store)
    except BaseException:
        store.close()
        raise
    return store


def _probe_write(store: Store) -> None:
    """Write a row with its own value and roll back: fails on a read-only store.

    ``BEGIN IMMEDIATE`` alone succeeds on a file opened read-only; only a
    statement that writes is refused. Rolled back, it leaves no trace, and
    other processes do not see a change.
    """
    db = store.db
    try:
        with db.atomic("IMMEDIATE") as txn:
            execute(db, "UPDATE meta SET value = value WHERE key = 'schema_version'")
            txn.rollback()
    except (pw.OperationalError, sqlite3.OperationalError) as err:
        if _transient(err):
            raise
        raise StoreUnusable("db", f"{store.path} cannot be written: {err}") from None


def _transient(err: BaseException) -> bool:
    text = str(err).lower()
    return any(marker in text for marker in _TRANSIENT)
