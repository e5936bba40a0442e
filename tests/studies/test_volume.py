"""Experiment 4, volume (docs/calibration.md facts 3, 4): the fast versions lie where many seeds put them.

Two fast versions, each run with 20 disjoint seed sets; every bound below holds for all 20 with a
margin. Measured ranges (min .. max over the 20 sets):

``volume.FAST`` (300 users, 28 days, volumes 0, 1, 2, 3, 5, 8 a day, 3 seeds; ``first_seed`` = 0,
3, ..., 57), fact 3 over the four weeks:

* opens per user at 1 a day (= the first marginal slope): 2.29 .. 2.43 (bounds 2.0 .. 2.7)
* last minus first marginal slope (concavity): -3.11 .. -2.92 (bounds -3.5 .. -2.5)
* volume with most opens: 3 a day in all 20 (opens 6.6 .. 6.8 vs 4.6 .. 4.8 at 2 and 4.8 .. 5.1
  at 5 a day)
* open rate at 8 minus at 1 a day: -6.8% .. -6.3% points (bounds -8 .. -5); open rate at 1 a
  day 8.2% .. 8.8%, at 8 a day 1.9% .. 2.1%
* opted-out share at 8 minus at 1 a day: +42% .. +46% points (bounds +35 .. +55); the share rises
  strictly over 1, 3, 5, 8 a day in all 20 (0.6% .. 2.2%, 6.0% .. 9.1%, 20% .. 24%, 44% .. 48%)
* the fact's status: pass in 9, partial (concavity: 3 -> 5 -> 8 a day bends up past the peak)
  in 11

``volume.FAST_YEAR`` (200 users, 364 days, volumes 1 and 5 a day, 2 seeds; ``first_seed`` = 0, 2,
..., 38), fact 4:

* week-1 sessions per user, 1 minus 5 a day: -0.73 .. -0.53 (bound <= -0.35)
* first two weeks, same: -0.30 .. -0.17 (bound <= -0.05)
* last twelve weeks, same: +1.31 .. +1.77 (bound >= +1.0)
* open rate, 1 minus 5 a day: first two weeks +4.3 .. +5.4 points (bound >= +3), last twelve
  weeks +2.8 .. +5.1 points (bound >= +1.5); higher in 11 .. 13 of the 13 four-week blocks
  (bound >= 10; late blocks of the 5-a-day arm have few deliveries left)
* week from which the low arm stays ahead: 2 in all 20 (bound <= 4)
* the fact's status varies with 2 seeds (t intervals on one degree of freedom are wide): pass 1,
  partial 18, fail 1; not asserted

Re-measured for the model of issue #14 (the notification tray and open_base refit, trust with
memory, outside progress, layout memory) on 6 seed sets each (``first_seed`` = 1000, 1010, ...,
1050; ``python experiments/bounds.py volume --sets 6`` and the same for ``FAST_YEAR``):

* FAST: opens at 1 a day 4.44 .. 4.62 (bounds 3.8 .. 5.3); last minus first marginal slope -6.02 ..
  -5.83 (bounds -7.0 .. -4.8); peak at 3 a day in all 6; open rate at 8 minus at 1 a day -14.8 ..
  -14.1 points (bounds -18 .. -11; the rate at 1 a day is now 16.1% .. 16.9%, inside pielot2018's
  15-25%); opted-out share at 8 minus at 1 a day +21.8 .. +25.0 points (bounds +15 .. +32; fewer
  opt-outs: only dismissed notifications can lead to one); status partial in all 6;
* FAST_YEAR: week-1 sessions, 1 minus 5 a day, -0.84 .. -0.72; first two weeks -0.44 .. -0.39; last
  twelve weeks +0.035 .. +0.10 (was +1.31 .. +1.77: with trust as a state with memory the high
  arm no longer collapses; bound >= -0.03); open rate difference +9.8 .. +10.6 points early,
  +11.8 .. +12.5 late; higher in all 13 blocks; crossing week 2 .. 4 (bound <= 6); status pass 2,
  partial 4.

The fact-3 bounds fail if opens stopped saturating (no fatigue, wear or opt-out cost per send:
the first marginal slope would equal the last), if the open rate stopped falling with volume, or
if the opt-out hazard stopped growing with the day's volume. The fact-4 bounds fail if the high
arm stopped gaining sessions at first (opens no longer start sessions), if it stopped losing them
later (no trust overload or opt-outs), or if the low arm's open rate were no longer higher.
"""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from outcome_gym.scenario import load_scenario
from outcome_gym.studies import study_module
from outcome_gym.studies.base import UNTESTED
from outcome_gym.studies.spec import load_study_file
from tests.conftest import REPO
from tests.studies import STUDIES_DIR

