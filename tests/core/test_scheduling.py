"""Periodic jobs: one that raises is logged and stays scheduled; the others go on."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from notifier_tui.core import events as ev
from notifier_tui.core.scheduling import PeriodicJobs

pytestmark = pytest.mark.timeout(20)


def test_a_job_that_raises_is_logged_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = PeriodicJobs()
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("smtp down")

    jobs.every_seconds(1, broken, "daily report")
    jobs.every_seconds(1, lambda: ran.append("beat"), "lease heartbeat")
    for _ in range(3):
        jobs.scheduler.run_all()  # what run() does each time the jobs are due
    assert ran == ["broken", "beat"] * 3
    assert caplog.text.count("periodic job 'daily report' failed") == 3
    assert "RuntimeError: smtp down" in caplog.text
    assert len(jobs.scheduler.jobs) == 2  # still scheduled


async def test_the_loop_runs_due_jobs_past_one_that_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="notifier_tui.jobs")
    jobs = PeriodicJobs(max_sleep=0.05)
    good: list[float] = []
    jobs.every_seconds(1, lambda: 1 / 0, "broken")
    jobs.every_seconds(1, lambda: good.append(time.monotonic()), "good")
    loop = asyncio.create_task(jobs.run())
    try:
        deadline = time.monotonic() + 5
        while not good and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        await asyncio.wait({loop})
    assert good, "the good job never ran"
    assert "periodic job 'broken' failed" in caplog.text
    assert loop.cancelled()  # the loop itself never died of the job's error


def test_a_listener_that_raises_does_not_keep_the_others_from_the_news(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = ev.EventHub()
    heard: list[ev.Event] = []

    def broken(event: ev.Event) -> None:
        raise ValueError("bad listener")

    hub.add(broken)
    hub.add(heard.append)
    news = [ev.DispatchResumed("one"), ev.DispatchResumed("two")]
    for event in news:
        hub.emit(event)
    assert heard == news
    assert caplog.text.count("event listener failed on DispatchResumed") == 2
    hub.remove(broken)
    hub.emit(ev.DispatchResumed("three"))
    assert caplog.text.count("event listener failed") == 2
