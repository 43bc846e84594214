"""The dashboard's kept results (cpflow.web.derived): a read after no change is served
without a rebuild, any write (here or through another worker's app) changes the answer at
once, and concurrent first visitors share one build."""

from __future__ import annotations

import re
import threading

from cpflow.web.derived import Dashboard, DerivedCache
from tests.test_web_shared import copy_fixture, template_fixture

# Each module builds its database once; every test gets its own copy (tests/test_web_shared.py).


built = template_fixture()


web = copy_fixture("web")


def _started(client) -> str:
    figure = re.search(r'<div class="value">([^<]*)</div><div class="label">In progress</div>', client.get("/plans/mini").text)
    return figure.group(1) if figure else "0"


def test_a_read_is_kept_and_a_write_anywhere_changes_the_answer(web):
    from cpflow.web import create_app

    lead = web.client("lea")
    cache = web.app.state.derived
    assert lead.get("/api/v1/plans/mini").status_code == 200
    builds = cache.builds
    first = lead.get("/api/v1/plans/mini").json()
    assert lead.get("/plans/mini").status_code == 200 and cache.builds == builds  # served from the kept result

    # A second worker over the same database: it keeps its own results, the answers agree.
    other = create_app(web.db)
    from fastapi.testclient import TestClient

    second = TestClient(other)
    second.csrf = re.search(r'name="csrf_token" value="([^"]+)"', second.get("/login").text).group(1)
    reply = second.post("/login", data={"login": "lea", "password": "correct horse battery staple",
                                        "csrf_token": second.csrf}, follow_redirects=False)  # fmt: skip
    assert reply.status_code == 303
    assert second.get("/api/v1/plans/mini").json() == first

    # A move through the first worker: both workers answer with the move at once.
    for trigger in ("endorse", "start"):
        reply = lead.post("/api/v1/plans/mini/activities/1.1/moves", json={"trigger": trigger, "at": "2022-05-01"},
                          headers={"X-CSRF-Token": lead.csrf})  # fmt: skip
        assert reply.status_code == 201, reply.text
    figures = {f["key"]: f["value"] for f in lead.get("/api/v1/plans/mini").json()["figures"]}
    assert figures["state_in_progress"] == 1 and cache.builds == builds + 1
    assert second.get("/api/v1/plans/mini").json() == lead.get("/api/v1/plans/mini").json()
    assert _started(second) == "1"


def _shown(head):
    return Dashboard(None, None, [], [], {}, head)


def test_concurrent_requests_for_one_key_share_one_build():
    cache = DerivedCache()
    gate, calls = threading.Event(), []

    def build():
        calls.append(1)
        gate.wait(5)
        return _shown((7, "h"))

    key = ("mini", None, None, 7, "h")
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(key, build))) for _ in range(6)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(results) == 6 and len({id(r) for r in results}) == 1
    assert cache.get(key, build) is results[0] and len(calls) == 1


def test_a_build_that_saw_a_later_head_is_kept_under_that_head_only():
    cache = DerivedCache()
    built = cache.get(("mini", None, None, 7, "h"), lambda: _shown((8, "g")))
    assert built.head == (8, "g")
    assert cache.get(("mini", None, None, 8, "g"), lambda: _shown((9, "x"))) is built  # kept under what it saw
    again = cache.get(("mini", None, None, 7, "h"), lambda: _shown((7, "h")))
    assert again is not built and again.head == (7, "h")
    # Two snapshots that disagreed (head -1): served, never kept.
    cache.get(("mini", None, None, 9, "z"), lambda: _shown((-1, "")))
    assert cache.get(("mini", None, None, 9, "z"), lambda: _shown((9, "z"))).head == (9, "z")


def test_the_lru_keeps_a_bounded_number_of_entries():
    cache = DerivedCache(size=2)
    for seq in range(5):
        cache.get(("mini", None, None, seq, "h"), lambda seq=seq: _shown((seq, "h")))
    assert len(cache._kept) == 2
