"""The web app from the attacker's side: forged writes, other plans' ids, the session
cookie, sign-in throttling, hostile titles, headers on every response, secrets in bodies."""

from __future__ import annotations

import re

from tests.conftest import WEB_PASSWORD, run_cli, snapshot
from tests.test_web_shared import copy_fixture, template_fixture

# SQLite only (routes run on both backends). Tests that only read share one database and
# app (`read_web`); every other test gets its own copy of the module's built database.


built = template_fixture(("sqlite",))


read_web = copy_fixture("read_web", scope="module")


web = copy_fixture("web")


HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_writes_nothing(web):
    lead = web.client("lea")
    before = snapshot(web.url)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        reply = lead.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse"}, headers=headers)
        assert reply.status_code == 403 and "CSRF" in reply.json()["error"]
    for token in (None, "forged"):
        data = {"trigger": "endorse", **({"csrf_token": token} if token else {})}
        reply = lead.post("/plans/mini/activities/1.1/moves", data=data, follow_redirects=False)
        assert reply.status_code == 403
    other = web.client("mo")  # another session's token is wrong for this one
    reply = lead.post("/plans/mini/activities/1.1/moves", data={"trigger": "endorse", "csrf_token": other.csrf})
    assert reply.status_code == 403
    assert snapshot(web.url) == before


def test_an_id_from_another_plan_is_404_never_its_data(web):
    member, outsider = web.client("mo"), web.client("olead")
    sent = member.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01"},
                       headers={"X-CSRF-Token": member.csrf}).json()  # fmt: skip
    before = snapshot(web.url)
    for path in ("/plans/mini", "/api/v1/plans/mini/activities/1.1", "/plans/mini/activities/1.1"):
        reply = outsider.get(path)
        assert reply.status_code == 404 and "First action" not in reply.text
    reply = outsider.post(f"/api/v1/submissions/{sent['id']}/approve", headers={"X-CSRF-Token": outsider.csrf})
    assert reply.status_code == 404 and reply.json() == {"error": f"unknown submission {sent['id']}"}
    # The lead of `other` posting mini's submission id through their own plan's queue.
    reply = outsider.post("/plans/other/review/approve", data={"id": str(sent["id"]), "csrf_token": outsider.csrf})
    assert reply.status_code == 404
    assert "mini" not in outsider.get("/api/v1/plans").text
    assert snapshot(web.url) == before


