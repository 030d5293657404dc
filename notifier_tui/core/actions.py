"""What a user may do to a mailing in each state, and the one sentence said when not.

The UI, the command line and the API ask here before they pause, resume,
cancel, edit or delete a mailing, so every surface refuses the same things
with the same words (``mailing 3 is finished: it cannot be paused``). The
state is the derived one (:func:`notifier_tui.core.rules.mailing_state`).

========== ======= ======== ======== ======= =========
state      pause   resume   cancel   edit    delete
========== ======= ======== ======== ======= =========
scheduled  yes     no       yes      yes     yes
active     yes     no       yes      yes     yes
paused     no      yes      yes      yes     yes
finished   no      no       no       no      yes
cancelled  no      no       no       no      yes
========== ======= ======== ======== ======= =========

Deleting is always allowed: it is how a finished mailing's statistics go.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.rules import MailingState


class MailingAction(StrEnum):
    """Something a user does to one mailing."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    EDIT = "edit"
    DELETE = "delete"


_EVERYTHING_BUT_RESUME = frozenset(
    {MailingAction.PAUSE, MailingAction.CANCEL, MailingAction.EDIT, MailingAction.DELETE}
)

ALLOWED: Mapping[MailingState, frozenset[MailingAction]] = {
    MailingState.SCHEDULED: _EVERYTHING_BUT_RESUME,
    MailingState.ACTIVE: _EVERYTHING_BUT_RESUME,
    MailingState.PAUSED: frozenset(
        {MailingAction.RESUME, MailingAction.CANCEL, MailingAction.EDIT, MailingAction.DELETE}
    ),
    MailingState.FINISHED: frozenset({MailingAction.DELETE}),
    MailingState.CANCELLED: frozenset({MailingAction.DELETE}),
}
"""The actions each state allows (the table above)."""

_PAST = {
    MailingAction.PAUSE: "paused",
    MailingAction.RESUME: "resumed",
    MailingAction.CANCEL: "cancelled",
    MailingAction.EDIT: "edited",
    MailingAction.DELETE: "deleted",
}
"""Each action's past participle, for the sentences."""


class ActionRefused(ValidationError):
    """The mailing's state does not allow the action.

    ``str(err)`` is the whole sentence; ``field`` is ``"mailing"`` and ``rule``
    the sentence without that word, for surfaces that print ``field: rule``.
    """

    def __init__(self, mailing_id: int, state: MailingState, action: MailingAction) -> None:
        sentence = refusal(mailing_id, state, action) or f"mailing {mailing_id}: {action} refused"
        super().__init__("mailing", sentence.removeprefix("mailing "))
        self.args = (sentence,)
        self.mailing_id = mailing_id
        self.state = state
        self.action = action

    def __str__(self) -> str:
        return str(self.args[0])


def allowed(state: MailingState, action: MailingAction) -> bool:
    """Whether a mailing in ``state`` allows ``action``."""
    return action in ALLOWED[state]


def refusal(mailing_id: int, state: MailingState, action: MailingAction) -> str | None:
    """The sentence that refuses ``action`` on a mailing in ``state``; ``None`` if allowed."""
    if allowed(state, action):
        return None
    name = f"mailing {mailing_id}"
    if state is MailingState.PAUSED and action is MailingAction.PAUSE:
        return f"{name} is already paused"
    if state is MailingState.CANCELLED and action is MailingAction.CANCEL:
        return f"{name} is already cancelled"
    if action is MailingAction.RESUME and state in (MailingState.SCHEDULED, MailingState.ACTIVE):
        return f"{name} is {state}, not paused: there is nothing to resume"
    return f"{name} is {state}: it cannot be {_PAST[action]}"


def require_allowed(mailing_id: int, state: MailingState, action: MailingAction) -> None:
    """Raise :class:`ActionRefused` unless a mailing in ``state`` allows ``action``."""
    if not allowed(state, action):
        raise ActionRefused(mailing_id, state, action)


def pause_or_resume(state: MailingState) -> MailingAction:
    """What one pause/resume key means for a mailing in ``state``."""
    return MailingAction.RESUME if state is MailingState.PAUSED else MailingAction.PAUSE
