"""The buttons and keys every form dialog shares: Enter or Save saves, Escape or Cancel closes."""

from __future__ import annotations

from textual.widgets import Button, Input


class FormActions:
    """Mixed in before ``ModalScreen`` by a form that defines ``action_save``.

    No stubs for ``dismiss``/``action_save`` here: as the first base, a stub
    would shadow the screen's own method.
    """

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()  # type: ignore[attr-defined]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()  # type: ignore[attr-defined]
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)  # type: ignore[attr-defined]
