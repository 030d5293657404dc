"""Notice a terminal that went away without a SIGHUP (an SSH drop under ``nohup``).

Textual's Linux input thread loops without sleeping once stdin reports EOF
(Textualize/textual PR #6690), which would pin a core for as long as the
sender keeps running. ``poll`` reports ``POLLHUP`` on a hung-up tty or a
closed pipe and never for pending keystrokes, so checking it once a second
from the app's timer is cheap and has no false alarms.
"""

from __future__ import annotations

import select
import sys


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
