"""The stop list: phones that must never get a message, because the client opted out.

Matching leaves these phones out (:meth:`AudienceFilter.sql
<notifier_tui.core.store.audience.AudienceFilter.sql>`), so neither a
mailing's start nor the live re-sync when clients change ever makes a
message for them. Adding a phone cancels its pending messages with
:attr:`ErrorClass.STOP_LISTED`; removing it gives those back to live
mailings the client still matches, like any client that matches again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notifier_tui.core import rules
from notifier_tui.core.errors import RowErrors, ValidationError
from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.base import Part, StoreContext
from notifier_tui.core.store.sqlutil import CHUNK, execute, writes

_STOPPED = ErrorClass.STOP_LISTED


@dataclass(frozen=True, slots=True)
class StopEntry:
    phone: str
    added_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"phone": self.phone, "added_at": self.added_at.isoformat()}


@dataclass(frozen=True, slots=True)
class StopListChange:
    """What one add, remove or import did.

    Attributes:
        changed: phones added (or removed), normalised, in input order.
        unchanged: phones that were already listed (or were not listed).
        messages: pending messages cancelled (or given back).
    """

    changed: list[str]
    unchanged: list[str] = field(default_factory=list)
    messages: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"changed": self.changed, "unchanged": self.unchanged, "messages": self.messages}


def normalize_phones(raw: Iterable[str]) -> list[str]:
    """Every phone normalised, duplicates dropped, order kept.

    Raises:
        ValidationError: a phone is not valid (nothing is then written).
    """
    seen: dict[str, None] = {}
    for phone in raw:
        seen.setdefault(rules.normalize_phone(phone), None)
    if not seen:
        raise ValidationError("phone", "give at least one phone")
    return list(seen)


def read_phone_csv(path: Path | str) -> Iterator[tuple[int, str]]:
    """``(line, phone)`` from a CSV whose header has a ``phone`` column; streams.

    A client export (``phone,tag,timezone,operator_code``) is such a file.

    Raises:
        ValidationError: the file cannot be read, is not UTF-8, or has no phone column.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            if "phone" not in header:
                raise ValidationError("header", f"needs a phone column, got {','.join(header)!r}")
            col = header.index("phone")
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                yield reader.line_num, values[col] if col < len(values) else ""
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        reason = err.strerror if isinstance(err, OSError) else str(err) or "not UTF-8 text"
        if isinstance(err, UnicodeDecodeError):
            reason = "not UTF-8 text"
        raise ValidationError("file", f"cannot read {path}: {reason}") from None


class StopList(Part):
    """The ``stop_list`` table, kept in step with pending messages."""

    def __init__(self, ctx: StoreContext, audience: Audience) -> None:
        super().__init__(ctx)
        self.audience = audience

    def entries(self) -> list[StopEntry]:
        cursor = execute(self.db, "SELECT phone, added_at FROM stop_list ORDER BY phone")
        return [StopEntry(phone, datetime.fromtimestamp(at, UTC)) for phone, at in cursor]

    def count(self) -> int:
        return int(execute(self.db, "SELECT COUNT(*) FROM stop_list").fetchone()[0])

    def contains(self, phone: str) -> bool:
        found = execute(self.db, "SELECT 1 FROM stop_list WHERE phone = ?", (phone,))
        return found.fetchone() is not None

    @writes
    def add(self, phones: Iterable[str]) -> StopListChange:
        """List ``phones``; their pending messages become ``cancelled`` (stop-listed)."""
        wanted = normalize_phones(phones)
        now = self.clock().timestamp()
        added: list[str] = []
        already: list[str] = []
        for phone in wanted:
            cur = execute(
                self.db,
                "INSERT INTO stop_list (phone, added_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (phone, now),
            )
            (added if cur.rowcount else already).append(phone)
        cancelled = 0
        for part in _chunks(added):
            marks = ", ".join("?" * len(part))
            cur = execute(
                self.db,
                "UPDATE message SET status = 'cancelled', last_error = ?, error_class = ?"
                f" WHERE status = 'pending' AND phone IN ({marks})",
                [reason_text(_STOPPED), _STOPPED.value, *part],
            )
            cancelled += cur.rowcount
        return StopListChange(added, already, cancelled)

    @writes
    def remove(self, phones: Iterable[str]) -> StopListChange:
        """Unlist ``phones``; live mailings they still match get their messages back."""
        wanted = normalize_phones(phones)
        removed: list[str] = []
        absent: list[str] = []
        for phone in wanted:
            cur = execute(self.db, "DELETE FROM stop_list WHERE phone = ?", (phone,))
            (removed if cur.rowcount else absent).append(phone)
        restored = 0
        if removed:
            now = self.clock()
            for mailing in self.audience.live_mailings(now):
                for part in _chunks(removed):
                    marks = ", ".join("?" * len(part))
                    cur = execute(
                        self.db,
                        "UPDATE message SET status = 'pending', last_error = NULL,"
                        " error_class = NULL WHERE mailing_id = ? AND status = 'cancelled'"
                        f" AND error_class = ? AND phone IN ({marks})",
                        [mailing.id, _STOPPED.value, *part],
                    )
                    restored += cur.rowcount
                # New matches get their messages; one that no longer matches is cancelled.
                self.audience.resync_mailing(mailing)
        return StopListChange(removed, absent, restored)

    def import_csv(self, path: Path | str) -> StopListChange:
        """Add every phone of a CSV file; one bad row and nothing is added.

        Raises:
            RowErrors: some rows hold no valid phone.
        """
        good: list[str] = []
        errors: list[tuple[int, ValidationError]] = []
        for line, raw in read_phone_csv(path):
            try:
                good.append(rules.normalize_phone(raw))
            except ValidationError as err:
                errors.append((line, err))
        if errors:
            raise RowErrors(errors)
        if not good:
            raise ValidationError("file", f"{path} holds no phone")
        return self.add(good)


def _chunks(phones: list[str]) -> Iterator[list[str]]:
    # sqlutil.chunks is typed for ids; the same slicing for phones.
    for i in range(0, len(phones), CHUNK):
        yield phones[i : i + CHUNK]
