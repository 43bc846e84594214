"""The rule registry and the engine that runs the selected rules into a `CheckReport`.

Rules come from plugins (`register_rules` hook), built-in packs first. The engine loads
the frames once, works out for each plan which rules run with which settings (command
line over the plan's `rules:` section over the rule's defaults), runs each rule once per
group of plans that share those settings, and turns what the rules return into sorted
`Finding`s. A rule that raises becomes one `E001` error finding naming the rule and the
exception (about the first plan it was checking; `data.plans` lists them all); every other
rule still runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from cpflow.clock import today
from cpflow.errors import BadInput
from cpflow.plugins.manager import PluginFailure, Plugins
from cpflow.rules.base import CODE_PATTERN, ENGINE_CODES, SEVERITIES, SEVERITY_RANK, Finding, OptionValue, RegisterRule, Rule
from cpflow.rules.selection import resolve, split_codes, unknown_entries

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from cpflow.read.frames import Frames

FAIL_ON = ("error", "warning", "info", "never")
# A plan's waivers: (rule code -> reason), and (activity code -> rule code -> reason).
Waivers = tuple[dict[str, str], dict[str, dict[str, str]]]


class Effective(TypedDict):
    """What applies to one plan: the codes that run, their severities and validated settings."""

    codes: list[str]
    severity: dict[str, str]
    config: dict[str, dict[str, OptionValue]]


class RuleSettingError(BadInput):
    """A rule setting given to the engine (not read from a plan) is malformed or out of
    range. `detail` says what is wrong; a face adds how the setting was given (`--set`)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"rule setting {detail}")
        self.detail = detail


@dataclass
class RuleRegistry:
    """Every registered rule by code, the plugin each came from, and registration problems."""

    rules: dict[str, Rule] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (plugin name, what went wrong)

    @classmethod
    def from_plugins(cls, plugins: Plugins) -> RuleRegistry:
        """Call every plugin's `register_rules` (through `plugins.call`); a duplicate code or a
        bad rule is skipped and recorded, and a plugin whose hook raises loses only its own rules."""
        registry = cls()
        pending: dict[str, list[Rule]] = {}

        def per_plugin(name: str) -> dict[str, RegisterRule]:
            def register(rule: object) -> None:
                if isinstance(rule, type) and issubclass(rule, Rule):
                    rule = rule()
                if not isinstance(rule, Rule):
                    registry.problems.append((name, f"register() got {rule!r}, not a cpflow.rules.Rule"))
                    return
                pending.setdefault(name, []).append(rule)

            return {"register": register}

        for result in plugins.call("register_rules", per_plugin):
            if not result.ok:
                registry.problems.append((result.plugin, f"register_rules failed: {result.error}"))
                continue
            for rule in pending.get(result.plugin, []):
                registry._add(result.plugin, rule)
        registry.rules = dict(sorted(registry.rules.items()))
        return registry

    def _add(self, plugin: str, rule: Rule) -> None:
        problems = rule.problems()
        if problems:
            self.problems.append((plugin, f"rule {getattr(rule, 'code', '?')!r} skipped: {'; '.join(problems)}"))
        elif rule.code in self.rules:
            self.problems.append(
                (plugin, f"rule {rule.code} skipped: the code is already registered by {self.sources[rule.code]}")
            )
        else:
            self.rules[rule.code] = rule
            self.sources[rule.code] = plugin

    def get(self, code: str) -> Rule:
        """The rule with this code (any case, spaces ignored); BadInput naming the code if none."""
        rule = self.rules.get(normalise_code(code))
        if rule is None:
            raise BadInput(f"unknown rule {code!r}; there are {len(self.rules)} known rules")
        return rule

    def matching(self, code_or_prefix: str | None) -> list[Rule]:
        """The rules a code or prefix names (`T`, `F3`, `T103`; all for None or empty), in
        code order; BadInput when a code or prefix names none."""
        wanted = normalise_code(code_or_prefix or "")
        found = [rule for code, rule in self.rules.items() if code.startswith(wanted)]
        if wanted and not found:
            raise BadInput(f"unknown rule {code_or_prefix!r}; there are {len(self.rules)} known rules")
        return found

    def explain(self, code: str) -> dict[str, Any]:
        """One rule as a record: code, title, severity, pack, plugin, description, settings
        (each with its default, help and accepted values)."""
        rule = self.get(code)
        settings: dict[str, dict[str, Any]] = {}
        for key, option in rule.options.items():
            entry: dict[str, Any] = {"default": option.default, "help": option.help}
            entry.update({name: value for name, value in (("minimum", option.minimum), ("maximum", option.maximum),
                                                          ("choices", list(option.choices or ()) or None)) if value is not None})  # fmt: skip
            settings[key] = entry
        return {"code": rule.code, "title": rule.title, "severity": rule.severity, "pack": rule.pack,
                "plugin": self.sources[rule.code], "description": rule.description, "settings": settings}  # fmt: skip

    def codes_of(self, plugin: str) -> list[str]:
        return sorted(code for code, source in self.sources.items() if source == plugin)


