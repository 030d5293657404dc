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
picked up without any signal, by watching those files every couple of seconds
(:mod:`notifier_tui.ops.token_watch`).

The stop is bounded by ``stop_timeout`` whatever the store or the gateway
does (:mod:`notifier_tui.ops.shutdown`): past it the daemon logs what it could
not write, which stays ``sending`` for the next start to recover, and exits
with status 1.

Exit statuses are the command line's (:mod:`notifier_tui.settings.exit_codes`):
0 after a clean stop, 2 for bad input, 78 for a store that cannot be used
(not SQLite, a newer schema, read-only), 1 for anything a restart may fix.
Textual is never imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.sending.sender import Sender
from notifier_tui.core.sending.sender_thread import default_loop_factory
from notifier_tui.core.store import Store
from notifier_tui.ops import shutdown
from notifier_tui.ops.fronts import Front, WebOptions, build_fronts
from notifier_tui.ops.metrics import MetricsServer, start_metrics
from notifier_tui.ops.report_job import install_daily_report
from notifier_tui.ops.startup import open_store
from notifier_tui.ops.token_watch import TokenWatcher
from notifier_tui.settings.config import Settings, sender_config
from notifier_tui.settings.exit_codes import Exit, classify
from notifier_tui.settings.logs import WORKER_ENV, remove_handlers, setup_logging

