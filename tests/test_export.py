"""`cpflow export` writes a plan as a table that `cpflow import` reads back to the same
activities; no cell from user text can ever run as a formula."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from sqlalchemy import select

from cpflow.db import Database
from cpflow.models import Activity, Objective, Plan, Unit

SEEDS = ["cpms-wg-2022-2025", "alliance-2018-2020", "cp-swg-2025", "cpswg-refugee-2021", "iraq-cpsc-2015-2016"]
FIELDS = ("code", "title", "description", "lead", "contributors", "phase", "schedule", "start", "due", "sectors",
          "countries", "cross_cutting", "activity_type", "expected_result", "state", "checklist", "notes")  # fmt: skip


def activity_fields(db_url: str, slug: str) -> list[tuple]:
    """Every field of every activity, in plan order, with objective code and unit key."""
    database = Database(db_url)
    try:
        with database.read() as session:
            query = (
                select(*(getattr(Activity, "code" if f == "code" else f) for f in FIELDS), Objective.code, Unit.key)
                .join(Plan, Plan.id == Activity.plan_id)
                .outerjoin(Objective, Objective.id == Activity.objective_id)
                .outerjoin(Unit, Unit.id == Activity.unit_id)
                .where(Plan.slug == slug)
                .order_by(Activity.position)
            )
            return [tuple(row) for row in session.execute(query)]
    finally:
        database.dispose()


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_every_seed_plan_round_trips_through_export_and_import(seeded, db_url, tmp_path, fmt):
    for slug in SEEDS:
        path = tmp_path / f"{slug}.{fmt}"
        exported = seeded("export", slug, "--format", fmt, "-o", str(path))
        assert exported.exit_code == 0, exported.output
        imported = seeded("import", str(path), "--plan", f"{slug}-copy", "--by", "im")
        assert imported.exit_code == 0, imported.output
        original, copy = activity_fields(db_url, slug), activity_fields(db_url, f"{slug}-copy")
        assert len(copy) == len(original)
        for before, after in zip(original, copy):
            assert after == before
        again = seeded("import", str(path), "--plan", slug, "--by", "im")  # into the plan it came from
        assert again.stdout.startswith(f"{slug}: unchanged"), again.output


def test_csv_to_standard_output_has_the_importers_headers(seeded):
    result = seeded("export", "cpswg-refugee-2021", "--format", "csv", "-o", "-")
    assert result.exit_code == 0
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header == [
        "Code",
        "Activity",
        "Objective",
        "Objective title",
        "Lead",
        "Contributors",
        "Schedule",
        "Start",
        "Due",
        "Expected result",
        "Status",
        "Notes",
    ]  # fmt: skip (the plan's notes say how its timeline was read)


DANGEROUS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", '=HYPERLINK("http://example.org","x")']


@pytest.fixture
def dangerous_plan(cpflow, tmp_path):
    rows = "Code,Activity,Lead\n" + "".join(
        f'D{i},"{t.replace(chr(34), chr(34) * 2)}",{t[:2]}x\n' for i, t in enumerate(DANGEROUS)
    )
    sheet = tmp_path / "danger.csv"
    sheet.write_text(rows, encoding="utf-8")
    result = cpflow("import", str(sheet), "--plan", "danger", "--title", "Danger", "--by", "im")
    assert result.exit_code == 0, result.output
    return cpflow


def test_formula_looking_text_is_imported_as_text(dangerous_plan):
    rows = json.loads(dangerous_plan("activities", "--plan", "danger", "--format", "json").stdout)
    assert [r["title"] for r in rows] == DANGEROUS


def test_csv_export_quotes_formula_looking_cells_and_reads_back_the_same(dangerous_plan, db_url, tmp_path):
    path = tmp_path / "danger-out.csv"
    assert dangerous_plan("export", "danger", "--format", "csv", "-o", str(path)).exit_code == 0
    table = list(csv.reader(path.open(encoding="utf-8", newline="")))
    titles = [row[1] for row in table[1:]]
    assert titles == ["'" + t for t in DANGEROUS]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in table[1:] for cell in row)
    assert dangerous_plan("import", str(path), "--plan", "danger-copy", "--by", "im").exit_code == 0
    assert activity_fields(db_url, "danger-copy") == activity_fields(db_url, "danger")


def test_xlsx_export_writes_text_cells_never_formulas(dangerous_plan, db_url, tmp_path):
    path = tmp_path / "danger.xlsx"
    assert dangerous_plan("export", "danger", "--format", "xlsx", "-o", str(path)).exit_code == 0
    sheet = openpyxl.load_workbook(path).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None]
    assert cells and all(c.data_type != "f" for c in cells)
    assert [sheet.cell(row=r, column=2).value for r in range(2, 2 + len(DANGEROUS))] == DANGEROUS
    assert dangerous_plan("import", str(path), "--plan", "danger-x", "--by", "im").exit_code == 0
    assert activity_fields(db_url, "danger-x") == activity_fields(db_url, "danger")


def test_xlsx_export_is_the_same_bytes_for_the_same_plan(seeded, tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert seeded("export", "cp-swg-2025", "-o", str(first)).exit_code == 0
    assert seeded("export", "cp-swg-2025", "-o", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "--format", "csv"], "unknown plan 'nowhere'"),
        (["mini", "--format", "pdf"], "--format: unknown format 'pdf'; formats are xlsx, csv"),
        (["mini", "--format", "xlsx", "-o", "-"], "--format xlsx cannot go to standard output"),
    ],
)
def test_export_errors_are_one_clear_line(cpflow, mini_plan, args, message):
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    result = cpflow("export", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_default_output_file_is_named_after_the_plan(cpflow, mini_plan, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    result = cpflow("export", "mini")
    assert result.exit_code == 0
    assert "mini: written to mini.xlsx" in result.stderr
    assert (tmp_path / "mini.xlsx").exists()
