"""Fuzzed plan files into `cpflow load`: random bytes, mutated files, wrong types at any
path, hostile text, and the classic YAML attacks (deep nesting, alias bombs, tags).

Every case ends in success or one clear error with exit 2 and no row changed; a success
must be faithful (every title exactly as the file says, however long or strange).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest
import yaml
from conftest import proved
from hypothesis import assume, given
from hypothesis import strategies as st
from test_fuzz_harness import FUZZ, target  # noqa: F401 (target is a fixture)

BASE = {
    "format": 1,
    "plan": {"slug": "fuzz", "title": "Fuzz plan", "start": "2022-01-01", "end": "2025-12-31", "currency": "USD",
             "sectors": ["Health"], "about": {"source": "generated"}},
    "periods": [{"key": "y1", "name": "Year 1", "kind": "year", "start": "2022-01-01", "end": "2022-12-31"},
                {"key": "y2", "name": "Year 2", "kind": "year", "start": "2023-01-01", "end": "2023-12-31"}],
    "units": [{"key": "wg", "name": "Working group", "kind": "working_group", "leads": ["Agency A"]}],
    "outcomes": [{"key": "o1", "title": "Outcome one"}],
    "objectives": [{"code": "1", "title": "Objective one", "outcome": "o1", "unit": "wg",
                    "targets": [{"period": "y2", "text": "All done"}],
                    "activities": [{"code": "1.1", "title": "First action", "phase": "y1", "lead": "Agency A"},
                                   {"code": "1.2", "title": "Second action", "schedule": ["y1", "y2"],
                                    "due": "2023-06-30", "sectors": ["Health"]}]}],
    "activities": [{"code": "2.1", "title": "Loose action", "objective": "1", "state": "endorsed"}],
    "indicators": [{"code": "i1", "name": "Share done", "of": "objective:1", "baseline": {"value": 0, "date": "2022-01-01"},
                    "targets": [{"period": "y2", "value": 100}]}],
    "budgets": [{"unit": "wg", "period": "y1", "budget": "1,585,000", "received": 1000}],
    "checklists": [{"key": "annex", "title": "Annex 1", "items": [{"code": "A1", "text": "Do the thing"}]}],
    "people": [{"name": "Amina", "roles": ["lead"]}],
    "rules": {"select": ["T"], "ignore": []},
}  # fmt: skip

WEIRD_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["2023-02-30", "2023-13-01", "0000-01-01", "9999-12-31", "2022-01-01T10:00:00", "1e400",
                     "=HYPERLINK(\"http://x\")", "+1", "-", "@SUM(A1)", "", " ", "null", "~", "yes", "0x1F",
                     "1_000", "$110,00", "$1.585,000", "NaN", "-0", "x" * 300]),
)  # fmt: skip
WEIRD = st.recursive(WEIRD_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                     max_leaves=6)  # fmt: skip


def paths(value, prefix=()):
    """Every path into a nested dict/list (containers and leaves)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from paths(child, prefix + (i,))


# `people` stays as it is: a case that took the lead role from Amina would lock every later
# load out (the plan declares roles), and the fuzz would silently test nothing but that refusal.
ALL_PATHS = [p for p in paths(BASE) if p and p[0] != "people"]
LEAD = "Amina"  # BASE's lead: loading into a plan that declares people needs its lead


def replaced(document: dict, path: tuple, value) -> dict:
    doc = copy.deepcopy(document)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


def removed(document: dict, path: tuple) -> dict:
    doc = copy.deepcopy(document)
    node = doc
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return doc


def dump(document) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10**9)


def titles_in_file(text: str) -> dict[str, str]:
    """What libyaml's own safe loader says each activity's title is: the faithful expectation
    (a number or an unquoted date in a title is text to cpflow)."""
    doc = yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506
    found = {}
    activities = [a for o in doc.get("objectives") or [] for a in o.get("activities") or []]
    for activity in activities + (doc.get("activities") or []):
        title = activity["title"]
        found[str(activity["code"]).strip()] = title.isoformat() if hasattr(title, "isoformat") else str(title)
    return found


def assert_faithful(target, text: str, slug: str = "fuzz") -> None:
    listed = target.run("activities", "--plan", slug, "--format", "json")
    stored = {row["code"]: row["title"] for row in json.loads(listed.stdout)}
    expected = titles_in_file(text)
    # Earlier cases may have left other activities in the plan (kept, never deleted).
    assert {code: stored.get(code) for code in expected} == expected, "a title was changed or cut on the way in"


