"""``notifier-tui --daemon --workers N``: N sender processes on this host, supervised.

The supervisor opens no store and sends nothing. It starts N children, each
an ordinary ``notifier-tui --daemon`` with the same arguments (less
``--workers``) and ``NOTIFIER_WORKER=i`` in its environment, so that every
log line a child writes carries ``worker=i`` (settings/logs.py) and goes to
its own log file beside the daemon's (``notifier.worker-i.log``: rotating
one file from several processes would lose lines). The children inherit the
supervisor's stderr, so the journal gets every line, tagged.

- A child that dies is started again after a backoff: 1 s, doubling up to
  :data:`MAX_BACKOFF`, back to 1 s once a child has run
  :data:`STABLE_AFTER` seconds. A child that exits 2 or 78 (bad input, an
  unusable store or config) is not restarted: a restart cannot help, so the
  supervisor stops the others and exits with that status.
- SIGTERM, SIGINT and SIGHUP stop every child with SIGTERM, wait for them
  within ``stop_timeout`` plus a margin, kill what is left, and exit 0 when
  all of them stopped cleanly (1 otherwise).
- Children die with the supervisor (``PR_SET_PDEATHSIG`` on Linux), so a
  ``kill -9`` of the supervisor leaves no orphan sending.

What the children do together depends on the store. On SQLite only the
lease holder sends (one writer at a time): the other children stand by and
one of them takes over within the lease TTL when the holder dies, so N > 1
buys fail-over on this host, not throughput. On PostgreSQL every child may
claim its own messages (see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from notifier_tui.settings.config import Settings
from notifier_tui.settings.exit_codes import Exit
from notifier_tui.settings.logs import remove_handlers, setup_logging

__all__ = ["MAX_BACKOFF", "STABLE_AFTER", "Supervisor", "child_argv", "run_supervisor"]

log = logging.getLogger("notifier_tui.ops.supervisor")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
MAX_BACKOFF = 30.0
"""Seconds at most between a child's death and its restart."""
STABLE_AFTER = 30.0
"""A child that ran this long before dying is restarted after the first backoff again."""
STOP_MARGIN = 3.0
"""Seconds past ``stop_timeout`` the children get before they are killed."""
FINAL = frozenset({int(Exit.USAGE), int(Exit.CONFIG)})
"""Exit statuses a restart cannot fix."""


def child_argv(argv: Sequence[str]) -> list[str]:
    """The command line of one child: the supervisor's, without ``--workers N``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    return [sys.executable, "-m", "notifier_tui", *out]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: SIGTERM it if the supervisor dies.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


@dataclass
class _Child:
    number: int
    proc: asyncio.subprocess.Process | None = None
    started: float = 0.0
    backoff: float = 1.0
    restarts: int = 0
    history: list[int] = field(default_factory=list)


class Supervisor:
    """Keeps N children running until told to stop."""

    def __init__(self, argv: Sequence[str], workers: int, stop_timeout: float) -> None:
        self.command = child_argv(argv)
        self.children = [_Child(i) for i in range(1, workers + 1)]
        self.stop_timeout = stop_timeout
        self._stop = asyncio.Event()
        self.final_code: int | None = None

    async def _start(self, child: _Child) -> None:
        env = dict(os.environ, NOTIFIER_WORKER=str(child.number))
        child.proc = await asyncio.create_subprocess_exec(
            *self.command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        child.started = time.monotonic()
        log.info("worker %d started: pid %d", child.number, child.proc.pid)

    async def _keep(self, child: _Child) -> None:
        """Run one child, restarting it with backoff, until the stop."""
        while not self._stop.is_set():
            await self._start(child)
            assert child.proc is not None
            code = await child.proc.wait()
            child.history.append(code)
            if self._stop.is_set():
                return
            ran = time.monotonic() - child.started
            if code in FINAL:
                log.error(
                    "worker %d exited %d (bad input or an unusable store): not restarted;"
                    " stopping the others",
                    child.number,
                    code,
                )
                self.final_code = code
                self._stop.set()
                return
            if ran >= STABLE_AFTER:
                child.backoff = 1.0
            log.warning(
                "worker %d (pid %d) exited %d after %.1fs; restarting in %.0fs",
                child.number,
                child.proc.pid,
                code,
                ran,
                child.backoff,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), child.backoff)
            child.backoff = min(MAX_BACKOFF, child.backoff * 2)
            child.restarts += 1

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        received: list[str] = []

        def on_signal(sig: signal.Signals) -> None:
            received.append(sig.name)
            self._stop.set()

        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            log.info("supervisor starting %d workers: %s", len(self.children), self.command[3:])
            keepers = [asyncio.create_task(self._keep(c)) for c in self.children]
            await self._stop.wait()
            log.info(
                "%s: stopping %d workers",
                received[0] if received else "a worker cannot run",
                len(self.children),
            )
            clean = await self._stop_children()
            await asyncio.gather(*keepers, return_exceptions=True)
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)
        if self.final_code is not None:
            return self.final_code
        code = Exit.OK if clean else Exit.ERROR
        log.info("supervisor stopped (exit status %d)", code)
        return code

    async def _stop_children(self) -> bool:
        running = [c.proc for c in self.children if c.proc and c.proc.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        clean = True
        if running:
            waits = [asyncio.create_task(p.wait()) for p in running]
            _, pending = await asyncio.wait(waits, timeout=self.stop_timeout + STOP_MARGIN)
            for proc in running:
                if proc.returncode is None:
                    log.error("worker pid %d did not stop in time: killed", proc.pid)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    clean = False
            if pending:
                await asyncio.wait(pending)
            clean = clean and all(p.returncode == 0 for p in running)
        return clean


def run_supervisor(settings: Settings, workers: int, argv: Sequence[str]) -> int:
    """Run ``workers`` daemon children until a signal; returns the exit status."""
    handlers = setup_logging(settings.log_level, settings.log_file, stderr=True)
    try:
        return asyncio.run(Supervisor(argv, workers, settings.stop_timeout).run())
    finally:
        with contextlib.suppress(OSError):
            remove_handlers(handlers)
