"""The five seed plans, loaded on every backend, checked against the source texts in
../shared/seeds: counts, codes, dates, leads, every 2018 budget figure, schedules and
cross-cutting tags. Reloading is idempotent; edits and removals are recorded, never lost."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import WORKFLOWS, copy_workflows, session_for
from sqlalchemy import func, select

from cpflow.models import Activity, ChecklistItem, Objective, Outcome, Period, Plan, TransitionEvent, Unit

CPMS, ALLIANCE = "cpms-wg-2022-2025", "alliance-2018-2020"
SWG, REFUGEE, IRAQ = "cp-swg-2025", "cpswg-refugee-2021", "iraq-cpsc-2015-2016"


def activities(cpflow, *args: str) -> list[dict]:
    result = cpflow("activities", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def plan_id(session, slug: str) -> int:
    return session.scalar(select(Plan.id).where(Plan.slug == slug))


def by_code(session, pid: int) -> dict[str, dict]:
    """The plan's activity rows as plain mappings (usable after the session closes)."""
    rows = session.execute(select(Activity.__table__).where(Activity.plan_id == pid)).mappings().all()
    return {row["code"]: dict(row) for row in rows}


# --- CPMS Working Group framework 2022-2025 (seed 004) ------------------------------------

YEARS_1_2 = {"1": 4, "2": 13, "3": 8, "4": 4, "5": 3, "6": 8, "7": 5}  # Annex 2: 1.1-1.4 … 7.1-7.5
YEARS_3_4 = {"1": 2, "2": 7, "3": 4, "4": 4, "5": 2, "6": 2, "7": 3}  # Annex 2, right-hand column


def test_cpms_has_45_years_1_2_actions_across_7_objectives_due_end_of_2023(seeded):
    rows = activities(seeded, "--plan", CPMS, "--phase", "years-1-2")
    assert len(rows) == 45
    assert Counter(r["objective"] for r in rows) == YEARS_1_2
    expected_codes = {f"{o}.{n}" for o, count in YEARS_1_2.items() for n in range(1, count + 1)}
    assert {r["code"] for r in rows} == expected_codes
    assert {r["due"] for r in rows} == {"2023-12-31"}
    assert {r["state"] for r in rows} == {"proposed"}
    by_code = {r["code"]: r for r in rows}
    assert by_code["2.11"]["title"] == (
        "Collaborate with the four prioritised sectors to gain support for and identify / revise / develop one "
        "indicator linked to children’s protection and well-being per sector."
    )
    assert by_code["2.11"]["id"] == f"{CPMS}:2.11"
    assert by_code["1.1"]["title"].startswith("Review findings from the Working Across Sectors initiative consultation phase")
    assert by_code["7.5"]["title"].startswith("Starting with the five Working Across Sectors initiative prioritised countries")


def test_cpms_years_3_4_actions_are_due_by_the_end_of_year_4(seeded):
    rows = activities(seeded, "--plan", CPMS, "--phase", "years-3-4")
    assert Counter(r["objective"] for r in rows) == YEARS_3_4
    assert {r["due"] for r in rows} == {"2025-12-31"}
    titles = {r["title"] for r in rows}
    assert (
        "Embed mechanisms for dialogue and continue to prioritise coordination and collaboration in prioritised sectors."
        in titles
    )
    assert "Develop a CPMS Working Group advocacy strategy and workplan based on lessons learnt." in titles


