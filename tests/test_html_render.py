"""The HTML report in headless Chromium (Debian's `chromium`, installed here when absent):
it renders (the screenshot is not blank and is kept under tests/artifacts/), it makes no
network request (Chromium's own net log is read, and a control page proves the log
would show one), nothing in its DOM points outside the file, and `<script>` in a title
is shown, not run."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_report_support import IMG, SCRIPT, D, review_db  # noqa: F401

from cpflow.reports import html
from cpflow.reports.build import ReportOptions, build_reports

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"


def _screenshots():
    spec = importlib.util.spec_from_file_location("cpflow_screenshots", REPO / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shots = _screenshots()


@pytest.fixture(scope="session")
def chromium():
    path, why = shots.ensure_chromium()
    if path is None:
        pytest.skip(f"headless Chromium unavailable: {why}")
    return path


@pytest.fixture
def page(review_db, tmp_path) -> Path:
    reports, _ = build_reports(review_db, ("progress", "compliance"), ReportOptions(as_of=D("2023-12-31"), since=D("2023-01-01")))
    path = tmp_path / "report.html"
    path.write_text(html.render(reports), encoding="utf-8")
    return path


def page_requests(netlog: Path, page: Path) -> set[str]:
    """URLs the page itself asked for, from Chromium's net log: every request job whose
    network isolation key is the file's (the browser's own background traffic has
    another key), other than the page."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    own = page.resolve().as_uri()
    return {
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start
        and "file://" in event["params"].get("network_isolation_key", "")
        and event["params"]["url"] != own
    }


def test_report_renders_without_any_network_request(chromium, page, tmp_path):
    png, netlog = tmp_path / "report.png", tmp_path / "netlog.json"
    shots.screenshot(chromium, page, png, width=1280, height=1800, netlog=netlog)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / "report-html.png")
    assert shots.distinct_colours(png.read_bytes()) > 20, "the screenshot is blank"
    assert page_requests(netlog, page) == set()


def test_the_net_log_would_show_a_request_if_the_page_made_one(chromium, tmp_path):
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><p>control</p><img src="http://cpflow-control.invalid/x.png">', encoding="utf-8")
    netlog = tmp_path / "netlog.json"
    shots.screenshot(chromium, control, tmp_path / "control.png", width=400, height=300, netlog=netlog)
    assert page_requests(netlog, control) == {"http://cpflow-control.invalid/x.png"}


def test_a_narrow_screen_renders_too(chromium, page, tmp_path):
    png = tmp_path / "narrow.png"
    shots.screenshot(chromium, page, png, width=390, height=1400)
    shutil.copyfile(png, ARTIFACTS / "report-html-narrow.png")
    assert shots.distinct_colours(png.read_bytes()) > 20


class Elements(HTMLParser):
    """Every element with its attributes, and the page's text."""

    def __init__(self):
        super().__init__()
        self.elements, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


LINKING = ("src", "href", "action", "srcset", "poster", "data", "formaction", "xlink:href", "background")


def test_script_in_a_title_is_shown_not_run_and_nothing_points_outside(chromium, page):
    parsed = Elements()
    parsed.feed(shots.dump_dom(chromium, page))
    tags = {tag for tag, _ in parsed.elements}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "base", "form", "audio", "video"}, tags
    text = "".join(parsed.text)
    assert SCRIPT in text and IMG in text  # shown as text
    targets = [value for _, attrs in parsed.elements for name, value in attrs.items() if name in LINKING]
    assert targets and all(t.startswith("#") for t in targets), [t for t in targets if not t.startswith("#")]
    assert not any(name.startswith("on") for _, attrs in parsed.elements for name in attrs)
    assert "url(" not in page.read_text(encoding="utf-8").replace(IMG, "")  # no stylesheet fetches anything


def test_the_page_forbids_requests_and_scripts_itself(page):
    text = page.read_text(encoding="utf-8")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert SCRIPT not in text
    assert "@media print" in text and "max-width: 640px" in text and "<svg" in text


MEASURE = """<script>addEventListener('load', () => {
  const root = document.documentElement;
  const status = [...document.querySelectorAll('.table-wrap')].flatMap(box => {
    const th = [...box.querySelectorAll('th')].find(t => t.textContent === 'Status');
    if (!th) return [];
    const r = th.getBoundingClientRect(), b = box.getBoundingClientRect();
    return [{wide: box.scrollWidth > box.clientWidth, visible: r.left >= b.left - 1 && r.right <= b.right + 1}];
  });
  const out = document.createElement('pre');
  out.id = 'layout';
  out.textContent = JSON.stringify({page: root.scrollWidth, view: root.clientWidth, status});
  document.body.appendChild(out);
});</script>"""


def layout(chromium, page: Path, width: int, tmp_path: Path) -> dict:
    """How the page lays out at a window width: a copy of it with a measuring script (and
    without the policy that forbids scripts), read back from Chromium's DOM."""
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text(encoding="utf-8"))
    probe = tmp_path / f"layout-{width}.html"
    probe.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    result = shots.run_chromium(chromium, probe.resolve().as_uri(), f"--window-size={width},900", "--dump-dom")
    found = re.search(r'<pre id="layout">(.*?)</pre>', result.stdout.decode("utf-8", errors="replace"), re.S)
    assert found, result.stderr.decode(errors="replace")[-500:]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize("width", [1280, 390])
def test_wide_tables_scroll_in_their_box_and_the_status_column_stays_in_view(chromium, page, tmp_path, width):
    measured = layout(chromium, page, width, tmp_path)
    assert measured["page"] <= measured["view"], measured  # the page itself never scrolls sideways
    assert measured["status"] and any(s["wide"] for s in measured["status"]), measured
    assert all(s["visible"] for s in measured["status"]), measured
