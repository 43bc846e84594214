"""Step definitions for scenarios/web.feature: the journeys in Debian's chromium
(Playwright, one browser per session), against the app served on a loopback port."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import browser_sign_in, fill_tracker, snapshot
from tests.test_web_shared import copy_fixture, template_fixture

scenarios("web.feature")


# Every journey on SQLite, and on PostgreSQL when CPFLOW_TEST_PG_URL is set: the module
# builds the database once per backend and each scenario gets its own copy
# (tests/test_web_shared.py); conftest's `served` serves this `web`.


built = template_fixture()


@pytest.fixture(autouse=True)
def backend(built):
    """Autouse, so each scenario is parametrized by the backend when it is collected (its
    steps ask for their fixtures only as they run)."""
    return built


web = copy_fixture("web")


@pytest.fixture
def story(web, served, browser, tmp_path):
    """One person at a time in one browser window; every request the page makes is logged."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    state = {"web": web, "base": served, "page": page, "dir": tmp_path, "who": None}
    yield state
    context.close()
    assert all(url.startswith(served) for url in requests), [u for u in requests if not u.startswith(served)]


def _as(story, login):
    """Sign `login` in (signing out whoever was signed in first)."""
    page = story["page"]
    if story["who"] != login:
        if story["who"] is not None:
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{story['base']}/login")
        browser_sign_in(page, story["base"], login)
        story["who"] = login
    return page


@given(parsers.parse('the mini plan is open in the browser for a lead "{lead}", a member "{member}" and a reviewer "{reviewer}"'))
def mini_in_the_browser(story, lead, member, reviewer):
    assert (lead, member, reviewer) == ("lea", "mo", "rev")  # the web fixture's accounts


@given("action 1.1 was endorsed at the May 2022 meeting")
def endorsed(story):
    from cpflow import services

    services.move(story["web"].db, "mini:1.1", "endorse", actor="lea", at=dt.date(2022, 5, 12), ref="minutes May 2022")


@when(parsers.parse('"{login}" signs in and reports that action {code} started on {at}'))
def reports_start(story, login, code, at):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/activities/{code}")
    form = page.get_by_role("form", name="start")
    form.get_by_label("Date it happened").fill(at)
    form.get_by_role("button", name="Submit: start").click()
    page.wait_for_url(f"**/activities/{code}?done=202")


@then(parsers.parse('"{login}" is told the update waits for a lead'))
def told_it_waits(story, login):
    assert story["who"] == login
    assert "Submitted for review" in story["page"].content()


@then(parsers.parse("action {code} is still {state}"))
def still(story, code, state):
    from cpflow.read.queries import show_activity

    with story["web"].db.read() as session:
        assert show_activity(session, f"mini:{code}")["state"] == state


@when(parsers.parse('"{login}" signs in and approves the update from the review queue'))
def approves(story, login):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/review")
    page.get_by_label("approve submission 1").check()
    page.get_by_role("button", name="Approve the chosen").click()
    page.wait_for_url("**/review?approved=1")


@then(parsers.parse('the timeline of action {code} shows it started, reported by "{member}" and approved by "{lead}"'))
def timeline(story, code, member, lead):
    page = story["page"]
    page.goto(f"{story['base']}/plans/mini/activities/{code}")
    text = page.locator(".timeline").inner_text()
    assert f"start: endorsed → in_progress · by {member}" in text and f"approved by {lead}" in text


@when(parsers.parse('"{login}" signs in and comments on action {code} "{text}"'))
def comments(story, login, code, text):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/activities/{code}")
    form = page.get_by_role("form", name="Comment")
    form.get_by_label("Comment (required)").fill(text)
    form.get_by_role("button", name="Submit the comment").click()
    page.wait_for_url(f"**/activities/{code}?done=comment")


@then(parsers.parse('"{login}" is told the comment waits for a lead'))
def told_comment_waits(story, login):
    assert story["who"] == login
    assert "Comment submitted" in story["page"].content()


@then(parsers.parse('the timeline of action {code} does not show "{text}"'))
def timeline_lacks(story, code, text):
    page = story["page"]
    page.goto(f"{story['base']}/plans/mini/activities/{code}")
    assert text not in page.locator(".timeline").inner_text()


@then(parsers.parse('the timeline of action {code} shows the comment "{text}" by "{member}", approved by "{lead}"'))
def timeline_comment(story, code, text, member, lead):
    page = story["page"]
    page.goto(f"{story['base']}/plans/mini/activities/{code}")
    shown = page.locator(".timeline").inner_text()
    assert f"comment by {member}" in shown and text in shown and f"approved by {lead}" in shown


