"""Stage 5 of an import: resolve drafts against the plan and build the PlanSpec it loads,
and the statuses it records as dated facts.

Objectives, units and periods are matched to the plan's by code, key or name, and
created when new. Activity codes come from a Code column, from the activity's text
(`1.1:`, `2.`) or are assigned (`<group>.<n>`). Everything is checked here, so a row's
problem is reported at its sheet, row and column; only the activities of good rows go
into the spec.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from cpflow.importers import cells
from cpflow.importers.columns import Columns
from cpflow.importers.context import PlanContext
from cpflow.importers.mapping import Mapping
from cpflow.importers.rows import Draft, ReadRows, error
from cpflow.importers.schedule import When
from cpflow.plans import (
    ChecklistItemSpec,
    ChecklistSpec,
    ObjectiveSpec,
    PeriodSpec,
    PlanSpec,
    UnitSpec,
    format_path,
    semantic_problems,
)

_TEXT_CODE = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){1,4})\.?(?:\s*[:)\]–-]\s*|\s+)(?=\S)|^(\d{1,3})\s*[.:)]\s*(?=\S)")
_NUMBER_ONLY = re.compile(r"^\s*\d+(?:\.\d+)*\s*$")  # "1.10" is a title that is a number, not code 1 + "10"
_OBJECTIVE_PREFIX = re.compile(
    r"^(?:(?:strategic|specific|sector)\s+)?(?:objective|obj\.?|so)\s*(?:no\.?\s*|n°\s*|#\s*)?"
    r"([A-Za-z]?\d+(?:[.-]\d+)*)\s*(?:[:.)–-]\s*|\s+|$)(.*)$",
    re.I | re.S,
)
_NUMBERED = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\s*(?:[.:)–-]\s*|\s+)(\S.*)$", re.S)
_CODE_ONLY = re.compile(r"^[A-Za-z]{0,6}[-_]?\d+(?:[.-]\d+)*$")
_SEVERAL = re.compile(r"^(\d+(?:\.\d+)*)(?:\s*(?:,|&|/|\band\b)\s*\d+(?:\.\d+)*)+$", re.I)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d|21\d\d)\b")
UNDATED = (
    "quarters (Q1, Q2/Q3, All quarters), months (Sept-Nov, 2015-09), a year or a period of the plan "
    "(or Start and Due dates on the row)"
)
_CHECK_ITEM = re.compile(r"^([\w.\-]+)\s*:\s*(\S.*)$", re.S)


@dataclass(frozen=True)
class Status:
    """A row's status, to be recorded as an `imported status` fact dated `at`."""

    code: str
    state: str
    word: str  # the cell as written
    row: int
    at: dt.date
    reason: str | None  # the row's Comments/Notes cell, for a drop


@dataclass
class Built:
    spec: PlanSpec | None
    included: list[Draft]
    rejected: list[Draft]
    notes: list[str] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    status_dates: dict[str, int] = field(default_factory=dict)  # how each status was dated -> rows


