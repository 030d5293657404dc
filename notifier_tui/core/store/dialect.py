"""What differs between the store's two backends, SQLite and PostgreSQL, in one place.

The store's raw SQL is written once, in the form both engines accept (``ON
CONFLICT DO NOTHING``, ``CASE`` for a two-value minimum, ``"window"`` quoted,
booleans as 0/1 integers). What cannot be written once is asked for here:

- :class:`PostgresStoreDatabase` takes the store's ``?`` parameters (psycopg2
  wants ``%s``) and SQLite's transaction lock types (``IMMEDIATE`` means
  nothing to PostgreSQL, whose row locks and ``SKIP LOCKED`` do that job), so
  statements and ``atomic("IMMEDIATE")`` blocks run unchanged on both;
- small fragments and probes: :func:`json_values`, :func:`skip_locked`,
  :func:`instr`, :func:`data_version`, :func:`lock_schema`, and the table,
  column and id-sequence queries :mod:`.copy` uses.

Booleans stay 0/1 integers on PostgreSQL too: the raw SQL compares them with
``= 0`` and a column of one type on both keeps the schemas and copies alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import peewee as pw

__all__ = [
    "PostgresStoreDatabase",
    "RawCursor",
    "advance_sequence",
    "columns",
    "data_version",
    "insertion_order",
    "instr",
    "is_postgres",
    "json_values",
    "lock_schema",
    "main_table",
    "raw_cursor",
    "read_only",
    "sequence_high",
    "serialize",
    "skip_locked",
    "snapshot",
    "sort_key_unindexed",
    "tables",
    "take_id",
    "temp_index",
    "temp_table",
    "update_rows",
]

# SQLite's BEGIN variants; PostgreSQL's BEGIN takes an isolation level instead.
_SQLITE_LOCKS = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
# Advisory lock keys (any fixed numbers): what two processes must not do at once.
SCHEMA_LOCK = 0x6E6F7469  # migrating
LEASE_LOCK = SCHEMA_LOCK + 1  # deciding who holds the sender lease


def _pg_sql(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg2's ``%s`` (a literal ``%`` doubled)."""
    if "?" not in sql:
        return sql  # peewee's own queries already use %s
    return sql.replace("%", "%%").replace("?", "%s")


def _pg_params(params: Iterable[Any] | None) -> tuple[Any, ...]:
    """Booleans as 0/1: the store's flag columns are integers on both backends."""
    if not params:
        return ()
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


class PostgresStoreDatabase(pw.PostgresqlDatabase):
    """peewee's PostgreSQL database, speaking the store's SQLite-flavoured raw SQL."""

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        run = cast("Callable[[str, Sequence[Any]], Any]", super().execute_sql)
        return run(_pg_sql(sql), _pg_params(params))

    def begin(self, isolation_level: Any = None) -> None:
        # atomic("IMMEDIATE") is SQLite's "take the write lock now"; on PostgreSQL
        # the claim's row locks do that, so the transaction starts plainly.
        if isinstance(isolation_level, str) and isolation_level.upper() in _SQLITE_LOCKS:
            isolation_level = None
        super().begin(isolation_level)


def _run(db: pw.Database, sql: str, params: Sequence[Any] = ()) -> Any:
    """``db.execute_sql`` with types (peewee's own is untyped)."""
    run = cast("Callable[[str, Sequence[Any]], Any]", db.execute_sql)
    return run(sql, params)


def is_postgres(db: pw.Database) -> bool:
    return isinstance(db, pw.PostgresqlDatabase)


