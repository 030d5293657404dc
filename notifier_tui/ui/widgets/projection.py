"""A mailing's pre-flight projection, as the form and the details screen show it.

The figures come from the core (``Store.preview_draft`` / ``preview_mailing``,
pure arithmetic in ``core/projection.py``); this module only words them:
who is reachable inside their send window before the end, when the last
message would go out at the rate assumed, how many will miss the end, the
stop-listed clients left out, and a small histogram of when the clients'
local windows open over the next 24 hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from notifier_tui.ui.widgets import stats_format as fmt

if TYPE_CHECKING:
    from notifier_tui.core.store.campaign_ops import Preview

BARS = "▁▂▃▄▅▆▇█"
"""Eight heights, lowest first; an empty hour is a dim dot."""

_RATE_WORDS = {
    "rate_limit": "the rate limit",
    "measured": "the last measured rate",
}


def sparkline(counts: Sequence[int]) -> Text:
    """One character per count, its height in proportion to the largest."""
    top = max(counts, default=0)
    line = Text()
    for n in counts:
        if n <= 0 or top <= 0:
            line.append("·", "dim")
        else:
            line.append(BARS[min(len(BARS) - 1, (n * len(BARS) - 1) // top)])
    return line


def _rate(preview: Preview) -> str:
    rate = preview.projection.rate
    if rate is None:
        return "no rate known: as soon as the windows allow"
    return f"at {rate:.3g}/s, {_RATE_WORDS.get(preview.rate_source, preview.rate_source)}"


def projection_text(
    preview: Preview, now: datetime, tz: tzinfo, *, started: bool, histogram: bool = True
) -> Text:
    """The projection in two or three lines.

    Args:
        preview: what the store projected.
        now: the app's clock, to word the finish (a time today, a date otherwise).
        tz: the display timezone.
        started: the mailing runs: its audience is the messages still to send.
        histogram: add the line of when windows open (if they open at different hours).
    """
    p = preview.projection
    who = " left to send" if started else ""
    first = Text.assemble(
        (f"{p.in_window:,}", "bold"),
        f" of {p.audience:,}{who} in their window before the end",
    )
    if preview.excluded:
        first.append(f" · {preview.excluded:,} stop-listed left out", "yellow")
    if p.audience == 0:
        second = Text("Nothing to send.", style="dim")
    elif p.finish_at is not None:
        label = "ETA" if started else "Finish"
        second = Text.assemble(
            f"{label} ≈ ",
            (fmt.when(p.finish_at, now, tz).plain, "bold"),
            f" {p.finish_at.astimezone(tz).tzname()} ({_rate(preview)})",
            " · ",
            ("0 will miss the end", "green"),
        )
    else:
        second = Text.assemble(
            (f"{p.will_miss:,} will miss the end", "bold red"),
            f" ({_rate(preview)})",
        )
    lines = [first, second]
    if histogram and any(p.window_opens[1:]):
        # Worth a picture only when windows open at different hours.
        lines.append(
            Text.assemble(
                ("windows open ", "dim"),
                sparkline(p.window_opens),
                (" over the next 24 h, by hour", "dim"),
            )
        )
    return Text("\n").join(lines)


def projection_line(preview: Preview, now: datetime, tz: tzinfo, *, started: bool) -> Text:
    """The projection on one line, the ETA and the misses first (the details screen).

    ``ETA ≈ 13:09:20 MSK · 0 will miss the end · 14 of 14 left to send in their
    window · at 0.025/s, the last measured rate``: what matters most comes
    first, so a narrow screen cuts only the end.
    """
    p = preview.projection
    line = Text()
    if p.audience == 0:
        line.append("Nothing left to send." if started else "Nobody to send to.", "dim")
    else:
        if p.finish_at is not None:
            line.append_text(
                Text.assemble(
                    "ETA ≈ " if started else "Finish ≈ ",
                    (fmt.when(p.finish_at, now, tz).plain, "bold"),
                    f" {p.finish_at.astimezone(tz).tzname()} · ",
                    ("0 will miss the end", "green"),
                )
            )
        else:
            line.append(f"{p.will_miss:,} will miss the end", "bold red")
        who = " left to send" if started else ""
        line.append(f" · {p.in_window:,} of {p.audience:,}{who} in their window · {_rate(preview)}")
    if preview.excluded:
        line.append(f" · {preview.excluded:,} stop-listed left out", "yellow")
    return line


class ProjectionView(Static):
    """The projection (or why there is none yet) under a form or a mailing's title."""

    DEFAULT_CSS = """
    ProjectionView {
        height: auto;
        color: $text;
    }
    ProjectionView.-problem {
        color: $text-muted;
    }
    """

    preview: Preview | None = None
    """What is shown (``None``: a problem line or nothing)."""

    def show_preview(
        self,
        preview: Preview,
        now: datetime,
        tz: tzinfo,
        *,
        started: bool,
        histogram: bool = True,
        one_line: bool = False,
        note: str = "",
    ) -> None:
        """Show ``preview``: :func:`projection_text`, or :func:`projection_line` if ``one_line``."""
        self.preview = preview
        self.remove_class("-problem")
        if one_line:
            text = projection_line(preview, now, tz, started=started)
        else:
            text = projection_text(preview, now, tz, started=started, histogram=histogram)
        # A note first (``Paused; if resumed now:``): what the figures assume.
        self.update(Text.assemble((note, "yellow"), text) if note else text)

    def show_problem(self, line: str) -> None:
        """Say why nothing is projected (an invalid field, a finished mailing)."""
        self.preview = None
        self.add_class("-problem")
        self.update(Text(line))
