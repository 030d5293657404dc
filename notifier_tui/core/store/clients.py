"""Clients: validated create, change, delete, and the searches the screens run."""

from __future__ import annotations

from typing import Any

import peewee as pw

from notifier_tui.core import rules
from notifier_tui.core.errors import ConflictError, NotFoundError, ValidationError
from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.records import ClientRecord
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store import dialect
from notifier_tui.core.store.audience import Audience
from notifier_tui.core.store.base import Part, StoreContext
from notifier_tui.core.store.csvio import write_client_csv
from notifier_tui.core.store.schema import Client, Message
from notifier_tui.core.store.sqlutil import execute, writes

SORT_COLUMNS: dict[str, pw.Field[Any]] = {
    "id": Client.id,
    "phone": Client.phone,
    "operator": Client.operator_code,
    "tag": Client.tag,
    "timezone": Client.timezone,
}
"""What a client list may be sorted by (``order``), and the column each name sorts on."""


class UnknownOrderError(ValidationError, ValueError):
    """An ``order`` that is not a sortable column: bad input, like a bad field value."""

    def __init__(self, order: str) -> None:
        names = ", ".join(SORT_COLUMNS)
        super().__init__(
            "order",
            f"cannot sort by {order!r}: use one of {names}, with a leading '-' for descending",
        )


def order_by(order: str) -> list[pw.Ordering]:
    """``ORDER BY`` terms for ``order`` (``"tag"``, ``"-tag"``...), id breaking every tie.

    The tie-break gives each client one place in the order, so paging by offset
    never shows a client twice or skips one; descending is the exact reverse.

    Raises:
        UnknownOrderError: ``order`` names no sortable column (a ``ValueError``).
    """
    descending = order.startswith("-")
    name = order[1:] if descending else order
    column = SORT_COLUMNS.get(name)
    if column is None:
        raise UnknownOrderError(order)
    columns = [column] if column is Client.id else [column, Client.id]
    return [c.desc() if descending else c.asc() for c in columns]


def client_record(row: Client) -> ClientRecord:
    return ClientRecord(row.id, row.phone, row.operator_code, row.tag, row.timezone, row.created_at)


class Clients(Part):
    """The client table, kept in step with live mailings through :class:`Audience`."""

    def __init__(self, ctx: StoreContext, audience: Audience) -> None:
        super().__init__(ctx)
        self.audience = audience

    def _row(self, client_id: int) -> Client:
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

    def get(self, client_id: int) -> ClientRecord:
        return client_record(self._row(client_id))

    @writes
    def create(
        self,
        phone: str,
        tag: str | None = "",
        timezone: str | None = None,
        operator_code: str | None = None,
    ) -> ClientRecord:
        fields = rules.validate_client(
            phone, tag, timezone or self.ctx.default_timezone, operator_code
        )
        self._check_phone_free(fields.phone)
        row = Client.create(
            phone=fields.phone,
            operator_code=fields.operator_code,
            tag=fields.tag,
            timezone=fields.timezone,
            created_at=self.clock(),
        )
        self.audience.sync_client(row)
        return client_record(row)

    @writes
    def update(
        self,
        client_id: int,
        *,
        phone: str | None = None,
        tag: str | None = None,
        timezone: str | None = None,
        operator_code: str | None = None,
    ) -> ClientRecord:
        row = self._row(client_id)
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
        self.audience.sync_client(row)
        return client_record(row)

    @writes
    def delete(self, client_id: int) -> None:
        self._row(client_id)
        # Rule 2: a pending message whose client is gone is cancelled; sent ones stay.
        Message.update(
            status=MessageStatus.CANCELLED,
            last_error=reason_text(ErrorClass.CLIENT_DELETED),
            error_class=ErrorClass.CLIENT_DELETED,
        ).where((Message.client == client_id) & (Message.status == MessageStatus.PENDING)).execute()
        Client.delete().where(Client.id == client_id).execute()

    def _query(self, search: str, tag: str | None, operator: str | None) -> pw.ModelSelect[Client]:
        query = Client.select()
        needle = search.strip().lower()
        if needle:
            # instr, not LIKE: a search for "_" or "%" means those characters.
            instr = dialect.instr(self.db)
            query = query.where(
                (instr(Client.phone, needle) > 0)
                | (instr(pw.fn.lower(Client.tag), needle) > 0)
                | (instr(pw.fn.lower(Client.timezone), needle) > 0)
            )
        if tag is not None:
            query = query.where(Client.tag == tag)
        if operator is not None:
            query = query.where(Client.operator_code == operator)
        return query

    def page(
        self,
        search: str = "",
        *,
        tag: str | None = None,
        operator: str | None = None,
        offset: int = 0,
        limit: int | None = 100,
        order: str = "id",
    ) -> list[ClientRecord]:
        """One page of the matching clients in ``order`` (see :func:`order_by`)."""
        ordering = order_by(order)  # before any query: a bad order reads nothing
        query = self._query(search, tag, operator).order_by(*ordering)
        if limit is not None:
            query = query.offset(offset).limit(limit)
        return [client_record(row) for row in query]

    def count(
        self, search: str = "", *, tag: str | None = None, operator: str | None = None
    ) -> int:
        return int(self._query(search, tag, operator).count())

    def distinct_tags(self) -> list[str]:
        query = Client.select(Client.tag).where(Client.tag != "").distinct().order_by(Client.tag)
        return [row.tag for row in query]

    def distinct_operators(self) -> list[str]:
        query = Client.select(Client.operator_code).distinct().order_by(Client.operator_code)
        return [row.operator_code for row in query]

    def export_csv(self, path: str) -> int:
        """Write every client in the import format; returns the row count."""
        cursor = execute(
            self.db, "SELECT phone, tag, timezone, operator_code FROM client ORDER BY id"
        )
        return write_client_csv(path, cursor)
