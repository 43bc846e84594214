"""Browser journeys: Playwright driving Debian's chromium (never a downloaded browser)
against `cpflow serve`'s app on a loopback port. Screenshots at desktop and phone width
are kept under the test's tmp dir and checked not blank; no request leaves the origin."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest

from tests.conftest import browser_sign_in
from tests.test_web_shared import copy_fixture, template_fixture

pytestmark = [
    pytest.mark.parametrize("built", ["sqlite"], indirect=True),
]


# Each module builds its database once; every test gets its own copy (tests/test_web_shared.py).


built = template_fixture()


web = copy_fixture("web")


def not_blank(png: bytes) -> bool:
    """True when the PNG's pixels are not all one colour (decoded with zlib alone)."""
    data, pos = b"", 8
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    return len(set(raw)) > 16  # one colour (with PNG's filter bytes) gives a handful of values


sign_in = browser_sign_in


def test_member_submits_lead_approves_reviewer_downloads_the_pack(web, served, browser, tmp_path):
    from cpflow import services

    services.move(web.db, "mini:1.1", "endorse", actor="lea", at=dt.date(2022, 5, 1))
    requests: list[str] = []
    shots = tmp_path / "screenshots"
    shots.mkdir()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()

    sign_in(page, served, "mo")
    page.goto(f"{served}/plans/mini/activities/1.1")
    form = page.get_by_role("form", name="start")
    form.get_by_label("Date it happened").fill("2022-06-01")
    form.get_by_role("button", name="Submit: start").click()
    page.wait_for_url("**/activities/1.1?done=202")
    assert "Submitted for review" in page.content()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{served}/login")

    sign_in(page, served, "lea")
    page.goto(f"{served}/plans/mini/review")
    page.screenshot(path=str(shots / "review-desktop.png"), full_page=True)
    page.get_by_label("approve submission 1").check()
    page.get_by_role("button", name="Approve the chosen").click()
    page.wait_for_url("**/review?approved=1")
    page.goto(f"{served}/plans/mini/activities/1.1")
    timeline = page.locator(".timeline").inner_text()
    assert "start: endorsed → in_progress · by mo" in timeline and "approved by lea" in timeline
    page.goto(f"{served}/plans/mini")
    assert "in_progress" in page.content() or "In progress" in page.content()
    page.screenshot(path=str(shots / "dashboard-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "dashboard-phone.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, served, "rev")
    page.goto(f"{served}/plans/mini/reports")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the pack").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    import zipfile

    assert any(n.endswith("manifest.json") for n in zipfile.ZipFile(saved).namelist())
    context.close()

    for shot in shots.iterdir():
        assert not_blank(shot.read_bytes()), shot
    assert requests and all(url.startswith(served) for url in requests), [u for u in requests if not u.startswith(served)]


def test_a_member_comments_and_the_approved_comment_joins_the_timeline(web, served, browser):
    requests: list[str] = []
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone: the form must work there too
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()

    sign_in(page, served, "mo")
    page.goto(f"{served}/plans/mini/activities/1.2")
    form = page.get_by_role("form", name="Comment")
    form.get_by_label("Comment (required)").fill("Venue booked <b>for</b> the training")
    form.get_by_label("Date it concerns").fill("2022-05-20")
    form.get_by_role("button", name="Submit the comment").click()
    page.wait_for_url("**/activities/1.2?done=comment")
    assert "Comment submitted" in page.content()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{served}/login")

    sign_in(page, served, "col")
    page.goto(f"{served}/plans/mini/review")
    assert "Venue booked <b>for</b> the training" in page.locator("table").inner_text()  # text, not markup
    page.get_by_label("approve submission 1").check()
    page.get_by_role("button", name="Approve the chosen").click()
    page.wait_for_url("**/review?approved=1")
    page.goto(f"{served}/plans/mini/activities/1.2")
    timeline = page.locator(".timeline").inner_text()
    assert "comment by mo" in timeline and "Venue booked <b>for</b> the training" in timeline
    assert "approved by col" in timeline
    context.close()
    assert requests and all(url.startswith(served) for url in requests)


def test_under_four_eyes_a_lead_revises_her_returned_move_and_the_co_lead_approves_it(web, served, browser, tmp_path):
    from tests.conftest import MINI_PLAN, run_cli

    plan = tmp_path / "mini-four-eyes.yaml"
    plan.write_text(MINI_PLAN.replace("  title: Mini plan\n", "  title: Mini plan\n  four_eyes: true\n"), encoding="utf-8")
    assert run_cli("load", str(plan), "--by", "lea", db_url=web.url).exit_code == 0
    requests: list[str] = []
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone: the forms must work there too
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()

    sign_in(page, served, "lea")
    page.goto(f"{served}/plans/mini/activities/1.1")
    form = page.get_by_role("form", name="endorse")
    form.get_by_label("Date it happened").fill("2022-05-01")
    form.get_by_role("button", name="Submit: endorse").click()
    page.wait_for_url("**/activities/1.1?done=202")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{served}/login")

    sign_in(page, served, "col")
    page.goto(f"{served}/plans/mini/review")
    page.get_by_label("Comment for submission 1").fill("attach the <b>minutes</b>")
    page.get_by_role("button", name="Return").click()
    page.wait_for_url("**/plans/mini/review?done=returned&id=1")
    assert "Submission 1 returned to its submitter" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{served}/login")

    sign_in(page, served, "lea")
    page.goto(f"{served}/plans/mini")
    page.get_by_role("link", name="1 returned to you").click()
    page.wait_for_url("**/plans/mini/review#mine")
    mine = page.locator("section.mine")
    assert "col said: “attach the <b>minutes</b>”" in mine.inner_text()  # text, not markup
    revise = page.get_by_role("form", name="Revise submission 1")
    revise.get_by_label("Reference").fill("minutes 12 May 2022")
    revise.get_by_role("button", name="Resubmit #1").click()
    page.wait_for_url("**/plans/mini/review?done=resubmitted&id=1")
    assert "Waiting for another lead or co-lead" in page.locator("section.mine").inner_text()
    shot = tmp_path / "my-submissions-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{served}/login")

    sign_in(page, served, "col")
    page.goto(f"{served}/plans/mini/review")
    page.get_by_label("approve submission 1").check()
    page.get_by_role("button", name="Approve the chosen").click()
    page.wait_for_url("**/review?approved=1")
    page.goto(f"{served}/plans/mini/activities/1.1")
    timeline = page.locator(".timeline").inner_text()
    assert "endorse: proposed → endorsed · by lea" in timeline and "approved by col" in timeline
    assert "minutes 12 May 2022" in timeline
    context.close()
    assert not_blank(shot.read_bytes())
    assert requests and all(url.startswith(served) for url in requests), [u for u in requests if not u.startswith(served)]