volume = study_module("volume", STUDIES_DIR)

# fact 3, FAST (four weeks)
FIRST_SLOPE_LOW, FIRST_SLOPE_HIGH = 3.8, 5.3
CURVATURE_LOW, CURVATURE_HIGH = -7.0, -4.8
PEAK = 3.0
RATE_CHANGE_LOW, RATE_CHANGE_HIGH = -0.18, -0.11
OPTOUT_CHANGE_LOW, OPTOUT_CHANGE_HIGH = 0.15, 0.32
# fact 3's sessions peak, FAST_YEAR (a year, 0 .. 8 a day): the volume with the most sessions
SESSIONS_PEAK = 3.0
# fact 4, FAST_YEAR (a year, 1 vs 5 a day)
WEEK1_HIGH = -0.35
EARLY_HIGH = -0.05
LATE_LOW = -0.03
EARLY_RATE_LOW = 0.03
LATE_RATE_LOW = 0.015
BLOCKS_MIN = 10
CROSSING_MAX = 6


@pytest.fixture(scope="module")
def fast():
    """Fact 3's fast version, one process (about 20 s on one core)."""
    return volume.run(volume.Params(**volume.FAST), workers=1)


@pytest.fixture(scope="module")
def fast_year():
    """Fact 4's fast version: a year, two arms, one process (about 30 s on one core)."""
    return volume.run(volume.Params(**volume.FAST_YEAR), workers=1)


def test_experiment_file_runs_a_year():
    assert load_study_file(REPO / "experiments" / "studies" / "volume.yaml")[1].horizon_days >= 364


def test_params_reject_inconsistent_volumes():
    for bad in ({"volumes": [0, 2, 1]}, {"volumes": [0, 1, 1, 5]}, {"low_volume": 4},
                {"high_volume": 7}, {"low_volume": 5, "high_volume": 1}, {"volumes": [-1, 1, 5]}):
        with pytest.raises(ValidationError):
            volume.Params(**bad)


def test_sends_are_nested_best_first_and_spread_over_templates_and_slots():
    sc = load_scenario("productivity_tool")
    assert volume.default_templates(sc) == ["task_reminder", "streak_nudge", "social_activity"]
    assert volume.default_slots(sc) == ["evening", "morning", "afternoon"]  # night is quiet
    order = volume.send_order(volume.default_templates(sc), volume.default_slots(sc))
    assert len(order) == len(set(order)) == 9
    assert volume.schedule(order, 1) == [{"element": "task_reminder", "slot": "evening"}]
    # every template once a day before any twice, and at most one of each per slot
    first3 = volume.schedule(order, 3)
    assert {s["element"] for s in first3} == {"task_reminder", "streak_nudge", "social_activity"}
    assert {s["slot"] for s in first3} == {"evening", "morning", "afternoon"}
    assert volume.schedule(order, 5)[:3] == first3
    with pytest.raises(ValueError, match="at most 9"):
        volume.schedule(order, 10)
    jobs = volume.jobs(volume.Params(**volume.FAST))
    assert len(jobs) == 6 * 3 and {j.policy for j in jobs} == {"static"}
    eight = dict(next(j for j in jobs if j.tag == "8/day").overrides)
    assert len(eight["product.schedule"]) == 8
    assert eight["guardrails.max_notifications_per_day"] is None


def test_crossing_week():
    import numpy as np

    low = np.array([[1.0, 3.0, 3.0, 3.0]])
    assert volume.crossing_week(low, np.array([[2.0, 2.0, 2.0, 2.0]])) == 2
    assert volume.crossing_week(low, np.array([[0.0, 0.0, 0.0, 0.0]])) == 1
    assert volume.crossing_week(low, np.array([[0.0, 0.0, 0.0, 5.0]])) is None


def test_fast_volume_sends_what_it_says(fast):
    weekly = fast.tables["weekly"].set_index(["sends_per_day", "week"])
    # week 1: k sends a day reach nearly every user (a few opt out or churn within the week)
    for k in (1, 2, 3, 5, 8):
        delivered = weekly.loc[(k, 1), "delivered"]
        assert 0.9 * 7 * k <= delivered <= 7 * k, (k, delivered)
    assert weekly.loc[(0, 1), "delivered"] == 0
    fact4 = next(f for f in fast.facts if f.fact.startswith("4 "))
    assert fact4.status == UNTESTED  # four weeks cannot test a year-long fact


