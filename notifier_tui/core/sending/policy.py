"""What one gateway answer does to a message: docs/gateway.md's table as a pure function.

:func:`judge` takes the answer, the message's attempts so far, the time, the
mailing's end and the retry settings, and returns a :class:`Verdict`: the
message's next status, the delay before a retry, the event to report, the
error class and whether the answer says the gateway is up. It touches nothing:
the workers apply the verdict (breaker, counters, events, logs).

================  ===========================================  ==============
answer            next status                                  gateway
================  ===========================================  ==============
accepted          ``sent``                                     up
credentials       ``pending``, uncharged: all dispatch stops   up
permanent         ``failed``                                   up
transient         ``pending`` after a backoff, or ``expired``  down
                  when no retry fits before the end
================  ===========================================  ==============

The backoff and its cap relative to the end are :mod:`.backoff`'s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.sending.backoff import retry_delay
from notifier_tui.core.sending.gateway import GatewayResult, OutcomeClass


class Step(enum.StrEnum):
    """What happened to the message, for events, counters and logs."""

    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    EXPIRED = "expired"
    CREDENTIALS = "credentials"
    RELEASED = "released"
    """Handed back untried (stopping, lease late, breaker open): costs no attempt."""


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """The backoff's knobs (``SenderConfig.retry_base`` and ``retry_cap``)."""

    base: float
    cap: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """The next state of one message; :meth:`outcome` is what the store is told.

    Attributes:
        step: What happened.
        status: The message's next status.
        charge: Whether the try counts as an attempt.
        reason: The text for ``last_error`` (None leaves it as it was).
        error_class: The class stored beside ``reason``.
        delay: Seconds until the retry (``Step.RETRY`` only).
        next_attempt_at: When the message is due again (pending only).
        sent_at: When the gateway accepted it (``Step.SENT`` only).
        gateway_up: True if the answer shows the gateway working, False for a
            transient failure, None when no request was made.
    """

    step: Step
    status: MessageStatus
    charge: bool = True
    reason: str | None = None
    error_class: ErrorClass | None = None
    delay: float | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    gateway_up: bool | None = None

    def outcome(self, message_id: int) -> Outcome:
        """The record the write-behind buffer stores for this verdict."""
        return make_outcome(
            message_id,
            self.status,
            charge=self.charge,
            sent_at=self.sent_at,
            last_error=self.reason,
            next_attempt_at=self.next_attempt_at,
            error_class=self.error_class,
        )


def make_outcome(
    message_id: int,
    status: str,
    *,
    charge: bool = True,
    sent_at: datetime | None = None,
    last_error: str | None = None,
    next_attempt_at: datetime | None = None,
    error_class: ErrorClass | None = None,
) -> Outcome:
    """An :class:`Outcome` (one place builds them, so every field is passed alike)."""
    return Outcome(
        message_id,
        status,
        charge=charge,
        sent_at=sent_at,
        last_error=last_error,
        next_attempt_at=next_attempt_at,
        error_class=error_class,
    )


def judge(
    result: GatewayResult,
    *,
    attempts: int,
    now: datetime,
    end: datetime,
    retry: RetrySettings,
    jitter: float,
) -> Verdict:
    """The next state of a message after one answer of the gateway.

    Args:
        result: What the gateway did with the request.
        attempts: Attempts charged before this one.
        now: The time the answer came.
        end: The mailing's end: no request starts at or after it.
        retry: The backoff's knobs.
        jitter: A uniform draw in ``[0, 1]`` for the backoff's jitter.
    """
    cls = result.error_class
    if result.outcome is OutcomeClass.ACCEPTED:
        return Verdict(Step.SENT, MessageStatus.SENT, sent_at=now, gateway_up=True)
    if result.outcome is OutcomeClass.CREDENTIALS:
        # Our token is wrong, not the message: it waits, uncharged, for the fix.
        return Verdict(
            Step.CREDENTIALS,
            MessageStatus.PENDING,
            charge=False,
            reason=result.reason,
            error_class=cls,
            next_attempt_at=now,
            gateway_up=True,
        )
    if result.outcome is OutcomeClass.PERMANENT:
        return Verdict(
            Step.FAILED,
            MessageStatus.FAILED,
            reason=result.reason,
            error_class=cls,
            gateway_up=True,
        )
    delay = retry_delay(
        attempts + 1,
        retry.base,
        retry.cap,
        jitter,
        time_left=(end - now).total_seconds(),
        retry_after=result.retry_after,
    )
    if delay is None:
        return Verdict(
            Step.EXPIRED,
            MessageStatus.EXPIRED,
            reason=result.reason,
            error_class=cls,
            gateway_up=False,
        )
    return Verdict(
        Step.RETRY,
        MessageStatus.PENDING,
        reason=result.reason,
        error_class=cls,
        delay=delay,
        next_attempt_at=now + timedelta(seconds=delay),
        gateway_up=False,
    )


def too_late() -> Verdict:
    """The message's end came before its request could start (docs/domain.md rule 3)."""
    cls = ErrorClass.NOT_SENT_BEFORE_END
    return Verdict(
        Step.EXPIRED, MessageStatus.EXPIRED, charge=False, reason=reason_text(cls), error_class=cls
    )


def released(
    now: datetime, reason: str | None = None, error_class: ErrorClass | None = None
) -> Verdict:
    """Back to ``pending`` untried and uncharged, due at once."""
    return Verdict(
        Step.RELEASED,
        MessageStatus.PENDING,
        charge=False,
        reason=reason,
        error_class=error_class,
        next_attempt_at=now,
    )