def normalise_code(code: str) -> str:
    """`" t103 "` -> `"T103"`: the one normalisation of a rule code typed by a person."""
    return str(code).strip().upper()


# The shape of `CheckReport.to_dict()`; bump when a key changes meaning or goes away.
REPORT_VERSION = 1


@dataclass
class CheckReport:
    """What a check found, before any rendering: findings sorted by (plan, subject, code).

    `waived` holds the findings a plan waived (`rules: {G401: {reason: ...}}`, or an
    activity's `waive: {G401: reason}`), each with `waived` set to the reason; they are
    counted in `waived_counts`, never in `counts`, and never make the check fail.
    """

    as_of: dt.date
    plans: list[str]
    rules: list[str]
    findings: list[Finding]
    counts: dict[str, int]
    packs: dict[str, int]
    notes: list[str] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    waived_counts: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SEVERITIES})

    def fails(self, fail_on: str) -> bool:
        """True when some finding is at least as severe as `fail_on` (never for `never`)."""
        if fail_on == "never":
            return False
        floor = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[f.severity] >= floor for f in self.findings)

    def rows(self) -> list[dict[str, Any]]:
        return [finding.as_dict() for finding in self.findings]

    def waived_rows(self) -> list[dict[str, Any]]:
        return [finding.as_dict() for finding in self.waived]

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data (the shape of `check --format json`):
        version, as_of, plans, rules, counts by severity, packs, notes, findings, waived
        (each waived finding carries `waived`: the reason) and waived_counts."""
        return {
            "version": REPORT_VERSION, "as_of": self.as_of.isoformat(), "plans": list(self.plans),
            "rules": list(self.rules), "counts": dict(self.counts), "packs": dict(self.packs),
            "notes": list(self.notes), "findings": self.rows(), "waived": self.waived_rows(),
            "waived_counts": dict(self.waived_counts),
        }  # fmt: skip

    def summary(self) -> str:
        parts = ", ".join(f"{self.counts[s]} {s}" for s in SEVERITIES)
        waived = f"; {len(self.waived)} waived" if self.waived else ""
        return (f"{_count(len(self.findings), 'finding')} ({parts}){waived} from {_count(len(self.rules), 'rule')} "
                f"in {_count(len(self.plans), 'plan')} as of {self.as_of}")  # fmt: skip


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def parse_settings(values: Sequence[str]) -> dict[str, dict[str, str]]:
    """`["F301.threshold=0.9", "T103.days=30"]` -> `{"F301": {"threshold": "0.9"}, ...}`."""
    settings: dict[str, dict[str, str]] = {}
    for text in values:
        target, sep, value = text.partition("=")
        code, dot, key = target.partition(".")
        if not sep or not dot or not code.strip() or not key.strip():
            raise RuleSettingError(f"{text!r}: expected CODE.SETTING=VALUE, e.g. F301.threshold=0.9")
        settings.setdefault(code.strip().upper(), {})[key.strip()] = value.strip()
    return settings


def run_checks(
    session: Session,
    *,
    plans: Sequence[str] = (),
    as_of: dt.date | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    severities: Mapping[str, str] | None = None,
    plugins: Plugins,
    debug: bool = False,
    frames: Frames | None = None,
) -> CheckReport:
    """Run the selected rules on the plans (all when empty) as of a date (default today).

    `select`/`ignore` take codes or prefixes (`"T,F3"` is split); `settings` maps a code to
    `{setting: value}` and may carry `severity`; `severities` maps a code to a severity.
    Bad input (unknown code, bad value, unknown plan) raises BadInput before any rule runs.
    `plugins` is the plugin set whose rules run (`cpflow.plugins.manager.build(...)`).
    `frames` already read for the same plans and date are used instead of reading again
    (rules never change them).
    """
    from cpflow.read.frames import load_frames

    registry = registry_for(plugins)
    select, ignore = split_codes(select), split_codes(ignore)
    bad = unknown_entries(select + ignore, registry.rules)
    if bad:
        raise BadInput(f"unknown rule code or prefix {bad[0]!r}; there are {len(registry.rules)} known rules")
    cli_config, cli_severity = _cli_settings(registry, settings or {}, severities or {})
    as_of = as_of or today()
    if frames is None:
        frames = load_frames(session, plans=tuple(plans), as_of=as_of)
    notes = [f"plan {slug} starts after {as_of}; nothing to check" for slug in plans
             if slug not in set(frames.plans["slug"])]  # fmt: skip

    groups: dict[str, tuple[list[str], Effective]] = {}
    for slug, spec in zip(frames.plans["slug"], frames.plans["rules"], strict=True):
        effective = _effective(registry, slug, spec, select, ignore, cli_config, cli_severity, notes)
        key = json.dumps(effective, sort_keys=True, default=str)
        groups.setdefault(key, ([], effective))[0].append(slug)

    found: list[Finding] = []
    selected: set[str] = set()
    for group_plans, effective in groups.values():
        group_frames = frames if len(groups) == 1 else frames.subset(group_plans)
        for code in effective["codes"]:
            selected.add(code)
            rule = registry.rules[code]
            found += _run_rule(rule, group_frames, effective["config"][code], effective["severity"].get(code),
                               group_plans, debug)  # fmt: skip
    found = sorted(_one_crash_per_rule(found), key=Finding.sort_key)
    waivers = {slug: plan_waivers(spec) for slug, spec in zip(frames.plans["slug"], frames.plans["rules"], strict=True)}
    for slug, (by_code, _by_activity) in waivers.items():
        notes += [
            f"plan {slug}: rules: waiver for unknown rule {code!r} ignored" for code in by_code if code not in registry.rules
        ]
    found, waived = _apply_waivers(found, waivers)
    counts = {severity: 0 for severity in SEVERITIES}
    waived_counts = {severity: 0 for severity in SEVERITIES}
    packs: dict[str, int] = {}
    for finding in found:
        counts[finding.severity] += 1
        pack = registry.rules[finding.code].pack if finding.code in registry.rules else "engine"
        packs[pack or "other"] = packs.get(pack or "other", 0) + 1
    for finding in waived:
        waived_counts[finding.severity] += 1
    return CheckReport(as_of, list(frames.plans["slug"]), sorted(selected), found, counts, dict(sorted(packs.items())), notes,
                       waived, waived_counts)  # fmt: skip


# The key under which the load path stores activities' own waivers in a plan's rules
# (`waive: {G401: "reason"}` on an activity becomes `{"waive": {"1.2": {"G401": "reason"}}}`).
ACTIVITY_WAIVERS = "waive"


def plan_waivers(spec: Mapping[str, Any] | None) -> Waivers:
    """A plan's waivers: (rule code -> reason) for the whole plan, and (activity code ->
    rule code -> reason), read from its stored `rules:` section."""
    spec = spec or {}
    by_code = {normalise_code(key): str(value.get("reason", "")).strip()
               for key, value in spec.items() if CODE_PATTERN.fullmatch(normalise_code(key)) and isinstance(value, Mapping)}  # fmt: skip
    by_activity = {str(code): {normalise_code(rule): str(reason).strip() for rule, reason in (waived or {}).items()}
                   for code, waived in (spec.get(ACTIVITY_WAIVERS) or {}).items()}  # fmt: skip
    return by_code, by_activity


def _apply_waivers(found: list[Finding], waivers: Mapping[str, Waivers]) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (kept, waived); a waived finding carries its reason. An engine
    error (E001) is never waived."""
    kept, waived = [], []
    for finding in found:
        by_code, by_activity = waivers.get(finding.plan, ({}, {}))
        reason = None
        if finding.code not in ENGINE_CODES:
            reason = by_code.get(finding.code)
            if reason is None and finding.subject.startswith(finding.plan + ":"):
                reason = by_activity.get(finding.subject[len(finding.plan) + 1 :], {}).get(finding.code)
        if reason is None:
            kept.append(finding)
        else:
            waived.append(dataclasses.replace(finding, waived=reason))
    return kept, waived


