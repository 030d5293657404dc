"""The outcome policy as a table: one gateway answer in, the message's next state out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier_tui.core.reasons import ErrorClass, reason_text
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.sending.backoff import END_SHARE, backoff_delay, retry_delay
from notifier_tui.core.sending.gateway import GatewayResult, OutcomeClass
from notifier_tui.core.sending.policy import RetrySettings, Step, judge, released, too_late

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = NOW + timedelta(hours=1)
RETRY = RetrySettings(base=1.0, cap=300.0)


def answer(
    outcome: OutcomeClass,
    code: int | None,
    reason: str,
    cls: ErrorClass | None,
    retry_after: float | None = None,
) -> GatewayResult:
    return GatewayResult(outcome, code, reason, retry_after, 0.01, cls)


OK = answer(OutcomeClass.ACCEPTED, 200, "OK", None)
E401 = answer(OutcomeClass.CREDENTIALS, 401, "HTTP 401", ErrorClass.CREDENTIALS)
E400 = answer(OutcomeClass.PERMANENT, 400, "HTTP 400: bad phone", ErrorClass.HTTP_4XX)
E500 = answer(OutcomeClass.TRANSIENT, 500, "HTTP 500", ErrorClass.HTTP_5XX)
TIMEOUT = answer(OutcomeClass.TRANSIENT, None, "timeout", ErrorClass.TIMEOUT)
GARBAGE = answer(OutcomeClass.TRANSIENT, 200, "bad answer: not JSON", ErrorClass.BAD_ANSWER)


def e429(after: float) -> GatewayResult:
    return answer(OutcomeClass.TRANSIENT, 429, "HTTP 429", ErrorClass.HTTP_429, after)


# (name, answer, attempts before, time left before the end, jitter,
#  step, status, charged, error class, delay)
TABLE = [
    ("accepted", OK, 0, 3600, 0.5, Step.SENT, MessageStatus.SENT, True, None, None),
    ("accepted late in life", OK, 7, 1, 0.5, Step.SENT, MessageStatus.SENT, True, None, None),
    (
        "401 waits uncharged",
        E401,
        2,
        3600,
        0.5,
        Step.CREDENTIALS,
        MessageStatus.PENDING,
        False,
        ErrorClass.CREDENTIALS,
        None,
    ),
    (
        "400 fails for good",
        E400,
        0,
        3600,
        0.5,
        Step.FAILED,
        MessageStatus.FAILED,
        True,
        ErrorClass.HTTP_4XX,
        None,
    ),
    (
        "500, first failure: up to base",
        E500,
        0,
        3600,
        1.0,
        Step.RETRY,
        MessageStatus.PENDING,
        True,
        ErrorClass.HTTP_5XX,
        1.0,
    ),
    (
        "500, fourth failure: base * 2**3",
        E500,
        3,
        3600,
        1.0,
        Step.RETRY,
        MessageStatus.PENDING,
        True,
        ErrorClass.HTTP_5XX,
        8.0,
    ),
    (
        "full jitter can retry at once",
        TIMEOUT,
        3,
        3600,
        0.0,
        Step.RETRY,
        MessageStatus.PENDING,
        True,
        ErrorClass.TIMEOUT,
        0.0,
    ),
    (
        "the cap bounds the growth",
        E500,
        20,
        3600,
        1.0,
        Step.RETRY,
        MessageStatus.PENDING,
        True,
        ErrorClass.HTTP_5XX,
        300.0,
    ),
    (
        "a minute left: half of it at most, not the 300 s cap",
        GARBAGE,
        20,
        60,
        1.0,
        Step.RETRY,
        MessageStatus.PENDING,
        True,
        ErrorClass.BAD_ANSWER,
        30.0,
    ),
    (
        "a second left still gets its retry",
        E500,
        9,
        1,
        1.0,
        Step.RETRY,
        MessageStatus.PENDING,
        True,
        ErrorClass.HTTP_5XX,
        0.5,
    ),
    (
        "Retry-After is a floor",
        e429(5.0),
        0,
        3600,
        1.0,
        Step.RETRY,
        MessageStatus.PENDING,
        True,
        ErrorClass.HTTP_429,
        5.0,
    ),
    (
        "Retry-After past the end expires the message",
        e429(100.0),
        0,
        60,
        1.0,
        Step.EXPIRED,
        MessageStatus.EXPIRED,
        True,
        ErrorClass.HTTP_429,
        None,
    ),
    (
        "an answer at the end: no retry left",
        E500,
        0,
        0,
        0.5,
        Step.EXPIRED,
        MessageStatus.EXPIRED,
        True,
        ErrorClass.HTTP_5XX,
        None,
    ),
]


@pytest.mark.parametrize(
    ("result", "attempts", "left", "jitter", "step", "status", "charge", "cls", "delay"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_policy_table(
    result: GatewayResult,
    attempts: int,
    left: float,
    jitter: float,
    step: Step,
    status: MessageStatus,
    charge: bool,
    cls: ErrorClass | None,
    delay: float | None,
) -> None:
    end = NOW + timedelta(seconds=left)
    verdict = judge(result, attempts=attempts, now=NOW, end=end, retry=RETRY, jitter=jitter)
    assert (verdict.step, verdict.status, verdict.charge) == (step, status, charge)
    assert verdict.error_class is cls
    assert verdict.delay == delay
    if delay is not None:
        assert verdict.next_attempt_at == NOW + timedelta(seconds=delay)
        assert verdict.next_attempt_at < end  # a retry always comes before the end
    # The answer's class and text travel into the record the store writes.
    outcome = verdict.outcome(42)
    assert (outcome.id, outcome.status, outcome.charge) == (42, status, charge)
    assert outcome.error_class is cls
    assert outcome.last_error == (None if result.error_class is None else result.reason)
    assert outcome.sent_at == (NOW if step is Step.SENT else None)


def test_the_gateway_is_up_unless_the_failure_is_transient() -> None:
    def up(result: GatewayResult) -> bool | None:
        return judge(result, attempts=0, now=NOW, end=HOUR, retry=RETRY, jitter=0.5).gateway_up

    assert [up(r) for r in (OK, E401, E400)] == [True, True, True]
    assert [up(r) for r in (E500, TIMEOUT, GARBAGE, e429(1))] == [False] * 4


def test_the_senders_own_verdicts_use_the_reason_texts() -> None:
    late = too_late().outcome(7)
    assert (late.status, late.charge) == (MessageStatus.EXPIRED, False)
    assert late.error_class is ErrorClass.NOT_SENT_BEFORE_END
    assert late.last_error == reason_text(ErrorClass.NOT_SENT_BEFORE_END)
    back = released(NOW).outcome(7)
    assert (back.status, back.charge, back.next_attempt_at) == (MessageStatus.PENDING, False, NOW)
    assert back.last_error is None and back.error_class is None


@given(
    attempt=st.integers(1, 200),
    base=st.floats(0.001, 10),
    cap=st.floats(0.001, 10_000),
    jitter=st.floats(0, 1),
    left=st.floats(0.000_001, 1e7),
)
def test_a_retry_always_lands_before_the_end_and_within_the_cap(
    attempt: int, base: float, cap: float, jitter: float, left: float
) -> None:
    delay = retry_delay(attempt, base, cap, jitter, time_left=left)
    assert delay is not None
    assert 0 <= delay <= min(cap, END_SHARE * left) + 1e-9
    assert delay < left
    assert delay <= backoff_delay(attempt, base, cap, 1.0) + 1e-9