@then(parsers.parse('the review queue of "{login}" is empty'))
def queue_empty(story, login):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/review")
    assert page.get_by_label("approve submission 1").count() == 0


@when(parsers.parse('"{login}" signs in and downloads the review pack as of {as_of}'))
def downloads_pack(story, login, as_of):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/reports")
    page.get_by_label("As of").first.fill(as_of)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the pack").click()
    story["pack"] = story["dir"] / download.value.suggested_filename
    download.value.save_as(story["pack"])


@then("the pack holds the progress workbook, the compliance workbook, the HTML report and the manifest")
def pack_holds(story):
    assert story["pack"].name == "pack-2023-06-30.zip"
    names = {n.split("/", 1)[1] for n in zipfile.ZipFile(story["pack"]).namelist()}
    assert {"progress.xlsx", "compliance.xlsx", "report.html", "manifest.json"} <= names


@then(parsers.parse('"{login}" is offered no button to move action {code}'))
def no_move_buttons(story, login, code):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/activities/{code}")
    assert page.get_by_role("button", name="start").count() == 0
    assert page.get_by_role("button", name="Submit: start").count() == 0


@when(parsers.parse('"{login}" signs in and downloads the tracker'))
def downloads_tracker(story, login):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/reports")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the tracker").click()
    story["tracker"] = story["dir"] / download.value.suggested_filename
    download.value.save_as(story["tracker"])


@when(parsers.parse('fills in that action {code} started on {at} because "{reason}"'))
def fills_in(story, code, at, reason):
    fill_tracker(story["tracker"], {code: ("in_progress", at, reason, None)})


@when("uploads the filled tracker")
def uploads(story):
    page = story["page"]
    story["before"] = snapshot(story["web"].url)
    page.get_by_label("Filled tracker (.xlsx").set_input_files(str(story["tracker"]))
    page.get_by_role("button", name="Upload the tracker").click()
    page.wait_for_load_state()


@then(parsers.parse('"{login}" is told "{words}"'))
def told(story, login, words):
    assert story["who"] == login
    assert words in story["page"].locator("[role=status]").inner_text()


@then(parsers.parse('the review queue of "{login}" shows the start of action {code} reported by "{member}"'))
def queue_shows(story, login, code, member):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/review")
    text = page.locator("main").inner_text()
    assert f"mini:{code}" in text and "start" in text and member in text
    assert page.get_by_label("approve submission 1").count() == 1


@then(parsers.parse('"{login}" sees the problem "{where}" and that nothing was written'))
def sees_problem(story, login, where):
    page = story["page"]
    assert "nothing was written" in page.get_by_role("alert").inner_text()
    assert where in page.locator(".problems").inner_text()
    assert snapshot(story["web"].url) == story["before"]


@when(parsers.parse('"{login}" signs in and returns it to its author saying "{note}"'))
def returns_it(story, login, note):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini/review")
    page.get_by_label("Comment for submission 1").fill(note)
    page.get_by_role("button", name="Return").click()
    page.wait_for_url("**/plans/mini/review?done=returned&id=1")


@then(parsers.parse('"{login}" sees on her dashboard that {count:d} of her submissions was returned to her'))
def dashboard_says_returned(story, login, count):
    page = _as(story, login)
    page.goto(f"{story['base']}/plans/mini")
    assert page.get_by_role("link", name=f"{count} returned to you").count() == 1


@when(parsers.parse('"{login}" opens it, reads "{note}" and resubmits the note as "{text}"'))
def resubmits_note(story, login, note, text):
    page = _as(story, login)
    page.get_by_role("link", name="returned to you").click()
    page.wait_for_url("**/plans/mini/review#mine")
    assert f"said: “{note}”" in page.locator("section.mine").inner_text()
    revise = page.get_by_role("form", name="Revise submission 1")
    revise.get_by_label("Comment").fill(text)
    revise.get_by_role("button", name="Resubmit #1").click()
    page.wait_for_url("**/plans/mini/review?done=resubmitted&id=1")


@then(parsers.parse('"{login}" is told her note waits for another lead or co-lead'))
def told_note_waits(story, login):
    assert story["who"] == login
    page = story["page"]
    assert "it waits for another lead or co-lead" in page.get_by_role("status").inner_text()
    assert "Waiting for another lead or co-lead" in page.locator("section.mine").inner_text()
