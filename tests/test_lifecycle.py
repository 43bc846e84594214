"""Moves through the lifecycle, on SQLite and PostgreSQL, through the CLI."""

import json

import pytest

A = "mini:1.1"


@pytest.fixture
def loaded(cpflow, mini_plan):
    assert cpflow("load", str(mini_plan), "--by", "lead").exit_code == 0
    return cpflow


def events_of(cpflow, ident=A):
    result = cpflow("history", ident, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def state_of(cpflow, ident=A, *extra):
    rows = json.loads(cpflow("activities", "--plan", ident.split(":")[0], "--format", "json", *extra).stdout)
    return {r["id"]: r["state"] for r in rows}.get(ident)


def test_lead_endorses_starts_and_completes_an_action(loaded):
    for trigger, at in (("endorse", "2022-05-12"), ("start", "2022-06-01"), ("complete", "2023-03-31")):
        result = loaded("move", A, trigger, "--by", "CPMS WG co-lead", "--at", at, "--ref", "minutes")
        assert result.exit_code == 0, result.output
    assert state_of(loaded) == "completed"
    history = events_of(loaded)
    assert [(e["trigger"], e["from"], e["to"], e["at"]) for e in history] == [
        ("endorse", "proposed", "endorsed", "2022-05-12"),
        ("start", "endorsed", "in_progress", "2022-06-01"),
        ("complete", "in_progress", "completed", "2023-03-31"),
    ]
    assert {"trigger", "from", "to", "actor", "at", "recorded_at", "reason", "ref"} <= set(history[0])
    assert history[0]["actor"] == "CPMS WG co-lead" and history[0]["recorded_at"].endswith("Z")


def test_illegal_move_names_the_allowed_triggers_and_changes_nothing(loaded):
    result = loaded("move", A, "complete", "--by", "lead")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: mini:1.1 is proposed: cannot complete; allowed from proposed: endorse, drop"
    ]
    assert "Traceback" not in result.output
    assert events_of(loaded) == []
    assert state_of(loaded) == "proposed"


