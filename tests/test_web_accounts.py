"""The accounts page does what `cpflow users` does: an admin adds an account without a
password and sets it later on the page (`cpflow users passwd LOGIN --by ADMIN`), which ends
that account's sessions; nobody else may, and a POST without its CSRF token writes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import WEB_PASSWORD, snapshot
from tests.test_web_shared import copy_fixture, template_fixture

NEW_PASSWORD = "a different long passphrase"


built = template_fixture()


web = copy_fixture("web")


def test_an_admin_sets_a_password_on_the_page_and_the_person_signs_in_with_it(web):
    admin = web.client("admin")
    added = admin.post("/accounts", data={"login": "newbie", "name": "New <b>member</b>", "csrf_token": admin.csrf},
                       follow_redirects=False)  # fmt: skip
    assert added.status_code == 303
    page = admin.get("/accounts").text
    assert "no password" in page and 'action="/accounts/newbie/password"' in page and "Set password" in page
    assert "New &lt;b&gt;member&lt;/b&gt;" in page
    assert 'action="/accounts/admin/password"' not in page  # one's own password: the Password page, with the current one
    done = admin.post("/accounts/newbie/password", data={"password": NEW_PASSWORD, "csrf_token": admin.csrf},
                      follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/accounts?password=set"
    assert "Password set; that account's sessions have ended" in admin.get(done.headers["location"]).text
    assert web.client("newbie", NEW_PASSWORD).get("/api/v1/me").status_code == 200

    member = web.client("mo")
    assert member.get("/api/v1/me").status_code == 200
    reset = admin.post("/accounts/mo/password", data={"password": NEW_PASSWORD, "csrf_token": admin.csrf},
                       follow_redirects=False)  # fmt: skip
    assert reset.status_code == 303
    assert member.get("/api/v1/me").status_code == 401  # the old session ended with the old password
    web.client("mo", NEW_PASSWORD)


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_only_an_admin_with_the_forms_token_sets_a_password_and_a_bad_one_is_refused_on_the_page(web):
    before = snapshot(web.url)
    for login in ("lea", "mo", "rev", "nobody"):
        client = web.client(login)
        reply = client.post("/accounts/mo/password", data={"password": NEW_PASSWORD, "csrf_token": client.csrf})
        assert reply.status_code == 403 and "admin" in reply.text, login
    admin = web.client("admin")
    for token in (None, "forged", web.client("lea").csrf):
        data = {"password": NEW_PASSWORD, **({"csrf_token": token} if token else {})}
        assert admin.post("/accounts/mo/password", data=data).status_code == 403
    short = admin.post("/accounts/mo/password", data={"password": "short", "csrf_token": admin.csrf})
    assert short.status_code == 400 and "12" in short.text and 'action="/accounts/mo/password"' in short.text
    unknown = admin.post("/accounts/ghost/password", data={"password": NEW_PASSWORD, "csrf_token": admin.csrf})
    assert unknown.status_code in (400, 404) and "ghost" in unknown.text
    assert snapshot(web.url) == before
    web.client("mo", WEB_PASSWORD)  # unchanged


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_a_grant_without_its_role_says_what_it_needs(web):
    admin = web.client("admin")
    before = snapshot(web.url)
    reply = admin.post("/api/v1/accounts/mo/grant", headers={"X-CSRF-Token": admin.csrf})
    assert reply.status_code == 400 and reply.json() == {
        "error": 'grant needs the role and the plan (JSON {"role": ..., "plan": ...})'
    }
    unknown = admin.post("/api/v1/accounts/mo/promote", headers={"X-CSRF-Token": admin.csrf})
    assert unknown.status_code == 400 and "actions are disable, enable, grant, revoke" in unknown.json()["error"]
    assert snapshot(web.url) == before
