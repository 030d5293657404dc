"""The sender on its own event loop, in a background thread of the same process.

A sender sending flat out keeps its loop busy: HTTP parsing, claims, outcome
batches. Sharing that loop with the UI made keystrokes wait behind it (35-67 ms
of loop lag at p99) and, under load, arrive out of order. :class:`SenderThread`
runs the very same :class:`~notifier_tui.core.sending.sender.Sender` on a loop
of its own, so the UI's loop only renders and reacts.

Both directions cross the thread boundary in one place each:

- **Controls** (take over, resume, a new token, stop) are handed to the
  sender's loop with ``call_soon_threadsafe`` / ``run_coroutine_threadsafe``;
  nothing runs sender code on the caller's thread.
- **News** comes back as the sender's plain events. Listeners added here are
  called on the sender's thread, so they must be thread-safe; the UI's bridge
  is (it posts Textual messages, which is safe from any thread, and coalesces
  the frequent ones). The latest snapshot and the lease state are cached under
  a lock from those same events, so the properties below never touch the
  sender's own state from the wrong thread.

The handle offers the part of the sender's interface the UI uses, so an app
can hold either one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from notifier_tui.core import events as ev

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender

log = logging.getLogger("notifier_tui.sender")

EventCallback = Callable[[ev.Event], None]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def default_loop_factory(kind: str = "auto") -> LoopFactory:
    """A new-loop factory: uvloop's when installed (``kind`` "auto" or "uvloop"), else asyncio's.

    Args:
        kind: ``"auto"`` (uvloop if importable), ``"uvloop"`` (the same) or ``"asyncio"``.
    """
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            factory: LoopFactory = uvloop.new_event_loop
            return factory
    return asyncio.new_event_loop


async def _awaited(fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    await fn()


class SenderThread:
    """Runs ``sender`` on a new event loop in a daemon thread; a thread-safe handle to it.

    Args:
        sender: the sender to run; nothing else may run it.
        loop_factory: makes the thread's loop (uvloop's where chosen).
        name: the thread's name, shown in tracebacks and ``py-spy``.
    """

    def __init__(
        self,
        sender: Sender | None = None,
        *,
        build: Callable[[], Sender] | None = None,
        store: Any = None,
        loop_factory: LoopFactory | None = None,
        name: str = "notifier-sender",
    ) -> None:
        if (sender is None) == (build is None):
            raise TypeError("give a sender or a build function, not both")
        self._sender = sender
        self._build = build
        self._store = sender.store if sender is not None else store
        self._loop_factory = loop_factory or default_loop_factory()
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._finished: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._snapshot: ev.SenderSnapshot | None = None
        self._is_holder = False
        self._holder: str | None = None
        self._credentials_error: str | None = None
        self._listeners: list[EventCallback] = [self._track]
        self._on_built: list[Callable[[Sender], None]] = []
        self.thread_id: int | None = None
        """The sender thread's ident once it runs: tests assert sender code runs there."""
        if sender is not None:
            sender.add_listener(self._track)

    @classmethod
    def lazy(cls, build: Callable[[], Sender], store: Any, **kwargs: Any) -> SenderThread:
        """A handle whose sender is built on its own thread when it starts.

        The sender's HTTP stack is then imported off the UI's thread and after
        the first frame, which keeps the UI's start-up short.
        """
        return cls(build=build, store=store, **kwargs)

    def when_built(self, hook: Callable[[Sender], None]) -> None:
        """Run ``hook(sender)`` once the sender exists, before it runs (to add jobs)."""
        if self._sender is not None:
            hook(self._sender)
        else:
            self._on_built.append(hook)

    # --- what the UI reads (cached, thread-safe) -----------------------------------

    @property
    def is_holder(self) -> bool:
        with self._lock:
            return self._is_holder

    @property
    def holder(self) -> str | None:
        with self._lock:
            return self._holder

    @property
    def credentials_error(self) -> str | None:
        with self._lock:
            return self._credentials_error

    @property
    def store(self) -> Any:
        return self._store

    @property
    def sender(self) -> Sender:
        """The sender itself, for code that runs on its thread (jobs, tests)."""
        if self._sender is None:
            raise RuntimeError("the sender is built when its thread starts; use when_built()")
        return self._sender

    def snapshot(self) -> ev.SenderSnapshot | None:
        """The latest figures the sender published (about once a second while it sends)."""
        with self._lock:
            return self._snapshot

    def add_listener(self, callback: EventCallback) -> None:
        """Call ``callback`` with every event, on the sender's thread."""
        if self._sender is None:
            self._listeners.append(callback)
        else:
            self._sender.add_listener(callback)

    def remove_listener(self, callback: EventCallback) -> None:
        if self._sender is None:
            if callback in self._listeners:
                self._listeners.remove(callback)
        else:
            self._sender.remove_listener(callback)

    def _track(self, event: ev.Event) -> None:
        # On the sender's thread: the one place its state is read for other threads.
        if isinstance(event, ev.SenderSnapshot):
            with self._lock:
                self._snapshot = event
            return
        if self._sender is not None and isinstance(
            event, ev.LeaseChanged | ev.CredentialsRejected | ev.DispatchResumed | ev.BreakerChanged
        ):
            snapshot = self._sender.snapshot()
            with self._lock:
                self._snapshot = snapshot
                self._is_holder = self._sender.is_holder
                self._holder = self._sender.holder
                self._credentials_error = self._sender.credentials_error

    # --- controls (handed to the sender's loop) ----------------------------------

    def _call(self, fn: Callable[[], object]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and here
            loop.call_soon_threadsafe(fn)

    def take_over(self) -> None:
        """Ask the sender to take the lease as soon as it is free."""
        self._call(lambda: self.sender.take_over())

    def resume_dispatch(self, reason: str = "resumed by user") -> None:
        """Lift a credentials stop on the user's word."""
        self._call(lambda: self.sender.resume_dispatch(reason))

    def set_token(self, token: str) -> None:
        """Use a new gateway token from now on."""
        self._call(lambda: self.sender.set_token(token))

    def wake(self) -> None:
        """Look at the store again now."""
        if self._sender is not None:
            self._sender.wake()  # already thread-safe

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run ``coro`` on the sender's loop (for jobs that must live beside the sender)."""
        if self._loop is None:
            raise RuntimeError("the sender thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    # --- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Start the thread; returns once its loop runs."""
        if self._thread is not None:
            raise RuntimeError("this sender thread was started already")
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        self._ready.wait(5.0)

    def _main(self) -> None:
        loop = self._loop_factory()
        self._loop = loop
        self.thread_id = threading.get_ident()
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            sender = self._sender
            if sender is None:
                assert self._build is not None
                sender = self._build()  # its imports happen here, not on the caller's thread
                for callback in self._listeners:
                    sender.add_listener(callback)
                self._sender = sender
            for hook in self._on_built:
                hook(sender)
            loop.run_until_complete(sender.run())
        except BaseException as exc:  # reported to whoever awaits run()
            log.exception("the sender stopped on an error")
            self._finished.set_exception(exc)
        else:
            self._finished.set_result(None)
        finally:
            self._ready.set()  # a build that failed must not keep start() waiting
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def run(self) -> None:
        """Start the thread (if needed) and wait, without blocking this loop, for it to end."""
        if self._thread is None:
            await asyncio.to_thread(self.start)
        await asyncio.wrap_future(self._finished)

    async def stop(self, timeout: float | None = None) -> None:
        """Stop the sender (bounded by its own stop grace) and wait for the thread to end.

        Args:
            timeout: give up waiting after this many seconds; the sender's own
                bound still applies and the daemon thread dies with the process.
        """
        loop = self._loop
        if loop is None or loop.is_closed() or self._finished.done():
            return
        # The coroutine is made on the sender's loop too, not merely run there.
        future = asyncio.run_coroutine_threadsafe(_awaited(lambda: self.sender.stop()), loop)
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), timeout)
            await asyncio.wait_for(asyncio.wrap_future(self._finished), timeout)
        except TimeoutError:
            log.warning("the sender thread did not stop within %.1f s", timeout or 0.0)
        except Exception:
            # The sender's own failure was logged where it happened.
            pass
