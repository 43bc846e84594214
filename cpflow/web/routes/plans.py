"""Reading plans: the plans a person holds a role in, the dashboard, activities with
filters and as-of, one activity with its timeline, indicators, funding and findings.
Each page and its /api/v1 twin call the same read-model query."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select

from cpflow.models import Activity, Plan, PlanRole
from cpflow.read.queries import ACTIVITY_COLUMNS
from cpflow.web.auth import Access, Viewer, plan_access, signed_in
from cpflow.web.render import json_response, page, partial
from cpflow.web.routes.common import date_param

pages = APIRouter(tags=["plans"])
api = APIRouter(tags=["plans"])
PAGE_ROWS = 500  # an activity listing page shows this many; the API and the downloads give all


def visible_plans(request: Request, viewer: Viewer) -> list[dict]:
    from cpflow.read.queries import list_plans

    with request.app.state.db.read() as session:
        rows = list_plans(session)
        roles: dict[str, list[str]] = {}
        for slug, role in session.execute(
            select(Plan.slug, PlanRole.role).join(PlanRole, PlanRole.plan_id == Plan.id).where(
                PlanRole.account_id == viewer.account_id)
        ):  # fmt: skip
            roles.setdefault(slug, []).append(role)
        states: dict[str, dict[str, int]] = {}
        for slug, state, count in session.execute(
            select(Plan.slug, Activity.state, func.count()).join(Activity, Activity.plan_id == Plan.id).group_by(
                Plan.slug, Activity.state)
        ):  # fmt: skip
            states.setdefault(slug, {})[state] = count
    out = []
    for row in rows:
        if row["slug"] in roles or viewer.is_admin:
            out.append({**row, "roles": sorted(roles.get(row["slug"], [])), "states": states.get(row["slug"], {})})
    return out


@pages.get("/plans", include_in_schema=False)
def plans_page(request: Request, viewer: Viewer = Depends(signed_in)):
    return page(request, "plans.html.j2", {"plans": visible_plans(request, viewer)})


@api.get("/plans")
def plans_api(request: Request, viewer: Viewer = Depends(signed_in)):
    """The plans the account holds a role in (every plan for an admin), with counts by state."""
    return json_response(visible_plans(request, viewer))


def dashboard_data(request: Request, access: Access, as_of: dt.date | None, since: dt.date | None) -> dict:
    """The progress report's figures and views and the findings by severity (built once per
    state of the record: cpflow.web.derived), with the pending reviews and the viewer's own
    pending and returned submissions read now."""
    from cpflow.audit import head
    from cpflow.clock import today
    from cpflow.read.team import list_submissions
    from cpflow.reports.build import ReportOptions
    from cpflow.web.derived import build_dashboard

    day = as_of or today()
    ReportOptions(as_of=day, plans=(access.slug,), since=since)  # refuses a since on or after the date
    db, plugins = request.app.state.db, request.app.state.plugins
    with db.read() as session:
        seq, digest = head(session)
        pending = list_submissions(session, plan=access.slug, statuses=("pending",)) if access.reviews else []
        mine = list_submissions(session, plan=access.slug, mine=access.viewer.login)
    shown = request.app.state.derived.get(
        (access.slug, day, since, seq, digest), lambda: build_dashboard(db, plugins, access.slug, day, since)
    )
    to_review = [s for s in pending if s["submitted_by"] != access.viewer.login]  # nobody decides their own
    return {"figures": shown.figures, "views": shown.views, "as_of": day, "since": since, "counts": shown.counts,
            "pending": pending, "to_review": to_review, "mine": mine}  # fmt: skip


@pages.get("/plans/{plan}", include_in_schema=False)
def dashboard(request: Request, access: Access = Depends(plan_access), as_of: str | None = None, since: str | None = None):
    data = dashboard_data(request, access, date_param("as_of", as_of), date_param("since", since))
    return page(request, "dashboard.html.j2", {"access": access, **data})


@api.get("/plans/{plan}")
def dashboard_api(request: Request, access: Access = Depends(plan_access), as_of: str | None = None, since: str | None = None):
    """The plan's headline figures as of a date, findings by severity and pending reviews."""
    data = dashboard_data(request, access, date_param("as_of", as_of), date_param("since", since))
    figures = [{"key": f.key, "label": f.label, "value": f.value, "kind": f.kind, "detail": f.detail} for f in data["figures"]]
    return json_response({"plan": access.slug, "title": access.title, "roles": sorted(access.roles), "as_of": data["as_of"],
                          "figures": figures, "findings": data["counts"], "pending_reviews": len(data["pending"])})  # fmt: skip


