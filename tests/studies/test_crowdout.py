"""Experiment 3, crowd-out (docs/calibration.md fact 6): the fast version's numbers lie where many seeds put
them.

The bounds come from the fast version (``crowdout.FAST``: 2000 users, 51 days, 4 seeds) run with 20
disjoint seed sets (``first_seed`` = 0, 4, ..., 76); each bound holds for all 20 with a margin.
Measured ranges (min .. max over the 20 sets of the mean over 4 seeds; mean, sd), with in-session
choices drawn per user so user i's two runs are paired (common random numbers):

* budget failures averted (net, alert vs reference): 30.0 .. 42.0 per run (36.2, 3.0); bound >= 20;
* share of averted users whose bill failures rose: 0.040 .. 0.087 (0.063, 0.016); bound 0.01 ..
  0.15;
* noise floor (the same share among users at risk whose budget failures did not change):
  0.004 .. 0.019 (0.012, 0.004); bound <= 0.05 (it was 0.32 .. 0.38 while choice draws were
  dealt only to users in a session);
* difference (share minus noise floor): 0.022 .. 0.078 (0.051, 0.017); bound 0.0 .. 0.13 — a
  real crowd-out, but below the 10-40% of medina2021;
* average change in bill failures per user: 0.001 .. 0.008 (0.006, 0.002); bound -0.01 .. 0.03;
* the fact's status: partial in 11 and fail in 9 of the 20 (the share's interval reaches 10% or
  not); asserted to be judged (not "not testable") and never a pass.

Re-measured for the model of issue #14 (outside progress, tray, trust memory, layout memory) on 6
seed sets (``first_seed`` = 1000, 1010, ..., 1050: ``python experiments/bounds.py crowdout --sets
6``): budget failures averted 122 .. 134 per run (the tray opens more alerts); share of averted
users whose bill failures rose 0.060 .. 0.097; noise floor 0.027 .. 0.038; difference 0.032 ..
0.060; bills per user -0.016 .. +0.003 (the bound below re-set to -0.04 .. +0.03); status partial
in all 6, and a pass in the test's own set (the share's interval can now clear 0 and the 10% floor
of the range), so a pass is allowed; "not testable" (unpaired users) is not.

The averted-failures bound fails if the alert stopped averting budget failures; the crowd-out and
bills bounds fail if alerting the budget started to cost (or save) bills beyond the seed spread,
e.g. if attention were no longer shared between the goals or an alert took more of it.
"""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.studies import study_module
from outcome_gym.studies.runs import Job, run_jobs
from tests.studies import STUDIES_DIR

crowdout = study_module("crowdout", STUDIES_DIR)

AVERTED_MIN = 20.0
BOUNDS = {"share_rose": (0.01, 0.15), "noise_floor": (0.0, 0.05), "crowd_out": (0.0, 0.13),
          "bills_per_user": (-0.04, 0.03)}


@pytest.fixture(scope="module")
def fast():
    """The fast version, one process (about 12 s on one core)."""
    return crowdout.run(crowdout.Params(**crowdout.FAST), workers=1)


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
    assert fact.fact == "6 crowd-out" and fact.status in ("fail", "partial", "pass")
    v = fact.values
    assert v["budget_failures_averted"] >= AVERTED_MIN, v
    for key, (low, high) in BOUNDS.items():
        assert low <= v[key] <= high, (key, v[key])
    assert list(fast.tables["per_seed"]["seed"]) == [0, 1, 2, 3]
