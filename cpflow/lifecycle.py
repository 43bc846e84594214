"""The lifecycle: one `transitions.Machine` built from a definition is the transition
table for every activity. Activities stay plain rows; nothing here holds per-activity
state, so checking a move costs a dictionary lookup."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib.resources import files

import yaml
from transitions import Machine

from cpflow.errors import BadInput, IllegalTransition

ROLES = ("lead", "co-lead", "member", "reviewer")


@dataclass(frozen=True)
class Rule:
    """What one trigger needs besides an allowed source state."""

    reason_required: bool = False
    ref_recommended: bool = False
    roles: tuple[str, ...] = ()


@dataclass
class Lifecycle:
    """A validated lifecycle definition and the Machine built from it."""

    initial: str
    states: tuple[str, ...]
    final: tuple[str, ...]
    rules: dict[str, Rule]
    iati_status: dict[str, int] = field(default_factory=dict)
    machine: Machine = field(repr=False, default=None)

    @classmethod
    def from_definition(cls, definition: dict) -> Lifecycle:
        problems = definition_problems(definition)
        if problems:
            raise BadInput("invalid lifecycle: " + "; ".join(problems))
        transitions = [{"trigger": t["trigger"], "source": t["source"], "dest": t["dest"]} for t in definition["transitions"]]
        machine = Machine(
            model=None,
            states=list(definition["states"]),
            transitions=transitions,
            initial=definition["initial"],
            auto_transitions=False,
        )
        roles = definition.get("roles", {})
        rules = {
            t["trigger"]: Rule(
                reason_required=t.get("reason") == "required",
                ref_recommended=t.get("ref") == "recommended",
                roles=tuple(roles.get(t["trigger"], ())),
            )
            for t in definition["transitions"]
        }
        return cls(
            initial=definition["initial"],
            states=tuple(definition["states"]),
            final=tuple(definition.get("final", ())),
            rules=rules,
            iati_status=dict(definition.get("iati_status", {})),
            machine=machine,
        )

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(self.rules)

    def allowed(self, state: str) -> list[str]:
        """Triggers that may fire from `state`, in definition order."""
        return [t for t in self.rules if self._dest(state, t) is not None]

    def _dest(self, state: str, trigger: str) -> str | None:
        event = self.machine.events.get(trigger)
        if event is None or state not in event.transitions:
            return None
        return event.transitions[state][0].dest

    def destination(self, subject: str, state: str, trigger: str) -> str:
        """The state `trigger` leads to from `state`, or IllegalTransition naming what is allowed."""
        if trigger not in self.rules:
            raise BadInput(f"{subject}: unknown trigger {trigger!r}; triggers are {', '.join(self.rules)}")
        dest = self._dest(state, trigger)
        if dest is None:
            allowed = self.allowed(state)
            options = ", ".join(allowed) if allowed else "none (it is final)"
            raise IllegalTransition(f"{subject} is {state}: cannot {trigger}; allowed from {state}: {options}")
        return dest


def definition_problems(definition: object) -> list[str]:
    """Everything wrong with a lifecycle definition (empty when it is valid)."""
    if not isinstance(definition, dict):
        return ["expected a mapping with initial, states and transitions"]
    problems = []
    states = definition.get("states")
    if not isinstance(states, list) or not states or not all(isinstance(s, str) for s in states):
        return ["states: expected a non-empty list of names"]
    if definition.get("initial") not in states:
        problems.append(f"initial: expected one of {', '.join(states)}")
    for name in definition.get("final", []) or []:
        if name not in states:
            problems.append(f"final: unknown state {name!r}")
    transitions = definition.get("transitions")
    if not isinstance(transitions, list) or not transitions:
        return problems + ["transitions: expected a non-empty list"]
    for i, t in enumerate(transitions):
        if not isinstance(t, dict) or not isinstance(t.get("trigger"), str):
            problems.append(f"transitions[{i}]: expected a mapping with trigger, source and dest")
            continue
        sources = t.get("source")
        sources = sources if isinstance(sources, list) else [sources]
        for source in sources:
            if source not in states:
                problems.append(f"transitions[{i}].source: unknown state {source!r}")
        if t.get("dest") not in states:
            problems.append(f"transitions[{i}].dest: unknown state {t.get('dest')!r}")
        unknown = set(t) - {"trigger", "source", "dest", "reason", "ref"}
        if unknown:
            problems.append(f"transitions[{i}]: unknown key {sorted(unknown)[0]!r}")
    for trigger, roles in (definition.get("roles") or {}).items():
        bad = [r for r in (roles or []) if r not in ROLES]
        if bad:
            problems.append(f"roles.{trigger}: unknown role {bad[0]!r}; roles are {', '.join(ROLES)}")
    return problems


@functools.cache
def _default_text() -> str:
    return (files("cpflow") / "lifecycle.yaml").read_text(encoding="utf-8")


def default_definition() -> dict:
    """cpflow's default lifecycle as a fresh dict (callers may change their copy)."""
    return yaml.safe_load(_default_text())


@functools.cache
def _default() -> Lifecycle:
    return Lifecycle.from_definition(default_definition())


@functools.cache
def _cached(definition_json: str) -> Lifecycle:
    return Lifecycle.from_definition(json.loads(definition_json))


def lifecycle_for(definition: dict | None) -> Lifecycle:
    """The Lifecycle for a plan's override, or the default; each is built once per process."""
    if definition is None:
        return _default()
    return _cached(json.dumps(definition, sort_keys=True))