def load_text(target, text: str | bytes, name: str = "plan.yaml"):
    path = target.file(name, text)
    result = target.run("load", str(path), "--by", LEAD)
    assert "may not load or import into this plan" not in result.stderr, "the fuzz lost the lead role: " + result.stderr
    return result


# --- hypothesis ---------------------------------------------------------------------------------


def report(capsys, target, kind: str, outcomes: Counter) -> None:
    backend = "postgresql" if target.url.startswith("postgresql") else "sqlite"
    detail = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
    proved(capsys, f"[fuzz/yaml/{backend}] {kind}: {sum(outcomes.values())} cases ({detail}); "
                   "no traceback, no hang, no row changed by a refusal")  # fmt: skip


def outcome(result) -> str:
    return "loaded faithfully" if result.exit_code == 0 else "refused with exit 2"


def test_random_bytes_and_text(target, capsys):
    seen = Counter()

    @FUZZ
    @given(data=st.one_of(st.binary(max_size=3000), st.text(max_size=600).map(lambda t: t.encode("utf-8"))))
    def case(data):
        result = load_text(target, data)
        assert result.exit_code == 2
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "random bytes and text", seen)


def test_truncated_and_spliced_plan_files(target, capsys):
    seen = Counter()

    @FUZZ
    @given(cut=st.integers(min_value=0), insert=st.text(max_size=30), at=st.integers(min_value=0), drop=st.integers(0, 40))
    def case(cut, insert, at, drop):
        text = dump(BASE)
        text = text[: cut % (len(text) + 1)] if cut % 3 == 0 else text
        at %= len(text) + 1
        text = text[:at] + insert + text[at + drop :]
        result = load_text(target, text)
        if result.exit_code == 0:
            assert_faithful(target, text)
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "truncated and spliced plan files", seen)


def test_wrong_types_and_values_at_any_path(target, capsys):
    seen = Counter()

    @FUZZ
    @given(path=st.sampled_from(ALL_PATHS), value=WEIRD, delete=st.booleans())
    def case(path, value, delete):
        document = removed(BASE, path) if delete else replaced(BASE, path, value)
        text = dump(document)
        result = load_text(target, text)
        if result.exit_code == 0:
            assert_faithful(target, text)
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "wrong types and values at any path", seen)


MAGNITUDES = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.integers(min_value=2**53 - 2, max_value=2**53 + 2),
    st.integers(min_value=10**13 - 2, max_value=10**13 + 2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.sampled_from(["1e308", "-1e308", "10,000,000,000,000", "9" * 60, "1e-308"]),
)  # fmt: skip
NUMERIC_PATHS = [("budgets", 0, "budget"), ("budgets", 0, "received"), ("indicators", 0, "baseline", "value"),
                 ("indicators", 0, "targets", 0, "value")]  # fmt: skip


def test_numbers_at_every_magnitude_load_whole_or_are_refused_and_never_break_a_report(target, capsys):
    """Money and indicator values from 1e-308 to 400 digits: refused at load (exit 2, one line)
    or loaded so that check and the progress report still work (never exit 70)."""
    seen = Counter()

    @FUZZ
    @given(path=st.sampled_from(NUMERIC_PATHS), value=MAGNITUDES)
    def case(path, value):
        result = load_text(target, dump(replaced(BASE, path, value)))
        if result.exit_code == 2:
            problems = [line for line in result.stderr.splitlines() if "plan.yaml:" in line and "problem" not in line]
            assert len(problems) == 1, result.stderr
        else:
            for command in (("check", "--plan", "fuzz"), ("report", "progress", "--plan", "fuzz", "--format", "json")):
                target.run(*command, ok=(0, 1))
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "numbers at every magnitude in budgets and indicators", seen)


HOSTILE = st.one_of(
    st.text(min_size=1, max_size=200),
    st.sampled_from(["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@import", "\tTAB", "\rCR", "<script>alert(1)</script>",
                     "مرحبا بالعالم", "\u202eevil\u202c", "a\u0000b", "line\nbreak", "\x1b[31mred", "'quoted", "\ufeffbom",
                     "﷽" * 50, "x" * 5000]),
)  # fmt: skip


