"""The app with its real type, for every screen, dialog and widget that needs its parts.

``self.app`` is typed as a plain ``App``; the store, the clock, the display
timezone and the log ring live on :class:`~notifier_tui.ui.app.NotifierApp`.
One property here instead of a ``cast`` in every module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from notifier_tui.ui.app import NotifierApp


class NotifierNode(DOMNode):
    """Mixin: :attr:`notifier` is ``self.app`` as a :class:`NotifierApp`."""

    @property
    def notifier(self) -> NotifierApp:
        """The app, typed: the store, the clock, the display timezone and the log live there."""
        return cast("NotifierApp", self.app)
