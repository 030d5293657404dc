"""Create or edit a mailing, with its audience, projection and segments shown as you type.

Times are typed in the app's display timezone (ISO 8601, ``now`` or ``+10m``)
and parsed by the core's ``parse_when``; every other field is judged by the
same rule the store applies. Nothing is saved until all of them pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Label, Static, TextArea

from notifier_tui.core import rules
from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import MailingRecord
from notifier_tui.core.segments import count_segments
from notifier_tui.ui.dialogs.form_actions import FormDialog
from notifier_tui.ui.node import NotifierNode
from notifier_tui.ui.widgets import stats_format as fmt
from notifier_tui.ui.widgets.field import FormField, in_labels
from notifier_tui.ui.widgets.projection import ProjectionView
from notifier_tui.ui.workers import PeriodicRead, ReportsWorkerErrors

AUDIENCE_DEBOUNCE = 0.3
"""Seconds of quiet typing before the audience is counted again."""
SMALL_HEIGHT = 24
"""Rows of the smallest terminal: the form then leaves out the projection's histogram."""
T = TypeVar("T")

INPUTS = ("start_at", "end_at", "operator_code", "tag", "window")
FIELDS = (*INPUTS[:2], "text", *INPUTS[2:])
LABELS = {
    "start_at": "Start",
    "end_at": "End",
    "text": "Text",
    "operator_code": "Operators",
    "tag": "Tags",
    "window": "Send window",
}
"""The label of each field, as the form shows it and as its messages name it."""


def split_list(value: str) -> list[str]:
    """``"900, 916"`` -> ``["900", "916"]``; empty items dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


class CommaSuggester(Suggester):
    """Completes the last item of a comma-separated list from known values."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.values: list[str] = []
        """Known values, filled in once the store answered."""

    async def get_suggestion(self, value: str) -> str | None:
        head, _, last = value.rpartition(",")
        token = last.lstrip()
        if not token:
            return None
        chosen = set(split_list(head))
        for candidate in self.values:
            if candidate.startswith(token) and candidate != token and candidate not in chosen:
                return value + candidate[len(token) :]
        return None


class MailingDraft:
    """The form's values, parsed; ``errors`` maps each bad field to the rule it breaks."""

    def __init__(self, values: dict[str, str], now: datetime, tz: tzinfo) -> None:
        self.errors: dict[str, str] = {}
        self.start_at = self._run(
            "start_at", rules.parse_when, values["start_at"], now, tz, "start_at"
        )
        self.end_at = self._run("end_at", rules.parse_when, values["end_at"], now, tz, "end_at")
        if self.start_at is not None and self.end_at is not None:
            self._run("end_at", rules.validate_period, self.start_at, self.end_at)
        self.text = self._run("text", rules.validate_text, values["text"])
        self.operator_codes = self._run(
            "operator_code", rules.normalize_codes, split_list(values["operator_code"])
        )
        self.tags = self._run("tag", rules.normalize_tags, split_list(values["tag"]))
        self._run("window", rules.parse_window, values["window"])
        self.window = values["window"].strip()

    def _run(self, name: str, fn: Callable[..., T], *args: Any) -> T | None:
        try:
            return fn(*args)
        except ValidationError as err:
            self.errors.setdefault(name, in_labels(err.rule, LABELS))
            return None


