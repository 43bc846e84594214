"""The web app over a record edited beside cpflow (issue 13): pages and the API refuse to
answer from tables that disagree with the log, with the same one-line message as the CLI
and status 500 (the server cannot vouch for its data; nothing the client sent is wrong)."""

from __future__ import annotations

from sqlalchemy import text

from tests.test_web_shared import copy_fixture, template_fixture

built = template_fixture()
web = copy_fixture("web")
MISMATCH = "the database was changed outside cpflow (run cpflow audit verify)"


def _edit(web, sql: str) -> None:
    with web.db.engine.begin() as conn:
        conn.execute(text(sql))


def test_an_activity_edited_by_hand_is_refused_by_pages_and_api(web):
    lead = web.client("lea")
    assert lead.get("/api/v1/plans/mini/activities").status_code == 200
    _edit(web, "UPDATE activities SET title = 'Quietly renamed' WHERE code = '1.1'")
    reply = lead.get("/api/v1/plans/mini/activities")
    assert reply.status_code == 500 and MISMATCH in reply.json()["error"], reply.text
    assert "activities of mini" in reply.json()["error"] and "Traceback" not in reply.text
    page = lead.get("/plans/mini/activities")
    assert page.status_code == 500 and "changed outside cpflow" in page.text and "Quietly renamed" not in page.text


def test_a_state_edited_by_hand_is_refused_and_a_cpflow_write_is_not(web):
    lead = web.client("lea")
    _edit(web, "UPDATE activities SET state = 'completed' WHERE code = '1.1'")
    reply = lead.get("/api/v1/plans/mini/activities")
    assert reply.status_code == 500 and "activities mini:1.1: state is completed" in reply.json()["error"]
    _edit(web, "UPDATE activities SET state = initial_state WHERE code = '1.1'")
    moved = lead.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01"},
                      headers={"X-CSRF-Token": lead.csrf})  # fmt: skip
    assert moved.status_code == 201, moved.text
    assert lead.get("/api/v1/plans/mini/activities").status_code == 200
