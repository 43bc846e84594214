"""A submission is validated when it is made (and when it is revised) by the same validators
as the direct service that records it on approval (cpflow.services), so nothing accepted
can later fail its approval: amounts within cpflow's limit, finite values, dates not in the
future nor before the plan, known indicator, unit, period and activity, a move allowed from
its state with the reason its rule requires. Refused: exit 2 / HTTP 400 naming the field,
nothing written. A revision may change a value's source (its ref), value or amounts, and
what is approved is the revised submission. On both backends."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.conftest import MINI_PLAN, run_cli, session_for, snapshot
from tests.test_web_routes import INDICATORS_AND_BUDGETS

NINES = "9" * 25  # beyond cpflow's limit of 10,000,000,000,000
TOMORROW = "2999-01-01"


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def plan_with_indicators(team, tmp_path, db_url):
    plan = tmp_path / "mini-ind.yaml"
    plan.write_text(MINI_PLAN + INDICATORS_AND_BUDGETS, encoding="utf-8")
    assert run_cli("load", str(plan), "--by", "lea", db_url=db_url).exit_code == 0
    return team


def _payload(db_url, submission_id: int) -> dict:
    from cpflow.models import Submission

    with session_for(db_url) as session:
        return session.get_one(Submission, submission_id).payload


def _measurements(db_url) -> list[tuple]:
    from cpflow.models import Measurement

    with session_for(db_url) as session:
        return [tuple(r) for r in session.execute(select(Measurement.value, Measurement.source, Measurement.period))]


MEASURE = ("submit", "measure", "mini:IND-1", "2", "--at", "2022-09-01", "--period", "years-1-2")
FUND = ("submit", "fund", "mini:wg", "--period", "years-1-2", "--received", "30000", "--at", "2022-10-01")
MOVE = ("submit", "mini:1.1", "endorse", "--at", "2022-05-12")
COMMENT = ("submit", "comment", "mini:1.1", "--comment", "Venue booked", "--at", "2022-05-12")

# (a submit command that cannot be approved, a word of the one-line refusal naming the field)
SUBMIT_REFUSED = {
    "fund received beyond the limit": (("submit", "fund", "mini:wg", "--period", "years-1-2", "--received", NINES),
                                       "received must be between"),
    "fund budget beyond the limit": (("submit", "fund", "mini:wg", "--period", "years-1-2", "--budget", NINES),
                                     "budget must be between"),
    "fund without an amount": (("submit", "fund", "mini:wg", "--period", "years-1-2"), "amount received"),
    "fund unknown period": (("submit", "fund", "mini:wg", "--period", "years-9", "--received", "1"), "period"),
    "fund unknown unit": (("submit", "fund", "mini:nope", "--period", "years-1-2", "--received", "1"), "unit"),
    "fund in the future": ((*FUND, "--at", TOMORROW), "in the future"),
    "measure infinite value": (("submit", "measure", "mini:IND-1", "1e400", "--at", "2022-09-01"), "finite number"),
    "measure not a number": (("submit", "measure", "mini:IND-1", "many", "--at", "2022-09-01"), "expected a number"),
    "measure unknown period": (("submit", "measure", "mini:IND-1", "2", "--at", "2022-09-01", "--period", "q9"), "period"),
    "measure unknown indicator": (("submit", "measure", "mini:IND-9", "2", "--at", "2022-09-01"), "indicator"),
    "measure in the future": (("submit", "measure", "mini:IND-1", "2", "--at", TOMORROW), "in the future"),
    "measure before the plan": (("submit", "measure", "mini:IND-1", "2", "--at", "2021-12-31"), "before the plan starts"),
    "move without its required reason": (("submit", "mini:1.1", "drop", "--at", "2022-05-12"), "needs a reason"),
    "move not allowed from its state": (("submit", "mini:1.1", "complete", "--at", "2022-05-12"), "complete"),
    "move in the future": (("submit", "mini:1.1", "endorse", "--at", TOMORROW), "in the future"),
    "move before the plan": (("submit", "mini:1.1", "endorse", "--at", "2021-12-31"), "before the plan starts"),
    "move unknown activity": (("submit", "mini:9.9", "endorse", "--at", "2022-05-12"), "9.9"),
    "comment in the future": ((*COMMENT[:-2], "--at", TOMORROW), "in the future"),
    "comment unknown activity": (("submit", "comment", "mini:9.9", "--comment", "x"), "9.9"),
}  # fmt: skip


@pytest.mark.parametrize("case", SUBMIT_REFUSED)
def test_a_submission_that_could_never_be_approved_is_refused_at_submit(plan_with_indicators, db_url, case):
    args, says = SUBMIT_REFUSED[case]
    before = snapshot(db_url)
    result = plan_with_indicators(*args, "--by", "mo")
    assert result.exit_code == 2, result.output
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert snapshot(db_url) == before


# (the submission, the revision that could never be approved, a word of the refusal)
RESUBMIT_REFUSED = {
    "received beyond the limit": (FUND, ("--received", NINES), "received must be between"),
    "budget beyond the limit": (FUND, ("--budget", NINES), "budget must be between"),
    "fund unknown period": (FUND, ("--period", "years-9"), "period"),
    "fund in the future": (FUND, ("--at", TOMORROW), "in the future"),
    "infinite value": (MEASURE, ("--value", "1e400"), "finite number"),
    "value not a number": (MEASURE, ("--value", "many"), "expected a number"),
    "measure unknown period": (MEASURE, ("--period", "q9"), "period"),
    "source and a different ref": (MEASURE, ("--source", "a", "--ref", "b"), "not both"),
    "a value on a fund": (FUND, ("--value", "3"), "value is not revised"),
    "an amount on a measure": (MEASURE, ("--received", "3"), "received is not revised"),
    "an amount on a move": (MOVE, ("--budget", "3"), "budget is not revised"),
    "a trigger on a comment": (COMMENT, ("--trigger", "start"), "trigger is not revised"),
    "move to one needing a reason": (MOVE, ("--trigger", "drop"), "needs a reason"),
    "move in the future": (MOVE, ("--at", TOMORROW), "in the future"),
    "comment before the plan": (COMMENT, ("--at", "2021-12-31"), "before the plan starts"),
}  # fmt: skip


@pytest.mark.parametrize("case", RESUBMIT_REFUSED)
def test_a_revision_that_could_never_be_approved_is_refused_at_resubmit(plan_with_indicators, db_url, case):
    team = plan_with_indicators
    submitted, revision, says = RESUBMIT_REFUSED[case]
    sub = _json(team(*submitted, "--by", "mo", "--format", "json"))
    assert team("review", "return", str(sub["id"]), "--by", "lea", "--comment", "check it").exit_code == 0
    before = snapshot(db_url)
    result = team("review", "resubmit", str(sub["id"]), *revision, "--by", "mo")
    assert result.exit_code == 2, result.output
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert snapshot(db_url) == before


@pytest.mark.parametrize("option", ["--ref", "--source"])
def test_a_revised_source_is_the_one_recorded(plan_with_indicators, db_url, option):
    team = plan_with_indicators
    sub = _json(team(*MEASURE, "--source", "old", "--by", "mo", "--format", "json"))
    team("review", "return", str(sub["id"]), "--by", "lea", "--comment", "which survey?")
    again = _json(team("review", "resubmit", str(sub["id"]), option, "new source", "--by", "mo", "--format", "json"))
    assert again["ref"] == "new source" and _payload(db_url, sub["id"])["source"] == "new source"
    assert team("review", "approve", str(sub["id"]), "--by", "lea").exit_code == 0
    assert _measurements(db_url)[-1] == (2.0, "new source", "years-1-2")


def test_a_revised_value_and_amount_are_the_ones_recorded(plan_with_indicators, db_url):
    team = plan_with_indicators
    value = _json(team(*MEASURE, "--source", "survey", "--by", "mo", "--format", "json"))
    funds = _json(team(*FUND, "--by", "mo", "--format", "json"))
    for sub in (value, funds):
        team("review", "return", str(sub["id"]), "--by", "lea", "--comment", "the final figure, please")
    revised = _json(team("review", "resubmit", str(value["id"]), "--value", "3.5", "--by", "mo", "--format", "json"))
    assert (revised["value"], revised["ref"], revised["revision"]) == (3.5, "survey", 2)
    assert _payload(db_url, value["id"]) == {"value": 3.5, "period": "years-1-2", "source": "survey"}
    revised = _json(team("review", "resubmit", str(funds["id"]), "--received", "45,000.50", "--budget", "120000",
                         "--by", "mo", "--format", "json"))  # fmt: skip
    assert _payload(db_url, funds["id"]) == {"period": "years-1-2", "received": "45000.50", "budget": "120000"}
    assert team("review", "approve", str(value["id"]), str(funds["id"]), "--by", "lea").exit_code == 0
    assert _measurements(db_url)[-1] == (3.5, "survey", "years-1-2")
    budgets = _json(team("units", "--plan", "mini", "--format", "json"))[0]["budgets"]
    assert [(b["received"], b["budget"]) for b in budgets if b["period"] == "years-1-2"] == [(45000.5, 120000)]
    assert team("audit", "verify").exit_code == 0


# --- the API: the same validators, 400 naming the field, nothing written -----------------


@pytest.fixture
def api(web, tmp_path):
    plan = tmp_path / "mini-ind.yaml"
    plan.write_text(MINI_PLAN + INDICATORS_AND_BUDGETS, encoding="utf-8")
    assert run_cli("load", str(plan), "--by", "lea", db_url=web.url).exit_code == 0

    def post(login: str, path: str, body: dict):
        client = web.client(login)
        return client.post(path, json=body, headers={"X-CSRF-Token": client.csrf})

    post.url = web.url
    post.budgets = lambda: json.loads(run_cli("units", "--plan", "mini", "--format", "json", db_url=web.url).stdout)[0]["budgets"]
    return post


FUND_API = "/api/v1/plans/mini/units/wg/funding"
MEASURE_API = "/api/v1/plans/mini/indicators/IND-1/measurements"


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        (FUND_API, {"period": "years-1-2", "received": NINES}, 400, "received must be between"),
        (FUND_API, {"period": "years-1-2", "budget": NINES}, 400, "budget must be between"),
        (MEASURE_API, {"value": "1e400", "at": "2022-09-01"}, 400, "finite number"),
        (MEASURE_API, {"value": 2, "at": "2022-09-01", "period": "q9"}, 404, "unknown period"),  # as a lead's direct one
        ("/api/v1/plans/mini/activities/1.1/moves", {"trigger": "drop", "at": "2022-05-12"}, 400, "needs a reason"),
        ("/api/v1/plans/mini/activities/1.1/comments", {"comment": "x", "at": TOMORROW}, 400, "in the future"),
    ],
)
def test_the_api_refuses_at_submit_what_could_never_be_approved(api, path, body, status, says):
    before = snapshot(api.url)
    reply = api("mo", path, body)
    assert reply.status_code == status and says in reply.text, reply.text
    assert snapshot(api.url) == before


def _returned(api, path: str, body: dict) -> int:
    sent = api("mo", path, body)
    assert sent.status_code == 202, sent.text
    returned = api("lea", f"/api/v1/submissions/{sent.json()['id']}/return", {"comment": "check it"})
    assert returned.status_code == 200, returned.text
    return sent.json()["id"]


def test_the_api_resubmit_takes_the_submit_keys_and_validates_them(api):
    funds = _returned(api, FUND_API, {"period": "years-1-2", "received": "30000", "at": "2022-10-01"})
    value = _returned(api, MEASURE_API, {"value": 2, "at": "2022-09-01", "period": "years-1-2", "source": "old"})
    before = snapshot(api.url)
    for sub, body, says in ((funds, {"received": NINES}, "received must be between"),
                            (value, {"value": "inf"}, "finite number"), (value, {"budget": 3}, "budget is not revised")):  # fmt: skip
        reply = api("mo", f"/api/v1/submissions/{sub}/resubmit", body)
        assert reply.status_code == 400 and says in reply.text, reply.text
    assert snapshot(api.url) == before
    revised = api("mo", f"/api/v1/submissions/{funds}/resubmit", {"received": "45000", "budget": "120,000"})
    assert revised.status_code == 200 and revised.json()["revision"] == 2, revised.text
    assert _payload(api.url, funds) == {"period": "years-1-2", "received": "45000", "budget": "120000"}
    revised = api("mo", f"/api/v1/submissions/{value}/resubmit", {"value": 4, "ref": "new source"})
    assert (revised.status_code, revised.json()["value"], revised.json()["ref"]) == (200, 4.0, "new source"), revised.text
    for sub in (funds, value):
        assert api("lea", f"/api/v1/submissions/{sub}/approve", {}).status_code == 200
    assert _measurements(api.url)[-1] == (4.0, "new source", "years-1-2")
    budgets = {(b["received"], b["budget"]) for b in api.budgets() if b["period"] == "years-1-2"}
    assert budgets == {(45000, 120000)}


def test_the_page_revises_a_returned_value_and_its_source(api, web):
    value = _returned(api, MEASURE_API, {"value": 2, "at": "2022-09-01", "period": "years-1-2", "source": "old"})
    member = web.client("mo")
    page = member.get("/plans/mini/review").text
    assert f'id="rv-{value}" name="value" inputmode="decimal" value="2.0"' in page
    assert f'id="rf-{value}" name="ref" value="old"' in page
    before = snapshot(api.url)
    refused = member.post(f"/plans/mini/review/{value}/resubmit", data={"value": "1e400", "csrf_token": member.csrf},
                          follow_redirects=False)  # fmt: skip
    assert refused.status_code == 400 and "finite number" in refused.text
    assert snapshot(api.url) == before
    sent = member.post(f"/plans/mini/review/{value}/resubmit", data={"value": "5", "ref": "Q3 survey",
                       "csrf_token": member.csrf}, follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303, sent.text
    assert api("lea", f"/api/v1/submissions/{value}/approve", {}).status_code == 200
    assert _measurements(api.url)[-1] == (5.0, "Q3 survey", "years-1-2")
