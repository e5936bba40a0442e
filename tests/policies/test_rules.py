"""The designer's rules policy."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.errors import PolicyError, RulesFileError
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


def test_rules_unknown_ids_are_policy_errors(tiny):
    bad = {"rules": [{"id": "x", "when": {"segments": ["savers"]}, "then": {"notify": []}}]}
    with pytest.raises(PolicyError, match="rule 'x': expected a segment id, got 'savers'"):
        run(tiny, make("rules", rules=bad), 0)
    bad = {"rules": [{"id": "y", "then": {"notify": ["feed"]}}]}
    with pytest.raises(PolicyError, match="expected a notification or alert id, got 'feed'"):
        run(tiny, make("rules", rules=bad), 0)
    bad = {"rules": [{"id": "z", "when": {"event_within_days": {"event": "work.failed",
                                                                "days": 1}}, "then": {}}]}
    with pytest.raises(PolicyError, match="not instrumented"):
        run(tiny, make("rules", rules=bad), 0)


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
