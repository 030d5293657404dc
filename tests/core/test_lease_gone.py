"""A lease holder on this host whose process is gone holds nothing, at once.

A daemon killed with -9 (or a UI whose terminal closed) leaves a fresh lease
row behind. When it ran on this host the kernel says it is gone, so the next
look (about a second) frees the lease instead of waiting out the TTL; a live
holder, or one on another host, keeps it until its TTL. Real SQLite files and
real processes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from notifier_tui.core.sending.lease_keeper import _acquire
from notifier_tui.core.sending.local_process import gone_here
from notifier_tui.core.store import Store

TTL = 3600.0
"""Far longer than any test: only the pid check can free the lease."""


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "lease.db")
    yield s
    s.close()


def test_gone_means_this_host_and_no_such_process() -> None:
    host = socket.gethostname()
    pid = dead_pid()
    assert gone_here(host, pid)
    assert not gone_here(host, os.getpid())  # ourselves
    assert not gone_here(host, os.getppid())  # alive
    assert not gone_here("elsewhere", pid)  # another host: left to the TTL
    assert not gone_here(host, 0)


def test_a_gone_holder_is_nobody_and_its_lease_can_be_taken(store: Store) -> None:
    pid = dead_pid()
    assert store.acquire_lease("dead", pid, socket.gethostname(), "daemon", TTL)
    # A UI that may not take over on its own: it learns that nobody sends.
    seen = _acquire(store, "ui", "ui", TTL, allowed=False)
    assert (seen.taken, seen.holder) == (False, None)
    assert seen.previous is not None and seen.previous_gone
    # Once the user says take over, the fresh row of the dead process is no obstacle.
    got = _acquire(store, "ui", "ui", TTL, allowed=True)
    assert got.taken and got.previous_gone
    holder = store.lease_holder(TTL)
    assert holder is not None and holder.owner == "ui"


def test_a_live_holder_keeps_its_lease(store: Store) -> None:
    assert store.acquire_lease("live", os.getppid(), socket.gethostname(), "daemon", TTL)
    got = _acquire(store, "ui", "ui", TTL, allowed=True)
    assert not got.taken and not got.previous_gone
    assert got.holder is not None and got.holder.owner == "live"


def test_a_holder_on_another_host_keeps_its_lease_until_its_ttl(store: Store) -> None:
    assert store.acquire_lease("far", dead_pid(), "elsewhere", "daemon", TTL)
    got = _acquire(store, "ui", "ui", TTL, allowed=True)
    assert not got.taken
    assert got.holder is not None and got.holder.owner == "far"


def test_dead_owner_never_pushes_out_a_live_process(store: Store) -> None:
    """Naming a dead owner frees only that owner's row, not whoever took it meanwhile."""
    assert store.acquire_lease("live", os.getppid(), socket.gethostname(), "daemon", TTL)
    assert not store.acquire_lease("ui", os.getpid(), "h", "ui", TTL, dead_owner="dead")
    holder = store.lease_holder(TTL)
    assert holder is not None and holder.owner == "live"
