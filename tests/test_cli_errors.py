"""Mistakes at the command line: one line, the documented exit code, and a way forward."""

from cpflow.cli import cli


def test_a_misspelt_plan_slug_gets_a_did_you_mean(seeded):
    result = seeded("activities", "--plan", "cpms-wg-2022-2052", "--state", "proposed")
    assert result.exit_code == 2
    assert "did you mean 'cpms-wg-2022-2025'?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_misspelt_activity_code_gets_a_did_you_mean(seeded):
    result = seeded("show", "cpms-wg-2022-2025:2.111")
    assert result.exit_code == 2
    assert "has no activity '2.111'; did you mean '2.11'?" in result.stderr


def test_a_misspelt_unit_gets_a_did_you_mean(seeded):
    result = seeded("fund", "alliance-2018-2020:wg33", "--period", "2018", "--received", "1", "--by", "lead")
    assert result.exit_code == 2
    assert "did you mean 'wg3'?" in result.stderr


def test_usage_errors_for_dates_and_choices_are_one_line(seeded):
    for args in (
        ("activities", "--as-of", "2023-02-30"),
        ("activities", "--format", "yaml"),
        ("check", "--fail-on", "sometimes"),
        ("move", "cpms-wg-2022-2025:2.11"),
    ):
        result = seeded(*args)
        assert result.exit_code == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


def test_a_missing_actor_says_how_to_give_one(seeded):
    result = seeded("move", "cpms-wg-2022-2025:2.11", "endorse", env={"CPFLOW_USER": ""})
    assert result.exit_code == 2
    assert "an actor is required (pass --by WHO or set CPFLOW_USER)" in result.stderr


def test_a_service_error_names_what_is_missing_and_the_cli_adds_the_flag(seeded):
    result = seeded("move", "cpms-wg-2022-2025:3.5", "drop", "--by", "lead", "--at", "2023-06-20")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: cpms-wg-2022-2025:3.5: drop needs a reason; nothing was written (pass --reason TEXT)"


def test_help_lists_every_exit_code():
    from click.testing import CliRunner

    text = " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    for code in ("0 ok", "1 findings", "2 bad input", "3 conflict", "4 database busy", "70 a bug in cpflow"):
        assert code in text


def test_control_characters_in_an_error_never_reach_the_terminal(seeded):
    result = seeded("show", "cpms-wg-2022-2025:\x1b]0;owned\x07")
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b" in result.stderr


def test_a_pack_to_standard_output_is_refused_and_writes_no_folder_named_dash(seeded, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = seeded("report", "pack", "--plan", "cp-swg-2025", "-o", "-")
    assert result.exit_code == 2
    assert "cannot go to standard output" in result.stderr
    assert not (tmp_path / "-").exists()


def _run_on_a_terminal(args: list[str]) -> bytes:
    """Run the installed `cpflow` with its stdout on a real pseudo-terminal; what it wrote."""
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "cpflow"), *args], stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the child exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks)


def test_plan_text_cannot_drive_the_terminal_through_csv_or_json(tmp_path):
    import json

    hostile = "Train \x1b]8;;http://evil.example\x07staff\x1b]8;;\x07 \x9b31m now"
    plan = tmp_path / "osc.yaml"
    plan.write_text(
        "plan: {slug: osc, title: OSC, start: 2024-01-01, end: 2024-12-31}\n"
        f"activities:\n  - code: '1'\n    title: {json.dumps(hostile)}\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'osc.db'}"
    from conftest import run_cli

    assert run_cli("--db", db, "load", str(plan), "--by", "im").exit_code == 0
    for fmt in ("csv", "json", "table"):
        shown = _run_on_a_terminal(["--db", db, "activities", "--format", fmt]).decode("utf-8")
        assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown, fmt
    shown = _run_on_a_terminal(["--db", db, "activities", "--format", "json"]).decode("utf-8")
    assert json.loads(shown.replace("\r\n", "\n"))[0]["title"] == hostile  # escaped, not lost
    piped = run_cli("--db", db, "activities", "--format", "json")
    assert json.loads(piped.stdout)[0]["title"] == hostile


def test_an_iati_export_without_a_reporting_org_says_where_to_declare_one_and_the_flag(seeded, tmp_path):
    target = tmp_path / "cp.xml"
    result = seeded("export", "cp-swg-2025", "--format", "iati", "-o", str(target))
    assert result.exit_code == 2 and not target.exists()
    assert result.stderr.strip() == (
        "error: cp-swg-2025: no IATI reporting organisation: declare plan.iati.reporting_org in the plan file "
        "(or pass --reporting-org REF)"
    )
