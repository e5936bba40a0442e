"""Scenarios that validate but are degenerate run and give well-defined tables (never NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.runner import run
from tests.conftest import variant


def _finite(result):
    num = result.steps.select_dtypes("number")
    assert np.isfinite(num.to_numpy()).all()
    unum = result.users.select_dtypes("number")
    assert np.isfinite(unum.to_numpy()).all()

    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, float):
            assert np.isfinite(o)

    walk(result.summary.as_dict())


CASES = {
    "zero_attention": {"population.segments.0.attention_budget": 0.0,
                       "population.segments.1.attention_budget": 0.0},
    "segment_share_zero": {"population.segments.0.share": 0.0,
                           "population.segments.1.share": 1.0},
    "one_slot_horizon": {"clock.horizon_steps": 1},
    "population_of_one": {"population.size": 1},
    "nobody_available": {"population.segments.0.availability.slot": [0.0, 0.0, 0.0, 0.0],
                         "population.segments.1.availability.slot": [0.0, 0.0, 0.0, 0.0]},
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("policy", ["static", "random"])
def test_degenerate_runs_are_finite(tiny, name, policy):
    sc = variant(tiny, **CASES[name])
    result = run(sc, policy, 0)
    _finite(result)
    assert len(result.steps) == sc.clock.n_steps * len(sc.population.segments)


def test_one_element_layout(tiny):
    data = {"product.layout.default": ["home"], "product.elements.1.core": False}
    sc = variant(tiny, **data)
    result = run(sc, "random", 0)
    _finite(result)
    assert result.summary.segments["worker"].fragmentation.layout_distance_mean == 0.0


def test_zero_attention_means_no_engagement(tiny):
    sc = variant(tiny, **CASES["zero_attention"])
    result = run(sc, "static", 0)
    assert result.steps["clicks"].sum() == 0
    assert result.steps["goal_progress"].sum() == 0
    assert result.steps["opens"].sum() == 0 and result.steps["sessions"].sum() == 0
