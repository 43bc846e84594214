"""The HTML line chart read back as SVG: every labelled y tick sits where its value is,
every point sits at its value on that same scale, ticks are round, and no x label runs
past the chart's edge."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from cpflow.reports.model import Chart, Column, Section
from cpflow.reports.svg import WIDTH, lines, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def chart_section(values: list[float], kind: str = "int") -> Section:
    dates = [dt.date(2022, 1, 31) + dt.timedelta(days=30 * i) for i in range(len(values))]
    table = pd.DataFrame({"date": dates, "completed": values, "in_progress": [v / 2 for v in values]})
    columns = (Column("date", "Date", "date"), Column("completed", "Completed", "number"),
               Column("in_progress", "In progress", "number"))  # fmt: skip
    chart = Chart("line", "Completion over time", "date", ("completed", "in_progress"), value_kind=kind)
    return Section("Over time", table, chart, columns=columns)


def number(label: str) -> float:
    text = label.replace(",", "")
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def read(section: Section):
    root = ET.fromstring(str(lines(section)))
    texts = root.findall(f"{SVG}text")
    y_labels = [
        (number(t.text), float(t.get("y")) - 4) for t in texts if t.get("text-anchor") == "end" and float(t.get("x")) < 60
    ]
    x_labels = [t for t in texts if re.fullmatch(r"\d{4}-\d\d-\d\d", t.text or "")]
    polylines = [[tuple(map(float, p.split(","))) for p in pl.get("points").split()] for pl in root.findall(f"{SVG}polyline")]
    return y_labels, x_labels, polylines


@pytest.mark.parametrize(
    ("values", "kind"),
    [([0, 1, 2, 3, 5], "int"), ([0, 3, 7], "int"), ([0, 13, 44], "int"), ([2, 9, 99, 101], "int"),
     ([0, 1234, 5], "int"), ([0, 0, 0], "int"), ([0.0, 0.07, 0.5, 0.66], "pct"), ([1.0], "int")],
)  # fmt: skip
def test_every_labelled_tick_and_every_point_sits_at_its_value(values, kind):
    section = chart_section(values, kind)
    ticks, x_labels, polylines = read(section)
    assert ticks[0][0] == 0 and ticks[-1][0] >= max(values)
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    scale = (y1 - y0) / (v1 - v0)

    def y_of(value):
        return y0 + scale * (value - v0)

    for value, y in ticks:
        assert y == pytest.approx(y_of(value), abs=0.11), (value, y, ticks)
    steps = {round(b[0] - a[0], 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and len(ticks) <= 6, ticks  # evenly spaced, not crowded
    for series, line in zip((values, [v / 2 for v in values]), polylines):
        assert len(line) == len(series)
        for value, (_, y) in zip(series, line):
            assert y == pytest.approx(y_of(value), abs=0.11), (value, y)
    for label in x_labels:
        x, anchor = float(label.get("x")), label.get("text-anchor")
        half = 3.5 * len(label.text)
        right = x if anchor == "end" else x + half
        assert right <= WIDTH and (x - 7 * len(label.text) if anchor == "end" else x - half) >= 0, (label.text, x, anchor)


def test_a_maximum_of_five_is_labelled_0_to_5():
    ticks, _, _ = read(chart_section([0, 2, 5]))
    assert [v for v, _ in ticks] == [0, 1, 2, 3, 4, 5]


def test_x_labels_do_not_overlap_and_the_last_date_is_shown():
    values = list(range(24))
    _, x_labels, _ = read(chart_section(values))
    xs = [float(t.get("x")) for t in x_labels]
    assert x_labels[-1].text == (dt.date(2022, 1, 31) + dt.timedelta(days=30 * 23)).isoformat()
    assert all(b - a >= 7 * 10 for a, b in zip(xs, xs[1:])), xs


@pytest.mark.parametrize("top", [0, 0.3, 1, 4, 5, 6, 9, 11, 17, 250, 999, 12345])
def test_nice_ticks_are_round_steps_covering_the_top(top):
    ticks = nice_ticks(top)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6 and float(step).is_integer()
    mantissa = step / 10 ** (len(str(int(step))) - 1)
    assert mantissa in (1, 2, 2.5, 5), step