def test_hostile_text_is_stored_exactly_or_refused(target, capsys):
    seen = Counter()

    @FUZZ
    @given(titles=st.lists(HOSTILE, min_size=1, max_size=5), plan_title=HOSTILE)
    def case(titles, plan_title):
        assume(all(t.strip() for t in titles))
        document = copy.deepcopy(BASE)
        document["plan"]["title"] = plan_title
        document["activities"] = [{"code": f"9.{i}", "title": t, "description": t, "lead": t} for i, t in enumerate(titles)]
        text = dump(document)
        result = load_text(target, text)
        if result.exit_code == 0:
            assert_faithful(target, text)
        else:
            assert any("\x00" in t for t in [*titles, plan_title]), result.stderr
        seen[outcome(result)] += 1

    case()
    report(capsys, target, "hostile text (formulas, HTML, RTL, control characters, long)", seen)


# --- the classic attacks, each on its own -----------------------------------------------------------


LIFECYCLE = {"initial": "a", "states": ["a", "b"], "transitions": [{"trigger": "go", "source": "a", "dest": "b"}]}


def valid(**changes) -> str:
    document = copy.deepcopy(BASE)
    document["plan"].update(changes)
    return dump(document)


ATTACKS = {
    "empty file": "",
    "only whitespace": "  \n\n\t\n",
    "only a comment": "# nothing here\n",
    "a scalar": "just text\n",
    "a list": "- a\n- b\n",
    "two documents": valid() + "---\n" + valid(),
    "python object tag": "plan: !!python/object/apply:os.system ['touch PWNED']\n",
    "python name tag": "plan: !!python/name:os.system\n",
    "binary tag": valid().replace("title: Fuzz plan", "title: !!binary aGVsbG8="),
    "unknown tag": valid().replace("title: Fuzz plan", "title: !evil x"),
    "alias": "a: &x [1, 2]\nplan: *x\n",
    "merge key": "base: &b {slug: x}\nplan:\n  <<: *b\n  title: T\n",
    "billion laughs": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    + "plan: *i\n",
    "february 30": valid(start="2023-02-30"),
    "month 13": valid(end="2025-13-01"),
    "a date and time": valid(start="2022-01-01 10:00:00"),
    "year zero": valid(start="0000-01-01"),
    "duplicate key": valid().replace("  title: Fuzz plan\n", "  title: Fuzz plan\n  title: Other title\n"),
    "NUL in a title": valid().replace("title: Fuzz plan", 'title: "Fuzz\\0plan"'),
    "lone surrogate": valid().replace("title: Fuzz plan", 'title: "Fuzz \\ud800 plan"'),
    "infinite indicator": dump(replaced(BASE, ("indicators", 0, "targets", 0, "value"), float("inf"))),
    "NaN baseline": dump(replaced(BASE, ("indicators", 0, "baseline", "value"), float("nan"))),
    "infinity in free metadata": dump(replaced(BASE, ("plan", "about"), {"x": float("inf")})),
    "huge budget": dump(replaced(BASE, ("budgets", 0, "budget"), 10**30)),
    "huge budget text": dump(replaced(BASE, ("budgets", 0, "received"), "9" * 40)),
    "negative budget": dump(replaced(BASE, ("budgets", 0, "budget"), -5)),
    "long activity code": dump(replaced(BASE, ("activities", 0, "code"), "9." + "1" * 300)),
    "long period key": dump(replaced(replaced(BASE, ("periods", 1, "key"), "p" * 300), ("objectives", 0, "targets", 0, "period"), "p" * 300)),
    "long state name": dump({**BASE, "activities": [{"code": "2.1", "title": "x", "state": "s" * 60}],
                             "lifecycle": {"initial": "s" * 60, "states": ["s" * 60, "done"],
                                           "transitions": [{"trigger": "t" * 60, "source": "s" * 60, "dest": "done"}]}}),
    "long indicator target": dump(replaced(BASE, ("indicators", 0, "of"), "objective:" + "1" * 300)),
    "huge integer code": dump(replaced(BASE, ("activities", 0, "code"), 10**200)),
    "bool code": dump(replaced(BASE, ("activities", 0, "code"), True)),
    "float code": dump(replaced(BASE, ("activities", 0, "code"), 1.10)),
    "unknown section": valid() + "extras: {a: 1}\n",
    "binary in free metadata": valid().replace("  about:\n", "  about:\n    blob: !!binary aGVsbG8=\n"),
    "set in free metadata": valid().replace("  about:\n", "  about:\n    tags: !!set {a, b}\n"),
    "NUL in a metadata key": valid().replace("  about:\n", '  about:\n    "k\\0": 1\n'),
    "duplicate activity key": valid().replace("title: Loose action", "title: Loose action\n  title: Second title"),
    "utf-16 with BOM": valid().encode("utf-16"),
    "latin-1 text": valid().replace("Fuzz plan", "Plan café").encode("latin-1"),
    "invalid byte": valid().encode("utf-8").replace(b"Fuzz plan", b"Fuzz \xff plan"),
    "NUL bytes": valid().encode("utf-8") + b"\x00\x00",
    "tabs for indentation": valid().replace("  title", "\ttitle"),
    "over the size limit": "plan: {slug: big, title: T, start: 2022-01-01, end: 2022-12-31}\n# " + "x" * (16 * 1024 * 1024) + "\n",
    # storage limits and wrong-typed sections (issue 13, section 7): each one line, exit 2
    "money at the storage limit": dump(replaced(BASE, ("budgets", 0, "budget"), 10**13)),
    "money one unit above the limit": dump(replaced(BASE, ("budgets", 0, "budget"), 10**13 + 1)),
    "money cents above the limit": dump(replaced(BASE, ("budgets", 0, "received"), "10000000000000.01")),
    "money 23 digits on the command line's example": dump(replaced(BASE, ("budgets", 0, "received"), 99999999999999999999999)),
    "a plan whose budgets add up beyond storage": dump({**BASE, "units": [*BASE["units"], {"key": "tf", "name": "TF"}],
                                                        "budgets": [{"unit": u, "period": "y1", "budget": 6 * 10**12} for u in ("wg", "tf")]}),
    "a 400-digit indicator target": dump(replaced(BASE, ("indicators", 0, "targets", 0, "value"), int("9" * 400))),
    "a 1e308 baseline": dump(replaced(BASE, ("indicators", 0, "baseline", "value"), 1e308)),
    "lifecycle roles as a list": dump({**BASE, "activities": [], "lifecycle": {**LIFECYCLE, "roles": ["lead"]}}),
    "lifecycle final as a number": dump({**BASE, "activities": [], "lifecycle": {**LIFECYCLE, "final": 5}}),
    "lifecycle iati_status as text": dump({**BASE, "activities": [], "lifecycle": {**LIFECYCLE, "iati_status": "abc"}}),
    "lifecycle iati_status out of the code list": dump({**BASE, "activities": [], "lifecycle": {**LIFECYCLE, "iati_status": {"a": 99}}}),
    "lifecycle states as numbers": dump({**BASE, "activities": [], "lifecycle": {**LIFECYCLE, "states": [1, "b"]}}),
    "a rule setting of 1e308 days": dump(replaced(BASE, ("rules",), {"config": {"T103": {"days": 1e308}}})),
    "a rule threshold that is text": dump(replaced(BASE, ("rules",), {"config": {"F301": {"threshold": "abc"}}})),
    "objectives naming an unknown one": dump(replaced(BASE, ("activities", 0), {"code": "2.1", "title": "x", "objectives": ["1", "9"]})),
    "a workbook saved as .yaml": b"PK\x03\x04" + b"\x00" * 200,
}  # fmt: skip


