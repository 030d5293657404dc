"""Where a store lives: what ``--db``, ``NOTIFIER_DB`` and the config's ``db`` may hold.

- a file path, as always: the SQLite store file;
- ``sqlite:///path/to/file.db`` (``sqlite:relative.db`` for a relative path);
- ``postgresql://user:password@host:port/dbname?libpq-params`` (``postgres://`` too).

The password of a URL is a secret: :meth:`StoreLocation.masked` and ``str()``
hide it, and only :meth:`StoreLocation.open_database` ever passes it on (to
libpq). Nothing here connects: the database returned connects on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import peewee as pw

from notifier_tui.core.secret import mask_url
from notifier_tui.core.store.dialect import PostgresStoreDatabase

__all__ = ["APPLICATION_NAME", "CONNECT_TIMEOUT", "StoreLocation", "sqlite_database"]

APPLICATION_NAME = "notifier-tui"
"""How the store's connections name themselves in ``pg_stat_activity``."""
CONNECT_TIMEOUT = 10
"""Seconds libpq waits for a server before giving up (unless the URL says otherwise)."""

_PG_SCHEMES = ("postgresql", "postgres")


def sqlite_database(path: Path | str) -> pw.SqliteDatabase:
    """A peewee database for the file at ``path`` with WAL, foreign keys and a busy timeout."""
    return pw.SqliteDatabase(
        str(path),
        pragmas={
            "journal_mode": "wal",
            # NORMAL is durable across a process crash in WAL mode; only an OS crash
            # can lose the last commits, and the sender resends by id anyway.
            "synchronous": "normal",
            "foreign_keys": 1,
            "busy_timeout": 10_000,
            "cache_size": -32_000,
        },
        timeout=10,
        check_same_thread=False,
    )


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """A parsed store location; ``str()`` is the masked form, safe to show."""

    kind: Literal["sqlite", "postgresql"]
    path: Path | None = None
    """The SQLite file (``kind == "sqlite"``)."""
    url: str | None = field(default=None, repr=False)
    """The PostgreSQL URL as given, password included: pass it on, never show it."""

    @classmethod
    def parse(cls, value: StoreLocation | Path | str) -> StoreLocation:
        """Read a ``--db`` value.

        Raises:
            ValueError: a URL of another scheme, or a ``sqlite://`` URL naming a host.
        """
        if isinstance(value, StoreLocation):
            return value
        if isinstance(value, Path):
            return cls("sqlite", path=value)
        text = value.strip()
        scheme, sep, rest = text.partition(":")
        scheme = scheme.lower()
        if not sep or len(scheme) < 2 or os.sep in scheme:
            # No scheme (a Windows drive letter is one letter): a plain path.
            return cls("sqlite", path=Path(os.path.expanduser(text)))
        if scheme in _PG_SCHEMES:
            parts = urlsplit(text)
            if not parts.path.strip("/") and "dbname=" not in parts.query:
                raise ValueError(f"{mask_url(text)}: the URL names no database")
            return cls("postgresql", url=text)
        if scheme == "sqlite":
            if rest.startswith("//"):
                netloc, _, path = rest[2:].partition("/")
                if netloc:
                    raise ValueError(f"{mask_url(text)}: sqlite URLs name no host (sqlite:///path)")
                rest = "/" + path.lstrip("/")
            if not rest:
                raise ValueError(f"{text}: the URL names no file")
            return cls("sqlite", path=Path(os.path.expanduser(unquote(rest))))
        if "://" in text:
            raise ValueError(
                f"{mask_url(text)}: a store is a file path, sqlite:///path or postgresql://..."
            )
        return cls("sqlite", path=Path(os.path.expanduser(text)))

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"

    def masked(self) -> str:
        """The location as it may be shown: the password of a URL masked."""
        if self.kind == "postgresql":
            return mask_url(self.url or "")
        return str(self.path)

    def __str__(self) -> str:
        return self.masked()

    def connect_params(self) -> tuple[str, dict[str, Any]]:
        """``(dbname, keyword parameters)`` for psycopg2, with our defaults added."""
        from psycopg2.extensions import parse_dsn

        try:
            params: dict[str, Any] = parse_dsn(self.url or "")
        except Exception:
            # libpq's message quotes the URL it could not read: show it masked.
            raise ValueError(f"{self.masked()}: not a valid PostgreSQL URL") from None
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        params.setdefault("application_name", APPLICATION_NAME)
        return str(params.pop("dbname", "")), params

    def open_database(self) -> pw.Database:
        """The peewee database for this location, unbound and not yet connected.

        SQLite gets WAL, foreign keys and a busy timeout (:func:`sqlite_database`).
        PostgreSQL gets :class:`~.dialect.PostgresStoreDatabase` with a connect
        timeout and an application name; peewee runs it in autocommit outside
        ``atomic()`` blocks, so a failed statement never leaves the connection
        in an aborted transaction (peewee's old ``autorollback`` is gone: this
        is its only mode now).
        """
        if self.kind == "postgresql":
            dbname, params = self.connect_params()
            return PostgresStoreDatabase(dbname, **params)
        assert self.path is not None
        return sqlite_database(self.path)
