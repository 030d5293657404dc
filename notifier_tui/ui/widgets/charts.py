"""The Stats screen's charts: messages per second by outcome, latency p50/p95, errors by class.

Drawn by Plotext through textual-plotext's widget, from the same immutable
:class:`SenderSnapshot` the live panel shows (the sender's own, or the figures
another process published to the store). Like the panel, the charts only
format: :meth:`LiveCharts.show` hands them a snapshot and they read nothing.
Each chart's border says what it plots, whose figures they are ("this
process", "figures of …", "whole store") and the window; its colours come
from the app's theme, and nothing on it depends on the wall clock, so fixed
figures draw the same picture every time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.color import Color
from textual.containers import Horizontal
from textual_plotext import PlotextPlot

from notifier_tui.core.events import LatencyPoint, OutcomeRates, SenderSnapshot
from notifier_tui.core.reasons import ErrorClass

__all__ = [
    "ErrorsChart",
    "LatencyChart",
    "LiveCharts",
    "OutcomeChart",
    "nice_ceiling",
    "scope",
    "span_label",
    "window_label",
]

Rgb = tuple[int, int, int]

NOT_KNOWN = "not known here"
"""A chart's note when the snapshot has no series for it: figures read off the
store's counts, or published by a sender older than the series."""


def scope(snapshot: SenderSnapshot) -> str:
    """Whose figures these are: this process's, another's, or the store's counts."""
    if snapshot.sending:
        return "this process"
    if snapshot.figures_of:
        return f"figures of {snapshot.figures_of}"
    return "whole store"


def span_label(seconds: float) -> str:
    """``5 min`` (or ``90 s`` for a span that is not whole minutes)."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def window_label(seconds: float) -> str:
    """``last 5 min``: the window a chart or a figure covers."""
    return f"last {span_label(seconds)}"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 4, 6, 8 times a power of ten that is at least ``value`` (> 0).

    Each quarter of those is round too: the axis has ticks at 0, ¼, ½, ¾ and the top.
    """
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 4.0, 6.0, 8.0, 10.0):
        if value <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop ends at 10


def _number(value: float) -> str:
    """A tick label: ``0``, ``2.5``, ``40``, ``1.2k``."""
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    if value == int(value):
        return f"{value:.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _minutes(seconds: float) -> str:
    if seconds == 0:
        return "now"
    minutes = seconds / 60
    text = f"{minutes:.0f}" if minutes == int(minutes) else f"{minutes:.1f}"
    return f"-{text}m"


class _Chart(PlotextPlot):
    """One chart over the snapshot's window; a dim note in its place when it has nothing."""

    DEFAULT_CSS = """
    _Chart {
        height: 1fr;
        width: 1fr;
        border: round $primary 50%;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0;
        content-align: center middle;
    }
    """

    WHAT = ""
    """What the chart plots, the start of its title."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.snapshot: SenderSnapshot | None = None

    def show(self, snapshot: SenderSnapshot) -> None:
        """Draw ``snapshot``'s series (at the next refresh)."""
        self.snapshot = snapshot
        self.border_title = self.title()
        self.border_subtitle = f"{window_label(snapshot.series_window)} · {scope(snapshot)}"
        self.refresh()

    def title(self) -> Text:
        return Text(self.WHAT)

    def _style(self, name: str) -> str:
        """A bold Rich style in the theme's colour ``name``, for a title's legend."""
        return f"bold {self.app.theme_variables.get(name, 'white')}"

    def colour(self, name: str) -> Rgb:
        """The app theme's colour ``name`` (``success``, ``error``…) as Plotext wants it."""
        value = self.app.theme_variables.get(name, "white")
        r, g, b = Color.parse(value).rgb
        return (r, g, b)

    def render(self) -> RenderResult:
        snapshot = self.snapshot
        if snapshot is None:
            return Text("")
        plt = self.plt
        plt.clear_figure()
        note = self.draw(snapshot)
        if note is not None:
            return note
        return super().render()

    def draw(self, snapshot: SenderSnapshot) -> Text | None:
        """Put the snapshot's series on ``self.plt``, or return a note to show instead."""
        raise NotImplementedError

    def note(self, text: str, style: str = "dim") -> Text:
        return Text(text, style=style, justify="center")

    # --- shared axes ---------------------------------------------------------

    def time_axis(self, window: float) -> None:
        """X from ``-window`` to now, labelled in minutes (fewer labels when narrow)."""
        plt = self.plt
        plt.xlim(-window, 0)
        count = 6 if self.size.width >= 40 else 3
        ticks = [-window + i * window / (count - 1) for i in range(count)]
        plt.xticks(ticks, [_minutes(-t) for t in ticks])

    def value_axis(self, top: float) -> None:
        """Y from 0 to a round number at or above ``top`` (1 at least), with round ticks."""
        plt = self.plt
        ceiling = nice_ceiling(max(top, 1.0))
        parts = 4 if self.size.height >= 10 else 2
        ticks = [ceiling * i / parts for i in range(parts + 1)]
        plt.ylim(0, ceiling)
        plt.yticks(ticks, [_number(t) for t in ticks])

    def style_plot(self) -> None:
        self.plt.frame(False)