def test_cpms_framework_metadata_objectives_targets_sectors_and_annex_1(seeded, db_url):
    with session_for(db_url) as session:
        pid = plan_id(session, CPMS)
        plan = session.get(Plan, pid)
        assert plan.start.isoformat() == "2022-01-01" and plan.end.isoformat() == "2025-12-31"
        assert plan.sectors == ["CCCM", "food security", "health", "education"]
        assert plan.about["vision"].startswith("Our Vision is improved outcomes for children through humanitarian action")
        assert len(plan.about["drivers"]) == 6
        assert [o.title[:40] for o in session.scalars(select(Outcome).where(Outcome.plan_id == pid).order_by(Outcome.key))] == [
            "Prioritised sectors demonstrate increase", "Actors internal to the child protection ",
        ]  # fmt: skip
        objectives = session.scalars(select(Objective).where(Objective.plan_id == pid).order_by(Objective.position)).all()
        assert [o.title for o in objectives] == [
            "Common understanding", "Coordination and collaboration", "Competencies", "Standards", "Tools",
            "Evidence and learning", "Joint advocacy",
        ]  # fmt: skip
        for objective in objectives:
            assert [t["period"] for t in objective.targets] == ["years-3-4"]
            assert objective.targets[0]["text"].startswith("By the end of Year 4 (2025)")
        items = session.scalars(select(ChecklistItem).where(ChecklistItem.plan_id == pid).order_by(ChecklistItem.position)).all()
        assert Counter(i.category for i in items) == {
            "Child Protection Response": 2, "Child Protection Prevention": 9,
            "Assessments, monitoring, data and coordination": 5, "Risk assessment, accountability and safeguarding": 4,
            "Competencies": 2,
        }  # fmt: skip
        assert items[0].text.startswith("Ensure effective child-friendly referral mechanisms are in place")
        item_21 = next(i for i in items if i.code == "annex-1.21")
        assert "principles and approaches [footnote 23: Including child-focused psychological first aid.] so they" in item_21.text
        assert plan.about["priority_actions_note"] == (
            "Priority Actions will inform the development of a detailed workplan by the CPMS WG, in collaboration with "
            "partners, that will assign lead persons to agreed actions."
        )  # footnote 9: why no action has a lead yet
        assert {i.checklist for i in items} == {"annex-1"}
    priorities = [r for r in activities(seeded, "--plan", CPMS) if r["objective"] is None]
    assert len(priorities) == 3  # "Additional priorities to consider …"


# --- Alliance work plan 2018-2020 (seed 003) ------------------------------------------------

# Every "Lead agency(ies)" cell of the source, per unit.
LEADS = {
    "secretariat": ["Save the Children", "UNICEF"],
    "wg1": ["Save the Children", "Terre des hommes"],
    "wg2": ["ChildFund International", "World Vision International"],
    "wg3": ["Terre des Hommes", "UNICEF", "UNHCR", "CP AoR"],
    "wg4": ["Save the Children", "CPC Learning Network"],
    "tf1": ["International Rescue Committee", "UNICEF"],
    "tf2": ["World Vision International", "International Rescue Committee", "CPC Learning Network"],
    "tf3": ["World Vision International", "Plan International", "UNICEF"],
    "tf4": ["Plan International", "International Labour Office (ILO)"],
    "tf5": ["War Child Holland", "International Rescue Committee", "Save the Children"],
    "tf6": ["IOM (rotating)"],
}
# (total 2018-2020, budget 2018, received 2018, funding gap 2018) as the source states them.
BUDGETS = {
    "secretariat": (1_692_000, 564_000, 252_000, 312_000),
    "wg1": (1_649_639, 618_301, 424_622, 193_679),
    "wg2": (96_000, 32_300, 0, 32_300),
    "wg3": (1_666_871, 726_171, 110_000, 616_171),  # source "$110,00": 726,171 - 616,171 = 110,000
    "wg4": (575_000, 210_000, 150_000, 60_000),
    "tf1": (1_585_000, 330_000, 15_000, 315_000),  # source "$1.585,000"
    "tf2": (1_108_000, 54_000, 22_500, 31_500),
    "tf3": (259_000, 66_000, 52_000, 14_000),
    "tf4": (148_500, 37_500, 37_500, 0),
    "tf5": (797_000, 797_000, 0, 797_000),
    "tf6": (685_000, 315_000, 35_000, 280_000),
}


def test_alliance_units_json_has_leads_and_every_budget_figure(seeded):
    result = seeded("units", "--plan", ALLIANCE, "--format", "json")
    assert result.exit_code == 0, result.output
    units = json.loads(result.stdout)
    assert [u["id"] for u in units] == [f"{ALLIANCE}:{key}" for key in LEADS]
    for unit in units:
        key = unit["id"].split(":")[1]
        assert {"id", "name", "leads", "budgets"} <= set(unit)
        assert unit["leads"] == LEADS[key]
        total, budget, received, gap = BUDGETS[key]
        assert unit["budgets"] == [
            {"period": "2018-2020", "currency": "USD", "budget": total, "received": None, "declared_gap": None},
            {"period": "2018", "currency": "USD", "budget": budget, "received": received, "declared_gap": gap},
        ]
        for line in unit["budgets"]:
            assert all(isinstance(line[k], int) or line[k] is None for k in ("budget", "received", "declared_gap"))
    assert sum(BUDGETS[k][1] - BUDGETS[k][2] for k in BUDGETS) == sum(BUDGETS[k][3] for k in BUDGETS)
    names = {u["id"].split(":")[1]: u["name"] for u in units}
    assert names["wg3"] == "Working Group 3: Learning and Development Working Group (L&D WG)"
    assert names["tf4"] == "Task Force 4: Child Labour Task Force"


