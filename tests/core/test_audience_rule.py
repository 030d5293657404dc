"""The audience rule has two implementations that must agree, checked on random input.

A mailing's audience is built in SQL (:meth:`AudienceFilter.sql`, used when a
mailing starts and when its filter changes); one client's membership is
decided in Python (:meth:`AudienceFilter.matches`, used when a client is
added or changed during a live mailing). If they disagreed, a client would get
a message when created but lose it on the next filter edit, or the reverse.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier_tui.core import rules
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.store import Store
from notifier_tui.core.store.audience import AudienceFilter
from notifier_tui.core.store.schema import Mailing
from tests.core.conftest import FakeClock, phone

# Few codes, so that filters and clients meet often; a rare arbitrary one beside them.
CODES = st.one_of(
    st.sampled_from(["900", "901", "912"]),
    st.sampled_from(["900", "901", "912"]),
    st.sampled_from(["900", "901", "912"]),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
)
# Tags that look alike on purpose (case, spaces, LIKE and JSON metacharacters, non-ASCII),
# and arbitrary printable text beside them.
TAGS = st.one_of(
    st.sampled_from(["", "vip", "VIP", "vip ", "ёлка", "Ёлка", "a_b", "a%b", '"q"', "\\", "新"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6),
)
CLIENTS = st.lists(st.tuples(CODES, TAGS), max_size=10)

hypothesis_settings = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def valid_tags(tags: frozenset[str]) -> list[str]:
    out = []
    for tag in tags:
        try:
            rules.validate_tag(tag)
        except ValidationError:
            continue
        out.append(tag)
    return out


def reset(store: Store) -> None:
    for table in ("message", "mailing", "client"):
        store.db.execute_sql(f"DELETE FROM {table}")


def add_clients(store: Store, clients: list[tuple[str, str]], first: int = 0) -> list[int]:
    ids = []
    for n, (code, tag) in enumerate(clients, start=first):
        try:
            ids.append(store.create_client(phone(n), tag, "UTC", code).id)
        except ValidationError:
            continue  # a tag the rules refuse is no client at all
    return ids


@hypothesis_settings
@given(
    clients=CLIENTS,
    codes=st.frozensets(CODES, max_size=3),
    tags=st.frozensets(TAGS, max_size=3),
    late=CLIENTS,
)
def test_sql_and_python_agree(
    store: Store,
    clock: FakeClock,
    clients: list[tuple[str, str]],
    codes: frozenset[str],
    tags: frozenset[str],
    late: list[tuple[str, str]],
) -> None:
    reset(store)
    add_clients(store, clients)
    mailing = store.create_mailing(
        clock() - timedelta(minutes=1),
        clock() + timedelta(hours=1),
        "hi",
        operator_codes=codes,
        tags=valid_tags(tags),
    )
    store.materialize_due()
    row = Mailing.get_by_id(mailing.id)
    filt = AudienceFilter.of(row)

    def python_side() -> set[int]:
        return {
            c.id
            for c in store.list_clients(limit=None)
            if filt.matches(c.operator_code, c.tag)
            and rules.audience_matches(
                frozenset(mailing.operator_codes), frozenset(mailing.tags), c.operator_code, c.tag
            )
        }

    def messaged() -> set[int]:
        rows = store.db.execute_sql(
            "SELECT client_id FROM message WHERE mailing_id = ? AND status = 'pending'",
            (mailing.id,),
        ).fetchall()
        return {cid for (cid,) in rows}

    # The SQL built the audience when the mailing started.
    assert messaged() == python_side()
    assert store.audience_count(mailing.operator_codes, mailing.tags) == len(python_side())
    # Clients added while it runs are judged in Python, one by one; SQL agrees on each.
    add_clients(store, late, first=len(clients))
    assert messaged() == python_side()
    where, params = filt.sql()
    in_sql = store.db.execute_sql(f"SELECT c.id FROM client c WHERE {where}", params).fetchall()
    assert {cid for (cid,) in in_sql} == python_side()
    # And a filter edit, judged in SQL again, changes nothing.
    store.update_mailing(mailing.id, tags=list(mailing.tags))
    assert messaged() == python_side()
