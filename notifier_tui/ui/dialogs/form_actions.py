"""The buttons and keys every form dialog shares: Enter or Save saves, Escape or Cancel closes."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen
from textual.widgets import Button, Input

ResultT = TypeVar("ResultT")


class FormDialog(ModalScreen[ResultT]):
    """A modal form: subclasses define :meth:`action_save` (validate, write, dismiss)."""

    def action_save(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define action_save")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)