def test_alliance_has_11_units_38_objectives_and_259_hierarchically_numbered_activities(seeded, db_url):
    rows = activities(seeded, "--plan", ALLIANCE)
    assert len(rows) == 259
    assert len({r["code"] for r in rows}) == 259
    assert {r["unit"] for r in rows} == set(LEADS)
    with session_for(db_url) as session:
        pid = plan_id(session, ALLIANCE)
        kinds = Counter(session.scalars(select(Unit.kind).where(Unit.plan_id == pid)))
        assert kinds == {"secretariat": 1, "working_group": 4, "task_force": 6}
        assert session.scalar(select(func.count()).select_from(Objective).where(Objective.plan_id == pid)) == 38
    codes = {r["code"] for r in rows}
    assert "WG4-2.4.1" in codes  # three levels, as the source numbers 2.4.1
    assert all(r["due"] == "2020-12-31" and r["start"] == "2018-01-01" for r in rows)


# --- the three country plans (seeds 000, 001, 002) -----------------------------------------


def test_cp_swg_2025_objectives_areas_types_results_and_cross_cutting_tags(seeded, db_url):
    rows = {r["code"]: r for r in activities(seeded, "--plan", SWG)}
    assert len(rows) == 30
    assert Counter(code.split(".")[0] for code in rows) == {"1": 7, "2": 3, "3": 7, "4": 2, "5": 6, "6": 3, "7": 2}
    with session_for(db_url) as session:
        pid = plan_id(session, SWG)
        plan = session.get(Plan, pid)
        assert plan.cross_cutting == ["Gender", "AAP", "PSEA", "AGD"]
        assert plan.records_expected_results is True
        assert session.scalar(select(func.count()).select_from(Objective).where(Objective.plan_id == pid)) == 5
        acts = by_code(session, pid)
    types = {code: a["activity_type"] for code, a in acts.items()}
    assert {types[c] for c in ("1.1", "1.7")} == {"Coordination"}
    assert types["2.1"] == "Assessment" and types["3.1"] == "Technical Support" and types["4.1"] == "Reporting"
    assert types["5.1"] == "Capacity Building" and types["7.1"] == "other"
    assert {c: acts[c]["cross_cutting"] for c in ("5.4", "5.5", "5.6", "5.7")} == {
        "5.4": ["AGD"], "5.5": ["Gender"], "5.6": ["PSEA"], "5.7": ["AGD"],
    }  # fmt: skip
    assert acts["1.1"]["expected_result"] == "CP SWG ToRs created and work plan developed"
    assert acts["3.6"]["expected_result"] is None  # the source's cell is empty
    assert rows["1.1"]["title"] == "Update ToRs & work plan of CP SWG, as needed"


def test_cp_swg_2025_carries_only_what_the_source_states_and_its_readings_in_notes(seeded, db_url):
    """The source's "Sector Objective" column holds area names, so no activity is linked to an
    objective; the reading of each area is in the activity's notes, where users see it."""
    rows = {r["code"]: r for r in activities(seeded, "--plan", SWG)}
    assert {r["objective"] for r in rows.values()} == {None}
    with session_for(db_url) as session:
        plan = session.get(Plan, plan_id(session, SWG))
        acts = by_code(session, plan.id)
        cross_cutting, about = plan.cross_cutting, plan.about
    assert {code: a["objectives"] for code, a in acts.items()} == {code: [] for code in acts}
    assert all(a["notes"] and "No objective in the source" in a["notes"] for a in acts.values())
    assert acts["1.1"]["notes"].endswith('"Coordination & Inter Sectorial Coordination"; read as objective 1 (coordination).')
    remarks = {
        "1.2": "Currently co-chair responsibilities rotate between UNICEF & UNHCR",
        "1.3": "As suggested by CP SWG members",
        "1.6": "Suggestion from CP SGW members, to faciliate opportunities for informal coordination.",
    }
    for code, remark in remarks.items():  # remarks in the source's result column are not results
        assert acts[code]["expected_result"] is None
        assert f'Expected Result cell reads "{remark}": a remark, not a result.' in acts[code]["notes"]
    assert {acts[c]["activity_type"] for c in ("6.2", "6.3", "6.4")} == {None}  # the source gives area 6 no type
    assert "AAP" in cross_cutting and not any("AAP" in a["cross_cutting"] for a in acts.values())
    assert about["cross_cutting_note"].startswith("The plan lists AAP among its cross-cutting issues, but no activity")


