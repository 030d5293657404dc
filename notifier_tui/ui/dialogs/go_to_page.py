"""``:`` on the clients screen: go straight to page N of 200 or more, not page by page."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from notifier_tui.ui.dialogs.form_actions import FormDialog
from notifier_tui.ui.widgets.field import FormField


def parse_page(text: str, pages: int) -> int:
    """The page number typed (1 to ``pages``; ``1,234`` reads as 1234).

    Raises:
        ValueError: with the sentence to show under the field.
    """
    value = text.strip().replace(",", "")
    span = f"1 to {pages:,}"
    if not value:
        raise ValueError(f"type a number from {span}")
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{text.strip()!r} is not a number from {span}")
    if len(value) > len(str(pages)) + 1:  # past any page, and int() of 5,000 digits refuses
        raise ValueError(f"no such page: the pages are {span}")
    page = int(value)
    if not 1 <= page <= pages:
        raise ValueError(f"no page {page:,}: the pages are {span}")
    return page


class GoToPageDialog(FormDialog[int | None]):
    """Dismisses with the page number (1-based), or ``None`` when cancelled."""

    CSS_PATH = ["dialogs.tcss", "go_to_page.tcss"]  # noqa: RUF012 - Textual reads it as is
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: int, pages: int) -> None:
        super().__init__()
        self.current = current
        """The page shown when the dialog opened."""
        self.pages = pages
        """How many pages there are: the highest number accepted."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="go-to-page"):
            yield Label("Go to page", classes="dialog-title")
            yield Static(
                f"Page {self.current:,} of {self.pages:,} is shown.", classes="dialog-hint"
            )
            yield FormField(
                "Page",
                Input(placeholder=f"1 to {self.pages:,}", id="page", compact=True),
                name="page",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Go (enter)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#page", Input).focus()

    def action_save(self) -> None:
        field = self.query_one("#field-page", FormField)
        try:
            page = parse_page(self.query_one("#page", Input).value, self.pages)
        except ValueError as err:
            field.set_error(str(err))
            return
        self.dismiss(page)
