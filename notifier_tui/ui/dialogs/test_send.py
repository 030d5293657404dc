"""A test send: the mailing's text to one phone, now, through the sender's own gateway client.

``send_trial`` classifies the answer like the sender does, records it in the
audit trail as a test, and never touches the mailing's messages (so it never
counts in its statistics). The request is async (aiohttp) and runs in a
worker on the UI loop; the store calls inside go through ``Store.run``. The
HTTP stack is imported only when a test send is made, not at start-up. A
missing token, a refused token and an unreachable gateway each give one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from notifier_tui.core import rules
from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import MailingRecord
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.field import FormField
from notifier_tui.ui.workers import ReportsWorkerErrors

if TYPE_CHECKING:
    from notifier_tui.core.sending.trial import TrialResult

_OUTCOME_STYLE = {
    "accepted": "bold green",
    "transient": "bold yellow",
    "credentials": "bold red",
    "permanent": "bold red",
}


def shown_url(url: str) -> str:
    """``url`` without any ``user:password@``, for a line on screen."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return parts._replace(netloc=f"***@{host}").geturl()


def outcome_text(trial: TrialResult, base_url: str) -> Text:
    """One line: the outcome class and the gateway's answer, or what went wrong."""
    from notifier_tui.core.sending.trial import TrialProblem

    if trial.problem is TrialProblem.REFUSED_TOKEN:
        return Text(f"The gateway refused the token ({trial.answer()}); check the token.", "red")
    if trial.problem is TrialProblem.UNREACHABLE:
        return Text(f"Cannot reach {shown_url(base_url)} ({trial.result.reason}).", "red")
    outcome = trial.result.outcome.value
    return Text.assemble(
        "outcome ",
        (outcome, _OUTCOME_STYLE.get(outcome, "bold")),
        "  gateway: ",
        fmt.plain(trial.answer()),
        (f"  (test id {trial.msg_id} to {trial.phone})", "dim"),
    )


class TestSendDialog(NotifierNode, ReportsWorkerErrors, ModalScreen[None]):
    """Asks for a phone, sends, and shows the outcome until closed."""

    __test__ = False  # not a pytest class, whatever its name says

    CSS_PATH = "dialogs.tcss"
    DEFAULT_CSS = """
    TestSendDialog {
        align: center middle;
        background: $background 60%;
    }
    TestSendDialog #test-outcome {
        margin-top: 1;
        height: auto;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, mailing: MailingRecord) -> None:
        super().__init__()
        self.mailing = mailing
        """The mailing whose text is sent."""
        self.trial: TrialResult | None = None
        """The last test send's result."""
        self._sending = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="test-send-dialog"):
            yield Label(f"Test send of mailing #{self.mailing.id}", classes="dialog-title")
            yield Static(
                "Sends its text to one phone now. Recorded in the audit log as a test;"
                " never counted in the mailing's statistics.",
                classes="dialog-hint",
            )
            yield FormField(
                "Phone",
                Input(placeholder="e.g. 79001234567", id="phone", compact=True),
                name="phone",
            )
            yield Static("", id="test-outcome")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send (enter)", id="send", variant="primary", compact=True)
                yield Button("Close (esc)", id="close", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#phone").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.send()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "send":
            self.send()
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(None)

    def send(self) -> None:
        """Check the phone and the token here, then send in a worker."""
        if self._sending:
            # One at a time: a second Enter must not cut the first short after its
            # request left, which would skip its audit row.
            return
        field = self.query_one("#field-phone", FormField)
        try:
            phone = rules.normalize_phone(self.query_one("#phone", Input).value)
        except ValidationError as err:
            field.set_error(err.rule)
            return
        field.set_error(None)
        outcome = self.query_one("#test-outcome", Static)
        if not self.notifier.settings.token.reveal().strip():
            outcome.update(
                Text(
                    "No gateway token set: give --token-file PATH, NOTIFIER_TOKEN or token"
                    " in the config file.",
                    "red",
                )
            )
            return
        outcome.update(Text(f"Sending to {phone}…", "dim"))
        self._sending = True
        self._send(phone)

    @work(group="test-send", exit_on_error=False)
    async def _send(self, phone: str) -> None:
        # Imported here: the HTTP stack loads when a test is sent, not when the app starts.
        from notifier_tui.core.sending.gateway import GatewayClient
        from notifier_tui.core.sending.trial import send_trial

        settings = self.notifier.settings
        outcome = self.query_one("#test-outcome", Static)
        try:
            async with GatewayClient(
                settings.base_url, settings.token.reveal(), timeout=settings.timeout
            ) as client:
                self.trial = await send_trial(self.notifier.store, client, self.mailing.id, phone)
        except NotFoundError as err:
            outcome.update(Text(f"{err}: it was deleted meanwhile.", "red"))
            return
        finally:
            self._sending = False
        outcome.update(outcome_text(self.trial, settings.base_url))
