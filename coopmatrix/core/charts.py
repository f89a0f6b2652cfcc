"""Bar charts drawn on the server as SVG, offline, from the figures a page already counted.

No chart library: the pages' Content-Security-Policy refuses inline styles and scripts, which
the SVG of charting libraries (pygal, matplotlib's SVG) carry, and a bar chart is a few
rectangles. Each bar is a link to the records it counts, and the numbers are written beside
the bars and in a table under them (for screen readers and for print).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

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
    #: `n` as the page writes it (thrice a segment: formatted once).
    shown: str = ""


@dataclass
class Bar:
    label: str
    segments: list[Segment]
    y: float = 0
    total: int = 0
    #: The bar's own link (the records of the whole bar), when it has one.
    url: str = ""
    end: float = field(default=0)
    shown: str = ""
    #: The bar's drawing and its line of the numbers' table, made with the layout: a page draws
    #: a hundred bars, which the template language took some 15 ms to write element by element.
    svg: SafeString = field(default_factory=SafeString)
    numbers: SafeString = field(default_factory=SafeString)


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
            segment.shown = localize(segment.n)
            x += segment.width
        bar.total = sum(s.n for s in bar.segments)
        bar.shown = localize(bar.total)
        bar.end = x
        bar.svg, bar.numbers = _drawn(bar), _numbers(bar, bool(legend))
    return Chart(title, bars, legend or [], height=len(bars) * ROW_HEIGHT + 8, slug=slug)


def _drawn(bar: Bar) -> SafeString:
    """The bar's `<g>`: its label, a linked rectangle per segment counting something, its total."""
    segments = format_html_join(
        "",
        '<a href="{}" data-bar="{}{}" aria-label="{}{}: {}"><rect x="{}" y="{}" width="{}" height="15" '
        'class="bar {}"><title>{}{}: {}</title></rect></a>',
        (
            (
                s.url,
                bar.label,
                f"/{s.kind}" if s.kind else "",
                bar.label,
                f", {s.label}" if s.label else "",
                s.shown,
                f"{s.x:.1f}",
                bar.y,
                f"{s.width:.1f}",
                s.kind,
                bar.label,
                f", {s.label}" if s.label else "",
                s.shown,
            )
            for s in bar.segments
            if s.n
        ),
    )
    return format_html(
        '<g>\n      <text x="226" y="{}" text-anchor="end" class="bar-label">{}</text>\n      {}\n      '
        '<text x="{}" dx="4" y="{}" class="bar-number">{}</text>\n    </g>',
        bar.y + 12,
        Truncator(bar.label).chars(34),
        segments,
        f"{bar.end:.1f}",
        bar.y + 12,
        bar.shown,
    )


def _numbers(bar: Bar, by_segment: bool) -> SafeString:
    """The bar's line in the table of numbers under the chart."""
    head = format_html('<a href="{}">{}</a>', bar.url, bar.label) if bar.url else format_html("{}", bar.label)
    cells = SafeString("")
    if by_segment:
        cells = format_html_join(
            "",
            "<td>{}</td>",
            ((format_html('<a href="{}">{}</a>', s.url, s.shown) if s.n else "0",) for s in bar.segments),
        )
    return format_html('<tr><th scope="row">{}</th>\n    {}<td>{}</td></tr>', head, cells, bar.shown)
