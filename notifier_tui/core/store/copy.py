"""Copy a whole store into an empty one of either kind (``notifier-tui store copy``).

Every table goes over with its ids: clients, mailings, messages, the report
log, the stop list, the audit trail, the explicit audiences, the facts in
``meta``. Only the sender lease stays behind: it names a process of the old
store, and whoever sends for the new one takes it there.

Why raw connections: peewee binds the models to one database per process
(see schema.open_database), and a copy needs two at once. The source is an
open :class:`~notifier_tui.core.store.Store` (read in raw SQL only); the
target is a bare database, bound to the models only for the moment it is
migrated (``bind_ctx``), then written in raw SQL too.

Each id sequence ends past the largest id it ever handed out on the source
(not only past the largest id left), so an id deleted there is never handed
out again here either: a message id is the gateway's idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import peewee as pw

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.store import dialect, schema
from notifier_tui.core.store.location import StoreLocation

__all__ = ["NOT_COPIED", "ORDER", "copy_store"]

ORDER = (
    "client",
    "mailing",
    "message",
    "mailing_client",
    "stop_list",
    "audit_log",
    "report_log",
    "meta",
)
"""Tables in an order that satisfies the foreign keys; unknown tables follow, by name."""
NOT_COPIED = frozenset({"lease"})
"""Who sends for the store: decided afresh by the processes that use the new one."""

_BATCH = 5_000


def _run(db: pw.Database, sql: str, params: Sequence[Any] = ()) -> Any:
    return cast("Callable[[str, Sequence[Any]], Any]", db.execute_sql)(sql, params)


def _count(db: pw.Database, table: str) -> int:
    return int(_run(db, f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


def _rows(db: pw.Database, table: str, cols: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in batches; by id ranges where it has an id (the big tables)."""
    names = ", ".join(f'"{c}"' for c in cols)
    if "id" not in cols:
        rows = _run(db, f'SELECT {names} FROM "{table}"').fetchall()
        for i in range(0, len(rows), _BATCH):
            yield [tuple(r) for r in rows[i : i + _BATCH]]
        return
    last = None
    while True:
        where = "" if last is None else " WHERE id > ?"
        batch = _run(
            db,
            f'SELECT {names} FROM "{table}"{where} ORDER BY id LIMIT {_BATCH}',
            () if last is None else (last,),
        ).fetchall()
        if not batch:
            return
        yield [tuple(r) for r in batch]
        last = batch[-1][cols.index("id")]


def _insert(db: pw.Database, table: str, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{c}"' for c in cols)
    if dialect.is_postgres(db):
        # One statement a page, not one a row: psycopg2's executemany is a loop.
        from psycopg2.extras import execute_values

        cursor = cast("Callable[[], Any]", db.cursor)()
        execute_values(cursor, f'INSERT INTO "{table}" ({names}) VALUES %s', rows, page_size=1000)
        return
    marks = ", ".join("?" * len(cols))
    dialect.raw_cursor(db).executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)


def _open_target(target: StoreLocation) -> pw.Database:
    db = target.open_database()
    if target.path is not None:
        target.path.parent.mkdir(parents=True, exist_ok=True)
    with db.bind_ctx(schema.MODELS, bind_refs=False, bind_backrefs=False):
        db.connect(reuse_if_open=True)
        schema.migrate(db)
    return db


def _occupied(db: pw.Database, tables: list[str]) -> dict[str, int]:
    """What a target already holds (its own schema_version row aside)."""
    held = {}
    for table in tables:
        n = _count(db, table)
        if table == "meta":
            n = int(
                _run(db, "SELECT COUNT(*) FROM meta WHERE key != 'schema_version'").fetchone()[0]
            )
        if n:
            held[table] = n
    return held


def copy_store(
    source: pw.Database,
    target: StoreLocation | str,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy every table of ``source`` (an open store's database) into ``target``.

    The target is created and migrated if needed, must be empty, and is
    written in one transaction, so a copy that fails leaves it empty. The
    source is read in one snapshot.

    Returns:
        Rows copied, by table, each checked against a count of the target.

    Raises:
        ValidationError: the target is not empty, is the source, or does not
            end with the counts copied.
    """
    where = StoreLocation.parse(target)
    db = _open_target(where)
    try:
        ours = [t for t in dialect.tables(source) if t not in NOT_COPIED]
        theirs = set(dialect.tables(db))
        missing = sorted(set(ours) - theirs)
        if missing:
            raise ValidationError("store copy", f"the target has no table {', '.join(missing)}")
        held = _occupied(db, sorted(theirs - NOT_COPIED))
        if held:
            what = ", ".join(f"{t} {n}" for t, n in sorted(held.items()))
            raise ValidationError(
                "store copy", f"{where.masked()} is not empty ({what}); copy only into a new store"
            )
        tables = [t for t in ORDER if t in ours] + sorted(set(ours) - set(ORDER))
        counts = _copy(source, db, tables, progress)
        _verify(db, counts)
        return counts
    finally:
        db.close()


def _copy(
    source: pw.Database,
    db: pw.Database,
    tables: list[str],
    progress: Callable[[str, int], None] | None,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    with source.atomic(), db.atomic():
        dialect.snapshot(source)
        for table in tables:
            cols = dialect.columns(source, table)
            wanted = set(dialect.columns(db, table))
            if not set(cols) <= wanted:
                lost = sorted(set(cols) - wanted)
                raise ValidationError("store copy", f"the target's {table} lacks {lost}")
            n = 0
            for batch in _rows(source, table, cols):
                if table == "meta":
                    # The target's own schema_version (the same, both migrated) stays.
                    batch = [r for r in batch if r[cols.index("key")] != "schema_version"]
                _insert(db, table, cols, batch)
                n += len(batch)
            if "id" in cols:
                top = _run(source, f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0]
                dialect.advance_sequence(
                    db, table, max(int(top), dialect.sequence_high(source, table))
                )
            counts[table] = n
            if progress is not None:
                progress(table, n)
    return counts


def _verify(db: pw.Database, counts: dict[str, int]) -> None:
    for table, n in counts.items():
        found = _count(db, table) - (1 if table == "meta" else 0)
        if found != n:
            raise ValidationError(
                "store copy", f"{table}: copied {n} rows but the target holds {found}"
            )
