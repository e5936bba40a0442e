"""Fact 6 crowd-out in productivity_tool (studies.crowdout_tasks): design and fast version.

The fast version (``crowdout_tasks.FAST``: 4 seeds, 1,000 users, 28 days) on 10 other seed sets
(``first_seed`` 1000, 1010, ..., 1090: ``python experiments/bounds.py crowdout_tasks --sets
10``), min .. median .. max:

* users whose missed deadlines the reminder reduced, per run: 173 .. 180 .. 190 (bounds 140 ..
  220); with more missed deadlines instead: 98 .. 101 .. 110;
* share of them who missed more practice days: 6.9% .. 8.1% .. 9.2% (bounds 4% .. 13%);
* noise floor (the same share among users at risk whose missed deadlines did not change): 3.3% ..
  3.9% .. 4.6% (bound <= 8%: users are paired); share minus floor +3.0% .. +3.8% .. +5.9%
  (bound > +1%);
* status: partial 10 of 10 (the share's interval is above 0, its mean below 0.10).

The bounds fail if the reminder stopped averting missed deadlines (policy or tasks mechanism
changed), if users stopped being paired across arms (a stream drawing by policy-dependent state:
the floor would jump), or if the crowd-out share moved several points either way.
"""

from __future__ import annotations

import pandas as pd
import pytest

from outcome_gym.studies import default_params, run_study, study_module
from outcome_gym.studies.spec import load_study_file
from tests.conftest import REPO
from tests.studies import STUDIES_DIR

tasks = study_module("crowdout_tasks", STUDIES_DIR)
crowdout = study_module("crowdout", STUDIES_DIR)


def test_the_criterion_is_crowdouts_and_the_yaml_is_the_default():
    _mod, params = load_study_file(REPO / "experiments" / "studies" / "crowdout_tasks.yaml")
    assert params == tasks.Params()
    assert params.seeds == crowdout.Params().seeds == 20
    assert tasks.SHARE_RANGE == crowdout.SHARE_RANGE == (0.10, 0.40)
    assert tasks.NOISE_MAX == crowdout.NOISE_MAX


def test_the_product_sees_arrivals_and_completions_through_an_override():
    jobs = tasks.jobs(tasks.Params(**tasks.FAST))
    assert len(jobs) == 8 and {j.policy for j in jobs} == {"deadline_reminder",
                                                            "deadline_reminder:remind=false"}
    events = dict(jobs[0].overrides)["instrumentation.events"]
    names = [e["event"] for e in events]
    # the scenario's three events first, unchanged, then the one the reminder needs
    assert names == ["deadlines.completed", "deadlines.completed_on_time", "learning.practised",
                     "deadlines.arrived"]
    assert events[-1]["delay_steps"] == 0


def test_paired_users_by_hand():
    # 6 users; missed deadlines f, practice days missed b, reference (0) and reminder (1):
    # averted: users 0, 1, 2 (f fell); of them user 0's b rose, user 1's fell: share 1/3,
    # net share 1/3 - 1/3 = 0; at risk with f unchanged: users 3, 4 (f0 >= 1, f1 == f0), user 3's
    # b rose: floor 1/2; user 5 worsened (f rose); b changes sum to +1 - 1 + 1 + 2 = 3 over 6 users
    import numpy as np

    f0 = np.array([2, 1, 3, 1, 2, 0.0])
    f1 = np.array([1, 0, 2, 1, 2, 1.0])
    b0 = np.array([20, 20, 20, 20, 20, 20.0])
    b1 = np.array([21, 19, 20, 21, 20, 22.0])
    out = tasks.paired_users(f0, b0, f1, b1)
    assert out["averted"] == 3 and out["worsened"] == 1 and out["at_risk"] == 5
    assert out["share_rose"] == pytest.approx(1 / 3)
    assert out["net_share"] == pytest.approx(0.0)
    assert out["noise_floor"] == pytest.approx(0.5)
    assert out["other_per_user"] == pytest.approx(3 / 6)
    assert out["failures_averted"] == 2  # 1 + 1 + 1 - 1
    assert out["ratio"] == pytest.approx(3 / 2)


@pytest.fixture(scope="module")
def fast():
    return run_study("crowdout_tasks", default_params("crowdout_tasks", fast=True))


def test_fast_row(fast):
    (f,) = fast.facts
    assert f.fact == "6 crowd-out" and f.label == "emergent"
    assert f.scope == "productivity_tool/all users: deadlines reminded, practice not"
    v = f.values
    assert 140 < v["averted"] < 220
    assert 0.04 < v["share_rose"] < 0.13
    assert v["noise_floor"] <= 0.08
    assert v["crowd_out"] > 0.01
    assert f.status in ("partial", "pass")
    assert set(fast.tables) == {"per_seed", "per_segment"}
    assert isinstance(fast.tables["per_segment"], pd.DataFrame)
    assert set(fast.tables["per_segment"]["segment"]) == {"professional", "casual", "newcomer"}
