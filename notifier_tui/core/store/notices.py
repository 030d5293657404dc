"""Who hears of a committed write, and when.

Listeners (the UI's refresh, the sender's wake-up) are called after each
write commits, from whichever thread wrote. An audited change is one
transaction holding the change and its audit row; the parts' own
transactions nest inside it as savepoints, so their notices are held back
until the outer commit: a listener never reads a change that may yet roll
back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import peewee as pw


class Notices:
    """The store's listeners and the one-transaction scope of an audited change."""

    def __init__(self, db: pw.Database) -> None:
        self._db = db
        self._listeners: list[Callable[[], None]] = []
        self._holding = False
        self._held = False

    def add(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def remove(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def notify(self) -> None:
        """A write committed (or, inside :meth:`audited`, will at the outer commit)."""
        if self._holding:
            self._held = True
            return
        for callback in list(self._listeners):
            callback()

    @contextlib.contextmanager
    def audited(self) -> Iterator[None]:
        """One transaction for a change and its audit row; listeners hear after it commits."""
        if self._holding:
            with self._db.atomic("IMMEDIATE"):
                yield
            return
        self._holding, self._held = True, False
        try:
            with self._db.atomic("IMMEDIATE"):
                yield
        finally:
            self._holding = False
        if self._held:
            self.notify()
