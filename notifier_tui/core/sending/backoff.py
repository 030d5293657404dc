"""Exponential backoff with full jitter: the one definition the sender uses.

A message's retry waits a uniform draw in ``[0, ceiling]`` where::

    ceiling = min(cap, base * 2 ** (attempt - 1), END_SHARE * time_left)

Full jitter spreads the retries of a burst that failed together, so a gateway
coming back is not hit by all of them in the same instant. The last term keeps
the retry inside the mailing (docs/domain.md, rule 5): however large the cap,
a retry is never scheduled at or after the end because the backoff ran past it.

Worst case, with ``T`` seconds left before the end when attempt ``n`` fails,
the retry is due after at most ``min(cap, base * 2**(n-1), T / 2)`` seconds, so
at least ``T / 2`` is left for it (and for what follows it, halving again). Only
a gateway's own ``Retry-After`` (honoured as a floor, see
:func:`retry_delay`) can push a retry past the end; the message then expires.
"""

from __future__ import annotations

END_SHARE = 0.5
"""The share of the time left before the end that one backoff may use."""


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The largest backoff after ``attempt`` (1 = the first try failed), before any end cap."""
    # The exponent is bounded so a message with many attempts cannot overflow a float.
    return min(cap, base * (2.0 ** min(max(0, attempt - 1), 60)))


def backoff_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Exponential backoff with full jitter, ``jitter`` a draw in ``[0, 1]``.

    Args:
        attempt: Attempts made so far, this one included (1 after the first failure).
        base: The ceiling after the first failure, in seconds.
        cap: The ceiling never grows past this.
        jitter: A uniform draw in ``[0, 1]``; the caller owns the random source,
            so this function stays pure.
    """
    return backoff_ceiling(attempt, base, cap) * min(1.0, max(0.0, jitter))


def retry_delay(
    attempt: int,
    base: float,
    cap: float,
    jitter: float,
    *,
    time_left: float,
    retry_after: float | None = None,
) -> float | None:
    """Seconds until a failed message's next attempt, or None when none fits before the end.

    Args:
        attempt: Attempts made so far, this one included.
        base: See :func:`backoff_delay`.
        cap: See :func:`backoff_delay`.
        jitter: See :func:`backoff_delay`.
        time_left: Seconds from now to the mailing's end.
        retry_after: The gateway's ``Retry-After``, if it sent one: a floor.

    Returns:
        The delay, always ``< time_left``; ``None`` if the end has come or the
        gateway asked to wait past it.
    """
    if time_left <= 0:
        return None
    ceiling = min(backoff_ceiling(attempt, base, cap), END_SHARE * time_left)
    delay = ceiling * min(1.0, max(0.0, jitter))
    if retry_after is not None and retry_after > delay:
        if retry_after >= time_left:
            return None
        delay = retry_after
    return delay
