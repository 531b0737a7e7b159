"""A small server-rendered SVG chart: accesses over time, one row of bars per service.

Server-side so the page needs no chart library; each bar has a <title> for its exact
count, and the chart a text summary for screen readers.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from markupsafe import Markup, escape

BUCKETS = [(timedelta(hours=2), timedelta(minutes=1), "%H:%M"), (timedelta(days=3), timedelta(hours=1), "%d %b %H:00"), (timedelta.max, timedelta(days=1), "%d %b")]
ROW, LABEL_W, WIDTH = 34, 130, 560


def _bucket_size(times: list[datetime]) -> tuple[timedelta, str]:
    span = max(times) - min(times)
    return next((size, fmt) for limit, size, fmt in BUCKETS if span < limit)


def access_chart(points: list[tuple[datetime, str]]) -> Markup:
    """`points` are (time, service name) of each access; returns inline SVG markup."""
    if not points:
        return Markup('<p class="muted">No accesses yet.</p>')
    size, fmt = _bucket_size([t for t, _ in points])
    start = min(t for t, _ in points)
    bucket = lambda t: int((t - start) / size)  # noqa: E731
    n_buckets = max(bucket(t) for t, _ in points) + 1
    counts = Counter((svc, bucket(t)) for t, svc in points)
    services = sorted({svc for _, svc in points})
    peak = max(counts.values())
    bar_w = min(28.0, (WIDTH - LABEL_W) / n_buckets)
    height = ROW * len(services) + 24
    summary = "; ".join(f"{s}: {sum(c for (svc, _), c in counts.items() if svc == s)} accesses" for s in services)
    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="Accesses over time per service. {escape(summary)}">']
    for row, svc in enumerate(services):
        y = row * ROW
        out.append(f'<text x="0" y="{y + 21}" class="chart-label">{escape(svc[:18])}</text>')
        for b in range(n_buckets):
            c = counts.get((svc, b), 0)
            if c:
                h = max(3, (ROW - 8) * c / peak)
                when = (start + b * size).strftime(fmt)
                out.append(f'<rect x="{LABEL_W + b * bar_w:.1f}" y="{y + ROW - 4 - h:.1f}" width="{max(2, bar_w - 2):.1f}" height="{h:.1f}"><title>{escape(svc)}, {when}: {c}</title></rect>')
    out.append(f'<text x="{LABEL_W}" y="{height - 4}" class="chart-axis">{start.strftime(fmt)}</text>')
    if n_buckets > 1:
        out.append(f'<text x="{LABEL_W + n_buckets * bar_w:.1f}" y="{height - 4}" text-anchor="end" class="chart-axis">{(start + (n_buckets - 1) * size).strftime(fmt)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
