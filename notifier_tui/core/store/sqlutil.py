"""Small SQL helpers shared by the store's modules."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import peewee as pw

from notifier_tui.core.store.dialect import RawCursor, raw_cursor

P = ParamSpec("P")
T = TypeVar("T")

# SQLite's bound-parameter limit is 32766; stay well below it.
CHUNK = 900


class HasDatabase(Protocol):
    @property
    def db(self) -> pw.Database: ...

    def _notify(self) -> None: ...


S = TypeVar("S", bound=HasDatabase)


def _transaction(
    method: Callable[Concatenate[S, P], T], notify: Callable[[T], bool]
) -> Callable[Concatenate[S, P], T]:
    @functools.wraps(method)
    def wrapper(store: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        # IMMEDIATE takes the write lock up front: a deferred transaction that
        # read first fails at once with "database is locked" if another process
        # committed meanwhile, where IMMEDIATE waits out the busy timeout.
        with store.db.atomic("IMMEDIATE"):
            result = method(store, *args, **kwargs)
        if notify(result):
            store._notify()
        return result

    return wrapper


def writes(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """Run a method in one transaction and tell listeners once it committed."""
    return _transaction(method, lambda _: True)


def writes_if_changed(
    method: Callable[Concatenate[S, P], T],
) -> Callable[Concatenate[S, P], T]:
    """Like :func:`writes`, but tell listeners only when the result is truthy.

    For the sender's own housekeeping: the sender listens to the store, so a
    write that changed nothing must not wake it, or it would wake itself forever.
    """
    return _transaction(method, _changed)


def _changed(result: object) -> bool:
    """A count, a list, or a dict of lists by status: did anything change?"""
    if isinstance(result, dict):
        return any(result.values())
    return bool(result)


def chunks(items: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def execute(db: pw.Database, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
    """``db.execute_sql`` with types: peewee's own is untyped."""
    run = cast("Callable[[str, Sequence[Any]], sqlite3.Cursor]", db.execute_sql)
    return run(sql, params)


def cursor(db: pw.Database) -> RawCursor:
    """A raw cursor on the store's connection, for ``executemany``, on either backend."""
    return raw_cursor(db)
