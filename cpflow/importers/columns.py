"""Find the header row of a work-plan table and map its columns to cpflow fields.

Header text is compared after normalising (lower case, text in brackets dropped,
punctuation as spaces), against the synonyms below: the column names of the seed plans
and of common cluster work plans. Quarter (`Q1`, `Q3 2021`) and month (`Sept.`,
`Jan 2016`, `2015-09`) columns are schedule columns whose marked cells (`X`) say when an
activity is planned. A mapping file adds what the synonyms cannot know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FIELDS = (
    "code", "number", "title", "description", "objective", "objective_title", "unit", "unit_name", "lead",
    "contributors", "phase", "schedule", "start", "due", "sectors", "countries", "cross_cutting", "type",
    "expected_result", "state", "notes", "checklist", "indicator", "baseline", "target", "budget",
)  # fmt: skip

SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("code", "activity code", "activity id", "id", "ref", "reference", "activity ref", "activity no",
             "activity number", "action no", "action number", "action code"),
    "number": ("#", "no", "n°", "nº", "number", "s n", "sn", "sr", "sr no", "serial", "serial no"),
    "title": ("activity", "activities", "activity title", "activity name", "action", "actions", "prioritised action",
              "prioritised actions", "prioritized action", "prioritized actions", "priority action", "priority actions",
              "key activity", "key activities", "planned activity", "planned activities", "task", "tasks",
              "intervention", "interventions", "title", "what"),
    "description": ("description", "details", "detail", "activity details", "activity description", "sub activities",
                    "steps"),
    "objective": ("objective", "objectives", "sector objective", "sector objectives", "strategic objective",
                  "strategic objectives", "specific objective", "specific objectives", "objective code",
                  "objective no", "objective number", "so"),
    "objective_title": ("objective title", "objective name", "objective text"),
    "unit": ("unit", "area", "areas", "key area", "key areas", "key areas of work", "key area of work", "area of work",
             "areas of work", "thematic area", "thematic areas", "pillar", "working group", "task force",
             "workstream", "work stream", "component", "unit key", "area key"),
    "unit_name": ("unit name", "area name"),
    "lead": ("lead", "leads", "lead agency", "lead agencies", "lead organisation", "lead organization", "responsible",
             "responsible actor", "responsible actors", "responsible agency", "responsible agencies",
             "responsible party", "responsible person", "responsibility", "focal point", "focal person", "who",
             "by whom", "owner", "accountable"),
    "contributors": ("contributors", "contributor", "partners", "partner", "contributing members",
                     "contributing agencies", "contributing organisations", "supporting agencies", "support",
                     "supported by", "in collaboration with", "collaborators"),
    "phase": ("phase", "phases", "stage"),
    "schedule": ("timeline", "timelines", "timeframe", "time frame", "when", "schedule", "timing", "quarter",
                 "quarters", "months", "implementation period", "period"),
    "start": ("start", "start date", "from", "begin", "starting date", "date started"),
    "due": ("due", "due date", "end", "end date", "deadline", "by when", "to", "completion date", "target date",
            "finish", "until", "date due"),
    "sectors": ("sector", "sectors", "cluster", "clusters"),
    "countries": ("country", "countries"),
    "cross_cutting": ("cross cutting", "cross cutting issue", "cross cutting issues", "cross cutting theme",
                      "cross cutting themes", "crosscutting", "crosscutting issues", "themes"),
    "type": ("activity type", "type", "type of activity", "activity category", "category"),
    "expected_result": ("expected result", "expected results", "result", "results", "expected output",
                        "expected outputs", "output", "outputs", "deliverable", "deliverables", "expected outcome"),
    "state": ("status", "state", "progress", "progress status", "implementation status", "current status"),
    "notes": ("notes", "note", "remarks", "remark", "comments", "comment", "observations"),
    "checklist": ("checklist", "checklist items"),
    "indicator": ("indicator", "indicators", "kpi", "performance indicator"),
    "baseline": ("baseline", "baseline value"),
    "target": ("target", "targets", "target value"),
    "budget": ("budget", "budget usd", "cost", "estimated budget", "estimated cost", "budget requirement",
               "funding required"),
}  # fmt: skip

_LOOKUP = {synonym: name for name, synonyms in SYNONYMS.items() for synonym in synonyms}

MONTHS = {
    "jan": 1, "january": 1, "janv": 1, "janvier": 1, "enero": 1, "ene": 1,
    "feb": 2, "february": 2, "fev": 2, "fevr": 2, "fevrier": 2, "febrero": 2,
    "mar": 3, "march": 3, "mars": 3, "marzo": 3,
    "apr": 4, "april": 4, "avr": 4, "avril": 4, "abril": 4, "abr": 4,
    "may": 5, "mai": 5, "mayo": 5,
    "jun": 6, "june": 6, "juin": 6, "junio": 6,
    "jul": 7, "july": 7, "juil": 7, "juillet": 7, "julio": 7,
    "aug": 8, "august": 8, "aout": 8, "agosto": 8, "ago": 8,
    "sep": 9, "sept": 9, "september": 9, "septembre": 9, "septiembre": 9,
    "oct": 10, "october": 10, "octobre": 10, "octubre": 10,
    "nov": 11, "november": 11, "novembre": 11, "noviembre": 11,
    "dec": 12, "december": 12, "decembre": 12, "diciembre": 12, "dic": 12,
}  # fmt: skip

_QUARTER = re.compile(r"^(?:q|qtr|quarter)\s*([1-4])(?:\s*(\d{4}))?$|^(\d{4})\s*(?:q|qtr|quarter)\s*([1-4])$")
_MONTH = re.compile(r"^([a-z]+)(?:\s*(\d{4}|\d{2}))?$")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*(\d{1,2})$")


def normalise(text: Any) -> str:
    """Header text as compared: lower case, bracketed remarks dropped, punctuation as spaces."""
    text = str(text if text is not None else "").strip().lower()
    if text in ("#", "n°", "nº"):
        return text
    text = re.sub(r"\([^)]*\)?|\[[^\]]*\]?", " ", text)
    for accented, plain in (("é", "e"), ("è", "e"), ("û", "u"), ("ô", "o"), ("-", " ")):
        text = text.replace(accented, plain)
    text = re.sub(r"[_/.:#?*'’,;!]+", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class When:
    """A schedule token: quarter n or month n (optionally of a year), or a period key or name."""

    kind: str  # "quarter" | "month" | "key"
    number: int = 0
    year: int | None = None
    text: str = ""


def when_of(text: str) -> When | None:
    """Quarter or month named by a header or a timeline token (`Q2`, `Sept.`, `2015-09`)."""
    norm = " ".join(re.sub(r"[._/-]+", " ", text.strip().lower()).split())
    match = _QUARTER.match(norm)
    if match:
        if match.group(1):
            return When("quarter", int(match.group(1)), int(match.group(2)) if match.group(2) else None)
        return When("quarter", int(match.group(4)), int(match.group(3)))
    match = _YEAR_MONTH.match(norm)
    if match and 1 <= int(match.group(2)) <= 12:
        return When("month", int(match.group(2)), int(match.group(1)))
    match = _MONTH.match(norm.replace("é", "e").replace("û", "u"))
    if match and match.group(1) in MONTHS:
        year = match.group(2)
        if year is not None and len(year) == 2:
            year = "20" + year
        return When("month", MONTHS[match.group(1)], int(year) if year else None)
    return None


@dataclass
class Columns:
    """Where each field is: column index per field, schedule columns, and what was ignored."""

    header_row: int  # 0-based index into the sheet's rows
    labels: list[str]  # header text per column
    fields: dict[str, int] = field(default_factory=dict)
    schedule: list[tuple[int, When]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def used(self) -> set[int]:
        return set(self.fields.values()) | {c for c, _ in self.schedule}


def map_header(cells: list[Any], row: int, mapping: dict[str, str] | None = None) -> Columns:
    """Map one candidate header row's cells to fields; `mapping` (normalised header -> field
    or `schedule:KEY` or `ignore`) wins over the synonyms."""
    mapping = mapping or {}
    labels = [_label(c) for c in cells]
    columns = Columns(header_row=row, labels=labels)
    for index, label in enumerate(labels):
        if not label:
            continue
        norm = normalise(label)
        target = mapping.get(norm) or mapping.get(label.strip().lower())
        if target == "ignore":
            continue
        if target and target.startswith("schedule:"):
            columns.schedule.append((index, When("key", text=target.partition(":")[2])))
            continue
        name = target or _LOOKUP.get(norm)
        if name is None:
            when = when_of(label)
            if when is not None:
                columns.schedule.append((index, when))
            else:
                columns.ignored.append(label)
            continue
        if name in columns.fields:
            columns.duplicates.append(f"{label!r} (also {name}; the first such column is used)")
            continue
        columns.fields[name] = index
    return columns


def find_header(
    rows: list[list[Any]], mapping: dict[str, str] | None = None, header_row: int | None = None, scan: int = 50
) -> Columns | None:
    """The first row, among the first `scan`, that names an activity column and at least one
    other known column (or is the row the mapping names)."""
    if header_row is not None:
        return map_header(rows[header_row], header_row, mapping) if header_row < len(rows) else None
    for index, cells in enumerate(rows[:scan]):
        filled = [c for c in cells if _label(c)]
        if not filled:
            continue
        columns = map_header(cells, index, mapping)
        known = len(columns.fields) + len(columns.schedule)
        if "title" in columns.fields and (known >= 2 or known == len(filled)):
            return columns
    return None


def _label(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return " ".join(str(cell).split())
