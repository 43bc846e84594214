"""Plan files: the hardened YAML reader (`yamlread`), value converters (`values`), the
schema (`schema`) and validation with line numbers (`validation`). The format is
documented in docs/workflow-format.md.

Only the write side (loading, importing, services) imports this package: it brings
pydantic and yaml, which a read command never needs.
"""

from cpflow.plans.schema import (
    SECTIONS,
    ActivitySpec,
    Baseline,
    BudgetSpec,
    ChecklistItemSpec,
    ChecklistSpec,
    IndicatorSpec,
    IndicatorTarget,
    LifecycleSpec,
    ObjectiveSpec,
    OutcomeSpec,
    PeriodSpec,
    PersonSpec,
    PlanMeta,
    PlanSpec,
    RulesSpec,
    TargetText,
    TransitionSpec,
    UnitSpec,
)
from cpflow.plans.validation import (
    SLUG,
    Check,
    LoadedPlan,
    Problem,
    format_path,
    parse_plan,
    problems_at_paths,
    read_plan_file,
    semantic_problems,
)
from cpflow.plans.values import (
    MAX_AMOUNT,
    MAX_CODE,
    MAX_MINOR,
    MAX_NUMBER,
    MAX_STATE,
    NUL_IN_TEXT,
    Code,
    IsoDate,
    Money,
    Number,
    Text,
    Texts,
)
from cpflow.plans.yamlread import MAX_DEPTH, MAX_FILE_BYTES, read_yaml

__all__ = [
    "MAX_AMOUNT", "MAX_CODE", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_MINOR", "MAX_NUMBER", "MAX_STATE", "NUL_IN_TEXT",
    "SECTIONS", "SLUG", "ActivitySpec", "Baseline", "BudgetSpec", "Check", "ChecklistItemSpec", "ChecklistSpec", "Code",
    "IndicatorSpec", "IndicatorTarget", "IsoDate", "LifecycleSpec", "LoadedPlan", "Money", "Number", "ObjectiveSpec",
    "OutcomeSpec", "PeriodSpec", "PersonSpec", "PlanMeta", "PlanSpec", "Problem", "RulesSpec", "TargetText", "Text",
    "Texts", "TransitionSpec", "UnitSpec", "format_path", "parse_plan", "problems_at_paths", "read_plan_file", "read_yaml", "semantic_problems",
]  # fmt: skip
