"""The one bridge from the core to Textual: sender events and store writes become messages.

The sender calls :class:`SenderBridge` for every event (on the app's loop, but
the bridge also copes with other threads: ``App.post_message`` is thread-safe).
Rare events are posted at once as :class:`SenderEvent`. ``MessageSent`` and
``RetryScheduled`` can arrive thousands of times a second; they are only
counted, and one :class:`SenderActivity` per :attr:`SenderBridge.interval`
carries the counts, so the UI never drowns in messages.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from textual.message import Message

from notifier_tui.core import events as ev

Post = Callable[[Message], object]


class SenderEvent(Message, bubble=False):
    """One core event from the sender (anything but ``MessageSent``/``RetryScheduled``)."""

    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self.event = event
        """The core's plain dataclass event."""


class SenderActivity(Message, bubble=False):
    """Messages accepted and retries scheduled since the previous ``SenderActivity``."""

    def __init__(self, sent: int, retries: int, mailing_ids: frozenset[int]) -> None:
        super().__init__()
        self.sent = sent
        """``MessageSent`` events coalesced into this one."""
        self.retries = retries
        """``RetryScheduled`` events coalesced into this one."""
        self.mailing_ids = mailing_ids
        """Mailings those events belonged to."""


class Coalescer:
    """Calls ``flush`` at most once per ``interval`` after one or more ``poke()`` calls.

    ``poke`` may be called from any thread; ``flush`` runs on ``loop``. Nothing
    is scheduled while idle, so an idle app has no timer ticking here.
    """

    def __init__(self, flush: Callable[[], None], interval: float) -> None:
        self._flush = flush
        self.interval = interval
        self._armed = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop the flushes run on (the app's)."""
        self._loop = loop

    def poke(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            if self._armed:
                return
            self._armed = True
        loop.call_soon_threadsafe(loop.call_later, self.interval, self._fire)

    def _fire(self) -> None:
        with self._lock:
            self._armed = False
        self._flush()


class SenderBridge:
    """The sender's event callback: posts Textual messages through ``post``."""

    def __init__(self, post: Post, interval: float = 0.1) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._sent = 0
        self._retries = 0
        self._mailings: set[int] = set()
        self._coalescer = Coalescer(self._flush, interval)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start delivering coalesced activity on ``loop``."""
        self._coalescer.bind(loop)

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.MessageSent | ev.RetryScheduled):
            with self._lock:
                if isinstance(event, ev.MessageSent):
                    self._sent += 1
                else:
                    self._retries += 1
                self._mailings.add(event.mailing_id)
            self._coalescer.poke()
            return
        self._post(SenderEvent(event))

    def _flush(self) -> None:
        with self._lock:
            sent, retries, mailings = self._sent, self._retries, frozenset(self._mailings)
            self._sent, self._retries = 0, 0
            self._mailings.clear()
        if sent or retries:
            self._post(SenderActivity(sent, retries, mailings))
