"""The tracker spreadsheet and API tokens in the web app: download, fill, upload (the
same import as `cpflow tracker import`, its row errors on the page, nothing written on
any), the upload's size and type checks; a person's own tokens issued once, listed, revoked."""

from __future__ import annotations

import io
import re

import pytest

from tests.conftest import fill_tracker, snapshot
from tests.test_web_shared import copy_fixture, template_fixture

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# Each module builds its database once; every test gets its own copy (tests/test_web_shared.py).


built = template_fixture()


web = copy_fixture("web")


def download(client, tmp_path, plan="mini"):
    reply = client.get(f"/plans/{plan}/tracker")
    assert reply.status_code == 200 and reply.headers["content-type"] == XLSX, reply.text[:200]
    assert reply.headers["content-disposition"].startswith(f'attachment; filename="tracker-{plan}-')
    path = tmp_path / f"tracker-{plan}.xlsx"
    path.write_bytes(reply.content)
    return path


def upload(client, path, name=None, url="/plans/mini/tracker", **kw):
    files = {"file": (name or path.name, path.read_bytes() if hasattr(path, "read_bytes") else path, XLSX)}
    return client.post(url, files=files, data={"csrf_token": client.csrf}, follow_redirects=False, **kw)


def test_a_member_downloads_fills_and_uploads_the_tracker_and_a_second_upload_adds_nothing(web, tmp_path):
    member = web.client("mo")
    filled = fill_tracker(
        download(member, tmp_path), {"1.1": ("endorsed", "2022-05-01", "agreed at the May meeting", "minutes 5")}
    )
    reply = upload(member, filled)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/plans/mini/reports?submitted=1&recorded=0&unchanged=0"
    assert "tracker imported: 1 submitted for review, 0 recorded, 0 unchanged" in member.get(reply.headers["location"]).text
    pending = web.client("lea").get("/api/v1/plans/mini/submissions?status=pending").json()
    assert [(s["activity"], s["trigger"], s["submitted_by"]) for s in pending] == [("mini:1.1", "endorse", "mo")]
    again = upload(member, filled)
    assert again.headers["location"].endswith("submitted=0&recorded=0&unchanged=1")


def test_a_bad_row_is_shown_on_the_page_with_its_row_and_nothing_is_written(web, tmp_path):
    member = web.client("mo")
    filled = fill_tracker(download(member, tmp_path), {"1.1": ("completed", "2022-05-01", None, None),
                                                        "1.2": ("endorsed", "2022-05-01", None, None)})  # fmt: skip
    before = snapshot(web.url)
    reply = upload(member, filled, name="our tracker.xlsx")
    assert reply.status_code == 400
    assert "our tracker.xlsx: 1 problem; nothing was written" in reply.text
    assert "our tracker.xlsx: Activities row 2, column New status, value &#39;completed&#39;: mini:1.1 is proposed" in reply.text
    assert snapshot(web.url) == before


def test_the_api_upload_gives_201_or_400_with_every_problem(web, tmp_path):
    member = web.client("mo")
    path = download(member, tmp_path)
    bad = fill_tracker(path, {"1.1": ("endorsed", "2099-01-01", None, None)}, out=tmp_path / "bad.xlsx")
    before = snapshot(web.url)
    files = {"file": ("bad.xlsx", bad.read_bytes(), XLSX)}
    reply = member.post("/api/v1/plans/mini/tracker", files=files, headers={"X-CSRF-Token": member.csrf})
    assert reply.status_code == 400 and reply.json()["error"] == "bad.xlsx: 1 problem; nothing was written"
    assert "[future-date]" in reply.json()["problems"][0]
    assert snapshot(web.url) == before
    good = fill_tracker(path, {"1.2": ("endorsed", "2022-05-01", None, None)})
    files = {"file": ("good.xlsx", good.read_bytes(), XLSX)}
    reply = web.client("lea").post("/api/v1/plans/mini/tracker", files=files, headers={"X-CSRF-Token": web.client("lea").csrf})
    assert reply.status_code == 403  # another session's CSRF token
    lead = web.client("lea")
    reply = lead.post("/api/v1/plans/mini/tracker", files=files, headers={"X-CSRF-Token": lead.csrf})
    assert reply.status_code == 201 and len(reply.json()["recorded"]) == 1  # a lead's rows are recorded
    assert lead.get("/api/v1/plans/mini/activities/1.2").json()["history"][-1]["actor"] == "lea"


