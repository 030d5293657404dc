"""Plain, immutable records the store hands out.

Callers (UI, command line, sender) never see peewee objects, so no caller can
touch the database outside the store's thread by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.rules import MailingState, MessageStatus
from notifier_tui.core.segments import SegmentCount, count_segments

OPEN_STATUSES: tuple[str, ...] = (MessageStatus.PENDING.value, MessageStatus.SENDING.value)
"""Statuses of a message still to be sent or in flight: "open" means these, everywhere."""


def open_count(by_status: dict[str, int]) -> int:
    """How many of ``{status: count}`` are still open (pending or sending)."""
    return sum(by_status.get(status, 0) for status in OPEN_STATUSES)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: int
    phone: str
    operator_code: str
    tag: str
    timezone: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies and was most of the cost
        # of listing 20k clients as JSON.
        return {
            "id": self.id,
            "phone": self.phone,
            "operator_code": self.operator_code,
            "tag": self.tag,
            "timezone": self.timezone,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class MailingRecord:
    id: int
    start_at: datetime
    end_at: datetime
    text: str
    operator_codes: tuple[str, ...]
    tags: tuple[str, ...]
    window: str | None
    paused: bool
    cancelled: bool
    created_at: datetime
    state: MailingState
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def final(self) -> int:
        """Messages in a final status."""
        return sum(self.by_status.values()) - open_count(self.by_status)

    @property
    def segments(self) -> SegmentCount:
        """What its text costs per message, as the operator bills it."""
        return count_segments(self.text)

    @property
    def segments_sent(self) -> int:
        """Segments billed for its sent messages."""
        return self.segments.segments * self.by_status.get(MessageStatus.SENT.value, 0)

    def to_json(self) -> dict[str, Any]:
        seg = self.segments
        return {
            "id": self.id,
            "text": self.text,
            "encoding": str(seg.encoding),
            "segments": seg.segments,
            "segments_sent": self.segments_sent,
            "start_at": _iso(self.start_at),
            "end_at": _iso(self.end_at),
            "operator_codes": list(self.operator_codes),
            "tags": list(self.tags),
            "window": self.window,
            "paused": self.paused,
            "cancelled": self.cancelled,
            "created_at": _iso(self.created_at),
            "state": str(self.state),
            "total": self.total,
            "by_status": dict(self.by_status),
        }


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    mailing_id: int
    client_id: int | None
    phone: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    error_class: str | None = None
    """One of :class:`~notifier_tui.core.reasons.ErrorClass`, beside ``last_error``."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_id": self.client_id,
            "phone": self.phone,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "sent_at": _iso(self.sent_at),
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt_at": _iso(self.next_attempt_at),
            "error_class": self.error_class,
        }


@dataclass(frozen=True, slots=True)
class Claim:
    """A message claimed for sending (now ``sending`` in the store)."""

    id: int
    mailing_id: int
    client_id: int | None
    phone: str
    text: str
    end_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed message, to be written in a batch.

    ``charge`` says whether the try counts as an attempt: a message handed back
    because the breaker opened or the program stops costs nothing.
    """

    id: int
    status: str
    charge: bool = True
    sent_at: datetime | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    error_class: ErrorClass | None = None
    """The class of ``last_error``; written with it (a text without a class clears it)."""


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    owner: str
    pid: int
    host: str
    role: str
    acquired_at: datetime
    heartbeat_at: datetime

    def describe(self) -> str:
        return f"{self.role} pid {self.pid} on {self.host}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    errors: list[tuple[int, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "errors": [{"line": line, "error": err} for line, err in self.errors],
        }
