"""Sample data for ``notifier-tui --demo``: clients, and mailings past, present and future.

Everything goes through the store's public operations, the way the sender
itself would have written it: the finished mailing's messages are
materialised, claimed and given outcomes at the times they would have had,
then the rest expire at its end. With the same ``now`` and seed the data is
the same, so screenshots and tests can rely on it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store import Store

CLIENTS = 200
TIMEZONES = (
    ("Europe/Moscow", 40),
    ("Europe/Kaliningrad", 8),
    ("Europe/Samara", 8),
    ("Asia/Yekaterinburg", 14),
    ("Asia/Novosibirsk", 12),
    ("Asia/Krasnoyarsk", 6),
    ("Asia/Vladivostok", 8),
    ("Asia/Kamchatka", 4),
)
TAGS = (("regular", 50), ("new", 22), ("vip", 16), ("", 12))
OPERATORS = (("900", 20), ("916", 25), ("926", 20), ("999", 15), ("903", 10), ("915", 10))
FAILURES = (
    "HTTP 400: phone is not served by the gateway",
    "HTTP 422: text rejected by the operator",
)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    values, weights = zip(*weighted, strict=True)
    return str(rng.choices(values, weights=weights)[0])


def demo_clients(rng: random.Random, count: int = CLIENTS) -> list[tuple[int, dict[str, str]]]:
    """``count`` distinct clients as import rows ``(line, fields)``."""
    rows: list[tuple[int, dict[str, str]]] = []
    seen: set[str] = set()
    while len(rows) < count:
        operator = _pick(rng, OPERATORS)
        phone = f"7{operator}{rng.randrange(10**7):07d}"
        if phone in seen:
            continue
        seen.add(phone)
        rows.append(
            (
                len(rows) + 2,
                {"phone": phone, "tag": _pick(rng, TAGS), "timezone": _pick(rng, TIMEZONES)},
            )
        )
    return rows


def seed_demo(store: Store, now: datetime, rng: random.Random) -> None:
    """Fill an empty store with the demo's clients and mailings, relative to ``now``."""
    store.import_rows(demo_clients(rng))
    _finished_mailing(store, now, rng)
    store.create_mailing(
        now - timedelta(minutes=5),
        now + timedelta(minutes=10),
        "Flash sale: 30% off everything until midnight. Show this SMS at the till."
        " Reply STOP to opt out.",
        tags=("vip", "regular"),
    )
    store.create_mailing(
        now + timedelta(minutes=1),
        now + timedelta(minutes=30),
        "Welcome! Your first delivery is free with code HELLO. Reply STOP to opt out.",
        operator_codes=("900", "916", "926"),
        tags=("new",),
        window="08:00-22:00",
    )


def _finished_mailing(store: Store, now: datetime, rng: random.Random) -> None:
    """A mailing two hours ago, replayed: most sent, a few failed, the rest expired."""
    start, end = now - timedelta(hours=3), now - timedelta(hours=2)
    mailing = store.create_mailing(
        start,
        end,
        "Our shop on Lenina St. reopens on Monday after renovation. See you there!",
    )
    store.materialize_due(start)
    claims = store.claim_due(start + timedelta(seconds=1), limit=10_000)
    outcomes = []
    for claim in claims:
        if claim.mailing_id != mailing.id:  # pragma: no cover - only this one is live then
            continue
        roll = rng.random()
        sent_at = start + timedelta(seconds=rng.uniform(1, 900))
        if roll < 0.88:
            outcomes.append(Outcome(claim.id, MessageStatus.SENT, sent_at=sent_at))
        elif roll < 0.94:
            outcomes.append(
                Outcome(claim.id, MessageStatus.FAILED, last_error=rng.choice(FAILURES))
            )
        else:
            # Retried until the end and never accepted: finalize() expires it below.
            outcomes.append(
                Outcome(
                    claim.id,
                    MessageStatus.PENDING,
                    last_error="HTTP 503: gateway busy",
                    next_attempt_at=end + timedelta(minutes=1),
                )
            )
    store.record_outcomes(outcomes)
    store.finalize(now)
