"""Outcomes wait in memory and reach the store in batches: one transaction per flush.

Recording every answer on its own would cost a store round trip and a
transaction each; a batch every ``interval`` (or as soon as ``max_batch`` wait)
costs one. One write is in flight at a time. A failed write keeps its batch for
the next flush. At a stop, :meth:`WriteBehind.drain` is bounded: what the store
does not take in time is logged, and those messages stay ``sending`` for the
next start's recovery (docs/domain.md rule 7) unless the write still lands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from notifier_tui.core import events as ev
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.sending.timer import Timer
from notifier_tui.core.store import Store

log = logging.getLogger("notifier_tui.sender")

RETRY_PAUSE = 0.5
"""Seconds before a failed write is tried again."""


class WriteBehind:
    """The buffer of outcomes not yet written, and the loop that writes them."""

    def __init__(
        self,
        store: Store,
        *,
        interval: float,
        timer: Timer,
        emit: Callable[[ev.Event], None],
        on_pending_written: Callable[[], None],
        max_batch: int = 500,
    ) -> None:
        self.store = store
        self.interval = interval
        self._timer = timer
        self._emit = emit
        self._on_pending_written = on_pending_written
        self._max_batch = max_batch
        self._buffer: list[Outcome] = []
        self._writing = 0
        self._soon = asyncio.Event()
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        """Outcomes not yet written: buffered, or in the write under way."""
        return len(self._buffer) + self._writing

    def add(self, outcome: Outcome) -> None:
        self._buffer.append(outcome)
        if len(self._buffer) >= self._max_batch:
            self._soon.set()

    async def run(self) -> None:
        """Flush every interval (sooner when the buffer fills) until cancelled."""
        while True:
            await self._timer.wait(self._soon, self.interval)
            self._soon.clear()
            try:
                await self.flush()
            except Exception as err:  # outcomes stay buffered and are written next time
                log.exception("recording outcomes failed")
                self._emit(ev.SenderError("record outcomes", repr(err)))
                await self._timer.sleep(RETRY_PAUSE)

    async def flush(self) -> None:
        """Write what is buffered, one write at a time; a failed batch is kept."""
        async with self._lock:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            self._writing = len(batch)
            try:
                await self.store.run(self.store.record_outcomes, batch)
            except BaseException:
                self._buffer[:0] = batch
                raise
            finally:
                self._writing = 0
        if any(o.status == MessageStatus.PENDING for o in batch):
            # A retry or a hand-back makes a new due instant.
            self._on_pending_written()

    async def drain(self, timeout: float) -> int:
        """Flush within ``timeout`` seconds; returns how many outcomes were not written.

        The store call itself cannot be cancelled (it runs on the store's
        thread): a write that misses the deadline may still land later, but
        nothing waits for it.
        """
        flushing = asyncio.ensure_future(self._drain_all())
        finished = asyncio.Event()
        flushing.add_done_callback(lambda _: finished.set())
        if await self._timer.wait(finished, timeout):
            try:
                flushing.result()
            except Exception as err:
                log.error("recording outcomes at stop failed: %r", err)
            return len(self)
        flushing.cancel()
        await asyncio.wait({flushing})  # puts the unwritten batch back; never raises
        return len(self)

    async def _drain_all(self) -> None:
        while self._buffer:
            await self.flush()
