"""A yes/no question for anything that cannot be undone."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses with ``True`` on yes, ``False`` on no or escape."""

    CSS_PATH = "dialogs.tcss"
    # Focus "No": an accidental Enter must not delete anything. Textual focuses it
    # when the screen is shown, and skips it if the dialog is already being removed.
    AUTO_FOCUS = "#no"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, question: str, *, yes: str = "Yes", danger: bool = True) -> None:
        super().__init__()
        self._title = title
        self._question = question
        self._yes = yes
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._question, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"{self._yes} (y)",
                    id="yes",
                    variant="error" if self._danger else "primary",
                    compact=True,
                )
                yield Button("No (n)", id="no", compact=True)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
