"""Organisations and localisation (issue 16): the organisations a plan declares, which
named leads they are, and rule C505, the share of live activities led or co-led by
national or local actors (the Grand Bargain's 25%).

Organisations are declared once in the plan file (`organisations:`) and stored with the
plan's rules (`rules.standards.organisations`, written by the loader). Leads stay free
text: a lead such as "Save the Children and UNICEF" is matched name by name to the
declared organisations (by name, acronym or "Name (ACRONYM)", without regard to case);
what matches no declaration is *unclassified*, and the figure says how many.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cpflow.plugins import hookimpl
from cpflow.rules.base import Option, RegisterRule, Rule, findings

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from cpflow.rules.context import Context

NATIONAL = "national/local"
INTERNATIONAL = "international"
UNCLASSIFIED = "unclassified"
THRESHOLD = 25.0  # percent: the Grand Bargain commitment (25% of funding to local and national responders)

_LISTS = re.compile(r"\s*[;,\n]\s*")
_JOINS = re.compile(r"\s+(?:and|&)\s+|\s*/\s*", re.IGNORECASE)
_PAREN = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


# A declared organisation as the plan's stored rules hold it (`plans.schema.OrganisationSpec`):
# name, and when declared acronym, iati_id, type (an IATI OrganisationType code), national_or_local.
Organisation = dict[str, Any]


def standards_of(rules: Mapping[str, Any] | None) -> dict[str, Any]:
    """The plan's standards settings (organisations, iati, aggregation) from its stored rules."""
    return dict((rules or {}).get("standards") or {})


@dataclass(frozen=True)
class Organisations:
    """A plan's declared organisations, looked up by name or acronym."""

    declared: tuple[Organisation, ...] = ()
    _index: dict[str, Organisation] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, rules: Mapping[str, Any] | None) -> Organisations:
        declared: tuple[Organisation, ...] = tuple(standards_of(rules).get("organisations") or ())
        index: dict[str, Organisation] = {}
        for org in declared:
            for key in (org.get("name"), org.get("acronym")):
                if key:
                    index.setdefault(_fold(key), org)
        return cls(declared, index)

    def find(self, name: str) -> Organisation | None:
        """The organisation `name` refers to: its name, acronym, or "Name (ACRONYM)"."""
        folded = _fold(name)
        if folded in self._index:
            return self._index[folded]
        match = _PAREN.match(name.strip())
        if match:
            return self._index.get(_fold(match.group(1))) or self._index.get(_fold(match.group(2)))
        return None

    def split(self, text: str | None) -> list[str]:
        """The names in a free-text lead: the whole text when it names one organisation,
        else its parts split on `;` `,` and then on `and`, `&`, `/` where that helps."""
        if not text or not text.strip():
            return []
        if self.find(text):
            return [text.strip()]
        names: list[str] = []
        for part in (p for p in _LISTS.split(text.strip()) if p):
            pieces = [p for p in _JOINS.split(part) if p]
            names += [part] if self.find(part) or len(pieces) == 1 else pieces
        return names


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def classify(names: Sequence[str], orgs: Organisations) -> tuple[str, list[str]]:
    """(class, the national or local leads): national/local when any lead is one, else
    international when every lead is declared, else unclassified (no lead, or one unknown)."""
    found = [orgs.find(name) for name in names]
    local = [org["name"] for org in found if org is not None and org.get("national_or_local")]
    if local:
        return NATIONAL, list(dict.fromkeys(local))
    if names and all(org is not None for org in found):
        return INTERNATIONAL, []
    return UNCLASSIFIED, []


def lead_names(activities: pd.DataFrame, units: pd.DataFrame, orgs_by_plan: Mapping[str, Organisations]) -> list[list[str]]:
    """Each activity's lead names: its own lead, else its unit's leads (as the frames' `lead`)."""
    unit_leads = {(plan, key): list(leads or []) for plan, key, leads in zip(units["plan"], units["key"], units["leads"])}
    # Leads repeat across a plan's activities: each (plan, lead, unit) is split once.
    memo: dict[tuple[str, str | None, str | None], list[str]] = {}
    out = []
    columns = (activities["plan"].tolist(), activities["own_lead"].tolist(), activities["unit"].tolist())
    for plan, own, unit in zip(*columns, strict=True):
        own = own if isinstance(own, str) and own.strip() else None
        key = (plan, own, None if own else unit)
        if key not in memo:
            orgs = orgs_by_plan.get(plan, Organisations())
            memo[key] = orgs.split(own) if own else [n for lead in unit_leads.get((plan, unit), []) for n in orgs.split(lead)]
        out.append(list(memo[key]))
    return out


