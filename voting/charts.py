"""Horizontal bar charts drawn on the server as inline SVG: no script, no chart library.

Phone width first: each bar has its label on a line of its own above it, so long names keep the
bar's full width. Every number drawn is also printed in a table beside the chart, and the SVG
carries a title and a description for screen readers (role="img").

Coordinates are strings formatted here, never floats handed to the template, which would print
them with the language's decimal comma.
"""

from collections.abc import Iterable
from dataclasses import dataclass

WIDTH = 320
ROW = 40
BAR_HEIGHT = 14
VALUE_SPACE = 68  # room right of the longest bar for its number
LABEL_CHARS = 46  # what fits on one line at the chart's width


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    highlight: bool
    label_y: str
    bar_y: str
    value_y: str
    width: str
    value_x: str


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    bars: list[Bar]


def short_label(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def bar_width(value, top, room: float) -> float:
    """A bar's length on a scale whose ``top`` fills ``room``; anything counted is drawn."""
    if not value or value <= 0:
        return 0.0
    return max(2.0, float(room * min(value, top) / top))


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    rows: Iterable[tuple[str, float, str, bool]],
    scale_max: float | None = None,
) -> BarChart:
    """rows: (label, value, value as printed, highlighted). scale_max: the value of a full bar
    (100 for percentages, so charts of different places compare); the largest value otherwise."""
    rows = list(rows)
    top = scale_max or max((value for _l, value, _t, _h in rows), default=0) or 1
    room = WIDTH - VALUE_SPACE
    bars = []
    for index, (label, value, value_text, highlight) in enumerate(rows):
        y = index * ROW
        width = bar_width(value, top, room)
        bars.append(
            Bar(
                label=short_label(label),
                value_text=value_text,
                highlight=highlight,
                label_y=str(y + 13),
                bar_y=str(y + 18),
                value_y=str(y + 18 + BAR_HEIGHT - 3),
                width=f"{width:.1f}",
                value_x=f"{width + 4:.1f}",
            )
        )
    return BarChart(
        id=chart_id,
        title=title,
        desc=desc,
        width=WIDTH,
        height=max(ROW * len(bars), ROW),
        bars=bars,
    )
