"""The web app's routes on a real database (SQLite, and PostgreSQL when CPFLOW_TEST_PG_URL
is set): the role x route matrix with the documented status for each, the JSON contracts
other tools rely on, and the review pack's bytes."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.conftest import run_cli, snapshot
from tests.test_web_shared import copy_fixture, template_fixture

ROLES = ("anonymous", "mo", "rev", "lea", "col", "admin", "nobody", "olead")
LOGIN = {"anonymous": None, "mo": "mo", "rev": "rev", "lea": "lea", "col": "col", "admin": "admin", "nobody": "nobody",
         "olead": "olead"}  # fmt: skip
READ_PAGES = ("/plans/mini", "/plans/mini/activities", "/plans/mini/activities/1.1", "/plans/mini/review",
              "/plans/mini/indicators", "/plans/mini/funding", "/plans/mini/findings", "/plans/mini/reports")  # fmt: skip
READ_API = ("/api/v1/plans/mini", "/api/v1/plans/mini/activities", "/api/v1/plans/mini/activities/1.1",
            "/api/v1/plans/mini/submissions", "/api/v1/plans/mini/indicators", "/api/v1/plans/mini/funding",
            "/api/v1/plans/mini/findings")  # fmt: skip
# What each kind of person gets: reading the plan, moving an activity, the accounts page.
READ = {"anonymous": 401, "mo": 200, "rev": 200, "lea": 200, "col": 200, "admin": 200, "nobody": 404, "olead": 404}
MOVE = {"anonymous": 401, "mo": 202, "rev": 403, "lea": 201, "col": 201, "admin": 403, "nobody": 404, "olead": 404}
ACCOUNTS = {"anonymous": 401, "mo": 403, "rev": 403, "lea": 403, "col": 403, "admin": 200, "nobody": 403, "olead": 403}


# Tests that only read share one database and app per backend (`read_web`); every other
# test gets its own copy of the module's built database (`web`, `cpflow` on that copy).


built = template_fixture()


read_web = copy_fixture("read_web", scope="module")


web = copy_fixture("web")


@pytest.fixture
def cpflow(web):
    return lambda *args, env=None: run_cli(*args, db_url=web.url, env=env)


@pytest.mark.parametrize("who", ROLES)
def test_role_by_route_matrix_for_reading(read_web, who):
    web = read_web
    before = snapshot(web.url)
    client = web.client(LOGIN[who])
    for path in READ_PAGES:
        reply = client.get(path, follow_redirects=False)
        expected = 303 if READ[who] == 401 else READ[who]
        assert reply.status_code == expected, (who, path, reply.text[:300])
        if expected == 303:
            assert reply.headers["location"].startswith("/login?next=")
    for path in READ_API:
        reply = client.get(path)
        assert reply.status_code == READ[who], (who, path, reply.text[:300])
        if reply.status_code != 200:
            assert set(reply.json()) == {"error"}
    assert client.get("/api/v1/accounts").status_code == ACCOUNTS[who]
    assert snapshot(web.url) == before  # reading wrote nothing (so the shared database stays as built)


@pytest.mark.parametrize("who", ROLES)
def test_role_by_route_matrix_for_a_move(web, who):
    client = web.client(LOGIN[who])
    before = snapshot(web.url)
    reply = client.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01"},
                        headers={"X-CSRF-Token": client.csrf})  # fmt: skip
    assert reply.status_code == MOVE[who], reply.text
    after = snapshot(web.url)
    if MOVE[who] == 201:
        assert reply.json()["actor"] == who and reply.json()["to"] == "endorsed"
        assert len(after["transition_events"]) > len(before["transition_events"])
    elif MOVE[who] == 202:
        assert reply.json()["status"] == "pending" and reply.json()["submitted_by"] == who
        assert len(after["submissions"]) == len(before["submissions"]) + 1
        assert after["activities"] == before["activities"]
    else:
        assert after == before
        if MOVE[who] == 403:
            assert "lead, co-lead or member" in reply.json()["error"]


def test_a_member_submits_and_a_lead_approves_through_the_api(web):
    member, lead = web.client("mo"), web.client("lea")
    sent = member.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01",
                       "ref": "minutes 3"}, headers={"X-CSRF-Token": member.csrf})  # fmt: skip
    assert sent.status_code == 202
    queue = lead.get("/api/v1/plans/mini/submissions?status=pending").json()
    assert [s["id"] for s in queue] == [sent.json()["id"]]
    approved = lead.post(f"/api/v1/submissions/{sent.json()['id']}/approve", headers={"X-CSRF-Token": lead.csrf})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    activity = lead.get("/api/v1/plans/mini/activities/1.1").json()
    assert activity["state"] == "endorsed"
    assert activity["history"][-1]["submitted_by"] == "mo" and activity["history"][-1]["approved_by"] == "lea"
    assert lead.get("/api/v1/plans/mini/submissions?status=pending").json() == []


def test_a_lead_returns_with_a_comment_and_the_member_sees_it(web):
    member, lead = web.client("mo"), web.client("lea")
    sent = member.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01"},
                       headers={"X-CSRF-Token": member.csrf}).json()  # fmt: skip
    back = lead.post(f"/api/v1/submissions/{sent['id']}/return", json={"comment": "attach the minutes"},
                     headers={"X-CSRF-Token": lead.csrf})  # fmt: skip
    assert back.status_code == 200 and back.json()["status"] == "returned"
    page = member.get("/plans/mini/review")
    assert "attach the minutes" in page.text and "Resubmit" in page.text


def test_a_stale_version_is_409_and_changes_nothing(web):
    lead = web.client("lea")
    first = lead.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01"},
                      headers={"X-CSRF-Token": lead.csrf})  # fmt: skip
    assert first.status_code == 201
    before = snapshot(web.url)
    stale = lead.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "start", "at": "2022-06-01"},
                      headers={"X-CSRF-Token": lead.csrf, "If-Match": '"1"'})  # fmt: skip
    assert stale.status_code == 409 and "changed since you read it" in stale.json()["error"]
    assert snapshot(web.url) == before


def test_bad_input_is_400_with_one_message_and_unknown_activity_is_404(web):
    lead = web.client("lea")
    bad = lead.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "complete"}, headers={"X-CSRF-Token": lead.csrf})
    assert bad.status_code == 400 and "cannot complete" in bad.json()["error"]
    date = lead.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "May"},
                     headers={"X-CSRF-Token": lead.csrf})  # fmt: skip
    assert date.status_code == 400 and date.json()["error"].startswith("at:")
    assert lead.get("/api/v1/plans/mini/activities/9.9").status_code == 404
    assert lead.get("/plans/mini/activities/9.9").status_code == 404


def test_activities_api_gives_the_objects_the_cli_prints(web, cpflow):
    import json

    lead = web.client("lea")
    assert lead.post("/api/v1/plans/mini/activities/1.2/moves", json={"trigger": "endorse", "at": "2022-05-01"},
                     headers={"X-CSRF-Token": lead.csrf}).status_code == 201  # fmt: skip
    cli = json.loads(cpflow("activities", "--plan", "mini", "--state", "endorsed", "--format", "json").stdout)
    assert lead.get("/api/v1/plans/mini/activities?state=endorsed").json() == cli
    past = lead.get("/api/v1/plans/mini/activities?state=endorsed&as_of=2022-04-30").json()
    assert past == []


def test_the_pack_zip_holds_the_same_bytes_as_cpflow_report_pack(read_web, tmp_path):
    web = read_web
    cpflow = lambda *args: run_cli(*args, db_url=web.url)  # noqa: E731
    reviewer = web.client("rev")
    reply = reviewer.get("/plans/mini/reports/pack.zip?as_of=2023-06-30")
    assert reply.status_code == 200 and reply.headers["content-disposition"].startswith("attachment")
    folder = tmp_path / "cli-pack"
    assert cpflow("report", "pack", "--plan", "mini", "--as-of", "2023-06-30", "-o", str(folder)).exit_code == 0
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    names = {name.split("/", 1)[1]: name for name in archive.namelist()}
    assert set(names) == {p.name for p in folder.iterdir()}
    for short, full in names.items():
        assert archive.read(full) == (folder / short).read_bytes(), short


def test_every_write_route_calls_the_one_service(web, monkeypatch):
    """The web app records a move only through cpflow.services.move, as the CLI does, with the signed-in login."""
    from cpflow import services

    calls = []
    real = services.move
    monkeypatch.setattr(services, "move", lambda *a, **k: calls.append(k["actor"]) or real(*a, **k))
    lead = web.client("lea")
    reply = lead.post("/plans/mini/activities/1.1/moves", data={"trigger": "endorse", "at": "2022-05-01",
                      "actor": "someone-else", "by": "someone-else", "csrf_token": lead.csrf}, follow_redirects=False)  # fmt: skip
    assert reply.status_code == 303
    assert calls == ["lea"]
    events = snapshot(web.url)["transition_events"]
    assert "someone-else" not in repr(events)


INDICATORS_AND_BUDGETS = """\
indicators:
  - code: IND-1
    name: Sectors with a child-protection indicator
    of: "objective:1"
    baseline: {value: 0, date: 2022-01-01}
    targets: [{period: years-1-2, value: 4}]
