"""The compliance report: every finding of `cpflow check` for the date and rule
selection, counts by severity and pack, and a rule × objective (or unit) matrix that
shows a reviewer where the problems sit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from cpflow.codes import SEVERITIES
from cpflow.reports.model import Chart, Column, Figure, Report, Section

FINDING_COLUMNS = ("code", "severity", "pack", "rule", "plan", "subject", "where", "message", "data")


@dataclass
class ComplianceReport(Report):
    """A compliance report; `findings` holds one row per finding (with its data), `waived`
    one per finding the plan waived (with its reason in `waived`)."""

    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    waived: pd.DataFrame = field(default_factory=pd.DataFrame)  # the waived findings, with the reason


_ROW_FIELDS = ("code", "severity", "subject", "plan", "message", "data", "waived")


def findings_frame(check, registry, findings: list | None = None) -> pd.DataFrame:
    """The check's findings (already sorted by the engine) with each rule's pack and title;
    `findings` instead of `check.findings` for another list (the waived findings). Built
    column by column from the findings themselves: no dict per finding on the way."""
    findings = check.findings if findings is None else findings
    columns = {name: [getattr(f, name) for f in findings] for name in _ROW_FIELDS} if findings else []
    frame = pd.DataFrame(columns, columns=list(_ROW_FIELDS))
    rules = pd.DataFrame(
        [(code, rule.pack or "other", rule.title) for code, rule in registry.rules.items()], columns=["code", "pack", "rule"]
    )
    frame = frame.merge(rules, how="left", on="code")
    engine = frame["pack"].isna()
    frame.loc[engine, "pack"] = "engine"
    frame.loc[engine, "rule"] = "A rule failed while checking"
    return frame


def locate(findings: pd.DataFrame, frames) -> pd.Series:
    """Where each finding sits: the objective of an activity or objective subject, the
    unit of a unit subject, what an indicator measures, else the plan itself."""
    acts = frames.activities[["id", "objective", "unit"]]
    by_activity = _prefixed(acts.set_index("id")["objective"].dropna(), "objective")
    unit_of_activity = _prefixed(acts[acts["objective"].isna()].set_index("id")["unit"].dropna(), "unit")
    by_objective = frames.objectives.set_index("id")["code"].map(lambda code: f"objective {code}")
    by_unit = frames.units.set_index("id")["key"].map(lambda key: f"unit {key}")
    by_indicator = frames.indicators.set_index("id")["of"].str.replace(":", " ", n=1, regex=False)
    lookup = pd.concat([by_activity, unit_of_activity, by_objective, by_unit, by_indicator])
    lookup = lookup[~lookup.index.duplicated(keep="first")]
    where = findings["subject"].map(lookup).fillna("plan")
    if findings["plan"].nunique() > 1:
        where = findings["plan"] + " · " + where
    return where


def _prefixed(codes: pd.Series, kind: str) -> pd.Series:
    """'objective 2.1' for each code: one text per distinct code, shared by its activities."""
    labels = {code: f"{kind} {code}" for code in codes.unique()}
    return codes.map(labels)


def _where_order(findings: pd.DataFrame, frames) -> list[str]:
    """Matrix columns: objectives in plan order, then units, then the rest, by plan."""
    rank = {f"objective {c}": (0, i) for i, c in enumerate(frames.objectives["code"])}
    rank.update({f"unit {k}": (1, i) for i, k in enumerate(frames.units["key"])})
    places = findings[["plan", "where"]].drop_duplicates()
    bare = places["where"].str.split(" · ").str[-1]
    keys = [(plan, *rank.get(b, (2, 0)), b) for plan, b in zip(places["plan"], bare)]
    return [w for _, w in sorted(zip(keys, places["where"]))]


def by_pack(findings: pd.DataFrame) -> Section:
    counts = pd.crosstab(findings["pack"], findings["severity"]).reindex(columns=list(SEVERITIES), fill_value=0)
    counts = counts.astype("int64")
    counts["total"] = counts.sum(axis=1).astype("int64")
    table = counts.reset_index().sort_values("pack").reset_index(drop=True)
    columns = (Column("pack", "Pack"), *(Column(s, s.capitalize(), "int") for s in SEVERITIES), Column("total", "Total", "int"))
    chart = Chart("stacked_bar", "Findings by pack and severity", "pack", SEVERITIES)
    return Section("Findings by pack", table, chart if len(table) else None, key="by-pack", columns=columns)


def by_rule(findings: pd.DataFrame, check, registry) -> Section:
    codes = sorted(set(check.rules) | set(findings["code"]))
    rules = pd.DataFrame({"code": pd.Series(codes, dtype=object)})
    rules["rule"] = [registry.rules[c].title if c in registry.rules else "A rule failed while checking" for c in codes]
    rules["pack"] = [(registry.rules[c].pack or "other") if c in registry.rules else "engine" for c in codes]
    counts = pd.crosstab(findings["code"], findings["severity"]).reindex(index=codes, columns=list(SEVERITIES), fill_value=0)
    counts = counts.astype("int64").reset_index(names="code").astype({"code": object})
    table = rules.merge(counts, on="code")
    table["total"] = table[list(SEVERITIES)].sum(axis=1).astype("int64")
    columns = (Column("code", "Rule"), Column("rule", "Title"), Column("pack", "Pack"),
               *(Column(s, s.capitalize(), "int") for s in SEVERITIES), Column("total", "Total", "int"))  # fmt: skip
    return Section(
        "Findings by rule", table, key="by-rule", columns=columns, note="Every rule that ran, with or without findings."
    )


def matrix(findings: pd.DataFrame, frames) -> Section:
    order = _where_order(findings, frames)
    counts = pd.crosstab(findings["code"], findings["where"]).reindex(columns=order, fill_value=0).astype("int64")
    table = counts.reset_index().rename(columns={"code": "rule"})
    table.columns = [str(c) for c in table.columns]
    columns = (Column("rule", "Rule"), *(Column(w, w, "int") for w in order))
    note = "Findings per rule (rows) and place (columns): an objective, a unit, or the plan itself."
    return Section("Rule × objective", table, key="matrix", columns=columns, note=note)


def findings_section(findings: pd.DataFrame) -> Section:
    columns = (
        Column("severity", "Severity", rag="severity"), Column("code", "Rule"), Column("pack", "Pack"),
        Column("rule", "Title"), Column("plan", "Plan"), Column("subject", "Subject"), Column("where", "Where"),
        Column("message", "Message"),
    )  # fmt: skip
    return Section("Findings", findings, key="findings", columns=columns, note="Every finding, sorted by plan, subject and rule.")


def waived_section(waived: pd.DataFrame) -> Section:
    columns = (
        Column("severity", "Severity"), Column("code", "Rule"), Column("rule", "Title"), Column("plan", "Plan"),
        Column("subject", "Subject"), Column("where", "Where"), Column("message", "Message"), Column("waived", "Reason"),
    )  # fmt: skip
    note = "Findings the plan waived (rules: {CODE: {reason: …}} or an activity's waive:), with its reason; counted apart."
    return Section("Waived", waived, key="waived", columns=columns, note=note)


def build_from_check(check, frames, registry, *, selection: Mapping | None = None) -> ComplianceReport:
    """The report for a `CheckReport` and the frames of the same plans and date."""
    from cpflow.reports.progress import plans_table, report_title

    found = findings_frame(check, registry)
    found["where"] = locate(found, frames) if len(found) else pd.Series(dtype=object)
    found = found[list(FINDING_COLUMNS)]
    waived = findings_frame(check, registry, check.waived)
    waived["where"] = locate(waived, frames) if len(waived) else pd.Series(dtype=object)
    waived = waived[[*FINDING_COLUMNS, "waived"]]
    plans = plans_table(frames)
    report = ComplianceReport("compliance", report_title("Compliance", plans), check.as_of, None, plans, findings=found,
                              waived=waived)  # fmt: skip
    report.about = {"rules": list(check.rules), **(selection or {}), "notes": list(check.notes)}
    subjects = found["subject"].nunique()
    report.figures = [
        Figure("findings", "Findings", len(found)),
        *(Figure(s, s.capitalize() + "s", int(check.counts.get(s, 0))) for s in SEVERITIES),
        Figure("waived", "Waived", len(waived), detail="findings the plan waived, with its reason; not counted above"),
        Figure("rules", "Rules run", len(check.rules)),
        Figure("subjects", "Subjects with findings", int(subjects), detail="activities, units, indicators or plans"),
    ]
    report.sections = [findings_section(found), waived_section(waived), by_pack(found), by_rule(found, check, registry),
                       matrix(found, frames)]  # fmt: skip
    return report


def build_compliance(session, *, plans: Sequence[str] = (), as_of: dt.date, select: Sequence[str] = (),
                     ignore: Sequence[str] = (), settings: Mapping | None = None, severities: Mapping | None = None,
                     plugins=None, check=None, frames=None) -> ComplianceReport:  # fmt: skip
    """Run the rules as `cpflow check` would and build the compliance report; a `check`
    already run for the same selection and `frames` already read for the same plans and
    date are used instead of running and reading again."""
    from cpflow.read.frames import load_frames
    from cpflow.rules.engine import registry_for, run_checks

    if plugins is None:
        from cpflow.plugins.manager import get_plugins

        plugins = get_plugins()
    if check is None:
        check = run_checks(session, plans=plans, as_of=as_of, select=select, ignore=ignore, settings=settings,
                           severities=severities, plugins=plugins)  # fmt: skip
    if frames is None:
        frames = load_frames(session, plans=tuple(plans), as_of=as_of)
    selection = {"select": list(select), "ignore": list(ignore), "settings": {k: dict(v) for k, v in sorted((settings or {}).items())},
                 "severities": dict(sorted((severities or {}).items()))}  # fmt: skip
    return build_from_check(check, frames, registry_for(plugins), selection=selection)