def test_adversarial_plan_files(target, capsys):
    seen = Counter()
    for name, text in ATTACKS.items():
        try:
            result = load_text(target, text)
            if result.exit_code == 0:
                assert_faithful(target, text if isinstance(text, str) else text.decode("utf-8-sig"))
        except AssertionError as exc:
            raise AssertionError(f"attack {name!r}: {exc}") from None
        assert not (target.workdir / "PWNED").exists() and not os.path.exists("PWNED"), name
        seen[outcome(result)] += 1
    report(capsys, target, "adversarial plan files (tags, aliases, bad dates, NUL, huge numbers, encodings)", seen)


# What each storage-limit and wrong-type attack must say (one problem line; the first loads).
LIMITS = {
    "money at the storage limit": None,
    "money one unit above the limit": "budgets[0].budget: an amount is at most 10,000,000,000,000",
    "money cents above the limit": "budgets[0].received: an amount is at most 10,000,000,000,000",
    "money 23 digits on the command line's example": "budgets[0].received: an amount is at most",
    "a plan whose budgets add up beyond storage": "budgets: the budget amounts add up to 12,000,000,000,000",
    "a 400-digit indicator target": "indicators[0].targets[0].value: expected a number of at most 9,007,199,254,740,992",
    "a 1e308 baseline": "indicators[0].baseline.value: expected a number of at most",
    "lifecycle roles as a list": "lifecycle.roles: expected a mapping, got a list",
    "lifecycle final as a number": "lifecycle.final: expected a list, got 5",
    "lifecycle iati_status as text": "lifecycle.iati_status: expected a mapping, got 'abc'",
    "lifecycle iati_status out of the code list": "lifecycle.iati_status.a: expected a number less than or equal to 6",
    "lifecycle states as numbers": "lifecycle.states[0]: expected text, got 1",
    "a rule setting of 1e308 days": "rules.config.T103.days:",
    "a rule threshold that is text": "rules.config.F301.threshold: expected a number, got 'abc'",
    "objectives naming an unknown one": "activities[0].objectives[1]: unknown objective '9'",
    "a workbook saved as .yaml": "is a spreadsheet; `cpflow load` reads YAML plan files: use `cpflow import",
}


