"""The xlsx form of a report, with xlsxwriter: a Summary sheet first (figures, plans,
an index of sheets and the native charts), then one sheet per view, then the data the
charts draw.

Every sheet is written row by row in `constant_memory` mode, so a 100k-row listing
costs little memory. Text goes through `write_string` only (or, for text that looks like
markup, as a rich string of plain runs), so no cell is ever a
formula; numbers, dates and money are real numbers with formats. The creation date is
the as-of date, so the same report gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import pandas as pd
from xlsxwriter.utility import xl_col_to_name

from cpflow.reports import cells
from cpflow.reports.model import RAG_COLOURS, RAG_SCALES, Report, Section
from cpflow.reports.svg import colour

MAX_WIDTH = 60
PORTRAIT_WIDTH = 100  # column widths (in characters) an A4 portrait page holds at a readable scale
DATE_FORMAT = "yyyy-mm-dd"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\']")


class _Formats:
    """The workbook's formats, created once each in a fixed order."""

    def __init__(self, workbook):
        self.workbook = workbook
        self.header = workbook.add_format({"bold": True, "bg_color": "#DCE6F0", "border": 1, "text_wrap": True, "valign": "top"})
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.bold = workbook.add_format({"bold": True})
        self.muted = workbook.add_format({"font_color": "#52606D"})
        self.muted_wrap = workbook.add_format({"font_color": "#52606D", "text_wrap": True, "valign": "top"})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.date = workbook.add_format({"num_format": DATE_FORMAT})
        self.pct = workbook.add_format({"num_format": "0.0%"})
        self.int = workbook.add_format({"num_format": "#,##0"})
        self.number = workbook.add_format({"num_format": "#,##0.##"})
        self.rag = {name: workbook.add_format({"bg_color": fill, "font_color": ink}) for name, (fill, ink) in RAG_COLOURS.items()}
        self._money: dict[str | None, object] = {}

    def money(self, currency: str | None):
        key = currency if currency and re.fullmatch(r"[A-Z]{3}", currency) else None
        if key not in self._money:
            pattern = f"[${key}] #,##0.00" if key else "#,##0.00"
            self._money[key] = self.workbook.add_format({"num_format": pattern})
        return self._money[key]


def sheet_names(titles: list[str]) -> list[str]:
    """Valid, unique Excel sheet names (31 characters, no []:*?/\\ or quotes)."""
    taken = {"summary", "chart data"}
    names = []
    for title in titles:
        base = " ".join(_BAD_SHEET_CHARS.sub(" ", title).split())[:31] or "Sheet"
        name, n = base, 2
        while name.casefold() in taken:
            suffix = f" {n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        taken.add(name.casefold())
        names.append(name)
    return names


# 1970-01-01 as an Excel serial (1900 date system, which counts 1900-02-29): a date's serial
# is its days since 1970 plus this, for every date after 1900-02-28.
_SERIAL_1970 = 25569


def _serials(series: pd.Series) -> list[float | None]:
    """A date column as Excel serial numbers in one vectorised step: what xlsxwriter's
    write_datetime stores for each date at midnight (the time of day is dropped)."""
    stamps = pd.to_datetime(series)
    if getattr(stamps.dt, "tz", None) is not None:
        return [None if v is None else _serial(v) for v in cells.column_values(series, "date")]
    days = stamps.to_numpy(dtype="datetime64[D]").astype("int64") + _SERIAL_1970
    early = days <= 60  # before 1900-03-01 there is no leap day to count
    if early.any():
        # and xlsxwriter reads a datetime on 1900-01-01 as a time of day (serial 0)
        days = days - early - (days == 2)
    values = days.astype("float64").tolist()
    if stamps.hasnans:
        return [None if missing else v for v, missing in zip(values, stamps.isna().tolist())]
    return values


def _serial(day: dt.date) -> float:
    days = day.toordinal() - dt.date(1970, 1, 1).toordinal() + _SERIAL_1970
    return float(days - (days <= 60) - (days == 2))


