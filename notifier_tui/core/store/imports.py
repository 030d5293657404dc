"""Client import: validate every row, report every bad one, write all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable

from notifier_tui.core import rules
from notifier_tui.core.errors import ConflictError, RowErrors, ValidationError
from notifier_tui.core.records import ImportResult
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.base import Part, StoreContext
from notifier_tui.core.store.csvio import BAD_ROW
from notifier_tui.core.store.sqlutil import cursor, execute, writes


class Importer(Part):
    """Bulk client import; new clients join live mailings through :class:`Audience`."""

    def __init__(self, ctx: StoreContext, audience: Audience) -> None:
        super().__init__(ctx)
        self.audience = audience

    def import_rows(
        self, rows: Iterable[tuple[int, dict[str, str]]], *, skip_invalid: bool = False
    ) -> ImportResult:
        """Import ``(line, {phone, tag, timezone[, operator_code]})`` rows in one transaction.

        Atomic unless ``skip_invalid``: one bad row and nothing is written, and
        every bad row is reported by line.

        Raises:
            RowErrors: some rows were bad and ``skip_invalid`` is false.
        """
        good: list[tuple[int, rules.ClientFields]] = []
        errors: list[tuple[int, ValidationError]] = []
        seen: dict[str, int] = {}
        for line, row in rows:
            if BAD_ROW in row:
                errors.append((line, ValidationError("row", row[BAD_ROW])))
                continue
            try:
                fields = rules.validate_client(
                    row.get("phone") or "",
                    row.get("tag"),
                    row.get("timezone") or self.ctx.default_timezone,
                    row.get("operator_code") or None,
                )
            except ValidationError as err:
                errors.append((line, err))
                continue
            if fields.phone in seen:
                errors.append(
                    (
                        line,
                        ConflictError("phone", f"{fields.phone} repeats line {seen[fields.phone]}"),
                    )
                )
                continue
            seen[fields.phone] = line
            good.append((line, fields))
        existing = self._existing_phones([f.phone for _, f in good])
        for line, fields in good:
            if fields.phone in existing:
                errors.append((line, ConflictError("phone", f"{fields.phone} already exists")))
        errors.sort(key=lambda pair: pair[0])
        if errors and not skip_invalid:
            raise RowErrors(errors)
        bad_lines = {line for line, _ in errors}
        to_insert = [f for line, f in good if line not in bad_lines]
        self._bulk_insert(to_insert)
        return ImportResult(len(to_insert), [(line, str(err)) for line, err in errors])

    def _existing_phones(self, phones: list[str]) -> set[str]:
        # One statement, one JSON parameter: peewee would build an IN (...) node per
        # phone, which cost more than validating the rows (bench/store.py).
        if not phones:
            return set()
        cursor = execute(
            self.db,
            "SELECT phone FROM client WHERE phone IN (SELECT value FROM json_each(?))",
            (json.dumps(phones),),
        )
        return {phone for (phone,) in cursor}

    @writes
    def _bulk_insert(self, items: list[rules.ClientFields]) -> None:
        now = self.clock().timestamp()
        cursor(self.db).executemany(
            "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(f.phone, f.operator_code, f.tag, f.timezone, now) for f in items],
        )
        # Clients imported during a live mailing get their messages (rule 2), in SQL.
        if items:
            self.audience.materialize_live()