def test_the_session_cookie_is_httponly_lax_rotated_at_sign_in_and_secure_over_https(read_web):
    web = read_web
    from fastapi.testclient import TestClient

    client = TestClient(web.app)
    first = client.get("/login")
    anonymous = first.cookies.get("cpflow_session")
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.text).group(1)
    signed = client.post("/login", data={"login": "lea", "password": WEB_PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert signed.status_code == 303
    assert signed.cookies.get("cpflow_session") not in (None, anonymous)
    assert re.search(r'name="csrf_token" value="([^"]+)"', client.get("/plans").text).group(1) != token
    https = TestClient(web.app, base_url="https://cpflow.example")
    assert "Secure" in https.get("/login").headers["set-cookie"]


def test_a_forged_or_expired_cookie_is_not_a_session(read_web):
    web = read_web
    lead = web.client("lea")
    value = lead.cookies.get("cpflow_session")
    forged = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    original = next(cookie for cookie in lead.cookies.jar if cookie.name == "cpflow_session")
    lead.cookies.set("cpflow_session", forged, domain=original.domain, path=original.path)  # replaces it, not beside it
    assert [cookie.value for cookie in lead.cookies.jar if cookie.name == "cpflow_session"] == [forged]
    assert lead.get("/api/v1/plans").status_code == 401


def test_a_changed_password_or_a_disabled_account_ends_its_sessions(web):
    from cpflow.teams.accounts import set_disabled, set_password

    lead, member = web.client("lea"), web.client("mo")
    set_password(web.db, "lea", "another long password", by="admin")
    assert lead.get("/api/v1/plans").status_code == 401
    set_disabled(web.db, "mo", by="admin")
    assert member.get("/api/v1/plans").status_code == 401


def test_sign_in_is_throttled_per_account_with_the_same_message_for_unknown_and_wrong(web):
    from fastapi.testclient import TestClient

    client = TestClient(web.app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    unknown = client.post("/login", data={"login": "ghost", "password": "x" * 12, "csrf_token": token})
    wrong = client.post("/login", data={"login": "lea", "password": "x" * 12, "csrf_token": token})
    assert unknown.status_code == wrong.status_code == 401
    assert "the login or password is wrong" in unknown.text and "the login or password is wrong" in wrong.text
    for _ in range(4):
        client.post("/login", data={"login": "lea", "password": "x" * 12, "csrf_token": token})
    right = client.post("/login", data={"login": "lea", "password": WEB_PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert right.status_code == 429 and "too many failed sign-ins" in right.text
    # The throttle lives in the database: a second app (another worker) on it agrees.
    from cpflow.web import create_app

    second = TestClient(create_app(web.db))
    token = re.search(r'name="csrf_token" value="([^"]+)"', second.get("/login").text).group(1)
    assert second.post("/login", data={"login": "lea", "password": WEB_PASSWORD, "csrf_token": token}).status_code == 429
    assert web.client("col").get("/api/v1/plans").status_code == 200  # another account is not blocked


def test_hostile_titles_are_shown_as_text_on_every_page(web, tmp_path):
    from tests.conftest import MINI_PLAN

    cpflow = lambda *args: run_cli(*args, db_url=web.url)  # noqa: E731

    plan = tmp_path / "hostile.yaml"
    text = MINI_PLAN.replace("Mini plan", HOSTILE[0].replace('"', "'")).replace(
        "First action", "'" + HOSTILE[1].replace("'", "") + "'"
    )
    plan.write_text(text.replace("title: '\"", "title: '\""), encoding="utf-8")
    assert cpflow("load", str(plan), "--by", "lea").exit_code == 0, cpflow("load", str(plan), "--by", "x").output
    lead = web.client("lea")
    member = web.client("mo")
    member.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01",
                "reason": HOSTILE[0], "comment": HOSTILE[1]}, headers={"X-CSRF-Token": member.csrf})  # fmt: skip
    for path in ("/plans", "/plans/mini", "/plans/mini/activities", "/plans/mini/activities/1.1", "/plans/mini/review",
                 "/plans/mini/findings", "/plans/mini/indicators", "/plans/mini/funding", "/plans/mini/reports"):  # fmt: skip
        body = lead.get(path).text
        assert "<script>alert" not in body and "<img src=x" not in body, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in lead.get("/plans").text
    assert "&lt;img src=x onerror=alert(2)&gt;" in lead.get("/plans/mini/activities").text


def test_security_headers_are_on_every_response(read_web):
    web = read_web
    lead = web.client("lea")
    replies = [lead.get(p, follow_redirects=False) for p in ("/plans", "/plans/mini/activities/9.9", "/nowhere",
               "/static/htmx.min.js", "/api/v1/plans/none", "/")]  # fmt: skip
    replies.append(web.client().get("/plans", follow_redirects=False))
    replies.append(lead.post("/api/v1/plans/mini/activities/1.1/moves", json={}))
    for reply in replies:
        csp = reply.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "http" not in csp and "'unsafe-inline'" not in csp
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "same-origin"
    page = lead.get("/plans")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
    assert f'nonce="{nonce}"' in page.text
    assert not re.search(r"<script(?![^>]*nonce=)", page.text)
    assert not re.search(r'(src|href)="(https?:)?//', page.text)


def test_no_response_carries_a_password_hash_or_a_token(web):
    from cpflow.teams.accounts import issue_token

    token = issue_token(web.db, "lea", by="admin").token
    admin = web.client("admin")
    bearer = web.client()
    bodies = [admin.get(p).text for p in ("/accounts", "/api/v1/accounts", "/plans", "/plans/mini", "/api/v1/me")]
    bodies.append(bearer.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"}).text)
    for body in bodies:
        assert "$argon2" not in body and token not in body and "token_sha256" not in body


def test_an_api_token_authenticates_without_csrf_and_a_revoked_one_is_401(web):
    from cpflow.teams.accounts import issue_token, revoke_token

    issued = issue_token(web.db, "lea", by="admin")
    client = web.client()
    auth = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/api/v1/me", headers=auth).json()["login"] == "lea"
    reply = client.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": "endorse", "at": "2022-05-01"}, headers=auth)
    assert reply.status_code == 201 and reply.json()["actor"] == "lea"
    revoke_token(web.db, issued.token_id, by="admin")
    assert client.get("/api/v1/me", headers=auth).status_code == 401


def test_an_upload_above_the_limit_is_413_and_a_next_elsewhere_is_not_followed(web):
    lead = web.client("lea")
    big = b"x" * (10 * 1024 * 1024 + 1)
    reply = lead.post("/api/v1/plans/mini/activities/1.1/moves", content=big, headers={"X-CSRF-Token": lead.csrf,
                      "content-type": "application/json"})  # fmt: skip
    assert reply.status_code == 413 and "larger than" in reply.json()["error"]
    from fastapi.testclient import TestClient

    client = TestClient(web.app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    reply = client.post("/login", data={"login": "lea", "password": WEB_PASSWORD, "csrf_token": token,
                        "next": "//evil.example/"}, follow_redirects=False)  # fmt: skip
    assert reply.headers["location"] == "/plans"