@pytest.mark.parametrize(
    "args, message",
    [
        (("mini:9.9", "endorse", "--by", "x"), "unknown activity mini:9.9"),
        (("nope:1.1", "endorse", "--by", "x"), "unknown plan 'nope'"),
        (("mini", "endorse", "--by", "x"), "expected PLAN:CODE"),
        ((A, "approve", "--by", "x"), "unknown trigger 'approve'"),
        ((A, "drop", "--by", "x"), "drop needs a reason"),
        ((A, "endorse", "--by", "  "), "an actor is required"),
        ((A, "endorse", "--by", "x", "--at", "2999-01-01"), "is in the future"),
        ((A, "endorse", "--by", "x", "--at", "2023-02-30"), "'2023-02-30' is not a real date"),
        ((A, "endorse", "--by", "x", "--at", "last tuesday"), "expected a date (YYYY-MM-DD)"),
        ((A, "endorse", "--by", "x", "--at", "2021-12-31"), "before the plan starts"),
    ],
)
def test_bad_moves_are_refused_with_one_line_and_exit_2(loaded, args, message):
    result = loaded("move", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert events_of(loaded) == []


def test_reasons_are_required_for_drop_reopen_and_reinstate(loaded):
    assert loaded("move", A, "drop", "--by", "lead").exit_code == 2
    assert loaded("move", A, "drop", "--by", "lead", "--reason", "merged into 1.2", "--at", "2022-03-01").exit_code == 0
    assert loaded("move", A, "reinstate", "--by", "lead", "--at", "2022-04-01").exit_code == 2
    result = loaded("move", A, "reinstate", "--by", "lead", "--reason", "split again", "--at", "2022-04-01")
    assert result.exit_code == 0, result.output
    assert [e["reason"] for e in events_of(loaded)] == ["merged into 1.2", "split again"]


def test_a_move_dated_before_the_last_one_is_refused(loaded):
    assert loaded("move", A, "endorse", "--by", "lead", "--at", "2022-06-01").exit_code == 0
    result = loaded("move", A, "start", "--by", "lead", "--at", "2022-05-01")
    assert result.exit_code == 2
    assert "before its last move on 2022-06-01" in result.stderr
    assert len(events_of(loaded)) == 1


def test_backdated_move_shows_in_as_of_listing_from_that_date_only(loaded):
    assert loaded("move", A, "endorse", "--by", "lead", "--at", "2022-05-12").exit_code == 0
    assert state_of(loaded, A, "--as-of", "2022-05-11") == "proposed"
    assert state_of(loaded, A, "--as-of", "2022-05-12") == "endorsed"
    assert state_of(loaded, A) == "endorsed"


def test_activities_exist_from_the_plan_start_not_from_loading(loaded):
    before = json.loads(loaded("activities", "--as-of", "2021-12-31", "--format", "json").stdout)
    assert before == []
    at_start = json.loads(loaded("activities", "--as-of", "2022-01-01", "--format", "json").stdout)
    assert {r["id"]: r["state"] for r in at_start} == {"mini:1.1": "proposed", "mini:1.2": "proposed", "mini:1.3": "proposed"}


def test_stale_version_is_a_conflict_with_its_own_exit_code(loaded):
    shown = json.loads(loaded("show", A, "--format", "json").stdout)
    assert loaded("move", A, "endorse", "--by", "lead", "--expect-version", str(shown["version"])).exit_code == 0
    result = loaded("move", A, "start", "--by", "lead", "--expect-version", str(shown["version"]))
    assert result.exit_code == 3
    assert "changed since you read it" in result.stderr
    assert len(events_of(loaded)) == 1


def test_listings_have_stable_json_keys_and_csv(loaded):
    rows = json.loads(loaded("activities", "--format", "json").stdout)
    assert {"id", "plan", "code", "title", "state", "objective", "unit", "phase", "due", "sectors"} <= set(rows[0])
    assert rows[0]["id"] == "mini:1.1" and rows[0]["unit"] == "wg"
    csv_text = loaded("activities", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("id,plan,code,title")
    plans = json.loads(loaded("plans", "--format", "json").stdout)
    assert plans[0]["slug"] == "mini" and plans[0]["activities"] == 3


def test_state_filters_and_unknown_state(loaded):
    loaded("move", A, "endorse", "--by", "lead")
    rows = json.loads(loaded("activities", "--state", "endorsed", "--format", "json").stdout)
    assert [r["id"] for r in rows] == [A]
    result = loaded("activities", "--state", "finished")
    assert result.exit_code == 2 and "unknown state 'finished'" in result.stderr


def test_show_lists_the_moves_allowed_now(loaded):
    record = json.loads(loaded("show", A, "--format", "json").stdout)
    assert record["state"] == "proposed" and record["allowed"] == ["endorse", "drop"]
    assert record["lead"] == "Lead agency"


CUSTOM = """\
lifecycle:
  initial: idea
  states: [idea, doing, on_hold, done]
  final: [done]
  transitions:
    - {trigger: begin, source: [idea, on_hold], dest: doing}
    - {trigger: hold, source: doing, dest: on_hold}
    - {trigger: finish, source: doing, dest: done}
"""


@pytest.mark.parametrize("extra, message", [
    ("  roles: [lead]\n", "roles"),
    ("  iati_status: abc\n", "iati_status"),
    ("  iati_status: {idea: 9}\n", "iati_status"),
    ("  tags: {doing: [busy]}\n", "tags"),
    ("  tags: {nowhere: [active]}\n", "tags"),
])  # fmt: skip
def test_lifecycle_values_of_the_wrong_type_are_one_line_exit_2(cpflow, mini_plan, extra, message):
    mini_plan.write_text(mini_plan.read_text(encoding="utf-8") + CUSTOM + extra, encoding="utf-8")
    result = cpflow("load", str(mini_plan), "--by", "lead")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output and "internal error" not in result.output


def test_final_of_the_wrong_type_is_one_line_exit_2(cpflow, mini_plan):
    mini_plan.write_text(mini_plan.read_text(encoding="utf-8") + CUSTOM.replace("final: [done]", "final: 5"), encoding="utf-8")
    result = cpflow("load", str(mini_plan), "--by", "lead")
    assert result.exit_code == 2 and "final" in result.stderr and "internal error" not in result.output


def test_definition_problems_name_each_wrongly_typed_value():
    from cpflow.lifecycle import definition_problems

    definition = {"initial": "a", "states": ["a", "b"], "final": 5, "roles": ["lead"], "iati_status": "abc",
                  "tags": {"b": "final"}, "transitions": [{"trigger": "go", "source": "a", "dest": "b"}]}  # fmt: skip
    assert definition_problems(definition) == [
        "final: expected a list of state names, got 5",
        "tags.b: expected a list of tags, got 'final'",
        "iati_status: expected a mapping of state to an IATI ActivityStatus code, got 'abc'",
        "roles: expected a mapping of trigger to a list of roles, got ['lead']",
    ]


def test_a_lifecycle_exposes_its_tags_iati_status_and_triggers():
    import yaml

    from cpflow.lifecycle import lifecycle_for

    default = lifecycle_for(None)
    assert default.tagged("final") == ("completed", "dropped") == default.final
    assert default.tagged("cancelled") == ("dropped",) and default.tagged("active") == ("in_progress",)
    assert default.iati_status == {"proposed": 1, "endorsed": 1, "in_progress": 2, "completed": 3, "dropped": 5}
    assert default.triggers == ("endorse", "start", "complete", "drop", "reopen", "reinstate")
    own = lifecycle_for(yaml.safe_load(CUSTOM + "  tags: {doing: [active], on_hold: [paused], done: [done]}\n")["lifecycle"])
    assert own.tags == {"idea": ("initial",), "doing": ("active",), "on_hold": ("paused",), "done": ("done", "final")}
    # Without tags, a lifecycle takes the default's for the states it shares with it.
    shared = lifecycle_for({"initial": "proposed", "states": ["proposed", "dropped"], "final": ["dropped"],
                            "transitions": [{"trigger": "drop", "source": "proposed", "dest": "dropped"}]})  # fmt: skip
    assert shared.tags == {"proposed": ("initial",), "dropped": ("cancelled", "final")}