class OutcomeChart(_Chart):
    """Messages per second over the window: accepted, tried again, failed for good."""

    WHAT = "msg/s"
    SERIES = (("accepted", "success"), ("retried", "warning"), ("failed", "error"))

    def title(self) -> Text:
        line = Text("msg/s ")
        if self.snapshot is not None and not self.snapshot.outcome_history:
            line.append("accepted", self._style("success"))
            return line
        for n, (name, colour) in enumerate(self.SERIES):
            line.append((" " if n else "") + name, self._style(colour))
        return line

    def draw(self, snapshot: SenderSnapshot) -> Text | None:
        plt = self.plt
        step = snapshot.outcome_step
        window = snapshot.series_window
        rates: Sequence[OutcomeRates] = snapshot.outcome_history
        if not rates:
            # An older publisher, or only the store's sent count: the accepted rate alone.
            rates = [OutcomeRates(r, 0.0, 0.0) for r in snapshot.rate_history]
            step = 1.0
        points = max(1, round(window / step))
        rates = list(rates)[-points:]
        if not rates:
            return self.note("no sends yet")
        # More points than columns: means over a few of them, so a noisy
        # second-by-second rate reads as a line, not a filled band.
        per = math.ceil(len(rates) / max(1, self.size.width - 6))
        if per > 1:
            rates, step = _means(rates, per), step * per
        xs = [-(len(rates) - 1 - i) * step for i in range(len(rates))]
        shown = self.SERIES if snapshot.outcome_history else self.SERIES[:1]
        # Failed first, so the accepted line is drawn over the others where they meet.
        for index, (_name, colour) in reversed(list(enumerate(shown))):
            plt.plot(xs, [r[index] for r in rates], marker="braille", color=self.colour(colour))
        self.time_axis(window)
        self.value_axis(max((max(r) for r in rates), default=0.0))
        self.style_plot()
        return None


class LatencyChart(_Chart):
    """p50 and p95 of the answered requests per 10 s step, in milliseconds."""

    WHAT = "latency ms"

    def title(self) -> Text:
        line = Text("latency ms ")
        line.append("p50", self._style("primary"))
        line.append(" ")
        line.append("p95", self._style("accent"))
        return line

    def draw(self, snapshot: SenderSnapshot) -> Text | None:
        plt = self.plt
        step = snapshot.latency_step
        window = snapshot.series_window
        points: list[LatencyPoint] = list(snapshot.latency_history)[-max(1, round(window / step)) :]
        if not points:
            return self.note(NOT_KNOWN)
        if all(p.p50 is None for p in points):
            return self.note("no answers in the " + window_label(window))
        n = len(points)
        # The last step is the one under way: it sits at "now".
        xs = [-(n - 1 - i) * step for i in range(n)]
        top = 0.0
        for attr, colour in (("p95", "accent"), ("p50", "primary")):
            rgb = self.colour(colour)
            for seg_x, seg_y in _segments(xs, [getattr(p, attr) for p in points]):
                ms = [v * 1000 for v in seg_y]
                top = max(top, *ms)
                if len(ms) == 1:
                    plt.scatter(seg_x, ms, marker="braille", color=rgb)
                else:
                    plt.plot(seg_x, ms, marker="braille", color=rgb)
        self.time_axis(window)
        self.value_axis(top)
        self.style_plot()
        return None


