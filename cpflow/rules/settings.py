"""Validate a plan's `rules:` section when the plan is loaded, so a bad setting is one
clear line at `cpflow load` rather than a failure at every later `check` or report.

`validate_rule_settings(rules_section)` returns the problems as text, each naming its
path (`rules.config.T103.days: expected at most 36500, got 1e+308`). Rules that are not
registered (a plugin not installed here) are not judged: `check` notes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cpflow.rules.base import CODE_PATTERN, SEVERITIES
from cpflow.rules.selection import split_codes, valid_entry

if TYPE_CHECKING:
    from cpflow.rules.engine import RuleRegistry

SECTION_KEYS = ("select", "ignore", "severity", "config")


def validate_rule_settings(rules_section: Any, registry: RuleRegistry | None = None) -> list[str]:
    """Everything wrong with a plan's `rules:` section (empty when it is valid).

    `registry` is a `RuleRegistry` (default: every installed plugin's rules). Besides
    `select`, `ignore`, `severity` and `config`, a rule code may map to `{reason: TEXT}`:
    the plan waives that rule's findings, and says why.
    """
    from cpflow.rules.engine import ACTIVITY_WAIVERS, normalise_code, registry_for

    if rules_section is None:
        return []
    if not isinstance(rules_section, Mapping):
        return [f"rules: expected a mapping, got {_shown(rules_section)}"]
    if registry is None:
        from cpflow.plugins.manager import get_plugins

        registry = registry_for(get_plugins())
    problems = []
    for key in ("select", "ignore"):
        entries = rules_section.get(key) or []
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            problems.append(f"rules.{key}: expected a list of rule codes or prefixes, got {_shown(entries)}")
            continue
        problems += [f"rules.{key}: {e!r} is not a rule code or prefix (such as T, F3, T103)"
                     for e in split_codes(entries) if not valid_entry(e)]  # fmt: skip
    severity = rules_section.get("severity") or {}
    if not isinstance(severity, Mapping):
        problems.append(f"rules.severity: expected a mapping of rule code to severity, got {_shown(severity)}")
        severity = {}
    for code, level in severity.items():
        if level not in SEVERITIES:
            problems.append(f"rules.severity.{code}: expected one of {', '.join(SEVERITIES)}, got {_shown(level)}")
    config = rules_section.get("config") or {}
    if not isinstance(config, Mapping):
        problems.append(f"rules.config: expected a mapping of rule code to settings, got {_shown(config)}")
        config = {}
    for code, values in config.items():
        if not isinstance(values, Mapping):
            problems.append(f"rules.config.{code}: expected a mapping of settings, got {_shown(values)}")
            continue
        rule = registry.rules.get(normalise_code(code))
        if rule is None:
            continue
        try:
            rule.configure(values)
        except ValueError as exc:
            problems.append(f"rules.config.{exc}")
    for key, value in rules_section.items():
        if key in SECTION_KEYS or key == ACTIVITY_WAIVERS:
            continue
        if not CODE_PATTERN.fullmatch(normalise_code(key)):
            problems.append(f"rules: unknown key {key!r}; expected {', '.join(SECTION_KEYS)} or a rule code to waive")
        else:
            problems += _waiver_problems(f"rules.{key}", value)
    waived = rules_section.get(ACTIVITY_WAIVERS) or {}
    for activity, rules in waived.items() if isinstance(waived, Mapping) else []:
        problems += activity_waiver_problems(f"activity {activity}: waive", rules)
    return problems


def _waiver_problems(path: str, value: Any) -> list[str]:
    if not isinstance(value, Mapping) or set(value) != {"reason"}:
        return [f"{path}: expected {{reason: TEXT}} (why the plan waives this rule), got {_shown(value)}"]
    if not isinstance(value["reason"], str) or not value["reason"].strip():
        return [f"{path}.reason: a waiver needs a reason"]
    return []


def activity_waiver_problems(path: str, value: Any) -> list[str]:
    """Problems of an activity's `waive:` mapping (rule code -> reason)."""
    if not isinstance(value, Mapping):
        return [f"{path}: expected a mapping of rule code to reason, got {_shown(value)}"]
    problems = []
    for code, reason in value.items():
        if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code.strip().upper()):
            problems.append(f"{path}: {code!r} is not a rule code (such as G401)")
        elif not isinstance(reason, str) or not reason.strip():
            problems.append(f"{path}.{code}: a waiver needs a reason")
    return problems


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