def _values(section: Section, key: str, kind: str) -> list:
    """One column as the values written to the cells: text, numbers, date serials, money
    in currency units."""
    series = section.table[key]
    if kind == "date":
        return _serials(series)
    values = cells.column_values(series, kind)
    if kind == "money":
        return [None if v is None else cells.money_float(v) for v in values]
    return values


def _looks_rich(text: str | None) -> bool:
    """Text xlsxwriter would write into the sheet's XML unescaped: in constant_memory mode
    it takes a string that starts with <r> and ends with </r> for a rich string."""
    return text is not None and text.startswith("<r>") and text.endswith("</r>")


def _write_text(ws, row: int, col: int, text: str, style=None) -> None:
    """A text cell, never markup: text that looks like a rich string is written as a rich
    string of plain runs, which xlsxwriter escapes (the cell reads the same)."""
    if _looks_rich(text):
        ws.write_rich_string(row, col, text[:1], text[1:2], text[2:], *((style,) if style is not None else ()))
    else:
        ws.write_string(row, col, text, style)


def _width_of(values: list, kind: str, label: str) -> float:
    if kind == "date":
        return 11
    if kind == "money":
        return 16
    longest = 0
    if values and kind == "text":
        longest = max((len(v) for v in values if v is not None), default=0)
    elif values:
        longest = 12
    return float(min(max(longest, len(label), 6) + 2, MAX_WIDTH))


def _width(section: Section, key: str, kind: str) -> float:
    """The width (in characters) of a column of the section's sheet."""
    values = [] if kind in ("date", "money") else _values(section, key, kind)
    return _width_of(values, kind, section.label(key))


def _rag(ws, fmt: _Formats, section: Section, last_row: int) -> None:
    if last_row < 1:
        return
    for col, column in enumerate(section.columns):
        if column.rag is None:
            continue
        scale = RAG_SCALES[column.rag]
        area = (1, col, last_row, col)
        if isinstance(scale, dict):
            for value, name in scale.items():
                ws.conditional_format(*area, {"type": "cell", "criteria": "==", "value": f'"{value}"', "format": fmt.rag[name]})
            continue
        cell = f"{xl_col_to_name(col)}2"
        upper = None
        for bound, name in scale:
            test = [f"ISNUMBER({cell})"]
            if bound != float("-inf"):
                test.append(f"{cell}>={bound}")
            if upper is not None:
                test.append(f"{cell}<{upper}")
            ws.conditional_format(*area, {"type": "formula", "criteria": f"=AND({','.join(test)})", "format": fmt.rag[name]})
            upper = bound


def _print_setup(ws, width: float) -> None:
    """A4, one page wide, landscape only when the columns are wider than a portrait page;
    the sheet's name and the page number in the footer."""
    ws.set_paper(9)
    if width > PORTRAIT_WIDTH:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_footer("&L&A&RPage &P of &N")


def write_section(workbook, fmt: _Formats, name: str, section: Section) -> None:
    ws = workbook.add_worksheet(name)
    columns = section.columns
    values = [_values(section, c.key, c.kind) for c in columns]
    widths = [_width_of(v, c.kind, c.label) for v, c in zip(values, columns)]
    _print_setup(ws, sum(widths))
    ws.repeat_rows(0)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    for col, column in enumerate(columns):
        _write_text(ws, 0, col, column.label, fmt.header)
    ws.freeze_panes(1, 0)
    # Text longer than its column wraps inside it instead of being cut at the column edge.
    styles = {"text": None, "int": fmt.int, "number": fmt.number, "pct": fmt.pct, "date": fmt.date}
    number = ws.write_number
    plain, priced = [], []  # (column, write, format, values); money takes its format from the row's currency
    for col, (column, width, column_values) in enumerate(zip(columns, widths, values)):
        if column.kind == "money":
            priced.append((col, column_values))
        elif column.kind == "text":
            text = functools.partial(_write_text, ws) if any(map(_looks_rich, column_values)) else ws.write_string
            plain.append((col, text, fmt.wrap if width >= MAX_WIDTH else None, column_values))
        else:
            plain.append((col, number, styles[column.kind], column_values))
    rows = len(section.table)
    if priced:
        currencies = cells.currencies(section)
        money = {c: fmt.money(c) for c in dict.fromkeys(currencies)}
        writes = sorted([(col, False, write, style, v) for col, write, style, v in plain]
                        + [(col, True, number, None, v) for col, v in priced])  # fmt: skip
        for index in range(rows):
            row, currency_format = index + 1, money[currencies[index]]
            for col, is_money, write, cell_format, column_values in writes:
                value = column_values[index]
                if value is not None:
                    write(row, col, value, currency_format if is_money else cell_format)
    else:
        for index in range(rows):
            row = index + 1
            for col, write, cell_format, column_values in plain:
                value = column_values[index]
                if value is not None:
                    write(row, col, value, cell_format)
    ws.autofilter(0, 0, max(rows, 1), len(columns) - 1)
    _rag(ws, fmt, section, rows)
    ws.print_area(0, 0, max(rows, 1), len(columns) - 1)
    if rows == 0:
        ws.hide()  # an empty view: its row count is on the Summary, and it prints no page


