"""Stages 2 and 3 of an import: locate the header row, then map its columns to fields,
by header and by content.

Header text is compared after normalising (lower case, text in brackets dropped,
punctuation as spaces), against the synonyms below: the column names of the seed plans
and of common cluster work plans. Quarter (`Q1`, `Q3 2021`) and month (`Sept.`,
`Jan 2016`, `2015-09`) columns are schedule columns whose marked cells (`X`) say when an
activity is planned. A mapping file adds what the synonyms cannot know.

Content then corrects what a header alone gets wrong: with no activity header, the
free-text column whose cells differ row by row under a grouping column is the activity
(or, last, an Outputs column); a status header over place names is a location; and the
order of day and month in `15/01/2025` dates is read from the column's own cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cpflow.importers import cells, hxltags
from cpflow.importers.schedule import When, when_of

FIELDS = (
    "code", "number", "title", "description", "objective", "objective_title", "unit", "unit_name", "lead",
    "contributors", "phase", "schedule", "start", "due", "sectors", "countries", "cross_cutting", "type",
    "expected_result", "state", "status_date", "location", "notes", "checklist", "indicator", "baseline", "target",
    "budget",
)  # fmt: skip

SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("code", "activity code", "activity id", "id", "ref", "reference", "activity ref", "activity no",
             "activity number", "action no", "action number", "action code"),
    "number": ("#", "no", "n°", "nº", "number", "s n", "sn", "sr", "sr no", "serial", "serial no"),
    "title": ("activity", "activities", "activity title", "activity name", "action", "actions", "prioritised action",
              "prioritised actions", "prioritized action", "prioritized actions", "priority action", "priority actions",
              "key activity", "key activities", "key action", "key actions", "planned activity", "planned activities",
              "planned action", "planned actions", "task", "tasks", "intervention", "interventions", "title", "what"),
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
             "by whom", "owner", "accountable", "organization", "organisation", "agency", "partner",
             "implementing partner", "implementing agency", "implementing organization", "implementing organisation"),
    "contributors": ("contributors", "contributor", "partners", "contributing members",
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
    "status_date": ("status date", "date of status", "last updated", "last update", "updated", "updated on",
                    "date updated", "date of update", "as of", "as at", "reporting date", "date completed",
                    "completion status date", "status as of", "date reported"),
    "location": ("location", "locations", "admin area", "admin 1", "admin1", "admin 2", "admin2", "district",
                 "districts", "province", "region", "governorate", "county", "site", "sites", "place"),
    "notes": ("notes", "note", "remarks", "remark", "comments", "comment", "observations"),
    "checklist": ("checklist", "checklist items"),
    "indicator": ("indicator", "indicators", "kpi", "performance indicator"),
    "baseline": ("baseline", "baseline value"),
    "target": ("target", "targets", "target value"),
    "budget": ("budget", "budget usd", "cost", "estimated budget", "estimated cost", "budget requirement",
               "funding required"),
}  # fmt: skip

_LOOKUP = {synonym: name for name, synonyms in SYNONYMS.items() for synonym in synonyms}


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


@dataclass
class Columns:
    """Where each field is: column index per field, schedule columns, and what was ignored."""

    header_row: int  # 0-based index into the sheet's rows (a HXL hashtag row, when the sheet has one)
    labels: list[str]  # header text per column
    fields: dict[str, int] = field(default_factory=dict)
    schedule: list[tuple[int, When]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    also: dict[str, list[int]] = field(default_factory=dict)  # field -> the later columns with its header
    date_orders: dict[str, str] = field(default_factory=dict)  # field -> "dmy" | "mdy" for 15/01/2025 dates
    notes: list[str] = field(default_factory=list)  # what the content decided, for the summary
    label_row: int | None = None  # the human header row above a HXL hashtag row
    tagged: bool = False  # HXL-tagged: one record per row, so a blank cell is blank (no fill-down)

    @property
    def first_row(self) -> int:
        """The first header row: what lies above it is the sheet's preamble."""
        return self.header_row if self.label_row is None else self.label_row

    def used(self) -> set[int]:
        return set(self.fields.values()) | {c for c, _ in self.schedule}

    def label(self, name: str) -> str:
        return self.labels[self.fields[name]]


