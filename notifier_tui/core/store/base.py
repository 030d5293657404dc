"""What every part of the store shares: one connection, one clock, the listeners.

The facade (:class:`~notifier_tui.core.store.facade.Store`) builds one
:class:`StoreContext` and hands it to each part; the parts never reach into
each other except through the references they are given.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import peewee as pw


@dataclass(slots=True)
class StoreContext:
    """The state the parts of one open store share."""

    db: pw.Database
    clock: Callable[[], datetime]
    default_timezone: str
    notify: Callable[[], None]
    """Tells the store's listeners that a write committed."""
    lease_epoch: int | None = None
    """The epoch of the sender lease this store holds, if it took one (see lease.py)."""
    claim_owner: str = field(default_factory=lambda: default_claim_owner())
    """Who this store's claims belong to: ``host:pid:random`` unless the sender names itself."""
    claim_ttl: float = 120.0
    """Seconds a claim stays this owner's without being renewed (see dispatch.expire_claims)."""


def default_claim_owner() -> str:
    """``host:pid:random``: unique across hosts, and across a pid reused after a restart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Part:
    """One job of the store (clients, mailings, claims, ...) over the shared context."""

    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    @property
    def db(self) -> pw.Database:
        return self.ctx.db

    def clock(self) -> datetime:
        return self.ctx.clock()

    def _notify(self) -> None:
        self.ctx.notify()