def _chart_blocks(workbook, fmt: _Formats, sections: list[Section]) -> dict[str, tuple[int, int]]:
    """Write each chart's data on the 'Chart data' sheet, one block under another;
    returns section key -> (first data row, last data row)."""
    charted = [s for s in sections if s.chart is not None and not s.chart_data.empty]
    if not charted:
        return {}
    ws = workbook.add_worksheet("Chart data")
    ws.hide()  # the data the Summary's charts draw: a helper, never printed
    ws.set_column(0, 0, 40)
    ws.set_column(1, 8, 14)
    blocks, row = {}, 0
    for section in charted:
        chart, data = section.chart, section.chart_data
        _write_text(ws, row, 0, chart.title, fmt.bold)
        for i, key in enumerate(chart.series, start=1):
            _write_text(ws, row, i, key.replace("_", " "), fmt.header)
        category_kind = "date" if chart.kind == "line" else "text"
        categories = cells.column_values(data[chart.category], category_kind)
        series = [cells.column_values(data[key], "number") for key in chart.series]
        first = row + 1
        for offset, category in enumerate(categories):
            r = first + offset
            if category_kind == "date":
                ws.write_datetime(r, 0, dt.datetime.combine(category, dt.time()), fmt.date)
            else:
                _write_text(ws, r, 0, "" if category is None else str(category))
            for i, values in enumerate(series, start=1):
                if values[offset] is not None:
                    ws.write_number(r, i, values[offset], fmt.pct if chart.value_kind == "pct" else fmt.number)
        blocks[section.key] = (first, first + len(categories) - 1)
        row = first + len(categories) + 1
    return blocks


def _literal(text: str) -> str:
    """Chart text xlsxwriter will not read as a cell reference (it does for a leading =)."""
    return " " + text if text.startswith("=") else text


def _chart(workbook, section: Section, rows: tuple[int, int]):
    spec = section.chart
    kind = {"stacked_bar": {"type": "bar", "subtype": "stacked"}, "bar": {"type": "bar"}, "line": {"type": "line"}}[spec.kind]
    chart = workbook.add_chart(kind)
    first, last = rows
    for i, key in enumerate(spec.series, start=1):
        label = section.label(key) if spec.data is None else key.replace("_", " ")
        fill = colour(key, i - 1)
        style = {"line": {"color": fill, "width": 2}} if spec.kind == "line" else {"fill": {"color": fill}, "gap": 40}
        chart.add_series({
            "name": _literal(label),
            "categories": ["Chart data", first, 0, last, 0],
            "values": ["Chart data", first, i, last, i],
            **style,
        })  # fmt: skip
    chart.set_title({"name": _literal(spec.title), "name_font": {"size": 12}})
    value_axis = {"num_format": "0%" if spec.value_kind == "pct" else "#,##0", "major_gridlines": {"visible": True}}
    if spec.kind == "line":
        chart.set_x_axis({"date_axis": True, "num_format": "yyyy-mm", "major_unit": 3, "major_unit_type": "months"})
        chart.set_y_axis({**value_axis, "min": 0})
    else:
        chart.set_y_axis({"reverse": True})
        chart.set_x_axis({**value_axis, "min": 0})
    if len(spec.series) == 1:
        chart.set_legend({"none": True})
    else:
        chart.set_legend({"position": "bottom"})
    height = 300 if spec.kind == "line" else max(260, 90 + 18 * (last - first + 1))
    chart.set_size({"width": 640, "height": height})
    return chart, height


