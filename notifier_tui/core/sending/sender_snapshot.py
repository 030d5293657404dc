"""The sender's live snapshot and gateway health, built from its parts."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from notifier_tui.core import events as ev
from notifier_tui.core.defaults import DEFAULT_BASE_URL
from notifier_tui.core.events import BreakerState, GatewayHealth
from notifier_tui.core.reasons import ErrorClass

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender


def build_snapshot(sender: Sender) -> ev.SenderSnapshot:
    """What ``sender`` shows now: state, health, breaker, live rates and totals."""
    now_mono = sender._timer.monotonic()
    now = sender._clock()
    p50, p95 = sender.live.latency()
    probe = sender.breaker.probe_due_at
    return ev.SenderSnapshot(
        at=now,
        sending=sender.sends,
        holder=sender.holder,
        health=gateway_health(sender),
        breaker=sender.breaker.state,
        next_probe_at=now + timedelta(seconds=max(0.0, probe - now_mono))
        if probe is not None
        else None,
        in_flight=sender.in_flight,
        rate=sender.live.rate(now_mono),
        latency_p50=p50,
        latency_p95=p95,
        error_rate=sender.live.error_rate(now_mono),
        sent_total=sender.sent_total,
        failed_total=sender.failed_total,
        retries_total=sender.retries_total,
        credentials_error=sender.credentials_error,
        rate_history=sender.live.history(now_mono),
        requests_by_outcome=dict(sender.live.by_outcome),
        outcome_history=sender.live.outcome_history(now_mono),
        outcome_step=1.0,
        latency_history=sender.live.latency_history(now_mono),
        latency_step=float(sender.live.bucket_seconds),
        errors_by_class=sender.live.errors_by_class(now_mono),
        series_window=float(sender.live.history_seconds),
        gateway_problem=gateway_problem(sender.live.problem(now_mono)),
    )


PROBLEM_CHARS = 60
"""A problem's text is cut here: it shares the header's one line with who sends."""


def problem_text(kind: str, reason: str) -> str | None:
    """What the latest failure says of the gateway, in an operator's words.

    ``("connect", "connect error: name not resolved")`` reads ``unreachable:
    name not resolved``; a timeout ``timing out``; a 5xx ``failing: HTTP 503``.
    A 4xx other than 429 is about one message (a bad phone), not the gateway:
    ``None``.
    """
    if kind == ErrorClass.CONNECT.value:
        detail = reason.removeprefix("connect error: ") or "no connection"
        text = f"unreachable: {detail}"
    elif kind == ErrorClass.TIMEOUT.value:
        text = "timing out"
    elif kind == ErrorClass.HTTP_5XX.value:
        text = f"failing: {reason.split(':', 1)[0] or 'HTTP 5xx'}"
    elif kind == ErrorClass.HTTP_429.value:
        text = "throttling: HTTP 429"
    elif kind == ErrorClass.BAD_ANSWER.value:
        text = f"bad answers: {reason.removeprefix('bad answer: ')}"
    elif kind == ErrorClass.CREDENTIALS.value:
        text = "token rejected"
    elif kind == ErrorClass.OTHER.value:
        text = reason or "failing"
    else:
        return None
    return text if len(text) <= PROBLEM_CHARS else text[: PROBLEM_CHARS - 1] + "…"


def gateway_problem(latest: tuple[str, str] | None) -> str | None:
    return None if latest is None else problem_text(*latest)


def gateway_health(sender: Sender) -> GatewayHealth:
    """The gateway's health as ``sender`` sees it, worst reason first."""
    if sender.credentials_error is not None:
        return GatewayHealth.CREDENTIALS
    # "Not configured" only until a request says more: an unreachable default
    # gateway is reported as unreachable, with why (the header shows the problem).
    unset = not sender.config.token and sender.config.base_url == DEFAULT_BASE_URL
    if unset and not sender.live.by_outcome:
        return GatewayHealth.NOT_CONFIGURED
    if sender.breaker.state is not BreakerState.CLOSED:
        return GatewayHealth.DOWN
    if not sender.live.by_outcome:
        return GatewayHealth.UNKNOWN
    degraded = sender.live.error_rate(sender._timer.monotonic()) > 0.2
    return GatewayHealth.DEGRADED if degraded else GatewayHealth.OK
