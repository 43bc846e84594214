"""The importer reads a HXL hashtag row (issue 16): a 3W table from HDX, or cpflow's own HXL
export, imports without a mapping file; the tags decide what each column is, and the
hashtag row is never an activity."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import WORKFLOWS, session_for

SEEDS = sorted(p.stem for p in WORKFLOWS.glob("*.yaml"))
# What the HXL activities table carries (phase and the objective's title it does not).
CARRIED = ["code", "title", "lead", "contributors", "sectors", "countries", "objective", "unit", "state", "start", "due"]

HDX_3W = """\
Who,Partner,Supported by,Sector,Activity code,Activity,Country,ISO3,State,Status,Start date,End date,Targeted,Comments
#org +name,#org+impl,#org+funder,#sector+cluster,#activity+code,#activity+name,#country+name,#country+code+v_iso3,#adm1+name,#status,#date+start,#date+end,#targeted,#meta+notes
UNICEF,War Child,ECHO,Child Protection,CP-01,Case management for unaccompanied children,Iraq,IRQ,Ninewa,Ongoing,2024-01-15,2024-12-31,300,Two mobile teams
Save the Children,,,Child Protection,CP-02,Psychosocial support in child-friendly spaces,Iraq,IRQ,Duhok,Completed,2024-02-01,2024-06-30,1200,
INTERSOS,Local NGO A; Local NGO B,ECHO,Child Protection,CP-03,Train social workers on case management,Iraq,IRQ,,Planned,2024-07-01,2024-09-30,40,
"""


def _activities(db_url: str, slug: str) -> dict[str, dict]:
    from cpflow.clock import today
    from cpflow.read.frames import load_frames

    with session_for(db_url) as session:
        frames = load_frames(session, plans=(slug,), as_of=today())
    table = frames.activities
    out = {}
    for row in table[CARRIED].to_dict("records"):
        out[row["code"]] = {k: (None if not isinstance(v, list) and v != v else v) for k, v in row.items()}  # NaN/NaT: None
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_cpflows_own_hxl_export_imports_back_to_the_same_plan(seeded, db_url, tmp_path, seed):
    table = tmp_path / f"{seed}.csv"
    assert seeded("export", seed, "--format", "hxl", "-o", str(table)).exit_code == 0
    assert table.read_text(encoding="utf-8").splitlines()[1].startswith("#activity+code,")
    result = seeded("import", str(table), "--plan", "back", "--by", "t")
    assert result.exit_code == 0, result.output
    assert "row 2 is a HXL hashtag row" in result.output and "header row 1" in result.output
    original, back = _activities(db_url, seed), _activities(db_url, "back")
    assert list(back) == list(original)  # the hashtag row is not an activity
    for code, row in original.items():
        assert back[code] == row, code


def test_a_hdx_3w_imports_without_a_mapping_file(cpflow, db_url, tmp_path):
    sheet = tmp_path / "3w.csv"
    sheet.write_text(HDX_3W, encoding="utf-8")
    result = cpflow("import", str(sheet), "--plan", "iraq-3w", "--by", "im", "--status-date", "2024-07-15")
    assert result.exit_code == 0, result.output
    assert "3 activities" in result.output
    assert "columns not imported: Supported by" in result.output  # #org+funder: never guessed from its header
    got = _activities(db_url, "iraq-3w")
    assert list(got) == ["CP-01", "CP-02", "CP-03"]
    first = got["CP-01"]
    assert first["title"] == "Case management for unaccompanied children"
    assert (first["lead"], first["contributors"]) == ("UNICEF", ["War Child"])  # #org+funder is no contributor
    assert (first["sectors"], first["countries"]) == (["Child Protection"], ["Iraq"])
    assert (first["start"].date(), first["due"].date()) == (dt.date(2024, 1, 15), dt.date(2024, 12, 31))
    assert [got[c]["state"] for c in got] == ["in_progress", "completed", "proposed"]
    assert got["CP-03"]["contributors"] == ["Local NGO A", "Local NGO B"]
    assert got["CP-02"]["contributors"] == []  # blank is blank: no fill-down in a HXL table
    shown = cpflow("show", "iraq-3w:CP-01", "--format", "json")
    assert shown.exit_code == 0 and "Ninewa" in shown.stdout  # #adm1+name under a `State` header is the place


def test_a_hashtag_row_alone_is_header_enough(cpflow, db_url, tmp_path):
    sheet = tmp_path / "tags-only.csv"
    sheet.write_text("\n".join(HDX_3W.splitlines()[1:]) + "\n", encoding="utf-8")
    result = cpflow("import", str(sheet), "--plan", "tags-only", "--by", "im", "--status-date", "2024-07-15")
    assert result.exit_code == 0, result.output
    assert "row 1 is a HXL hashtag row" in result.output
    assert list(_activities(db_url, "tags-only")) == ["CP-01", "CP-02", "CP-03"]


def test_a_bad_row_in_a_hxl_table_names_its_row_and_writes_nothing(cpflow, db_url, tmp_path):
    from tests.conftest import snapshot

    sheet = tmp_path / "3w.csv"
    sheet.write_text(HDX_3W.replace("2024-07-01", "2024-31-07"), encoding="utf-8")
    assert cpflow("init").exit_code == 0
    before = snapshot(db_url)
    result = cpflow("import", str(sheet), "--plan", "iraq-3w", "--by", "im")
    assert result.exit_code == 2
    assert "row 5" in result.stderr and "2024-31-07" in result.stderr  # the header, the tags, then rows 3, 4, 5
    assert snapshot(db_url) == before


def test_the_tags_are_read_as_the_hxl_standard_writes_them():
    from cpflow.importers.hxltags import is_hashtag_row, parse, tag_fields

    assert parse("#org +lead") == ("org", frozenset({"lead"})) and parse("#Activity+Name") == ("activity", {"name"})
    assert parse("# org") is None and parse("#") is None and parse("#1") is None
    assert is_hashtag_row(["#activity+name", "", None, "#org"]) and not is_hashtag_row(["#", "Activity"])
    assert not is_hashtag_row(["#activity", "text"]) and not is_hashtag_row(["", None])
    fields = tag_fields(["#org+impl", "#org+lead", "#activity", "#sector+cluster", "#subsector", "#adm2+code"])
    assert fields == {1: "lead", 0: "contributors", 2: "title", 4: "sectors", 5: "location"}