class RawCursor:
    """A DB-API cursor that takes the store's ``?`` SQL on either backend (``executemany``)."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> RawCursor:
        if self._postgres:
            self._cursor.execute(_pg_sql(sql), _pg_params(params))
        else:
            self._cursor.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> RawCursor:
        # psycopg2's executemany sums rowcount over the rows, as sqlite3's does.
        if self._postgres:
            self._cursor.executemany(_pg_sql(sql), [_pg_params(r) for r in rows])
        else:
            self._cursor.executemany(sql, rows)
        return self

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return cast("list[Any]", self._cursor.fetchall())


def raw_cursor(db: pw.Database) -> RawCursor:
    return RawCursor(cast("Callable[[], Any]", db.cursor)(), is_postgres(db))


def json_values(db: pw.Database) -> str:
    """A subquery of the strings in one JSON array parameter: ``x IN (<this>)``."""
    if is_postgres(db):
        return "SELECT value FROM json_array_elements_text(CAST(? AS json))"
    return "SELECT value FROM json_each(?)"


def instr(db: pw.Database) -> Any:
    """The SQL function ``f(haystack, needle)``: where needle starts, 1-based, 0 if absent."""
    return pw.fn.strpos if is_postgres(db) else pw.fn.instr


def skip_locked(db: pw.Database, alias: str) -> str:
    """The clause that lets concurrent claimers take disjoint rows of ``alias``.

    SQLite has one writer at a time (the claim runs under BEGIN IMMEDIATE), so
    it needs none and has none.
    """
    return f" FOR UPDATE OF {alias} SKIP LOCKED" if is_postgres(db) else ""


def data_version(db: pw.Database) -> int:
    """A number that changes when another connection may have committed.

    SQLite's ``data_version`` counts other connections' commits to the file.
    PostgreSQL's nearest cheap equivalent is the snapshot's next transaction id:
    it moves on every writing transaction (ours too), so it may report a change
    that is not another process's, never miss one.
    """
    sql = "SELECT pg_snapshot_xmax(pg_current_snapshot())" if is_postgres(db) else None
    cursor = _run(db, sql or "PRAGMA data_version")
    return int(cursor.fetchone()[0])


def serialize(db: pw.Database, key: int) -> None:
    """Inside a transaction: wait until no other process holds ``key``, then hold it.

    SQLite's BEGIN IMMEDIATE already lets one writer in at a time; PostgreSQL
    needs an advisory lock, released when the transaction ends.
    """
    if is_postgres(db):
        _run(db, "SELECT pg_advisory_xact_lock(?)", (key,))


def lock_schema(db: pw.Database) -> None:
    """Inside a transaction: wait for any other process migrating this store."""
    serialize(db, SCHEMA_LOCK)


def tables(db: pw.Database) -> list[str]:
    """The store's own tables (not the engine's bookkeeping), by name."""
    if is_postgres(db):
        sql = (
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    else:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND substr(name, 1, 7) != 'sqlite_'"
        )
    return sorted(str(name) for (name,) in _run(db, sql).fetchall())


def columns(db: pw.Database, table: str) -> list[str]:
    """The columns of ``table`` in their order."""
    if is_postgres(db):
        rows = _run(
            db,
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?"
            " ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return [str(name) for (name,) in rows]
    return [str(row[1]) for row in _run(db, f'PRAGMA table_info("{table}")').fetchall()]


def sequence_high(db: pw.Database, table: str) -> int:
    """The largest id ``table``'s id sequence has handed out (0 when none or no sequence)."""
    if is_postgres(db):
        row = _run(db, "SELECT pg_get_serial_sequence(?, 'id')", (f'"{table}"',)).fetchone()
        if row is None or row[0] is None:
            return 0
        seq = _run(db, f"SELECT last_value, is_called FROM {row[0]}").fetchone()
        return int(seq[0]) if seq[1] else 0
    found = _run(db, "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return int(found[0]) if found else 0


def advance_sequence(db: pw.Database, table: str, high: int) -> None:
    """Make ``table``'s next id greater than ``high`` (never moves a sequence back)."""
    if high <= 0:
        return
    if is_postgres(db):
        row = _run(db, "SELECT pg_get_serial_sequence(?, 'id')", (f'"{table}"',)).fetchone()
        if row is not None and row[0] is not None:
            seq = row[0]  # already quoted by pg_get_serial_sequence
            _run(db, f"SELECT setval(?, GREATEST(?, (SELECT last_value FROM {seq})))", (seq, high))
        return
    if _run(db, "SELECT 1 FROM sqlite_sequence WHERE name = ?", (table,)).fetchone():
        _run(db, "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", (high, table))
    else:
        _run(db, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, high))


