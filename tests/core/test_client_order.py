"""The client list's ``order``: sorted in SQL on a whitelisted column, id breaking every tie.

Every test runs on SQLite and on PostgreSQL (``backend_store``). The values are
chosen to sort the same under any collation (one case, no punctuation at a tie).
"""

from __future__ import annotations

from typing import Any

import pytest

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.records import ClientRecord
from notifier_tui.core.store import Store
from notifier_tui.core.store.clients import SORT_COLUMNS
from notifier_tui.core.store.sqlutil import execute

TAGS = ("vip", "", "new", "regular")
ZONES = ("UTC", "Asia/Omsk", "Europe/Moscow")
OPERATORS = ("916", "900", "903")
FIELD = {
    "id": "id",
    "phone": "phone",
    "operator": "operator_code",
    "tag": "tag",
    "timezone": "timezone",
}
"""The record's attribute each sort name is on."""


def seed(store: Store, n: int = 40) -> None:
    """``n`` clients whose tag, zone and operator repeat, so every sort has ties."""
    for i in range(n):
        # One at a time (an import numbers its rows in phone order): phones descend while
        # ids ascend, so the phone order is not the id order.
        store.create_client(
            f"7{OPERATORS[i % 3]}{9_999_999 - i:07d}",
            tag=TAGS[i % 4],
            timezone=ZONES[i % 3],
            operator_code=OPERATORS[(i // 2) % 3],
        )


def everything(store: Store, order: str, **kwargs: Any) -> list[ClientRecord]:
    return store.list_clients(order=order, limit=None, **kwargs)


def expected(clients: list[ClientRecord], name: str, *, descending: bool) -> list[int]:
    attr = FIELD[name]
    ranked = sorted(clients, key=lambda c: (getattr(c, attr), c.id), reverse=descending)
    return [c.id for c in ranked]


@pytest.mark.parametrize("name", list(SORT_COLUMNS))
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_every_column_sorts_with_id_breaking_ties(
    backend_store: Store, name: str, descending: bool
) -> None:
    seed(backend_store)
    by_id = everything(backend_store, "id")
    order = f"-{name}" if descending else name
    got = [c.id for c in everything(backend_store, order)]
    assert got == expected(by_id, name, descending=descending)
    if name != "id":
        assert got != [c.id for c in by_id], "the data must make the order differ from ids"


def test_descending_is_the_exact_reverse(backend_store: Store) -> None:
    seed(backend_store)
    for name in SORT_COLUMNS:
        up = [c.id for c in everything(backend_store, name)]
        down = [c.id for c in everything(backend_store, f"-{name}")]
        assert down == up[::-1], name


@pytest.mark.parametrize("order", ["tag", "-operator", "timezone"])
def test_pages_in_any_order_cover_every_client_once(backend_store: Store, order: str) -> None:
    seed(backend_store, 37)
    whole = [c.id for c in everything(backend_store, order)]
    pages: list[int] = []
    for offset in range(0, 37, 5):
        pages += [c.id for c in backend_store.list_clients(order=order, offset=offset, limit=5)]
    assert pages == whole
    assert sorted(pages) == list(range(1, 38))


def test_order_applies_within_a_search_and_the_filters(backend_store: Store) -> None:
    seed(backend_store)
    found = backend_store.list_clients("omsk", order="-phone", limit=None)
    assert found and {c.timezone for c in found} == {"Asia/Omsk"}
    assert [c.phone for c in found] == sorted((c.phone for c in found), reverse=True)
    vip = backend_store.list_clients(tag="vip", order="operator", limit=None)
    assert [(c.operator_code, c.id) for c in vip] == sorted((c.operator_code, c.id) for c in vip)


def _dump(store: Store) -> list[tuple[Any, ...]]:
    rows = execute(store.db, "SELECT id, phone, operator_code, tag, timezone FROM client")
    return sorted(rows.fetchall())


@pytest.mark.parametrize(
    "order",
    ["", "-", "--id", "name", "Phone", "phone desc", "id; DROP TABLE client", "operator_code"],
)
def test_an_unknown_order_is_refused_and_nothing_changes(backend_store: Store, order: str) -> None:
    seed(backend_store, 5)
    before = _dump(backend_store)
    with pytest.raises(ValueError, match="cannot sort by") as caught:
        backend_store.list_clients(order=order)
    message = str(caught.value)
    assert repr(order) in message
    for name in SORT_COLUMNS:
        assert name in message
    # The core's bad-input error too: the command line and the API report it as such.
    assert isinstance(caught.value, ValidationError) and caught.value.field == "order"
    assert _dump(backend_store) == before
    assert backend_store.count_clients() == 5
