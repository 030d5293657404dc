"""The daemon's stop, bounded whatever the store or the gateway does.

A clean stop writes the last outcomes and releases the sender lease. When the
store cannot be written (the disk is full, another connection holds the write
lock), those writes wait out SQLite's busy timeout, fail, and may be retried:
without a bound the daemon never exits, and systemd kills it after
``TimeoutStopSec`` with nothing logged. So the stop gets ``stop_timeout``
seconds; after that the daemon gives up on what it could not write and exits
anyway. Nothing is lost by that: a message whose outcome was not recorded is
still ``sending`` in the store, and the next sender to take the lease puts it
back to ``pending`` (the same recovery as after a crash); the lease itself
expires after ``lease_ttl``.

Three layers, each a fallback for the one before:

1. :func:`stop_sender`: ask the sender to stop, wait ``stop_timeout``, then
   cancel its task.
2. :func:`close_store`: close the store in a helper thread with a short
   budget; a store call stuck in SQLite's busy wait cannot be interrupted, so
   after the budget the daemon exits without closing it (SQLite's journal keeps
   the file consistent, as after ``kill -9``).
3. :class:`HardDeadline`: armed when the stop begins, it ends the process with
   ``os._exit`` if anything else still holds it up (a thread the interpreter
   would join at exit, a mail server that does not answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender
    from notifier_tui.core.store import Store

log = logging.getLogger("notifier_tui.ops.daemon")

CLOSE_BUDGET = 1.0
"""Seconds the store gets to close after the stop, clean or not."""
HARD_EXIT_MARGIN = 3.0
"""Seconds past ``stop_timeout`` after which :class:`HardDeadline` ends the process."""


class StopResult(enum.Enum):
    """How :func:`stop_sender` ended."""

    CLEAN = "clean"
    """Outcomes written, claims handed back, lease released."""
    FAILED = "failed"
    """The sender's own stop raised (a store write failed); it ended without finishing."""
    TIMED_OUT = "timed out"
    """Still not stopped after ``stop_timeout``: cancelled."""


async def stop_sender(sender: Sender, task: asyncio.Task[None], timeout: float) -> StopResult:
    """Stop ``sender`` (running as ``task``) within ``timeout`` seconds.

    Past ``timeout`` the task is cancelled and awaited briefly. Unless the
    result is CLEAN, whatever the sender did not write stays ``sending``.
    """
    stopper = asyncio.ensure_future(sender.stop())
    done, _ = await asyncio.wait({stopper, task}, timeout=timeout)
    if not done:
        stopper.cancel()
        task.cancel()
        await asyncio.wait({task}, timeout=CLOSE_BUDGET)
        return StopResult.TIMED_OUT
    if task not in done:
        # sender.stop() returns as run() finishes; give the task its last step.
        await asyncio.wait({task}, timeout=CLOSE_BUDGET)
    stopper.cancel()
    if not task.done():
        task.cancel()
        return StopResult.TIMED_OUT
    if not task.cancelled() and task.exception() is not None:
        log.error("sender failed while stopping: %r", task.exception())
        return StopResult.FAILED
    return StopResult.CLEAN


async def close_store(store: Store, budget: float = CLOSE_BUDGET) -> bool:
    """Close ``store`` unless that takes longer than ``budget`` seconds.

    The close waits for the store's thread to finish its current call, which
    may be stuck in SQLite's busy wait for up to its busy timeout. A daemon
    thread does the waiting, so giving up on it leaves nothing the interpreter
    would join at exit.

    Returns:
        True if the store closed, False if the caller should exit without it.
    """
    closed = threading.Event()

    def close() -> None:
        try:
            store.close()
        except Exception as err:  # a failing close still ends the daemon
            log.warning("closing the store failed: %r", err)
        closed.set()

    threading.Thread(target=close, name="notifier-store-close", daemon=True).start()
    return await asyncio.to_thread(closed.wait, budget)


def count_sending(path: Path, timeout: float = 0.5) -> int | None:
    """Messages left ``sending``, read on a connection of its own (None if unreadable).

    Only the lease holder claims, so after this daemon's stop every ``sending``
    message is one of its claims. A WAL reader is not blocked by another
    connection's write lock, and reading needs no disk space.
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
        try:
            row = conn.execute("SELECT COUNT(*) FROM message WHERE status = 'sending'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return int(row[0])


class HardDeadline:
    """Ends the process with ``code`` if it is still running ``seconds`` after :meth:`arm`.

    Args:
        seconds: the time allowed from arming to exit.
        code: the exit status used then.
        exit: what ends the process; tests pass a recorder.
    """

    def __init__(
        self, seconds: float, code: int, *, exit: Callable[[int], object] = os._exit
    ) -> None:
        self.seconds = seconds
        self.code = code
        self._exit = exit
        self._timer: threading.Timer | None = None
        self.fired = False

    def arm(self) -> None:
        """Start counting (once; a second call changes nothing)."""
        if self._timer is not None:
            return
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.name = "notifier-hard-deadline"
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        log.error(
            "stop still not finished after %.0f s: exiting now (status %d);"
            " unwritten outcomes stay 'sending' until the next start",
            self.seconds,
            self.code,
        )
        flush_logs()
        self._exit(self.code)


def hard_exit(code: int) -> None:
    """End the process now, skipping the joins of threads stuck in the store."""
    os._exit(code)


def flush_logs() -> None:
    """Flush every handler of the package's logger (before an ``os._exit``)."""
    for handler in logging.getLogger("notifier_tui").handlers:
        with contextlib.suppress(Exception):  # a dead stderr must not stop the exit
            handler.flush()