def activity_rows(request: Request, access: Access, filters: dict, as_of: dt.date | None, *, choices: bool = False):
    """The plan's activities through the filters (with `choices`: and the filter choices,
    read in the same snapshot, from the same rows when nothing narrows the query)."""
    from cpflow.read.queries import list_activities, require_known_states

    states = tuple(s for s in filters.get("state", ()) if s)
    narrowed = as_of is not None or states or any(filters.get(k) for k in ("objective", "unit", "sector", "phase"))
    with request.app.state.db.read() as session:
        require_known_states(session, states, (access.slug,))
        rows = list_activities(session, plans=(access.slug,), states=states, objective=filters.get("objective") or None,
                               unit=filters.get("unit") or None, sector=filters.get("sector") or None,
                               phase=filters.get("phase") or None, as_of=as_of)  # fmt: skip
        picked = _choices(session, access, None if narrowed else rows) if choices else None
    rows = _search(rows, filters)
    return (rows, picked) if choices else rows


def _search(rows: list[dict], filters: dict) -> list[dict]:
    lead, words = (filters.get("lead") or "").strip().casefold(), (filters.get("q") or "").strip().casefold()
    if lead:
        rows = [r for r in rows if lead in (r.get("lead") or "").casefold()]
    if words:
        rows = [r for r in rows if words in (r.get("title") or "").casefold() or words in str(r.get("code")).casefold()]
    return rows


def _choices(session, access: Access, everything: list[dict] | None) -> dict:
    from cpflow.read.queries import known_states, list_activities

    if everything is None:
        everything = list_activities(session, plans=(access.slug,))
    states = sorted(known_states(session, (access.slug,)))
    pick = lambda key: sorted({str(r[key]) for r in everything if r.get(key)})  # noqa: E731
    sectors = sorted({s for r in everything for s in (r.get("sectors") or [])})
    return {"state": states, "objective": pick("objective"), "unit": pick("unit"), "phase": pick("phase"),
            "lead": pick("lead"), "sector": sectors}  # fmt: skip


@pages.get("/plans/{plan}/activities", include_in_schema=False)
def activities_page(
    request: Request,
    access: Access = Depends(plan_access),
    state: list[str] = Query(default=[]),
    objective: str = "", unit: str = "", lead: str = "", sector: str = "", phase: str = "", q: str = "",
    as_of: str | None = None,
):  # fmt: skip
    filters = {"state": state, "objective": objective, "unit": unit, "lead": lead, "sector": sector, "phase": phase, "q": q}
    day = date_param("as_of", as_of)
    fragment = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "activity-rows"
    rows, choices = activity_rows(request, access, filters, day, choices=not fragment)
    context = {"access": access, "rows": rows[:PAGE_ROWS], "total": len(rows), "filters": filters, "as_of": day}
    if fragment:
        return partial(request, "_activity_rows.html.j2", context)
    return page(request, "activities.html.j2", {**context, "choices": choices})


@api.get("/plans/{plan}/activities")
def activities_api(
    request: Request,
    access: Access = Depends(plan_access),
    state: list[str] = Query(default=[]),
    objective: str = "", unit: str = "", lead: str = "", sector: str = "", phase: str = "", q: str = "",
    as_of: str | None = None,
):  # fmt: skip
    """Activities (the objects `cpflow activities --format json` prints), filtered, as of a date."""
    filters = {"state": state, "objective": objective, "unit": unit, "lead": lead, "sector": sector, "phase": phase, "q": q}
    rows = activity_rows(request, access, filters, date_param("as_of", as_of))
    return json_response([{k: r.get(k) for k in ACTIVITY_COLUMNS} for r in rows])


def activity_data(request: Request, access: Access, code: str) -> dict:
    from cpflow.read.queries import history, show_activity

    ident = f"{access.slug}:{code}"
    with request.app.state.db.read() as session:
        record = show_activity(session, ident)
        events = history(session, ident)
    return {"activity": record, "history": events}


@pages.get("/plans/{plan}/activities/{code}", include_in_schema=False)
def activity_page(request: Request, code: str, access: Access = Depends(plan_access)):
    return activity_view(request, access, code)


def activity_view(request: Request, access: Access, code: str, *, error: str | None = None, status: int = 200,
                  notice: str | None = None, form: dict | None = None):  # fmt: skip
    from cpflow.lifecycle import lifecycle_for
    from cpflow.read.team import list_submissions

    data = activity_data(request, access, code)
    with request.app.state.db.read() as session:
        plan = session.execute(select(Plan).where(Plan.id == access.plan_id)).scalar_one()
        lifecycle = lifecycle_for(plan.lifecycle)
        mine = [s for s in list_submissions(session, plan=access.slug, mine=access.viewer.login)
                if s["activity"] == data["activity"]["id"]]  # fmt: skip
    state = data["activity"]["state"]
    moves = [{"trigger": t, "to": lifecycle.destination(data["activity"]["id"], state, t),
              "reason_required": lifecycle.rules[t].reason_required, "ref_recommended": lifecycle.rules[t].ref_recommended}
             for t in data["activity"]["allowed"]]  # fmt: skip
    context = {"access": access, **data, "moves": moves, "mine": mine, "error": error, "notice": notice, "form": form or {}}
    return page(request, "activity.html.j2", context, status_code=status)


