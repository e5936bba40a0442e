"""The scenario language: schema, strict loading, cross-checks, JSON Schema export."""

from outcome_gym.scenario.loading import (
    bundled_scenarios,
    dump_scenario,
    load_scenario,
    parse_scenario,
    scenario_hash,
    scenario_json_schema,
    scenario_to_dict,
    validate_scenario,
)
from outcome_gym.scenario.schema import Scenario, primary_outcomes

__all__ = [
    "Scenario",
    "bundled_scenarios",
    "dump_scenario",
    "load_scenario",
    "parse_scenario",
    "primary_outcomes",
    "scenario_hash",
    "scenario_json_schema",
    "scenario_to_dict",
    "validate_scenario",
]
