"""The store the UI, CLI and senders call: one facade over peewee on its own thread."""

from notifier_tui.core.store.facade import Store, read_client_csv, utcnow

__all__ = ["Store", "read_client_csv", "utcnow"]