log = logging.getLogger("notifier_tui.ops.daemon")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Each one stops the daemon cleanly; see the module docstring for why SIGHUP does."""
FRONT_STOP_TIMEOUT = 3.0
"""Seconds the API and the web UI get to close their connections at a stop."""
INNER_STOP_MARGIN = 1.0
"""Seconds of ``stop_timeout`` kept back from the sender's own stop, for the daemon's."""


def run_daemon(settings: Settings, web: WebOptions | None = None) -> int:
    """Run the headless sender until a signal; returns the exit status.

    Args:
        settings: the resolved settings (``api_port`` adds the HTTP API).
        web: ``notifier-tui serve``'s options: serve the UI to browsers too.
    """
    handlers = setup_logging(settings.log_level, worker_log_file(settings), stderr=True)
    deadline = shutdown.HardDeadline(settings.stop_timeout + shutdown.HARD_EXIT_MARGIN, Exit.ERROR)
    try:
        try:
            # Opened here, before the loop runs: no peewee call on the loop thread.
            store = open_store(settings)
        except Exception as err:
            # Unusable (78): a restart cannot help. Busy, disk full (1): it may.
            failure = classify(err)
            log.error("daemon not started: %s", failure.message)
            return failure.code
        # uvloop's loop when installed (the `fast` extra), unless event_loop says asyncio.
        factory = default_loop_factory(settings.event_loop)
        with asyncio.Runner(loop_factory=factory) as runner:
            code, closed = runner.run(serve(settings, store, on_stopping=deadline.arm, web=web))
        if not closed:
            # The store's thread is stuck in SQLite's busy wait; the interpreter
            # would join it at exit. Nothing is lost by not waiting (see shutdown).
            shutdown.flush_logs()
            shutdown.hard_exit(code)
        return code
    finally:
        deadline.disarm()
        # Closing the log file flushes it, which raises on a full disk.
        with contextlib.suppress(OSError):
            remove_handlers(handlers)


def worker_log_file(settings: Settings) -> Path:
    """The log file: a supervised child (``--workers``) writes its own, ``notifier.worker-2.log``.

    Several processes rotating one file would lose lines; each child's lines
    also carry ``worker=i`` (settings/logs.py) on the shared stderr.
    """
    worker = os.environ.get(WORKER_ENV, "")
    path = settings.log_file
    if not worker.isdigit():
        return path
    return path.with_name(f"{path.stem}.worker-{worker}{path.suffix}")


async def serve(
    settings: Settings,
    store: Store,
    stop: asyncio.Event | None = None,
    *,
    on_stopping: Callable[[], None] | None = None,
    web: WebOptions | None = None,
) -> tuple[int, bool]:
    """The daemon's body on an open store, which it closes.

    Args:
        settings: the resolved settings.
        store: the store from :func:`~notifier_tui.ops.startup.open_store`.
        stop: lets a test end it without a signal.
        on_stopping: called once the stop begins (the process arms its hard deadline).
        web: also serve the UI to browsers (``notifier-tui serve``).

    Returns:
        The exit status, and whether the store was closed (False: exit at once).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    config = sender_config(settings, role="daemon", auto_takeover=True)
    # The sender's own bounded stop ends a little before the daemon's, so it can
    # say itself what it could not write; requests in flight get half of it.
    inner = max(0.5, settings.stop_timeout - INNER_STOP_MARGIN)
    grace = min(config.stop_grace, inner / 2)
    # On PostgreSQL every daemon sends its own claims; on SQLite only the lease holder.
    sender = Sender(
        store,
        dataclasses.replace(config, stop_timeout=inner, stop_grace=grace, shared_claims=True),
    )
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
    fronts: list[Front] = []
    fronts_closed: asyncio.Task[None] | None = None
    code = Exit.OK
    try:
        try:
            fronts = build_fronts(settings, store, sender, web)
            for front in fronts:
                await front.start()
        except (OSError, ValidationError) as err:
            # A port in use, an address not on this host, an API without a token.
            log.error("cannot start: %s", getattr(err, "strerror", None) or err)
            code = Exit.USAGE if isinstance(err, ValidationError) else Exit.ERROR
            for front in fronts:
                await front.stop()
            fronts = []
            return code, await shutdown.close_store(store)
        if settings.metrics_port:
            try:
                metrics = start_metrics(
                    sender, host=settings.metrics_host, port=settings.metrics_port
                )
            except OSError as err:
                # A port in use or an address not on this host: say so instead of a trace.
                log.error(
                    "cannot serve metrics on %s:%d: %s",
                    settings.metrics_host,
                    settings.metrics_port,
                    err.strerror or err,
                )
                return Exit.ERROR, await shutdown.close_store(store)
        task = asyncio.create_task(sender.run(), name="notifier-sender")
        # A new token in the config file or token file applies without a restart.
        watch = asyncio.create_task(TokenWatcher(settings, sender.set_token).run())
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        watch.cancel()
        if on_stopping is not None:
            on_stopping()
        # The fronts close while the sender stops, not after it: their bound then
        # overlaps the sender's instead of adding to it.
        fronts_closed = asyncio.create_task(_stop_fronts(fronts))
        if task in done:
            # The sender ended on its own: only an error does that.
            failure = task.exception()
            log.error("sender failed: %r", failure, exc_info=failure)
            code = Exit.ERROR
        else:
            log.info("%s received: stopping", received[0] if received else "stop requested")
            # Alone on the store only the holder claims: after its stop, a message still
            # 'sending' is one whose outcome or hand-back could not be written. On a
            # shared store the other workers' claims are theirs, so that count says nothing.
            was_holder = sender.is_holder and sender.shared is None
            result = await shutdown.stop_sender(sender, task, settings.stop_timeout)
            left = (
                await asyncio.to_thread(shutdown.count_sending, store.path) if was_holder else None
            )
            if result is not shutdown.StopResult.CLEAN or (was_holder and left != 0):
                code = Exit.ERROR
                _report_unclean_stop(settings, result, left)
    finally:
        if fronts_closed is None:
            fronts_closed = asyncio.create_task(_stop_fronts(fronts))
        await fronts_closed
        if metrics is not None:
            # shutdown() waits for the server thread's poll: not on the loop.
            await asyncio.to_thread(metrics.close)
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    closed = await shutdown.close_store(store)
    if not closed:
        log.error("the store is still busy; exiting without closing it")
    log.info("daemon stopped (exit status %d)", code)
    return code, closed


async def _stop_fronts(fronts: list[Front]) -> None:
    """Close the API and the web UI together, within FRONT_STOP_TIMEOUT whatever clients do."""
    if not fronts:
        return
    stops = [asyncio.create_task(front.stop()) for front in fronts]
    _, pending = await asyncio.wait(stops, timeout=FRONT_STOP_TIMEOUT)
    for task in pending:
        task.cancel()
    for task in stops:
        if not task.cancelled() and task.done() and task.exception() is not None:
            log.warning("a front did not close cleanly: %r", task.exception())


def _report_unclean_stop(settings: Settings, result: shutdown.StopResult, left: int | None) -> None:
    how = {
        shutdown.StopResult.TIMED_OUT: (
            f"stop did not finish within stop_timeout={settings.stop_timeout}s"
        ),
        shutdown.StopResult.FAILED: "stop failed",
        shutdown.StopResult.CLEAN: "stop could not write everything",
    }[result]
    log.error(
        "%s (the store cannot be written?): %s message(s) stay 'sending' and go back to"
        " pending when a sender next starts; the lease expires after %ss",
        how,
        "an unknown number of" if left is None else left,
        settings.lease_ttl,
    )