def test_fast_open_rate_is_in_the_calibrated_range(fast):
    """Issue #14 closed the documented calibration miss (8.3% .. 8.7% before, over 12 seed sets):
    with the notification tray and ``open_base`` refit to pielot2018's 0.20, the 1/day arm opens
    at about 0.167 (20 seeds of 500 users over 4 weeks: 0.160 .. 0.171,
    benchmarks/calibrate_tray_trust.py). The bound is the published range itself, 15-25%: a change
    that moves the open rate out of it shows here and in results/README.md."""
    f = next(f for f in fast.facts if f.fact == "3 volume: open rate calibration")
    assert f.status == "pass"
    assert 0.15 <= f.values["open_rate"] <= 0.25, f.values["open_rate"]


def test_fast_fact3_lies_within_the_seed_spread(fast):
    assert [f.fact for f in fast.facts] == ["3 volume", "3 volume: sessions peak",
                                            "4 fewer, better notifications",
                                            "3 volume: open rate calibration"]
    v = fast.facts[0].values
    assert FIRST_SLOPE_LOW <= v["first_slope"] <= FIRST_SLOPE_HIGH, v["first_slope"]
    assert CURVATURE_LOW <= v["curvature"] <= CURVATURE_HIGH, v["curvature"]  # diminishing
    assert v["peak_volume"] == PEAK, v["peak_volume"]
    assert RATE_CHANGE_LOW <= v["rate_change"] <= RATE_CHANGE_HIGH, v["rate_change"]  # rate falls
    assert OPTOUT_CHANGE_LOW <= v["optout_change"] <= OPTOUT_CHANGE_HIGH, v["optout_change"]
    assert v["opted_out_8"] > v["opted_out_5"] > v["opted_out_3"] > v["opted_out_1"]


def test_fast_sessions_peak_lies_within_the_seed_spread(fast):
    """Fact 3 at the level of use (added for issue #14 before its first run). FAST on 6 seed
    sets (``first_seed`` 1000, 1010, ..., 1050; ``python experiments/bounds.py volume --sets 6``):
    sessions per user over the 4 weeks at 0, 1, 2, 3, 5, 8 a day 21.3 .. 22.0, 22.9 .. 23.4,
    24.1 .. 24.5, 25.2 .. 25.5, 23.8 .. 24.2, 22.1 .. 22.7: peak at 3 a day in all 6; 1/day minus
    0/day +1.40 .. +1.62 (bounds +1.0 .. +2.0); the largest lower-volume minus 8/day +2.80 ..
    +3.13 (bounds +2.2 .. +3.7); status pass in 6 of 6. The bounds fail if opens stopped starting
    sessions, or if heavy volume stopped costing sessions (no fatigue, opt-outs, trust overload or
    churn)."""
    f = next(f for f in fast.facts if f.fact == "3 volume: sessions peak")
    assert f.label == "emergent" and f.status == "pass"
    v = f.values
    assert 1.0 <= v["gain"] <= 2.0, v["gain"]
    assert 2.2 <= v["max_drop"] <= 3.7, v["max_drop"]
    assert v["peak_volume"] == SESSIONS_PEAK
    assert v["sessions_3"] > v["sessions_5"] > v["sessions_8"]


def test_fast_year_fact4_lies_within_the_seed_spread(fast_year):
    assert [f.fact for f in fast_year.facts] == ["3 volume", "3 volume",
                                                  "3 volume: sessions peak",
                                                  "4 fewer, better notifications",
                                                  "3 volume: open rate calibration"]
    # two volumes only, and no 0/day arm for the sessions row
    assert [f.status for f in fast_year.facts[:3]] == [UNTESTED, UNTESTED, UNTESTED]
    fact = fast_year.facts[3]
    v = fact.values
    assert v["week1_diff"] <= WEEK1_HIGH, v["week1_diff"]  # low volume loses at first
    assert v["early_diff"] <= EARLY_HIGH, v["early_diff"]
    assert v["late_diff"] >= LATE_LOW, v["late_diff"]  # and beats high volume later
    assert v["early_rate_diff"] >= EARLY_RATE_LOW, v["early_rate_diff"]
    assert v["late_rate_diff"] >= LATE_RATE_LOW, v["late_rate_diff"]
    assert v["blocks"] == 13 and v["blocks_rate_higher"] >= BLOCKS_MIN, v["blocks_rate_higher"]
    assert math.isfinite(v["crossing_week"]) and v["crossing_week"] <= CROSSING_MAX
