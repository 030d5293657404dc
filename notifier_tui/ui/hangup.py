"""Notice a terminal that went away without a SIGHUP (an SSH drop under ``nohup``).

Textual's Linux input thread loops without sleeping once stdin reports EOF
(Textualize/textual PR #6690), which would pin a core for as long as the
sender keeps running. ``poll`` reports ``POLLHUP`` on a hung-up tty or a
closed pipe and never for pending keystrokes, so checking it once a second
from the app's timer is cheap and has no false alarms.
"""

from __future__ import annotations

import logging
import os
import select
import sys
from collections.abc import Callable
from typing import NoReturn


def terminal_hung_up(fd: int | None = None) -> bool:
    """Whether the terminal on ``fd`` (stdin by default) has hung up."""
    if not hasattr(select, "poll"):  # Windows: its driver does not spin on EOF
        return False
    try:
        fd = sys.__stdin__.fileno() if fd is None and sys.__stdin__ is not None else fd
    except (OSError, ValueError):
        return False
    if fd is None:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        events = poller.poll(0)
    except OSError:
        return False
    return any(mask & (select.POLLHUP | select.POLLNVAL) for _, mask in events)


def detach_output() -> None:
    """Point stdout and stderr at /dev/null once the terminal is gone.

    Textual writes its frames to stderr from a writer thread; a write to a
    hung-up tty raises, the thread dies, and the next writes block the event
    loop for good, sender included. Into /dev/null they simply vanish while
    the sender stops.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def exit_without_terminal(close: Callable[[], None]) -> NoReturn:
    """End the process after a hang-up, once the sender has stopped.

    There is no terminal left to restore, and Textual's own shutdown would
    wait on it; ``close`` releases what remains (the store), logs are flushed.
    """
    try:
        close()
    finally:
        for handler in logging.getLogger("notifier_tui").handlers:
            handler.flush()
        os._exit(0)