@api.get("/plans/{plan}/activities/{code}")
def activity_api(request: Request, code: str, access: Access = Depends(plan_access)):
    """One activity (as `cpflow show --format json`) with its history; its ETag is its version."""
    data = activity_data(request, access, code)
    return json_response({**data["activity"], "history": data["history"]}, headers={"ETag": f'"{data["activity"]["version"]}"'})


def indicator_rows(request: Request, access: Access) -> list[dict]:
    from cpflow.read.queries import list_indicators

    with request.app.state.db.read() as session:
        return list_indicators(session, access.slug)


def _indicator_table(request: Request, access: Access, as_of: dt.date | None):
    """The progress report's indicator view (baseline, target, actual, on/off track)."""
    data = dashboard_data(request, access, as_of, None)
    return next((v for v in data["views"] if v.section.key.startswith("indicator")), None)


@pages.get("/plans/{plan}/indicators", include_in_schema=False)
def indicators_page(request: Request, access: Access = Depends(plan_access)):
    from cpflow.web.routes.records import done_notice

    known = {r["code"] for r in indicator_rows(request, access)}
    return indicators_view(request, access, notice=done_notice(access, request.query_params, known))


def indicators_view(request: Request, access: Access, *, error: str | None = None, notice: str | None = None, status: int = 200):
    from cpflow.clock import today

    with request.app.state.db.read() as session:
        plan = session.execute(select(Plan).where(Plan.id == access.plan_id)).scalar_one()
        periods = [p.key for p in plan.periods]
    context = {"access": access, "rows": indicator_rows(request, access), "table": _indicator_table(request, access, None),
               "periods": periods, "error": error, "notice": notice, "today": today()}  # fmt: skip
    return page(request, "indicators.html.j2", context, status_code=status)


@api.get("/plans/{plan}/indicators")
def indicators_api(request: Request, access: Access = Depends(plan_access)):
    """Indicators (as `cpflow indicators --format json`): baseline, targets, latest value."""
    return json_response(indicator_rows(request, access))


def funding_rows(request: Request, access: Access) -> list[dict]:
    from cpflow.read.queries import list_units

    with request.app.state.db.read() as session:
        return list_units(session, access.slug)


@pages.get("/plans/{plan}/funding", include_in_schema=False)
def funding_page(request: Request, access: Access = Depends(plan_access)):
    from cpflow.web.routes.records import done_notice

    known = {str(u["key"]) for u in funding_rows(request, access)}
    return funding_view(request, access, notice=done_notice(access, request.query_params, known))


def funding_view(request: Request, access: Access, *, error: str | None = None, notice: str | None = None, status: int = 200):
    from cpflow.clock import today

    with request.app.state.db.read() as session:
        plan = session.execute(select(Plan).where(Plan.id == access.plan_id)).scalar_one()
        periods = [p.key for p in plan.periods]
    data = dashboard_data(request, access, None, None)
    table = next((v for v in data["views"] if v.section.key.startswith("funding")), None)
    context = {"access": access, "units": funding_rows(request, access), "table": table, "periods": periods,
               "error": error, "notice": notice, "today": today()}  # fmt: skip
    return page(request, "funding.html.j2", context, status_code=status)


@api.get("/plans/{plan}/funding")
def funding_api(request: Request, access: Access = Depends(plan_access)):
    """Units with their budget lines (as `cpflow units --format json`)."""
    return json_response(funding_rows(request, access))


def findings_data(request: Request, access: Access, as_of: dt.date | None) -> dict:
    from cpflow.rules.engine import registry_for, run_checks

    plugins = request.app.state.plugins
    with request.app.state.db.read() as session:
        report = run_checks(session, plans=(access.slug,), as_of=as_of, plugins=plugins)
    registry = registry_for(plugins)
    rules = {code: registry.explain(code) for code in sorted({f["code"] for f in report.rows()})}
    return {"report": report.to_dict(), "rules": rules}


@pages.get("/plans/{plan}/findings", include_in_schema=False)
def findings_page(request: Request, access: Access = Depends(plan_access), as_of: str | None = None):
    day = date_param("as_of", as_of)
    return page(request, "findings.html.j2", {"access": access, **findings_data(request, access, day), "as_of": day})


@api.get("/plans/{plan}/findings")
def findings_api(request: Request, access: Access = Depends(plan_access), as_of: str | None = None):
    """The current `cpflow check` report for the plan (the shape of `check --format json`)."""
    return json_response(findings_data(request, access, date_param("as_of", as_of))["report"])