class HeaderProblem(ValueError):
    """The columns cannot be read as the sheet stands (ambiguous dates …); the message says why."""


def map_header(cells_: list[Any], row: int, mapping: dict[str, str] | None = None, tags: list[Any] | None = None) -> Columns:
    """Map one candidate header row's cells to fields; `mapping` (normalised header -> field
    or `schedule:KEY` or `ignore`) wins over the synonyms. With `tags` (a HXL hashtag row),
    a column's tag decides before its header, and a tagged column cpflow does not import is ignored."""
    mapping = mapping or {}
    tags = tags or []
    by_tag = hxltags.tag_fields(tags)
    labels = [_label(c) or (_label(tags[i]) if i < len(tags) else "") for i, c in enumerate(cells_)]
    labels += [_label(t) for t in tags[len(labels) :]]
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
        if not target and index < len(tags) and hxltags.parse(tags[index]) is not None:
            if index not in by_tag:
                columns.ignored.append(label)
                continue
            target = by_tag[index]
        name = target or _LOOKUP.get(norm)
        if name is None:
            when = when_of(label)
            if when is not None:
                columns.schedule.append((index, when))
            else:
                columns.ignored.append(label)
            continue
        if name in columns.fields:
            columns.also.setdefault(name, []).append(index)
            continue
        columns.fields[name] = index
    return columns


def find_header(
    rows: list[list[Any]], mapping: dict[str, str] | None = None, header_row: int | None = None, scan: int = 50
) -> Columns | None:
    """Stage 2: the header row. The first row, among the first `scan`, that names an activity
    column and another known column, or names two known columns and has an activity column
    by content; failing those, the first row naming an activity column at all (`Activity,Foo`).
    With `header_row` (the mapping's), that row. A HXL hashtag row (under the headers, or
    alone) maps the columns by their tags, and the data starts below it."""
    tagged = _hashtag_header(rows, mapping, header_row, scan)
    if tagged is not None:
        return tagged
    if header_row is not None:
        if header_row >= len(rows):
            return None
        columns = map_header(rows[header_row], header_row, mapping)
        if "title" not in columns.fields:
            _title_by_content(columns, rows)
        return columns
    fallback = None
    for index, row in enumerate(rows[:scan]):
        filled = [c for c in row if _label(c)]
        if not filled:
            continue
        columns = map_header(row, index, mapping)
        known = len(columns.fields) + len(columns.schedule)
        if "title" in columns.fields:
            if known >= 2 or known == len(filled):
                return columns
            fallback = fallback or columns
        elif known >= 2 and _title_by_content(columns, rows):
            return columns
    return fallback


def _hashtag_header(rows: list[list[Any]], mapping: dict[str, str] | None, header_row: int | None, scan: int) -> Columns | None:
    """The columns of a sheet with a HXL hashtag row (at or just below `header_row` when given)."""
    if header_row is not None:
        at = next((i for i in (header_row, header_row + 1) if i < len(rows) and hxltags.is_hashtag_row(rows[i])), None)
    else:
        at = hxltags.find_hashtag_row(rows, scan)
    if at is None:
        return None
    above = at - 1 if at > 0 and not hxltags.is_hashtag_row(rows[at - 1]) and any(_label(c) for c in rows[at - 1]) else None
    columns = map_header(rows[above] if above is not None else [], at, mapping, tags=rows[at])
    columns.label_row, columns.tagged = above, True
    if "title" not in columns.fields:
        _title_by_content(columns, rows)
    columns.notes.append(f"row {at + 1} is a HXL hashtag row: columns read by their tags, rows below it as activities")
    return columns


