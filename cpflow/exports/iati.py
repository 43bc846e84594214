"""`cpflow export PLAN --format iati`: the plan as an IATI 2.03 `iati-activities` file
(docs/exports.md says where each element comes from).

The plan is the parent activity (hierarchy 1) and each of its activities a child
(hierarchy 2), linked both ways by `related-activity`. The file is validated against the
official 2.03 schema shipped in `schemas/` and checked against the rules the schema cannot
say (the code lists in `codelists/`, date order, no actual date in the future, budget
periods of at most a year, identifiers without / & | ?) before anything is written; an
invalid file is refused with the element and the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from cpflow.errors import BadInput
from cpflow.paths import write_atomic

HERE = Path(__file__).parent
SCHEMA = HERE / "schemas" / "iati-activities-schema.xsd"
CODELISTS = HERE / "codelists"
VERSION = "2.03"
CHILD_PROTECTION = ("PRO-CPN", "Protection - Child Protection")  # sector vocabulary 10 (IASC global clusters)
FORBIDDEN = re.compile(r"[/&|?]")


@dataclass
class IatiFile:
    xml: bytes
    notes: list[str] = field(default_factory=list)
    activities: int = 0


@functools.cache
def codelist(name: str) -> frozenset[str]:
    """The codes of a shipped code list (IATI XML, or the cluster list's CSV)."""
    if (CODELISTS / f"{name}.csv").exists():
        with open(CODELISTS / f"{name}.csv", encoding="utf-8", newline="") as handle:
            return frozenset(row["code"] for row in csv.DictReader(handle))
    from lxml import etree

    tree = etree.parse(str(CODELISTS / f"{name}.xml"))
    return frozenset(code.text.strip() for code in tree.iterfind(".//codelist-item/code"))


@functools.cache
def _country_codes() -> dict[str, str]:
    """Country name (case-folded) -> ISO 3166 code, from the Country code list."""
    from lxml import etree

    tree = etree.parse(str(CODELISTS / "Country.xml"))
    out = {}
    for item in tree.iterfind(".//codelist-item"):
        code = item.findtext("code").strip()
        for narrative in item.iterfind("name/narrative"):
            out[" ".join(narrative.text.split()).casefold()] = code
        out[code.casefold()] = code
    return out


@functools.cache
def _schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def status_code(lifecycle, state: str) -> int:
    """ActivityStatus for a state: the lifecycle's `iati_status`, else read from its tags."""
    if state in lifecycle.iati_status:
        return int(lifecycle.iati_status[state])
    for tags, code in ((("cancelled",), 5), (("done",), 3), (("active", "paused"), 2)):
        if state in lifecycle.tagged(*tags):
            return code
    return 1  # pipeline/identification: proposed, endorsed, not yet started


def build_iati(session, slug: str, *, reporting_org: str | None = None, today: dt.date | None = None) -> IatiFile:
    """The plan as an IATI 2.03 activity file, checked; BadInput naming the problem."""
    from lxml import etree

    from cpflow.clock import today as clock_today
    from cpflow.lifecycle import lifecycles_of
    from cpflow.read.frames import load_frames
    from cpflow.read.lookup import find_plan
    from cpflow.reports.iptt import iptt_rows
    from cpflow.rules.localisation import Organisations, standards_of

    today = today or clock_today()
    plan = find_plan(session, slug)
    settings = standards_of(plan.rules).get("iati") or {}
    ref = (reporting_org or settings.get("reporting_org") or "").strip()
    if not ref:
        raise BadInput(
            f"{slug}: no IATI reporting organisation: declare plan.iati.reporting_org in the plan file",
            field="reporting_org",
        )
    if FORBIDDEN.search(ref):
        raise BadInput(f"{slug}: the reporting organisation {ref!r} may not contain / & | ?", field="reporting_org")
    prefix = (settings.get("prefix") if not reporting_org else None) or ref
    orgs = Organisations.of(plan.rules)
    frames = load_frames(session, plans=(slug,), as_of=max(today, plan.start))
    lifecycle = lifecycles_of(frames.plans)[slug]
    from sqlalchemy import select

    from cpflow.models import Activity

    descriptions = dict(session.execute(select(Activity.code, Activity.description).where(Activity.plan_id == plan.id)).all())
    notes: list[str] = []
    parent_id = f"{prefix}-{slug}"
    acts = frames.activities
    codes = [code for code in acts["code"] if FORBIDDEN.search(f"{parent_id}-{code}")]
    if codes:
        raise BadInput(f"{slug}:{codes[0]}: an IATI identifier may not contain / & | ?; rename the activity code")

    reporter = next((o for o in orgs.declared if o.get("iati_id") == ref), None)
    E = etree.Element
    root = E("iati-activities", version=VERSION, **{"generated-datetime": f"{today.isoformat()}T00:00:00Z"})

    def sub(parent, tag: str, text: str | None = None, **attrs):
        el = etree.SubElement(parent, tag, **{k.replace("_", "-"): str(v) for k, v in attrs.items() if v is not None})
        if text is not None:
            etree.SubElement(el, "narrative").text = text
        return el

    def participants(el, texts, role: int, skip: tuple = ()) -> None:
        """One participating-org per organisation and role: the declared name, ref and type."""
        seen = set(skip)
        for text in texts:
            for name in orgs.split(text):
                org = orgs.find(name)
                key = (org or {}).get("name", name).casefold()
                if key not in seen:
                    seen.add(key)
                    attrs = {"ref": org.get("iati_id"), "type": org.get("type")} if org else {}
                    sub(el, "participating-org", org["name"] if org else name, role=role, **attrs)

    def activity(identifier: str, hierarchy: int, title: str, description: str | None):
        el = sub(root, "iati-activity", hierarchy=hierarchy, default_currency=plan.currency,
                 last_updated_datetime=f"{today.isoformat()}T00:00:00Z")  # fmt: skip
        etree.SubElement(el, "iati-identifier").text = identifier
        sub(el, "reporting-org", reporter["name"] if reporter else (plan.owner or ref), ref=ref,
            type=(reporter or {}).get("type") or 90)  # fmt: skip
        sub(el, "title", title)
        # 2.03 requires a description: the activity's own, else its title.
        sub(el, "description", description if description and description.strip() else title, type=1)
        sub(el, "participating-org", reporter["name"] if reporter else (plan.owner or ref), ref=ref, role=2,
            type=(reporter or {}).get("type") or 90)  # fmt: skip
        return el

    def dates(el, start, end, actual_start=None, actual_end=None) -> None:
        for kind, day in ((1, start), (2, actual_start), (3, end), (4, actual_end)):
            if day is not None:
                sub(el, "activity-date", type=kind, iso_date=day.isoformat())

    def sector(el) -> None:
        sub(el, "sector", CHILD_PROTECTION[1], vocabulary=10, code=CHILD_PROTECTION[0])

    def countries(el, names) -> None:
        for name in dict.fromkeys(names or []):
            code = _country_codes().get(" ".join(str(name).split()).casefold())
            if code:
                sub(el, "recipient-country", str(name), code=code)
            else:
                notes.append(f"country {name!r} is not in the IATI Country list; left out")

    # --- the plan: the parent activity
    parent = activity(parent_id, 1, plan.title, plan.description)
    participants(parent, [lead for leads in frames.units["leads"] for lead in leads or []], 4)
    plan_status = 1 if today < plan.start else 2 if today <= plan.end else 3
    sub(parent, "activity-status", code=plan_status)
    dates(parent, plan.start, plan.end, plan.start if today >= plan.start else None)
    countries(parent, list(frames.plans["countries"].iloc[0]) if len(frames.plans) else [])
    sector(parent)
    budgets = frames.budgets
    by_period: dict[str, list] = {}
    for period, start, end, currency, budget, received in zip(
        budgets["period"], budgets["period_start"], budgets["period_end"], budgets["currency"],
        budgets["budget_minor"], budgets["received_minor"], strict=True,
    ):  # fmt: skip
        by_period.setdefault(period, []).append((start.date(), end.date(), currency, budget, received))
    transactions = []
    for period, lines in by_period.items():
        start, end = lines[0][0], lines[0][1]
        if (end - start).days > 365:
            notes.append(
                f"budget period {period} ({start} to {end}) is longer than a year: IATI budgets are at most a year; left out"
            )
            continue
        for currency in dict.fromkeys(line[2] for line in lines):
            total = [line[3] for line in lines if line[2] == currency and line[3] is not None and line[3] == line[3]]
            if total:
                b = sub(parent, "budget", type=1, status=1)
                sub(b, "period-start", iso_date=start.isoformat())
                sub(b, "period-end", iso_date=end.isoformat())
                sub(b, "value", currency=currency, value_date=start.isoformat()).text = _money(sum(total))
            received = [line[4] for line in lines if line[2] == currency and line[4] is not None and line[4] == line[4]]
            if received:
                transactions.append((period, min(end, today), currency, sum(received)))
    for period, day, currency, minor in transactions:
        t = sub(parent, "transaction", ref=f"{parent_id}-received-{period}")
        sub(t, "transaction-type", code=1)
        sub(t, "transaction-date", iso_date=day.isoformat())
        sub(t, "value", currency=currency, value_date=day.isoformat()).text = _money(minor)
        sub(t, "description", f"Funds received for {period}")

    # --- each activity: a child
    events = frames.events
    active = set(lifecycle.tagged("active", "paused", "done"))
    final = set(lifecycle.tagged("final"))
    children = []
    for row in acts.itertuples(index=False):
        child_id = f"{parent_id}-{row.code}"
        sub(parent, "related-activity", ref=child_id, type=2)
        child = activity(child_id, 2, row.title, descriptions.get(row.code))
        participants(child, [row.lead, *(row.contributors or [])] if row.lead else list(row.contributors or []), 4)
        sub(child, "activity-status", code=status_code(lifecycle, row.state))
        moves = events[events["activity"] == row.id]
        started = moves.loc[moves["to"].isin(active), "at"]
        ended = moves.loc[moves["to"].isin(final), "at"]
        actual_start = started.min().date() if len(started) else None
        actual_end = ended.max().date() if len(ended) and row.state in final else None
        dates(child, _day(row.start), _day(row.due), actual_start, actual_end)
        countries(child, row.countries)
        sector(child)
        sub(child, "related-activity", ref=parent_id, type=1)
        children.append((row.code, child))

    # --- results: an activity's indicators on its child, the others on the parent
    by_code = dict(children)
    rows = iptt_rows(frames, today)
    indicators = frames.indicators
    for ind in indicators.itertuples(index=False):
        kind, _, key = str(ind.of).partition(":")
        host = by_code.get(key, parent) if kind == "activity" else parent
        result = sub(host, "result", type={"activity": 1, "objective": 2, "outcome": 3}.get(kind, 2))
        sub(result, "title", ind.name if kind in ("plan", "activity") else f"{kind.capitalize()} {key}: {ind.name}")
        measure = 2 if "%" in str(ind.measure or "") + ind.name or "percent" in str(ind.measure or "").casefold() else 1
        indicator = sub(result, "indicator", measure=measure, ascending=1 if ind.direction == "increase" else 0)
        sub(indicator, "title", ind.name)
        if ind.baseline_value == ind.baseline_value and ind.baseline_value is not None:
            day = _day(ind.baseline_date) or plan.start
            sub(indicator, "baseline", year=day.year, iso_date=day.isoformat(), value=_number(ind.baseline_value))
        for r in (r for r in rows if r["code"] == ind.code):
            if r["period_start"] is None:
                continue
            p = sub(indicator, "period")
            sub(p, "period-start", iso_date=r["period_start"].isoformat())
            sub(p, "period-end", iso_date=r["period_end"].isoformat())
            if r["target"] is not None:
                sub(p, "target", value=_number(r["target"]))
            if r["actual"] is not None:
                sub(p, "actual", value=_number(r["actual"]))
    _order(root)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    problems = check(xml, today)
    if problems:
        raise BadInput(f"{slug}: the IATI file is not valid, nothing written: {problems[0]}")
    return IatiFile(xml, notes, len(children) + 1)


# The 2.03 schema's order of an activity's children (those this exporter writes).
ORDER = ("iati-identifier", "reporting-org", "title", "description", "participating-org", "activity-status",
         "activity-date", "recipient-country", "sector", "budget", "transaction", "related-activity", "result")  # fmt: skip


def _order(root) -> None:
    for activity in root:
        activity[:] = sorted(activity, key=lambda el: ORDER.index(el.tag))


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(int(minor)), 100)
    return f"{sign}{whole}.{cents:02d}"


