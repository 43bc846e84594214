"""Requests no form sends, on both backends: each is one clear 4xx (JSON `{"error"}` under
/api/v1, a page elsewhere) that names no server path, SQL or traceback, and writes nothing.
The test client re-raises any server error, so a 500 fails these tests outright."""

from __future__ import annotations

import io

from tests.conftest import snapshot
from tests.test_web_shared import copy_fixture, template_fixture

LEAKS = ("Traceback", "SELECT", "INSERT", "sqlalchemy", "psycopg", "sqlite3", 'File "', "/tmp", "cpflow-web-")
BEYOND = "9" * 25  # beyond any integer column


built = template_fixture()


web = copy_fixture("web")


def _clean(reply, status: int) -> str:
    assert reply.status_code == status, reply.text[:300]
    assert not any(leak in reply.text for leak in LEAKS), reply.text[:300]
    return reply.text


def test_a_nul_character_in_the_address_a_form_or_a_json_body_is_400_and_writes_nothing(web):
    lead, anonymous = web.client("lea"), web.client()
    json = {"X-CSRF-Token": lead.csrf}
    before = snapshot(web.url)
    requests = [
        (lead.get, "/plans/mini/activities/1%001", {}),
        (lead.get, "/plans/%00/activities", {}),
        (lead.get, "/api/v1/plans/mini/activities?q=a%00b", {}),
        (
            lead.post,
            "/api/v1/plans/mini/activities/1.1/moves",
            {"json": {"trigger": "endorse", "ref": "a\x00b"}, "headers": json},
        ),
        (lead.post, "/api/v1/plans/mini/activities/1.1/comments", {"json": {"comment": "a\x00b"}, "headers": json}),
        (lead.post, "/plans/mini/activities/1.1/comments", {"data": {"comment": "a\x00b", "csrf_token": lead.csrf}}),
        (anonymous.post, "/login", {"data": {"login": "lea\x00", "password": "x", "csrf_token": anonymous.csrf}}),
    ]
    for call, path, kw in requests:
        body = _clean(call(path, follow_redirects=False, **kw), 400)
        assert "NUL character" in body, path
    assert snapshot(web.url) == before


def test_a_submission_number_beyond_any_id_is_404_on_every_route(web):
    lead = web.client("lea")
    before = snapshot(web.url)
    for path in (f"/api/v1/submissions/{BEYOND}/approve", f"/api/v1/submissions/{BEYOND}/withdraw"):
        assert lead.post(path, headers={"X-CSRF-Token": lead.csrf}).json() == {"error": f"unknown submission {BEYOND}"}
    for action in ("withdraw", "resubmit", "return"):
        body = _clean(lead.post(f"/plans/mini/review/{BEYOND}/{action}", data={"comment": "x", "csrf_token": lead.csrf}), 404)
        assert f"unknown submission {BEYOND}" in body
    _clean(lead.post("/plans/mini/review/approve", data={"id": BEYOND, "csrf_token": lead.csrf}), 404)
    assert snapshot(web.url) == before


def test_a_tracker_the_importer_cannot_read_is_named_by_its_upload_not_the_servers_folder(web):
    member = web.client("mo")
    before = snapshot(web.url)
    files = {"file": ("our tracker.xlsx", io.BytesIO(b"PK\x03\x04" + b"\0" * 100), "application/octet-stream")}
    reply = member.post("/api/v1/plans/mini/tracker", files=files, headers={"X-CSRF-Token": member.csrf})
    _clean(reply, 400)
    assert reply.json()["error"].startswith("our tracker.xlsx: not a tracker workbook cpflow can read")
    files = {"file": ("our tracker.xlsx", io.BytesIO(b"PK\x03\x04" + b"\0" * 100), "application/octet-stream")}
    page = member.post("/plans/mini/tracker", files=files, data={"csrf_token": member.csrf})
    assert "our tracker.xlsx: not a tracker workbook" in _clean(page, 400)
    assert snapshot(web.url) == before
