"""The mapping file: what header synonyms cannot know about one coordinator's spreadsheet.

```yaml
sheet: "Work plan 2025"        # which sheet (the command line's --sheet wins)
header_row: 4                  # the header's row number, when it cannot be found
columns:                       # header text -> field, `schedule:PERIOD` or `ignore`
  "What we will do": title
  "Who": lead
  "Wk 1": schedule:w1
states:                        # status words -> lifecycle states
  "On hold": endorsed
fill_down: [lead]              # more columns whose blank cells carry the value above
date_format: "%d/%m/%Y"        # how dates are written, when not YYYY-MM-DD or date cells
year: 2021                     # the year of Q1..Q4 and month columns that name none
plan: {title: "…", owner: "…", start: 2021-01-01, end: 2021-12-31}   # for a new plan
periods: [{key: w1, name: "Week 1", start: 2021-01-04, end: 2021-01-10}]
```
It is read and checked like a plan file (docs/importing.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cpflow.errors import PlanFileError
from cpflow.importers.columns import FIELDS, normalise
from cpflow.plans import IsoDate, PeriodSpec, Text, format_path, read_yaml

MAX_MAPPING_BYTES = 1024 * 1024
TARGETS = FIELDS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanDefaults(_Strict):
    title: Text | None = None
    owner: Text | None = None
    framework: Text | None = None
    currency: str | None = None
    start: IsoDate | None = None
    end: IsoDate | None = None
    description: Text | None = None
    sectors: list[Text] = Field(default_factory=list)
    countries: list[Text] = Field(default_factory=list)
    cross_cutting: list[Text] = Field(default_factory=list)


class Mapping(_Strict):
    sheet: Text | None = None
    header_row: int | None = Field(default=None, ge=1)
    columns: dict[str, str] = Field(default_factory=dict)
    states: dict[str, str] = Field(default_factory=dict)
    fill_down: list[str] = Field(default_factory=list)
    date_format: str | None = None
    year: int | None = Field(default=None, ge=1900, le=2200)
    plan: PlanDefaults = Field(default_factory=PlanDefaults)
    periods: list[PeriodSpec] = Field(default_factory=list)

    @field_validator("columns")
    @classmethod
    def _targets(cls, value: dict[str, str]) -> dict[str, str]:
        for header, target in value.items():
            if target == "ignore" or (target.startswith("schedule:") and target.partition(":")[2].strip()):
                continue
            if target not in TARGETS:
                raise ValueError(
                    f"column {header!r}: unknown field {target!r}; fields are {', '.join(TARGETS)}, schedule:PERIOD or ignore"
                )
        return value

    @field_validator("fill_down")
    @classmethod
    def _fill_fields(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in FIELDS]
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}; fields are {', '.join(FIELDS)}")
        return value

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                dt.datetime.strptime(dt.date(2021, 12, 31).strftime(value), value)
            except ValueError:
                raise ValueError(f"not a date format cpflow can read back: {value!r} (e.g. %d/%m/%Y)") from None
        return value

    def header_targets(self) -> dict[str, str]:
        """Normalised header text -> target, as the column matcher wants it."""
        return {normalise(header): target for header, target in self.columns.items()}


def read_mapping(path: str | Path | None) -> Mapping:
    """The mapping file validated in full (PlanFileError lists every problem), or defaults."""
    if path is None:
        return Mapping()
    path = Path(path)
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanFileError(source, [f"{source}: cannot read the mapping file: {exc.strerror}"]) from None
    if len(data) > MAX_MAPPING_BYTES:
        raise PlanFileError(source, [f"{source}: mapping file is {len(data):,} bytes; the limit is {MAX_MAPPING_BYTES:,}"])
    raw: Any = read_yaml(data, source)
    if raw is None:
        return Mapping()
    if not isinstance(raw, dict):
        raise PlanFileError(source, [f"{source}:1: expected a mapping (columns:, states:, …)"])
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
            message = {"extra_forbidden": "unknown field", "missing": "required field is missing"}.get(err["type"])
            if message is None:
                message = str(err["ctx"]["error"]) if err["type"] == "value_error" else err["msg"]
            problems.append(f"{source}: {format_path(loc)}: {message}")
        raise PlanFileError(source, problems) from None