class MailingForm(NotifierNode, ReportsWorkerErrors, FormDialog[MailingRecord | None]):
    """Dismisses with the saved mailing, or ``None`` when cancelled."""

    CSS_PATH = ["dialogs.tcss", "mailing_form.tcss"]  # noqa: RUF012 - Textual reads it as is
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, mailing: MailingRecord | None = None) -> None:
        super().__init__()
        self.mailing = mailing
        """The mailing being edited; ``None`` creates one."""
        self._codes = CommaSuggester()
        self._tags = CommaSuggester()
        self._audience_timer: Timer | None = None
        self._projection_timer: Timer | None = None
        self._projector = PeriodicRead("project the mailing", "projection")
        self._projected: tuple[str, ...] = ()

    def _local(self, when: datetime) -> str:
        return when.astimezone(self.notifier.display_tz).strftime("%Y-%m-%d %H:%M")

    def compose(self) -> ComposeResult:
        m = self.mailing
        tz_name = self.notifier.clock().astimezone(self.notifier.display_tz).tzname()
        title = f"Edit mailing {m.id}" if m else "New mailing"
        with Vertical(classes="dialog form", id="mailing-form"):
            yield Label(
                f"{title}   (times in {tz_name}; 'now', '+10m' or ISO)", classes="dialog-title"
            )
            yield self._input(
                LABELS["start_at"], "start_at", self._local(m.start_at) if m else "now"
            )
            yield self._input(LABELS["end_at"], "end_at", self._local(m.end_at) if m else "+1h")
            yield Static("", id="when-preview")
            yield FormField(LABELS["text"], TextArea(m.text if m else "", id="text"), name="text")
            yield Static("", id="text-count")
            yield Static("", id="segments")
            yield self._input(
                LABELS["operator_code"],
                "operator_code",
                ", ".join(m.operator_codes) if m else "",
                "any; e.g. 900, 916",
                self._codes,
            )
            yield self._input(
                LABELS["tag"],
                "tag",
                ", ".join(m.tags) if m else "",
                "any; e.g. vip, new",
                self._tags,
            )
            yield self._input(
                LABELS["window"],
                "window",
                (m.window or "") if m else "",
                "any time; e.g. 09:00-21:00 in each client's timezone",
            )
            yield Static("", id="audience")
            yield ProjectionView("", id="projection")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield Footer()

    @staticmethod
    def _input(
        label: str, name: str, value: str, placeholder: str = "", suggester: Suggester | None = None
    ) -> FormField:
        control = Input(value, placeholder=placeholder, id=name, compact=True, suggester=suggester)
        return FormField(label, control, name=name)

    def on_mount(self) -> None:
        # New and edit start on the same field, the first one: the same keys reach
        # the same field whichever form is open.
        self.query_one("#start_at").focus()
        self._count_text()
        self._preview_times()
        self._load_suggestions()
        self._count_audience()
        self._project_now()

    # --- live feedback ------------------------------------------------------------

    @on(TextArea.Changed)
    def _count_text(self) -> None:
        length = len(self.query_one("#text", TextArea).text)
        counter = self.query_one("#text-count", Static)
        counter.update(f"{length}/{rules.MAX_TEXT} characters")
        counter.set_class(length > rules.MAX_TEXT, "-over")
        # Pure and fast: measured on the loop at every keystroke, as the operator bills it.
        segments = count_segments(self.query_one("#text", TextArea).text)
        self.query_one("#segments", Static).update(segments.describe() if segments.segments else "")
        if self._field("text").error is not None:
            self._show(self._draft())

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name in ("operator_code", "tag"):
            if self._audience_timer is not None:
                self._audience_timer.stop()
            self._audience_timer = self.set_timer(AUDIENCE_DEBOUNCE, self._count_audience)
        if name in INPUTS:
            if self._projection_timer is not None:
                self._projection_timer.stop()
            self._projection_timer = self.set_timer(AUDIENCE_DEBOUNCE, self._project_now)
        if name in INPUTS and self._field(name).error is not None:
            self._show(self._draft(), only=(name,))
        if name in ("start_at", "end_at"):
            self._preview_times()

    def _preview_times(self) -> None:
        """``now`` and ``+2h`` as the instants they mean, in the display timezone."""
        draft = self._draft()
        line = self.query_one("#when-preview", Static)
        if draft.start_at is None or draft.end_at is None or "end_at" in draft.errors:
            line.update("")
            return
        line.update(f"= {fmt.period(draft.start_at, draft.end_at, self.notifier.display_tz)}")

    @work(group="suggestions", exit_on_error=False)
    async def _load_suggestions(self) -> None:
        store = self.notifier.store
        self._codes.values = await store.run(store.distinct_operators)
        self._tags.values = await store.run(store.distinct_tags)

    @work(exclusive=True, group="audience", exit_on_error=False)
    async def _count_audience(self) -> None:
        label = self.query_one("#audience", Static)
        codes = split_list(self.query_one("#operator_code", Input).value)
        tags = split_list(self.query_one("#tag", Input).value)
        store = self.notifier.store
        try:
            count = await store.run(store.audience_count, codes, tags)
        except ValidationError:
            label.update("Audience: fix the filter to count it")
            return
        noun = "client" if count == 1 else "clients"
        label.update(f"Will send to {count:,} {noun} (matching now)")

    def _project_now(self) -> None:
        # The inputs post Changed as they mount: the same values need no second read.
        values = tuple(self.query_one(f"#{name}", Input).value for name in INPUTS)
        if values == self._projected:
            return
        self._projected = values
        # One read at a time; a change made while one runs gets exactly one more.
        self._projector.start(self, self._project, again=True)

    async def _project(self) -> None:
        """Project the draft as it stands: who is reachable, the finish, the misses."""
        view = self.query_one("#projection", ProjectionView)
        draft = self._draft()
        bad = [name for name in INPUTS if name in draft.errors]
        if bad or draft.start_at is None or draft.end_at is None:
            names = ", ".join(LABELS[name] for name in bad) or "the times"
            view.show_problem(f"Projection: fix {names} to see it")
            return
        store = self.notifier.store
        try:
            preview = await store.run(
                store.preview_draft,
                draft.start_at,
                draft.end_at,
                operator_codes=draft.operator_codes or (),
                tags=draft.tags or (),
                window=draft.window or None,
                rate_limit=self.notifier.settings.rate_limit,
            )
        except ValidationError as err:
            view.show_problem(f"Projection: {in_labels(err.rule, LABELS)}")
            return
        # The hourly histogram takes a line the smallest terminal (24 rows) has not got.
        view.show_preview(
            preview,
            self.notifier.clock(),
            self.notifier.display_tz,
            started=False,
            histogram=self.app.size.height > SMALL_HEIGHT,
        )

    # --- validation and saving ------------------------------------------------------

    def _field(self, name: str) -> FormField:
        return self.query_one(f"#field-{name}", FormField)

    def _draft(self) -> MailingDraft:
        values = {name: self.query_one(f"#{name}", Input).value for name in INPUTS}
        values["text"] = self.query_one("#text", TextArea).text
        return MailingDraft(values, self.notifier.clock(), self.notifier.display_tz)

    def _show(self, draft: MailingDraft, only: Iterable[str] = FIELDS) -> None:
        for name in only:
            self._field(name).set_error(draft.errors.get(name))

    def action_save(self) -> None:
        draft = self._draft()
        self._show(draft)
        if draft.errors:
            first = next(name for name in FIELDS if name in draft.errors)
            self.query_one(f"#{first}").focus()
            return
        self._save(draft)

    @work(exclusive=True, group="mailing-save", exit_on_error=False)
    async def _save(self, draft: MailingDraft) -> None:
        store = self.notifier.store
        args: dict[str, Any] = {
            "start_at": draft.start_at,
            "end_at": draft.end_at,
            "text": draft.text,
            "operator_codes": draft.operator_codes,
            "tags": draft.tags,
        }
        try:
            if self.mailing is None:
                saved = await store.run(store.create_mailing, **args, window=draft.window or None)
            else:
                saved = await store.run(
                    store.update_mailing, self.mailing.id, **args, window=draft.window
                )
        except NotFoundError as err:
            self.notify(f"{err}: it was deleted meanwhile", severity="warning")
            self.dismiss(None)
            return
        except ValidationError as err:
            if err.field in FIELDS:
                self._field(err.field).set_error(in_labels(err.rule, LABELS))
            else:
                self.notify(str(err), severity="error")
            return
        self.notifier.after_write()
        self.dismiss(saved)
