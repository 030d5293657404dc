"""The fault model: which answer a ``/send`` request gets, as pure functions of the config.

Nothing here does I/O or keeps state: the server passes in the uniform draw
(from its seeded :class:`random.Random`), the seconds since its start (from its
injectable clock) and a wall-clock time, so a seed and a clock replay the same
answers.
"""

from __future__ import annotations

import email.utils
import enum

from notifier_tui.sim.config import SimulatorConfig


class Answer(enum.StrEnum):
    """What the simulator did with one ``/send`` request; the keys of its ``by_fault`` counter."""

    OK = "ok"
    SLOW = "slow"
    HUGE = "huge"
    FAIL = "fail"
    THROTTLE = "throttle"
    GARBAGE = "garbage"
    NONZERO_CODE = "nonzero_code"
    PERMANENT = "permanent"
    STORM = "storm"
    OUTAGE = "outage"
    FLAP = "flap"
    UNAUTHORIZED = "unauthorized"
    INVALID = "invalid"
    METHOD = "method"


ACCEPTED = frozenset({Answer.OK, Answer.SLOW, Answer.HUGE})
"""The answers that are 200 ``{"code": 0}``: the gateway acted on the message."""

# What each odd Retry-After style writes; "date" and "mixed" are computed.
_ODD_RETRY_AFTER = {"huge": "1e20", "nan": "NaN", "garbage": "in a little while"}
_MIXED = ("huge", "negative", "nan", "garbage", "date")
_HUGE_HEAD = b'{"code":0,"message":"OK","padding":"'
_HUGE_TAIL = b'"}'


def draw_answer(cfg: SimulatorConfig, draw: float) -> Answer:
    """The answer to a valid request for the uniform ``draw`` in [0, 1).

    The shares are laid end to end in the order fail, throttle, garbage,
    nonzero code, permanent, huge, slow; the rest is OK.
    """
    edge = cfg.fail_rate
    if draw < edge:
        return Answer.FAIL
    edge += cfg.throttle_rate
    if draw < edge:
        return Answer.THROTTLE
    edge += cfg.garbage_rate
    if draw < edge:
        return Answer.GARBAGE
    edge += cfg.nonzero_code_rate
    if draw < edge:
        return Answer.NONZERO_CODE
    edge += cfg.permanent_rate
    if draw < edge:
        return Answer.PERMANENT
    edge += cfg.huge_rate
    if draw < edge:
        return Answer.HUGE
    edge += cfg.slow_rate
    if draw < edge:
        return Answer.SLOW
    return Answer.OK


def has_windows(cfg: SimulatorConfig) -> bool:
    """Whether any time window (storm, outage, flapping) is configured."""
    return bool(cfg.storm_s or cfg.outage_s or cfg.flap_down_s)


def window_at(cfg: SimulatorConfig, elapsed: float) -> Answer | None:
    """The time window in force ``elapsed`` seconds after the start, if any.

    Returns:
        :attr:`Answer.OUTAGE`, :attr:`Answer.FLAP` (a down period) or
        :attr:`Answer.STORM`, in that precedence; ``None`` when the gateway is
        its usual self.
    """
    if cfg.outage_s and cfg.outage_start_s <= elapsed < cfg.outage_start_s + cfg.outage_s:
        return Answer.OUTAGE
    if cfg.flap_down_s and elapsed % (cfg.flap_up_s + cfg.flap_down_s) >= cfg.flap_up_s:
        return Answer.FLAP
    if cfg.storm_s and cfg.storm_start_s <= elapsed < cfg.storm_start_s + cfg.storm_s:
        return Answer.STORM
    return None


def refuses(cfg: SimulatorConfig, window: Answer | None) -> bool:
    """Whether ``window`` (from :func:`window_at`) means connections are refused."""
    if window is Answer.OUTAGE:
        return cfg.outage_mode == "refuse"
    if window is Answer.FLAP:
        return cfg.flap_mode == "refuse"
    return False


def seconds_text(seconds: float) -> str:
    """``seconds`` as a ``Retry-After`` value: ``2`` rather than ``2.0``, else ``0.25``."""
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"


def retry_after(style: str, seconds: float, index: int, now: float) -> str:
    """The ``Retry-After`` value of a 429 answer.

    Args:
        style: One of :data:`~notifier_tui.sim.config.RETRY_AFTER_STYLES`:
            ``seconds`` (``seconds`` as a number), ``huge`` (``1e20``),
            ``negative`` (``-seconds``), ``nan`` (``NaN``), ``garbage`` (words),
            ``date`` (an HTTP date ``seconds`` after ``now``), or ``mixed``: the
            odd ones in turn, chosen by ``index``.
        seconds: The delay the answer means.
        index: How many 429 answers came before this one (for ``mixed``).
        now: Wall-clock time (epoch seconds), for ``date``.
    """
    if style == "mixed":
        style = _MIXED[index % len(_MIXED)]
    if style == "seconds":
        return seconds_text(seconds)
    if style == "negative":
        return f"-{seconds_text(seconds or 1)}"
    if style == "date":
        return email.utils.formatdate(now + seconds, usegmt=True)
    return _ODD_RETRY_AFTER[style]


def huge_body(mb: float) -> bytes:
    """A valid ``{"code": 0, ...}`` JSON object of ``mb`` MiB."""
    size = int(mb * 1024 * 1024)
    pad = max(size - len(_HUGE_HEAD) - len(_HUGE_TAIL), 0)
    return _HUGE_HEAD + b"x" * pad + _HUGE_TAIL
