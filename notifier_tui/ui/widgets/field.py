"""A labelled form row with its own inline error line."""

from __future__ import annotations

import re
from collections.abc import Mapping

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static


def in_labels(rule: str, labels: Mapping[str, str]) -> str:
    """A core rule in the words of the form: field names become the labels the user sees.

    The core speaks of ``start_at``; next to "End" the user reads
    ``must be after Start``.
    """
    if not labels:
        return rule
    names = re.compile(r"\b(" + "|".join(re.escape(name) for name in labels) + r")\b")
    return names.sub(lambda m: labels[m.group(1)], rule)


class FormField(Vertical):
    """``label  [input]`` on one line and, under it, the rule the value breaks (if any).

    The error line takes no space while empty, so a valid form stays compact.
    """

    DEFAULT_CSS = """
    FormField {
        height: auto;
        margin-bottom: 0;
    }
    FormField > Horizontal {
        height: auto;
    }
    FormField > Horizontal > .field-label {
        width: 14;
        padding: 0 1 0 0;
        color: $text-muted;
    }
    FormField > .field-error {
        display: none;
        padding-left: 14;
        color: $text-error;
    }
    FormField.-invalid > .field-error {
        display: block;
    }
    FormField.-invalid > Horizontal > .field-label {
        color: $text-error;
        text-style: bold;
    }
    /* Where typing goes, seen at a glance: compact inputs barely change on focus,
       so the row's label lights up and the field gets a stronger background. */
    FormField.-focused > Horizontal > .field-label {
        color: $text-accent;
        text-style: bold;
    }
    FormField.-focused > Horizontal > Input, FormField.-focused > Horizontal > TextArea {
        background: $accent 25%;
    }
    """

    def __init__(self, label: str, control: Widget, *, name: str) -> None:
        super().__init__(id=f"field-{name}")
        self.field_name = name
        """The core's name for this field (``phone``, ``end_at``...), to route its errors here."""
        self._label = label
        self._control = control

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self._label, classes="field-label")
            yield self._control
        yield Static("", classes="field-error", markup=False)

    # A class rather than :focus-within, whose styles Textual 8.2 does not refresh
    # when focus moves from one field to the next (the first one stayed lit).
    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        self.remove_class("-focused")

    @property
    def control(self) -> Widget:
        return self._control

    @property
    def error(self) -> str | None:
        """The error shown, if any."""
        return self._error if self.has_class("-invalid") else None

    _error: str = ""

    def set_error(self, message: str | None) -> None:
        """Show ``message`` under the field, or clear it with ``None``."""
        self._error = message or ""
        self.query_one(".field-error", Static).update(f"↳ {message}" if message else "")
        self.set_class(bool(message), "-invalid")
