"""``notifier-tui --daemon``: the sender without a UI.

Runs the core's task tree under ``asyncio.run``, logs to stderr (the journal,
under systemd) and to the rotating log file, and stops cleanly on SIGINT,
SIGTERM or SIGHUP: a line in the log names the signal, no new claims are
made, requests in flight get a few seconds, whatever is not answered goes
back to ``pending``, the lease is released, exit status 0.

SIGHUP stops the daemon exactly like SIGTERM. A daemon started by hand over
SSH gets SIGHUP when its terminal goes away at logout; the default action
killed it on the spot, with no log line, the lease held until its TTL ran out
and its claims left ``sending`` until the next start recovered them. SIGHUP
does not mean "reload" here: a changed token (config file or token file) is
picked up without any signal, by watching those files.
Textual is never imported here.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from notifier_tui.core.sending.sender import Sender
from notifier_tui.core.store import Store
from notifier_tui.ops.metrics import MetricsServer, start_metrics
from notifier_tui.ops.report_job import install_daily_report
from notifier_tui.settings.config import Settings, sender_config
from notifier_tui.settings.logs import remove_handlers, setup_logging

log = logging.getLogger("notifier_tui.ops.daemon")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Each one stops the daemon cleanly; see the module docstring for why SIGHUP does."""


def run_daemon(settings: Settings) -> int:
    """Run the headless sender until a signal; returns the exit status."""
    handlers = setup_logging(settings.log_level, settings.log_file, stderr=True)
    try:
        return asyncio.run(serve(settings))
    finally:
        remove_handlers(handlers)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """The daemon's body; ``stop`` lets a test end it without a signal."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    store = Store(settings.db, default_timezone=settings.default_timezone)
    sender = Sender(store, sender_config(settings, role="daemon", auto_takeover=True))
    log.info(
        "daemon starting: store=%s gateway=%s concurrency=%d rate_limit=%s timeout=%ss token=%s",
        settings.db,
        settings.base_url,
        settings.concurrency,
        settings.rate_limit or "unlimited",
        settings.timeout,
        settings.token,  # a Secret: prints masked
    )
    install_daily_report(sender, store, settings)
    metrics: MetricsServer | None = None
    if settings.metrics_port:
        try:
            metrics = start_metrics(sender, host=settings.metrics_host, port=settings.metrics_port)
        except OSError as err:
            # A port in use or an address not on this host: say so instead of a trace.
            log.error(
                "cannot serve metrics on %s:%d: %s",
                settings.metrics_host,
                settings.metrics_port,
                err.strerror or err,
            )
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)
            store.close()
            return 1
    task = asyncio.create_task(sender.run(), name="notifier-sender")
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            # The sender ended on its own: only an error does that.
            task.result()
            return 1
        log.info("%s received: stopping", received[0] if received else "stop requested")
        await sender.stop()
        await task
        return 0
    finally:
        waiter.cancel()
        if metrics is not None:
            # shutdown() waits for the server thread's poll: not on the loop.
            await asyncio.to_thread(metrics.close)
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        await store.run(lambda: None)
        store.close()
        log.info("daemon stopped")
