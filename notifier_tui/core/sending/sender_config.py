"""The sender's knobs, one frozen dataclass (re-exported by :mod:`.sender`)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from notifier_tui.core.defaults import DEFAULT_BASE_URL
from notifier_tui.core.sending.breaker_config import BreakerConfig
from notifier_tui.core.sending.lease_keeper import LeaseSettings

__all__ = ["SenderConfig"]


@dataclass(frozen=True)
class SenderConfig:
    """The sender's knobs; see :class:`notifier_tui.settings.config.Settings` for their meaning."""

    base_url: str = DEFAULT_BASE_URL
    token: str = ""
    concurrency: int = 32
    rate_limit: float = 0.0
    shared_claims: bool = False
    """On a PostgreSQL store, send beside the other daemons instead of only as the lease
    holder (core/sending/claims.py); ignored on SQLite, where one process writes."""
    timeout: float = 5.0
    retry_base: float = 1.0
    retry_cap: float = 300.0
    breaker_threshold: int = 10
    breaker_cooldown: float = 5.0
    breaker_max_cooldown: float = 120.0
    breaker: BreakerConfig | None = None
    """The breaker's thresholds; when None, the three older knobs above are mapped
    onto them (:meth:`BreakerConfig.from_legacy`)."""
    lease_ttl: float = 5.0
    role: str = "ui"
    auto_takeover: bool = True
    """Take the lease when its holder dies; the UI sets False and asks the user."""
    stop_grace: float = 5.0
    """Seconds requests in flight get to finish when the sender stops."""
    stop_timeout: float = 8.0
    """Seconds a whole stop may take, whatever the store or the gateway does."""
    flush_interval: float = 0.05
    poll_interval: float = 0.5
    """How often another process's writes to the store are looked for."""
    credentials_probe_interval: float = 30.0
    """While the gateway refuses the token, one message tries it every this many seconds."""
    takeover_grace: float | None = None
    """Seconds a new holder waits after taking a live-looking lease over before recovering
    its ``sending`` messages; None: long enough for any request of the old holder to end."""

    def __repr__(self) -> str:
        # The token stays out of every repr, so no log line or traceback can carry it.
        return (
            f"SenderConfig(base_url={self.base_url!r}, concurrency={self.concurrency},"
            f" role={self.role!r})"
        )

    @property
    def breaker_config(self) -> BreakerConfig:
        """The breaker's thresholds: :attr:`breaker`, or the older knobs mapped onto them."""
        if self.breaker is not None:
            return self.breaker
        return BreakerConfig.from_legacy(
            self.breaker_threshold, self.breaker_cooldown, self.breaker_max_cooldown
        )

    @property
    def lease_settings(self) -> LeaseSettings:
        grace = self.takeover_grace
        if grace is None:
            # The old holder's last request ends within the gateway client's
            # deadline (twice the timeout); a flush interval later it is written.
            grace = 2 * self.timeout + self.flush_interval + 1.0
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        return LeaseSettings(owner, self.role, self.lease_ttl, self.auto_takeover, grace)