def write_summary(workbook, fmt: _Formats, report: Report, names: list[str]) -> object:
    ws = workbook.add_worksheet("Summary")
    _print_setup(ws, PORTRAIT_WIDTH + 1)
    ws.set_column(0, 0, 42)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 2, 48)
    ws.set_column(3, 4, 11)
    _write_text(ws, 0, 0, report.title, fmt.title)
    _write_text(ws, 1, 0, f"State {report.period_text}. Plans: {', '.join(report.plans['slug'])}.", fmt.muted)
    _write_text(
        ws, 2, 0, f"Built by cpflow {report.about.get('cpflow', '')}, replayed from the event log as of the date.", fmt.muted
    )
    row = 4
    for col, label in enumerate(("Figure", "Value", "Detail")):
        _write_text(ws, row, col, label, fmt.header)
    for figure in report.figures:
        row += 1
        _write_text(ws, row, 0, figure.label)
        if figure.value is not None:
            ws.write_number(row, 1, figure.value, fmt.pct if figure.kind == "pct" else fmt.int)
        if figure.detail:
            _write_text(ws, row, 2, figure.detail, fmt.muted_wrap)
    row += 2
    for col, label in enumerate(("Plan", "Currency", "Title", "Start", "End")):
        _write_text(ws, row, col, label, fmt.header)
    for plan in report.plans.itertuples(index=False):
        row += 1
        _write_text(ws, row, 0, plan.slug)
        _write_text(ws, row, 1, plan.currency)
        _write_text(ws, row, 2, plan.title)
        ws.write_datetime(row, 3, pd.Timestamp(plan.start).to_pydatetime(), fmt.date)
        ws.write_datetime(row, 4, pd.Timestamp(plan.end).to_pydatetime(), fmt.date)
    row += 2
    for col, label in enumerate(("Sheet", "Rows", "About")):
        _write_text(ws, row, col, label, fmt.header)
    for name, section in zip(names, report.sections):
        row += 1
        _write_text(ws, row, 0, name)
        ws.write_number(row, 1, len(section.table), fmt.int)
        if section.note:
            _write_text(ws, row, 2, section.note, fmt.muted_wrap)
    return ws, row


def write(report: Report, path: Path) -> Path:
    """Write the report as an xlsx workbook at `path`."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    options = {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "default_date_format": DATE_FORMAT,
    }  # fmt: skip
    workbook = xlsxwriter.Workbook(str(path), options)
    created = dt.datetime.combine(report.as_of, dt.time())
    workbook.set_properties({
        "title": report.title[:250], "subject": f"cpflow {report.kind} report, {report.period_text}",
        "author": "cpflow", "company": "", "comments": "Built by cpflow from the event log.", "created": created,
    })  # fmt: skip
    fmt = _Formats(workbook)
    names = sheet_names([s.title for s in report.sections])
    summary, last_row = write_summary(workbook, fmt, report, names)
    for name, section in zip(names, report.sections):
        write_section(workbook, fmt, name, section)
    blocks = _chart_blocks(workbook, fmt, report.sections)
    y = 0
    for section in report.sections:
        if section.key in blocks:
            chart, height = _chart(workbook, section, blocks[section.key])
            summary.insert_chart(4, 6, chart, {"y_offset": y, "x_offset": 10, "object_position": 3})
            y += height + 16
    # Printed: the figures, tables and charts; notes wrap inside their column, clear of the charts.
    summary.print_area(0, 0, max(last_row, 4 + y // 20 + 1), 16)
    workbook.close()
    return path
