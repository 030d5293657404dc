"""Periodic jobs on an owned ``schedule.Scheduler``, driven from asyncio.

The loop sleeps until the scheduler's next job is due, then runs what is
pending. Jobs are plain functions that only enqueue work (start a task, emit
an event); a job that raises is logged and stays scheduled, so one bad run
never silences a heartbeat or a daily report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import schedule

log = logging.getLogger("notifier_tui.jobs")


class PeriodicJobs:
    """An owned scheduler (never the module-global one) and the task that drives it."""

    def __init__(self, max_sleep: float = 1.0) -> None:
        self.scheduler = schedule.Scheduler()
        self._max_sleep = max_sleep
        self._changed = asyncio.Event()

    def _guard(self, fn: Callable[[], object], name: str) -> Callable[[], None]:
        def job() -> None:
            try:
                fn()
            except Exception:
                log.exception("periodic job %r failed", name)

        job.__name__ = name
        return job

    def every_seconds(self, seconds: int, fn: Callable[[], object], name: str) -> schedule.Job:
        """Run ``fn`` every ``seconds``."""
        job: schedule.Job = self.scheduler.every(seconds).seconds.do(self._guard(fn, name))
        self._changed.set()
        return job

    async def run(self) -> None:
        """Drive the scheduler until cancelled."""
        while True:
            self.scheduler.run_pending()
            idle = self.scheduler.idle_seconds
            delay = self._max_sleep if idle is None else min(max(idle, 0.01), self._max_sleep)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)