budgets:
  - {unit: wg, period: years-1-2, budget: 100000, received: 20000}
"""


def test_the_measurement_and_funding_forms_redirect_so_a_refresh_records_nothing_again(web, cpflow, tmp_path):
    from tests.conftest import MINI_PLAN

    plan = tmp_path / "mini-ind.yaml"
    plan.write_text(MINI_PLAN + INDICATORS_AND_BUDGETS, encoding="utf-8")
    assert cpflow("load", str(plan), "--by", "lea").exit_code == 0
    lead, member = web.client("lea"), web.client("mo")
    sent = lead.post("/plans/mini/indicators/IND-1/measurements", data={"value": "2", "at": "2022-09-01",
                     "period": "years-1-2", "source": "survey", "csrf_token": lead.csrf}, follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"].startswith("/plans/mini/indicators?done=recorded&id=")
    before = snapshot(web.url)
    for _ in range(2):  # the browser's refresh repeats the GET, never the POST
        shown = lead.get(sent.headers["location"])
        assert shown.status_code == 200 and "mini:IND-1: recorded (event" in shown.text
    assert snapshot(web.url) == before and len(before["measurements"]) == 1
    funded = member.post("/plans/mini/units/wg/funding", data={"period": "years-1-2", "received": "30000",
                         "at": "2022-10-01", "csrf_token": member.csrf}, follow_redirects=False)  # fmt: skip
    assert funded.status_code == 303 and "done=submitted" in funded.headers["location"]
    assert "mini:wg: submitted for review (submission" in member.get(funded.headers["location"]).text
    assert len(snapshot(web.url)["submissions"]) == 1
    refused = lead.post("/plans/mini/units/wg/funding", data={"period": "years-1-2", "csrf_token": lead.csrf})
    assert refused.status_code == 400 and "give the amount received" in refused.text  # an error renders, nothing to refresh
    forged = lead.get("/plans/mini/indicators?done=recorded&id=7&item=%3Cb%3Eyour+account+is+locked%3C%2Fb%3E")
    assert "your account is locked" not in forged.text and "recorded (event" not in forged.text
