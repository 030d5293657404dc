"""PeriodicRead: the one guard of every screen's periodic read."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App

from notifier_tui.ui.workers import PeriodicRead
from tests.ui.conftest import notices

pytestmark = pytest.mark.timeout(30)


class Reads:
    """A read that blocks until released, counting how often it ran."""

    def __init__(self) -> None:
        self.started = 0
        self.gate = asyncio.Event()
        self.fail = False

    async def __call__(self) -> None:
        self.started += 1
        await asyncio.wait_for(self.gate.wait(), 5)
        if self.fail:
            raise RuntimeError("disk on fire")


async def drain(app: App[None], reader: PeriodicRead) -> None:
    for _ in range(50):
        await app.workers.wait_for_complete()
        await asyncio.sleep(0)
        if not reader.busy:
            return
    raise AssertionError("the read never ended")


async def test_one_read_at_a_time_and_one_more_when_asked_again() -> None:
    app: App[None] = App()
    async with app.run_test():
        reads, reader = Reads(), PeriodicRead("read the list", "list")
        reader.start(app.screen, reads)
        for _ in range(5):  # ticks while the read runs: dropped
            reader.start(app.screen, reads)
        await asyncio.sleep(0.01)
        assert reads.started == 1
        reader.start(app.screen, reads, again=True)  # after a write: must be shown
        reader.start(app.screen, reads, again=True)
        reads.gate.set()
        await drain(app, reader)
        assert reads.started == 2, "exactly one follow-up read, however often asked"


async def test_failures_are_notified_once_per_streak() -> None:
    app: App[None] = App()
    async with app.run_test():
        reads, reader = Reads(), PeriodicRead("read the list", "list")
        reads.gate.set()
        reads.fail = True
        for _ in range(3):
            reader.start(app.screen, reads)
            await drain(app, reader)
        assert notices(app) == ["Cannot read the list: disk on fire"]
        reads.fail = False
        reader.start(app.screen, reads)
        await drain(app, reader)
        assert not reader.failing
        reads.fail = True
        reader.start(app.screen, reads)
        await drain(app, reader)
        assert len(notices(app)) == 2, "a new streak is notified again"