def test_refugee_plan_objectives_quarter_schedules_and_status(seeded, db_url):
    rows = activities(seeded, "--plan", REFUGEE)
    assert Counter(r["objective"] for r in rows) == {"1": 4, "2": 7, "3": 8, "4": 5, "5": 4, "6": 4}
    assert {r["state"] for r in rows} == {"proposed"}  # the source's Status column is blank
    with session_for(db_url) as session:
        pid = plan_id(session, REFUGEE)
        periods = {
            p.key: (p.start.isoformat(), p.end.isoformat()) for p in session.scalars(select(Period).where(Period.plan_id == pid))
        }
        acts = by_code(session, pid)
    assert periods == {
        "Q1": ("2021-01-01", "2021-03-31"), "Q2": ("2021-04-01", "2021-06-30"),
        "Q3": ("2021-07-01", "2021-09-30"), "Q4": ("2021-10-01", "2021-12-31"),
    }  # fmt: skip
    assert acts["1.1"]["schedule"] == ["Q1", "Q2"]  # "Q1-Q2"
    assert acts["2.3"]["schedule"] == ["Q1", "Q2", "Q3", "Q4"]  # "All quarters"
    assert (acts["1.1"]["start"].isoformat(), acts["1.1"]["due"].isoformat()) == ("2021-01-01", "2021-06-30")
    assert acts["1.1"]["lead"] == "Co-chairs of UNHCR and UNICEF"


def test_refugee_plan_timeline_entries_follow_the_results_they_were_written_for(seeded, db_url):
    """Objectives 1, 2 and 5 have one timeline entry per Result bullet (2, 6 and 2 entries for 4,
    7 and 4 activities): each activity is scheduled by its result, and none falls back to the
    end of the year for want of an entry."""
    with session_for(db_url) as session:
        plan = session.get(Plan, plan_id(session, REFUGEE))
        acts = by_code(session, plan.id)
        about = plan.about
    schedules = {code: a["schedule"] for code, a in acts.items() if code[0] in "125"}
    everything = ["Q1", "Q2", "Q3", "Q4"]
    assert schedules == {
        "1.1": ["Q1", "Q2"], "1.2": ["Q1", "Q2"], "1.3": ["Q2", "Q3"], "1.4": ["Q1", "Q2"],
        "2.1": ["Q1"], "2.2": ["Q2"], "2.3": everything, "2.4": everything, "2.5": everything, "2.6": ["Q3"], "2.7": ["Q2"],
        "5.1": ["Q2"], "5.2": ["Q2"], "5.3": ["Q2"], "5.4": ["Q3"],
    }  # fmt: skip
    assert acts["1.3"]["due"].isoformat() == "2021-09-30" and acts["2.7"]["due"].isoformat() == "2021-06-30"
    assert all("Timeline by result" in acts[code]["notes"] for code in schedules)
    assert {a["lead"] for code, a in acts.items() if code.startswith("4.")} == {"Co-chairs"}  # "Co-chairs to lead and …"
    assert acts["4.1"]["contributors"] == ["members", "Case Management Task Force members"]
    assert about["title_note"].startswith("The source has no title; this one is constructed")


def test_iraq_plan_key_areas_outputs_and_month_schedules(seeded, db_url):
    rows = activities(seeded, "--plan", IRAQ)
    assert len(rows) == 28
    assert len({r["objective"] for r in rows}) == 14
    with session_for(db_url) as session:
        pid = plan_id(session, IRAQ)
        units = session.scalars(select(Unit.name).where(Unit.plan_id == pid).order_by(Unit.id)).all()
        acts = by_code(session, pid)
        months = session.scalars(
            select(Period.key).where(Period.plan_id == pid, Period.kind == "month").order_by(Period.start)
        ).all()
    assert units == ["Coordination", "Co-leadership strengthen", "Ensuring Basic Service delivery", "Planning and Strategy",
                     "Capacity building", "Information Management and Information Sharing", "Advocacy"]  # fmt: skip
    assert months == ["2015-09", "2015-10", "2015-11", "2015-12", "2016-01", "2016-02"]
    assert acts["1.1"]["schedule"] == ["2015-09"]
    assert acts["2.1"]["schedule"] == ["2015-10", "2015-12", "2016-02"]
    assert acts["3.1"]["schedule"] == months
    assert (acts["1.1"]["start"].isoformat(), acts["1.1"]["due"].isoformat()) == ("2015-09-01", "2015-09-30")


# --- reloading ---------------------------------------------------------------------------------


def event_count(db_url: str) -> int:
    with session_for(db_url) as session:
        return session.scalar(select(func.count()).select_from(TransitionEvent))


