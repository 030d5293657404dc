"""Plain dataclass events the sender emits, and the hub that hands them out.

Listeners subscribe with ``Sender.add_listener`` (an :class:`EventHub`). The UI
wraps the events in Textual messages (``ui/bridge.py``); the daemon logs and
counts them for metrics. Nothing here knows about either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

log = logging.getLogger("notifier_tui.sender")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class GatewayHealth(StrEnum):
    """What the header shows about the gateway."""

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    CREDENTIALS = "credentials rejected"
    NOT_CONFIGURED = "not configured"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class MailingStarted:
    mailing_id: int
    messages_created: int


@dataclass(frozen=True, slots=True)
class MessageSent:
    message_id: int
    mailing_id: int
    latency: float


@dataclass(frozen=True, slots=True)
class MessageFailed:
    """A permanent failure: the message is final."""

    message_id: int
    mailing_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    message_id: int
    mailing_id: int
    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class MessagesFinalized:
    """Pending messages expired at a mailing's end, or cancelled with it."""

    status: str
    count: int


@dataclass(frozen=True, slots=True)
class BreakerChanged:
    state: BreakerState
    next_probe_at: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class CredentialsRejected:
    """The gateway refused our token: all dispatch stops until it changes or resumes."""

    status_code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class DispatchResumed:
    reason: str


@dataclass(frozen=True, slots=True)
class LeaseChanged:
    """Whether this process sends, and if not, who does (``holder`` is a description)."""

    ours: bool
    holder: str | None


@dataclass(frozen=True, slots=True)
class SenderError:
    """Background work failed unexpectedly; it was logged and will be retried."""

    where: str
    error: str


@dataclass(frozen=True, slots=True)
class WorkerView:
    """One sender process of the store as its registry row tells (core/store/workers.py)."""

    host: str
    pid: int
    role: str
    leader: bool
    """Holds the lease: does the store-wide work."""
    sending: bool
    rate: float
    breaker: BreakerState
    in_flight: int
    age: float
    """Seconds since its last heartbeat."""

    def describe(self) -> str:
        return f"{self.role} pid {self.pid} on {self.host}"


class OutcomeRates(NamedTuple):
    """Messages per second over one step of a series, by what became of each request."""

    accepted: float
    retried: float
    """Not accepted, tried again later (a transient failure with time left, a refused token)."""
    failed: float
    """Not accepted, and final: failed for good, or expired with no retry before the end."""


class LatencyPoint(NamedTuple):
    """Latency percentiles of the answered requests of one step, in seconds."""

    p50: float | None
    p95: float | None
    """Both ``None`` when no request of the step got an answer."""


@dataclass(frozen=True, slots=True)
class SenderSnapshot:
    """A once-a-second summary for live screens and metrics."""

    at: datetime
    sending: bool
    holder: str | None
    health: GatewayHealth
    breaker: BreakerState
    next_probe_at: datetime | None
    in_flight: int
    rate: float
    """Messages accepted per second over the last few seconds."""
    latency_p50: float | None
    latency_p95: float | None
    error_rate: float
    """Share of failed requests over the last minute (0..1)."""
    sent_total: int
    failed_total: int
    retries_total: int
    credentials_error: str | None
    rate_history: tuple[float, ...] = field(default_factory=tuple)
    """Accepted messages per second, one value per second, oldest first (up to 5 minutes)."""
    requests_by_outcome: dict[str, int] = field(default_factory=dict)
    figures_of: str | None = None
    """Whose figures these are when another process sends (``daemon pid 4242 on host``)."""
    workers: tuple[WorkerView, ...] = ()
    """Every live sender process of the store, the leader first (read from the store)."""
    outcome_history: tuple[OutcomeRates, ...] = ()
    """Messages per second by outcome, oldest first, one per ``outcome_step`` seconds
    ending at the last complete one (up to ``series_window``)."""
    outcome_step: float = 1.0
    latency_history: tuple[LatencyPoint, ...] = ()
    """Latency of answered requests, oldest first, one per ``latency_step`` seconds;
    the last one is the step under way."""
    latency_step: float = 10.0
    errors_by_class: dict[str, int] = field(default_factory=dict)
    """Requests not accepted over the last ``series_window`` seconds, by error class."""
    series_window: float = 300.0
    """Seconds the three series above span at most."""
    gateway_problem: str | None = None
    """What is wrong with the gateway, in words (``unreachable: name not resolved``,
    ``timing out``, ``HTTP 503``), from the latest failed request of the last minute;
    ``None`` when the latest request was accepted or nothing failed lately."""


Event = (
    MailingStarted
    | MessageSent
    | MessageFailed
    | RetryScheduled
    | MessagesFinalized
    | BreakerChanged
    | CredentialsRejected
    | DispatchResumed
    | LeaseChanged
    | SenderError
    | SenderSnapshot
)


Listener = Callable[[Event], None]


class EventHub:
    """The one way to follow a sender: :meth:`add` a callback, every event reaches it.

    A callback that raises is logged and skipped: a broken listener must not
    stop the sending, nor keep the other listeners from hearing the news.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def remove(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def emit(self, event: Event) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                log.exception("event listener failed on %s", type(event).__name__)
