"""Reads and imports run beside the writer: a busy writer thread holds up neither."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator

import peewee as pw
import pytest

from notifier_tui.core.store import Store
from tests.core.conftest import phone


async def test_reads_do_not_wait_for_the_writer_thread(store: Store) -> None:
    store.create_client(phone(1))
    release = threading.Event()
    entered = threading.Event()

    def long_write() -> None:
        with store.db.atomic("IMMEDIATE"):
            store.db.execute_sql(
                "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
                " VALUES (?, '900', '', 'UTC', 0)",
                (phone(2),),
            )
            entered.set()
            release.wait(10)

    writing = asyncio.ensure_future(store.run(long_write))
    assert await asyncio.to_thread(entered.wait, 5)
    try:
        # The writer's thread is busy inside an open transaction: reads still answer,
        # and see only what was committed.
        count = await asyncio.wait_for(store.run(store.count_clients), 5)
        stats = await asyncio.wait_for(store.run(store.overall_stats), 5)
        assert (count, stats.total) == (1, 0)
    finally:
        release.set()
        await writing
    assert await store.run(store.count_clients) == 2


async def test_the_reader_connection_cannot_write(store: Store) -> None:
    await store.run(store.count_clients)  # starts the reader thread
    reader = store._threads._reader
    assert reader is not None

    def try_to_write() -> None:
        store.db.execute_sql("DELETE FROM client")

    with pytest.raises((sqlite3.OperationalError, pw.OperationalError), match="readonly"):
        await asyncio.wrap_future(reader.submit(try_to_write))


async def test_writes_and_other_callables_stay_on_the_writer(store: Store) -> None:
    names: dict[str, str] = {}

    def where(label: str) -> None:
        names[label] = threading.current_thread().name

    await store.run(where, "writer")
    created = await store.run(store.create_client, phone(5))
    assert created.phone == phone(5)
    # A write is seen by the next read at once.
    assert await store.run(store.count_clients) == 1
    assert names["writer"].startswith("notifier-db_")


async def test_an_import_does_not_stall_the_writer_thread(store: Store) -> None:
    """The UI imports through Store.run while its own sender writes through it too."""
    halfway = threading.Event()
    go_on = threading.Event()

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for n in range(200):
            if n == 100:
                halfway.set()
                go_on.wait(10)
            yield n + 2, {"phone": phone(n), "tag": "", "timezone": "UTC"}

    importing = asyncio.ensure_future(store.run(store.import_rows, rows()))
    assert await asyncio.to_thread(halfway.wait, 5)
    try:
        # Mid-import, a write on the writer's thread goes through at once.
        made = await asyncio.wait_for(store.run(store.create_client, phone(999)), 5)
        assert made.phone == phone(999)
    finally:
        go_on.set()
    result = await importing
    assert result.imported == 200
    assert await store.run(store.count_clients) == 201
