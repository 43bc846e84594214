"""`load_plan(partial=True)`, the mode imports use for an existing plan: only the given
activities and only their given fields change; nothing else is edited or reported missing."""

from __future__ import annotations

import datetime as dt

from conftest import MINI_PLAN
from sqlalchemy import select

from cpflow.loading import load_plan
from cpflow.models import Activity, Objective, Plan, TransitionEvent
from cpflow.plans import LoadedPlan, PlanSpec, parse_plan

DAY = dt.date(2024, 1, 15)


def spec_with(activities: list[dict], **plan) -> LoadedPlan:
    raw = {
        "plan": {"slug": "mini", "title": "A title the import does not own", "start": "2022-01-01", "end": "2025-12-31", **plan},
        "periods": [{"key": "years-1-2", "kind": "phase", "start": "2022-01-01", "end": "2023-12-31"}],
        "units": [{"key": "wg", "name": "Renamed by the sheet"}],
        "objectives": [{"code": "1", "title": "Objective title from a sheet"}],
        "activities": activities,
    }
    return LoadedPlan(PlanSpec.model_validate(raw), "sheet.csv", "0" * 64)


def test_partial_load_changes_only_the_given_fields_of_the_given_activities(db):
    db.write(lambda s: load_plan(s, parse_plan(MINI_PLAN.encode(), "mini.yaml"), actor="lead", today=DAY))
    loaded = spec_with([
        {"code": "1.1", "title": "First action", "objective": "1", "lead": "UNICEF"},
        {"code": "1.9", "title": "A new action", "objective": "1", "phase": "years-1-2"},
    ])  # fmt: skip
    result = db.write(lambda s: load_plan(s, loaded, actor="im", today=DAY, partial=True))
    assert (result.created, result.added, result.edited, result.missing, result.other_changes) == (False, ["1.9"], ["1.1"], [], 0)
    with db.read() as session:
        plan = session.scalars(select(Plan)).one()
        assert plan.title == "Mini plan"  # the plan row is not the import's to change
        assert session.scalars(select(Objective.title)).all() == ["First objective"]
        rows = {a.code: a for a in session.scalars(select(Activity).order_by(Activity.position))}
        assert list(rows) == ["1.1", "1.2", "1.3", "1.9"]
        assert rows["1.1"].lead == "UNICEF" and rows["1.1"].phase == "years-1-2"  # phase kept: not given
        assert rows["1.2"].in_source and rows["1.3"].in_source
        assert (rows["1.9"].start, rows["1.9"].due) == (dt.date(2022, 1, 1), dt.date(2023, 12, 31))
        edits = session.execute(select(TransitionEvent.kind, TransitionEvent.data).where(TransitionEvent.actor == "im")).all()
    assert sorted(kind for kind, _ in edits) == ["create", "edit"]
    assert '"changes":{"lead":["Lead agency","UNICEF"]}' in next(data for kind, data in edits if kind == "edit")
    again = db.write(lambda s: load_plan(s, loaded, actor="im", today=DAY, partial=True))
    assert not again.changed and again.events == 0


def test_every_load_edit_bumps_the_version_so_a_stale_read_is_refused(cpflow, mini_plan):
    """Issue 13 section 6: read at version 1, the plan is reloaded with a new state; a move
    made on the old read is refused with exit 3 before any other check."""
    import json

    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    assert json.loads(cpflow("show", "mini:1.2", "--format", "json").stdout)["version"] == 1
    mini_plan.write_text(
        MINI_PLAN.replace('{code: "1.2", title: Second action', '{code: "1.2", state: endorsed, title: Second action')
    )
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    shown = json.loads(cpflow("show", "mini:1.2", "--format", "json").stdout)
    assert (shown["state"], shown["version"]) == ("endorsed", 2)
    result = cpflow("move", "mini:1.2", "drop", "--by", "lead", "--reason", "stale", "--expect-version", "1")
    assert result.exit_code == 3, result.output
    assert "changed since you read it" in result.stderr
    # A title edit and an activity gone from the file are changes too.
    mini_plan.write_text(MINI_PLAN.replace("Second action", "Second action renamed").replace(
        '      - {code: "1.3", title: Later action, phase: years-3-4}\n', ""))  # fmt: skip
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    versions = {r["id"]: r["version"] for r in map(lambda i: json.loads(cpflow("show", i, "--format", "json").stdout),
                                                   ("mini:1.1", "mini:1.2", "mini:1.3"))}  # fmt: skip
    assert versions == {"mini:1.1": 1, "mini:1.2": 3, "mini:1.3": 2}
    assert cpflow("audit", "verify").exit_code == 0


def test_a_partial_load_edit_bumps_the_version(db):
    db.write(lambda s: load_plan(s, parse_plan(MINI_PLAN.encode(), "mini.yaml"), actor="lead", today=DAY))
    loaded = spec_with([{"code": "1.1", "title": "First action", "objective": "1", "lead": "UNICEF"}])
    db.write(lambda s: load_plan(s, loaded, actor="im", today=DAY, partial=True))
    with db.read() as session:
        versions = dict(session.execute(select(Activity.code, Activity.version)).all())
    assert versions == {"1.1": 2, "1.2": 1, "1.3": 1}