def _number(value: float) -> str:
    return f"{float(value):g}" if float(value) != int(value) else str(int(value))


def _day(value) -> dt.date | None:
    if value is None or value != value:
        return None
    return value.date() if hasattr(value, "date") else value


CODE_CHECKS = (
    ("activity-status", "code", "ActivityStatus"),
    ("activity-date", "type", "ActivityDateType"),
    ("participating-org", "role", "OrganisationRole"),
    ("participating-org", "type", "OrganisationType"),
    ("reporting-org", "type", "OrganisationType"),
    ("sector", "vocabulary", "SectorVocabulary"),
    ("budget", "type", "BudgetType"),
    ("budget", "status", "BudgetStatus"),
    ("transaction-type", "code", "TransactionType"),
    ("value", "currency", "Currency"),
    ("iati-activity", "default-currency", "Currency"),
    ("recipient-country", "code", "Country"),
    ("result", "type", "ResultType"),
    ("indicator", "measure", "IndicatorMeasure"),
    ("related-activity", "type", "RelatedActivityType"),
)


def check(xml: bytes, today: dt.date) -> list[str]:
    """What is wrong with an IATI 2.03 activity file: the schema's errors (element, line,
    reason) first, then the code-list and rule checks the schema cannot make."""
    from lxml import etree

    try:
        doc = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _schema()
    if not schema.validate(doc):
        starts = [(a.sourceline, a.findtext("iati-identifier") or "?") for a in doc.iter("iati-activity")]
        where = lambda line: next((ident for start, ident in reversed(starts) if start <= line), "iati-activities")  # noqa: E731
        return [f"{where(e.line)} (line {e.line}): {e.message}" for e in schema.error_log]
    problems = []
    for tag, attr, name in CODE_CHECKS:
        for el in doc.iter(tag):
            value = el.get(attr)
            if value is not None and value not in codelist(name):
                problems.append(f"line {el.sourceline}: <{tag} {attr}={value!r}> is not in the IATI {name} code list ({VERSION})")
    for el in doc.iter("sector"):
        if el.get("vocabulary") == "10" and el.get("code") not in codelist("GlobalCluster"):
            problems.append(f"line {el.sourceline}: sector code {el.get('code')!r} is not an IASC global cluster (vocabulary 10)")
    for activity in doc.iter("iati-activity"):
        identifier = activity.findtext("iati-identifier") or ""
        if FORBIDDEN.search(identifier):
            problems.append(f"{identifier}: an identifier may not contain / & | ?")
        days = {el.get("type"): dt.date.fromisoformat(el.get("iso-date")[:10]) for el in activity.iter("activity-date")}
        if "1" in days and "3" in days and days["1"] > days["3"]:
            problems.append(f"{identifier}: planned start {days['1']} is after planned end {days['3']}")
        for kind in ("2", "4"):
            if kind in days and days[kind] > today:
                problems.append(f"{identifier}: actual {'start' if kind == '2' else 'end'} {days[kind]} is in the future")
        for budget in activity.iter("budget"):
            start = dt.date.fromisoformat(budget.find("period-start").get("iso-date")[:10])
            end = dt.date.fromisoformat(budget.find("period-end").get("iso-date")[:10])
            if end < start or (end - start).days > 365:
                problems.append(f"{identifier}: budget period {start} to {end} is not within one year")
    return problems


def export_iati(db, slug: str, out: str | Path | None, reporting_org: str | None = None) -> tuple[str, IatiFile]:
    """Build, check, then write the file (atomically: a refused file leaves nothing behind)."""
    with db.read() as session:
        built = build_iati(session, slug, reporting_org=reporting_org)
    target = Path(f"{slug}.xml") if out is None else Path(out)
    if str(target) == "-":
        return "-", built
    write_atomic(target, built.xml)
    return str(target), built
