"""Schema migrations, one function per version step, each with its DDL frozen in SQL.

A step's SQL is written out here rather than derived from the peewee models:
the models describe the newest schema, and a step must build exactly the
schema of its version, or a store created new and a store upgraded step by
step would differ (``tests/core/test_migrations.py`` checks they do not).
Append steps; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee as pw

from notifier_tui.core.reasons import REASON_TEXT, ErrorClass
from notifier_tui.core.store import dialect
from notifier_tui.core.store.sqlutil import execute

_V1 = (
    'CREATE TABLE "meta" ("key" VARCHAR(255) NOT NULL PRIMARY KEY, "value" TEXT NOT NULL)',
    'CREATE TABLE "client" ("id" INTEGER NOT NULL PRIMARY KEY, "phone" VARCHAR(11) NOT NULL,'
    ' "operator_code" VARCHAR(3) NOT NULL, "tag" VARCHAR(64) NOT NULL,'
    ' "timezone" VARCHAR(64) NOT NULL, "created_at" REAL NOT NULL)',
    'CREATE UNIQUE INDEX "client_phone" ON "client" ("phone")',
    'CREATE INDEX "client_operator_code" ON "client" ("operator_code")',
    'CREATE INDEX "client_tag" ON "client" ("tag")',
    'CREATE TABLE "mailing" ("id" INTEGER NOT NULL PRIMARY KEY, "start_at" REAL NOT NULL,'
    ' "end_at" REAL NOT NULL, "text" TEXT NOT NULL, "operator_codes" TEXT NOT NULL,'
    ' "tags" TEXT NOT NULL, "window" VARCHAR(11), "paused" INTEGER NOT NULL,'
    ' "cancelled" INTEGER NOT NULL, "materialized_at" REAL, "created_at" REAL NOT NULL,'
    ' "updated_at" REAL NOT NULL)',
    'CREATE INDEX "mailing_start_at" ON "mailing" ("start_at")',
    'CREATE INDEX "mailing_end_at" ON "mailing" ("end_at")',
    'CREATE TABLE "message" ("id" INTEGER NOT NULL PRIMARY KEY, "mailing_id" INTEGER NOT NULL,'
    ' "client_id" INTEGER, "phone" VARCHAR(11) NOT NULL, "status" VARCHAR(10) NOT NULL,'
    ' "created_at" REAL NOT NULL, "sent_at" REAL, "attempts" INTEGER NOT NULL,'
    ' "last_error" TEXT, "next_attempt_at" REAL NOT NULL,'
    ' FOREIGN KEY ("mailing_id") REFERENCES "mailing" ("id") ON DELETE CASCADE,'
    ' FOREIGN KEY ("client_id") REFERENCES "client" ("id") ON DELETE SET NULL)',
    'CREATE INDEX "message_mailing_id" ON "message" ("mailing_id")',
    'CREATE INDEX "message_client_id" ON "message" ("client_id")',
    'CREATE UNIQUE INDEX "message_mailing_id_client_id" ON "message" ("mailing_id", "client_id")',
    'CREATE INDEX "message_mailing_id_status_next_attempt_at"'
    ' ON "message" ("mailing_id", "status", "next_attempt_at")',
    'CREATE INDEX "message_status_next_attempt_at" ON "message" ("status", "next_attempt_at")',
    'CREATE TABLE "lease" ("id" INTEGER NOT NULL PRIMARY KEY, "owner" VARCHAR(255) NOT NULL,'
    ' "pid" INTEGER NOT NULL, "host" VARCHAR(255) NOT NULL, "role" VARCHAR(255) NOT NULL,'
    ' "acquired_at" REAL NOT NULL, "heartbeat_at" REAL NOT NULL)',
)


def _run(db: pw.Database, statements: tuple[str, ...]) -> None:
    for sql in statements:
        execute(db, sql)


def _migrate_1(db: pw.Database) -> None:
    _run(db, _V1)


def _migrate_2(db: pw.Database) -> None:
    _run(
        db,
        (
            'CREATE TABLE "report_log" ("day" VARCHAR(255) NOT NULL PRIMARY KEY,'
            ' "sent_at" REAL NOT NULL, "recipients" TEXT NOT NULL)',
        ),
    )


# How the gateway client wrote its reasons before the class was stored beside them
# (core/sending/gateway.py): (GLOB pattern, class), first match wins. Used once, by
# the backfill below; nothing reads reasons as text after it.
_LEGACY_GATEWAY_TEXT: tuple[tuple[str, ErrorClass], ...] = (
    ("HTTP 401*", ErrorClass.CREDENTIALS),
    ("HTTP 403*", ErrorClass.CREDENTIALS),
    ("HTTP 429*", ErrorClass.HTTP_429),
    ("HTTP 5*", ErrorClass.HTTP_5XX),
    ("HTTP 4*", ErrorClass.HTTP_4XX),
    ("timeout*", ErrorClass.TIMEOUT),
    ("connect*", ErrorClass.CONNECT),
    ("bad answer*", ErrorClass.BAD_ANSWER),
)


def _migrate_3(db: pw.Database) -> None:
    """``message.error_class`` beside ``last_error``, backfilled from the old texts."""
    execute(db, 'ALTER TABLE "message" ADD COLUMN "error_class" VARCHAR(32)')
    # Only unsent messages are counted by class; the partial index keeps those
    # counts cheap while almost every row has no class.
    execute(
        db,
        'CREATE INDEX "message_mailing_id_error_class" ON "message" ("mailing_id", "error_class")'
        ' WHERE "error_class" IS NOT NULL',
    )
    own = [(cls.value, text) for cls, text in REASON_TEXT.items()]
    cases = " ".join("WHEN last_error = ? THEN ?" for _ in own)
    cases += " " + " ".join("WHEN last_error GLOB ? THEN ?" for _ in _LEGACY_GATEWAY_TEXT)
    params: list[str] = [p for value, text in own for p in (text, value)]
    params += [p for pattern, cls in _LEGACY_GATEWAY_TEXT for p in (pattern, cls.value)]
    # A gateway reason that matches nothing above was still the gateway's.
    execute(
        db,
        f"UPDATE message SET error_class = CASE {cases} ELSE ? END WHERE last_error IS NOT NULL",
        [*params, ErrorClass.OTHER.value],
    )


# Version 4: the same three tables with AUTOINCREMENT ids, so an id is never handed
# out twice (a message id is the gateway's idempotency key: a new mailing that got a
# deleted one's id would send as the old messages). On PostgreSQL the same promise is
# a sequence, which never goes back either.
_V4_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "client",
        'CREATE TABLE "client" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
        ' "phone" VARCHAR(11) NOT NULL, "operator_code" VARCHAR(3) NOT NULL,'
        ' "tag" VARCHAR(64) NOT NULL, "timezone" VARCHAR(64) NOT NULL,'
        ' "created_at" REAL NOT NULL)',
        (
            'CREATE UNIQUE INDEX "client_phone" ON "client" ("phone")',
            'CREATE INDEX "client_operator_code" ON "client" ("operator_code")',
            'CREATE INDEX "client_tag" ON "client" ("tag")',
        ),
    ),
    (
        "mailing",
        'CREATE TABLE "mailing" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
        ' "start_at" REAL NOT NULL, "end_at" REAL NOT NULL, "text" TEXT NOT NULL,'
        ' "operator_codes" TEXT NOT NULL, "tags" TEXT NOT NULL, "window" VARCHAR(11),'
        ' "paused" INTEGER NOT NULL, "cancelled" INTEGER NOT NULL, "materialized_at" REAL,'
        ' "created_at" REAL NOT NULL, "updated_at" REAL NOT NULL)',
        (
            'CREATE INDEX "mailing_start_at" ON "mailing" ("start_at")',
            'CREATE INDEX "mailing_end_at" ON "mailing" ("end_at")',
        ),
    ),
    (
        "message",
        'CREATE TABLE "message" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
        ' "mailing_id" INTEGER NOT NULL, "client_id" INTEGER, "phone" VARCHAR(11) NOT NULL,'
        ' "status" VARCHAR(10) NOT NULL, "created_at" REAL NOT NULL, "sent_at" REAL,'
        ' "attempts" INTEGER NOT NULL, "last_error" TEXT, "next_attempt_at" REAL NOT NULL,'
        ' "error_class" VARCHAR(32),'
        ' FOREIGN KEY ("mailing_id") REFERENCES "mailing" ("id") ON DELETE CASCADE,'
        ' FOREIGN KEY ("client_id") REFERENCES "client" ("id") ON DELETE SET NULL)',
        (
            'CREATE INDEX "message_mailing_id" ON "message" ("mailing_id")',
            'CREATE INDEX "message_client_id" ON "message" ("client_id")',
            'CREATE UNIQUE INDEX "message_mailing_id_client_id"'
            ' ON "message" ("mailing_id", "client_id")',
            'CREATE INDEX "message_mailing_id_status_next_attempt_at"'
            ' ON "message" ("mailing_id", "status", "next_attempt_at")',
            'CREATE INDEX "message_status_next_attempt_at"'
            ' ON "message" ("status", "next_attempt_at")',
            'CREATE INDEX "message_mailing_id_error_class"'
            ' ON "message" ("mailing_id", "error_class") WHERE "error_class" IS NOT NULL',
            # One message per phone per mailing: a client deleted and added again
            # with the same phone during a mailing must not get it twice.
            'CREATE INDEX "message_mailing_id_phone" ON "message" ("mailing_id", "phone")',
        ),
    ),
)


def _migrate_4(db: pw.Database) -> None:
    """Rebuild client, mailing and message with AUTOINCREMENT, keeping every row and id.

    Runs with foreign keys off (see ``schema.migrate``): dropping the old mailing
    table would otherwise cascade to its messages. Copying rows with their ids
    sets each table's ``sqlite_sequence`` entry to its current largest id.
    """
    for name, create, indexes in _V4_TABLES:
        columns = ", ".join(
            f'"{row[1]}"' for row in execute(db, f'PRAGMA table_info("{name}")').fetchall()
        )
        execute(db, create.replace(f'CREATE TABLE "{name}"', f'CREATE TABLE "{name}_v4"', 1))
        execute(db, f'INSERT INTO "{name}_v4" ({columns}) SELECT {columns} FROM "{name}"')
        execute(db, f'DROP TABLE "{name}"')
        execute(db, f'ALTER TABLE "{name}_v4" RENAME TO "{name}"')
        for sql in indexes:
            execute(db, sql)


def _migrate_5(db: pw.Database) -> None:
    """Lease epochs, and the epoch each claim was made under."""
    execute(db, 'ALTER TABLE "lease" ADD COLUMN "epoch" INTEGER NOT NULL DEFAULT 0')
    execute(db, 'ALTER TABLE "message" ADD COLUMN "claim_epoch" INTEGER')


# Version 6: the campaign tables (issue 13). The audit log is append-only: triggers
# refuse any UPDATE or DELETE of its rows, whoever issues them.
_V6 = (
    'CREATE TABLE "stop_list" ("phone" VARCHAR(11) NOT NULL PRIMARY KEY, "added_at" REAL NOT NULL)',
    'CREATE TABLE "audit_log" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
    ' "at" REAL NOT NULL, "os_user" VARCHAR(255) NOT NULL, "host" VARCHAR(255) NOT NULL,'
    ' "surface" VARCHAR(16) NOT NULL, "action" VARCHAR(32) NOT NULL,'
    ' "object_kind" VARCHAR(16) NOT NULL, "object_id" INTEGER, "change" TEXT NOT NULL)',
    'CREATE INDEX "audit_log_at" ON "audit_log" ("at")',
    'CREATE INDEX "audit_log_object_kind_object_id" ON "audit_log" ("object_kind", "object_id")',
    'CREATE TRIGGER "audit_log_no_update" BEFORE UPDATE ON "audit_log"'
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    'CREATE TRIGGER "audit_log_no_delete" BEFORE DELETE ON "audit_log"'
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    # A mailing made for given clients (a clone for the missed) lists them here
    # instead of a filter; "audience_explicit" says the list is its audience.
    'CREATE TABLE "mailing_client" ("mailing_id" INTEGER NOT NULL, "client_id" INTEGER NOT NULL,'
    ' PRIMARY KEY ("mailing_id", "client_id"),'
    ' FOREIGN KEY ("mailing_id") REFERENCES "mailing" ("id") ON DELETE CASCADE,'
    ' FOREIGN KEY ("client_id") REFERENCES "client" ("id") ON DELETE CASCADE)',
    'CREATE INDEX "mailing_client_client_id" ON "mailing_client" ("client_id")',
    'ALTER TABLE "mailing" ADD COLUMN "audience_explicit" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "mailing" ADD COLUMN "cloned_from" INTEGER',
)


def _migrate_6(db: pw.Database) -> None:
    """Stop list, audit log, explicit client lists of mailings (issue 13)."""
    _run(db, _V6)


def _migrate_7(db: pw.Database) -> None:
    """Claims carry their owner and an expiry (issue 11): several senders on one store.

    The first step written for both backends (PostgreSQL stores start at 6, see
    pgschema.py): only the instant's type differs.
    """
    instant = "DOUBLE PRECISION" if dialect.is_postgres(db) else "REAL"
    execute(db, 'ALTER TABLE "message" ADD COLUMN "claim_owner" VARCHAR(255)')
    execute(db, f'ALTER TABLE "message" ADD COLUMN "claim_expires_at" {instant}')


# Index i migrates a store from version i to i + 1; append, never edit.
MIGRATIONS: tuple[Callable[[pw.Database], None], ...] = (
    _migrate_1,
    _migrate_2,
    _migrate_3,
    _migrate_4,
    _migrate_5,
    _migrate_6,
    _migrate_7,
)