def read_only(db: pw.Database) -> None:
    """Make this thread's connection refuse every write (a reader thread's own)."""
    if is_postgres(db):
        _run(db, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    else:
        _run(db, "PRAGMA query_only = 1")


def snapshot(db: pw.Database) -> None:
    """First thing in a transaction: let every read in it see one snapshot.

    SQLite's read transaction already does (from its first read, under WAL);
    PostgreSQL's default READ COMMITTED takes a new snapshot per statement.
    """
    if is_postgres(db):
        _run(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def temp_table(db: pw.Database, name: str) -> str:
    """``name`` in this connection's own temporary schema (``temp``; ``pg_temp``)."""
    return f"{'pg_temp' if is_postgres(db) else 'temp'}.{name}"


def main_table(db: pw.Database, name: str) -> str:
    """``name`` in the store's own schema, never a temporary table of that name."""
    return name if is_postgres(db) else f"main.{name}"


def temp_index(db: pw.Database, name: str, table: str, cols: str) -> str:
    """``CREATE INDEX`` on a temporary table (PostgreSQL puts the index beside its table)."""
    if is_postgres(db):
        return f"CREATE INDEX {name} ON pg_temp.{table} ({cols})"
    return f"CREATE INDEX temp.{name} ON {table} ({cols})"


def sort_key_unindexed(db: pw.Database, column: str) -> str:
    """An ORDER BY term SQLite sorts rather than walks an index for (``+col``)."""
    return column if is_postgres(db) else f"+{column}"


def insertion_order(db: pw.Database, fallback: str) -> str:
    """ORDER BY the order rows went into a table: SQLite's rowid, else ``fallback``."""
    return fallback if is_postgres(db) else "rowid"


def take_id(db: pw.Database, table: str) -> int:
    """Take the next id of ``table``'s sequence without a row, so no row ever gets it."""
    if is_postgres(db):
        seq = _run(db, "SELECT pg_get_serial_sequence(?, 'id')", (f'"{table}"',)).fetchone()[0]
        return int(_run(db, "SELECT nextval(?)", (seq,)).fetchone()[0])
    row = _run(db, "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    if row is None:
        top = int(_run(db, f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0])
        _run(db, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, top + 1))
        return top + 1
    _run(db, "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = ?", (table,))
    return int(row[0]) + 1


def update_rows(
    db: pw.Database, row_sql: str, values_sql: str, rows: Sequence[Sequence[Any]]
) -> int:
    """Apply one UPDATE per row; returns how many rows changed in all.

    SQLite runs ``row_sql`` (one prepared statement) for each row: in-process,
    that is the fastest form. On PostgreSQL each statement is a round trip,
    so ``values_sql`` — the same update as ``UPDATE ... FROM (VALUES {values})
    AS v``, reading the row's fields as ``v.column1``, ``v.column2``, ... —
    runs once for a page of rows.
    """
    if not rows:
        return 0
    if not is_postgres(db):
        return raw_cursor(db).executemany(row_sql, rows).rowcount
    width = len(rows[0])
    one = "(" + ", ".join("?" * width) + ")"
    changed = 0
    page = max(1, 30_000 // width)  # far below PostgreSQL's 65535 parameters
    for i in range(0, len(rows), page):
        part = rows[i : i + page]
        sql = values_sql.format(values=", ".join([one] * len(part)))
        changed += int(_run(db, sql, [value for row in part for value in row]).rowcount)
    return changed
