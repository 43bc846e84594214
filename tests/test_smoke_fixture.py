def test_mini_plan_loads_on_every_backend(cpflow, mini_plan):
    result = cpflow("load", str(mini_plan), "--by", "lead")
    assert result.exit_code == 0, result.output
    assert "mini: loaded 3 activities" in result.stdout
