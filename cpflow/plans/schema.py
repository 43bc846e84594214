"""The plan-file schema (pydantic): what each section holds and of which type.

Cross-references, uniqueness and ranges are checked afterwards by `validation.py`; this
module says only what a value must look like.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

from cpflow.codes import CODE_PATTERN, SEVERITIES
from cpflow.lifecycle import ROLES
from cpflow.plans.values import Code, IsoDate, Money, Number, Text, Texts, kind

Role = Literal[ROLES]  # type: ignore[valid-type]  (one definition, in cpflow.lifecycle)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class IatiSpec(_Strict):
    reporting_org: Text  # the reporting organisation's IATI identifier, e.g. XM-DAC-41122
    prefix: Text | None = None  # activity identifiers start with it (default: reporting_org)


# IATI 2.03 OrganisationType codes (cpflow/exports/codelists/OrganisationType.xml).
ORGANISATION_TYPES = (10, 11, 15, 21, 22, 23, 24, 30, 40, 60, 70, 71, 72, 73, 80, 90)


def _code_number(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


class OrganisationSpec(_Strict):
    name: Text
    acronym: Text | None = None
    iati_id: Text | None = None  # the IATI organisation identifier, when known
    # IATI writes the code as text ("22"); a plan file may write it either way.
    type: Annotated[Literal[ORGANISATION_TYPES] | None, BeforeValidator(_code_number)] = None  # type: ignore[valid-type]
    national_or_local: bool = False  # a national or local actor (Grand Bargain localisation, rule C505)


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
    # Where accounts exist: even a lead's own update is a submission another lead approves (issue 14).
    four_eyes: bool = False
    iati: IatiSpec | None = None  # the IATI reporting organisation and identifier prefix (docs/exports.md)


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
    # `objective` is the one the activity sits under (nesting fills it in); `objectives`
    # lists every objective it contributes to. `contributes_to()` merges the two.
    objective: Code | None = None
    objectives: list[Code] = Field(default_factory=list)
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
    waive: dict[RuleCode, Reason] = Field(default_factory=dict)  # rule code -> why its findings are waived here

    def contributes_to(self) -> list[str]:
        """Every objective code, the primary (`objective`, else the first listed) first."""
        codes = [self.objective] if self.objective is not None else []
        return codes + [code for code in dict.fromkeys(self.objectives) if code not in codes]

    def primary_objective(self) -> str | None:
        codes = self.contributes_to()
        return codes[0] if codes else None


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
    # How a period's measurements make its actual: a count of trainings sums; a percentage takes the last.
    aggregation: Literal["sum", "last", "max", "average"] = "last"


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
    roles: list[Role] = Field(default_factory=list)


def _rule_code(value: Any) -> str:
    if not isinstance(value, str) or not CODE_PATTERN.fullmatch(value.strip().upper()):
        raise ValueError(f"expected a rule code such as G401, got {value!r}")
    return value.strip().upper()


RuleCode = Annotated[str, BeforeValidator(_rule_code)]


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("a waiver needs a reason")
    return value


Reason = Annotated[Text, AfterValidator(_reason)]


class WaiverSpec(_Strict):
    reason: Reason


class RulesSpec(_Strict):
    # Besides the keys below, a rule code may map to {reason: TEXT}: the plan waives that
    # rule's findings and says why (docs/rules.md, "Waivers").
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[RuleCode, WaiverSpec]

    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    severity: dict[str, Literal[SEVERITIES]] = Field(default_factory=dict)  # type: ignore[valid-type]
    config: dict[str, dict[str, Any]] = Field(default_factory=dict)


# --- lifecycle: typed here, its meaning (states known, initial among them …) checked by
# cpflow.lifecycle.definition_problems. Values are strict: `final: 5` is refused, not
# read as "5". Keys this schema does not know are kept for definition_problems to judge.

State = Annotated[StrictStr, Field(min_length=1)]


def _sources(value: Any) -> str | list[str]:
    names = value if isinstance(value, list) else [value]
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"expected a state or a list of states, got {kind(value)}")
    return value


class TransitionSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    trigger: State
    source: Annotated[str | list[str], BeforeValidator(_sources)]
    dest: State
    reason: Literal["required", "optional"] | None = None
    ref: Literal["recommended", "optional"] | None = None


class LifecycleSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    initial: State
    states: list[State] = Field(min_length=1)
    final: list[State] = Field(default_factory=list)
    transitions: list[TransitionSpec] = Field(min_length=1)
    roles: dict[StrictStr, list[Role]] = Field(default_factory=dict)
    iati_status: dict[StrictStr, Annotated[StrictInt, Field(ge=1, le=6)]] = Field(default_factory=dict)  # IATI ActivityStatus
    tags: dict[StrictStr, list[StrictStr]] = Field(default_factory=dict)


def _as_definition(spec: LifecycleSpec) -> dict[str, Any]:
    """Back to the plain mapping the lifecycle and the database keep (as written)."""
    return spec.model_dump(exclude_unset=True)


LifecycleDefinition = Annotated[LifecycleSpec, AfterValidator(_as_definition)]


SECTIONS: dict[str, Any] = {
    "format": Literal[1],
    "plan": PlanMeta,
    "periods": list[PeriodSpec],
    "units": list[UnitSpec],
    "organisations": list[OrganisationSpec],
    "outcomes": list[OutcomeSpec],
    "objectives": list[ObjectiveSpec],
    "activities": list[ActivitySpec],
    "indicators": list[IndicatorSpec],
    "budgets": list[BudgetSpec],
    "checklists": list[ChecklistSpec],
    "people": list[PersonSpec],
    "rules": RulesSpec,
    "lifecycle": LifecycleSpec,
}


class PlanSpec(_Strict):
    """A whole plan file, validated. `all_activities()` flattens nesting."""

    format: Literal[1] = 1
    plan: PlanMeta
    periods: list[PeriodSpec] = Field(default_factory=list)
    units: list[UnitSpec] = Field(default_factory=list)
    organisations: list[OrganisationSpec] = Field(default_factory=list)
    outcomes: list[OutcomeSpec] = Field(default_factory=list)
    objectives: list[ObjectiveSpec] = Field(default_factory=list)
    activities: list[ActivitySpec] = Field(default_factory=list)
    indicators: list[IndicatorSpec] = Field(default_factory=list)
    budgets: list[BudgetSpec] = Field(default_factory=list)
    checklists: list[ChecklistSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    # Validated as a LifecycleSpec, kept as the plain mapping (what lifecycle_for reads).
    lifecycle: LifecycleDefinition | None = None  # type: ignore[assignment]

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