def read_by_content(
    columns: Columns, rows: list[list[Any]], status_words: dict[str, str] | None = None, date_format: str | None = None
) -> Columns:
    """Stage 3 (after the header): what the cells say about their columns. A status header
    whose cells are places is the location (the next status header, if any, is the status);
    the day-month order of each date column; the duplicates that are left, reported."""
    body = rows[columns.header_row + 1 :]
    _status_or_location(columns, body, status_words or {})
    for name in ("start", "due", "status_date"):
        if name in columns.fields and not date_format:
            order = _date_order(columns, name, body)
            if order:
                columns.date_orders[name] = order
    for name, extra in columns.also.items():
        for col in extra:
            columns.duplicates.append(f"{columns.labels[col]!r} (also {name}; the first such column is used)")
    columns.also = {}
    return columns


_SAMPLE = 500
_GROUPING = ("objective", "objective_title", "unit", "unit_name", "type", "phase", "number")


def _column_texts(rows: list[list[Any]], col: int, limit: int | None = _SAMPLE) -> list[str]:
    out = []
    for row in rows if limit is None else rows[:limit]:
        value = cells.text(row[col]) if col < len(row) else None
        if value is not None:
            out.append(value)
    return out


def _title_by_content(columns: Columns, rows: list[list[Any]]) -> bool:
    """No activity header: take the free-text column whose cells differ row by row under a
    grouping column, else an Outputs column (a logframe's), and say so."""
    body = [r for r in rows[columns.header_row + 1 : columns.header_row + 1 + _SAMPLE] if any(cells.text(c) for c in r)]
    if len(body) < 2:
        return False
    used = columns.used() | {c for extra in columns.also.values() for c in extra}
    candidates, grouped = [], any(name in columns.fields for name in _GROUPING)
    for col, label in enumerate(columns.labels):
        if not label or col in used:
            continue
        values = _column_texts(body, col)
        distinct = len(set(values))
        if values and (distinct <= len(values) // 2 or len(values) <= len(body) // 2):
            grouped = True  # repeated values, or a value only on the first row of each group
            continue
        wordy = [v for v in values if not _looks_like_data(v)]
        if distinct >= 0.8 * len(values) and len(wordy) >= 0.8 * len(values):
            candidates.append((sum(map(len, wordy)) / len(wordy), col))
    chosen, how = None, "the activity text"
    if candidates and grouped:
        length, col = max(candidates)
        chosen = col if length >= 12 else None
    outputs = columns.fields.get("expected_result")
    if chosen is None and outputs is not None and normalise(columns.labels[outputs]) in ("output", "outputs"):
        chosen, how = columns.fields.pop("expected_result"), "the activity text (no other column is the activity)"
    if chosen is None:
        return False
    label = columns.labels[chosen]
    if label in columns.ignored:
        columns.ignored.remove(label)
    columns.fields["title"] = chosen
    columns.notes.append(f'reading "{label}" as {how}; --map to change')
    return True


_DATA = re.compile(r"^[\d\s.,:/%$€£+-]*$")


def _looks_like_data(value: str) -> bool:
    return bool(_DATA.match(value)) or value.casefold() in _STATUS_LOOKUP or when_of(value) is not None


_STATUS_LOOKUP = {word for words in cells.STATUS_WORDS.values() for word in words}


def _reads_as_status(value: str, status_words: dict[str, str]) -> bool:
    word = " ".join(value.casefold().replace("_", " ").split()).rstrip(".")
    return word in _STATUS_LOOKUP or word in {k.casefold() for k in status_words}


def _status_or_location(columns: Columns, body: list[list[Any]], status_words: dict[str, str]) -> None:
    """A 3W sheet's `State` (or `Status`) column may hold admin areas: when fewer than half of
    its cells read as a status, it is the location, and a later status header is the status."""
    if "state" not in columns.fields:
        return
    candidates = [columns.fields["state"], *columns.also.get("state", [])]
    verdicts = []
    for col in candidates:
        values = _column_texts(body, col)
        statuses = sum(_reads_as_status(v, status_words) for v in values)
        verdicts.append((col, values, not values or statuses * 2 >= len(values)))
    status = next((col for col, _, ok in verdicts if ok), None)
    places = [(col, values) for col, values, ok in verdicts if not ok]
    if not places:
        return
    columns.also["state"] = [c for c in candidates if c != status and c not in {p for p, _ in places}]
    if status is None:
        del columns.fields["state"]
    else:
        columns.fields["state"] = status
    place, values = places[0]
    if "location" in columns.fields:
        columns.ignored.extend(columns.labels[c] for c, _ in places)
        return
    columns.fields["location"] = place
    columns.ignored.extend(columns.labels[c] for c, _ in places[1:])
    shown = ", ".join(list(dict.fromkeys(values))[:3])
    columns.notes.append(
        f'column "{columns.labels[place]}" holds places ({shown} …), not statuses: read as the location'
        + (f'; the status is "{columns.labels[status]}"' if status is not None else "")
    )


_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def _date_order(columns: Columns, name: str, body: list[list[Any]]) -> str | None:
    """ "dmy" or "mdy" when the column's n/n/yyyy dates read only one way; HeaderProblem when
    some read both ways and none decides; None when the column has no such dates."""
    col = columns.fields[name]
    day_first = month_first = ambiguous = 0
    example = None
    for value in _column_texts(body, col, limit=None):
        match = _SLASHED.match(value)
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 and second <= 12:
            day_first += 1
        elif second > 12 and first <= 12:
            month_first += 1
        elif first != second:
            ambiguous += 1
            example = example or value
    label = columns.labels[col]
    if day_first and month_first:
        raise HeaderProblem(
            f'column {cells.column_letter(col)} "{label}" mixes day-first and month-first dates; '
            f'write them as YYYY-MM-DD, or say which in the mapping file: date_format: "%d/%m/%Y"'
        )
    if day_first or month_first:
        order = "dmy" if day_first else "mdy"
        columns.notes.append(
            f'column "{label}": dates read as {"day/month/year" if day_first else "month/day/year"} '
            f"(a {'day' if day_first else 'month'} comes first where one is above 12)"
        )
        return order
    if ambiguous:
        raise HeaderProblem(
            f'column {cells.column_letter(col)} "{label}": {example} may be day/month or month/day and no date decides; '
            f'say which in the mapping file: date_format: "%d/%m/%Y" (or "%m/%d/%Y")'
        )
    return None


def _label(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return " ".join(str(cell).split())


class HeaderNotFound(ValueError):
    """No sheet has a header row cpflow can read; the message says what it saw."""


def locate(sheets: list, mapping: dict[str, str], header_row: int | None, source: str) -> tuple[Any, Columns]:
    """Stage 2: the first sheet with a header row that has an activity column (by header or
    by content), and that row's columns. HeaderNotFound says what was seen instead."""
    for sheet in sheets:
        columns = find_header(sheet.rows, mapping, header_row)
        if columns is not None and "title" in columns.fields:
            return sheet, columns
    raise HeaderNotFound(_no_header(sheets, mapping, header_row, source))


def _no_header(sheets: list, mapping: dict[str, str], header_row: int | None, source: str) -> str:
    """Why no header row was found: the nearest candidate, every header it has, and what it lacks."""
    hint = 'if it has another name, map it in a mapping file: columns: {"Your header": title}'
    names = ", ".join(s.title() for s in SYNONYMS["title"][:6])
    for sheet in sheets:
        rows = [header_row] if header_row is not None else range(min(50, len(sheet.rows)))
        for index in rows:
            if index >= len(sheet.rows):
                return f'{source}: sheet "{sheet.name}" has no row {index + 1}'
            columns = map_header(sheet.rows[index], index, mapping)
            known = len(columns.fields) + len(columns.schedule) + sum(map(len, columns.also.values()))
            if known >= 2 or header_row is not None:
                seen = ", ".join(repr(label) for label in columns.labels if label) or "no headers"
                return (f'{source}: sheet "{sheet.name}" row {index + 1} has the headers {seen} but no Activity column, '
                        f"and no column reads as the activity text (the required column: {names} …); {hint}")  # fmt: skip
    where = ", ".join(f'"{s.name}"' for s in sheets) or "(no sheets)"
    if all(not any(cells.text(c) for row in s.rows for c in row) for s in sheets):
        return f"{source}: sheet {where} is empty"
    return f"{source}: no header row in sheet {where}: none of the first 50 rows names an Activity column ({names} …); {hint}"