def localisation_table(ctx: Context) -> pd.DataFrame:
    """One row per live activity: plan, id, objective, unit, leads, class, local_leads."""
    orgs = {slug: Organisations.of(rules) for slug, rules in zip(ctx.plans["slug"], ctx.plans["rules"], strict=True)}
    acts = ctx.activities
    acts = acts[~ctx.tagged(acts, "cancelled")].reset_index(drop=True)  # live: not dropped, as in C501-C504
    names = lead_names(acts, ctx.units, orgs)
    memo: dict[tuple[str, ...], tuple[str, list[str]]] = {}
    classes = []
    for n, plan in zip(names, acts["plan"].tolist(), strict=True):
        key = (plan, *n)
        if key not in memo:
            memo[key] = classify(n, orgs.get(plan, Organisations()))
        cls, local = memo[key]
        classes.append((cls, list(local)))
    table = acts[["plan", "id", "objective", "unit"]].copy()
    table["leads"] = names
    table["class"] = [c for c, _ in classes]
    table["local_leads"] = [local for _, local in classes]
    return table


def shares(table: pd.DataFrame, by: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per plan (and `by` columns): live activities, national/local-led, unclassified, share %."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for key, cls in zip(zip(*(table[c] for c in ("plan", *by))) if len(table) else [], table["class"], strict=False):
        groups.setdefault(tuple(None if v != v else v for v in key), []).append(cls)
    out = []
    for key, classes in groups.items():
        live, local = len(classes), classes.count(NATIONAL)
        out.append({
            **dict(zip(("plan", *by), key, strict=True)), "live": live, "national_or_local": local,
            "unclassified": classes.count(UNCLASSIFIED), "share": round(100.0 * local / live, 1) if live else None,
        })  # fmt: skip
    return out


def declared_local(rules: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The organisations that count as national or local actors, and why (their declaration)."""
    out = []
    for org in Organisations.of(rules).declared:
        if org.get("national_or_local"):
            kind = _type_name(org) or "type not declared"
            out.append({"name": org["name"], "acronym": org.get("acronym"), "type": org.get("type"),
                        "why": f"declared national or local ({kind})"})  # fmt: skip
    return out


# IATI 2.03 OrganisationType names (cpflow/exports/codelists/OrganisationType.xml).
ORGANISATION_TYPE_NAMES: dict[int, str] = {
    10: "Government", 11: "Local Government", 15: "Other Public Sector", 21: "International NGO", 22: "National NGO",
    23: "Regional NGO", 24: "Partner Country based NGO", 30: "Public Private Partnership", 40: "Multilateral",
    60: "Foundation", 70: "Private Sector", 71: "Private Sector in Provider Country", 72: "Private Sector in Aid Recipient Country",
    73: "Private Sector in Third Country", 80: "Academic, Training and Research", 90: "Other",
}  # fmt: skip


def _type_name(org: Organisation) -> str | None:
    code = org.get("type")
    return None if code is None else ORGANISATION_TYPE_NAMES.get(code)


@dataclass(frozen=True)
class NameUse:
    name: str
    declared: str | None  # the declared organisation's name it refers to, or None
    uses: tuple[str, ...]  # where: "lead of 1.2", "lead of unit wg1", "contributor to 2.1", "member of wg1"


def names_used(
    rules: Mapping[str, Any] | None,
    activities: Iterable[tuple[str, str | None, Sequence[str] | None]],
    units: Iterable[tuple[str, Sequence[str] | None, Sequence[str] | None]],
) -> list[NameUse]:
    """Every organisation name a plan uses (leads, contributors, unit leads and members),
    in first-use order, with the declared organisation it refers to, if any.

    `activities` yields (code, lead, contributors); `units` yields (key, leads, members)."""
    orgs = Organisations.of(rules)
    seen: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}

    def use(text: str | None, where: str) -> None:
        for name in orgs.split(text):
            spelled.setdefault(_fold(name), name)
            seen.setdefault(_fold(name), []).append(where)

    for key, leads, members in units:
        for unit_lead in leads or []:
            use(unit_lead, f"lead of unit {key}")
        for member in members or []:
            use(member, f"member of unit {key}")
    for code, lead, contributors in activities:
        use(lead, f"lead of {code}")
        for contributor in contributors or []:
            use(contributor, f"contributor to {code}")
    out = []
    for folded, uses in seen.items():
        org = orgs.find(spelled[folded])
        out.append(NameUse(spelled[folded], org["name"] if org else None, tuple(uses)))
    return out


class LocalisationShare(Rule):
    code = "C505"
    title = "Too few live activities led by national or local actors"
    severity = "info"
    pack = "coverage"
    description = (
        "In a plan that declares organisations, the share of live activities (not dropped) "
        "led or co-led by a declared national or local actor is below `threshold` percent (default 25, the "
        "Grand Bargain commitment). One finding per gap: the plan when its share is below (naming the "
        "objectives and units below too), else each objective or unit below. Leads that name no declared "
        "organisation are counted as not national or local and reported as unclassified."
    )
    options = {"threshold": Option(THRESHOLD, "minimum share in percent", minimum=0, maximum=100)}

    def check(self, ctx: Context) -> pd.DataFrame:
        import pandas as pd

        threshold = float(ctx.config.get("threshold", THRESHOLD))
        table = localisation_table(ctx)
        declaring = {slug for slug, rules in zip(ctx.plans["slug"], ctx.plans["rules"], strict=True)
                     if Organisations.of(rules).declared}  # fmt: skip
        table = table[table["plan"].isin(declaring)]
        below: dict[tuple[str, str | None], list[dict[str, Any]]] = {}  # (plan, label) -> the shares below the threshold
        for by, label in (((), None), (("objective",), "objective"), (("unit",), "unit")):
            for share in shares(table, by):
                if label and share.get(label) is None:
                    continue
                if share["share"] is not None and share["share"] < threshold:
                    below.setdefault((share["plan"], label), []).append(share)
        rows = []
        for (plan, label), found in below.items():
            if label is not None and (plan, None) in below:
                continue  # the plan's own finding names them: one finding per gap, not one per objective and unit
            for share in found:
                rows.append(self._row(share, label, threshold, below))
        frame = pd.DataFrame(rows, columns=["plan", "subject", "share", "live", "national_or_local", "unclassified", "below",
                                            "message"])  # fmt: skip
        return findings(frame, frame["message"], subject="subject",
                        data=["share", "live", "national_or_local", "unclassified", "below"])  # fmt: skip

    @staticmethod
    def _row(
        share: dict[str, Any], label: str | None, threshold: float, below: Mapping[tuple[str, str | None], list[dict[str, Any]]]
    ) -> dict[str, Any]:
        """One finding: a plan short of the threshold (naming its objectives and units that are
        short too), or, in a plan that meets it, one objective or unit that does not."""
        plan = share["plan"]
        key = share.get(label) if label else None
        subject = plan if label is None else f"{plan}:{key}"
        what = "" if label is None else f" ({label} {key})"
        unclassified = f"; {share['unclassified']} could not be classified" if share["unclassified"] else ""
        also = []
        if label is None:
            for group in ("objective", "unit"):
                keys = [str(s[group]) for s in below.get((plan, group), [])]
                if keys:
                    also.append(f"{len(keys)} {group}{'s' if len(keys) > 1 else ''} below too ({', '.join(keys[:5])}"
                                f"{', …' if len(keys) > 5 else ''})")  # fmt: skip
        return {
            "plan": plan, "subject": subject, "share": share["share"], "live": share["live"],
            "national_or_local": share["national_or_local"], "unclassified": share["unclassified"],
            "below": [f"{group} {s[group]}" for group in ("objective", "unit") for s in below.get((plan, group), [])]
                     if label is None else [],
            "message": f"{subject}{what}: {share['national_or_local']} of {share['live']} live activities "
                       f"({share['share']:g}%) are led or co-led by national or local actors, below {threshold:g}%"
                       f"{unclassified}{'; ' + '; '.join(also) if also else ''}",
        }  # fmt: skip


RULES = (LocalisationShare(),)


@hookimpl
def register_rules(register: RegisterRule) -> None:
    for rule in RULES:
        register(rule)


def organisation_rows(session: Session, slug: str) -> list[dict[str, Any]]:
    """`cpflow orgs`: the declared organisations, then every name the plan uses that
    declares none, each with where it is used."""
    from sqlalchemy import select

    from cpflow.models import Activity, Unit
    from cpflow.read.lookup import find_plan

    plan = find_plan(session, slug)
    activities = session.execute(
        select(Activity.code, Activity.lead, Activity.contributors).where(Activity.plan_id == plan.id)
        .order_by(Activity.position, Activity.id)
    ).all()  # fmt: skip
    units = session.execute(select(Unit.key, Unit.leads, Unit.members).where(Unit.plan_id == plan.id).order_by(Unit.id)).all()
    used = names_used(plan.rules, activities, units)
    uses_of: dict[str, list[str]] = {}
    for use in used:
        if use.declared is not None:
            uses_of.setdefault(use.declared, []).extend(use.uses)
    rows = []
    for org in Organisations.of(plan.rules).declared:
        uses = uses_of.get(org["name"], [])
        rows.append({
            "name": org["name"], "acronym": org.get("acronym"), "iati_id": org.get("iati_id"), "type": org.get("type"),
            "type_name": _type_name(org), "national_or_local": bool(org.get("national_or_local")),
            "declared": True, "used": len(uses), "where": "; ".join(uses[:5]) + (" …" if len(uses) > 5 else ""),
        })  # fmt: skip
    for use in used:
        if use.declared is None:
            rows.append({
                "name": use.name, "acronym": None, "iati_id": None, "type": None, "type_name": None,
                "national_or_local": None, "declared": False, "used": len(use.uses),
                "where": "; ".join(use.uses[:5]) + (" …" if len(use.uses) > 5 else ""),
            })  # fmt: skip
    return rows
