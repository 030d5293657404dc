"""Logging setup shared by the daemon and the UI: a rotating file, stderr, a ring.

The ring keeps the most recent formatted lines in memory for the UI's Log
screen, so it shows exactly the lines the log file gets.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from notifier_tui.core.secret import mask_urls
from notifier_tui.settings.log_throttle import install_throttle

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
WORKER_ENV = "NOTIFIER_WORKER"
"""Set by ``--daemon --workers N`` (ops/supervisor.py) in each child: its number."""


def line_format() -> str:
    """:data:`FORMAT`, with ``worker=i`` before the message in a supervised child."""
    worker = os.environ.get(WORKER_ENV, "")
    if not worker.isdigit():
        return FORMAT
    return FORMAT.replace("%(message)s", f"worker={worker} %(message)s")


class MaskingFormatter(logging.Formatter):
    """Formats like :data:`FORMAT` and masks the password of every URL in the line.

    A URL can reach a log line from anywhere (a start line, an httpx error
    quoting the request URL), so the mask is applied to the finished line,
    exception text included.
    """

    def __init__(self) -> None:
        super().__init__(line_format())

    def format(self, record: logging.LogRecord) -> str:
        return mask_urls(super().format(record))


class LogRing(logging.Handler):
    """Keeps the last ``capacity`` formatted lines and tells listeners of new ones."""

    def __init__(self, capacity: int = 5000) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=capacity)
        self.count = 0
        """Lines emitted so far; a line's number is the count just after it."""
        self._listeners: list[Callable[[int, str], None]] = []
        self._mutex = threading.Lock()
        self.setFormatter(MaskingFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self._mutex:
            self.lines.append(line)
            self.count += 1
            number = self.count
            listeners = list(self._listeners)
        # Outside the lock (a listener may take locks of its own); the number lets
        # a listener drop a line it already has from a snapshot taken meanwhile.
        for listener in listeners:
            listener(number, line)

    def add_listener(self, callback: Callable[[int, str], None]) -> None:
        with self._mutex:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[int, str], None]) -> None:
        with self._mutex:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def snapshot(self) -> list[str]:
        with self._mutex:
            return list(self.lines)

    def numbered_snapshot(self) -> tuple[list[str], int]:
        """The lines kept, and the number of the last of them."""
        with self._mutex:
            return list(self.lines), self.count


def setup_logging(
    level: str = "INFO",
    log_file: Path | None = None,
    *,
    stderr: bool = False,
    ring: LogRing | None = None,
) -> list[logging.Handler]:
    """Attach handlers to the ``notifier_tui`` logger; returns them for removal."""
    logger = logging.getLogger("notifier_tui")
    logger.setLevel(level.upper())
    formatter = MaskingFormatter()
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(formatter)
        handlers.append(file_handler)
    if stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(formatter)
        handlers.append(stream)
    if ring is not None:
        handlers.append(ring)
    install_throttle(handlers)  # a failure repeating in a loop: one line every few seconds
    for handler in handlers:
        logger.addHandler(handler)
    return handlers


def remove_handlers(handlers: list[logging.Handler]) -> None:
    logger = logging.getLogger("notifier_tui")
    for handler in handlers:
        logger.removeHandler(handler)
        handler.close()
