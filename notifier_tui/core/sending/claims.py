"""Shared claims: several senders on one PostgreSQL store, each sending its own messages.

On SQLite one process sends, the lease holder. On PostgreSQL every daemon
sends: each claims due messages with ``FOR UPDATE SKIP LOCKED``, so no message
is claimed twice, and each claim names its owner and carries an expiry
(core/store/dispatch.py). The lease stays, as the *leader* role: only the
leader materialises audiences, expires and cancels at the end, sends the
daily report, cleans the worker registry and hands out rate shares.

:class:`SharedClaims` keeps this process's claims alive: once a second, on the
store's thread, it renews the expiry of every claim it holds and gives back
(to ``pending``, same id) every claim whose expiry passed, so the messages of
a worker killed with -9 are sent by the others once its claims expire, with
nobody restarting. A process whose renewals stop landing (a store it cannot
reach) stops claiming and starting requests before its claims could expire
under it: that is :meth:`may_send`, the shared mode's answer to the lease's
freshness.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections.abc import Callable
from datetime import datetime

from notifier_tui.core.sending.local_process import gone_here
from notifier_tui.core.sending.timer import Timer
from notifier_tui.core.store import Store, dialect
from notifier_tui.core.store import workers as registry

__all__ = ["SharedClaims", "claim_ttl_for", "supports_shared_claims"]

log = logging.getLogger("notifier_tui.sender")

RENEW_INTERVAL = 1.0
"""Seconds between renewals (and looks for expired claims)."""
FRESH_SHARE = 0.5
"""Share of the claim TTL after a renewal during which this process may start requests."""


def supports_shared_claims(store: Store) -> bool:
    """PostgreSQL, with claims that name their owner and expire (not SQLite: one writer)."""
    return dialect.is_postgres(store.db) and hasattr(store, "expire_claims")


def claim_ttl_for(lease_ttl: float, request_timeout: float) -> float:
    """A claim outlives a request in flight and several missed renewals."""
    return max(10.0, 4 * lease_ttl, 2 * request_timeout + 2 * RENEW_INTERVAL)


def dead_here(owner: str, host: str) -> bool:
    """A claim owner (``host:pid:tag``) on this host whose process is gone.

    Anything else (another host, a pid that lives, an owner in another form)
    is left to the claim's expiry: a pid reused by another process only delays
    the give-back, it never gives back a live worker's claims.
    """
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False
    return gone_here(host, int(parts[1]))


def _renew_and_expire(store: Store, owner: str, now: datetime) -> tuple[int, list[int]]:
    """On the store's thread: push our claims' expiry back, give back others' expired ones.

    Claims of a worker on this host whose process is gone (kill -9, then a
    restart under ``--workers`` or systemd) are due at once: no need to wait
    out their expiry when the kernel says their owner is dead.
    """
    renewed = store.renew_claims(now)
    reg = registry.for_store(store)
    host = socket.gethostname()
    for other in registry.claim_owners(reg):
        if other != owner and dead_here(other, host):
            given = registry.expire_now(reg, other, now)
            log.info("claims of %s (process gone): %d due back now", other, given)
    expired = store.expire_claims(now)
    return renewed, expired


class SharedClaims:
    """This process's claims on a store several senders share."""

    def __init__(
        self, store: Store, owner: str, ttl: float, *, timer: Timer, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.owner = owner
        self.ttl = ttl
        self._timer = timer
        self._clock = clock
        self._fresh_until = -math.inf
        self.expired_total = 0
        """Claims of other (dead) workers this process gave back."""
        store.set_claimant(owner, ttl)

    def may_send(self) -> bool:
        """Whether the last renewal is recent enough to claim and start requests."""
        return self._timer.monotonic() < self._fresh_until

    async def renew(self) -> None:
        submitted = self._timer.monotonic()
        renewed, expired = await self.store.run(
            _renew_and_expire, self.store, self.owner, self._clock()
        )
        # Judged from when the renewal was asked for: it may have waited on the store.
        self._fresh_until = submitted + FRESH_SHARE * self.ttl
        if expired:
            self.expired_total += len(expired)
            log.warning(
                "%d expired claim(s) of a worker that stopped renewing given back to pending",
                len(expired),
            )
        log.debug("claims renewed: %d", renewed)

    async def run(self) -> None:
        while True:
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next renewal tries again; may_send turns False meanwhile
                log.exception("renewing this worker's claims failed")
            await self._timer.sleep(RENEW_INTERVAL)