@pytest.mark.parametrize(
    "name, body, status, message",
    [
        ("notes.txt", b"PK\x03\x04 not really", 400, "not an .xlsx workbook"),
        ("tracker.xlsx", b"<html>not a workbook</html>", 400, "not an .xlsx workbook"),
        ("tracker.xlsx", b"PK\x03\x04" + b"\0" * 100, 400, "not a tracker workbook cpflow can read"),
        ("tracker.xlsx", b"PK\x03\x04" + b"\0" * (5 * 1024 * 1024), 413, "at most 5 MB"),
    ],
)
def test_an_upload_that_is_not_a_tracker_or_too_large_is_refused_and_writes_nothing(web, name, body, status, message):
    member = web.client("mo")
    before = snapshot(web.url)
    reply = member.post("/plans/mini/tracker", files={"file": (name, io.BytesIO(body), XLSX)},
                        data={"csrf_token": member.csrf})  # fmt: skip
    assert reply.status_code == status and message in reply.text, reply.text[:500]
    assert snapshot(web.url) == before


def test_another_plans_tracker_a_reviewer_and_a_missing_csrf_token_are_refused(web, tmp_path):
    olead, member, reviewer = web.client("olead"), web.client("mo"), web.client("rev")
    theirs = fill_tracker(download(olead, tmp_path, "other"), {"1.1": ("endorsed", "2022-05-01", None, None)})
    before = snapshot(web.url)
    reply = upload(member, theirs)
    assert reply.status_code == 400 and "this is not a tracker of mini" in reply.text
    mine = fill_tracker(download(member, tmp_path), {"1.1": ("endorsed", "2022-05-01", None, None)})
    reply = upload(olead, mine, url="/plans/other/tracker")
    assert reply.status_code == 400 and "this is not a tracker of other" in reply.text and "First action" not in reply.text
    assert upload(reviewer, mine).status_code == 403
    assert download(reviewer, tmp_path).exists()  # a reviewer reads the tracker
    assert member.post("/plans/mini/tracker", files={"file": ("t.xlsx", mine.read_bytes(), XLSX)}).status_code == 403
    assert upload(olead, mine).status_code == 404
    assert snapshot(web.url) == before


def test_a_person_issues_a_token_once_lists_and_revokes_it(web):
    member = web.client("mo")
    before = snapshot(web.url)
    posted = member.post("/account/tokens", data={"days": "30", "csrf_token": member.csrf}, follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"].startswith("/account/tokens?issued=")
    after, sealed = snapshot(web.url), _rows(web, "web_flashes")
    assert len(after["api_tokens"]) == len(before["api_tokens"]) + 1 and len(sealed) == 1
    # The redirect's page shows the token once; the same URL again (a refresh) shows it no more.
    reply = member.get(posted.headers["location"])
    assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store"
    token = re.search(r'id="new-token" readonly value="([^"]+)"', reply.text).group(1)
    assert token not in posted.headers["location"]
    again = member.get(posted.headers["location"])
    assert token not in again.text and "shown once already" in again.text
    assert snapshot(web.url)["api_tokens"] == after["api_tokens"]  # the refresh issued nothing
    # The one-time note is unreadable in the database and gone once read.
    assert token not in str(sealed) and _rows(web, "web_flashes") == []
    listing = member.get("/account/tokens").text
    assert token not in listing and "active" in listing
    bearer = web.client()
    assert bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["login"] == "mo"
    (row,) = member.get("/api/v1/tokens").json()
    assert set(row) == {"id", "created_at", "expires_at", "revoked"}
    other = web.client("lea")
    assert other.post(f"/account/tokens/{row['id']}/revoke", data={"csrf_token": other.csrf}).status_code == 404
    assert bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    done = member.post(f"/account/tokens/{row['id']}/revoke", data={"csrf_token": member.csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in member.get("/account/tokens").text
    assert member.post("/account/tokens", data={"days": "999", "csrf_token": member.csrf}).status_code == 400
    issued = member.post("/api/v1/tokens", json={"days": 7}, headers={"X-CSRF-Token": member.csrf})
    assert issued.status_code == 201 and issued.json()["token"].startswith(token[:4])


def _rows(web, table: str) -> list:
    from sqlalchemy import text

    with web.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608 (a fixed table name)


def test_a_token_note_is_for_its_account_only_and_sealed_in_the_database(web):
    from cpflow.web.store import put_flash, take_flash

    mo, lea = web.client("mo"), web.client("lea")
    posted = mo.post("/account/tokens", data={"days": "30", "csrf_token": mo.csrf}, follow_redirects=False)
    (row,) = _rows(web, "web_flashes")
    assert lea.get(posted.headers["location"]).text.count('id="new-token"') == 0  # another account finds nothing
    token = re.search(r'id="new-token" readonly value="([^"]+)"', mo.get(posted.headers["location"]).text).group(1)
    assert token not in str(row) and token.encode().hex() not in str(row)
    key = put_flash(web.db, 1, "a note", now=1000.0)
    assert take_flash(web.db, 1, key, now=1000.0 + 11 * 60) is None  # older than ten minutes: gone
    key = put_flash(web.db, 1, "a note")
    assert take_flash(web.db, 1, "x" + key) is None and take_flash(web.db, 1, key) == "a note"
