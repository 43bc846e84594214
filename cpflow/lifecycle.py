"""The lifecycle: one `transitions.Machine` built from a definition is the transition
table for every activity. Activities stay plain rows; nothing here holds per-activity
state, so checking a move costs a dictionary lookup.

A lifecycle also says what its states mean, with tags (see `TAGS`): rules, reports and
exports ask "is this state final / cancelled / active in this plan's lifecycle?" rather
than naming the default lifecycle's states, so a plan with its own lifecycle (renamed
states, an extra "on hold") is judged by what its states mean.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Protocol

import yaml
from transitions import Machine

from cpflow.errors import BadInput, IllegalTransition
from cpflow.roles import ROLES  # noqa: F401 (a lifecycle names which roles may make a move)

# What a state may mean. `initial` and `final` also follow from the definition's
# `initial:` and `final:` keys; a state may carry several tags.
TAGS = {
    "initial": "nothing decided yet: the state a new activity starts in",
    "endorsed": "agreed to go ahead, not started",
    "active": "work under way (judged for staleness)",
    "paused": "started, then put on hold",
    "done": "completed (counts as achieved)",
    "cancelled": "dropped: no longer part of the plan's live work",
    "final": "needs nothing more (not overdue, not late for its phase)",
}
IATI_STATUS_CODES = (1, 2, 3, 4, 5, 6)  # IATI ActivityStatus codelist


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
    machine: Machine = field(repr=False)
    iati_status: dict[str, int] = field(default_factory=dict)
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # state -> its tags

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> Lifecycle:
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
        states = tuple(definition["states"])
        final = tuple(definition.get("final") or ())
        declared = definition.get("tags") or None  # `tags: {}` (a schema default) declares nothing
        tags: dict[str, tuple[str, ...]] = {}
        for state in states:
            own = list(declared.get(state) or ()) if declared is not None else list(_default_tags().get(state, ()))
            own += ["initial"] if state == definition["initial"] else []
            own += ["final"] if state in final else []
            tags[state] = tuple(dict.fromkeys(own))
        return cls(
            initial=definition["initial"],
            states=states,
            final=tuple(s for s in states if "final" in tags[s]),
            rules=rules,
            iati_status=dict(definition.get("iati_status") or {}),
            machine=machine,
            tags=tags,
        )

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(self.rules)

    def tagged(self, *tags: str) -> tuple[str, ...]:
        """The states carrying any of `tags`, in definition order."""
        return tuple(s for s in self.states if set(self.tags.get(s, ())) & set(tags))

    def has(self, state: str, tag: str) -> bool:
        return tag in self.tags.get(state, ())

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
    unknown_keys = sorted(set(definition) - {"initial", "states", "final", "transitions", "roles", "iati_status", "tags"})
    if unknown_keys:
        problems.append(f"unknown key {unknown_keys[0]!r}")
    if not isinstance(definition.get("initial"), str) or definition.get("initial") not in states:
        problems.append(f"initial: expected one of {', '.join(states)}")
    final = definition.get("final")
    if final is not None and not (isinstance(final, list) and all(isinstance(name, str) for name in final)):
        problems.append(f"final: expected a list of state names, got {final!r}")
        final = []
    for name in final or []:
        if name not in states:
            problems.append(f"final: unknown state {name!r}")
    problems += _tag_problems(definition.get("tags"), states)
    problems += _iati_problems(definition.get("iati_status"), states)
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
    roles = definition.get("roles")
    if roles is not None and not isinstance(roles, dict):
        return problems + [f"roles: expected a mapping of trigger to a list of roles, got {roles!r}"]
    triggers = {t["trigger"] for t in transitions if isinstance(t, dict)}
    for trigger, held in (roles or {}).items():
        if trigger not in triggers:
            problems.append(f"roles: unknown trigger {trigger!r}")
        if held is not None and not (isinstance(held, list) and all(isinstance(r, str) for r in held)):
            problems.append(f"roles.{trigger}: expected a list of roles, got {held!r}")
            continue
        bad = [r for r in (held or []) if r not in ROLES]
        if bad:
            problems.append(f"roles.{trigger}: unknown role {bad[0]!r}; roles are {', '.join(ROLES)}")
    return problems


def _tag_problems(tags: object, states: list[str]) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, dict):
        return [f"tags: expected a mapping of state to a list of tags, got {tags!r}"]
    problems = []
    for state, own in tags.items():
        if state not in states:
            problems.append(f"tags: unknown state {state!r}")
        elif not (isinstance(own, list) and all(isinstance(tag, str) for tag in own)):
            problems.append(f"tags.{state}: expected a list of tags, got {own!r}")
        else:
            problems += [f"tags.{state}: unknown tag {tag!r}; tags are {', '.join(TAGS)}" for tag in own if tag not in TAGS]
    return problems


def _iati_problems(mapping: object, states: list[str]) -> list[str]:
    if mapping is None:
        return []
    if not isinstance(mapping, dict):
        return [f"iati_status: expected a mapping of state to an IATI ActivityStatus code, got {mapping!r}"]
    problems = []
    for state, code in mapping.items():
        if state not in states:
            problems.append(f"iati_status: unknown state {state!r}")
        elif isinstance(code, bool) or code not in IATI_STATUS_CODES:
            problems.append(f"iati_status.{state}: expected an IATI ActivityStatus code (1-6), got {code!r}")
    return problems


@functools.cache
def _default_text() -> str:
    return (files("cpflow") / "lifecycle.yaml").read_text(encoding="utf-8")


def default_definition() -> dict[str, Any]:
    """cpflow's default lifecycle as a fresh dict (callers may change their copy)."""
    return yaml.safe_load(_default_text())


