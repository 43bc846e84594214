"""What type-checking the engine found: a minimum or maximum declared on a text or list setting is a declaration problem, not a crash."""

from cpflow.rules import Option, Rule
from cpflow.rules.engine import RuleRegistry
from cpflow.testing import plugins_with


class TextWithBound(Rule):
    code = "X950"
    title = "A text setting declared with a minimum"
    description = "Declares `minimum` on a setting whose default is text."
    options = {"kind": Option("year", "kind of period", minimum=1)}

    def check(self, ctx):
        return []


def test_a_bound_on_a_text_setting_does_not_crash_parsing():
    # Before: '<' not supported between 'str' and 'int' (a TypeError, so `check --set` exited 70).
    assert TextWithBound.options["kind"].parse("quarter") == "quarter"


def test_a_bound_on_a_text_setting_is_reported_when_the_rule_registers():
    assert TextWithBound().problems() == ["setting kind: minimum and maximum apply to number settings only"]
    registry = RuleRegistry.from_plugins(plugins_with(TextWithBound()))
    assert "X950" not in registry.rules
    assert [error for _, error in registry.problems] == [
        "rule 'X950' skipped: setting kind: minimum and maximum apply to number settings only"
    ]
