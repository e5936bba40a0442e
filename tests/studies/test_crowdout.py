"""Experiment 3, crowd-out (CALIBRATION.md fact 6): the fast version's numbers lie where many seeds put
them.

The bounds come from the fast version (``crowdout.FAST``: 2000 users, 51 days, 4 seeds) run with 20
disjoint seed sets (``first_seed`` = 0, 4, ..., 76); each bound holds for all 20 with a margin.
Measured ranges (min .. max over the 20 sets of the mean over 4 seeds; mean, sd):

* budget failures averted (net, alert vs reference): 19.3 .. 56.0 per run (36.4, 8.8); bound >= 12;
* share of averted users whose bill failures rose: 0.277 .. 0.344 (0.306, 0.018); bound 0.22 ..
  0.40;
* noise floor (the same share among users at risk whose budget failures did not change):
  0.315 .. 0.379 (0.347, 0.019); asserted only through the status;
* difference (share minus noise floor): -0.092 .. +0.007 (-0.041, 0.024); bound -0.15 .. +0.06;
* average change in bill failures per user: -0.009 .. +0.047 (0.013, 0.017); bound -0.05 .. +0.10;
* the fact's status: not testable in all 20 (the noise floor is far above 10%: user i's two runs
  are not paired, see ``crowdout``'s docstring). Drawing in-session choices per user would pair
  them (an exploratory run gave a floor near 3% and a share near 7-11%); these bounds and the
  status must then be measured again.

The averted-failures bound fails if the alert stopped averting budget failures; the crowd-out and
bills bounds fail if alerting the budget started to cost (or save) bills beyond the seed spread,
e.g. if attention were no longer shared between the goals or an alert took more of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outcome_gym.studies import STUDIES, crowdout, resolve
from outcome_gym.studies.base import UNTESTED
from outcome_gym.studies.runs import Job, run_jobs
from outcome_gym.studies.spec import load_study_file

REPO = Path(__file__).resolve().parents[2]
AVERTED_MIN = 12.0
BOUNDS = {"share_rose": (0.22, 0.40), "crowd_out": (-0.15, 0.06), "bills_per_user": (-0.05, 0.10)}


@pytest.fixture(scope="module")
def fast():
    """The fast version, one process (about 12 s on one core)."""
    return crowdout.run(crowdout.Params(**crowdout.FAST), workers=1)


def test_experiment_file_validates_and_equals_the_defaults():
    name, params = load_study_file(REPO / "experiments" / "crowdout.yaml")
    assert name == "crowdout" and STUDIES["crowdout"] == "crowdout"
    assert params == crowdout.Params() == resolve("crowdout")[1]
    _, quick = load_study_file(REPO / "experiments" / "crowdout.yaml", fast=True)
    assert quick == crowdout.Params(**crowdout.FAST)


def test_paired_users_counts_averted_failures_and_bill_changes():
    p = crowdout.Params(users=200, horizon_days=30, seeds=2)
    ref, alert = run_jobs([Job(p.scenario, p.reference, 3, overrides=(("population.size", 200),
                                                                       ("clock.horizon_days", 30))),
                           Job(p.scenario, p.alert, 3, overrides=(("population.size", 200),
                                                                  ("clock.horizon_days", 30)))])
    row = crowdout.paired_users(ref, alert, p)
    assert ref.users is not None and alert.users is not None
    f0 = (ref.users["budget.crossed"] - ref.users["budget.adjusted_in_time"]).to_numpy()
    f1 = (alert.users["budget.crossed"] - alert.users["budget.adjusted_in_time"]).to_numpy()
    db = (alert.users["bills.failed"] - ref.users["bills.failed"]).to_numpy()
    assert row["averted"] == (f1 < f0).sum() and row["worsened"] == (f1 > f0).sum()
    assert row["share_rose"] == pytest.approx((db[f1 < f0] > 0).mean())
    assert row["crowd_out"] == pytest.approx(row["share_rose"] - row["noise_floor"])
    assert row["bills_per_user"] == pytest.approx(db.mean())
    same = crowdout.paired_users(ref, ref, p)  # a policy against itself: nothing averted
    assert same["averted"] == 0 and same["bills_per_user"] == 0 and np.isnan(same["share_rose"])


def test_fast_fact_lies_within_the_seed_spread(fast):
    (fact,) = fast.facts
    assert fact.fact == "6 crowd-out" and fact.status == UNTESTED
    v = fact.values
    assert v["budget_failures_averted"] >= AVERTED_MIN, v
    for key, (low, high) in BOUNDS.items():
        assert low <= v[key] <= high, (key, v[key])
    assert list(fast.tables["per_seed"]["seed"]) == [0, 1, 2, 3]
