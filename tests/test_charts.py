"""The access chart: counts per service per day, with axes, a legend and a table."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from web.charts import access_chart

DAY1, DAY2 = datetime(2026, 11, 29, 9, tzinfo=UTC), datetime(2026, 11, 30, 18, tzinfo=UTC)


def test_each_service_has_a_bar_per_day_with_its_count_a_legend_entry_and_a_table_column():
    points = [(DAY1, "CV Builder")] * 3 + [(DAY2, "CV Builder"), (DAY2, "Job Board"), (DAY2, "Job Board")]
    html = str(access_chart(points))
    bars = re.findall(r'<rect class="series-(\d)"[^>]*><title>([^<]*)</title>', html)
    assert bars == [("0", "CV Builder, 29 Nov: 3"), ("0", "CV Builder, 30 Nov: 1"), ("1", "Job Board, 30 Nov: 2")]
    assert re.findall(r'text-anchor="end">(\d+)</text>', html) == ["0", "2", "3"]  # the count axis: 0, half, peak
    assert ">29 Nov</text>" in html and ">30 Nov</text>" in html  # the day axis
    assert re.findall(r'<li><span class="swatch series-(\d)"></span>([^<]*)</li>', html) == [("0", "CV Builder"), ("1", "Job Board")]
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th><td>(\d+)</td><td>(\d+)</td></tr>', html)
    assert rows == [("29 Nov", "3", "0"), ("30 Nov", "1", "2")]
    assert 'aria-hidden="true"' in html and "<caption>Accesses per service per day</caption>" in html


def test_no_access_is_said_in_words():
    assert str(access_chart([])) == '<p class="muted">No accesses yet.</p>'


def test_names_are_escaped():
    assert "&lt;b&gt;" in str(access_chart([(DAY1, "<b>")])) and "<b>" not in str(access_chart([(DAY1, "<b>")]))
