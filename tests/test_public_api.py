"""The public API is explicit (``__all__``) and pinned: removing a name is a breaking change."""

from __future__ import annotations

import outcome_gym
import outcome_gym.policies
import outcome_gym.scenario

EXPECTED = {
    "outcome_gym": {"OutcomeGymError", "Scenario", "__version__", "check_policy", "compare",
                    "load_scenario", "make_policy", "run"},
    "outcome_gym.scenario": {"Scenario", "bundled_scenarios", "dump_scenario", "load_scenario",
                             "parse_scenario", "scenario_hash", "scenario_json_schema",
                             "scenario_to_dict", "validate_scenario"},
}


def test_exported_members():
    for module in (outcome_gym, outcome_gym.scenario):
        assert set(module.__all__) == EXPECTED[module.__name__]
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_policies_export_the_builtins():
    for name in ("Policy", "BasePolicy", "StaticPolicy", "RandomPolicy", "make", "names",
                 "register", "EpsilonGreedyPolicy", "ThompsonPolicy", "LinUCBPolicy"):
        assert name in outcome_gym.policies.__all__
