"""The store's threads: one writer, one reader, one for bulk jobs.

peewee never runs on an event loop. :meth:`StoreThreads.run` hands a store
method to the thread that suits it:

- the writer (one thread, one connection) for every write, so the writes of
  this process never contend with each other;
- the reader, with its own read-only connection, for the methods named in
  ``reads``: WAL lets it read beside the writer, so a statistics view over a
  million messages never delays the sender's claims and outcomes, nor waits
  for them;
- the bulk thread for the long jobs named in ``bulk`` (an import validates
  and stages for many seconds without the write lock; on the writer's thread
  it would stall this process's sender behind it).

Each thread is started on first use and closes its own connection at
:meth:`StoreThreads.close`.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import peewee as pw

from notifier_tui.core.store import dialect

P = ParamSpec("P")
T = TypeVar("T")


class StoreThreads:
    """Runs the methods of ``owner`` on the thread each belongs on."""

    def __init__(
        self, db: pw.Database, owner: object, *, reads: frozenset[str], bulk: frozenset[str]
    ) -> None:
        self._db = db
        self._owner = owner
        self._reads = reads
        self._bulk_names = bulk
        self._writer: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._bulk: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor_for(self, fn: Callable[..., object]) -> ThreadPoolExecutor:
        # Only the owner's own bound methods are routed by name: a free function
        # called ``list_clients`` elsewhere is not known to be read-only.
        bound_to_owner = getattr(fn, "__self__", None) is self._owner
        name = getattr(fn, "__name__", "") if bound_to_owner else ""
        with self._lock:
            if name in self._reads:
                if self._reader is None:
                    self._reader = ThreadPoolExecutor(
                        1, thread_name_prefix="notifier-db-read", initializer=self._read_only
                    )
                return self._reader
            if name in self._bulk_names:
                if self._bulk is None:
                    self._bulk = ThreadPoolExecutor(1, thread_name_prefix="notifier-db-bulk")
                return self._bulk
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="notifier-db")
            return self._writer

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on its thread and await the result."""
        executor = self._executor_for(fn)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))

    def _read_only(self) -> None:
        # peewee keeps one connection per thread: this is the reader thread's own,
        # and read-only (query_only on SQLite) makes sure nothing run there can ever write.
        dialect.read_only(self._db)

    def close(self) -> None:
        """Close each thread's connection, then the thread; the writer last."""
        for extra in (self._reader, self._bulk):
            if extra is not None:
                extra.submit(self._db.close).result()
                extra.shutdown(wait=True)
        self._reader = self._bulk = None
        if self._writer is not None:
            self._writer.submit(self._db.close).result()
            self._writer.shutdown(wait=True)
            self._writer = None
