"""A UI that does not send shows the sending process's figures, read from the store.

Issue 12.1: attached to a daemon against a failing gateway, the live panel
read ``errors 0.0% | breaker closed``, ``retries 0``, figures of its own.
Here the daemon's registry row is written into the real store file as the
daemon writes it (core/sending/fleet.py), and the app, with no sender of its
own, shows that row's figures and says whose they are.
"""

from __future__ import annotations

from notifier_tui.core.store import Store
from notifier_tui.core.store import workers as registry
from notifier_tui.core.store.workers import WorkerStatus
from notifier_tui.ui.screens.stats import StatsScreen
from tests.ui.conftest import AppFactory, screen_text, settle, wait_for
from tests.ui.stats_harness import FakeClock


def publish(store: Store, clock: FakeClock, **figures: object) -> None:
    now = clock()
    status = WorkerStatus("box:4242:ab", "box", 4242, "daemon", True, True, now, now, figures)
    registry.for_store(store).publish(status)


async def test_the_stats_screen_shows_the_daemons_figures(
    make_app: AppFactory, store: Store, clock: FakeClock
) -> None:
    publish(
        store,
        clock,
        health="degraded",
        breaker="open",
        rate=41.5,
        latency_p50=0.052,
        latency_p95=0.180,
        error_rate=0.21,
        sent=950,
        failed=3,
        retries=173,
        in_flight=12,
        requests_by_outcome={"ok": 950, "http_5xx": 160, "http_429": 13},
        rate_history=[40.0, 41.0, 43.5],
    )
    app = make_app()  # no sender in this process
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        await wait_for(pilot, lambda: "figures of daemon pid 4242 on box" in screen_text(app))
        text = screen_text(app)
        assert "41.5" in text and "173" in text  # its rate and its retries, not zeros
        assert "21.0%" in text and "open" in text and "52 ms" in text
        assert "gateway: n/a here" not in text
