"""Validation of plan files: read, check the schema, then what a schema cannot say
(cross-references, uniqueness, ranges, storage limits), and report every problem at once
as `FILE:LINE: PATH: what was expected`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cpflow.errors import BadInput, PlanFileError
from cpflow.lifecycle import definition_problems, lifecycle_for
from cpflow.plans.schema import SECTIONS, PlanSpec
from cpflow.plans.values import MAX_AMOUNT, MAX_STATE, NUL_IN_TEXT, kind, short
from cpflow.plans.yamlread import compose_nodes, line_of, read_yaml

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")

Problem = tuple[tuple, str]
# Spreadsheets are imported, not loaded: by name, or by content (xlsx/ods are zip files,
# xls an OLE2 compound file), so a workbook saved as plan.yaml gets the same hint.
SHEET_SUFFIXES = {".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
SHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
_SHEET_HINT = "{source}: is a spreadsheet; `cpflow load` reads YAML plan files: use `cpflow import {source}`"
# A check run after the built-in ones (the load path adds the rules' settings check).
Check = Callable[[PlanSpec], list[Problem]]


@dataclass
class LoadedPlan:
    """A validated plan file and where it came from."""

    spec: PlanSpec
    source: str
    sha256: str


# --- validation ------------------------------------------------------------------------


def read_plan_file(path: str | Path, *, checks: Sequence[Check] = ()) -> LoadedPlan:
    """Read and fully validate a plan file; PlanFileError lists every problem. `checks`
    run after the built-in ones on a file whose schema is valid."""
    path = Path(path)
    source = str(path)
    if path.suffix.lower() in SHEET_SUFFIXES:
        raise BadInput(_SHEET_HINT.format(source=source))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(source, [f"{source}: no such file"]) from None
    except IsADirectoryError:
        raise PlanFileError(source, [f"{source}: is a directory, not a plan file"]) from None
    except OSError as exc:
        raise PlanFileError(source, [f"{source}: cannot read: {exc.strerror}"]) from None
    if data.startswith(SHEET_MAGIC):
        raise BadInput(_SHEET_HINT.format(source=source))
    return parse_plan(data, source, checks=checks)


def parse_plan(data: bytes, source: str, *, checks: Sequence[Check] = ()) -> LoadedPlan:
    raw = read_yaml(data, source)
    problems: list[Problem] = []
    if raw is None:
        raise PlanFileError(source, [f"{source}: the file is empty; a plan needs at least a `plan:` section"])
    if not isinstance(raw, dict):
        raise PlanFileError(source, [f"{source}:1: expected a mapping of sections (plan, objectives, …), got {kind(raw)}"])
    for key in raw:
        if key not in SECTIONS:
            problems.append(((key,), f"unknown section; sections are {', '.join(SECTIONS)}"))
    if "plan" not in raw:
        problems.append(((), "missing the required `plan:` section"))
    problems.extend(_unstorable(raw, ()))
    if not problems:
        try:
            spec = PlanSpec.model_validate(raw)
        except ValidationError as exc:
            structural = _pydantic_problems(exc)
            problems.extend(structural)
            problems.extend(_problems_beyond(raw, structural))
        else:
            problems.extend(semantic_problems(spec))
            for check in checks:
                problems.extend(check(spec))
    if problems:
        raise PlanFileError(source, _locate(problems, data, source))
    return LoadedPlan(spec=spec, source=source, sha256=hashlib.sha256(data).hexdigest())


def _problems_beyond(raw: dict, structural: list[Problem]) -> list[Problem]:
    """Cross-reference problems elsewhere in a file that also has malformed values, so one
    bad date does not hide an unknown state three activities down: the malformed fields
    are set aside (a bad list element sets aside its whole list) and the rest is checked.
    """
    pruned = copy.deepcopy(raw)
    for loc, _ in structural:
        while loc and isinstance(loc[-1], int):
            loc = loc[:-1]
        parent = _at(pruned, loc[:-1]) if loc else None
        if isinstance(parent, dict):
            parent.pop(loc[-1], None)
    try:
        spec = PlanSpec.model_validate(pruned)
    except ValidationError:
        return []  # a required field is malformed: the structural problems say enough
    return semantic_problems(spec)


def _at(value: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _unstorable(value: Any, loc: tuple) -> list[Problem]:
    """Values no column or JSON field can hold faithfully, wherever they are (free-form
    sections such as `about` and rule config included)."""
    if isinstance(value, str):
        return [(loc, NUL_IN_TEXT)] if "\x00" in value else []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [(loc, f"expected a finite number, got {value!r}")]
    if isinstance(value, (bytes, bytearray)):
        return [(loc, "binary data (!!binary) is not allowed in plan files")]
    if isinstance(value, (set, frozenset)):
        return [(loc, "a set (!!set) is not allowed in plan files; write a list")]
    problems = []
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, (str, bytes)):
                problems.extend(_unstorable(key, loc + (key,)))
            problems.extend(_unstorable(child, loc + (key,)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            problems.extend(_unstorable(child, loc + (i,)))
    return problems


def _pydantic_problems(exc: ValidationError) -> list[Problem]:
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        out.append((loc, _message(error)))
    return out


def _message(error: dict) -> str:
    """One pydantic error as a sentence that names what was expected."""
    err, given, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if err == "extra_forbidden":
        return "unknown field"
    if err == "missing":
        return "required field is missing"
    if err == "value_error":
        return str(ctx["error"])
    if err in ("list_type", "tuple_type"):
        return f"expected a list, got {kind(given)}"
    if err in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {kind(given)}"
    if err in ("literal_error", "enum"):
        return f"expected {ctx['expected']}, got {short(given)}"
    if err == "string_type":
        return f"expected text, got {kind(given)}"
    if err == "int_type":
        return f"expected a whole number, got {kind(given)}"
    if err == "bool_type":
        return f"expected true or false, got {short(given)}"
    if err in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{error['msg'].removeprefix('Input should be ').replace('greater', 'expected a number greater').replace('less', 'expected a number less')}, got {short(given)}"
    if err == "too_short":
        return "expected at least one item, got none"
    if err == "string_too_short":
        return "expected a non-empty name"
    return error["msg"]


def semantic_problems(spec: PlanSpec) -> list[Problem]:
    """Cross-references, uniqueness and ranges: what a schema cannot say. Each section's
    checks are one method of `_Semantics`, run in file order; later sections refer to the
    keys the earlier ones collected."""
    check = _Semantics(spec)
    for step in (check.plan, check.periods, check.keys, check.objectives, check.lifecycle, check.activities,
                 check.indicators, check.budgets):  # fmt: skip
        step()
    _organisation_problems(spec, check.add)
    check.problems.extend(_money_totals(spec))
    return check.problems


class _Semantics:
    """The problems found so far and the keys each section declares."""

    def __init__(self, spec: PlanSpec):
        self.spec = spec
        self.problems: list[Problem] = []
        self.period_keys: dict[str, Any] = {}
        self.unit_keys: dict[str, Any] = {}
        self.outcome_keys: dict[str, Any] = {}
        self.objective_codes: dict[str, Any] = {}
        self.items: dict[str, Any] = {}
        self.activity_paths: dict[str, str] = {}
        self.states: tuple[str, ...] = ()

    def add(self, loc: tuple, message: str) -> None:
        self.problems.append((loc, message))

    def ref(self, loc: tuple, value: str | None, known: dict, what: str) -> None:
        if value is not None and value not in known:
            hint = f"; known: {', '.join(list(known)[:12])}" if known else f"; the plan declares no {what}s"
            self.add(loc, f"unknown {what} {value!r}{hint}")

    def in_plan(self, loc: tuple, day: dt.date | None) -> None:
        meta = self.spec.plan
        if day is not None and not meta.start <= day <= meta.end:
            self.add(loc, f"{day} is outside the plan ({meta.start} to {meta.end})")

    def plan(self) -> None:
        meta = self.spec.plan
        if not SLUG.match(meta.slug):
            self.add(("plan", "slug"), f"expected lower-case letters, digits and '-', got {meta.slug!r}")
        if not re.fullmatch(r"[A-Z]{3}", meta.currency):
            self.add(("plan", "currency"), f"expected an ISO 4217 code such as USD, got {meta.currency!r}")
        if meta.start > meta.end:
            self.add(("plan", "end"), f"the plan ends ({meta.end}) before it starts ({meta.start})")

    def periods(self) -> None:
        self.period_keys = _unique(self.spec.periods, "key", ("periods",), "period key", self.add)
        for i, period in enumerate(self.spec.periods):
            if period.start > period.end:
                self.add(("periods", i, "end"), f"the period ends ({period.end}) before it starts ({period.start})")
            self.in_plan(("periods", i, "start"), period.start)
            self.in_plan(("periods", i, "end"), period.end)

    def keys(self) -> None:
        """Units, outcomes, objectives and checklist items: each key once."""
        spec = self.spec
        self.unit_keys = _unique(spec.units, "key", ("units",), "unit key", self.add)
        self.outcome_keys = _unique(spec.outcomes, "key", ("outcomes",), "outcome key", self.add)
        self.objective_codes = _unique(spec.objectives, "code", ("objectives",), "objective code", self.add)
        for c, checklist in enumerate(spec.checklists):
            for k, item in enumerate(checklist.items):
                if item.code in self.items:
                    self.add(("checklists", c, "items", k, "code"), f"duplicate checklist item code {item.code!r}")
                self.items[item.code] = item
        _unique(spec.checklists, "key", ("checklists",), "checklist key", self.add)

    def objectives(self) -> None:
        for i, objective in enumerate(self.spec.objectives):
            self.ref(("objectives", i, "outcome"), objective.outcome, self.outcome_keys, "outcome")
            self.ref(("objectives", i, "unit"), objective.unit, self.unit_keys, "unit")
            for t, target in enumerate(objective.targets):
                self.ref(("objectives", i, "targets", t, "period"), target.period, self.period_keys, "period")

    def lifecycle(self) -> None:
        """The plan's own lifecycle (typed by the schema) must make sense; its states are
        what activities' `state:` may name."""
        definition = self.spec.lifecycle
        errors = definition_problems(definition) if definition is not None else []
        if definition is not None and not errors:
            names = [*definition["states"], *(t["trigger"] for t in definition["transitions"])]
            errors = [
                f"the state or trigger {name[:20]!r}… has {len(name)} characters; names are at most {MAX_STATE}"
                for name in names if len(name) > MAX_STATE
            ]  # fmt: skip
        for message in errors:
            self.add(("lifecycle",), message)
        self.states = lifecycle_for(definition).states if not errors else ()

    def activities(self) -> None:
        seen = self.activity_paths
        objectives, units, periods, items = self.objective_codes, self.unit_keys, self.period_keys, self.items
        meta = self.spec.plan
        for path, activity in self.spec.all_activities():
            start, due = activity.start, activity.due
            if (  # the usual activity, checked in one expression; one with a problem is checked below, in full
                activity.code not in seen
                and (activity.objective is None or activity.objective in objectives)
                and all(code in objectives for code in activity.objectives)
                and (activity.unit is None or activity.unit in units)
                and (activity.phase is None or activity.phase in periods)
                and all(key in periods for key in activity.schedule)
                and all(code in items for code in activity.checklist)
                and (activity.state is None or not self.states or activity.state in self.states)
                and (start is None or meta.start <= start <= meta.end)
                and (due is None or meta.start <= due <= meta.end)
                and not (start and due and due < start)
            ):
                seen[activity.code] = path
                continue
            loc = _path_to_loc(path)
            if activity.code in seen:
                self.add(loc + ("code",), f"duplicate activity code {activity.code!r} (first at {seen[activity.code]})")
            else:
                seen[activity.code] = path
            self.ref(loc + ("objective",), activity.objective, self.objective_codes, "objective")
            for o, code in enumerate(activity.objectives):
                self.ref(loc + ("objectives", o), code, self.objective_codes, "objective")
            self.ref(loc + ("unit",), activity.unit, self.unit_keys, "unit")
            self.ref(loc + ("phase",), activity.phase, self.period_keys, "period")
            for s, key in enumerate(activity.schedule):
                self.ref(loc + ("schedule", s), key, self.period_keys, "period")
            for s, code in enumerate(activity.checklist):
                self.ref(loc + ("checklist", s), code, self.items, "checklist item")
            if activity.state is not None and self.states and activity.state not in self.states:
                self.add(loc + ("state",), f"unknown state {activity.state!r}; states are {', '.join(self.states)}")
            self.in_plan(loc + ("start",), activity.start)
            self.in_plan(loc + ("due",), activity.due)
            if activity.start and activity.due and activity.due < activity.start:
                self.add(loc + ("due",), f"due {activity.due} is before start {activity.start}")

    def indicators(self) -> None:
        _unique(self.spec.indicators, "code", ("indicators",), "indicator code", self.add)
        for i, indicator in enumerate(self.spec.indicators):
            target_kind, _, key = indicator.of.partition(":")
            known = {"outcome": self.outcome_keys, "objective": self.objective_codes, "activity": self.activity_paths}.get(
                target_kind
            )
            if indicator.of != "plan" and (known is None or not key):
                self.add(
                    ("indicators", i, "of"), f"expected plan, outcome:KEY, objective:CODE or activity:CODE, got {indicator.of!r}"
                )
            elif known is not None:
                self.ref(("indicators", i, "of"), key, known, target_kind)
            for t, target in enumerate(indicator.targets):
                self.ref(("indicators", i, "targets", t, "period"), target.period, self.period_keys, "period")

    def budgets(self) -> None:
        lines: dict[tuple[str, str], int] = {}
        for i, line in enumerate(self.spec.budgets):
            self.ref(("budgets", i, "unit"), line.unit, self.unit_keys, "unit")
            self.ref(("budgets", i, "period"), line.period, self.period_keys, "period")
            if line.currency is not None and not re.fullmatch(r"[A-Z]{3}", line.currency):
                self.add(("budgets", i, "currency"), f"expected an ISO 4217 code such as USD, got {line.currency!r}")
            first = lines.setdefault((line.unit, line.period), i)
            if first != i:
                self.add(
                    ("budgets", i),
                    f"a second budget line for unit {line.unit!r} and period {line.period!r} (first is budgets[{first}])",
                )


