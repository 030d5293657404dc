"""The fault model: which answer a ``/send`` request gets, as pure functions of the config.

Nothing here does I/O or keeps state: the server passes in the uniform draw
(from its seeded :class:`random.Random`), so a seed replays the same answers.
"""

from __future__ import annotations

import enum

from notifier_tui.sim.config import SimulatorConfig


class Answer(enum.StrEnum):
    """What the simulator did with one ``/send`` request; the keys of its ``by_fault`` counter."""

    OK = "ok"
    SLOW = "slow"
    FAIL = "fail"
    THROTTLE = "throttle"
    GARBAGE = "garbage"
    NONZERO_CODE = "nonzero_code"
    PERMANENT = "permanent"
    UNAUTHORIZED = "unauthorized"
    INVALID = "invalid"
    METHOD = "method"


ACCEPTED = frozenset({Answer.OK, Answer.SLOW})
"""The answers that are 200 ``{"code": 0}``: the gateway acted on the message."""


def draw_answer(cfg: SimulatorConfig, draw: float) -> Answer:
    """The answer to a valid request for the uniform ``draw`` in [0, 1).

    The shares are laid end to end in the order fail, throttle, garbage,
    nonzero code, permanent, slow; the rest is OK.
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
    edge += cfg.slow_rate
    if draw < edge:
        return Answer.SLOW
    return Answer.OK


def seconds_text(seconds: float) -> str:
    """``seconds`` as a ``Retry-After`` value: ``2`` rather than ``2.0``, else ``0.25``."""
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"
