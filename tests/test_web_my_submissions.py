"""My submissions on the review page, for everyone with a role in the plan: a lead's or
co-lead's own submission (a comment, which always waits for another lead, or any update
under `four_eyes`) that another lead returns is revised from the page, through the same
service as `cpflow review resubmit` and `POST /api/v1/submissions/{id}/resubmit`. Roles are
checked on the server for the plan of the URL; a POST without its CSRF token writes nothing;
every decider's note and every text typed is shown as text."""

from __future__ import annotations

import re

import pytest

from tests.conftest import MINI_PLAN, run_cli, snapshot
from tests.test_web_shared import copy_fixture, template_fixture

LOGIN = {"anonymous": None, "lea": "lea", "col": "col", "mo": "mo", "rev": "rev", "admin": "admin", "nobody": "nobody",
         "olead": "olead"}  # fmt: skip
# GET /plans/mini/review for each kind of person.
READ = {"anonymous": 303, "lea": 200, "col": 200, "mo": 200, "rev": 200, "admin": 200, "nobody": 404, "olead": 404}
# POST /plans/mini/review/{lea's returned submission}/resubmit: only lea revises it.
REVISE_LEAS = {"anonymous": 303, "lea": 303, "col": 400, "mo": 400, "rev": 403, "admin": 403, "nobody": 404, "olead": 404}
HOSTILE = '<script>alert("note")</script>'


built = template_fixture()


web = copy_fixture("web")


def _api(client, path: str, body: dict | None = None):
    reply = client.post(path, json=body or {}, headers={"X-CSRF-Token": client.csrf})
    assert reply.status_code in (200, 202), reply.text
    return reply.json()


def _returned_comment(web, author: str, decider: str, note: str, code: str = "1.1", text: str = "Training done") -> int:
    """`author` comments on mini:`code`; `decider` returns it with `note`. Returns the submission id."""
    sent = _api(web.client(author), f"/api/v1/plans/mini/activities/{code}/comments", {"comment": text})
    _api(web.client(decider), f"/api/v1/submissions/{sent['id']}/return", {"comment": note})
    return sent["id"]


def _revise_forms(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'action="/plans/mini/review/(\d+)/resubmit"', html)}


def _mine(html: str) -> str:
    """The My submissions section of a review page."""
    start = html.index('<section aria-labelledby="mine"')
    return html[start:]


def four_eyes(web, tmp_path) -> None:
    plan = tmp_path / "mini-four-eyes.yaml"
    plan.write_text(MINI_PLAN.replace("  title: Mini plan\n", "  title: Mini plan\n  four_eyes: true\n"), encoding="utf-8")
    result = run_cli("load", str(plan), "--by", "lea", db_url=web.url)
    assert result.exit_code == 0, result.output


def test_everyone_with_a_role_sees_their_own_returned_submission_and_only_its_submitter_revises_it(web):
    leas = _returned_comment(web, "lea", "col", "say how many staff")
    cols = _returned_comment(web, "col", "lea", "add the date", code="1.2")
    sent = _api(web.client("mo"), "/api/v1/plans/mini/activities/1.1/moves", {"trigger": "endorse", "at": "2022-05-01"})
    mos = _api(web.client("lea"), f"/api/v1/submissions/{sent['id']}/return", {"comment": "attach the minutes"})["id"]
    own = {"lea": (leas, "say how many staff"), "col": (cols, "add the date"), "mo": (mos, "attach the minutes")}
    for who, login in LOGIN.items():
        page = web.client(login).get("/plans/mini/review", follow_redirects=False)
        assert page.status_code == READ[who], (who, page.text[:300])
        if page.status_code != 200:
            assert "Training done" not in page.text and "My submissions" not in page.text
            continue
        mine = _mine(page.text)
        assert "My submissions" in page.text
        if who in own:
            number, note = own[who]
            assert _revise_forms(page.text) == {number}, who  # a revise form for one's own only
            assert f"#{number} " in mine and "returned" in mine and f"“{note}”" in mine
        else:  # the reviewer and the admin submit nothing, and are told so
            assert _revise_forms(page.text) == set() and "you read it and submit nothing" in mine, who

    before = snapshot(web.url)
    for who in [*(w for w in LOGIN if w != "lea"), "lea"]:  # the others first: each is refused, nothing written
        client = web.client(LOGIN[who])
        reply = client.post(f"/plans/mini/review/{leas}/resubmit", data={"comment": f"revised by {who}", "csrf_token": client.csrf},
                            follow_redirects=False)  # fmt: skip
        assert reply.status_code == REVISE_LEAS[who], (who, reply.text[:300])
        if who == "lea":
            assert reply.headers["location"] == f"/plans/mini/review?done=resubmitted&id={leas}"
            continue
        assert snapshot(web.url) == before, who
        if reply.status_code == 400:
            assert "only its submitter lea may revise it; nothing was written" in reply.text
        if reply.status_code == 403:
            assert "needs the role lead, co-lead or member in mini" in reply.text
    after = snapshot(web.url)
    (row,) = [r for r in web.client("col").get("/api/v1/plans/mini/submissions").json() if r["id"] == leas]
    assert (row["status"], row["revision"], row["comment"]) == ("pending", 2, "revised by lea")
    assert len(after["submissions"]) == len(before["submissions"])


