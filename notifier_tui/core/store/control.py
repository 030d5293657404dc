"""Store-wide sender controls: the credentials stop every sender of a store obeys.

A 401/403 seen by one sender means the token is refused for all of them:
that sender writes the flag here (with the reason), and every sender of the
store reads it about once a second and stops dispatch too. Whoever clears
the flag (``notifier-tui sender resume``, the UI's resume key, a sender
given a new token, a sender whose probe got through) resumes them all.

The flag lives in the ``meta`` table, which every store has, so no schema
step is needed for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from notifier_tui.core.store.base import Part
from notifier_tui.core.store.schema import set_meta
from notifier_tui.core.store.sqlutil import execute

if TYPE_CHECKING:
    from notifier_tui.core.store.facade import Store

__all__ = ["CREDENTIALS_KEY", "CredentialsFlag", "SenderControl"]

CREDENTIALS_KEY = "credentials_stop"


@dataclass(frozen=True, slots=True)
class CredentialsFlag:
    """A credentials stop in force for the whole store."""

    reason: str
    by: str
    """Who saw the refusal (``daemon pid 4242 on host``)."""
    at: datetime


class SenderControl(Part):
    """Read, set and clear the store-wide credentials stop."""

    def credentials_stop(self) -> CredentialsFlag | None:
        row = execute(
            self.db, "SELECT value FROM meta WHERE key = ?", (CREDENTIALS_KEY,)
        ).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
            return CredentialsFlag(
                str(data["reason"]), str(data["by"]), datetime.fromtimestamp(data["at"], UTC)
            )
        except (ValueError, KeyError, TypeError):
            # Unreadable, but a stop all the same: better stopped than sending on a bad token.
            return CredentialsFlag("credentials refused", "unknown", self.clock())

    def stop_for_credentials(self, reason: str, by: str) -> bool:
        """Set the flag unless one is set; True when this call set it."""
        with self.db.atomic("IMMEDIATE"):
            if self.credentials_stop() is not None:
                return False
            value = json.dumps({"reason": reason, "by": by, "at": self.clock().timestamp()})
            set_meta(self.db, CREDENTIALS_KEY, value)
        return True

    def clear_credentials_stop(self) -> CredentialsFlag | None:
        """Lift the stop for every sender; returns the flag that was set, if any."""
        with self.db.atomic("IMMEDIATE"):
            flag = self.credentials_stop()
            if flag is not None:
                execute(self.db, "DELETE FROM meta WHERE key = ?", (CREDENTIALS_KEY,))
        return flag


def for_store(store: Store) -> SenderControl:
    """This part over an open store's shared context (the facade does not build it)."""
    return SenderControl(store.leases.ctx)
