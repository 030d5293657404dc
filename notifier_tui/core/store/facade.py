"""The operations the UI, the command line and the sender call.

Every method here is synchronous and validated; nothing is written unless the
whole input is valid. The command line calls them directly. Code on an event
loop must go through :meth:`Store.run`, which executes them on the store's one
dedicated thread: peewee never runs on the loop, and that one thread owns one
connection, so writes from this process never contend with each other (WAL
lets other processes read beside it).
"""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import peewee as pw

from notifier_tui.core import rules, stats
from notifier_tui.core.errors import ConflictError, NotFoundError, RowErrors, ValidationError
from notifier_tui.core.records import (
    ClientRecord,
    ImportResult,
    MailingRecord,
    MessageRecord,
)
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store import schema as tables
from notifier_tui.core.store.dispatch import QueueOps
from notifier_tui.core.store.lease import LeaseOps
from notifier_tui.core.store.schema import Client, Mailing, Message
from notifier_tui.core.store.sqlutil import AudienceFilter, writes

P = ParamSpec("P")
T = TypeVar("T")

_IMPORT_HEADER = ("phone", "tag", "timezone")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store(QueueOps, LeaseOps):
    """A validated view of one SQLite store file."""

    def __init__(
        self,
        path: Path | str,
        *,
        default_timezone: str = "Europe/Moscow",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.path = Path(path)
        self.default_timezone = rules.validate_timezone(default_timezone)
        self.clock = clock
        self.db = tables.open_database(self.path)
        self._executor: ThreadPoolExecutor | None = None
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    # --- plumbing ------------------------------------------------------------

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store method on the store's own thread, off the event loop."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="notifier-db")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after each committed write."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    def data_version(self) -> int:
        """Changes when another connection (another process) commits to the file."""
        return int(self.db.execute_sql("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        if self._executor is not None:
            self._executor.submit(self.db.close).result()
            self._executor.shutdown(wait=True)
            self._executor = None
        self.db.close()
        tables.release_database(self.db)

    # --- clients -------------------------------------------------------------

    @staticmethod
    def _client(row: Client) -> ClientRecord:
        return ClientRecord(
            row.id, row.phone, row.operator_code, row.tag, row.timezone, row.created_at
        )

    def _client_row(self, client_id: int) -> Client:
        row = Client.get_or_none(Client.id == client_id)
        if row is None:
            raise NotFoundError("client", client_id)
        return row

    def _check_phone_free(self, phone: str, except_id: int | None = None) -> None:
        query = Client.select(Client.id).where(Client.phone == phone)
        if except_id is not None:
            query = query.where(Client.id != except_id)
        if query.exists():
            raise ConflictError("phone", f"{phone} already belongs to another client")

    def get_client(self, client_id: int) -> ClientRecord:
        return self._client(self._client_row(client_id))

    @writes
    def create_client(
        self,
        phone: str,
        tag: str | None = "",
        timezone: str | None = None,
        operator_code: str | None = None,
    ) -> ClientRecord:
        fields = rules.validate_client(phone, tag, timezone or self.default_timezone, operator_code)
        self._check_phone_free(fields.phone)
        row = Client.create(
            phone=fields.phone,
            operator_code=fields.operator_code,
            tag=fields.tag,
            timezone=fields.timezone,
            created_at=self.clock(),
        )
        self._sync_client_messages(row)
        return self._client(row)

    @writes
    def update_client(
        self,
        client_id: int,
        *,
        phone: str | None = None,
        tag: str | None = None,
        timezone: str | None = None,
        operator_code: str | None = None,
    ) -> ClientRecord:
        row = self._client_row(client_id)
        new_phone = rules.normalize_phone(phone) if phone is not None else row.phone
        derived = row.operator_code == rules.operator_from_phone(row.phone)
        if operator_code:
            new_op = operator_code
        elif operator_code == "" or derived:
            # An empty code asks for the derived one; a derived code follows a new phone.
            new_op = rules.operator_from_phone(new_phone)
        else:
            new_op = row.operator_code
        fields = rules.validate_client(
            new_phone,
            tag if tag is not None else row.tag,
            timezone if timezone is not None else row.timezone,
            new_op,
        )
        self._check_phone_free(fields.phone, except_id=client_id)
        row.phone, row.operator_code = fields.phone, fields.operator_code
        row.tag, row.timezone = fields.tag, fields.timezone
        row.save()
        self._sync_client_messages(row)
        return self._client(row)

    @writes
    def delete_client(self, client_id: int) -> None:
        self._client_row(client_id)
        # Rule 2: a pending message whose client is gone is cancelled; sent ones stay.
        Message.update(status=MessageStatus.CANCELLED, last_error="client deleted").where(
            (Message.client == client_id) & (Message.status == MessageStatus.PENDING)
        ).execute()
        Client.delete().where(Client.id == client_id).execute()

    def _live_mailings(self, now: datetime) -> list[Mailing]:
        """Mailings whose audience is materialised and still kept current."""
        return list(
            Mailing.select().where(
                Mailing.materialized_at.is_null(False)
                & (Mailing.cancelled == False)
                & (Mailing.end_at > now)
            )
        )

    def _sync_client_messages(self, client: Client) -> None:
        """DESIGN rule 2 for one client against every live mailing."""
        now = self.clock()
        for mailing in self._live_mailings(now):
            filt = self._filter(mailing)
            if rules.audience_matches(
                filt.operator_codes, filt.tags, client.operator_code, client.tag
            ):
                Message.insert(
                    mailing=mailing.id,
                    client=client.id,
                    phone=client.phone,
                    status=MessageStatus.PENDING,
                    created_at=now,
                    next_attempt_at=now,
                ).on_conflict_ignore().execute()
                # A message cancelled only because the client stopped matching comes back.
                Message.update(status=MessageStatus.PENDING, last_error=None).where(
                    (Message.mailing == mailing.id)
                    & (Message.client == client.id)
                    & (Message.status == MessageStatus.CANCELLED)
                    & (Message.last_error == "client no longer matches")
                ).execute()
            else:
                Message.update(
                    status=MessageStatus.CANCELLED, last_error="client no longer matches"
                ).where(
                    (Message.mailing == mailing.id)
                    & (Message.client == client.id)
                    & (Message.status == MessageStatus.PENDING)
                ).execute()
        Message.update(phone=client.phone).where(
            (Message.client == client.id) & (Message.status == MessageStatus.PENDING)
        ).execute()

    def _client_query(self, search: str, tag: str | None, operator: str | None) -> pw.ModelSelect:
        query = Client.select()
        needle = search.strip().lower()
        if needle:
            # instr, not LIKE: a search for "_" or "%" means those characters.
            query = query.where(
                (pw.fn.instr(Client.phone, needle) > 0)
                | (pw.fn.instr(pw.fn.lower(Client.tag), needle) > 0)
                | (pw.fn.instr(pw.fn.lower(Client.timezone), needle) > 0)
            )
        if tag is not None:
            query = query.where(Client.tag == tag)
        if operator is not None:
            query = query.where(Client.operator_code == operator)
        return query

    def list_clients(
        self,
        search: str = "",
        *,
        tag: str | None = None,
        operator: str | None = None,
        offset: int = 0,
        limit: int | None = 100,
    ) -> list[ClientRecord]:
        query = self._client_query(search, tag, operator).order_by(Client.id)
        if limit is not None:
            query = query.offset(offset).limit(limit)
        return [self._client(row) for row in query]

    def count_clients(
        self, search: str = "", *, tag: str | None = None, operator: str | None = None
    ) -> int:
        return self._client_query(search, tag, operator).count()

    def distinct_tags(self) -> list[str]:
        query = Client.select(Client.tag).where(Client.tag != "").distinct().order_by(Client.tag)
        return [row.tag for row in query]

    def distinct_operators(self) -> list[str]:
        query = Client.select(Client.operator_code).distinct().order_by(Client.operator_code)
        return [row.operator_code for row in query]

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
            if "__bad__" in row:
                errors.append((line, ValidationError("row", row["__bad__"])))
                continue
            try:
                fields = rules.validate_client(
                    row.get("phone") or "",
                    row.get("tag"),
                    row.get("timezone") or self.default_timezone,
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
        self._bulk_insert_clients(to_insert)
        return ImportResult(len(to_insert), [(line, str(err)) for line, err in errors])

    def _existing_phones(self, phones: list[str]) -> set[str]:
        # One statement, one JSON parameter: peewee would build an IN (...) node per
        # phone, which cost more than validating the rows (bench/store.py).
        if not phones:
            return set()
        cursor = self.db.execute_sql(
            "SELECT phone FROM client WHERE phone IN (SELECT value FROM json_each(?))",
            (json.dumps(phones),),
        )
        return {phone for (phone,) in cursor}

    @writes
    def _bulk_insert_clients(self, items: list[rules.ClientFields]) -> None:
        now = self.clock().timestamp()
        self.db.cursor().executemany(
            "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(f.phone, f.operator_code, f.tag, f.timezone, now) for f in items],
        )
        # Clients imported during a live mailing get their messages (rule 2), in SQL.
        for mailing in self._live_mailings(self.clock()) if items else []:
            self._materialize(mailing, self.clock())

    def import_csv(self, path: Path | str, *, skip_invalid: bool = False) -> ImportResult:
        """Import clients from a CSV with header ``phone,tag,timezone[,operator_code]``."""
        return self.import_rows(read_client_csv(path), skip_invalid=skip_invalid)

    def export_csv(self, path: Path | str) -> int:
        """Write every client in the import format; returns the row count."""
        count = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([*_IMPORT_HEADER, "operator_code"])
            cursor = self.db.execute_sql(
                "SELECT phone, tag, timezone, operator_code FROM client ORDER BY id"
            )
            for row in cursor:
                writer.writerow(row)
                count += 1
        return count

    # --- mailings ------------------------------------------------------------

    @staticmethod
    def _filter(mailing: Mailing) -> AudienceFilter:
        return AudienceFilter(
            frozenset(json.loads(mailing.operator_codes)), frozenset(json.loads(mailing.tags))
        )

    def _mailing(self, row: Mailing, counts: dict[str, int] | None = None) -> MailingRecord:
        counts = counts if counts is not None else stats.counts_for(self.db, row.id)
        total = sum(counts.values())
        open_count = counts.get("pending", 0) + counts.get("sending", 0)
        state = rules.mailing_state(
            start_at=row.start_at,
            end_at=row.end_at,
            paused=row.paused,
            cancelled=row.cancelled,
            now=self.clock(),
            total=total,
            open_count=open_count,
        )
        return MailingRecord(
            id=row.id,
            start_at=row.start_at,
            end_at=row.end_at,
            text=row.text,
            operator_codes=tuple(sorted(json.loads(row.operator_codes))),
            tags=tuple(sorted(json.loads(row.tags))),
            window=row.window,
            paused=row.paused,
            cancelled=row.cancelled,
            created_at=row.created_at,
            state=state,
            total=total,
            by_status=counts,
        )

    def _mailing_row(self, mailing_id: int) -> Mailing:
        row = Mailing.get_or_none(Mailing.id == mailing_id)
        if row is None:
            raise NotFoundError("mailing", mailing_id)
        return row

    def get_mailing(self, mailing_id: int) -> MailingRecord:
        return self._mailing(self._mailing_row(mailing_id))

    def list_mailings(self) -> list[MailingRecord]:
        counts = stats.counts_by_mailing(self.db)
        rows = Mailing.select().order_by(Mailing.start_at.desc(), Mailing.id.desc())
        return [self._mailing(row, counts.get(row.id, {})) for row in rows]

    @writes
    def create_mailing(
        self,
        start_at: datetime,
        end_at: datetime,
        text: str,
        operator_codes: Iterable[str] = (),
        tags: Iterable[str] = (),
        window: str | None = None,
    ) -> MailingRecord:
        rules.validate_period(start_at, end_at)
        text = rules.validate_text(text)
        codes = rules.normalize_codes(operator_codes)
        tag_set = rules.normalize_tags(tags)
        parsed_window = rules.parse_window(window)
        now = self.clock()
        row = Mailing.create(
            start_at=start_at,
            end_at=end_at,
            text=text,
            operator_codes=json.dumps(sorted(codes)),
            tags=json.dumps(sorted(tag_set)),
            window=str(parsed_window) if parsed_window else None,
            created_at=now,
            updated_at=now,
        )
        return self._mailing(row, {})

    @writes
    def update_mailing(
        self,
        mailing_id: int,
        *,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        text: str | None = None,
        operator_codes: Iterable[str] | None = None,
        tags: Iterable[str] | None = None,
        window: str | None = None,
    ) -> MailingRecord:
        """Change a mailing; ``window=""`` removes the window, ``None`` keeps it."""
        row = self._mailing_row(mailing_id)
        new_start = start_at or row.start_at
        new_end = end_at or row.end_at
        rules.validate_period(new_start, new_end)
        row.start_at, row.end_at = new_start, new_end
        if text is not None:
            row.text = rules.validate_text(text)
        if operator_codes is not None:
            row.operator_codes = json.dumps(sorted(rules.normalize_codes(operator_codes)))
        if tags is not None:
            row.tags = json.dumps(sorted(rules.normalize_tags(tags)))
        if window is not None:
            parsed = rules.parse_window(window)
            row.window = str(parsed) if parsed else None
        row.updated_at = self.clock()
        row.save()
        if row.materialized_at is not None and not row.cancelled and row.end_at > self.clock():
            self._resync_mailing(row)
        return self._mailing(row)

    @writes
    def delete_mailing(self, mailing_id: int) -> None:
        self._mailing_row(mailing_id)
        Message.delete().where(Message.mailing == mailing_id).execute()
        Mailing.delete().where(Mailing.id == mailing_id).execute()

    @writes
    def pause_mailing(self, mailing_id: int) -> MailingRecord:
        row = self._mailing_row(mailing_id)
        self._require_open(row, "pause")
        row.paused = True
        row.save()
        return self._mailing(row)

    @writes
    def resume_mailing(self, mailing_id: int) -> MailingRecord:
        row = self._mailing_row(mailing_id)
        self._require_open(row, "resume")
        row.paused = False
        row.save()
        return self._mailing(row)

    @writes
    def cancel_mailing(self, mailing_id: int) -> MailingRecord:
        row = self._mailing_row(mailing_id)
        if row.cancelled:
            return self._mailing(row)
        row.cancelled = True
        row.save()
        Message.update(status=MessageStatus.CANCELLED, last_error="mailing cancelled").where(
            (Message.mailing == mailing_id) & (Message.status == MessageStatus.PENDING)
        ).execute()
        return self._mailing(row)

    def _require_open(self, row: Mailing, action: str) -> None:
        if row.cancelled:
            raise ValidationError("mailing", f"{row.id} is cancelled and cannot {action}")
        if row.end_at <= self.clock():
            raise ValidationError("mailing", f"{row.id} has ended and cannot {action}")

    def audience_count(self, operator_codes: Iterable[str] = (), tags: Iterable[str] = ()) -> int:
        """How many clients a draft filter selects (invalid entries raise)."""
        filt = AudienceFilter(rules.normalize_codes(operator_codes), rules.normalize_tags(tags))
        where, params = filt.sql()
        cursor = self.db.execute_sql(f"SELECT COUNT(*) FROM client c WHERE {where}", params)
        return int(cursor.fetchone()[0])

    def _materialize(self, mailing: Mailing, now: datetime) -> int:
        where, params = self._filter(mailing).sql()
        cursor = self.db.execute_sql(
            "INSERT OR IGNORE INTO message"
            " (mailing_id, client_id, phone, status, created_at, attempts, next_attempt_at)"
            f" SELECT ?, c.id, c.phone, 'pending', ?, 0, ? FROM client c WHERE {where}",
            [mailing.id, now.timestamp(), now.timestamp(), *params],
        )
        return cursor.rowcount

    def _resync_mailing(self, mailing: Mailing) -> None:
        now = self.clock()
        self._materialize(mailing, now)
        where, params = self._filter(mailing).sql()
        # Rule 2 both ways: a client that matches again gets back the message that was
        # cancelled only because it stopped matching (INSERT OR IGNORE skips that row).
        self.db.execute_sql(
            "UPDATE message SET status = 'pending', last_error = NULL"
            " WHERE mailing_id = ? AND status = 'cancelled'"
            " AND last_error = 'client no longer matches' AND client_id IN"
            f" (SELECT c.id FROM client c WHERE {where})",
            [mailing.id, *params],
        )
        self.db.execute_sql(
            "UPDATE message SET status = 'cancelled', last_error = 'client no longer matches'"
            " WHERE mailing_id = ? AND status = 'pending' AND client_id NOT IN"
            f" (SELECT c.id FROM client c WHERE {where})",
            [mailing.id, *params],
        )

    # --- messages ------------------------------------------------------------

    def get_message(self, message_id: int) -> MessageRecord:
        row = Message.get_or_none(Message.id == message_id)
        if row is None:
            raise NotFoundError("message", message_id)
        return stats.message_record(row)

    # --- statistics ----------------------------------------------------------

    def overall_stats(self) -> stats.OverallStats:
        return stats.OverallStats.from_mailings(self.list_mailings())

    def mailing_stats(
        self,
        mailing_id: int,
        *,
        status: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> stats.MailingDetail:
        """Counts and one page of messages; an unknown ``status`` is bad input, not "none"."""
        if status and status not in rules.ALL_STATUSES:
            raise ValidationError(
                "status", f"must be one of {', '.join(rules.ALL_STATUSES)}, got {status!r}"
            )
        if offset < 0:
            raise ValidationError("offset", f"must be 0 or more, got {offset}")
        if limit is not None and limit < 0:
            raise ValidationError("limit", f"must be 0 or more, got {limit}")
        self._mailing_row(mailing_id)
        return stats.detail(
            self.db, self.get_mailing(mailing_id), status=status, offset=offset, limit=limit
        )


def read_client_csv(path: Path | str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` from a client CSV, checking the header first."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            try:
                yield from _csv_rows(reader, path)
            except csv.Error as err:
                # A field over csv's size limit, say: bad input, not a crash.
                raise ValidationError(
                    "file", f"cannot read {path} at line {reader.line_num}: {err}"
                ) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ValidationError("file", f"cannot read {path}: {reason}") from None


def _csv_rows(reader: Any, path: Path | str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ValidationError("file", f"{path} is empty; expected a header line") from None
    if tuple(header[:3]) != _IMPORT_HEADER or header[3:] not in ([], ["operator_code"]):
        raise ValidationError(
            "header", f"must be phone,tag,timezone[,operator_code], got {','.join(header)}"
        )
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield reader.line_num, {"__bad__": f"expected {len(header)} columns, got {len(values)}"}
            continue
        yield reader.line_num, dict(zip(header, values, strict=True))
