"""Bounded waits for the tests, in one place: every wait has a deadline and says what it awaited."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

Predicate = Callable[[], bool | Awaitable[bool]]


async def until(
    predicate: Predicate, timeout: float = 15.0, step: float = 0.02, what: str = ""
) -> None:
    """Poll ``predicate`` (sync or async) every ``step`` s until true; fail after ``timeout`` s.

    The deadline is on the real monotonic clock: it bounds the test, whatever
    clock the code under test runs on.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"condition not met within {timeout}s" + (f": {what}" if what else "")
            )
        await asyncio.sleep(step)


def until_sync(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.02) -> None:
    """The same for synchronous tests (threads, subprocesses)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(step)
