"""Forms: where typing goes is plain to see, and new and edit start on the same field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Label

from notifier_tui.core.store import Store
from notifier_tui.ui.dialogs.client_form import ClientForm
from notifier_tui.ui.dialogs.mailing_form import MailingForm
from notifier_tui.ui.widgets.field import FormField
from tests.ui.conftest import SIZE, T0, AppFactory, go, settle

pytestmark = pytest.mark.timeout(60)


def lit(pilot: Pilot[Any]) -> list[str]:
    """The fields whose label is lit (bold): there must be exactly the focused one."""
    out = []
    for field in pilot.app.screen.query(FormField):
        label = field.query_one(".field-label", Label)
        if label.styles.text_style.bold:
            out.append(field.field_name)
    return out


async def test_the_focused_field_is_lit_and_only_it(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "2", "n")
        assert isinstance(app.screen, MailingForm)
        assert lit(pilot) == ["start_at"]
        await go(pilot, "tab")
        assert lit(pilot) == ["end_at"], "the light follows the focus"
        await go(pilot, "tab")
        assert lit(pilot) == ["text"]
        await go(pilot, "escape", "1", "n")
        assert isinstance(app.screen, ClientForm)
        assert lit(pilot) == ["phone"]


async def test_new_and_edit_start_on_the_same_field(make_app: AppFactory, store: Store) -> None:
    store.create_mailing(T0 + timedelta(hours=1), T0 + timedelta(hours=2), "Old")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await go(pilot, "2", "n")
        assert isinstance(app.screen, MailingForm)
        new_first = app.screen.focused
        assert new_first is not None
        await go(pilot, "escape", "e")
        assert isinstance(app.screen, MailingForm) and app.screen.mailing is not None
        edit_first = app.screen.focused
        assert edit_first is not None and edit_first.id == new_first.id == "start_at"