def test_reloading_the_seeds_changes_nothing_and_says_so(seeded, db_url):
    before = event_count(db_url)
    result = seeded("load", *sorted(str(p) for p in WORKFLOWS.glob("*.yaml")), "--by", "test")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{slug}: unchanged" for slug in sorted([ALLIANCE, SWG, CPMS, REFUGEE, IRAQ])]
    assert result.stderr == ""
    assert event_count(db_url) == before
    assert seeded("audit", "verify").exit_code == 0


def test_an_edited_title_becomes_an_edit_event(cpflow, db_url, tmp_path):
    folder = copy_workflows(tmp_path)
    assert cpflow("load", str(folder / "cpms-wg-2022-2025.yaml"), "--by", "lead").exit_code == 0
    path = folder / "cpms-wg-2022-2025.yaml"
    old = "Co-define, frame and agree core language and approaches for use by child protection and protection actors."
    path.write_text(path.read_text(encoding="utf-8").replace(old, "Co-define and agree core language."), encoding="utf-8")
    result = cpflow("load", str(path), "--by", "co-lead")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{CPMS}: 1 edited")  # (the plan's file hash changed too)
    with session_for(db_url) as session:
        event = (
            session.execute(
                select(TransitionEvent.__table__)
                .where(TransitionEvent.activity_id.is_not(None))
                .order_by(TransitionEvent.id.desc())
            )
            .mappings()
            .first()
        )
        code = session.scalar(select(Activity.code).where(Activity.id == event["activity_id"]))
    assert (event["kind"], event["actor"], code) == ("edit", "co-lead", "1.2")
    assert json.loads(event["data"])["changes"]["title"] == [old, "Co-define and agree core language."]
    assert cpflow("audit", "verify").exit_code == 0


def test_an_activity_removed_from_the_file_is_reported_and_kept(cpflow, db_url, tmp_path):
    folder = copy_workflows(tmp_path)
    path = folder / "cp-swg-2025.yaml"
    assert cpflow("load", str(path), "--by", "lead").exit_code == 0
    text = path.read_text(encoding="utf-8")
    start = text.index('  - code: "7.2"')
    path.write_text(text[:start], encoding="utf-8")
    result = cpflow("load", str(path), "--by", "lead")
    assert result.exit_code == 0, result.output
    assert "1 activities are no longer in the file and were kept: 7.2" in result.stderr
    rows = {r["code"] for r in activities(cpflow, "--plan", SWG)}
    assert "7.2" in rows and len(rows) == 30
    with session_for(db_url) as session:
        in_source = session.scalar(select(Activity.in_source).join(Plan).where(Plan.slug == SWG, Activity.code == "7.2"))
    assert in_source is False
    events = event_count(db_url)
    again = cpflow("load", str(path), "--by", "lead")
    assert again.exit_code == 0
    assert "no longer in the file and were kept: 7.2" in again.stderr  # still reported, still kept
    assert event_count(db_url) == events


@pytest.mark.parametrize("slug", [CPMS, ALLIANCE, SWG, REFUGEE, IRAQ])
def test_each_seed_plan_is_listed_with_its_activity_count(seeded, slug):
    plans = {p["slug"]: p for p in json.loads(seeded("plans", "--format", "json").stdout)}
    counts = {CPMS: 72, ALLIANCE: 259, SWG: 30, REFUGEE: 32, IRAQ: 28}
    assert plans[slug]["activities"] == counts[slug]


def test_a_database_from_before_objectives_lists_upgrades_to_the_same_plan(seeded, db_url):
    """Migration 0002 adds activities.objectives and fills it from each activity's objective:
    a database made at 0001 upgrades, and reloading the seeds then changes nothing."""
    from alembic import command

    from cpflow.db import Database
    from cpflow.migrate import alembic_config, upgrade

    with session_for(db_url) as session:
        before = dict(session.execute(select(Activity.id, Activity.objectives)).all())
    assert before[next(iter(before))] is not None and any(before.values())
    database = Database(db_url)
    try:
        with database.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
        with database.engine.begin() as conn:
            upgrade(conn)
    finally:
        database.dispose()
    with session_for(db_url) as session:
        assert dict(session.execute(select(Activity.id, Activity.objectives)).all()) == before
    events = event_count(db_url)
    result = seeded("load", *sorted(str(p) for p in WORKFLOWS.glob("*.yaml")), "--by", "test")
    assert result.exit_code == 0 and "edited" not in result.stdout, result.output
    assert event_count(db_url) == events