def _means(rates: Sequence[OutcomeRates], per: int) -> list[OutcomeRates]:
    """Means of ``per`` consecutive points, counted back from the newest (the last is whole)."""
    start = len(rates) % per
    return [
        OutcomeRates(*(sum(column) / per for column in zip(*rates[i : i + per], strict=True)))
        for i in range(start, len(rates), per)
    ]


def _segments(
    xs: Sequence[float], ys: Sequence[float | None]
) -> list[tuple[list[float], list[float]]]:
    """The runs of ``ys`` without a gap: a step with no answer breaks the line."""
    runs: list[tuple[list[float], list[float]]] = []
    current: tuple[list[float], list[float]] | None = None
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            current = None
            continue
        if current is None:
            current = ([], [])
            runs.append(current)
        current[0].append(x)
        current[1].append(y)
    return runs


def error_label(kind: str) -> str:
    """``HTTP 5xx`` for ``http_5xx``; an unknown class as it came."""
    try:
        return ErrorClass(kind).label
    except ValueError:
        return kind


class ErrorsChart(_Chart):
    """Requests not accepted over the window, by error class, the most frequent on top."""

    WHAT = "errors by class"

    def draw(self, snapshot: SenderSnapshot) -> Text | None:
        counts = sorted(
            ((n, kind) for kind, n in snapshot.errors_by_class.items() if n > 0),
            key=lambda item: (-item[0], item[1]),
        )
        if not counts:
            if not snapshot.outcome_history and not snapshot.latency_history:
                return self.note(NOT_KNOWN)
            return self.note("no errors in the " + window_label(snapshot.series_window))
        # One row per bar at least, and the rest lumped together.
        rows = max(1, self.size.height - 1)
        if len(counts) > rows:
            rest = sum(n for n, _ in counts[rows - 1 :])
            counts = [*counts[: rows - 1], (rest, "more classes")]
        labels = [f"{error_label(kind)} {n:,}" for n, kind in counts]
        plt = self.plt
        # Plotext draws the first bar at the bottom: reversed, the largest is on top.
        plt.bar(
            labels[::-1],
            [n for n, _ in counts][::-1],
            orientation="horizontal",
            color=self.colour("error"),
            width=0.5,
        )
        plt.frame(False)
        plt.xticks([])
        plt.xaxes(False, False)
        return None


class LiveCharts(Horizontal):
    """The three charts side by side; hidden until there is a snapshot."""

    DEFAULT_CSS = """
    LiveCharts {
        height: 1fr;
    }
    LiveCharts ErrorsChart {
        min-width: 34;
    }
    LiveCharts.-empty {
        display: none;
    }
    LiveCharts OutcomeChart {
        width: 4fr;
    }
    LiveCharts LatencyChart {
        width: 3fr;
    }
    LiveCharts ErrorsChart {
        width: 2fr;
    }
    """

    def compose(self) -> ComposeResult:
        yield OutcomeChart(id="chart-outcomes")
        yield LatencyChart(id="chart-latency")
        yield ErrorsChart(id="chart-errors")

    def on_mount(self) -> None:
        self.set_class(True, "-empty")

    def show(self, snapshot: SenderSnapshot | None) -> None:
        """Draw ``snapshot`` on every chart; ``None`` hides them (the panel says why)."""
        self.set_class(snapshot is None, "-empty")
        if snapshot is None:
            return
        for chart in self.query(_Chart):
            chart.show(snapshot)
