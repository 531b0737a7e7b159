"""A small server-rendered chart of accesses per service per day, with its table.

Server-side so the page needs no chart library. The SVG has a count axis with ticks, a day
axis, one colour per service with a legend, and a <title> on each bar; the same counts
follow as a table, which screen readers read instead of the picture (the SVG is
aria-hidden) and anyone can open under "Show as a table".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_skeleton
from markupsafe import Markup, escape

from httpkit.readable import reader_locale

WIDTH, HEIGHT = 560, 200
LEFT, BOTTOM, TOP = 36, 28, 8  # room for the count axis, the day labels, and the top tick
SERIES = 6  # colours in app.css (.series-0 … .series-5); more services reuse them


@dataclass(frozen=True)
class DailyCounts:
    days: list[date]
    services: list[str]
    counts: Counter[tuple[date, str]]

    @classmethod
    def of(cls, points: list[tuple[datetime, str]]) -> DailyCounts:
        counts = Counter((t.date(), svc) for t, svc in points)
        return cls(sorted({d for d, _ in counts}), sorted({s for _, s in counts}), counts)

    @property
    def peak(self) -> int:
        return max(self.counts.values())


def access_chart(points: list[tuple[datetime, str]]) -> Markup:
    """`points` are (time, service name) of each access; returns the chart and its table."""
    if not points:
        return Markup('<p class="muted">No accesses yet.</p>')
    data = DailyCounts.of(points)
    return Markup(_svg(data) + _legend(data) + _table(data))


def _ticks(peak: int) -> list[int]:
    return sorted({0, (peak + 1) // 2, peak})


def _svg(data: DailyCounts) -> str:
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    group = plot_w / len(data.days)
    bar = min(24.0, (group - 8) / len(data.services))
    y_of = lambda n: TOP + plot_h * (1 - n / data.peak)  # noqa: E731
    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" aria-hidden="true" focusable="false">']
    for tick in _ticks(data.peak):
        y = y_of(tick)
        out.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="chart-axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, day in enumerate(data.days):
        x0 = LEFT + i * group + (group - bar * len(data.services)) / 2
        for j, svc in enumerate(data.services):
            n = data.counts.get((day, svc), 0)
            if n:
                y = y_of(n)
                out.append(
                    f'<rect class="series-{j % SERIES}" x="{x0 + j * bar:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{TOP + plot_h - y:.1f}">'
                    f"<title>{escape(svc)}, {_day(day)}: {n}</title></rect>"
                )
        out.append(f'<text class="chart-axis" x="{LEFT + (i + 0.5) * group:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{_day(day)}</text>')
    out.append(f'<line class="chart-axis-line" x1="{LEFT}" x2="{WIDTH}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/></svg>')
    return "".join(out)


def _legend(data: DailyCounts) -> str:
    items = "".join(f'<li><span class="swatch series-{j % SERIES}"></span>{escape(s)}</li>' for j, s in enumerate(data.services))
    return f'<ul class="chart-legend" aria-hidden="true">{items}</ul>'


def _table(data: DailyCounts) -> str:
    head = "".join(f'<th scope="col">{escape(s)}</th>' for s in data.services)
    rows = "".join(
        f'<tr><th scope="row">{_day(d)}</th>' + "".join(f"<td>{data.counts.get((d, s), 0)}</td>" for s in data.services) + "</tr>" for d in data.days
    )
    return (
        '<details class="chart-table"><summary>Show as a table</summary>'
        f'<table id="access-table"><caption>Accesses per service per day</caption><thead><tr><th scope="col">Day</th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def _day(d: date) -> str:
    """The day in the reader's language, without the year ("30 Nov", "Nov 30", "30 nov.")."""
    return format_skeleton("MMMd", d, locale=reader_locale())