class Builder:
    """One import's resolution: call `build(drafts)`."""

    def __init__(
        self,
        ctx: PlanContext,
        sheet: str,
        columns: Columns,
        mapping: Mapping,
        read: ReadRows,
        *,
        title: str,
        source: str,
        preamble: list[str],
        today: dt.date,
        status_date: dt.date | None = None,
        dropped: tuple[str, ...] = ("dropped",),
    ):
        self.ctx, self.sheet, self.columns, self.mapping, self.read = ctx, sheet, columns, mapping, read
        self.title, self.source, self.preamble, self.today = title, source, preamble, today
        self.status_date, self.dropped = status_date, dropped
        self._periods_cache: dict[tuple, tuple[str | None, str | None]] = {}
        self.notes: list[str] = []
        self.periods: dict[str, PeriodSpec] = dict(ctx.periods)
        self.undated: dict[str, str] = {}  # key -> name of periods to date from their activities
        self.undated_kind: dict[str, str] = {}
        self.units: dict[str, UnitSpec] = dict(ctx.units)
        self.objectives: dict[str, ObjectiveSpec] = dict(ctx.objectives)
        # Folded title or name -> the first objective or unit that has it, and the lowest
        # objective number not taken: a row finds its group in one look-up, not a scan.
        self._objective_titled: dict[str, str] = {}
        for objective in self.objectives.values():
            self._objective_titled.setdefault(objective.title.casefold(), objective.code)
        self._unit_named: dict[str, str] = {}
        for unit in self.units.values():
            self._unit_named.setdefault(unit.name.casefold(), unit.key)
        self._free_number = 1
        self.checklists: dict[str, ChecklistSpec] = {k: c.model_copy(deep=True) for k, c in ctx.checklists.items()}
        self.items = {item.code for c in ctx.checklists.values() for item in c.items}
        for period in mapping.periods:
            self.periods.setdefault(period.key, period)
        self.year = self._base_year()
        self.column_periods: dict[int, str] = {}

    # --- the whole build ----------------------------------------------------------------

    def build(self) -> Built:
        drafts = self.read.drafts
        self._schedule_columns()
        resolved = [self._resolve(d) if not d.errors else {} for d in drafts]
        self._codes(drafts, resolved)
        start, end = self._plan_range(drafts)
        self._date_undated(drafts, resolved, start, end)
        for d in drafts:
            if not d.errors:
                self._check_dates(d, start, end)
        spec = None
        for _ in range(3):  # a problem only the whole spec shows rejects its row; then rebuild once more
            spec, late = self._spec([(d, r) for d, r in zip(drafts, resolved) if not d.errors], start, end)
            if not late:
                break
        included = [d for d in drafts if not d.errors]
        built = Built(spec, included, [d for d in drafts if d.errors], self.notes)
        if spec is not None:
            self._statuses(drafts, resolved, start, end, built)
        return built

    # --- years and periods ------------------------------------------------------------

    def _base_year(self) -> int:
        """The year of quarters and months that name none: the mapping's, the earliest the
        sheet states (headers, timeline cells, dates), the plan's start, a title row's."""
        if self.mapping.year:
            return self.mapping.year
        years = [w.year for _, w in self.columns.schedule if w.year]
        for d in self.read.drafts:
            years.extend(v.year for k, v in d.values.items() if k in ("start", "due") and v)
            years.extend(w.year for w in d.values.get("schedule", ()) if w.year)
        if years:
            return min(years)
        if self.ctx.exists:
            return self.ctx.meta.start.year
        if self.mapping.plan.start:
            return self.mapping.plan.start.year
        if self.status_date:  # the statuses held then, so the work is of that year
            return self.status_date.year
        for line in (*self.preamble, self.sheet):
            match = _YEAR.search(line)
            if match:
                return int(match.group(1))
        self.notes.append(
            f"no year or date in the file: read as {self.today.year} (give `year:` or plan start and end in a mapping file)"
        )
        return self.today.year

    def _schedule_columns(self) -> None:
        """Each quarter or month column's period; months without a year follow on (Sept … Feb)."""
        year, previous = self.year, None
        for col, when in self.columns.schedule:
            if when.kind == "month" and when.year is None:
                if previous is not None and when.number < previous:
                    year += 1
                previous = when.number
                key, problem = self._period(when, fallback_year=year)
            else:
                key, problem = self._period(when)
            if problem:
                label = self.columns.labels[col]
                raise _ColumnProblem(f'sheet "{self.sheet}", column {cells.column_letter(col)} "{label}": {problem}')
            self.column_periods[col] = key

    def _period(self, when: When, fallback_year: int | None = None, phase: bool = False) -> tuple[str | None, str | None]:
        """(key, None) for the plan's period this names (creating it when new), or (None, problem)."""
        key = (when, fallback_year, phase)
        if key not in self._periods_cache:
            self._periods_cache[key] = self._find_period(when, fallback_year, phase)
        return self._periods_cache[key]

    def _find_period(self, when: When, fallback_year: int | None, phase: bool) -> tuple[str | None, str | None]:
        if when.kind == "key":
            return self._named_period(when.text, phase)
        size = 3 if when.kind == "quarter" else 1
        first_month = (when.number - 1) * size + 1
        label = f"Q{when.number}" if when.kind == "quarter" else calendar.month_abbr[when.number]
        if self.ctx.exists:
            found = [p for p in self.periods.values() if p.kind == when.kind and p.start.month == first_month
                     and p.start.day == 1 and (when.year is None or p.start.year == when.year)]  # fmt: skip
            if len(found) == 1:
                return found[0].key, None
            if len(found) > 1:
                preferred = [p for p in found if p.start.year == (fallback_year or self.year)]
                if len(preferred) == 1:
                    return preferred[0].key, None
                years = ", ".join(str(p.start.year) for p in found)
                return None, f"{label} of which year? the plan has it in {years}; write e.g. {label} {found[0].start.year}"
        year = when.year or fallback_year or self.year
        start = dt.date(year, first_month, 1)
        last = first_month + size - 1
        end = dt.date(year, last, calendar.monthrange(year, last)[1])
        if when.kind == "quarter":
            key, name = (f"Q{when.number}" if when.year is None else f"{year}-Q{when.number}"), f"Q{when.number} {year}"
        else:
            key, name = f"{year}-{first_month:02d}", f"{calendar.month_abbr[first_month]} {year}"
        for period in self.periods.values():  # `Q1` and `Q1 2025` in one sheet are one period
            if (period.kind, period.start, period.end) == (when.kind, start, end):
                return period.key, None
        return self._add_period(PeriodSpec(key=key, name=name, kind=when.kind, start=start, end=end))

    def _named_period(self, text: str, phase: bool) -> tuple[str | None, str | None]:
        folded = text.casefold()
        for period in self.periods.values():
            if period.key.casefold() == folded or (period.name or "").casefold() == folded:
                return period.key, None
        if re.fullmatch(r"\d{4}", text):
            year = int(text)
            return self._add_period(
                PeriodSpec(key=text, name=text, kind="year", start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
            )
        key = _slug(text) if " " in text or text != text.lower() else text
        if key not in self.undated:
            self.undated[key] = text
            self.undated_kind[key] = "phase" if phase else "other"
        return key, None

    def _add_period(self, period: PeriodSpec) -> tuple[str | None, str | None]:
        existing = self.periods.get(period.key)
        if existing is not None:
            if (existing.start, existing.end) != (period.start, period.end):
                return (
                    None,
                    f"period {period.key!r} is {existing.start} to {existing.end} in the plan, not {period.start} to {period.end}",
                )
            return period.key, None
        if self.ctx.exists and not (self.ctx.meta.start <= period.start and period.end <= self.ctx.meta.end):
            return None, f"{period.name} is outside the plan ({self.ctx.meta.start} to {self.ctx.meta.end})"
        self.periods[period.key] = period
        return period.key, None

    def _plan_range(self, drafts: list[Draft]) -> tuple[dt.date, dt.date]:
        if self.ctx.exists:
            return self.ctx.meta.start, self.ctx.meta.end
        days = [v for d in drafts if not d.errors for k, v in d.values.items() if k in ("start", "due") and v]
        days.extend(day for p in self.periods.values() for day in (p.start, p.end))
        start = self.mapping.plan.start or (min(days) if days else dt.date(self.year, 1, 1))
        end = self.mapping.plan.end or (max(days) if days else dt.date(self.year, 12, 31))
        return start, max(start, end)

    def _date_undated(self, drafts, resolved, start: dt.date, end: dt.date) -> None:
        """Periods named only by text (a phase, `Year 1`) span the dates of their activities."""
        users_of: dict[str, list[Draft]] = {}
        if self.undated:
            for d, r in zip(drafts, resolved):
                if not d.errors:
                    for key in dict.fromkeys([r.get("phase"), *r.get("schedule", ())]):
                        if key in self.undated:
                            users_of.setdefault(key, []).append(d)
        for key, name in self.undated.items():
            users = users_of.get(key, [])
            starts = [d.values["start"] for d in users if d.values.get("start")]
            dues = [d.values["due"] for d in users if d.values.get("due")]
            if starts or dues:
                first, last = min(starts or dues), max(dues or starts)
            elif self.undated_kind[key] == "phase":
                first, last = start, end
                self.notes.append(f"phase {name!r} has no dates in the file; it spans the whole plan ({start} to {end})")
            else:
                for d in users:
                    d.errors.append(error(self.sheet, d, self.columns, "schedule", name, UNDATED))
                continue
            self.periods[key] = PeriodSpec(key=key, name=name, kind=self.undated_kind[key], start=first, end=max(first, last))

    # --- one row ------------------------------------------------------------------------

    def _resolve(self, d: Draft) -> dict[str, Any]:
        """Objective, unit, phase and schedule of one draft as plan keys; problems go on the draft."""
        out: dict[str, Any] = {}
        v = d.values
        if "objective" in v or "objective_title" in v:
            out["objective"] = self._objective(d, v.get("objective"), v.get("objective_title"))
        if "unit" in v or "unit_name" in v:
            out["unit"] = self._unit(v.get("unit"), v.get("unit_name"))
        if "phase" in v:
            out["phase"] = None
            if v["phase"]:
                key, problem = self._period(When("key", text=v["phase"]), phase=True)
                if problem:
                    d.errors.append(error(self.sheet, d, self.columns, "phase", v["phase"], problem))
                out["phase"] = key
        if "schedule" in v or self.columns.schedule:
            keys = []
            for when in v.get("schedule", []):
                key, problem = self._period(when)
                if problem:
                    d.errors.append(error(self.sheet, d, self.columns, "schedule", when.label(), problem))
                elif key not in keys:
                    keys.append(key)
            for col in d.marks:
                if self.column_periods[col] not in keys:
                    keys.append(self.column_periods[col])
            out["schedule"] = keys
        if "checklist" in v:
            out["checklist"] = self._checklist(d, v["checklist"])
        return out

    def _objective(self, d: Draft, cell: str | None, title: str | None) -> str | None:
        code = None
        if cell and self.columns.fields.get("objective_title") is not None:
            code = cell
        elif cell:
            several = _SEVERAL.match(cell)
            prefixed = _OBJECTIVE_PREFIX.match(cell) or _NUMBERED.match(cell)
            if several:
                code = several.group(1)
                self.notes.append(f"row {d.row}: objective {cell!r}: cpflow links an activity to one objective; used {code}")
            elif _CODE_ONLY.match(cell) and (cell in self.objectives or any(c.isdigit() for c in cell)):
                code = cell
            elif prefixed:
                code, title = prefixed.group(1), prefixed.group(2).strip() or title
            else:
                title = cell
        if code is None and not title:
            return None
        if code is None:
            found = self._objective_titled.get(title.casefold())
            if found is not None:
                return found
            while str(self._free_number) in self.objectives:  # codes are only ever added
                self._free_number += 1
            code = str(self._free_number)
        if code not in self.objectives:
            objective = self.objectives[code] = ObjectiveSpec(code=code, title=title or f"Objective {code}")
            self._objective_titled.setdefault(objective.title.casefold(), code)
        return code

    def _unit(self, cell: str | None, name: str | None) -> str | None:
        if not cell and not name:
            return None
        if cell in self.units:
            return cell
        found = self._unit_named.get((name or cell).casefold())
        if found is not None:
            return found
        key = cell if cell and name else _slug(cell or name)
        base, n = key, 2
        while key in self.units:
            key, n = f"{base}-{n}", n + 1
        unit = self.units[key] = UnitSpec(key=key, name=name or cell, kind="area")
        self._unit_named.setdefault(unit.name.casefold(), key)
        return key

    def _checklist(self, d: Draft, entries: list[str]) -> list[str]:
        codes = []
        for entry in entries:
            match = _CHECK_ITEM.match(entry)
            code, text = (match.group(1), match.group(2).strip()) if match else (entry, None)
            if code not in self.items:
                if not text:
                    d.errors.append(error(self.sheet, d, self.columns, "checklist", entry,
                                          "a checklist item of the plan, or CODE: TEXT for a new one"))  # fmt: skip
                    continue
                key = code.rsplit(".", 1)[0] if "." in code else "checklist"
                checklist = self.checklists.setdefault(key, ChecklistSpec(key=key, title=key))
                checklist.items.append(ChecklistItemSpec(code=code, text=text))
                self.items.add(code)
            codes.append(code)
        return codes

    # --- codes ------------------------------------------------------------------------------

    def _codes(self, drafts: list[Draft], resolved: list[dict]) -> None:
        """Codes from the Code column or the text first, then assigned to the rest."""
        groups = self.read.numbers_are_groups
        first_at: dict[str, int] = {}
        pending: list[tuple[Draft, dict, str | None]] = []
        for d, r in zip(drafts, resolved):
            v = d.values
            parent = v.get("number") if groups else r.get("objective")
            explicit = v.get("code") or (None if groups else v.get("number"))
            code, column = explicit, ("code" if v.get("code") else "number")
            if code is None and v.get("title"):
                match = None if _NUMBER_ONLY.match(v["title"]) else _TEXT_CODE.match(v["title"])
                if match:
                    found = match.group(1) or match.group(2)
                    code = f"{parent}.{found}" if match.group(2) and parent else found
                    v["title"] = v["title"][match.end() :].strip() or v["title"]
                    column = "title"
            if code is None:
                pending.append((d, r, parent))
                continue
            if code in first_at:
                d.errors.append(
                    error(
                        self.sheet,
                        d,
                        self.columns,
                        column,
                        code,
                        f"a code no other row uses ({code} is also row {first_at[code]})",
                    )
                )
                continue
            first_at[code] = d.row
            r["code"] = code
        next_free: dict[str, int] = {}  # per group, the number to try next: one pass, not a search per row
        for d, r, parent in pending:
            prefix = f"{parent}." if parent else ""
            n = next_free.get(prefix, 1)
            while f"{prefix}{n}" in first_at:
                n += 1
            r["code"] = f"{prefix}{n}"
            next_free[prefix] = n + 1
            first_at[r["code"]] = d.row

    # --- dates ------------------------------------------------------------------------------

    def _check_dates(self, d: Draft, start: dt.date, end: dt.date) -> None:
        for name in ("start", "due"):
            day = d.values.get(name)
            if day and not start <= day <= end:
                d.errors.append(error(self.sheet, d, self.columns, name, day, f"a date inside the plan ({start} to {end})"))
        first, last = d.values.get("start"), d.values.get("due")
        if first and last and last < first:
            d.errors.append(error(self.sheet, d, self.columns, "due", last, f"a due date on or after the start ({first})"))

    # --- statuses ---------------------------------------------------------------------------

    def _statuses(self, drafts: list[Draft], resolved: list[dict], start: dt.date, end: dt.date, built: Built) -> None:
        """Each status cell as a fact to record, dated from the row's status date, a date the
        title rows state, `--status-date`, or today; a drop takes its reason from the notes."""
        stated = next((day for line in self.preamble if (day := cells.stated_date(line))), None)
        col = self.columns.fields.get("state")
        for d, r in zip(drafts, resolved):
            state = d.values.get("state")
            if d.errors or not state or col is None:
                continue
            if d.values.get("status_date"):
                at, how = d.values["status_date"], f'column "{self.columns.label("status_date")}"'
            elif stated:
                at, how = stated, f"the title rows ({stated})"
            elif self.status_date:
                at, how = self.status_date, f"--status-date {self.status_date}"
            else:
                at, how = self.today, f"today, {self.today} (no status date in the sheet; --status-date to give one)"
            where = "status_date" if d.values.get("status_date") else "(the status date)"  # a row-level problem
            word = cells.text(d.cells[col]) if col < len(d.cells) else state
            if at > self.today:
                d.errors.append(error(self.sheet, d, self.columns, where, at, f"a status date not after today ({self.today})"))
            elif at < start:
                d.errors.append(error(self.sheet, d, self.columns, where, at, f"a status date inside the plan (from {start})"))
            reason = d.values.get("notes")
            if state in self.dropped and not reason:
                d.errors.append(error(self.sheet, d, self.columns, "state", word,
                                      "a reason for the cancellation in a Comments, Notes or Remarks cell of the row"))  # fmt: skip
            if d.errors:
                continue
            built.status_dates[how] = built.status_dates.get(how, 0) + 1
            built.statuses.append(Status(r["code"], state, word, d.row, at, reason if state in self.dropped else None))
        if any(d.errors for d in built.included):
            built.included = [d for d in built.included if not d.errors]
            built.rejected = [d for d in drafts if d.errors]
            rows = [(d, r) for d, r in zip(drafts, resolved) if not d.errors]
            built.spec = self._spec(rows, start, end)[0] if rows else None

    # --- the spec ---------------------------------------------------------------------------

    def _activity(self, d: Draft, r: dict) -> dict[str, Any]:
        v = d.values
        out: dict[str, Any] = {"code": r["code"], "title": v["title"]}
        for name in ("description", "lead", "contributors", "sectors", "countries", "cross_cutting",
                     "expected_result", "notes", "start", "due"):  # fmt: skip
            if name in v:
                out[name] = v[name]
        if "type" in v:
            out["type"] = v["type"]
        if "location" in v:
            notes = [n for n in (v.get("notes"), f"Location: {v['location']}" if v["location"] else None) if n]
            out["notes"] = "\n".join(notes) or None
        for name in ("objective", "unit", "phase", "schedule", "checklist"):
            if name in r:
                out[name] = r[name]
        return out

    def _indicator(self, d: Draft, r: dict, activity: dict) -> dict | None:
        name = d.values.get("indicator")
        if not name:
            return None
        out: dict[str, Any] = {"code": f"IND-{r['code']}", "of": f"activity:{r['code']}"}
        extra = []
        baseline, target = d.values.get("baseline"), d.values.get("target")
        if cells.number(baseline) is not None:
            out["baseline"] = {"value": cells.number(baseline)}
        elif cells.text(baseline):
            extra.append(f"baseline: {cells.text(baseline)}")
        period = activity.get("phase") or (activity.get("schedule") or [None])[-1]
        if cells.number(target) is not None and period:
            out["targets"] = [{"period": period, "value": cells.number(target)}]
        elif cells.text(target):
            extra.append(f"target: {cells.text(target)}")
        out["name"] = name + (f" ({'; '.join(extra)})" if extra else "")
        return out

    def _spec(self, rows: list[tuple[Draft, dict]], start: dt.date, end: dt.date) -> tuple[PlanSpec | None, bool]:
        """The spec from good rows; (spec, False), or (None, True) after rejecting rows."""
        activities = [self._activity(d, r) for d, r in rows]
        indicators = [i for (d, r), a in zip(rows, activities) if (i := self._indicator(d, r, a))]
        used_objectives = {a.get("objective") for a in activities}
        used_units = {a.get("unit") for a in activities} | {self.objectives[o].unit for o in used_objectives if o}
        used_periods = {a.get("phase") for a in activities} | {k for a in activities for k in a.get("schedule", ())}
        used_periods |= {t["period"] for i in indicators for t in i.get("targets", ())} | set(self.column_periods.values())
        keep = lambda table, used, old: [x for k, x in table.items() if k in old or k in used]  # noqa: E731
        raw = {
            "plan": self._meta(start, end),
            "periods": keep(self.periods, used_periods | {p.key for p in self.mapping.periods}, self.ctx.periods),
            "units": keep(self.units, used_units, self.ctx.units),
            "objectives": keep(self.objectives, used_objectives, self.ctx.objectives),
            "activities": activities,
            "indicators": indicators,
            "checklists": list(self.checklists.values()),
            "lifecycle": self.ctx.lifecycle,
        }
        try:
            spec = PlanSpec.model_validate(raw)
        except ValidationError as exc:
            problems = [(tuple(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
            return None, self._reject(rows, problems)
        problems = semantic_problems(spec)
        if problems:
            return None, self._reject(rows, problems)
        return spec, False

    def _reject(self, rows: list[tuple[Draft, dict]], problems: list[tuple[tuple, str]]) -> bool:
        """Put each problem on its row; a problem with no row is a plan-level error."""
        for loc, message in problems:
            if len(loc) >= 2 and loc[0] in ("activities", "indicators") and isinstance(loc[1], int) and loc[1] < len(rows):
                d = rows[loc[1]][0]
                name = loc[2] if len(loc) > 2 and isinstance(loc[2], str) else "title"
                name = {"type": "type", "code": "code" if "code" in self.columns.fields else "title"}.get(name, name)
                if loc[0] == "indicators":
                    name = "indicator"
                d.errors.append(error(self.sheet, d, self.columns, name, d.values.get(name), message))
            else:
                raise _ColumnProblem(f"{format_path(loc)}: {message}")
        return True

    def _meta(self, start: dt.date, end: dt.date) -> dict[str, Any]:
        if self.ctx.exists:
            return self.ctx.meta.model_dump()
        defaults = self.mapping.plan.model_dump(exclude_none=True)
        defaults.pop("start", None)
        defaults.pop("end", None)
        meta = {"slug": self.ctx.slug, "title": self.title, "start": start, "end": end, "source": self.source, **defaults}
        meta["title"] = self.title
        if "expected_result" in self.columns.fields:
            meta["records_expected_results"] = True
        return meta


class _ColumnProblem(Exception):
    """A problem with the sheet as a whole (a column, a period), not with one row."""


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:60].strip("-")
    return slug or "unit"
