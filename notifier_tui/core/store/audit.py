"""The audit trail in the store: one append-only row per operator action.

The facade writes a row in the same transaction as the change it records,
so a change is never without its row nor a row without its change. Triggers
(schema version 6) refuse to update or delete rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from notifier_tui.core.audit import Action, Actor, AuditEntry, Surface, to_change_json
from notifier_tui.core.store.base import Part, StoreContext
from notifier_tui.core.store.sqlutil import execute


class AuditTrail(Part):
    """Writes and reads ``audit_log``; :attr:`actor` says who acts through this store."""

    def __init__(self, ctx: StoreContext, surface: Surface | str = Surface.UI) -> None:
        super().__init__(ctx)
        self.actor = Actor.current(surface)

    @property
    def surface(self) -> Surface:
        return self.actor.surface

    @surface.setter
    def surface(self, value: Surface | str) -> None:
        self.actor = Actor(self.actor.os_user, self.actor.host, Surface(value))

    def record(
        self,
        action: Action,
        kind: str,
        object_id: int | None,
        change: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one row; call it inside the transaction of the change."""
        execute(
            self.db,
            "INSERT INTO audit_log (at, os_user, host, surface, action, object_kind, object_id,"
            " change) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.clock().timestamp(),
                self.actor.os_user,
                self.actor.host,
                self.actor.surface.value,
                action.value,
                kind,
                object_id,
                to_change_json(change or {}),
            ),
        )

    def entries(
        self,
        *,
        mailing_id: int | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Rows oldest first, optionally of one mailing and from ``since`` on.

        ``limit`` keeps the newest ``limit`` of them.
        """
        where: list[str] = ["1 = 1"]  # "WHERE 1" is SQLite only
        params: list[object] = []
        if mailing_id is not None:
            where.append("object_kind = 'mailing' AND object_id = ?")
            params.append(mailing_id)
        if since is not None:
            where.append("at >= ?")
            params.append(since.timestamp())
        sql = (
            "SELECT id, at, os_user, host, surface, action, object_kind, object_id, change"
            f" FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = execute(self.db, sql, params).fetchall()
        return [
            AuditEntry(
                row_id,
                datetime.fromtimestamp(at, UTC),
                user,
                host,
                surface,
                action,
                kind,
                object_id,
                json.loads(change),
            )
            for row_id, at, user, host, surface, action, kind, object_id, change in reversed(rows)
        ]
