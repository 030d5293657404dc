""" "New mailing for the N not sent": a clone of a mailing for its failed, expired and cancelled.

The new mailing lists exactly those clients (``Store.clone_mailing`` with
``only``); the original and its messages are never touched, so its
statistics stay true. The dialog asks for the new span and lets the text be
changed; times are typed like in the mailing form (display timezone, ``now``,
``+10m`` or ISO) and judged by the same core rules.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static, TextArea

from notifier_tui.core import rules
from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import MailingRecord
from notifier_tui.ui.dialogs.form_actions import FormDialog
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets.field import FormField, in_labels
from notifier_tui.ui.workers import ReportsWorkerErrors

NOT_SENT = ("failed", "expired", "cancelled")
"""The statuses of the messages a resend is for."""
LABELS = {"start_at": "Start", "end_at": "End", "text": "Text"}


def not_sent(by_status: dict[str, int]) -> int:
    """How many messages of a mailing ended without being sent."""
    return sum(by_status.get(status, 0) for status in NOT_SENT)


class CloneDialog(NotifierNode, ReportsWorkerErrors, FormDialog[MailingRecord | None]):
    """Dismisses with the new mailing, or ``None`` when cancelled."""

    CSS_PATH = "dialogs.tcss"
    DEFAULT_CSS = """
    CloneDialog {
        align: center middle;
        background: $background 60%;
    }
    CloneDialog #text {
        height: 4;
        width: 1fr;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Create", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, mailing: MailingRecord, by_status: dict[str, int]) -> None:
        super().__init__()
        self.mailing = mailing
        """The mailing whose missed clients the new one is for."""
        self.count = not_sent(by_status)
        """Messages not sent: the N of the title."""
        self._by_status = by_status
        self._saving = False

    def compose(self) -> ComposeResult:
        tz_name = self.notifier.clock().astimezone(self.notifier.display_tz).tzname()
        parts = ", ".join(
            f"{self._by_status.get(s, 0):,} {s}" for s in NOT_SENT if self._by_status.get(s, 0)
        )
        with Vertical(classes="dialog form", id="clone-dialog"):
            yield Label(
                f"New mailing for the {self.count:,} not sent of mailing #{self.mailing.id}",
                classes="dialog-title",
            )
            yield Static(
                f"{parts}. Times in {tz_name}; 'now', '+10m' or ISO. The original is not changed.",
                classes="dialog-hint",
            )
            yield self._input("start_at", "now")
            yield self._input("end_at", "+1d")
            yield FormField(LABELS["text"], TextArea(self.mailing.text, id="text"), name="text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield Footer()

    @staticmethod
    def _input(name: str, value: str) -> FormField:
        return FormField(LABELS[name], Input(value, id=name, compact=True), name=name)

    def on_mount(self) -> None:
        self.query_one("#start_at").focus()

    def _field(self, name: str) -> FormField:
        return self.query_one(f"#field-{name}", FormField)

    def _parse(self) -> dict[str, Any] | None:
        """The start, end and text if every rule passes; else show why and ``None``."""
        now, tz = self.notifier.clock(), self.notifier.display_tz
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name in ("start_at", "end_at"):
            try:
                values[name] = rules.parse_when(
                    self.query_one(f"#{name}", Input).value, now, tz, name
                )
            except ValidationError as err:
                errors[name] = in_labels(err.rule, LABELS)
        if not errors:
            try:
                rules.validate_period(values["start_at"], values["end_at"])
            except ValidationError as err:
                errors["end_at"] = in_labels(err.rule, LABELS)
        try:
            values["text"] = rules.validate_text(self.query_one("#text", TextArea).text)
        except ValidationError as err:
            errors["text"] = in_labels(err.rule, LABELS)
        for name in LABELS:
            self._field(name).set_error(errors.get(name))
        return None if errors else values

    def action_save(self) -> None:
        if self._saving:
            return  # a second ctrl+s while the first is written would make a second mailing
        values = self._parse()
        if values is not None:
            self._saving = True
            self._create(values)

    @work(group="clone", exit_on_error=False)
    async def _create(self, values: dict[str, Any]) -> None:
        try:
            await self._clone(values)
        finally:
            self._saving = False

    async def _clone(self, values: dict[str, Any]) -> None:
        store = self.notifier.store
        text = values["text"] if values["text"] != self.mailing.text else None
        try:
            record = await store.run(
                store.clone_mailing,
                self.mailing.id,
                start_at=values["start_at"],
                end_at=values["end_at"],
                only=frozenset(NOT_SENT),
                text=text,
            )
            audience = len(await store.run(store.explicit_clients, record.id))
        except NotFoundError as err:
            self.notify(f"{err}: it was deleted meanwhile", severity="warning")
            self.dismiss(None)
            return
        except ValidationError as err:
            if err.field in LABELS:
                self._field(err.field).set_error(in_labels(err.rule, LABELS))
            else:
                self.notify(in_labels(str(err), LABELS), severity="error")
            return
        self.notifier.after_write()
        noun = "client" if audience == 1 else "clients"
        self.notify(f"Mailing #{record.id} created for the {audience:,} {noun} not sent.")
        self.dismiss(record)
