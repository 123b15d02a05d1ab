"""Money charts drawn on the server as inline SVG: for each funder or state, three bars, promised,
transferred and receipted, on one scale. No script, no chart library.

Like voting/charts.py (whose single-bar chart the project page uses): phone width first, each
group's label on a line of its own, every figure also printed in a table beside the chart, a
title and a description for screen readers. The bars keep one order, named in the legend above
them, and promised money is drawn as an outline: colour is never the only clue.
"""

from dataclasses import dataclass
from decimal import Decimal

from voting.charts import WIDTH, bar_width, short_label

LEGEND_ROW = 18
LABEL_ROW = 18
BAR_HEIGHT = 12
BAR_GAP = 3
GROUP_GAP = 12
VALUE_SPACE = 92  # room right of the longest bar for its amount

# (key, fill, stroke): promised is an outline, money that moved is solid.
SERIES_STYLE = {
    "promised": ("#ffffff", "#4a4a4a"),
    "transferred": ("#0b5e3a", "#0b5e3a"),
    "receipted": ("#1d4ed8", "#1d4ed8"),
}


@dataclass(frozen=True)
class LegendItem:
    label: str
    fill: str
    stroke: str
    y: str
    text_y: str


@dataclass(frozen=True)
class GroupBar:
    series: str
    value_text: str
    fill: str
    stroke: str
    y: str
    width: str
    value_x: str
    value_y: str


@dataclass(frozen=True)
class Group:
    label: str
    label_y: str
    bars: list[GroupBar]


@dataclass(frozen=True)
class GroupedChart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    legend: list[LegendItem]
    groups: list[Group]


def grouped_bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    series: list[tuple[str, str]],
    groups: list[tuple[str, list[tuple[Decimal, str]]]],
) -> GroupedChart:
    """series: (key, label) in the bars' order; groups: (label, [(value, value as printed)]),
    one value per series. All bars share the scale of the largest value."""
    top = max((value for _label, values in groups for value, _t in values), default=0) or 1
    room = WIDTH - VALUE_SPACE
    legend = []
    for index, (key, label) in enumerate(series):
        fill, stroke = SERIES_STYLE[key]
        y = index * LEGEND_ROW
        legend.append(LegendItem(label, fill, stroke, y=str(y + 3), text_y=str(y + 13)))
    y = len(series) * LEGEND_ROW + 8
    drawn = []
    for label, values in groups:
        bars = []
        bar_y = y + LABEL_ROW
        for (key, _label), (value, text) in zip(series, values, strict=True):
            fill, stroke = SERIES_STYLE[key]
            width = bar_width(value, top, room)
            bars.append(
                GroupBar(
                    series=key,
                    value_text=text,
                    fill=fill,
                    stroke=stroke,
                    y=str(bar_y),
                    width=f"{width:.1f}",
                    value_x=f"{width + 4:.1f}",
                    value_y=str(bar_y + BAR_HEIGHT - 2),
                )
            )
            bar_y += BAR_HEIGHT + BAR_GAP
        drawn.append(Group(label=short_label(label), label_y=str(y + 13), bars=bars))
        y = bar_y + GROUP_GAP
    return GroupedChart(
        id=chart_id,
        title=title,
        desc=desc,
        width=WIDTH,
        height=y,
        legend=legend,
        groups=drawn,
    )