def _cli_settings(
    registry: RuleRegistry, settings: Mapping[str, Mapping[str, Any]], severities: Mapping[str, str]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    config: dict[str, dict[str, Any]] = {}
    severity: dict[str, str] = {}
    for code, values in settings.items():
        rule = registry.get(code)
        values = dict(values)
        if "severity" in values:
            severity[rule.code] = values.pop("severity")
        try:
            rule.configure(values)
        except ValueError as exc:
            raise RuleSettingError(str(exc)) from None
        config[rule.code] = values
    for code, level in severities.items():
        severity[registry.get(code).code] = level
    for code, level in severity.items():
        if level not in SEVERITIES:
            raise BadInput(f"{code}.severity: expected one of {', '.join(SEVERITIES)}, got {level!r}")
    return config, severity


def _effective(
    registry: RuleRegistry,
    slug: str,
    spec: Mapping[str, Any] | None,
    select: Sequence[str],
    ignore: Sequence[str],
    cli_config: Mapping[str, Mapping[str, Any]],
    cli_severity: Mapping[str, str],
    notes: list[str],
) -> Effective:
    """The codes, severities and validated settings that apply to one plan."""
    spec = spec or {}
    plan_select, plan_ignore = split_codes(spec.get("select") or []), split_codes(spec.get("ignore") or [])
    for entry in unknown_entries(plan_select + plan_ignore, registry.rules):
        notes.append(f"plan {slug}: rules: unknown rule code or prefix {entry!r} ignored (plugin not installed?)")
    known = set(registry.rules)
    plan_select = [e for e in plan_select if not unknown_entries([e], known)]
    plan_ignore = [e for e in plan_ignore if not unknown_entries([e], known)]
    codes = resolve(registry.rules, select=select, ignore=ignore, plan_select=plan_select, plan_ignore=plan_ignore)
    severity: dict[str, str] = {}
    for code, level in (spec.get("severity") or {}).items():
        if code.upper() in known:
            severity[code.upper()] = level
        else:
            notes.append(f"plan {slug}: rules.severity: unknown rule {code!r} ignored")
    severity.update(cli_severity)
    plan_config = {str(code).upper(): values for code, values in (spec.get("config") or {}).items()}
    config: dict[str, dict[str, OptionValue]] = {}
    for code in codes:
        rule = registry.rules[code]
        try:
            rule.configure(plan_config.get(code))
        except ValueError as exc:
            raise BadInput(f"plan {slug}: rules.config: {exc}") from None
        config[code] = rule.configure({**(plan_config.get(code) or {}), **cli_config.get(code, {})})
    for code in sorted(set(plan_config) - known):
        notes.append(f"plan {slug}: rules.config: unknown rule {code!r} ignored")
    return {"codes": codes, "severity": {c: s for c, s in severity.items() if c in codes}, "config": config}


def _run_rule(
    rule: Rule, frames: Frames, config: dict[str, OptionValue], severity: str | None, plans: list[str], debug: bool
) -> list[Finding]:
    from cpflow.rules.context import Context

    try:
        result = rule.check(Context(frames.as_of, frames, config))
        return _to_findings(rule, result, severity, set(plans))
    except Exception as exc:  # noqa: BLE001 (one broken rule never stops the others)
        error = f"{type(exc).__name__}: {exc}"
        data = {"rule": rule.code, "error": error, "plans": sorted(plans)}
        if debug:
            data["traceback"] = traceback.format_exc()
        first = min(plans)
        return [Finding("E001", "error", first, first, f"rule {rule.code} ({rule.title}) failed: {error}", data)]


def _one_crash_per_rule(found: list[Finding]) -> list[Finding]:
    """Merge the E001 findings of a rule that failed for several groups of plans."""
    crashes: dict[str, Finding] = {}
    kept = []
    for finding in found:
        if finding.code != "E001":
            kept.append(finding)
            continue
        first = crashes.get(finding.data["rule"])
        if first is None:
            crashes[finding.data["rule"]] = finding
        else:
            first.data["plans"] = sorted({*first.data["plans"], *finding.data["plans"]})
    return kept + [
        Finding("E001", "error", min(f.data["plans"]), min(f.data["plans"]), f.message, f.data) for f in crashes.values()
    ]


def _to_findings(
    rule: Rule, result: pd.DataFrame | Sequence[Finding] | None, severity: str | None, plans: set[str]
) -> list[Finding]:
    """The rule's DataFrame (or Finding objects) as Findings with code and severity set."""
    if result is None:
        return []
    if not hasattr(result, "columns"):  # Finding objects; a DataFrame has columns
        return [_finalise(rule, f, severity) for f in result if f.plan in plans]
    return _frame_findings(rule, result, severity, plans)


def _frame_findings(rule: Rule, result: pd.DataFrame, severity: str | None, plans: set[str]) -> list[Finding]:
    """The rows of a findings DataFrame (see `findings`) about `plans`, as Findings."""
    columns = [c for c in result.columns if c.startswith("data.")]
    missing = {"subject", "plan", "message"} - set(result.columns)
    if missing:
        raise ValueError(f"the findings frame has no {', '.join(sorted(missing))} column")
    frame = result[result["plan"].isin(plans)]
    subjects = frame["subject"].astype(str).tolist()
    plan_names = frame["plan"].astype(str).tolist()
    messages = frame["message"].astype(str).tolist()
    levels = [severity or rule.severity] * len(frame)
    if severity is None and "severity" in frame.columns:
        levels = [own if isinstance(own, str) and own in SEVERITIES else rule.severity for own in frame["severity"].tolist()]
    keys = [c[5:] for c in columns]
    values = zip(*(_column_values(frame[c]) for c in columns)) if columns else itertools.repeat(())
    return [
        Finding(rule.code, level, subject, plan, message, dict(zip(keys, row)))
        for level, subject, plan, message, row in zip(levels, subjects, plan_names, messages, values)
    ]


def _column_values(series: pd.Series) -> list[Any]:
    """A findings column as JSON-ready Python values, converted once per column."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d").astype(object).where(series.notna(), None).tolist()
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype(object).where(series.notna(), None).tolist()
    return [_plain(value) for value in series.tolist()]


def _finalise(rule: Rule, finding: Finding, severity: str | None) -> Finding:
    level = severity or (finding.severity if finding.severity in SEVERITIES else rule.severity)
    return Finding(rule.code, level, finding.subject, finding.plan, finding.message, dict(finding.data))


def _plain(value: Any) -> Any:
    """A DataFrame cell as a JSON-ready Python value (dates as ISO text, missing as None)."""
    import numpy as np
    import pandas as pd

    if isinstance(value, (list, tuple, dict)):
        return value
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def registry_for(plugins: Plugins) -> RuleRegistry:
    """The rule registry of a plugin set, built once per set; a rule that could not be
    registered is added to the set's `failures`."""
    registry = plugins.cache.get("rules")
    if registry is None:
        registry = plugins.cache["rules"] = RuleRegistry.from_plugins(plugins)
        plugins.failures.extend(PluginFailure(name, error) for name, error in registry.problems)
    return registry


def describe_plugins(plugins: Plugins) -> list[dict[str, Any]]:
    """`Plugins.describe()` with each plugin's rule codes (what `cpflow plugins` lists)."""
    return plugins.describe(registry_for(plugins).codes_of)
