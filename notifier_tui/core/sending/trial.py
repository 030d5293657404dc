"""A test send (a trial): one mailing's text to one phone, now, outside the mailing.

It goes through the sender's own :class:`GatewayClient` and classification,
under an id reserved from the message sequence (never any message's id; see
``Store.reserve_test_send_id``), is recorded in the audit trail, and never
touches the mailing's messages, so it never counts in its statistics.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from notifier_tui.core import rules
from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.sending.classify import OutcomeClass
from notifier_tui.core.sending.gateway import GatewayClient, GatewayResult

if TYPE_CHECKING:
    from notifier_tui.core.store import Store


class TrialProblem(enum.StrEnum):
    """The failures a test send reports as an error rather than an outcome."""

    NO_TOKEN = "no_token"
    REFUSED_TOKEN = "refused_token"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class TrialResult:
    """What one test send did.

    Attributes:
        msg_id: the id it went under (from the message sequence).
        phone: the normalised phone.
        result: the gateway's answer as classified for the sender.
    """

    msg_id: int
    mailing_id: int
    phone: str
    result: GatewayResult

    @property
    def problem(self) -> TrialProblem | None:
        """A refused token or an unreachable gateway; ``None`` for any other answer."""
        cls = self.result.error_class
        if cls is ErrorClass.CREDENTIALS:
            return TrialProblem.REFUSED_TOKEN
        if cls in (ErrorClass.CONNECT, ErrorClass.TIMEOUT) and self.result.status_code is None:
            return TrialProblem.UNREACHABLE
        return None

    def answer(self) -> str:
        """The gateway's answer in one line: ``HTTP 200 OK``, ``no answer: timeout``."""
        if self.result.status_code is None:
            return f"no answer: {self.result.reason}"
        return f"HTTP {self.result.status_code} {self.result.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "test_id": self.msg_id,
            "mailing_id": self.mailing_id,
            "phone": self.phone,
            "outcome": self.result.outcome.value,
            "accepted": self.result.outcome is OutcomeClass.ACCEPTED,
            "status_code": self.result.status_code,
            "answer": self.result.reason,
            "error_class": None
            if self.result.error_class is None
            else self.result.error_class.value,
            "latency": round(self.result.latency, 4),
        }


async def send_trial(
    store: Store, client: GatewayClient, mailing_id: int, phone: str
) -> TrialResult:
    """Send ``mailing_id``'s text to ``phone`` now; call on an event loop.

    Store calls go through :meth:`Store.run`, off the loop.

    Raises:
        ValidationError: a bad phone; NotFoundError: no such mailing (nothing sent).
    """
    number = rules.normalize_phone(phone)
    mailing = await store.run(store.get_mailing, mailing_id)
    msg_id = await store.run(store.reserve_test_send_id)
    result = await client.send(msg_id, number, mailing.text)
    await store.run(
        store.record_test_send,
        mailing_id,
        msg_id,
        number,
        outcome=result.outcome.value,
        status_code=result.status_code,
        answer=result.reason,
        error_class=None if result.error_class is None else result.error_class.value,
    )
    return TrialResult(msg_id, mailing_id, number, result)
