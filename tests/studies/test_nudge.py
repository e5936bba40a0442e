"""The nudge study (fact 7's "a nudge moves habitual users less"), its parts by hand and its fast
version as a statistical test.

The fast version (``nudge.FAST``: learning_habits, 1,000 users, 56 days, nudge from day 28, 4
seeds) on 6 other seed sets (``first_seed`` 1000, 1010, ..., 1050: ``python experiments/bounds.py
nudge --sets 6``), min .. max:

* mean app habit at day 28 by third: 0.22 .. 0.23, 0.47 .. 0.48, 0.76 .. 0.78;
* the nudge's effect on sessions per user after day 28, least to most habitual third: +1.68 ..
  +1.77 (bounds +1.3 .. +2.2), +0.97 .. +1.05, +0.43 .. +0.54 (bounds +0.2 .. +0.8); falling
  across the thirds in all 6; most minus least -1.29 .. -1.19 (bounds -1.6 .. -0.9);
* relative to the reference's sessions: +11.4% .. +12.5%, +4.6% .. +5.1%, +1.8% .. +2.2%;
* status pass in 6 of 6 (not asserted: a 4-seed interval).

The bounds fail if the nudge stopped starting sessions (opens no longer start one), if habitual
users started no more sessions on their own than others (the session equation's habit term), or
if the arms stopped being paired before the nudge (the row would be "not testable").
"""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.runner import run
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.studies import default_params, run_study, study_module
from outcome_gym.studies.spec import load_study_file
from tests.conftest import REPO
from tests.studies import STUDIES_DIR

nudge = study_module("nudge", STUDIES_DIR)


def test_habit_groups_split_by_rank_ties_by_user():
    # sorted by habit, ties by index: users 1 (0.1), 2 (0.1), 4 (0.3), 0 (0.5), 5 (0.7), 3 (0.9);
    # ranks 0..5 -> group rank * 3 // 6 = 0, 0, 1, 1, 2, 2
    h = np.array([0.5, 0.1, 0.1, 0.9, 0.3, 0.7])
    assert nudge.habit_groups(h, 3).tolist() == [1, 0, 0, 2, 1, 2]
    assert nudge.habit_groups(h, 2).tolist() == [1, 0, 0, 1, 0, 1]


def test_late_nudge_sends_only_from_its_day_and_histories_match_before():
    """40 users, 14 days, nudge from day 7. Before day 7 both arms send only the scenario's
    weekend friend activity (days 5, 6: 2 x 40 = 80 deliveries, nobody churned yet), and are
    the same run; from day 7 the nudge arm adds at most one practice reminder per active user
    per day (at most 7 x 40 = 280; users who churn or opt out get fewer)."""
    sc = with_overrides(load_scenario("learning_habits"),
                        {"population.size": 40, "clock.horizon_days": 14})
    runs = {on: run(sc, nudge.LateNudge(start_day=7, on=on), 5) for on in (False, True)}
    before = {on: r.steps[r.steps["day"] < 7] for on, r in runs.items()}
    after = {on: float(r.steps.loc[r.steps["day"] >= 7, "delivered"].sum())
             for on, r in runs.items()}
    assert before[False]["delivered"].sum() == before[True]["delivered"].sum() == 80
    assert before[False]["sessions"].tolist() == before[True]["sessions"].tolist()
    assert 0.8 * 280 <= after[True] - after[False] <= 280


def test_snapshot_is_taken_before_the_nudge_and_pairs_the_arms():
    sc = with_overrides(load_scenario("learning_habits"),
                        {"population.size": 40, "clock.horizon_days": 14})
    from outcome_gym.policies.spec import parse_policy

    res = {on: nudge.run_with_snapshot(
        sc, parse_policy(f"studies.nudge:LateNudge:start_day=7,on={str(on).lower()}"), 3)
        for on in (False, True)}
    a, b = res[False].users, res[True].users
    for col in ("app_habit_at_start", "sessions_at_start", "practice.practised_at_start"):
        assert np.array_equal(a[col].to_numpy(), b[col].to_numpy()), col
    # the snapshot is the running total before day 7's first step: the first 7 days' sessions
    steps = res[False].steps
    assert a["sessions_at_start"].sum() == steps.loc[steps.day < 7, "sessions"].sum()
    assert (a["sessions_at_start"] <= a["sessions"]).all()


def test_study_file_matches_the_defaults():
    _mod, params = load_study_file(REPO / "experiments" / "studies" / "nudge.yaml")
    assert params == nudge.Params()
    assert params.seeds == 10 and params.start_day == 28


@pytest.fixture(scope="module")
def fast():
    return run_study("nudge", default_params("nudge", fast=True))


def test_fast_nudge_row(fast):
    (f,) = fast.facts
    assert f.fact == "7 habit curve: nudge" and f.label == "mechanism check"
    assert f.status != "not testable"  # the arms are paired before the nudge
    v = f.values
    assert 1.3 <= v["effect_0"] <= 2.2, v["effect_0"]
    assert 0.2 <= v["effect_2"] <= 0.8, v["effect_2"]
    assert v["effect_0"] > v["effect_1"] > v["effect_2"]
    assert -1.6 <= v["shrink"] <= -0.9, v["shrink"]
    assert v["habit_0"] < v["habit_1"] < v["habit_2"]
