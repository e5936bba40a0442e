"""Elements generated at a chosen appeal-value correlation (scenario/generate.py)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from outcome_gym.errors import ScenarioError
from outcome_gym.runner import scenario_to_dict
from outcome_gym.scenario import load_scenario, parse_scenario, validate_scenario
from outcome_gym.scenario.generate import (
    GeneratedElements,
    appeal_value_correlation,
    generate_elements,
)
from outcome_gym.scenario.overrides import with_overrides

TEXT = """
name: gen_world
clock: {horizon_days: 7, slots_per_day: 4}
product:
  generate: {n: 6, correlation: CORR, seed: 5, goals: [work, learn]}
  channels: [{id: push}]
  elements:
    - {id: ping, kind: notification, appeal: 0.5, attention_cost: 0.3, channel: push}
population:
  size: 50
  segments:
    - id: all
      share: 1.0
      goals: [work, learn]
      attention_budget: 20
      availability: {slot: [0.5, 0.5, 0.5, 0.2]}
goals:
  - {kind: tasks, id: work}
  - {kind: practice, id: learn}
"""


def _world(corr: float = 0.0, text: str = TEXT):
    return parse_scenario(text.replace("CORR", str(corr)), file="g.yaml")


@pytest.mark.parametrize("corr", [-0.8, -0.4, 0.0, 0.4, 0.8])
def test_generated_elements_have_exactly_the_chosen_correlation(corr):
    sc = _world(corr)
    # values are rounded to 6 places
    assert appeal_value_correlation(sc.product.elements) == pytest.approx(corr, abs=1e-5)
    # generated after the hand-written ones; the default layout is the generated elements
    assert [e.id for e in sc.product.elements] == ["ping", *[f"gen{i}" for i in range(6)]]
    assert sc.product.layout.default == [f"gen{i}" for i in range(6)]
    # goals served in turn: gen0 work, gen1 learn, ...
    assert list(sc.product.elements[2].value) == ["learn"]


def test_generation_is_deterministic_in_its_own_seed():
    spec = GeneratedElements(n=8, correlation=0.3, seed=11, goals=["g"])
    assert generate_elements(spec) == generate_elements(spec)
    other = generate_elements(spec.model_copy(update={"seed": 12}))
    assert other != generate_elements(spec)
    # the scenario dumped into a run's manifest (block and elements) loads to the same world
    sc = _world(0.3)
    again = validate_scenario(yaml.safe_load(yaml.safe_dump(scenario_to_dict(sc))))
    assert again == sc and len(again.product.elements) == 7


@pytest.mark.parametrize("corr", [-0.8, 0.0, 0.8])
def test_a_sweep_can_override_the_correlation(corr):
    sc = with_overrides(_world(0.3), [("product.generate.correlation", corr)])
    assert appeal_value_correlation(sc.product.elements) == pytest.approx(corr, abs=1e-5)
    assert [e.id for e in sc.product.elements] == ["ping", *[f"gen{i}" for i in range(6)]]


def test_generated_elements_are_validated_like_written_ones():
    with pytest.raises(ScenarioError) as info:
        _world(0.0, TEXT.replace("goals: [work, learn]}", "goals: [work, lern]}"))
    assert any("product.elements" in p.path and "did you mean 'learn'" in str(p)
               for p in info.value.problems)
    with pytest.raises(ScenarioError) as info:
        _world(1.5)
    (problem,) = info.value.problems
    assert problem.path == "product.generate" and "correlation" in problem.message
    assert "1.5" in problem.message and problem.line == 5


def test_bundled_worlds_report_their_correlation():
    # Pearson over the laid-out elements (issue #14: -0.74 / -0.72 / -0.63)
    got = [appeal_value_correlation(load_scenario(name).product.elements)
           for name in ("productivity_tool", "finance_alerts", "learning_habits")]
    assert np.round(got, 2).tolist() == [-0.74, -0.72, -0.63]