@pytest.mark.parametrize("name", list(LIMITS))
def test_values_beyond_storage_and_wrong_typed_sections_are_one_line_each(target, name):
    result = load_text(target, ATTACKS[name])
    if LIMITS[name] is None:
        assert result.exit_code == 0, result.output
        for command in (("check", "--plan", "fuzz"), ("report", "progress", "--plan", "fuzz", "--format", "json")):
            target.run(*command, ok=(0, 1))
        return
    assert result.exit_code == 2, result.output
    problems = [line for line in result.stderr.splitlines() if "plan.yaml" in line and "nothing was written" not in line]
    assert len(problems) == 1 and LIMITS[name] in problems[0], result.stderr


def test_a_huge_cell_is_stored_whole(target):
    title = ("Ação humanitária — " * 60_000)[:1_000_000]
    document = copy.deepcopy(BASE)
    document["activities"][0]["title"] = title
    text = dump(document)
    result = load_text(target, text)
    assert result.exit_code == 0, result.output
    assert_faithful(target, text)


# --- attacks on the parser itself run in a child process: a crash there must not hide ----------------

NESTING = {
    "flow lists": lambda n: "[" * n + "]" * n,
    "flow maps": lambda n: "{a: " * n + "1" + "}" * n,
    "block lists": lambda n: "- " * n + "x",
    "nested under plan": lambda n: "plan:\n  about: " + "[" * n + "]" * n,
    "unclosed": lambda n: "[" * n,
}

CHILD = textwrap.dedent(
    """
    import sys
    from cpflow.cli import main
    for path in sys.argv[2:]:
        try:
            main(["--db", sys.argv[1], "load", path, "--by", "fuzzer"])
            code = 0
        except SystemExit as exc:
            code = exc.code
        print(code, path, flush=True)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (pytest).
    peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print("peak-kb", peak, flush=True)
    """
)


def run_child(url: str, paths: list, limit_s: float = 120):
    """Load each file in one child process; return (exit code, stdout, stderr, peak memory in MB).
    A crash of the parser kills the child, which the exit code shows (a negative signal number)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url, *map(str, paths)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "CPFLOW_PLUGINS": "none"}, text=True)  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the loads of {[p.name for p in paths]} hung")
    lines = stdout.splitlines()
    peak_mb = int(lines.pop().split()[1]) / 1024 if lines and lines[-1].startswith("peak-kb") else float("inf")
    return proc.returncode, "\n".join(lines), stderr, peak_mb


def test_deep_nesting_cannot_crash_the_process(target, capsys):
    files = [target.file(f"deep-{shape.replace(' ', '-')}-{depth}.yaml", make(depth))
             for shape, make in NESTING.items() for depth in (1_000, 100_000, 2_000_000)]  # fmt: skip
    before = target.snapshot()
    code, stdout, stderr, _ = run_child(target.url, files)
    assert code == 0, f"the child process died with {code} after: {stdout}\n{stderr[-1500:]}"
    codes = [line.split(" ", 1) for line in stdout.splitlines()]
    assert [c for c, _ in codes] == ["2"] * len(files), stdout
    assert stderr.count("error: ") == len(files) and "Traceback" not in stderr, stderr[-3000:]
    assert target.snapshot() == before
    report(capsys, target, "deep nesting up to 2,000,000 levels (C loader)", Counter({"refused with exit 2": len(files)}))


def test_alias_bomb_is_refused_in_bounded_memory_and_time(target, capsys):
    path = target.file("bomb.yaml", ATTACKS["billion laughs"])
    started = time.monotonic()
    code, stdout, stderr, peak_mb = run_child(target.url, [path], limit_s=60)
    assert code == 0 and stdout.startswith("2 ") and "aliases" in stderr, stderr
    assert peak_mb < 512, f"peak memory {peak_mb:.0f} MB"
    report(
        capsys,
        target,
        f"billion-laughs alias bomb (387 million nodes if expanded): refused in {time.monotonic() - started:.1f}s, "
        f"peak memory {peak_mb:.0f} MB",
        Counter({"refused with exit 2": 1}),
    )
