"""Background failures are reported in one place, whichever screen ran the worker.

``Worker.StateChanged`` does not bubble: it reaches only the node that ran the
worker. Screens and dialogs mix in :class:`ReportsWorkerErrors` so every
failure ends in :func:`report_worker_failure`: logged with its traceback and
notified, never swallowed. Workers are started with ``exit_on_error=False``
so one failed query does not close the app.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from textual.app import App
from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

log = logging.getLogger("notifier_tui.ui")


def report_worker_failure(app: App[object], worker: Worker[object], state: WorkerState) -> None:
    """Log and notify a worker that ended in error; other states are ignored."""
    if state is not WorkerState.ERROR:
        return
    err = worker.error
    log.error("background task %r failed: %r", worker.name, err, exc_info=err)
    app.notify(
        f"{worker.name or 'background task'} failed: {err}",
        title="Error",
        severity="error",
        timeout=15,
    )


class ReportsWorkerErrors(DOMNode):
    """Mixin for screens and dialogs that run workers."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self.app, event.worker, event.state)


class PeriodicRead:
    """A screen's periodic read: one at a time, failures logged, the first of a streak notified.

    One at a time because on a huge store a read may outlast the interval, and
    queueing more behind it would only show stale figures later. Notified once
    per streak because a broken store must not bury the screen under a
    notification a second.
    """

    def __init__(self, what: str, name: str) -> None:
        self.what = what
        self.name = name
        self.busy = False
        self.failing = False

    def start(
        self, node: DOMNode, read: Callable[[], Awaitable[None]], *, force: bool = False
    ) -> None:
        """Run ``read`` in a worker of ``node`` unless one is running (``force``: anyway)."""
        if self.busy and not force:
            return
        self.busy = True
        node.run_worker(self._run(node, read), name=self.name, exit_on_error=False)

    async def _run(self, node: DOMNode, read: Callable[[], Awaitable[None]]) -> None:
        try:
            await read()
        except Exception as err:
            log.exception("cannot %s", self.what)
            if not self.failing:
                node.notify(f"Cannot {self.what}: {err}", severity="error")
            self.failing = True
        else:
            self.failing = False
        finally:
            self.busy = False
