"""Inline SVG charts for the HTML report: stacked bars, bars and lines, drawn from a
section's chart spec. Plain SVG text with fixed number formatting (byte-stable), every
label escaped, scaled by its viewBox so it fits a phone screen."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from cpflow.reports import cells
from cpflow.reports.model import Section

WIDTH = 720
LABEL_W = 190
ROW_H = 22
PALETTE = ("#4c6ef5", "#f08c00", "#2b8a3e", "#c2255c", "#1098ad", "#7048e8", "#5c940d", "#e8590c")
SERIES_COLOURS = {
    "proposed": "#adb5bd", "endorsed": "#74c0fc", "in_progress": "#f59f00", "completed": "#2b8a3e", "dropped": "#c92a2a",
    "error": "#c92a2a", "warning": "#f59f00", "info": "#4c6ef5",
}  # fmt: skip


def colour(name: str, index: int) -> str:
    return SERIES_COLOURS.get(name, PALETTE[index % len(PALETTE)])


def _n(value: float) -> str:
    return f"{value:.1f}"


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _values(section: Section) -> tuple[list[str], list[list[float | None]]]:
    chart = section.chart
    data = section.chart_data
    kind = "date" if chart.kind == "line" else "text"
    labels = [cells.display(v, "date") if kind == "date" and v is not None else str(v or "") for v in
              cells.column_values(data[chart.category], kind)]  # fmt: skip
    series = [cells.column_values(data[name], "number") for name in chart.series]
    return labels, series


def _legend(section: Section, y: float) -> list[str]:
    parts, x = [], LABEL_W
    for i, name in enumerate(section.chart.series):
        text = section.label(name) if section.chart.data is None else name.replace("_", " ")
        parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="10" height="10" fill="{colour(name, i)}"/>')
        parts.append(f'<text x="{_n(x + 14)}" y="{_n(y + 9)}">{escape(text)}</text>')
        x += 24 + 7 * len(text)
    return parts


def _frame(section: Section, height: float, body: list[str]) -> Markup:
    title = escape(section.chart.title)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" role="img" '
            f'aria-label="{title}" class="chart" font-size="11" font-family="sans-serif">')  # fmt: skip
    return Markup("\n".join([head, f"<title>{title}</title>", *body, "</svg>"]))


def _fmt(value: float, value_kind: str) -> str:
    return cells.display(value, "pct") if value_kind == "pct" else cells.display(int(round(value)), "int")


def bars(section: Section) -> Markup:
    """Horizontal bars, stacked when the chart has several series."""
    labels, series = _values(section)
    totals = [sum(v or 0 for v in column) for column in zip(*series)] or [0]
    top = max(max(totals), 1e-9)
    plot_w = WIDTH - LABEL_W - 60
    body = []
    for row, label in enumerate(labels):
        y = 8 + row * ROW_H
        body.append(f'<text x="{LABEL_W - 6}" y="{_n(y + 14)}" text-anchor="end">{escape(_short(label))}</text>')
        x = float(LABEL_W)
        for i, values in enumerate(series):
            value = values[row] or 0
            if value <= 0:
                continue
            w = plot_w * value / top
            body.append(f'<rect x="{_n(x)}" y="{_n(y + 3)}" width="{_n(w)}" height="{ROW_H - 6}" fill="{colour(section.chart.series[i], i)}">'
                        f"<title>{escape(label)}: {escape(_fmt(value, section.chart.value_kind))}</title></rect>")  # fmt: skip
            x += w
        body.append(f'<text x="{_n(x + 4)}" y="{_n(y + 14)}">{escape(_fmt(totals[row], section.chart.value_kind))}</text>')
    y = 8 + len(labels) * ROW_H + 6
    if len(series) > 1:
        body += _legend(section, y)
        y += 18
    return _frame(section, y + 4, body)


def nice_ticks(top: float, value_kind: str = "int", most: int = 6) -> list[float]:
    """Axis values from 0 to at least `top` in round steps (1, 2, 2.5 or 5 times a power
    of ten; whole numbers for counts), at most `most` of them, every one labelled exactly."""
    top = max(float(top), 1.0 if value_kind != "pct" else 0.01)
    power = 10.0 ** math.floor(math.log10(top / (most - 1)))
    for factor in (1, 2, 2.5, 5, 10, 20, 25, 50):
        step = factor * power
        if value_kind != "pct" and step < 1 or value_kind != "pct" and not float(step).is_integer():
            continue
        if math.ceil(round(top / step, 9)) + 1 <= most:
            break
    count = math.ceil(round(top / step, 9))
    return [round(step * i, 9) for i in range(count + 1)]


def lines(section: Section) -> Markup:
    """One line per series over the categories (dates), with a y axis from zero in round steps."""
    labels, series = _values(section)
    kind = section.chart.value_kind
    height, left, bottom, top_pad = 260.0, 50.0, 40.0, 12.0
    plot_w, plot_h = WIDTH - left - 20, height - bottom - top_pad
    ticks = nice_ticks(max([v for column in series for v in column if v is not None] + [0]), kind)
    top = ticks[-1]
    count = max(len(labels) - 1, 1)

    def y_of(value: float) -> float:
        return top_pad + plot_h - plot_h * value / top

    def x_of(index: int) -> float:
        return left + plot_w * index / count

    body = [
        f'<line x1="{_n(left)}" y1="{_n(top_pad + plot_h)}" x2="{_n(left + plot_w)}" y2="{_n(top_pad + plot_h)}" stroke="#868e96"/>'
    ]
    for value in ticks:
        y = y_of(value)
        body.append(f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end">{escape(_fmt(value, kind))}</text>')
        body.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" stroke="#e9ecef"/>')
    last = len(labels) - 1
    # Labels far enough apart not to overlap; the last one ends at the plot's right edge.
    room = 7 * max((len(label) for label in labels), default=0) + 12
    shown = [
        i for i in sorted({0, *range(0, len(labels), max(len(labels) // 6, 1))}) if i < last and x_of(last) - x_of(i) >= room
    ]
    for index in [*shown, last] if last >= 0 else []:
        anchor = "end" if index == last and last > 0 else "middle"
        body.append(
            f'<text x="{_n(x_of(index))}" y="{_n(top_pad + plot_h + 16)}" text-anchor="{anchor}">{escape(labels[index])}</text>'
        )
    for i, values in enumerate(series):
        points = " ".join(f"{_n(x_of(j))},{_n(y_of(v))}" for j, v in enumerate(values) if v is not None)
        body.append(f'<polyline fill="none" stroke-width="2" stroke="{colour(section.chart.series[i], i)}" points="{points}"/>')
    body += _legend(section, height - 14)
    return _frame(section, height, body)


def render(section: Section) -> Markup | None:
    if section.chart is None or section.chart_data.empty:
        return None
    return lines(section) if section.chart.kind == "line" else bars(section)
