"""scenario/overrides.py: the one place a scenario is changed by path=value."""

from __future__ import annotations

import pytest

from outcome_gym.errors import ScenarioValidationError
from outcome_gym.scenario.overrides import KeyPathError, set_key, size_overrides, with_overrides


def test_keys_address_mappings_indices_and_ids(tiny):
    sc = with_overrides(tiny, {"population.size": 30, "population.segments.worker.share": 0.5,
                               "population.segments.1.share": 0.5,
                               "product.elements.budget_view.appeal": 0.7})
    assert sc.population.size == 30
    assert [s.share for s in sc.population.segments] == [0.5, 0.5]
    assert next(e for e in sc.product.elements if e.id == "budget_view").appeal == 0.7
    assert tiny.population.size == 200  # the original is untouched


def test_nothing_to_override_returns_the_same_object(tiny):
    assert with_overrides(tiny, {}) is tiny
    assert with_overrides(tiny, size_overrides(None, None)) is tiny
    assert size_overrides(10, 3) == {"population.size": 10, "clock.horizon_days": 3}


def test_a_missing_id_suggests_the_closest():
    data = {"segments": [{"id": "worker"}, {"id": "saver"}]}
    with pytest.raises(KeyPathError, match=r"no item with id 'workr'.*did you mean 'worker'"):
        set_key(data, ("segments", "workr", "share"), 1)
    with pytest.raises(KeyPathError, match="index 5 is out of range"):
        set_key(data, ("segments", "5"), 1)


def test_a_bad_override_is_reported_like_a_bad_file(tiny):
    with pytest.raises(ScenarioValidationError, match=r"<mine>: population.segments.workr.share"):
        with_overrides(tiny, [("population.segments.workr.share", 1.0)], file="<mine>")
    with pytest.raises(ScenarioValidationError, match=r"population.sise.*did you mean 'size'"):
        with_overrides(tiny, {"population.sise": 10})
