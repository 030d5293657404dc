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
from typing import Any

from textual.app import App
from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

log = logging.getLogger("notifier_tui.ui")


def report_worker_failure(app: App[Any], worker: Worker[Any], state: WorkerState) -> None:
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
    notification a second. A read asked for while one runs is dropped, unless
    it is asked with ``again`` (after a write: the user must see its result),
    in which case exactly one more read follows the one under way.
    """

    def __init__(self, what: str, name: str) -> None:
        self.what = what
        self.name = name
        self.busy = False
        self.failing = False
        self._again: tuple[DOMNode, Callable[[], Awaitable[None]]] | None = None

    def start(
        self,
        node: DOMNode,
        read: Callable[[], Awaitable[None]],
        *,
        force: bool = False,
        again: bool = False,
    ) -> None:
        """Run ``read`` in a worker of ``node`` unless one is running.

        Args:
            node: the screen the worker belongs to (its failures are reported there).
            read: the coroutine function that reads and shows.
            force: start even if a read is running (the caller drops stale results).
            again: if a read is running, run one more once it ends.
        """
        if self.busy and not force:
            if again:
                self._again = (node, read)
            return
        self.busy = True
        node.run_worker(self._run(node, read), name=self.name, exit_on_error=False)

    async def _run(self, node: DOMNode, read: Callable[[], Awaitable[None]]) -> None:
        try:
            await read()
        except Exception as err:
            log.exception("cannot %s", self.what)
            if not self.failing:
                node.app.notify(f"Cannot {self.what}: {err}", severity="error")
            self.failing = True
        else:
            self.failing = False
        finally:
            self.busy = False
        follow, self._again = self._again, None
        if follow is not None and follow[0].is_attached:
            self.start(*follow)
