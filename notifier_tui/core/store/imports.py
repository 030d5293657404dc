"""Client import: validate every row, report every bad one, write all or nothing.

A million-row file must neither hold the store's write lock for seconds nor
sit in memory (issue 9.14), so the rows are streamed:

1. each row is validated in Python and the good ones are written in chunks,
   each its own short statement, into a TEMP staging table. TEMP tables live
   in this connection's own temporary database, so staging takes no lock on
   the store file at all: the sender and the UI keep writing meanwhile.
2. repeats within the file and phones the store already has are found in SQL
   over the staging table (indexed after loading), not in a Python dict;
3. if anything is bad and ``skip_invalid`` is off, nothing is written and every
   bad row is reported; otherwise one short final transaction moves the rows
   into ``client`` and gives the new clients their messages in live mailings.

The user still sees one all-or-nothing import: no client row is written
before step 3, and step 3 is one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import peewee as pw

from notifier_tui.core import rules
from notifier_tui.core.errors import ConflictError, RowErrors, ValidationError
from notifier_tui.core.records import ImportResult
from notifier_tui.core.store import dialect
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.base import Part, StoreContext
from notifier_tui.core.store.csvio import BAD_ROW
from notifier_tui.core.store.sqlutil import cursor, execute

STAGE_CHUNK = 5_000
"""Rows per staging statement: big enough to amortise the call, small enough to stay short."""

# This connection's own temporary tables (dialect.temp_table qualifies them).
_STAGE_NAME = "client_import"
_SORTED_NAME = "client_import_sorted"


class Importer(Part):
    """Bulk client import; new clients join live mailings through :class:`Audience`."""

    def __init__(self, ctx: StoreContext, audience: Audience) -> None:
        super().__init__(ctx)
        self.audience = audience
        self._stage_table = dialect.temp_table(self.db, _STAGE_NAME)
        self._sorted_table = dialect.temp_table(self.db, _SORTED_NAME)
        self._client_table = dialect.main_table(self.db, "client")

    def import_rows(
        self, rows: Iterable[tuple[int, dict[str, str]]], *, skip_invalid: bool = False
    ) -> ImportResult:
        """Import ``(line, {phone, tag, timezone[, operator_code]})`` rows, streamed.

        Atomic unless ``skip_invalid``: one bad row and nothing is written, and
        every bad row is reported by line.

        Raises:
            RowErrors: some rows were bad and ``skip_invalid`` is false.
            ConflictError: another process added one of the phones during the import.
        """
        execute(self.db, f"DROP TABLE IF EXISTS {self._stage_table}")
        execute(
            self.db,
            f"CREATE TABLE {self._stage_table} (line INTEGER PRIMARY KEY, phone TEXT NOT NULL,"
            " operator_code TEXT NOT NULL, tag TEXT NOT NULL, timezone TEXT NOT NULL)",
        )
        try:
            errors = self._stage(rows)
            errors += self._conflicts()
            errors.sort(key=lambda pair: pair[0])
            if errors and not skip_invalid:
                raise RowErrors(errors)
            imported = self._merge()
        finally:
            execute(self.db, f"DROP TABLE IF EXISTS {self._stage_table}")
        self._notify()
        return ImportResult(imported, [(line, str(err)) for line, err in errors])

    def _stage(
        self, rows: Iterable[tuple[int, dict[str, str]]]
    ) -> list[tuple[int, ValidationError]]:
        """Validate and stage the rows in chunks; returns the rows that are bad on their own."""
        errors: list[tuple[int, ValidationError]] = []
        batch: list[tuple[int, str, str, str, str]] = []
        cur = cursor(self.db)
        sql = f"INSERT INTO {self._stage_table} VALUES (?, ?, ?, ?, ?)"
        default_zone = self.ctx.default_timezone
        for line, row in rows:
            if BAD_ROW in row:
                errors.append((line, ValidationError("row", row[BAD_ROW])))
                continue
            try:
                f = rules.validate_client(
                    row.get("phone") or "",
                    row.get("tag"),
                    row.get("timezone") or default_zone,
                    row.get("operator_code") or None,
                )
            except ValidationError as err:
                errors.append((line, err))
                continue
            batch.append((line, f.phone, f.operator_code, f.tag, f.timezone))
            if len(batch) >= STAGE_CHUNK:
                cur.executemany(sql, batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
        return errors

    def _conflicts(self) -> list[tuple[int, ValidationError]]:
        """Repeats within the file and phones already in the store, as row errors.

        A repeated phone is reported on every line after its first; the first
        is checked against the store like any other. The rows reported are
        dropped from the staging table, so what is left is what to import.
        """
        execute(
            self.db, dialect.temp_index(self.db, "client_import_phone", _STAGE_NAME, "phone, line")
        )
        repeats = execute(
            self.db,
            f"SELECT s.line, s.phone, f.first FROM {self._stage_table} s JOIN"
            f" (SELECT phone, MIN(line) AS first FROM {self._stage_table} GROUP BY phone"
            "  HAVING COUNT(*) > 1) f ON f.phone = s.phone WHERE s.line > f.first",
        ).fetchall()
        cursor(self.db).executemany(
            f"DELETE FROM {self._stage_table} WHERE line = ?", [(line,) for line, _, _ in repeats]
        )
        existing = execute(
            self.db,
            f"SELECT line, phone FROM {self._stage_table}"
            f" WHERE phone IN (SELECT phone FROM {self._client_table})",
        ).fetchall()
        cursor(self.db).executemany(
            f"DELETE FROM {self._stage_table} WHERE line = ?", [(line,) for line, _ in existing]
        )
        errors: list[tuple[int, ValidationError]] = [
            (line, ConflictError("phone", f"{phone} repeats line {first}"))
            for line, phone, first in repeats
        ]
        errors += [
            (line, ConflictError("phone", f"{phone} already exists")) for line, phone in existing
        ]
        return errors

    def _merge(self) -> int:
        """Move the staged rows into ``client`` in one transaction; returns how many.

        The rows go in sorted by phone, sorted before the transaction starts:
        the unique phone index then only grows at its end, which made the final
        transaction three times shorter than file order at a million rows
        (bench/store.py). Imported clients therefore get their ids in phone
        order, not in file order.
        """
        execute(self.db, f"DROP TABLE IF EXISTS {self._sorted_table}")
        execute(
            self.db,
            f"CREATE TABLE {self._sorted_table} AS SELECT phone, operator_code, tag, timezone"
            f" FROM {self._stage_table} ORDER BY {dialect.sort_key_unindexed(self.db, 'phone')}",
        )
        execute(self.db, f"DROP TABLE {self._stage_table}")  # frees its pages before the merge
        try:
            return self._insert_sorted()
        finally:
            execute(self.db, f"DROP TABLE IF EXISTS {self._sorted_table}")

    def _insert_sorted(self) -> int:
        now = self.clock().timestamp()
        try:
            with self.db.atomic("IMMEDIATE"):
                top = execute(self.db, f"SELECT MAX(id) FROM {self._client_table}")
                last_id = top.fetchone()[0]
                inserted = execute(
                    self.db,
                    f"INSERT INTO {self._client_table}"
                    " (phone, operator_code, tag, timezone, created_at)"
                    f" SELECT phone, operator_code, tag, timezone, ? FROM {self._sorted_table}"
                    f" ORDER BY {dialect.insertion_order(self.db, 'phone')}",
                    (now,),
                ).rowcount
                # Clients imported during a live mailing get their messages (rule 2).
                if inserted:
                    self.audience.materialize_live(after_id=last_id or 0)
        except (pw.IntegrityError, sqlite3.IntegrityError):
            # Only the unique phone can fail: another process added one of these
            # phones after they were checked. The transaction is rolled back whole.
            raise ConflictError(
                "phone",
                "a phone in the file was added by another process during the import;"
                " nothing was imported, try again",
            ) from None
        return int(inserted)