IATI_FORBIDDEN = re.compile(r"[/&|?]")  # characters an IATI identifier may not hold (2.03 rulesets)


def _organisation_problems(spec: PlanSpec, add) -> None:
    """Names and acronyms name one organisation each; IATI identifiers avoid / & | ?."""
    names: dict[str, int] = {}
    for i, org in enumerate(spec.organisations):
        for attr in ("name", "acronym"):
            value = getattr(org, attr)
            if value is None:
                continue
            key = value.strip().casefold()
            if key in names and names[key] != i:
                add(("organisations", i, attr), f"{value!r} already names organisations[{names[key]}]")
            names.setdefault(key, i)
        if org.iati_id is not None and (IATI_FORBIDDEN.search(org.iati_id) or not org.iati_id.strip()):
            add(("organisations", i, "iati_id"), f"an IATI identifier may not contain / & | ? or be blank, got {org.iati_id!r}")
    if spec.plan.iati is not None:
        for attr in ("reporting_org", "prefix"):
            value = getattr(spec.plan.iati, attr)
            if value is not None and (IATI_FORBIDDEN.search(value) or not value.strip()):
                add(("plan", "iati", attr), f"an IATI identifier may not contain / & | ? or be blank, got {value!r}")


def _unique(items: Iterable, attr: str, loc: tuple, what: str, add) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in found:
            add(loc + (i, attr), f"duplicate {what} {value!r}")
        else:
            found[value] = item
    return found


