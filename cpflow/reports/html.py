"""One self-contained HTML file: Jinja2 with autoescaping, styles inline, charts as
inline SVG, and a Content-Security-Policy that forbids every request and every script,
so nothing in the page can reach the network or run."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cpflow.reports import cells, svg
from cpflow.reports.model import Column, Report, Section, rag_colour

DETAIL_ROWS = 500  # full listings beyond this are left to the xlsx and CSV files
NUMERIC = ("int", "number", "pct", "money")


@dataclass(frozen=True)
class Cell:
    text: str
    css: str


class Rows:
    """A view's table rows as display cells, made while the page is written and then
    dropped, so a long listing is never held as cells whole. It has a length, and can be
    iterated (again) and sliced."""

    def __init__(self, section: Section, limit: int | None):
        self.section, self.limit = section, limit

    def __len__(self) -> int:
        size = len(self.section.table)
        return size if self.limit is None else min(size, self.limit)

    def __iter__(self) -> Iterator[list[Cell]]:
        columns = self.section.columns
        for row in cells.rows(self.section, limit=self.limit):
            yield [Cell(cells.display(value, column.kind), _css(column, rag_colour(column.rag, value)))
                   for value, column in zip(row, columns)]  # fmt: skip

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(itertools.islice(self, *index.indices(len(self))))
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"row {index} of {len(self)}")
        return next(itertools.islice(self, position, None))


@dataclass(frozen=True)
class View:
    section: Section
    anchor: str
    headers: list[tuple[str, str]]
    rows: Rows
    chart: str | None
    hidden_rows: int


@functools.cache
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("cpflow.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _css(column: Column, colour: str | None) -> str:
    classes = ["num"] if column.kind in NUMERIC else []
    if column.rag == "status":
        classes.append("status")  # kept in view (sticky) while a wide table scrolls
    if colour:
        classes.append(f"rag-{colour}")
    return " ".join(classes)


def view(report: Report, section: Section) -> View:
    rows = Rows(section, DETAIL_ROWS if section.detail else None)
    headers = [(c.label, _css(c, None)) for c in section.columns]
    hidden = max(len(section.table) - DETAIL_ROWS, 0) if section.detail else 0
    return View(section, f"{report.kind}-{section.key}", headers, rows, svg.render(section), hidden)


def _context(reports: Sequence[Report]) -> dict:
    first = reports[0]
    title = first.title if len(reports) == 1 else f"Governance review, {first.period_text}"
    parts = [(report, [view(report, s) for s in report.sections]) for report in reports]
    return {"title": title, "first": first, "parts": parts, "figure_text": cells.figure_text, "rag_colour": rag_colour}


def render(reports: Sequence[Report]) -> str:
    """The HTML page for one or more reports (a pack holds progress and compliance)."""
    return environment().get_template("report.html.j2").render(**_context(reports))


def write(reports: Sequence[Report], path: Path) -> Path:
    """The same page as `render`, streamed into a file rather than held as one string."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.writelines(environment().get_template("report.html.j2").generate(**_context(reports)))
    return path
