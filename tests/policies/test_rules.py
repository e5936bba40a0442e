"""The designer's rules policy."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.errors import RulesFileError
from outcome_gym.policies import make
from outcome_gym.policies.rules import load_rules
from outcome_gym.runner import run
from tests.conftest import FIXTURES

RULES = FIXTURES / "tiny_rules.yaml"


def test_rules_fire_only_when_conditions_hold(tiny):
    res = run(tiny, "rules", 0, policy_params={"rules": str(RULES)})
    steps = res.steps
    alert_col = "delivered"
    saver = steps[steps["segment"] == "saver"]
    # the spend alert goes out on tue/wed evenings only (plus the scheduled Sunday one)
    extra = saver[(saver["slot"] == 2) & saver["weekday"].isin([1, 2])][alert_col].sum()
    assert extra > 0
    # once per 7 days: at most one rule alert per saver per week (2 weeks) + schedule
    static = run(tiny, "static", 0)
    diff = (res.steps["delivered"].sum() - static.steps["delivered"].sum())
    assert 0 < diff <= 2 * 80


def test_rules_unknown_ids_are_refused_with_key_path_and_closest_id(tiny):
    bad = {"rules": [{"id": "x", "when": {"segments": ["savers"]}, "then": {"notify": []}}]}
    with pytest.raises(RulesFileError, match=r"rules\[0\].when.segments\[0\]: expected a segment "
                                             r"id, got 'savers' .*did you mean 'saver'"):
        run(tiny, make("rules", rules=bad), 0)
    bad = {"rules": [{"id": "y", "then": {"notify": ["feed"]}}]}
    with pytest.raises(RulesFileError, match="expected a notification or alert id, got 'feed'"):
        run(tiny, make("rules", rules=bad), 0)
    bad = {"rules": [{"id": "z", "when": {"event_within_days": {"event": "work.failed",
                                                                "days": 1}}, "then": {}}]}
    with pytest.raises(RulesFileError, match="the product sees only these"):
        run(tiny, make("rules", rules=bad), 0)


def test_every_problem_of_a_rules_file_is_found_before_any_run_with_its_line(tiny, tmp_path):
    from outcome_gym.policies.rules import read_rules, rules_problems

    p = tmp_path / "r.yaml"
    p.write_text("rules:\n"
                 "  - id: a\n"
                 "    when: {slots: [evenin], segments: [saver]}\n"
                 "    then:\n"
                 "      promote: tasks_list\n"       # core: would be undone every step
                 "  - id: b\n"
                 "    then: {layout: [lesson, fed], notify: [spend_alert]}\n")
    spec, file, lines = read_rules(p)
    got = [str(x) for x in rules_problems(spec, tiny, file, lines)]
    assert got == [
        f"{p}:3: rules[0].when.slots[0]: expected a slot name, got 'evenin' (one of: morning, "
        "afternoon, evening, night) (did you mean 'evening'?)",
        f"{p}:5: rules[0].then.promote: expected a non-core element, got core element "
        "'tasks_list': the rules reorder only the non-core positions and guardrails.lock_core "
        "keeps core elements in place, so this would be undone on every step (non-core "
        "elements: budget_view, lesson, feed, badges)",
        f"{p}:7: rules[1].then.layout[1]: expected a non-core element of the layout, got 'fed' "
        "(one of: budget_view, lesson, feed, badges) (did you mean 'feed'?)",
    ]


def test_a_planned_run_carries_the_rules_content_so_its_id_follows_the_file(tiny, tmp_path):
    from outcome_gym.policies.spec import PolicySpec
    from outcome_gym.sweeps import RunTask

    rules = tmp_path / "r.yaml"
    rules.write_text(RULES.read_text())
    spec = PolicySpec(policy="rules", params={"rules": str(rules)})
    task = RunTask.make(tiny, spec, 0)
    assert task.params["rules"] == load_rules(RULES).model_dump(mode="json")
    rules.write_text(RULES.read_text().replace("once_per_days: 7", "once_per_days: 3"))
    assert RunTask.make(tiny, spec, 0).run_id != task.run_id
    # a relative path is the naming file's folder's and may not leave it
    inside = PolicySpec(policy="rules", params={"rules": "r.yaml"})
    assert RunTask.make(tiny, inside, 0, base_dir=tmp_path).params == \
        RunTask.make(tiny, spec, 0).params
    outside = PolicySpec(policy="rules", params={"rules": "../r.yaml"})
    with pytest.raises(RulesFileError, match=r"expected a rules file inside .* may not leave"):
        RunTask.make(tiny, outside, 0, base_dir=tmp_path / "sub")


def test_rules_file_validation_names_key(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("rules:\n  - id: a\n    then: {notfy: [x]}\n")
    with pytest.raises(RulesFileError, match=r"r.yaml:3: rules\[0\].then.notfy: unknown key"):
        load_rules(p)


def test_unreadable_rules_file_is_a_rules_file_error(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(RulesFileError, match=r"missing.yaml: file not found") as info:
        load_rules(missing)
    assert [p.file for p in info.value.problems] == [str(missing)]
    (tmp_path / "bad.yaml").write_text("rules: [\n")
    with pytest.raises(RulesFileError, match="expected valid YAML"):
        load_rules(tmp_path / "bad.yaml")


def test_promote_layout_applies_to_matching_users(tiny):
    rules = {"rules": [{"id": "p", "when": {"segments": ["worker"]},
                        "then": {"promote": "lesson"}}]}
    res = run(tiny, make("rules", rules=rules), 0)
    w = res.summary.segments["worker"].fragmentation.layout_distance_mean
    s = res.summary.segments["saver"].fragmentation.layout_distance_mean
    assert w > 0 and s == 0.0
    assert np.isclose(w, 2 / 12)  # lesson moved up one: 2 non-core positions differ (weights 1)


def test_validate_checks_a_rules_file_against_a_scenario(tmp_path):
    from typer.testing import CliRunner

    from outcome_gym.cli import app
    from tests.conftest import TINY

    p = tmp_path / "r.yaml"
    p.write_text(RULES.read_text().replace("promote: budget_view", "promote: home"))
    alone = CliRunner().invoke(app, ["validate", str(p)])
    assert alone.exit_code == 0 and "give --scenario to check its ids" in alone.stdout
    res = CliRunner().invoke(app, ["validate", str(p), "--scenario", str(TINY)])
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0].startswith(
        f"{p}:19: rules[1].then.promote: expected a non-core element, got core element 'home'")
    ok = CliRunner().invoke(app, ["validate", str(RULES), "--scenario", str(TINY)])
    assert ok.exit_code == 0 and "checked against tiny" in ok.stdout
