"""Peewee models, database setup and schema migrations.

Models are bound to a database at run time by :func:`open_database`; nothing
connects at import time. Instants are stored as UTC epoch seconds (REAL on
SQLite, DOUBLE PRECISION on PostgreSQL), so comparisons in SQL are plain
number comparisons and no timezone ever leaks into the store.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import peewee as pw

from notifier_tui.core.store import dialect, pgschema
from notifier_tui.core.store.location import StoreLocation, sqlite_database
from notifier_tui.core.store.migrations import MIGRATIONS
from notifier_tui.core.store.sqlutil import execute

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "open_database", "schema_version"]

SCHEMA_VERSION = 7
# The stop_list, audit_log and mailing_client tables (version 6) are read and
# written in SQL by core/store/stoplist.py, audit.py and campaign.py.


class UtcField(pw.FloatField):
    """An aware datetime stored as UTC epoch seconds."""

    def db_value(self, value: datetime | float | None) -> float | None:
        if value is None or isinstance(value, int | float):
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        return value.timestamp()

    def python_value(self, value: float | None) -> datetime | None:
        return None if value is None else datetime.fromtimestamp(value, UTC)


class MonotonicIdField(pw.AutoField):
    """An id never handed out twice, even after its row is deleted.

    AUTOINCREMENT on SQLite (plain INTEGER PRIMARY KEY reuses the largest id
    once that row is gone); on PostgreSQL peewee's AutoField is already a
    sequence, which never goes back. The tables themselves are built by the
    frozen DDL of :mod:`.migrations`; this says the same for anything that
    builds them from the models.
    """

    def ddl(self, ctx: Any) -> Any:
        nodes = super().ddl(ctx)
        if isinstance(self.model._meta.database, pw.SqliteDatabase):
            return pw.NodeList((nodes, pw.SQL("AUTOINCREMENT")))
        return nodes


class BaseModel(pw.Model):
    class Meta:
        database = None
        legacy_table_names = False


class Meta(BaseModel):
    """Key/value facts about the store itself (schema version, last report day)."""

    key = pw.CharField(primary_key=True)
    value = pw.TextField()


class Client(BaseModel):
    id = MonotonicIdField()
    phone = pw.CharField(max_length=11, unique=True)
    operator_code = pw.CharField(max_length=3, index=True)
    tag = pw.CharField(max_length=64, default="", index=True)
    timezone = pw.CharField(max_length=64)
    created_at = UtcField()


class Mailing(BaseModel):
    id = MonotonicIdField()
    start_at = UtcField(index=True)
    end_at = UtcField(index=True)
    text = pw.TextField()
    # JSON arrays of strings; audience.py matches them in SQL, one parameter a value.
    operator_codes = pw.TextField(default="[]")
    tags = pw.TextField(default="[]")
    window = pw.CharField(max_length=11, null=True)
    paused = pw.BooleanField(default=False)
    cancelled = pw.BooleanField(default=False)
    # Set once its audience has been materialised; the sender then keeps it current.
    materialized_at = UtcField(null=True)
    created_at = UtcField()
    updated_at = UtcField()
    # Its audience is the clients listed in "mailing_client", not the filter (a clone).
    audience_explicit = pw.BooleanField(default=False)
    cloned_from = pw.IntegerField(null=True)


class Message(BaseModel):
    id = MonotonicIdField()
    mailing_id: int
    client_id: int | None
    mailing = pw.ForeignKeyField(Mailing, on_delete="CASCADE", backref="messages")
    # A deleted client leaves its sent messages in the statistics.
    client = pw.ForeignKeyField(Client, null=True, on_delete="SET NULL", backref="messages")
    # Copied at creation so statistics still show who got it after the client is gone.
    phone = pw.CharField(max_length=11)
    status = pw.CharField(max_length=10, default="pending")
    created_at = UtcField()
    sent_at = UtcField(null=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(null=True)
    next_attempt_at = UtcField()
    # One of reasons.ErrorClass, or NULL while nothing went wrong: what groups and
    # counts read, so nothing parses last_error.
    error_class = pw.CharField(max_length=32, null=True)
    # The lease epoch it was claimed under while ``sending`` (see lease.py).
    claim_epoch = pw.IntegerField(null=True)
    # Who claimed it and until when (version 7): an expired claim goes back to pending.
    claim_owner = pw.CharField(null=True)
    claim_expires_at = UtcField(null=True)

    class Meta:
        indexes = (
            (("mailing", "client"), True),
            # Covers per-mailing GROUP BY status and the sender's due-message lookups.
            (("mailing", "status", "next_attempt_at"), False),
            (("status", "next_attempt_at"), False),
            (("mailing", "phone"), False),
        )


class Lease(BaseModel):
    """The single sender lease: who sends for this store, and their heartbeat."""

    id = pw.IntegerField(primary_key=True)
    owner = pw.CharField()
    pid = pw.IntegerField()
    host = pw.CharField()
    role = pw.CharField(default="ui")
    acquired_at = UtcField()
    heartbeat_at = UtcField()
    epoch = pw.IntegerField(default=0)


class ReportLog(BaseModel):
    """Daily reports already sent, so none goes out twice for a day."""

    day = pw.CharField(primary_key=True)
    sent_at = UtcField()
    recipients = pw.TextField(default="")


# Stores open in this process (see open_database).
_OPEN: weakref.WeakSet[pw.Database] = weakref.WeakSet()

MODELS: tuple[type[BaseModel], ...] = (Meta, Client, Mailing, Message, Lease, ReportLog)


def make_database(path: Path | str) -> pw.SqliteDatabase:
    """A peewee database for ``path`` with WAL, foreign keys and a busy timeout."""
    return sqlite_database(path)


def set_meta(db: pw.Database, key: str, value: str) -> None:
    execute(
        db,
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def schema_version(db: pw.Database) -> int:
    """The store's schema version; 0 for a new file."""
    if not db.table_exists("meta"):
        return 0
    row = Meta.get_or_none(Meta.key == "schema_version")
    return int(row.value) if row else 0


