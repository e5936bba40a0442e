"""Facts 7 and 8 at the mechanism level (``studies.mechanisms``), fast version.

Ranges over 20 seed sets of the fast version (first seeds 0, 100, ..., 1900; 4 seeds x 4,000
users): median days to 95% of plateau 65.5 .. 67.5, 95th percentile 188 .. 194, largest day-84
change from one missed day 0.70%; CTR at position 1 0.384 .. 0.396, at position 5 0.067 .. 0.085.
"""

from __future__ import annotations

from outcome_gym.studies import study_module
from tests.studies import STUDIES_DIR

mechanisms = study_module("mechanisms", STUDIES_DIR)


def test_fast_facts_within_the_seed_spread():
    res = mechanisms.run(mechanisms.Params(**mechanisms.FAST))
    habit, position = res.facts
    assert habit.status == "pass" and position.status == "pass"
    assert 62 <= habit.values["median"] <= 71
    assert 175 <= habit.values["p95"] <= 205
    assert habit.values["miss_max"] < 0.02
    assert 0.36 <= position.values["ctr_first"] <= 0.42
    assert 0.05 <= position.values["ctr_last"] <= 0.10
    assert list(res.tables["ctr_by_position"]["position"]) == [1, 2, 3, 4, 5]


