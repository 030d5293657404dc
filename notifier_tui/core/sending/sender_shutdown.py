"""The sender's shutdown sequence, kept apart from :class:`Sender` to keep it small.

Order matters: stop claiming, let requests in flight finish (bounded), write the
outcomes behind, release the lease, leave the fleet; all within ``stop_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from notifier_tui.core.sending.timer import Timer

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender

# Same logger name as the sender: its log lines keep their source for operators.
log = logging.getLogger("notifier_tui.sender")


async def shut_down(
    sender: Sender, dispatch: asyncio.Task[None], background: list[asyncio.Task[None]]
) -> None:
    """Stop ``sender``'s parts in order, within ``stop_timeout`` in all.

    Args:
        sender: The sender being stopped.
        dispatch: Its dispatch-loop task.
        background: Its other tasks (lease keeper, snapshots, fleet...), cancelled.
    """
    timer = sender._timer
    deadline = timer.monotonic() + sender.config.stop_timeout

    def left() -> float:
        return max(0.0, deadline - timer.monotonic())

    sender.dispatch.stop()
    if not await _wait_task(timer, dispatch, min(left(), sender.config.poll_interval + 1.0)):
        dispatch.cancel()
        await asyncio.wait({dispatch})
        log.warning(
            "stop: a dispatch pass is stuck on the store; whatever it still claims"
            " stays 'sending' until the next start recovers it"
        )
    await sender.workers.stop(grace=min(sender.config.stop_grace, left()))
    for task in background:
        task.cancel()
    await asyncio.wait(background)
    unwritten = await sender.outcomes.drain(left())
    if unwritten:
        log.error(
            "stop: %d outcome(s) not written within %.1fs (store busy); those messages"
            " stay 'sending' until the next start recovers them",
            unwritten,
            sender.config.stop_timeout,
        )
    release = asyncio.ensure_future(sender.keeper.release())
    if not await _wait_task(timer, release, left()):
        release.cancel()
        await asyncio.wait({release})
        log.warning(
            "stop: the lease could not be released in time; it expires in %.0fs",
            sender.config.lease_ttl,
        )
    leave = asyncio.ensure_future(sender.fleet.leave())
    if not await _wait_task(timer, leave, left()):
        leave.cancel()
        await asyncio.wait({leave})


async def _wait_task(timer: Timer, task: asyncio.Future[None], timeout: float) -> bool:
    """Wait on ``timer`` until ``task`` ends or ``timeout`` passes; True when it ended."""
    ended = asyncio.Event()
    task.add_done_callback(lambda _: ended.set())
    if not await timer.wait(ended, timeout):
        return False
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "%s failed at stop: %r",
            task.get_name() if isinstance(task, asyncio.Task) else "task",
            task.exception(),
        )
    return True
