"""Read and validate plan files (the format is documented in docs/workflow-format.md).

Reading is strict and total: the whole file is checked before anything is written, and
every problem is reported at once as `FILE:LINE: PATH: what was expected`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from cpflow.dates import parse_date
from cpflow.errors import PlanFileError
from cpflow.lifecycle import ROLES, definition_problems, lifecycle_for
from cpflow.money import parse_amount

MAX_FILE_BYTES = 16 * 1024 * 1024
# Plan files nest a handful of levels; libyaml's composer recurses in C and crashes the
# process (SIGSEGV) somewhere past 20,000, so depth is checked before composing.
MAX_DEPTH = 64
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
SEVERITIES = ("error", "warning", "info")
MAX_CODE = 100  # codes and keys are VARCHAR(100)
MAX_STATE = 40  # lifecycle states and triggers are VARCHAR(40)


# --- YAML reading -----------------------------------------------------------------


class _PlanLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """safe_load with three changes: dates stay text (so `2023-02-30` gets a clear message
    from validation instead of a crash in the parser), aliases are refused (an alias
    bomb expands exponentially; plan files never need them), and so is a key repeated in
    one mapping (YAML would silently keep the last value)."""

    def construct_object(self, node, deep=False):
        if node in self.constructed_objects:
            mark = node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed in plan files: write the value out", mark
            )
        return super().construct_object(node, deep)

    def construct_mapping(self, node, deep=False):
        seen: dict[tuple, int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if (key.tag, key.value) in seen:
                    first = seen[(key.tag, key.value)] + 1
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key.value!r} appears twice in one mapping (first on line {first})", key.start_mark
                    )
                seen[(key.tag, key.value)] = key.start_mark.line
        return super().construct_mapping(node, deep)


def _timestamp_as_text(loader, node):
    return loader.construct_scalar(node)


_PlanLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _NodeLoader(yaml.SafeLoader):
    """Composes the node tree only, to find the line of a path after validation failed."""


def read_yaml(data: bytes, source: str) -> Any:
    """Parse bytes of YAML under cpflow's limits; PlanFileError on anything malformed."""
    if len(data) > MAX_FILE_BYTES:
        raise PlanFileError(source, [f"{source}: file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}"])
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanFileError(source, [f"{source}: not UTF-8 text (invalid byte at offset {exc.start})"]) from None
    try:
        _check_depth(content, source)
        return yaml.load(content, Loader=_PlanLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise PlanFileError(source, [f"{source}{line}: invalid YAML: {exc.problem or exc.context}"]) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise PlanFileError(source, [f"{source}: invalid YAML: {type(exc).__name__}: {exc}"[:500]]) from None


def _check_depth(content: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, reading parser events only (the parser keeps
    its own stack, so unlike composing this cannot overflow the C stack)."""
    loader = _PlanLoader(content)
    depth = 0
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, starts):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1
                    raise PlanFileError(
                        source, [f"{source}:{line}: nested more than {MAX_DEPTH} levels deep; plan files need far fewer"]
                    )
            elif isinstance(event, ends):
                depth -= 1
    finally:
        loader.dispose()


# --- field types --------------------------------------------------------------------


def _code(value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f'expected a code in quotes, got the number {value!r} (write "{value}": unquoted, 1.10 reads as 1.1)')
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and value.strip():
        code = _storable(value.strip())
        if len(code) > MAX_CODE:
            raise ValueError(f"expected a code of at most {MAX_CODE} characters, got {len(code)}")
        return code
    raise ValueError(f"expected a non-empty code, got {value!r}")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {_kind(value)}")


# PostgreSQL text cannot hold NUL; refusing it everywhere keeps SQLite plans portable.
NUL_IN_TEXT = "text contains a NUL character (\\0), which cannot be stored"


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError(NUL_IN_TEXT)
    return text


def _money(value: Any) -> Decimal:
    return parse_amount(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), f"{value!r}")


IsoDate = Annotated[dt.date, BeforeValidator(parse_date)]
Code = Annotated[str, BeforeValidator(_code)]
Text = Annotated[str, BeforeValidator(_text)]
Money = Annotated[Decimal, BeforeValidator(_money)]
Number = Annotated[float, BeforeValidator(_number)]
Texts = list[Text]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class PlanMeta(_Strict):
    slug: str
    title: Text
    owner: Text | None = None
    framework: Text | None = None
    currency: str = "USD"
    start: IsoDate
    end: IsoDate
    description: Text | None = None
    source: Text | None = None
    about: dict[str, Any] = Field(default_factory=dict)
    sectors: Texts = Field(default_factory=list)
    countries: Texts = Field(default_factory=list)
    cross_cutting: Texts = Field(default_factory=list)
    records_expected_results: bool = False


class PeriodSpec(_Strict):
    key: Code
    name: Text | None = None
    kind: Literal["phase", "year", "quarter", "month", "other"] = "other"
    start: IsoDate
    end: IsoDate


class UnitSpec(_Strict):
    key: Code
    name: Text
    kind: Literal["secretariat", "working_group", "task_force", "area", "other"] = "other"
    outcome: Text | None = None
    leads: Texts = Field(default_factory=list)
    members: Texts = Field(default_factory=list)


class OutcomeSpec(_Strict):
    key: Code
    title: Text
    description: Text | None = None


class TargetText(_Strict):
    period: Code
    text: Text


class ActivitySpec(_Strict):
    code: Code
    title: Text
    description: Text | None = None
    objective: Code | None = None
    unit: Code | None = None
    lead: Text | None = None
    contributors: Texts = Field(default_factory=list)
    phase: Code | None = None
    schedule: list[Code] = Field(default_factory=list)
    start: IsoDate | None = None
    due: IsoDate | None = None
    sectors: Texts = Field(default_factory=list)
    countries: Texts = Field(default_factory=list)
    cross_cutting: Texts = Field(default_factory=list)
    type: Text | None = None
    expected_result: Text | None = None
    state: str | None = None
    checklist: list[Code] = Field(default_factory=list)
    notes: Text | None = None


class ObjectiveSpec(_Strict):
    code: Code
    title: Text
    description: Text | None = None
    outcome: Code | None = None
    unit: Code | None = None
    targets: list[TargetText] = Field(default_factory=list)
    expected_results: Texts = Field(default_factory=list)
    activities: list[ActivitySpec] = Field(default_factory=list)


class Baseline(_Strict):
    value: Number
    date: IsoDate | None = None


class IndicatorTarget(_Strict):
    period: Code
    value: Number


class IndicatorSpec(_Strict):
    code: Code
    name: Text
    measure: Text | None = None
    direction: Literal["increase", "decrease"] = "increase"
    of: str = "plan"
    baseline: Baseline | None = None
    targets: list[IndicatorTarget] = Field(default_factory=list)


class BudgetSpec(_Strict):
    unit: Code
    period: Code
    currency: str | None = None
    budget: Money | None = None
    received: Money | None = None
    declared_gap: Money | None = None


class ChecklistItemSpec(_Strict):
    code: Code
    category: Text | None = None
    text: Text


class ChecklistSpec(_Strict):
    key: Code
    title: Text
    items: list[ChecklistItemSpec] = Field(default_factory=list)


class PersonSpec(_Strict):
    name: Text
    roles: list[Literal["lead", "co-lead", "member", "reviewer"]] = Field(default_factory=list)


class RulesSpec(_Strict):
    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    severity: dict[str, Literal["error", "warning", "info"]] = Field(default_factory=dict)
    config: dict[str, dict[str, Any]] = Field(default_factory=dict)


SECTIONS: dict[str, Any] = {
    "format": Literal[1],
    "plan": PlanMeta,
    "periods": list[PeriodSpec],
    "units": list[UnitSpec],
    "outcomes": list[OutcomeSpec],
    "objectives": list[ObjectiveSpec],
    "activities": list[ActivitySpec],
    "indicators": list[IndicatorSpec],
    "budgets": list[BudgetSpec],
    "checklists": list[ChecklistSpec],
    "people": list[PersonSpec],
    "rules": RulesSpec,
    "lifecycle": dict[str, Any],
}


class PlanSpec(_Strict):
    """A whole plan file, validated. `all_activities()` flattens nesting."""

    format: Literal[1] = 1
    plan: PlanMeta
    periods: list[PeriodSpec] = Field(default_factory=list)
    units: list[UnitSpec] = Field(default_factory=list)
    outcomes: list[OutcomeSpec] = Field(default_factory=list)
    objectives: list[ObjectiveSpec] = Field(default_factory=list)
    activities: list[ActivitySpec] = Field(default_factory=list)
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    budgets: list[BudgetSpec] = Field(default_factory=list)
    checklists: list[ChecklistSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    lifecycle: dict[str, Any] | None = None

    def all_activities(self) -> list[tuple[str, ActivitySpec]]:
        """(path, activity) for nested then top-level activities, objective filled in."""
        out = []
        for i, objective in enumerate(self.objectives):
            for j, activity in enumerate(objective.activities):
                if activity.objective is None:
                    activity.objective = objective.code
                out.append((f"objectives[{i}].activities[{j}]", activity))
        out.extend((f"activities[{k}]", activity) for k, activity in enumerate(self.activities))
        return out


@dataclass
class LoadedPlan:
    """A validated plan file and where it came from."""

    spec: PlanSpec
    source: str
    sha256: str


# --- validation ------------------------------------------------------------------------


def read_plan_file(path: str | Path) -> LoadedPlan:
    """Read and fully validate a plan file; PlanFileError lists every problem."""
    path = Path(path)
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(source, [f"{source}: no such file"]) from None
    except IsADirectoryError:
        raise PlanFileError(source, [f"{source}: is a directory, not a plan file"]) from None
    except OSError as exc:
        raise PlanFileError(source, [f"{source}: cannot read: {exc.strerror}"]) from None
    return parse_plan(data, source)


def parse_plan(data: bytes, source: str) -> LoadedPlan:
    raw = read_yaml(data, source)
    problems: list[tuple[tuple, str]] = []
    if raw is None:
        raise PlanFileError(source, [f"{source}: the file is empty; a plan needs at least a `plan:` section"])
    if not isinstance(raw, dict):
        raise PlanFileError(source, [f"{source}:1: expected a mapping of sections (plan, objectives, …), got {_kind(raw)}"])
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
    if problems:
        raise PlanFileError(source, _locate(problems, data, source))
    return LoadedPlan(spec=spec, source=source, sha256=hashlib.sha256(data).hexdigest())


def _problems_beyond(raw: dict, structural: list[tuple[tuple, str]]) -> list[tuple[tuple, str]]:
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


def _unstorable(value: Any, loc: tuple) -> list[tuple[tuple, str]]:
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


def _pydantic_problems(exc: ValidationError) -> list[tuple[tuple, str]]:
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "value_error":
            message = str(error["ctx"]["error"])
        elif kind in ("list_type", "tuple_type"):
            message = f"expected a list, got {_kind(error.get('input'))}"
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            message = f"expected a mapping, got {_kind(error.get('input'))}"
        elif kind in ("literal_error", "enum"):
            message = f"expected {error['ctx']['expected']}, got {error.get('input')!r}"
        elif kind == "string_type":
            message = f"expected text, got {_kind(error.get('input'))}"
        elif kind == "bool_type":
            message = f"expected true or false, got {error.get('input')!r}"
        else:
            message = error["msg"]
        out.append((loc, message))
    return out


def semantic_problems(spec: PlanSpec) -> list[tuple[tuple, str]]:
    """Cross-references, uniqueness and ranges: what a schema cannot say."""
    problems: list[tuple[tuple, str]] = []
    add = lambda loc, message: problems.append((loc, message))  # noqa: E731
    meta = spec.plan
    if not SLUG.match(meta.slug):
        add(("plan", "slug"), f"expected lower-case letters, digits and '-', got {meta.slug!r}")
    if not re.fullmatch(r"[A-Z]{3}", meta.currency):
        add(("plan", "currency"), f"expected an ISO 4217 code such as USD, got {meta.currency!r}")
    if meta.start > meta.end:
        add(("plan", "end"), f"the plan ends ({meta.end}) before it starts ({meta.start})")

    def in_plan(loc: tuple, day: dt.date | None) -> None:
        if day is not None and not meta.start <= day <= meta.end:
            add(loc, f"{day} is outside the plan ({meta.start} to {meta.end})")

    periods = _unique(spec.periods, "key", ("periods",), "period key", add)
    for i, period in enumerate(spec.periods):
        if period.start > period.end:
            add(("periods", i, "end"), f"the period ends ({period.end}) before it starts ({period.start})")
        in_plan(("periods", i, "start"), period.start)
        in_plan(("periods", i, "end"), period.end)
    units = _unique(spec.units, "key", ("units",), "unit key", add)
    outcomes = _unique(spec.outcomes, "key", ("outcomes",), "outcome key", add)
    objectives = _unique(spec.objectives, "code", ("objectives",), "objective code", add)
    items: dict[str, Any] = {}
    for c, checklist in enumerate(spec.checklists):
        for k, item in enumerate(checklist.items):
            if item.code in items:
                add(("checklists", c, "items", k, "code"), f"duplicate checklist item code {item.code!r}")
            items[item.code] = item
    _unique(spec.checklists, "key", ("checklists",), "checklist key", add)

    def ref(loc: tuple, value: str | None, known: dict, what: str) -> None:
        if value is not None and value not in known:
            hint = f"; known: {', '.join(list(known)[:12])}" if known else f"; the plan declares no {what}s"
            add(loc, f"unknown {what} {value!r}{hint}")

    for i, objective in enumerate(spec.objectives):
        ref(("objectives", i, "outcome"), objective.outcome, outcomes, "outcome")
        ref(("objectives", i, "unit"), objective.unit, units, "unit")
        for t, target in enumerate(objective.targets):
            ref(("objectives", i, "targets", t, "period"), target.period, periods, "period")

    lifecycle_errors = definition_problems(spec.lifecycle) if spec.lifecycle is not None else []
    if spec.lifecycle is not None and not lifecycle_errors:
        names = [*spec.lifecycle["states"], *(t["trigger"] for t in spec.lifecycle["transitions"])]
        lifecycle_errors = [
            f"the state or trigger {name[:20]!r}… has {len(name)} characters; names are at most {MAX_STATE}"
            for name in names if len(name) > MAX_STATE
        ]  # fmt: skip
    for message in lifecycle_errors:
        add(("lifecycle",), message)
    states = lifecycle_for(spec.lifecycle).states if not lifecycle_errors else ()
    seen: dict[str, str] = {}
    for path, activity in spec.all_activities():
        loc = _path_to_loc(path)
        if activity.code in seen:
            add(loc + ("code",), f"duplicate activity code {activity.code!r} (first at {seen[activity.code]})")
        else:
            seen[activity.code] = path
        ref(loc + ("objective",), activity.objective, objectives, "objective")
        ref(loc + ("unit",), activity.unit, units, "unit")
        ref(loc + ("phase",), activity.phase, periods, "period")
        for s, key in enumerate(activity.schedule):
            ref(loc + ("schedule", s), key, periods, "period")
        for s, code in enumerate(activity.checklist):
            ref(loc + ("checklist", s), code, items, "checklist item")
        if activity.state is not None and states and activity.state not in states:
            add(loc + ("state",), f"unknown state {activity.state!r}; states are {', '.join(states)}")
        in_plan(loc + ("start",), activity.start)
        in_plan(loc + ("due",), activity.due)
        if activity.start and activity.due and activity.due < activity.start:
            add(loc + ("due",), f"due {activity.due} is before start {activity.start}")

    indicators = _unique(spec.indicators, "code", ("indicators",), "indicator code", add)
    del indicators
    for i, indicator in enumerate(spec.indicators):
        kind, _, key = indicator.of.partition(":")
        known = {"outcome": outcomes, "objective": objectives, "activity": seen}.get(kind)
        if indicator.of != "plan" and (known is None or not key):
            add(("indicators", i, "of"), f"expected plan, outcome:KEY, objective:CODE or activity:CODE, got {indicator.of!r}")
        elif known is not None:
            ref(("indicators", i, "of"), key, known, kind)
        for t, target in enumerate(indicator.targets):
            ref(("indicators", i, "targets", t, "period"), target.period, periods, "period")

    lines: dict[tuple[str, str], int] = {}
    for i, line in enumerate(spec.budgets):
        ref(("budgets", i, "unit"), line.unit, units, "unit")
        ref(("budgets", i, "period"), line.period, periods, "period")
        if line.currency is not None and not re.fullmatch(r"[A-Z]{3}", line.currency):
            add(("budgets", i, "currency"), f"expected an ISO 4217 code such as USD, got {line.currency!r}")
        if (line.unit, line.period) in lines:
            add(
                ("budgets", i),
                f"a second budget line for unit {line.unit!r} and period {line.period!r} (first is budgets[{lines[(line.unit, line.period)]}])",
            )
        lines.setdefault((line.unit, line.period), i)

    for code, severity in spec.rules.severity.items():
        if severity not in SEVERITIES:
            add(("rules", "severity", code), f"expected one of {', '.join(SEVERITIES)}")
    for p, person in enumerate(spec.people):
        for r, role in enumerate(person.roles):
            if role not in ROLES:
                add(("people", p, "roles", r), f"unknown role {role!r}")
    return problems


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


def format_path(loc: tuple) -> str:
    """('objectives', 2, 'activities', 5, 'due') -> 'objectives[2].activities[5].due'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(problems: list[tuple[tuple, str]], data: bytes, source: str) -> list[str]:
    """Turn (loc, message) into 'FILE:LINE: PATH: message' lines, in file order."""
    try:
        root = yaml.compose(data.decode("utf-8-sig"), Loader=_NodeLoader)
    except Exception:  # noqa: BLE001 (line numbers are a courtesy; the messages stand alone)
        root = None
    located = []
    for loc, message in problems:
        line = _line_of(root, loc)
        where = f"{source}:{line}" if line else source
        path = format_path(loc)
        located.append((line or 0, f"{where}: {path}: {message}" if path else f"{where}: {message}"))
    located.sort(key=lambda pair: pair[0])
    return [text for _, text in located]


def _line_of(node, loc: tuple) -> int | None:
    line = None
    for part in loc:
        if node is None:
            break
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
