"""`cpflow report pack`: reproducible to the byte, honest about the data it was built
from, and unchanged for a past date whatever is recorded later."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_report_support import ACTOR, NOW, D, folder_bytes, review_db  # noqa: F401

from cpflow.reports.build import ReportOptions
from cpflow.reports.pack import FILES, GENERATOR, MANIFEST, write_pack
from cpflow.services import move

OPTIONS = ReportOptions(as_of=D("2023-12-31"), since=D("2023-01-01"))
BIN = Path(sys.executable).parent


def test_two_builds_are_byte_identical_wherever_they_are_written(review_db, tmp_path):
    first = write_pack(review_db, OPTIONS, tmp_path / "a")
    write_pack(review_db, OPTIONS, tmp_path / "deeper" / "b")
    assert [p.name for p in first] == [*FILES, MANIFEST]
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "deeper" / "b")


def test_time_zone_and_wall_clock_leave_no_trace(review_db, db_url, tmp_path):
    write_pack(review_db, OPTIONS, tmp_path / "here")
    for zone in ("Pacific/Kiritimati", "America/Los_Angeles"):
        env = {**os.environ, "TZ": zone}
        out = tmp_path / zone.replace("/", "-")
        result = subprocess.run(
            [str(BIN / "cpflow"), "--db", db_url, "report", "pack", "--as-of", "2023-12-31", "--since", "2023-01-01",
             "-o", str(out)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert folder_bytes(out) == folder_bytes(tmp_path / "here"), zone
    today = dt.date.today().isoformat().encode()
    for name, data in folder_bytes(tmp_path / "here").items():
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(tmp_path / "here" / name) as archive:
                core = archive.read("docProps/core.xml").decode()
                assert "2023-12-31T00:00:00Z" in core
                data = b"".join(archive.read(n) for n in archive.namelist())
        assert today not in data, name


def test_manifest_records_dates_rules_version_file_hashes_and_data_head(review_db, tmp_path):
    from cpflow import __version__

    options = ReportOptions(as_of=D("2023-12-31"), select=("T", "F3"), ignore=("T103",))
    write_pack(review_db, options, tmp_path / "p")
    manifest = json.loads((tmp_path / "p" / MANIFEST).read_text())
    assert manifest["as_of"] == "2023-12-31" and manifest["since"] is None
    assert manifest["cpflow"] == __version__
    assert manifest["rules"]["select"] == ["T", "F3"] and manifest["rules"]["ignore"] == ["T103"]
    assert "T103" not in manifest["rules"]["ran"] and "T101" in manifest["rules"]["ran"]
    assert [f["name"] for f in manifest["files"]] == list(FILES)
    for entry in manifest["files"]:
        data = (tmp_path / "p" / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    with review_db.read() as session:
        from cpflow.audit import head

        events, digest = head(session)
    assert manifest["data"] == {"events": events, "head_sha256": digest}


def test_a_move_in_between_changes_the_pack_and_the_data_hash(review_db, tmp_path):
    write_pack(review_db, OPTIONS, tmp_path / "before")
    move(review_db, "review:1.2", "complete", actor=ACTOR, at=D("2023-11-30"), now=NOW)
    write_pack(review_db, OPTIONS, tmp_path / "after")
    before, after = folder_bytes(tmp_path / "before"), folder_bytes(tmp_path / "after")
    assert before["progress.xlsx"] != after["progress.xlsx"] and before["report.html"] != after["report.html"]
    head = [json.loads(files[MANIFEST])["data"]["head_sha256"] for files in (before, after)]
    assert head[0] != head[1]


def test_a_report_for_a_past_date_stays_the_same_after_later_moves(review_db, tmp_path):
    write_pack(review_db, OPTIONS, tmp_path / "before")
    move(review_db, "review:1.2", "complete", actor=ACTOR, at=D("2024-02-01"), now=NOW)
    move(review_db, "review:2.3", "start", actor=ACTOR, at=D("2024-03-01"), now=NOW)
    write_pack(review_db, OPTIONS, tmp_path / "after")
    before, after = folder_bytes(tmp_path / "before"), folder_bytes(tmp_path / "after")
    for name in FILES:
        assert before[name] == after[name], name
    assert json.loads(before[MANIFEST])["data"] != json.loads(after[MANIFEST])["data"]


def test_pack_refuses_a_folder_that_holds_something_else(review_db, db_url, tmp_path):
    from conftest import run_cli

    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = run_cli("report", "pack", "--as-of", "2023-12-31", "-o", str(folder), db_url=db_url)
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert (folder / "notes.txt").read_text() == "keep me"
    assert run_cli("report", "pack", "--as-of", "2023-12-31", "-o", str(tmp_path / "p"), db_url=db_url).exit_code == 0
    again = run_cli("report", "pack", "--as-of", "2023-12-31", "-o", str(tmp_path / "p"), db_url=db_url)
    assert again.exit_code == 0, again.output


def _pack_cli(db_url: str, folder: Path, failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CPFLOW_FAILPOINT"}
    if failpoint:
        env["CPFLOW_FAILPOINT"] = failpoint
    return subprocess.run(
        [str(BIN / "cpflow"), "--db", db_url, "report", "pack", "--as-of", "2023-12-31", "-o", str(folder)],
        env=env, cwd=folder.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("failpoint", ["pack:after-progress-xlsx", "pack:before-rename"])
def test_a_pack_killed_midway_leaves_the_previous_pack_whole_and_the_rerun_succeeds(review_db, db_url, tmp_path, failpoint):
    folder = tmp_path / "pack"
    assert _pack_cli(db_url, folder).returncode == 0
    before = folder_bytes(folder)
    move(review_db, "review:1.2", "complete", actor=ACTOR, at=D("2023-11-30"), now=NOW)
    killed = _pack_cli(db_url, folder, failpoint)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert folder_bytes(folder) == before  # the old pack, whole: no file of the new one, none missing
    rerun = _pack_cli(db_url, folder)
    assert rerun.returncode == 0, rerun.stderr
    after = folder_bytes(folder)
    assert after["progress.xlsx"] != before["progress.xlsx"] and sorted(after) == sorted([*FILES, MANIFEST])
    assert [p.name for p in tmp_path.iterdir() if "cpflow-" in p.name] == []  # the killed run's folder is gone
    manifest = json.loads(after[MANIFEST])
    for entry in manifest["files"]:
        assert hashlib.sha256(after[entry["name"]]).hexdigest() == entry["sha256"]


def test_a_first_pack_killed_midway_leaves_no_target_folder(review_db, db_url, tmp_path):
    folder = tmp_path / "pack"
    assert _pack_cli(db_url, folder, "pack:after-progress-xlsx").returncode == -signal.SIGKILL
    assert not folder.exists()
    assert _pack_cli(db_url, folder).returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([*FILES, MANIFEST])
    assert [p.name for p in tmp_path.iterdir() if "cpflow-" in p.name] == []


@pytest.mark.parametrize(
    "files",
    [
        {"manifest.json": '{"files": [], "mine": true}'},  # a user's own manifest
        {"report.html": "<p>my notes</p>"},  # a user's report, no manifest
        {"manifest.json": "not json", "report.html": "<p>x</p>"},
    ],
)
def test_a_folder_that_only_looks_like_a_pack_is_never_overwritten(review_db, db_url, tmp_path, files):
    from conftest import run_cli

    folder = tmp_path / "mine"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    result = run_cli("report", "pack", "--as-of", "2023-12-31", "-o", str(folder), db_url=db_url)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert "not a pack cpflow wrote" in result.stderr and str(folder) in result.stderr
    assert {p.name: p.read_text() for p in folder.iterdir()} == files
    assert [p.name for p in tmp_path.iterdir() if "cpflow-" in p.name] == []


def test_a_previous_pack_with_a_file_the_user_added_is_not_replaced(review_db, db_url, tmp_path):
    from conftest import run_cli

    folder = tmp_path / "pack"
    write_pack(review_db, OPTIONS, folder)
    assert json.loads((folder / MANIFEST).read_text())["generator"] == GENERATOR
    (folder / "minutes.docx").write_text("the user's minutes")
    before = folder_bytes(folder)
    result = run_cli("report", "pack", "--as-of", "2023-12-31", "-o", str(folder), db_url=db_url)
    assert result.exit_code == 2, result.output
    assert folder_bytes(folder) == before


def test_streamed_outputs_are_the_rendered_strings(review_db, tmp_path):
    from cpflow.reports import html, markdown
    from cpflow.reports.build import build_reports
    from cpflow.reports.jsonout import dumps
    from cpflow.reports.pack import _write_findings, findings_document

    for options in (OPTIONS, ReportOptions(as_of=D("2022-01-31"))):
        reports, _ = build_reports(review_db, ("progress", "compliance"), options)
        for one in (reports, reports[:1], reports[1:]):
            assert html.write(one, tmp_path / "r.html").read_text(encoding="utf-8") == html.render(one)
            assert markdown.write(one, tmp_path / "r.md").read_text(encoding="utf-8") == markdown.render(one)
        compliance = reports[1]
        assert len(compliance.findings)
        for found in (compliance.findings, compliance.findings.iloc[:0]):
            compliance.findings = found
            _write_findings(compliance, tmp_path / "f.json")
            assert (tmp_path / "f.json").read_text(encoding="utf-8") == dumps(findings_document(compliance))
