"""The exit statuses of ``notifier-tui``, shared by the command line and the daemon.

One status per class of failure, so a supervisor (systemd's
``RestartPreventExitStatus=2 78``) can tell "fix the input" and "fix the
setup" from "try again":

====  ============  =============================================================
code  name          meaning
====  ============  =============================================================
0     OK            done
1     ERROR         transient or unexpected: a store busy or a disk full, a
                    gateway or SMTP server that failed; a retry may succeed
2     USAGE         bad input: a flag, a field, an id, a file named on the
                    command line; nothing was written
78    CONFIG        unusable setup (EX_CONFIG): a bad value in the config file
                    or a NOTIFIER_* variable, a store that is not SQLite, has a
                    newer or corrupt schema, or is read-only
130   INTERRUPTED   Ctrl-C, as a shell reports SIGINT
====  ============  =============================================================

:func:`classify` maps any exception to its status and a one-line message,
so every surface (the command line, the daemon, a supervisor) reports the
same failure the same way.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from notifier_tui.core.errors import NotFoundError, RowErrors, ValidationError
from notifier_tui.settings.errors import ConfigError, StoreUnusable


class Exit(IntEnum):
    """Exit statuses."""

    OK = 0
    ERROR = 1
    """Transient or unexpected; a short line on stderr says what."""
    USAGE = 2
    """Bad input: a flag, a field, an id, a file named on the command line."""
    CONFIG = 78
    """Unusable setup: a bad setting from env or the config file, an unusable store."""
    INTERRUPTED = 130
    """Ctrl-C, as a shell reports SIGINT."""


EPILOG = """\
Exit status: 0 ok; 1 transient or unexpected (store busy, disk full, gateway or
SMTP failure; NOTIFIER_DEBUG=1 adds the traceback); 2 bad input (a flag, a field,
an id, a file); 78 unusable setup (a bad config file or NOTIFIER_* value, a store
that is not SQLite, newer, corrupt or read-only); 130 interrupted.
"""
"""The exit-status paragraph of ``--help``."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, as the user is told it.

    Attributes:
        code: the exit status.
        message: one line, ``field: rule`` for a known failure.
        expected: a failure the program knows (bad input, unusable setup, a
            full disk); ``False`` for a bug or anything unforeseen, which the
            command line reports as "unexpected error".
    """

    code: Exit
    message: str
    expected: bool = True


# Primary SQLite result codes (the low byte of the extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_AUTH, _SQLITE_NOTADB = 23, 26

_SQLITE_SETUP = {
    _SQLITE_READONLY: "the store is read-only",
    _SQLITE_CORRUPT: "the store file is damaged",
    _SQLITE_NOTADB: "not an SQLite store",
    _SQLITE_CANTOPEN: "cannot open the store file",
    _SQLITE_PERM: "no permission to use the store",
    _SQLITE_AUTH: "no permission to use the store",
}
_SQLITE_TRANSIENT = {
    _SQLITE_BUSY: "the store is busy (another process holds its write lock); try again",
    _SQLITE_LOCKED: "the store is busy (another process holds its write lock); try again",
    _SQLITE_IOERR: "input/output error on the store file",
}
_DISK_FULL = "disk full: the store could not be written (nothing was changed); free some space"
_OS_SETUP = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR}
_OS_FULL = {errno.ENOSPC, errno.EDQUOT}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it: causes, contexts, and wrapped ones.

    peewee re-raises sqlite3 errors as its own with the original as the first
    argument, and a failed rollback hides the error that caused it in
    ``__context__`` ("cannot rollback - no transaction is active" after
    SQLITE_FULL): the real reason is further down.
    """
    seen: set[int] = set()
    todo = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [e for e in (item.__cause__, item.__context__) if e is not None]
        todo += [a for a in item.args[:1] if isinstance(a, BaseException)]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def classify(exc: BaseException) -> Failure:
    """The exit status and one-line message for ``exc``.

    The order matters: an error the program raised on purpose says what it
    is; a raw SQLite or OS error is judged by its code, anywhere in the chain
    behind ``exc``, a full disk first (it hides behind a failed rollback).
    """
    if isinstance(exc, KeyboardInterrupt):
        return Failure(Exit.INTERRUPTED, "interrupted")
    if isinstance(exc, ConfigError | StoreUnusable):
        return Failure(Exit.CONFIG, _one_line(f"{exc.field}: {exc.rule}"))
    if isinstance(exc, ValidationError):
        return Failure(Exit.USAGE, _one_line(f"{exc.field}: {exc.rule}"))
    if isinstance(exc, NotFoundError):
        return Failure(Exit.USAGE, f"{exc.kind}: no {exc.kind} with id {exc.ident}")
    if isinstance(exc, RowErrors):
        return Failure(Exit.USAGE, f"import: {len(exc.errors)} bad row(s), nothing imported")
    chain = list(_chain(exc))
    codes = {
        code & 0xFF
        for e in chain
        if isinstance(e, sqlite3.Error) and (code := getattr(e, "sqlite_errorcode", None))
    }
    os_codes = {e.errno for e in chain if isinstance(e, OSError) and e.errno is not None}
    if _SQLITE_FULL in codes or os_codes & _OS_FULL:
        return Failure(Exit.ERROR, f"db: {_DISK_FULL}")
    for code, text in _SQLITE_SETUP.items():
        if code in codes:
            return Failure(Exit.CONFIG, f"db: {text}")
    for code, text in _SQLITE_TRANSIENT.items():
        if code in codes:
            return Failure(Exit.ERROR, f"db: {text}")
    if isinstance(exc, OSError) and exc.errno in _OS_SETUP:
        where = f" {exc.filename}" if exc.filename else ""
        return Failure(Exit.CONFIG, _one_line(f"file: cannot use{where}: {exc.strerror}"))
    return Failure(Exit.ERROR, _one_line(f"{type(exc).__name__}: {exc}"), expected=False)


def exit_code(exc: BaseException) -> Exit:
    """Just the status of :func:`classify`."""
    return classify(exc).code