def migrate(db: pw.Database) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`, one step per transaction."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"store schema {current} is newer than this program ({SCHEMA_VERSION}); upgrade"
        )
    if current == SCHEMA_VERSION:
        return SCHEMA_VERSION
    if dialect.is_postgres(db):
        _migrate_postgres(db)
        return migrate(db)
    # Some steps rebuild tables: with foreign keys on, dropping the old mailing table
    # would delete every message. SQLite ignores this pragma inside a transaction, so
    # it is set around them, and each step checks the keys itself before it commits.
    execute(db, "PRAGMA foreign_keys = OFF")
    try:
        while current < SCHEMA_VERSION:
            with db.atomic("IMMEDIATE"):
                # A UI and a daemon started together both read the old version; the one
                # that waited for the lock must see the other's work, not redo it.
                current = schema_version(db)
                if current < SCHEMA_VERSION:
                    MIGRATIONS[current](db)
                    broken = execute(db, "PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration {current + 1} broke foreign keys: {broken}")
                    current += 1
                    set_meta(db, "schema_version", str(current))
    finally:
        execute(db, "PRAGMA foreign_keys = ON")
    return migrate(db)


def _migrate_postgres(db: pw.Database) -> None:
    """A new PostgreSQL store starts at the frozen baseline, then takes the later steps.

    DDL is transactional on PostgreSQL and foreign keys are checked as rows
    change, so each step is simply one transaction, under an advisory lock so
    that two processes starting together migrate once.
    """
    while True:
        with db.atomic():
            dialect.lock_schema(db)
            current = schema_version(db)
            if current >= SCHEMA_VERSION:
                return
            if current == 0:
                pgschema.create_baseline(db)
                current = pgschema.BASELINE_VERSION
            elif current < pgschema.BASELINE_VERSION:
                raise RuntimeError(f"PostgreSQL store at schema {current}: no way to upgrade it")
            else:
                MIGRATIONS[current](db)
                current += 1
            set_meta(db, "schema_version", str(current))


def open_database(path: Path | str | StoreLocation) -> pw.Database:
    """Open (creating if needed) the store at ``path``, bind the models, migrate.

    ``path`` is a file, or any location :class:`~.location.StoreLocation` reads
    (``sqlite:///file``, ``postgresql://...``).

    peewee binds models to one database per process, so a second open store
    would silently take over the first one's queries (or deadlock against it
    on the same file): that is refused until the first is released.
    """
    current = Client._meta.database
    if current is not None and current in _OPEN:
        raise RuntimeError(
            f"a store is already open in this process ({current.database}); close it first"
        )
    location = StoreLocation.parse(path)
    if location.path is not None:
        location.path.parent.mkdir(parents=True, exist_ok=True)
    # SQLite through make_database: the one place its connection is made (tests wrap it).
    db = location.open_database() if location.path is None else make_database(location.path)
    db.bind(MODELS, bind_refs=False, bind_backrefs=False)
    try:
        db.connect(reuse_if_open=True)
        migrate(db)
    except BaseException:
        db.close()
        raise
    _OPEN.add(db)
    return db


def release_database(db: pw.Database) -> None:
    """Mark a store closed so another may be opened in this process."""
    _OPEN.discard(db)
