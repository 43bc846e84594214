"""Comment submissions in the web app (issue 15 over issue 14's `cpflow submit comment`): the
activity page's form and `POST /api/v1/plans/{plan}/activities/{code}/comments`, through the
same service as the CLI. A comment is always a submission (202) that another lead approves
into the timeline; a reviewer is refused; a POST without its CSRF token writes nothing."""

from __future__ import annotations

import re

import pytest

from tests.conftest import snapshot
from tests.test_web_shared import copy_fixture, template_fixture

ROLES = ("anonymous", "mo", "rev", "lea", "col", "admin", "nobody", "olead")
LOGIN = {"anonymous": None, "mo": "mo", "rev": "rev", "lea": "lea", "col": "col", "admin": "admin", "nobody": "nobody",
         "olead": "olead"}  # fmt: skip
COMMENT = {"anonymous": 401, "mo": 202, "rev": 403, "lea": 202, "col": 202, "admin": 403, "nobody": 404, "olead": 404}


# Each module builds its database once; every test gets its own copy (tests/test_web_shared.py).


built = template_fixture()


web = copy_fixture("web")


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_role_by_route_matrix_for_a_comment(web):
    for who in ROLES:
        client = web.client(LOGIN[who])
        before = snapshot(web.url)
        reply = client.post("/api/v1/plans/mini/activities/1.1/comments", json={"comment": f"note by {who}"},
                            headers={"X-CSRF-Token": client.csrf})  # fmt: skip
        assert reply.status_code == COMMENT[who], (who, reply.text)
        after = snapshot(web.url)
        if COMMENT[who] == 202:
            body = reply.json()
            assert (body["status"], body["kind"], body["submitted_by"], body["comment"]) == (
                "pending", "comment", who, f"note by {who}")  # fmt: skip
            assert len(after["submissions"]) == len(before["submissions"]) + 1
            assert after["activities"] == before["activities"]
        else:
            assert after == before and set(reply.json()) == {"error"}
            if COMMENT[who] == 403:
                assert "lead, co-lead or member" in reply.json()["error"]
        page = client.get("/plans/mini/activities/1.1", follow_redirects=False)
        has_form = 'action="/plans/mini/activities/1.1/comments"' in page.text
        assert has_form == (COMMENT[who] == 202), who


def test_a_member_comments_on_the_page_and_an_approved_comment_joins_the_timeline(web):
    member, lead = web.client("mo"), web.client("lea")
    version = lead.get("/api/v1/plans/mini/activities/1.1").json()["version"]
    sent = member.post("/plans/mini/activities/1.1/comments", data={"comment": "Venue booked", "at": "2022-05-20",
                       "ref": "booking 7", "by": "someone-else", "csrf_token": member.csrf}, follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == "/plans/mini/activities/1.1?done=comment"
    shown = member.get(sent.headers["location"]).text
    assert "Comment submitted" in shown and "comment on 2022-05-20: pending" in shown
    (pending,) = lead.get("/api/v1/plans/mini/submissions?status=pending").json()
    assert (pending["kind"], pending["submitted_by"], pending["comment"]) == ("comment", "mo", "Venue booked")
    assert "Venue booked" in lead.get("/plans/mini/review").text
    approved = lead.post("/plans/mini/review/approve", data={"id": str(pending["id"]), "csrf_token": lead.csrf},
                         follow_redirects=False)  # fmt: skip
    assert approved.status_code == 303
    activity = lead.get("/api/v1/plans/mini/activities/1.1").json()
    assert activity["version"] == version  # a comment changes neither state nor version
    (row,) = activity["history"]
    assert (row["comment"], row["actor"], row["submitted_by"], row["approved_by"], row["ref"]) == (
        "Venue booked", "mo", "mo", "lea", "booking 7")  # fmt: skip
    timeline = lead.get("/plans/mini/activities/1.1").text
    assert "comment by mo" in timeline and "approved by lea" in timeline
    assert "someone-else" not in repr(snapshot(web.url))


def test_a_returned_comment_is_revised_on_the_review_page(web):
    member, lead = web.client("mo"), web.client("lea")
    sent = member.post("/api/v1/plans/mini/activities/1.2/comments", json={"comment": "done"},
                       headers={"X-CSRF-Token": member.csrf}).json()  # fmt: skip
    back = lead.post(f"/api/v1/submissions/{sent['id']}/return", json={"comment": "say what was done"},
                     headers={"X-CSRF-Token": lead.csrf})  # fmt: skip
    assert back.status_code == 200
    page = member.get("/plans/mini/review").text
    assert "say what was done" in page and f'action="/plans/mini/review/{sent["id"]}/resubmit"' in page
    revised = member.post(f"/plans/mini/review/{sent['id']}/resubmit", data={"comment": "Training held for 30 staff",
                          "csrf_token": member.csrf}, follow_redirects=False)  # fmt: skip
    assert revised.status_code == 303
    (row,) = lead.get("/api/v1/plans/mini/submissions?status=pending").json()
    assert (row["id"], row["comment"], row["revision"]) == (sent["id"], "Training held for 30 staff", 2)


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_a_comment_without_csrf_or_text_or_on_an_unknown_activity_writes_nothing(web):
    member = web.client("mo")
    before = snapshot(web.url)
    for token in (None, "forged", web.client("lea").csrf):
        data = {"comment": "hello", **({"csrf_token": token} if token else {})}
        assert member.post("/plans/mini/activities/1.1/comments", data=data).status_code == 403
    reply = member.post("/api/v1/plans/mini/activities/1.1/comments", json={"comment": "hello"})
    assert reply.status_code == 403 and "CSRF" in reply.json()["error"]
    empty = member.post("/plans/mini/activities/1.1/comments", data={"comment": "   ", "csrf_token": member.csrf})
    assert empty.status_code == 400 and "a comment submission needs its comment" in empty.text
    assert re.search(r'<textarea id="comment-text"[^>]*>\s*</textarea>', empty.text)
    dated = member.post("/plans/mini/activities/1.1/comments", data={"comment": "kept", "at": "May",
                        "csrf_token": member.csrf})  # fmt: skip
    assert dated.status_code == 400 and ">kept</textarea>" in dated.text  # the text typed is kept for a retry
    unknown = member.post("/api/v1/plans/mini/activities/9.9/comments", json={"comment": "hello"},
                          headers={"X-CSRF-Token": member.csrf})  # fmt: skip
    assert unknown.status_code == 404 and "9.9" in unknown.json()["error"]
    too_long = member.post("/api/v1/plans/mini/activities/1.1/comments", json={"comment": "x" * 2001},
                           headers={"X-CSRF-Token": member.csrf})  # fmt: skip
    assert too_long.status_code == 400 and set(too_long.json()) == {"error"}
    assert snapshot(web.url) == before


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_the_comment_routes_call_the_one_service_with_the_signed_in_login(web, monkeypatch):
    from cpflow.teams import submissions

    calls = []
    real = submissions.create
    monkeypatch.setattr(submissions, "create", lambda db, draft, **k: calls.append((draft.kind, k["by"])) or real(db, draft, **k))
    member = web.client("mo")
    member.post("/plans/mini/activities/1.1/comments", data={"comment": "a", "by": "lea", "csrf_token": member.csrf})
    member.post("/api/v1/plans/mini/activities/1.1/comments", json={"comment": "b", "by": "lea"},
                headers={"X-CSRF-Token": member.csrf})  # fmt: skip
    assert calls == [("comment", "mo"), ("comment", "mo")]
