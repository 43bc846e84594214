"""Browser journeys: Playwright driving Debian's chromium (never a downloaded browser)
against `cpflow serve`'s app on a loopback port. Screenshots at desktop and phone width
are kept under the test's tmp dir and checked not blank; no request leaves the origin."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import WEB_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(web):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


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


def sign_in(page, base: str, login: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(WEB_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/plans")


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
