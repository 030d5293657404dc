"""Rate-limit log lines that repeat: the first goes out, then a summary every few seconds.

A store that cannot be written fails every heartbeat, every flush and every
dispatch pass, and each failure is worth one line, not one line per try: a
daemon on a full disk once wrote 6,287 such lines in 40 seconds, burying the
one that said why (and filling the journal of a disk that was already full).

:class:`RepeatThrottle` is a :class:`logging.Filter` keyed on (logger name,
level, message *template*): ``"lease heartbeat failed: %r"`` is one key
whatever error it carries. The first record of a key passes; the next ones
within ``interval`` seconds are counted and dropped; the first one after the
interval passes with ``[repeated N more times in the last S s]`` appended, and
the count starts again. A key quiet for a whole interval starts afresh, and
its next line carries the count still owed from before; if it never comes
back, that last count goes unsaid (the line before it said the same thing).

Only WARNING and above are throttled. The INFO and DEBUG lines are the audit
trail of the sending (one per claim, answer, retry, each naming its message),
whose templates repeat by design and must never be merged.

One instance is shared by all the handlers of the package's logger (the file,
stderr, the UI's ring), so they all show the same lines. It decides once per
record, whichever handler asks first, and remembers the decision for the others.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

DEFAULT_INTERVAL = 5.0
"""Seconds between two lines of one repeating key at most."""
MAX_KEYS = 1000
"""Keys remembered at most; the least recently seen is forgotten first."""


@dataclass
class _Seen:
    shown_at: float
    last_at: float
    suppressed: int = 0


Key = tuple[str, int, str]


class RepeatThrottle(logging.Filter):
    """Drops repeats of a (logger, level, template) key within ``interval`` seconds.

    Args:
        interval: seconds between two lines of one key at most.
        min_level: records below this level always pass.
        clock: monotonic seconds; tests pass a fake one.
        max_keys: how many keys are remembered at most.
    """

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        *,
        min_level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.min_level = min_level
        self._clock = clock
        self._max_keys = max_keys
        self._seen: OrderedDict[Key, _Seen] = OrderedDict()
        self._decided: weakref.WeakKeyDictionary[logging.LogRecord, bool] = (
            weakref.WeakKeyDictionary()
        )
        # Records come from the loop, the store's thread and others at once.
        self._lock = threading.Lock()
        self.suppressed_total = 0
        """Records dropped so far, for tests and curiosity."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level:
            return True
        with self._lock:
            decided = self._decided.get(record)
            if decided is None:
                decided = self._decide(record)
                self._decided[record] = decided
            return decided

    def _decide(self, record: logging.LogRecord) -> bool:
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        key = (record.name, record.levelno, template)
        now = self._clock()
        seen = self._seen.get(key)
        if seen is None or now - seen.last_at >= self.interval:
            # New, or quiet for a whole interval: a fresh start, no summary owed
            # beyond what the last line of the old streak already said.
            if seen is not None and seen.suppressed:
                self._summarise(record, seen, now)
            self._remember(key, _Seen(shown_at=now, last_at=now))
            return True
        seen.last_at = now
        self._seen.move_to_end(key)
        if now - seen.shown_at < self.interval:
            seen.suppressed += 1
            self.suppressed_total += 1
            return False
        if seen.suppressed:
            self._summarise(record, seen, now)
        seen.shown_at, seen.suppressed = now, 0
        return True

    @staticmethod
    def _summarise(record: logging.LogRecord, seen: _Seen, now: float) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad format call: let the handler report it as usual
            return
        # Formatted here, so nothing in the summary is read as a %-placeholder.
        record.msg = (
            f"{text} [repeated {seen.suppressed} more time(s)"
            f" in the last {now - seen.shown_at:.0f} s]"
        )
        record.args = None

    def _remember(self, key: Key, seen: _Seen) -> None:
        self._seen[key] = seen
        self._seen.move_to_end(key)
        while len(self._seen) > self._max_keys:
            self._seen.popitem(last=False)


def install_throttle(
    handlers: Iterable[logging.Handler], throttle: RepeatThrottle | None = None
) -> RepeatThrottle:
    """Add one shared :class:`RepeatThrottle` to every handler in ``handlers``.

    Returns:
        The throttle (a new one with the defaults unless given).
    """
    throttle = throttle or RepeatThrottle()
    for handler in handlers:
        handler.addFilter(throttle)
    return throttle