@functools.cache
def _default_tags() -> dict[str, list[str]]:
    """The default lifecycle's tags, which a lifecycle without `tags:` takes for shared states."""
    return default_definition()["tags"]


@functools.cache
def _default() -> Lifecycle:
    return Lifecycle.from_definition(default_definition())


@functools.cache
def _cached(definition_json: str) -> Lifecycle:
    return Lifecycle.from_definition(json.loads(definition_json))


def lifecycle_for(definition: dict[str, Any] | None) -> Lifecycle:
    """The Lifecycle for a plan's override, or the default; each is built once per process."""
    if not definition:
        return _default()
    return _cached(json.dumps(definition, sort_keys=True, default=str))


class PlansFrame(Protocol):
    """What `lifecycles_of` reads of a pandas DataFrame (the lifecycle does not import pandas)."""

    @property
    def columns(self) -> Collection[str]: ...
    def __getitem__(self, column: str, /) -> Iterable[Any]: ...
    def __len__(self) -> int: ...


class Column(Protocol):
    """What `state_tagged` uses of a pandas Series (the lifecycle does not import pandas)."""

    def isin(self, values: Iterable[str], /) -> Column: ...
    def __and__(self, other: Column, /) -> Column: ...
    def __or__(self, other: Column, /) -> Column: ...
    def rename(self, name: None, /) -> Column: ...


def lifecycles_of(plans: PlansFrame) -> dict[str, Lifecycle]:
    """Each plan's Lifecycle by slug, from a plans frame (`slug` and, when present, `lifecycle`)."""
    definitions = plans["lifecycle"] if "lifecycle" in plans.columns else [None] * len(plans)
    return {slug: lifecycle_for(definition) for slug, definition in zip(plans["slug"], definitions)}


def state_tagged(plans: Column, states: Column, lifecycles: dict[str, Lifecycle], *tags: str) -> Column:
    """A boolean Series: True where the row's state carries any of `tags` in its plan's
    lifecycle. `plans` and `states` are aligned pandas Series (no pandas import here)."""
    # Plans that share a lifecycle share its tagged states: one hashed lookup per distinct
    # set, not a "plan + state" text built for every row (slow on a large event log).
    slugs_of: dict[tuple[str, ...], list[str]] = {}
    for slug, lifecycle in lifecycles.items():
        slugs_of.setdefault(tuple(sorted(lifecycle.tagged(*tags))), []).append(slug)
    tagged = states.isin(())
    for wanted, slugs in slugs_of.items():
        tagged |= plans.isin(slugs) & states.isin(wanted)
    return tagged.rename(None)