def _path_to_loc(path: str) -> tuple:
    loc: list = []
    for name, index in re.findall(r"(\w+)\[(\d+)\]", path):
        loc.extend([name, int(index)])
    return tuple(loc)


def problems_at_paths(messages: Iterable[str]) -> list[Problem]:
    """'rules.config.T103.days: expected …' texts (what checks outside this package
    return) as (loc, message), so they get file and line like every other problem."""
    out = []
    for text in messages:
        path, sep, message = text.partition(": ")
        parts = path.split(".")
        if sep and parts[0].split("[")[0] in SECTIONS and all(_PATH_PART.fullmatch(part) for part in parts):
            loc: list = []
            for part in parts:
                name, *indexes = part.split("[")
                loc.extend([name, *(int(i.rstrip("]")) for i in indexes)])
            out.append((tuple(loc), message))
        else:
            out.append(((), text))
    return out


_PATH_PART = re.compile(r"[^.\[\]\s:]+(\[\d+\])*")


def format_path(loc: tuple) -> str:
    """('objectives', 2, 'activities', 5, 'due') -> 'objectives[2].activities[5].due'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(problems: list[Problem], data: bytes, source: str) -> list[str]:
    """Turn (loc, message) into 'FILE:LINE: PATH: message' lines, in file order."""
    root = compose_nodes(data)
    located = []
    for loc, message in problems:
        line = line_of(root, loc)
        where = f"{source}:{line}" if line else source
        path = format_path(loc)
        located.append((line or 0, f"{where}: {path}: {message}" if path else f"{where}: {message}"))
    located.sort(key=lambda pair: pair[0])
    return [text for _, text in located]


def _money_totals(spec: PlanSpec) -> list[Problem]:
    """Each amount fits storage (the schema checks that); a plan's totals, which reports
    add up in the same 64-bit minor units, must fit too."""
    problems = []
    for field in ("budget", "received", "declared_gap"):
        total = sum((getattr(line, field) or 0 for line in spec.budgets), start=0)
        if total > MAX_AMOUNT:
            problems.append(
                (
                    ("budgets",),
                    f"the {field.replace('_', ' ')} amounts add up to {total:,}; a plan's total is at most {MAX_AMOUNT:,}",
                )
            )
    return problems
