"""`cpflow import` on coordinators' spreadsheets shaped like the seed plans: title rows
above the header, long headers, merged and blank group cells, numbered activity text,
quarter and month X marks, Status words, their own headers with a mapping file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import session_for
from sqlalchemy import func, select

from cpflow.models import Activity, Objective, Period, Plan, TransitionEvent, Unit

SHEETS = Path(__file__).resolve().parent / "data" / "sheets"


def plan_rows(db_url: str, slug: str) -> dict[str, dict]:
    """Activity rows of a plan by code, with objective code and unit key, as plain dicts."""
    with session_for(db_url) as session:
        query = (
            select(Activity.__table__, Objective.code.label("objective_code"), Unit.key.label("unit_key"))
            .join(Plan, Plan.id == Activity.plan_id)
            .outerjoin(Objective, Objective.id == Activity.objective_id)
            .outerjoin(Unit, Unit.id == Activity.unit_id)
            .where(Plan.slug == slug)
        )
        return {row["code"]: dict(row) for row in session.execute(query).mappings()}


def events(db_url: str) -> int:
    with session_for(db_url) as session:
        return session.scalar(select(func.count()).select_from(TransitionEvent))


def test_swg_layout_areas_numbered_by_hash_and_merged_cells(cpflow, db_url):
    result = cpflow("import", str(SHEETS / "swg-2025.xlsx"), "--plan", "swg", "--by", "im-officer")
    assert result.exit_code == 0, result.output
    assert "swg: created from" in result.stdout and 'sheet "Work plan", header row 4' in result.stdout
    rows = plan_rows(db_url, "swg")
    # '#' numbers the areas (merged down), the text numbers the activity within it: 1.1, 1.2 …
    assert sorted(rows) == ["1.1", "1.2", "1.3", "2.1", "2.2", "3.6", "3.7"]
    assert rows["1.1"]["title"] == "Update ToRs & work plan of CP SWG, as needed"
    assert rows["1.3"]["title"] == 'Explore the possiblity of "guest CSO co-chairs"'
    assert {rows[c]["activity_type"] for c in ("1.1", "1.2", "1.3")} == {"Coordination"}
    assert {rows[c]["objective_code"] for c in ("1.1", "1.2", "1.3")} == {"1"}
    assert rows["3.6"]["expected_result"] is None  # an empty result cell is not filled from above
    assert rows["3.7"]["expected_result"] == "Technical guidance developed and shared"
    with session_for(db_url) as session:
        plan = session.execute(select(Plan.__table__).where(Plan.slug == "swg")).mappings().one()
        titles = session.scalars(select(Objective.title).where(Objective.plan_id == plan["id"]).order_by(Objective.code)).all()
    assert plan["title"] == "CP SWG Work Plan-2025"  # the title row above the header
    assert (plan["start"].isoformat(), plan["end"].isoformat()) == ("2025-01-01", "2025-12-31")
    assert titles == ["Coordination & Inter Sectorial Coordination", "Assessment and Resource Mobilization",
                      "Planning and Strategy Development"]  # fmt: skip


def test_refugee_layout_timeline_text_and_status_words(cpflow, db_url, tmp_path):
    mapping = tmp_path / "year.yaml"
    mapping.write_text("year: 2021\n", encoding="utf-8")
    sheet = shutil.copy(SHEETS / "refugee-2021.xlsx", tmp_path)  # --keep-going writes its rejects beside the sheet
    args = ("import", str(sheet), "--plan", "ref", "--map", str(mapping), "--by", "im")
    refused = cpflow(*args)  # row 7 is Cancelled with no comment saying why
    assert refused.exit_code == 2
    assert "row 7, column F \"Status\": got 'Cancelled'; expected a reason for the cancellation in a Comments" in refused.stderr
    result = cpflow(*args, "--keep-going", "--status-date", "2021-06-30")
    assert result.exit_code == 0, result.output
    rows = plan_rows(db_url, "ref")
    assert [rows[c]["state"] for c in ("1.1", "1.2", "2.1", "2.2")] == [
        "completed", "in_progress", "endorsed", "proposed",  # Done, Ongoing, Agreed, Not started
    ]  # fmt: skip
    assert "2.3" not in rows and "1 rows rejected" in result.stderr
    assert rows["1.1"]["schedule"] == ["Q1", "Q2"] and rows["1.2"]["schedule"] == ["Q2", "Q3"]
    assert rows["2.2"]["schedule"] == ["Q1", "Q2", "Q3", "Q4"]
    assert (rows["1.2"]["start"].isoformat(), rows["1.2"]["due"].isoformat()) == ("2021-04-01", "2021-09-30")
    assert rows["1.1"]["title"].startswith("Organize an inception meeting")  # the bullet is dropped
    assert rows["1.2"]["lead"] == "Co-chairs of UNHCR and UNICEF"  # a merged Responsible cell covers both rows
    assert rows["2.2"]["lead"] == "UNHCR"
    assert rows["2.1"]["expected_result"] == "All members are guided on the sector aims"


def test_iraq_layout_month_columns_with_x_marks(cpflow, db_url):
    result = cpflow("import", str(SHEETS / "iraq-months.xlsx"), "--plan", "iraq", "--by", "im")
    assert result.exit_code == 0, result.output
    rows = plan_rows(db_url, "iraq")
    assert [rows[c]["schedule"] for c in ("1", "2", "3", "4")] == [["2015-09"], ["2015-11"], ["2016-02"], ["2015-11", "2015-12"]]
    assert rows["3"]["due"].isoformat() == "2016-02-29"  # Sept … Feb runs into the next year
    assert rows["2"]["expected_result"] == "Nation-wide coordination structures established and functional"
    assert rows["4"]["unit_key"] == "planning-and-strategy"
    with session_for(db_url) as session:
        months = session.scalars(select(Period.key).join(Plan).where(Plan.slug == "iraq").order_by(Period.start)).all()
    assert months == ["2015-09", "2015-10", "2015-11", "2015-12", "2016-01", "2016-02"]


def test_own_headers_need_a_mapping_file_and_then_import(cpflow, db_url):
    sheet = SHEETS / "coordinator-own-headers.xlsx"
    guessed = cpflow("import", str(sheet), "--plan", "edu", "--by", "im", "--dry-run")
    assert guessed.exit_code == 0, guessed.output  # the free-text column under its areas is the activity
    assert 'reading "Action point" as the activity text; --map to change' in guessed.stderr
    assert guessed.stdout.startswith("dry run, nothing was written: edu: created")
    result = cpflow("import", str(sheet), "--plan", "edu", "--map", str(SHEETS / "coordinator-map.yaml"), "--by", "im")
    assert result.exit_code == 0, result.output
    assert 'sheet "Actions 2024", header row 4' in result.stdout  # the read-me sheet has no header row
    rows = plan_rows(db_url, "edu")
    assert {c: (r["state"], r["lead"], r["unit_key"]) for c, r in rows.items()} == {
        "E-1": ("in_progress", "Save the Children", "capacity"),
        "E-2": ("completed", "UNICEF", "coordination"),
        "E-3": ("endorsed", "UNICEF", "coordination"),
    }
    assert rows["E-2"]["due"].isoformat() == "2024-03-31"
    assert rows["E-3"]["notes"] == '=HYPERLINK("http://example.org")'  # formula-looking text stays text
    with session_for(db_url) as session:
        plan = session.execute(select(Plan.__table__).where(Plan.slug == "edu")).mappings().one()
    assert (plan["owner"], plan["start"].isoformat(), plan["end"].isoformat()) == (
        "Education Cluster",
        "2024-01-01",
        "2024-12-31",
    )
    assert plan["title"] == "CP mainstreaming in education, 2024"


def test_importing_the_same_sheet_again_changes_nothing(cpflow, db_url):
    args = ("import", str(SHEETS / "swg-2025.xlsx"), "--plan", "swg", "--by", "im")
    assert cpflow(*args).exit_code == 0
    before = events(db_url)
    again = cpflow(*args)
    assert again.exit_code == 0
    assert again.stdout.startswith("swg: unchanged")
    assert events(db_url) == before
    assert cpflow("audit", "verify").exit_code == 0


def test_import_goes_through_the_audit_chain_like_load(cpflow, db_url):
    assert cpflow("import", str(SHEETS / "iraq-months.xlsx"), "--plan", "iraq", "--by", "im").exit_code == 0
    with session_for(db_url) as session:
        kinds = session.execute(select(TransitionEvent.kind, func.count()).group_by(TransitionEvent.kind)).all()
        actors = set(session.scalars(select(TransitionEvent.actor)))
    assert dict(kinds) == {"create": 5}  # the plan and its four activities
    assert actors == {"im"}
    verify = cpflow("audit", "verify")
    assert verify.exit_code == 0 and "ok: 5 events" in verify.stdout


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_rows_into_an_existing_plan_change_only_the_columns_given(seeded, db_url, tmp_path):
    before = plan_rows(db_url, "cpswg-refugee-2021")
    sheet = write_csv(tmp_path / "update.csv", (
        "Code,Activity,Responsible actor\n"
        "1.1,Organize an inception meeting with MGLSD as well as OPM on child protection coordination,UNHCR\n"
        "6.5,Hold a learning event on do-no-harm across sectors,UNICEF\n"
    ))  # fmt: skip
    result = seeded("import", str(sheet), "--plan", "cpswg-refugee-2021", "--by", "im")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("cpswg-refugee-2021: 1 added, 1 edited")
    assert "no longer in the file" not in result.output  # the other 31 activities are not reported missing
    after = plan_rows(db_url, "cpswg-refugee-2021")
    assert len(after) == 33
    assert after["1.1"]["lead"] == "UNHCR"
    unchanged = ("title", "schedule", "start", "due", "objective_id", "expected_result", "state", "position", "in_source")
    assert {k: after["1.1"][k] for k in unchanged} == {k: before["1.1"][k] for k in unchanged}
    assert all(after[c] == before[c] for c in before if c != "1.1")
    assert after["6.5"]["position"] > max(r["position"] for r in before.values())
    again = seeded("import", str(sheet), "--plan", "cpswg-refugee-2021", "--by", "im")
    assert again.stdout.startswith("cpswg-refugee-2021: unchanged")


def test_schedule_columns_match_the_plans_own_periods(seeded, db_url, tmp_path):
    sheet = write_csv(tmp_path / "months.csv", (
        "Activities,Expected Output,Sept.,Oct.,Nov.,Dec.,Jan,Feb\n"
        "Run a refresher on the CP AoR coordination handbook,Coordinators trained,,X,,,X,\n"
    ))  # fmt: skip
    result = seeded("import", str(sheet), "--plan", "iraq-cpsc-2015-2016", "--by", "im")
    assert result.exit_code == 0, result.output
    rows = plan_rows(db_url, "iraq-cpsc-2015-2016")
    new = [r for code, r in rows.items() if r["title"].startswith("Run a refresher")]
    assert len(new) == 1 and new[0]["schedule"] == ["2015-10", "2016-01"]


def test_csv_from_excel_in_windows_1252_with_semicolons(cpflow, db_url, tmp_path):
    sheet = write_csv(
        tmp_path / "plan.csv", "Activité;Responsable;Status\nRéunion de coordination mensuelle;UNICEF;En cours\n", "cp1252"
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        'columns: {"Activité": title, "Responsable": lead}\nstates: {"En cours": in_progress}\nyear: 2024\n', encoding="utf-8"
    )
    result = cpflow("import", str(sheet), "--plan", "fr", "--map", str(mapping), "--by", "im")
    assert result.exit_code == 0, result.output
    (row,) = plan_rows(db_url, "fr").values()
    assert (row["title"], row["lead"], row["state"]) == ("Réunion de coordination mensuelle", "UNICEF", "in_progress")


def test_codes_from_text_or_assigned_within_their_objective(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "codes.csv", (
        "Objective,Activity\n"
        "Objective 1: Coordination,1.1: Update the ToRs\n"
        ",Map the coordination mechanisms\n"
        "2. Assessment,1. Run the joint assessment\n"
        ",Share the findings\n"
        "Capacity,Train the focal points\n"
    ))  # fmt: skip
    result = cpflow("import", str(sheet), "--plan", "codes", "--title", "Codes", "--by", "im")
    assert result.exit_code == 0, result.output
    rows = plan_rows(db_url, "codes")
    assert {c: (r["objective_code"], r["title"]) for c, r in rows.items()} == {
        "1.1": ("1", "Update the ToRs"),
        "1.2": ("1", "Map the coordination mechanisms"),
        "2.1": ("2", "Run the joint assessment"),
        "2.2": ("2", "Share the findings"),
        "3.1": ("3", "Train the focal points"),
    }
    with session_for(db_url) as session:
        plan = session.execute(select(Plan.__table__).where(Plan.slug == "codes")).mappings().one()
        objectives = dict(session.execute(select(Objective.code, Objective.title).where(Objective.plan_id == plan["id"])).all())
    assert plan["title"] == "Codes"
    assert objectives == {"1": "Coordination", "2": "Assessment", "3": "Capacity"}


def test_none_marker_stops_a_group_cell_carrying_down(cpflow, db_url, tmp_path):
    sheet = write_csv(tmp_path / "none.csv", "Code,Activity,Objective\nA,First,1\nB,Second,\nC,Third,(none)\n")
    assert cpflow("import", str(sheet), "--plan", "none", "--by", "im").exit_code == 0
    rows = plan_rows(db_url, "none")
    assert [rows[c]["objective_code"] for c in "ABC"] == ["1", "1", None]


def test_indicator_baseline_and_target_columns_make_an_activity_indicator(cpflow, tmp_path):
    sheet = write_csv(tmp_path / "ind.csv", (
        "Code,Activity,Phase,Start,Due,Indicator,Baseline,Target,Budget\n"
        "1.1,Train teachers,year-1,2024-01-01,2024-12-31,Teachers trained,0,120,5000\n"
        "1.2,Map services,year-1,2024-01-01,2024-06-30,Service map published,none,one map,\n"
    ))  # fmt: skip
    result = cpflow("import", str(sheet), "--plan", "ind", "--by", "im")
    assert result.exit_code == 0, result.output
    assert "Budget" in result.stderr and "not imported" in result.stderr
    listed = {r["code"]: r for r in json.loads(cpflow("indicators", "--plan", "ind", "--format", "json").stdout)}
    assert listed["IND-1.1"]["baseline"] == 0 and listed["IND-1.1"]["targets"] == [{"period": "year-1", "value": 120.0}]
    assert listed["IND-1.1"]["of"] == "activity:1.1"
    assert listed["IND-1.2"]["name"] == "Service map published (baseline: none; target: one map)"


@pytest.mark.parametrize("sheet_option", [None, "Actions 2024"])
def test_sheet_option_and_title_option(cpflow, db_url, sheet_option):
    args = ["import", str(SHEETS / "coordinator-own-headers.xlsx"), "--plan", "edu", "--title", "Education CP actions",
            "--map", str(SHEETS / "coordinator-map.yaml"), "--by", "im"]  # fmt: skip
    if sheet_option:
        args += ["--sheet", sheet_option]
    assert cpflow(*args).exit_code == 0
    with session_for(db_url) as session:
        assert session.scalar(select(Plan.title).where(Plan.slug == "edu")) == "Education CP actions"


class SpreadsheetPlugin:
    """A plugin adding a reader for `.tab` files and a `jsonl` export format."""

    from cpflow.plugins import hookimpl

    @hookimpl
    def register_importers(self, register):
        register(".tab", lambda path, sheet: [line.split("|") for line in path.read_text(encoding="utf-8").splitlines()])

    @hookimpl
    def register_exporters(self, register):
        register("jsonl", lambda frame, path: path.write_text(frame.to_json(orient="records", lines=True), encoding="utf-8"))


def test_plugins_add_import_and_export_formats(cpflow, db_url, tmp_path, monkeypatch):
    import pluggy

    from cpflow.plugins import hookspecs, manager

    plugins = manager.Plugins(pluggy.PluginManager("cpflow"))
    plugins.manager.add_hookspecs(hookspecs)
    plugins.manager.register(SpreadsheetPlugin())
    monkeypatch.setattr(manager, "get_plugins", lambda selection=None: plugins)
    sheet = tmp_path / "plan.tab"
    sheet.write_text("Code|Activity|Lead\nP1|Meet the cluster|UNICEF\n", encoding="utf-8")
    result = cpflow("import", str(sheet), "--plan", "piped", "--by", "im")
    assert result.exit_code == 0, result.output
    assert plan_rows(db_url, "piped")["P1"]["lead"] == "UNICEF"
    out = tmp_path / "plan.jsonl"
    assert cpflow("export", "piped", "--format", "jsonl", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0])["Activity"] == "Meet the cluster"
