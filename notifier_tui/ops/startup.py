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

from notifier_tui.core.secret import mask_url
from notifier_tui.core.store import Store
from notifier_tui.core.store.sqlutil import execute
from notifier_tui.settings.config import Settings
from notifier_tui.settings.errors import StoreUnusable
from notifier_tui.settings.exit_codes import Exit, classify

log = logging.getLogger("notifier_tui.ops.daemon")


def open_store(settings: Settings) -> Store:
    """Open ``settings.db`` and check that this process can write it.

    Raises:
        StoreUnusable: not an SQLite file, a schema newer than this program,
            read-only (file or directory permissions), damaged, or a path that
            cannot be created.
        Exception: anything else as it came, for :func:`classify` to judge
            (the store busy, the disk full: transient).
    """
    location = settings.db
    path = mask_url(str(location))  # what messages show: a URL's password masked
    try:
        store = Store(location, default_timezone=settings.default_timezone, surface="daemon")
    except RuntimeError as err:  # the schema is newer than this program
        raise StoreUnusable("db", f"{path}: {err}") from None
    except ValueError as err:  # int() of a corrupt schema-version row
        raise StoreUnusable("db", f"{path}: its schema version is unreadable ({err})") from None
    except Exception as err:
        raise _unusable(err, path) from None
    try:
        execute(store.db, "SELECT 1")  # connect in this thread, then probe
        _probe_write(store)
    except Exception as err:
        store.close()
        raise _unusable(err, path) from None
    return store


def _probe_write(store: Store) -> None:
    """Write a row with its own value and roll back: fails on a read-only store.

    ``BEGIN IMMEDIATE`` alone succeeds on a file opened read-only; only a
    statement that writes is refused. Rolled back, it leaves no trace, and
    other processes do not see a change.
    """
    db = store.db
    with db.atomic("IMMEDIATE") as txn:
        execute(db, "UPDATE meta SET value = value WHERE key = 'schema_version'")
        txn.rollback()


def _unusable(err: Exception, path: str) -> Exception:
    """``err`` as StoreUnusable when the setup is at fault, else ``err`` itself."""
    failure = classify(err)
    if failure.code == Exit.CONFIG:
        return StoreUnusable("db", f"{path}: {failure.message.removeprefix('db: ')} ({err})")
    return err
