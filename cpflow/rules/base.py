"""What a rule is: `Rule`, its settings (`Option`), and what it reports (`Finding`).

A rule is a small object with a code (`T101`), a title, a description, a default
severity, settings with defaults, and one `check(ctx)` that works on whole DataFrames
(see `cpflow.rules.context.Context`) and returns its findings as a DataFrame built with
`findings(...)`, one row per finding. No rule loops over rows in Python, and no rule
knows about the CLI, output formats or other rules.

This module does not import pandas, so registering rules costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from cpflow.codes import CODE_PATTERN, SEVERITIES  # noqa: F401 (rules name their codes here)

if TYPE_CHECKING:
    import pandas as pd

    from cpflow.rules.context import Context

# The one definition of finding severities, most severe first.
# The trigger of an imported status (a spreadsheet's status, dated): a starting point for
# rules that judge how a state was reached, never a skipped step.
IMPORT_TRIGGER = "import"
SEVERITY_RANK = {"info": 1, "warning": 2, "error": 3}
# Codes the engine itself uses; no rule may take them.
ENGINE_CODES = {"E001": "a rule failed while checking"}
# A rule setting's value: the kind of its option's default.
OptionValue = bool | int | float | list[str] | str


@dataclass(frozen=True)
class Finding:
    """One thing a rule found: about a subject (`plan:code`, `plan:unit` or `plan`)."""

    code: str
    severity: str
    subject: str
    plan: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    waived: str | None = None  # the plan's reason, when the plan waived this finding

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"code": self.code, "severity": self.severity, "subject": self.subject, "plan": self.plan,
               "message": self.message, "data": dict(self.data)}  # fmt: skip
        if self.waived is not None:
            row["waived"] = self.waived
        return row

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.plan, self.subject, self.code, self.message)


@dataclass(frozen=True)
class Option:
    """One setting of a rule: its default, what it means, and the values it accepts.

    The type is the default's (int, float, str, bool or list of str); text from the
    command line is converted to it.
    """

    default: OptionValue
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[OptionValue, ...] | None = None

    def parse(self, value: Any) -> OptionValue:
        """The value converted and checked; ValueError with a message a person can act on."""
        parsed = self._convert(value)
        if isinstance(parsed, (int, float)):  # the bounds are numbers (a bool compares as 0 or 1)
            if self.minimum is not None and parsed < self.minimum:
                raise ValueError(f"expected at least {self.minimum:g}, got {parsed!r}")
            if self.maximum is not None and parsed > self.maximum:
                raise ValueError(f"expected at most {self.maximum:g}, got {parsed!r}")
        if self.choices is not None and parsed not in self.choices:
            raise ValueError(f"expected one of {', '.join(map(str, self.choices))}, got {parsed!r}")
        return parsed

    def _convert(self, value: Any) -> OptionValue:
        """`value` (command-line text or a settings file's value) as the default's kind."""
        kind = type(self.default)
        if kind is bool:
            return _boolean(value)
        if kind in (int, float):
            return _number(value, kind)
        if kind is list:
            parsed = [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
            if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
                raise ValueError(f"expected a comma-separated list, got {value!r}")
            return parsed
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected text, got {value!r}")
        return value.strip()


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _number(value: Any, kind: type) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = float(value) if kind is float else int(str(value).strip()) if isinstance(value, str) else value
    except (TypeError, ValueError):
        raise ValueError(f"expected {'a whole number' if kind is int else 'a number'}, got {value!r}") from None
    if kind is int and (not isinstance(number, int) or isinstance(number, bool)):
        raise ValueError(f"expected a whole number, got {value!r}")
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


class Rule:
    """Subclass, set the class attributes, implement `check`. Instances are registered
    through the `register_rules` hook; `pack` groups rules for listings and counts."""

    code: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    severity: ClassVar[str] = "warning"
    pack: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}

    def check(self, ctx: Context) -> pd.DataFrame | Sequence[Finding]:
        """Return findings: a DataFrame from `findings(...)` (preferred) or Finding objects."""
        raise NotImplementedError

    def configure(self, values: Mapping[str, Any] | None = None) -> dict[str, OptionValue]:
        """Defaults updated with `values`, each checked; ValueError naming the bad setting."""
        config = {key: option.default for key, option in self.options.items()}
        for key, value in (values or {}).items():
            option = self.options.get(key)
            if option is None:
                known = ", ".join(self.options) or "none"
                raise ValueError(f"{self.code} has no setting {key!r} (settings: {known})")
            try:
                config[key] = option.parse(value)
            except ValueError as exc:
                raise ValueError(f"{self.code}.{key}: {exc}") from None
        return config

    def problems(self) -> list[str]:
        """What is wrong with this rule's declaration (checked when it is registered)."""
        found = []
        code = getattr(self, "code", None)
        if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
            found.append(f"code {code!r} is not 1-3 capital letters and 3 digits (e.g. H101)")
        elif code in ENGINE_CODES:
            found.append(f"code {code} is reserved by cpflow ({ENGINE_CODES[code]})")
        for name in ("title", "description"):
            if not isinstance(getattr(self, name, None), str) or not getattr(self, name).strip():
                found.append(f"no {name}")
        if self.severity not in SEVERITIES:
            found.append(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if type(self).check is Rule.check:
            found.append("no check(ctx) method")
        for key, option in self.options.items():
            bounded = option.minimum is not None or option.maximum is not None
            if bounded and not isinstance(option.default, (int, float)):
                found.append(f"setting {key}: minimum and maximum apply to number settings only")
        return found

    def __repr__(self) -> str:
        return f"<Rule {getattr(self, 'code', '?')} {getattr(self, 'title', '')!r}>"


# The `register` callback a plugin's `register_rules` hook is given: a Rule, or a Rule class.
RegisterRule = Callable[[Rule | type[Rule]], None]


def findings(
    frame: pd.DataFrame,
    message: pd.Series,
    *,
    subject: str | pd.Series = "id",
    data: Sequence[str] | Mapping[str, str | pd.Series] = (),
    severity: pd.Series | None = None,
) -> pd.DataFrame:
    """One finding per row of `frame`, as the DataFrame the engine expects.

    `subject` is a column name or a Series (default the `id` column); `frame` must have a
    `plan` column; `data` names columns to carry (or maps data keys to columns or Series);
    `severity` optionally sets a severity per row (None keeps the rule's).
    """
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    out["subject"] = frame[subject] if isinstance(subject, str) else subject
    out["plan"] = frame["plan"]
    out["message"] = message
    out["severity"] = severity if severity is not None else None
    items = data.items() if isinstance(data, Mapping) else ((name, name) for name in data)
    for key, column in items:
        out[f"data.{key}"] = frame[column] if isinstance(column, str) else column
    return out.reset_index(drop=True)


def missing_rows(
    frame: pd.DataFrame, other: pd.DataFrame, keys: Sequence[str], other_keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows of `frame` whose `keys` match no row of `other` (on `other_keys`, default the
    same names). Works on empty frames and compares values as objects (no dtype surprises)."""
    import pandas as pd

    keys = list(keys)
    theirs = other[list(other_keys or keys)].astype(object)
    mine = frame[keys].astype(object)
    if not len(mine):
        return frame
    index = pd.MultiIndex.from_frame(mine)
    have = pd.MultiIndex.from_frame(theirs.set_axis(keys, axis=1)) if len(theirs) else index[:0]
    return frame[~index.isin(have)]


def last_import(events: pd.DataFrame) -> pd.Series:
    """The date of each activity's last imported status (`import` events), by activity id."""
    imports = events[events["trigger"] == IMPORT_TRIGGER]
    return imports.drop_duplicates("activity", keep="last").set_index("activity")["at"]


def iso(dates: pd.Series) -> pd.Series:
    """Dates as ISO text (empty text where missing), for messages."""
    return dates.dt.strftime("%Y-%m-%d").fillna("")


def amount(minor: pd.Series) -> pd.Series:
    """Cents as `1,585,000` or `400.50` text, for messages."""
    values = minor.astype("Int64")
    whole = (values // 100).astype(str).str.replace(r"\B(?=(\d{3})+(?!\d))", ",", regex=True)
    cents = (values % 100).astype(str).str.zfill(2)
    return whole.where(values % 100 == 0, whole + "." + cents).fillna("")


def number(values: pd.Series) -> pd.Series:
    """Numbers as short text (`50` rather than `50.0`), for messages."""
    return values.astype(float).round(6).astype(str).str.replace(r"\.0$", "", regex=True)


def percent(ratio: pd.Series) -> pd.Series:
    """0.553 as `55%`, for messages."""
    return (ratio * 100).round().astype("Int64").astype(str) + "%"
