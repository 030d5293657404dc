"""The store's campaign operations, a layer of :class:`~.facade.Store`.

Stop list, audit trail, clone, preview, export and test sends: each method
validates, writes in one transaction, and appends its audit row in that same
transaction (see :mod:`.audit`), so the UI, the command line, the API and the
daemon record alike. Code on an event loop calls them through
:meth:`Store.run`, like every store method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from notifier_tui.core import rules
from notifier_tui.core.audit import Action, AuditEntry, Surface
from notifier_tui.core.projection import Projection, project
from notifier_tui.core.records import MailingRecord
from notifier_tui.core.segments import SegmentCount, count_segments
from notifier_tui.core.store.opened import OpenStore
from notifier_tui.core.store.sqlutil import execute
from notifier_tui.core.store.stoplist import StopEntry, StopListChange

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Preview:
    """A mailing's pre-flight projection and what it was computed from.

    Attributes:
        projection: audience, in-window count, histogram, finish, misses.
        excluded: clients the filter selects that the stop list keeps out.
        since: when sending would start (the start, or now once started).
        end_at: the mailing's end.
        rate_source: ``rate_limit``, ``measured`` or ``none`` (windows only).
        segments: the text's encoding and segments, if a text was given.
    """

    projection: Projection
    excluded: int
    since: datetime
    end_at: datetime
    rate_source: str
    segments: SegmentCount | None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            **self.projection.to_json(),
            "excluded_stop_listed": self.excluded,
            "since": self.since.isoformat(),
            "end_at": self.end_at.isoformat(),
            "rate_source": self.rate_source,
        }
        if self.segments is not None:
            doc.update(self.segments.to_json())
        return doc


class CampaignOps(OpenStore):
    """Campaign methods of the store facade, over the open store's parts."""

    # --- who acts -------------------------------------------------------------

    @property
    def surface(self) -> Surface:
        """The surface recorded in the audit trail: ui (default), cli, api or daemon."""
        return self.audit.surface

    @surface.setter
    def surface(self, value: Surface | str) -> None:
        self.audit.surface = Surface(value)

    def acting_as(
        self, surface: Surface | str, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """Call ``fn`` with the audit surface set to ``surface`` for that call only.

        For a process where two surfaces share one store (the API inside the
        daemon): ``await store.run(store.acting_as, "api", store.create_client, phone)``.
        Safe because every call of an open store runs on its one thread, in turn.
        """
        before = self.audit.actor
        self.audit.surface = Surface(surface)
        try:
            return fn(*args, **kwargs)
        finally:
            self.audit.actor = before

    def audit_entries(
        self,
        *,
        mailing_id: int | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """The audit trail oldest first (``limit``: the newest that many)."""
        return self.audit.entries(mailing_id=mailing_id, since=since, limit=limit)

    # --- stop list ------------------------------------------------------------

    def stoplist_entries(self) -> list[StopEntry]:
        return self.stoplist.entries()

    def stoplist_count(self) -> int:
        return self.stoplist.count()

    def is_stop_listed(self, phone: str) -> bool:
        return self.stoplist.contains(rules.normalize_phone(phone))

    def stoplist_add(self, phones: Iterable[str]) -> StopListChange:
        """List phones; their pending messages become cancelled (stop-listed)."""
        with self._audited():
            change = self.stoplist.add(phones)
            if change.changed:
                self.audit.record(
                    Action.STOPLIST_ADD,
                    "stoplist",
                    None,
                    {"phones": change.changed, "messages_cancelled": change.messages},
                )
        return change

    def stoplist_remove(self, phones: Iterable[str]) -> StopListChange:
        """Unlist phones; live mailings they still match get their messages back."""
        with self._audited():
            change = self.stoplist.remove(phones)
            if change.changed:
                self.audit.record(
                    Action.STOPLIST_REMOVE,
                    "stoplist",
                    None,
                    {"phones": change.changed, "messages_restored": change.messages},
                )
        return change

    def stoplist_import(self, path: Path | str) -> StopListChange:
        """Add every phone of a CSV with a ``phone`` column; one bad row and none is added."""
        with self._audited():
            change = self.stoplist.import_csv(path)
            self.audit.record(
                Action.STOPLIST_IMPORT,
                "stoplist",
                None,
                {
                    "added": len(change.changed),
                    "already_listed": len(change.unchanged),
                    "messages_cancelled": change.messages,
                },
            )
        return change

    def audience_excluded(
        self, operator_codes: Iterable[str] = (), tags: Iterable[str] = ()
    ) -> int:
        """How many clients a draft filter selects that the stop list keeps out."""
        return self.audience.excluded(operator_codes, tags)

    # --- resend to the missed -------------------------------------------------

    def clone_mailing(
        self,
        mailing_id: int,
        *,
        start_at: datetime,
        end_at: datetime,
        only: frozenset[str] | None = None,
        text: str | None = None,
    ) -> MailingRecord:
        """A new mailing for the clients of ``mailing_id`` (see :meth:`Campaign.clone`)."""
        with self._audited():
            new_id, audience = self.campaign.clone(
                mailing_id, start_at=start_at, end_at=end_at, only=only, text=text
            )
            record = self.mailings.get(new_id)
            self.audit.record(
                Action.MAILING_CLONE,
                "mailing",
                new_id,
                {
                    "cloned_from": mailing_id,
                    "only": sorted(only) if only else None,
                    "audience": audience,
                    "start_at": start_at.isoformat(),
                    "end_at": end_at.isoformat(),
                    "text": record.text,
                },
            )
        return record

    def explicit_clients(self, mailing_id: int) -> list[int]:
        """The client ids a cloned mailing lists as its audience (empty for a filter)."""
        return self.campaign.explicit_clients(mailing_id)

    # --- preview --------------------------------------------------------------

    def audience_by_zone(
        self, operator_codes: Iterable[str] = (), tags: Iterable[str] = ()
    ) -> dict[str, int]:
        return self.campaign.audience_by_zone(operator_codes, tags)

    def measured_send_rate(self) -> float | None:
        return self.campaign.measured_rate()

    def _rate(self, rate_limit: float | None) -> tuple[float | None, str]:
        if rate_limit:
            return rate_limit, "rate_limit"
        measured = self.campaign.measured_rate()
        return (measured, "measured") if measured else (None, "none")

    def preview_draft(
        self,
        start_at: datetime,
        end_at: datetime,
        *,
        operator_codes: Iterable[str] = (),
        tags: Iterable[str] = (),
        window: str | None = None,
        text: str | None = None,
        rate_limit: float | None = None,
    ) -> Preview:
        """The projection of a mailing not yet saved (the options of ``mailing add``).

        ``rate_limit`` is the configured limit (0 or ``None``: use the last
        measured send rate, else only the windows limit).
        """
        rules.validate_period(start_at, end_at)
        codes, tag_set = list(operator_codes), list(tags)
        parsed = rules.parse_window(window)
        seg = count_segments(rules.validate_text(text)) if text is not None else None
        by_zone = self.campaign.audience_by_zone(codes, tag_set)
        since = max(start_at, self.audit.clock())
        rate, source = self._rate(rate_limit)
        projection = project(by_zone, parsed, since, end_at, rate)
        excluded = self.audience.excluded(codes, tag_set)
        return Preview(projection, excluded, since, end_at, source, seg)

    def preview_mailing(self, mailing_id: int, *, rate_limit: float | None = None) -> Preview:
        """The projection of a stored mailing: from its start, or from now once started."""
        m = self.mailings.get(mailing_id)
        by_zone = self.campaign.mailing_audience_by_zone(mailing_id)
        since = max(m.start_at, self.audit.clock())
        rate, source = self._rate(rate_limit)
        projection = project(by_zone, rules.parse_window(m.window), since, m.end_at, rate)
        if self.campaign.explicit_clients(mailing_id):
            # A listed client is left out at the start if its phone is stop-listed by then.
            row = execute(
                self.db,
                "SELECT COUNT(*) FROM mailing_client mc JOIN client c ON c.id = mc.client_id"
                " WHERE mc.mailing_id = ? AND c.phone IN (SELECT phone FROM stop_list)",
                (mailing_id,),
            ).fetchone()
            excluded = int(row[0])
        else:
            excluded = self.audience.excluded(m.operator_codes, m.tags)
        return Preview(projection, excluded, since, m.end_at, source, count_segments(m.text))

    # --- export and test sends ------------------------------------------------

    def export_mailing_csv(self, mailing_id: int, path: Path | str) -> int:
        """Every message of a mailing as CSV, streamed; returns the row count."""
        return self.campaign.export_csv(mailing_id, path)

    def reserve_test_send_id(self) -> int:
        """A gateway id for a test send that no message has or will ever have."""
        return self.campaign.reserve_test_id()

    def record_test_send(
        self,
        mailing_id: int,
        msg_id: int,
        phone: str,
        *,
        outcome: str,
        status_code: int | None,
        answer: str,
        error_class: str | None,
    ) -> None:
        """Append a test send's audit row; it never touches the mailing's messages."""
        with self._audited():
            self.audit.record(
                Action.MAILING_TEST_SEND,
                "mailing",
                mailing_id,
                {
                    "test_id": msg_id,
                    "phone": phone,
                    "outcome": outcome,
                    "status_code": status_code,
                    "answer": answer,
                    "error_class": error_class,
                },
            )
