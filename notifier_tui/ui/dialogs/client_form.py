"""Add or edit one client; nothing is saved until every field is valid.

Each field is checked with the same core rule the store applies, and the
store's own verdict (a duplicate phone is a ``ConflictError``) lands under the
field it names, so the form and the command line always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar
from zoneinfo import available_timezones

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Footer, Input, Label

from notifier_tui.core import rules
from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import ClientRecord
from notifier_tui.ui.dialogs.form_actions import FormDialog
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets.field import FormField
from notifier_tui.ui.workers import ReportsWorkerErrors


def _timezone(value: str) -> str:
    return rules.validate_timezone(value) if value.strip() else ""


def _operator(value: str) -> str:
    return rules.validate_operator_code(value) if value.strip() else ""


# The field each input feeds, and the core rule that judges it on its own.
CHECKS: dict[str, Callable[[str], object]] = {
    "phone": rules.normalize_phone,
    "tag": rules.validate_tag,
    "timezone": _timezone,
    "operator_code": _operator,
}


class ClientForm(NotifierNode, ReportsWorkerErrors, FormDialog[ClientRecord | None]):
    """Dismisses with the saved client, or ``None`` when cancelled."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, client: ClientRecord | None = None) -> None:
        super().__init__()
        self.client = client
        """The client being edited; ``None`` adds a new one."""

    def compose(self) -> ComposeResult:
        c = self.client
        default_tz = self.notifier.store.default_timezone
        with Vertical(classes="dialog form", id="client-form"):
            yield Label(f"Edit client {c.id}" if c else "New client", classes="dialog-title")
            yield FormField(
                "Phone",
                Input(
                    c.phone if c else "", placeholder="+7 900 123-45-67", id="phone", compact=True
                ),
                name="phone",
            )
            yield FormField(
                "Tag",
                Input(
                    c.tag if c else "",
                    placeholder="optional, up to 64 characters",
                    id="tag",
                    compact=True,
                ),
                name="tag",
            )
            yield FormField(
                "Timezone",
                Input(
                    c.timezone if c else "",
                    placeholder=f"{default_tz} if empty",
                    id="timezone",
                    compact=True,
                    suggester=SuggestFromList(sorted(available_timezones()), case_sensitive=False),
                ),
                name="timezone",
            )
            yield FormField(
                "Operator",
                Input(
                    c.operator_code if c else "",
                    placeholder="3 digits; from the phone if empty",
                    id="operator_code",
                    compact=True,
                ),
                name="operator_code",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#phone", Input).focus()

    # --- validation -------------------------------------------------------------

    def _field(self, name: str) -> FormField:
        return self.query_one(f"#field-{name}", FormField)

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def _check(self, name: str) -> bool:
        try:
            CHECKS[name](self._value(name))
        except ValidationError as err:
            self._field(name).set_error(err.rule)
            return False
        self._field(name).set_error(None)
        return True

    @on(Input.Changed)
    def _recheck(self, event: Input.Changed) -> None:
        # Only a field already marked wrong is rechecked while typing: the mark goes as
        # soon as the value is right, without scolding a value still being typed.
        name = event.input.id or ""
        if name in CHECKS and self._field(name).error is not None:
            self._check(name)

    @on(Input.Blurred)
    def _check_on_leave(self, event: Input.Blurred) -> None:
        name = event.input.id or ""
        if name in CHECKS and event.value.strip():
            self._check(name)

    def validate_all(self) -> bool:
        """Check every field, marking each bad one; True when all are good."""
        return all([self._check(name) for name in CHECKS])

    # --- actions ----------------------------------------------------------------

    def action_save(self) -> None:
        if self.validate_all():
            self._save()

    @work(exclusive=True, group="client-save", exit_on_error=False)
    async def _save(self) -> None:
        store = self.notifier.store
        phone, tag = self._value("phone"), self._value("tag")
        tz, op = self._value("timezone").strip(), self._value("operator_code").strip()
        try:
            if self.client is None:
                saved = await store.run(store.create_client, phone, tag, tz or None, op or None)
            else:
                saved = await store.run(
                    store.update_client,
                    self.client.id,
                    phone=phone,
                    tag=tag,
                    timezone=tz or store.default_timezone,
                    operator_code=op,
                )
        except NotFoundError as err:
            self.notify(f"{err}: it was deleted meanwhile", severity="warning")
            self.dismiss(None)
            return
        except ValidationError as err:
            self._show_store_error(err)
            return
        self.notifier.after_write()
        self.dismiss(saved)

    def _show_store_error(self, err: ValidationError) -> None:
        if err.field in CHECKS:
            self._field(err.field).set_error(err.rule)
            self.query_one(f"#{err.field}", Input).focus()
        else:
            self.notify(str(err), severity="error")