def test_a_submission_of_one_plan_is_404_through_another_plans_page(web):
    leas = _returned_comment(web, "lea", "col", "say more")
    outsider = web.client("olead")
    before = snapshot(web.url)
    for action in ("resubmit", "withdraw"):
        reply = outsider.post(f"/plans/other/review/{leas}/{action}", data={"comment": "x", "csrf_token": outsider.csrf})
        assert reply.status_code == 404 and "say more" not in reply.text and "Training done" not in reply.text
    assert snapshot(web.url) == before


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_a_revision_or_withdrawal_without_its_csrf_token_is_refused_and_writes_nothing(web):
    leas = _returned_comment(web, "lea", "col", "say more")
    lead = web.client("lea")
    before = snapshot(web.url)
    for action in ("resubmit", "withdraw"):
        for token in (None, "forged", web.client("col").csrf):  # missing, made up, another session's
            data = {"comment": "revised", **({"csrf_token": token} if token else {})}
            reply = lead.post(f"/plans/mini/review/{leas}/{action}", data=data, follow_redirects=False)
            assert reply.status_code == 403 and "CSRF" in reply.text, (action, token)
    assert snapshot(web.url) == before


def test_under_four_eyes_a_lead_revises_her_returned_move_on_the_page_and_a_co_lead_approves_it(web, tmp_path):
    four_eyes(web, tmp_path)
    lead, co_lead = web.client("lea"), web.client("col")
    sent = lead.post("/plans/mini/activities/1.1/moves", data={"trigger": "endorse", "at": "2022-05-01",
                     "csrf_token": lead.csrf}, follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"].endswith("?done=202")
    told = lead.get(sent.headers["location"]).text
    assert "Submitted for review: another lead or co-lead will approve or return it" in told
    assert "this plan asks for four eyes" in told and 'href="/plans/mini/review#mine"' in told
    (pending,) = co_lead.get("/api/v1/plans/mini/submissions?status=pending").json()
    assert pending["submitted_by"] == "lea"
    queue = lead.get("/plans/mini/review").text
    assert 'aria-label="approve submission' not in queue  # her own is not hers to approve
    assert "Waiting for another lead or co-lead" in _mine(queue)
    _api(co_lead, f"/api/v1/submissions/{pending['id']}/return", {"comment": "attach the minutes"})

    dashboard = lead.get("/plans/mini").text
    assert re.search(r'<a href="/plans/mini/review#mine">1 returned to you</a>', dashboard)
    page = lead.get("/plans/mini/review").text
    assert "1 of your own submissions was returned to you" in page and "“attach the minutes”" in _mine(page)
    revised = lead.post(f"/plans/mini/review/{pending['id']}/resubmit", data={"trigger": "endorse", "at": "2022-05-03",
                        "ref": "minutes 12 May", "comment": "minutes attached", "csrf_token": lead.csrf},
                        follow_redirects=False)  # fmt: skip
    assert revised.status_code == 303 and revised.headers["location"] == f"/plans/mini/review?done=resubmitted&id={pending['id']}"
    before = snapshot(web.url)
    shown = lead.get(revised.headers["location"]).text
    assert f"Submission {pending['id']} resubmitted: it waits for another lead or co-lead" in shown
    assert "Waiting for another lead or co-lead" in _mine(shown)
    assert snapshot(web.url) == before  # the redirect's GET (and a refresh) writes nothing
    (row,) = co_lead.get("/api/v1/plans/mini/submissions?status=pending").json()
    assert (row["id"], row["revision"], row["at"], row["ref"], row["comment"]) == (
        pending["id"], 2, "2022-05-03", "minutes 12 May", "minutes attached")  # fmt: skip
    approved = co_lead.post("/plans/mini/review/approve", data={"id": str(row["id"]), "csrf_token": co_lead.csrf},
                            follow_redirects=False)  # fmt: skip
    assert approved.status_code == 303
    history = co_lead.get("/api/v1/plans/mini/activities/1.1").json()["history"]
    assert (history[-1]["to"], history[-1]["submitted_by"], history[-1]["approved_by"]) == ("endorsed", "lea", "col")


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_the_page_revises_through_the_one_service_with_the_signed_in_login(web, monkeypatch):
    from cpflow.teams import submissions

    leas = _returned_comment(web, "lea", "col", "say more")
    calls = []
    real = submissions.resubmit
    monkeypatch.setattr(submissions, "resubmit", lambda db, i, draft, **k: calls.append((i, k["by"])) or real(db, i, draft, **k))
    lead = web.client("lea")
    reply = lead.post(f"/plans/mini/review/{leas}/resubmit", data={"comment": "30 staff", "by": "col", "csrf_token": lead.csrf},
                      follow_redirects=False)  # fmt: skip
    assert reply.status_code == 303 and calls == [(leas, "lea")]


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_a_refused_revision_is_shown_on_the_page_with_nothing_written(web):
    leas = _returned_comment(web, "lea", "col", "say more")
    lead = web.client("lea")
    before = snapshot(web.url)
    future = lead.post(f"/plans/mini/review/{leas}/resubmit", data={"comment": "x", "at": "2099-01-01",
                       "csrf_token": lead.csrf})  # fmt: skip
    assert future.status_code == 400 and "is in the future" in future.text
    assert _revise_forms(future.text) == {leas}  # the form is still there to correct it
    dated = lead.post(f"/plans/mini/review/{leas}/resubmit", data={"comment": "x", "at": "May", "csrf_token": lead.csrf})
    assert dated.status_code == 400 and "at:" in dated.text and "Traceback" not in dated.text
    assert snapshot(web.url) == before


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_hostile_comments_and_notes_are_text_on_the_review_page_and_the_dashboard(web):
    leas = _returned_comment(web, "lea", "col", HOSTILE, text='<img src=x onerror="alert(1)">')
    for path in ("/plans/mini/review", "/plans/mini", "/plans/mini/activities/1.1"):
        body = web.client("lea").get(path).text
        assert "<script>alert" not in body and "<img src=x" not in body, path
    page = web.client("lea").get("/plans/mini/review").text
    assert "&lt;script&gt;alert(&#34;note&#34;)&lt;/script&gt;" in page and "&lt;img src=x" in page
    assert _revise_forms(page) == {leas}


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_a_member_revises_a_returned_funding_update_on_the_page(web):
    member, lead = web.client("mo"), web.client("lea")
    sent = member.post("/plans/mini/units/wg/funding", data={"period": "years-1-2", "received": "30000", "at": "2022-10-01",
                       "csrf_token": member.csrf}, follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303
    (pending,) = lead.get("/api/v1/plans/mini/submissions").json()
    _api(lead, f"/api/v1/submissions/{pending['id']}/return", {"comment": "which donor?"})
    page = member.get("/plans/mini/review").text
    assert _revise_forms(page) == {pending["id"]} and 'name="received"' in page and 'name="budget"' in page
    revised = member.post(f"/plans/mini/review/{pending['id']}/resubmit", data={"reason": "ECHO second tranche",
                          "received": "35,000", "csrf_token": member.csrf}, follow_redirects=False)  # fmt: skip
    assert revised.status_code == 303
    (row,) = lead.get("/api/v1/plans/mini/submissions").json()
    assert (row["status"], row["revision"], row["reason"], row["at"]) == ("pending", 2, "ECHO second tranche", "2022-10-01")
    assert _api(lead, f"/api/v1/submissions/{row['id']}/approve")["status"] == "approved"
    (unit,) = lead.get("/api/v1/plans/mini/funding").json()
    assert [(b["period"], b["received"]) for b in unit["budgets"]] == [("years-1-2", 35000)]


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_the_approved_notice_shows_submission_numbers_only(web):
    lead = web.client("lea")
    assert "Approved: 3, 4." in lead.get("/plans/mini/review?approved=3,4").text
    for forged in ("your account is locked, call +1 555", "3,<b>x</b>", "²"):
        body = lead.get("/plans/mini/review", params={"approved": forged}).text
        assert "Approved:" not in body and "account is locked" not in body, forged


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_after_a_return_or_a_withdrawal_the_page_says_what_was_done_from_known_words_only(web):
    sent = _api(web.client("mo"), "/api/v1/plans/mini/activities/1.1/comments", {"comment": "done"})
    lead, member = web.client("lea"), web.client("mo")
    back = lead.post(f"/plans/mini/review/{sent['id']}/return", data={"comment": "say more", "csrf_token": lead.csrf},
                     follow_redirects=False)  # fmt: skip
    assert back.headers["location"] == f"/plans/mini/review?done=returned&id={sent['id']}"
    assert f"Submission {sent['id']} returned to its submitter with your note." in lead.get(back.headers["location"]).text
    gone = member.post(f"/plans/mini/review/{sent['id']}/withdraw", data={"csrf_token": member.csrf}, follow_redirects=False)
    assert f"Submission {sent['id']} withdrawn." in member.get(gone.headers["location"]).text
    for forged in ({"done": "returned", "id": "1 and your account is locked"}, {"done": "<b>hacked</b>", "id": "1"}):
        body = lead.get("/plans/mini/review", params=forged).text
        assert "account is locked" not in body and "hacked" not in body and "Submission 1" not in body


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_a_member_leaves_a_note_for_the_lead_with_a_value_or_funds_as_the_cli_and_api_do(web, tmp_path):
    from tests.test_web_routes import INDICATORS_AND_BUDGETS

    plan = tmp_path / "mini-ind.yaml"
    plan.write_text(MINI_PLAN + INDICATORS_AND_BUDGETS, encoding="utf-8")
    assert run_cli("load", str(plan), "--by", "lea", db_url=web.url).exit_code == 0
    member, lead = web.client("mo"), web.client("lea")
    for path in ("/plans/mini/indicators", "/plans/mini/funding"):
        assert "Note for the lead" in member.get(path).text and "Note for the lead" not in lead.get(path).text, path
    member.post("/plans/mini/indicators/IND-1/measurements", data={"value": "2", "at": "2022-09-01", "period": "years-1-2",
                "comment": "from the Q3 survey", "csrf_token": member.csrf})  # fmt: skip
    member.post("/plans/mini/units/wg/funding", data={"period": "years-1-2", "received": "30000", "at": "2022-10-01",
                "comment": "second tranche", "csrf_token": member.csrf})  # fmt: skip
    rows = lead.get("/api/v1/plans/mini/submissions").json()
    assert [(r["kind"], r["comment"]) for r in rows] == [("measure", "from the Q3 survey"), ("fund", "second tranche")]
    assert "from the Q3 survey" in lead.get("/plans/mini/review").text


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_a_lead_sees_the_approved_and_withdrawn_submissions_on_the_page_as_the_api_lists_them(web):
    member, lead = web.client("mo"), web.client("lea")
    first = _api(member, "/api/v1/plans/mini/activities/1.1/comments", {"comment": "kept"})
    second = _api(member, "/api/v1/plans/mini/activities/1.2/comments", {"comment": "taken back"})
    _api(lead, f"/api/v1/submissions/{first['id']}/approve")
    _api(member, f"/api/v1/submissions/{second['id']}/withdraw")
    decided = {r["id"]: r["status"] for r in lead.get("/api/v1/plans/mini/submissions?status=approved,withdrawn").json()}
    assert decided == {first["id"]: "approved", second["id"]: "withdrawn"}
    page = lead.get("/plans/mini/review").text
    assert 'href="/plans/mini/review?decided=1#decided"' in page and "Approved and withdrawn, the latest" not in page
    shown = lead.get("/plans/mini/review?decided=1").text
    rows = re.findall(r"<tr><td>(\d+)</td><td>mini:[\d.]+</td><td>comment</td>.*?<td>(approved|withdrawn)</td>", shown)
    assert rows == [(str(second["id"]), "withdrawn"), (str(first["id"]), "approved")]
    assert "Approved and withdrawn" not in member.get("/plans/mini/review?decided=1").text  # a member has My submissions
