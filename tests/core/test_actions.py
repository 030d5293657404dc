"""The rule of what each mailing state allows, and the sentence said when it does not."""

from __future__ import annotations

import pytest

from notifier_tui.core.actions import (
    ALLOWED,
    ActionRefused,
    MailingAction,
    allowed,
    pause_or_resume,
    refusal,
    require_allowed,
)
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.rules import MailingState

S = MailingState
A = MailingAction

TABLE = {
    S.SCHEDULED: {A.PAUSE, A.CANCEL, A.EDIT, A.DELETE},
    S.ACTIVE: {A.PAUSE, A.CANCEL, A.EDIT, A.DELETE},
    S.PAUSED: {A.RESUME, A.CANCEL, A.EDIT, A.DELETE},
    S.FINISHED: {A.DELETE},
    S.CANCELLED: {A.DELETE},
}


def test_every_state_has_a_rule() -> None:
    assert set(ALLOWED) == set(MailingState)


@pytest.mark.parametrize("state", list(MailingState))
@pytest.mark.parametrize("action", list(MailingAction))
def test_each_state_allows_what_the_table_says(state: MailingState, action: MailingAction) -> None:
    expected = action in TABLE[state]
    assert allowed(state, action) is expected
    assert (refusal(3, state, action) is None) is expected
    if expected:
        require_allowed(3, state, action)
    else:
        with pytest.raises(ActionRefused) as caught:
            require_allowed(3, state, action)
        assert str(caught.value) == refusal(3, state, action)


@pytest.mark.parametrize(
    ("state", "action", "sentence"),
    [
        (S.FINISHED, A.PAUSE, "mailing 3 is finished: it cannot be paused"),
        (S.FINISHED, A.RESUME, "mailing 3 is finished: it cannot be resumed"),
        (S.FINISHED, A.CANCEL, "mailing 3 is finished: it cannot be cancelled"),
        (S.FINISHED, A.EDIT, "mailing 3 is finished: it cannot be edited"),
        (S.CANCELLED, A.PAUSE, "mailing 3 is cancelled: it cannot be paused"),
        (S.CANCELLED, A.EDIT, "mailing 3 is cancelled: it cannot be edited"),
        (S.CANCELLED, A.CANCEL, "mailing 3 is already cancelled"),
        (S.PAUSED, A.PAUSE, "mailing 3 is already paused"),
        (S.ACTIVE, A.RESUME, "mailing 3 is active, not paused: there is nothing to resume"),
        (S.SCHEDULED, A.RESUME, "mailing 3 is scheduled, not paused: there is nothing to resume"),
    ],
)
def test_refusals_say_why_in_one_sentence(
    state: MailingState, action: MailingAction, sentence: str
) -> None:
    assert refusal(3, state, action) == sentence


def test_a_refusal_is_a_validation_error_for_field_rule_surfaces() -> None:
    err = ActionRefused(3, S.FINISHED, A.PAUSE)
    assert isinstance(err, ValidationError)
    assert (err.field, err.rule) == ("mailing", "3 is finished: it cannot be paused")
    assert f"{err.field}: {err.rule}" == "mailing: 3 is finished: it cannot be paused"
    assert (err.mailing_id, err.state, err.action) == (3, S.FINISHED, A.PAUSE)


def test_one_key_pauses_or_resumes() -> None:
    assert pause_or_resume(S.PAUSED) is A.RESUME
    for state in (S.SCHEDULED, S.ACTIVE, S.FINISHED, S.CANCELLED):
        assert pause_or_resume(state) is A.PAUSE
