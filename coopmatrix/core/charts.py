"""Bar charts drawn on the server as SVG, offline, from the figures a page already counted.

No chart library: the pages' Content-Security-Policy refuses inline styles and scripts, which
the SVG of charting libraries (pygal, matplotlib's SVG) carry, and a bar chart is a few
rectangles. Each bar is a link to the records it counts, and the numbers are written beside
the bars and in a table under them (for screen readers and for print).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Geometry of a horizontal bar chart, in SVG user units.
LABEL_WIDTH = 230
BAR_AREA = 330
ROW_HEIGHT = 22
BAR_HEIGHT = 15


@dataclass
class Segment:
    """A part of a bar: `kind` names its class (a status) and its legend entry."""

    n: int
    url: str
    kind: str = ""
    label: str = ""
    x: float = 0
    width: float = 0


@dataclass
class Bar:
    label: str
    segments: list[Segment]
    y: float = 0
    total: int = 0
    #: The bar's own link (the records of the whole bar), when it has one.
    url: str = ""
    end: float = field(default=0)


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    #: (kind, label) of each kind of segment, for the legend.
    legend: list[tuple[str, str]]
    width: int = LABEL_WIDTH + BAR_AREA + 60
    height: int = 0
    slug: str = ""


def bar_chart(
    title: str, bars: list[Bar], legend: list[tuple[str, str]] | None = None, slug: str = ""
) -> Chart:
    """Lay out `bars` (in the order given) on one scale: the longest bar fills the bar area."""
    highest = max((sum(s.n for s in bar.segments) for bar in bars), default=0)
    scale = BAR_AREA / highest if highest else 0
    for index, bar in enumerate(bars):
        bar.y = index * ROW_HEIGHT + 4
        x = float(LABEL_WIDTH)
        for segment in bar.segments:
            segment.x = x
            segment.width = max(segment.n * scale, 1.0 if segment.n else 0.0)
            x += segment.width
        bar.total = sum(s.n for s in bar.segments)
        bar.end = x
    return Chart(title, bars, legend or [], height=len(bars) * ROW_HEIGHT + 8, slug=slug)
