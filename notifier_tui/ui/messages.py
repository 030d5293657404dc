"""Textual messages the app passes to its screens (the sender's live in ``bridge.py``)."""

from __future__ import annotations

from textual.message import Message


class StoreChanged(Message, bubble=False):
    """Something was written to the store (coalesced: at most a few per second).

    Posted by the app to the active screen so lists reload. Writes by another
    process do not produce it; screens that show live data also refresh on a
    one-second timer.
    """
