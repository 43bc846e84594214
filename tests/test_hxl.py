"""HXL export (issue 16): the three tables of every seed read back through libhxl and pass
their shipped HXL schemas; values match the database; a broken table fails its schema."""

from __future__ import annotations

import hxl
import pytest

from cpflow.exports.hxl import TABLES, validate_hxl
from tests.conftest import WORKFLOWS

SEEDS = sorted(p.stem for p in WORKFLOWS.glob("*.yaml"))
OPTIONS = hxl.InputOptions(allow_local=True)


def _export(cpflow, tmp_path, slug, table):
    out = tmp_path / f"{slug}-{table}.csv"
    result = cpflow("export", slug, "--format", "hxl", "--table", table, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("slug", SEEDS)
def test_every_table_of_every_seed_reads_back_through_libhxl_and_passes_its_schema(seeded, tmp_path, slug):
    for table in TABLES:
        out = _export(seeded, tmp_path, slug, table)
        data = hxl.data(str(out), OPTIONS)
        assert [column.display_tag for column in data.columns] == [tag for _, _, tag in TABLES[table]]
        assert validate_hxl(out, table) == [], table


def test_values_match_the_database(seeded, tmp_path):
    import json

    activities = json.loads(seeded("activities", "--plan", "cpms-wg-2022-2025", "--format", "json").stdout)
    rows = list(hxl.data(str(_export(seeded, tmp_path, "cpms-wg-2022-2025", "activities")), OPTIONS))
    assert [row.get("#activity+code") for row in rows] == [a["code"] for a in activities]
    assert [row.get("#status") for row in rows] == [a["state"] for a in activities]
    funding = list(hxl.data(str(_export(seeded, tmp_path, "alliance-2018-2020", "funding")), OPTIONS))
    year = [row for row in funding if row.get("#date+period") == "2018"]
    assert sum(float(row.get("#value+funding") or 0) for row in year) == pytest.approx(1098622.00)
    assert sum(float(row.get("#value+required")) for row in year) == pytest.approx(3750272.00)


def test_a_broken_table_fails_its_schema_naming_the_row_and_tag(seeded, tmp_path):
    out = _export(seeded, tmp_path, "cpms-wg-2022-2025", "activities")
    lines = out.read_text(encoding="utf-8").splitlines()
    lines[2] = "," + lines[2].split(",", 1)[1].replace("2022-01-01", "January 2022", 1)
    out.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    errors = validate_hxl(out, "activities")
    assert any("#activity+code" in e for e in errors) and any("#date+start" in e for e in errors), errors


def test_an_unknown_table_is_exit_2(seeded, tmp_path):
    result = seeded("export", "cp-swg-2025", "--format", "hxl", "--table", "people")
    assert result.exit_code == 2
