"""Entry points behind ``notifier-tui`` and ``notifier-tui --demo``.

Both set up logging (the log file plus the in-memory ring the Log screen
shows), build the app with :func:`~notifier_tui.ui.app.create_app`, run it,
and close the store afterwards. The demo works in a temporary directory it
deletes on exit, with a gateway simulator in the same process: it never
touches the user's own store, log or gateway.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from notifier_tui.core.secret import Secret, mask_url
from notifier_tui.core.sending.sender_thread import SenderThread
from notifier_tui.core.store import Store
from notifier_tui.settings.config import UI_NEVER_SENDS_ENV, Settings
from notifier_tui.settings.logs import LogRing, remove_handlers, setup_logging
from notifier_tui.ui.app import NotifierApp, create_app
from notifier_tui.ui.demo import seed_demo

if TYPE_CHECKING:
    from notifier_tui.sim import GatewaySimulator

log = logging.getLogger("notifier_tui.ui")

DEMO_SEED = 2026
DEMO_CONCURRENCY = 4
# Slow enough that the active mailing (~130 messages) takes about a minute to go
# out, so a newcomer watches it happen rather than finding it finished.
DEMO_RATE = 2.0
"""Messages per second: the active mailing then takes about half a minute, long enough
for a newcomer to watch it on the live screens instead of finding it already done."""


def _run(app: NotifierApp) -> int:
    try:
        app.run()
    finally:
        app.store.close()
    return app.return_code or 0


def run_ui(settings: Settings) -> int:
    """Open the UI on the store from ``settings``; returns the exit status."""
    ring = LogRing()
    handlers = setup_logging(settings.log_level, settings.log_file, ring=ring)
    try:
        log.info(
            "ui starting: store=%s gateway=%s token=%s",
            mask_url(str(settings.db)),
            mask_url(settings.base_url),
            settings.token,  # a Secret: always masked
        )
        return _run(ui_app(settings, log_ring=ring))
    finally:
        remove_handlers(handlers)


def ui_app(
    settings: Settings,
    *,
    log_ring: LogRing | None = None,
    store: Store | None = None,
    clock: Callable[[], datetime] | None = None,
) -> NotifierApp:
    """The UI's app, with the daily report on its sender: a UI holding the lease sends it.

    The ui package may not import ops, so the report job is put on the sender's
    periodic jobs here, before the app starts it (the demo's store gets none).
    """
    # A browser session of `serve` is a UI beside the process that sends: it must
    # never take the lease, even when that process stops for a moment.
    sends = os.environ.get(UI_NEVER_SENDS_ENV) != "1"
    app = create_app(settings, log_ring=log_ring, store=store, clock=clock, sender=sends)
    handle = app.sender
    if handle is not None:
        # Imported only for a UI that may send: the report's mailer is not first-frame work.
        from notifier_tui.ops.report_job import install_daily_report

        store_ = app.store
        if isinstance(handle, SenderThread):
            handle.when_built(lambda sender: install_daily_report(sender, store_, settings))
        else:
            install_daily_report(handle, store_, settings)
    return app


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the simulator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def demo_simulator(port: int) -> GatewaySimulator:
    """The demo's gateway: 100-300 ms answers and a few percent of each fault."""
    from notifier_tui.sim import GatewaySimulator, SimulatorConfig

    config = SimulatorConfig(
        latency_ms=200,
        jitter_ms=100,
        fail_rate=0.03,
        garbage_rate=0.02,
        throttle_rate=0.02,
        retry_after_s=2.0,
        permanent_rate=0.01,
        seed=DEMO_SEED,
    )
    return GatewaySimulator(config, host="127.0.0.1", port=port)


def demo_app(settings: Settings, workdir: Path, log_ring: LogRing | None = None) -> NotifierApp:
    """The demo's app: a seeded store and log in ``workdir``, a simulator as its gateway.

    Only the display settings (timezone, log level) are kept from ``settings``;
    the store, the log file, the gateway and its token all belong to the demo.
    """
    simulator = demo_simulator(free_port())
    demo = replace(
        settings,
        db=workdir / "demo.db",
        log_file=workdir / "notifier.log",
        base_url=simulator.base_url,
        token=Secret("demo-token"),
        concurrency=DEMO_CONCURRENCY,
        rate_limit=DEMO_RATE,
    )
    store = Store(demo.db, default_timezone=demo.default_timezone)
    seed_demo(store, datetime.now(UTC), random.Random(DEMO_SEED))
    return create_app(demo, store=store, log_ring=log_ring, simulator=simulator)


def run_demo(settings: Settings) -> int:
    """The UI on a throwaway store with sample data, sending to a built-in simulator."""
    with tempfile.TemporaryDirectory(prefix="notifier-demo-") as tmp:
        ring = LogRing()
        log_file = Path(tmp) / "notifier.log"
        handlers = setup_logging(settings.log_level, log_file, ring=ring)
        try:
            app = demo_app(settings, Path(tmp), ring)
            log.info("demo: store in %s, simulated gateway on %s", tmp, app.settings.base_url)
            return _run(app)
        finally:
            remove_handlers(handlers)
