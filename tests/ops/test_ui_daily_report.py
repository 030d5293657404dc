"""A UI that holds the sender lease sends the daily report, as a daemon would.

Before, only the daemon put the report job on its sender, so a store whose
only sender was a UI never got a report. The ui package may not import ops;
:func:`notifier_tui.cli.launch.ui_app` puts the job on the UI's sender. Here
the app runs under Pilot, its own sender takes the free lease, and the mail
reaches a real aiosmtpd server on 127.0.0.1, with the error classes grouped
from the ``error_class`` column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from notifier_tui.cli.launch import ui_app
from notifier_tui.core.store import Store
from notifier_tui.sim.simulator import GatewaySimulator
from tests import waits
from tests.simfixtures import simulator  # noqa: F401  (a fixture)
from tests.test_report import (
    AFTER,
    PERIOD_START,
    Clock,
    job_settings,
    report_days,
    seed,
    serve_smtp,
)

pytestmark = pytest.mark.timeout(60)


async def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """The suite's one bounded wait (tests/waits.py), with this module's patience."""
    await waits.until(predicate, timeout=timeout, step=0.05)


async def test_a_ui_holding_the_lease_sends_the_daily_report(
    tmp_path: Path,
    simulator: GatewaySimulator,  # noqa: F811  (the fixture)
) -> None:
    clock = Clock(PERIOD_START + timedelta(hours=1))  # where seed() starts its story
    store = Store(tmp_path / "s.db", clock=clock, default_timezone="Europe/Moscow")
    with serve_smtp() as smtp:
        try:
            seed(store, clock)
            clock.now = AFTER  # 09:00 in Moscow: the 08:00 report is due
            settings = replace(
                job_settings(smtp.port),
                db=store.path,
                log_file=tmp_path / "notifier.log",
                base_url=simulator.base_url,
                lease_ttl=2.0,
            )
            app = ui_app(settings, store=store, clock=clock)
            async with app.run_test(size=(100, 30)) as pilot:
                await until(lambda: app.sender is not None and app.sender.is_holder)
                holder = store.lease_holder(ttl=60)
                assert holder is not None and holder.role == "ui"
                await until(lambda: len(smtp.inbox.messages) == 1)
                await until(lambda: report_days(store) == ["2026-03-02"])
                await pilot.press("q")
                await until(lambda: not app.is_running, timeout=20)
        finally:
            store.close()
    (mail_from, rcpt, message) = smtp.inbox.messages[0]
    assert mail_from == "notifier@example.org" and rcpt == ["ops@example.org"]
    assert message["Subject"].startswith("notifier-tui daily report 2026-03-02")
    (body,) = smtp.inbox.bodies
    # The finished sale's failures, grouped by their error_class column.
    assert "HTTP 4xx" in body and "HTTP 5xx" in body and "timeout" in body
    assert "Spring sale" in body
