"""Experiment 1 (the trap, docs/calibration.md facts 1 and 2), fast version, as a statistical test.

The fast version runs ``productivity_tool`` at 1,500 users, 6 paired seeds, static vs
``engagement_bandit:levers=layout`` vs ``outcome_bandit:levers=layout``. Bounds were set from the
fast version on 20 other seed sets (first seeds 1000, 1010, ..., 1190); observed ranges:

* engagement lift, engagement policy vs outcome policy: +0.49% .. +2.13% (bound: > 0);
* on-time completions (professionals), same comparison: -5.5% .. -1.0% (bound: < 0);
* outcome policy vs engagement policy: clicks -5.3% .. -0.6% (< 0), on-time +1.0% .. +5.8% (> 0),
  time to completion -5.8% .. -1.1% (< 0); minutes per session -2.9% .. +11% (not asserted: in
  this world focus mode, what the outcome policy promotes, is a long element);
* Spearman rho(engagement, goal progress) across users: 0.768 .. 0.798 before issue #14; with
  progress outside the app (goal progress now includes it) 0.657 .. 0.731, re-measured on only 4
  seed sets (first seeds 0, 1000, 1010, 1020), so the bounds 0.55 .. 0.82 are wider than the old
  margin. The published fact (rho < 0.3) still fails here (pooled over segments; within segments
  0.45 .. 0.67); this bound makes any change to that documented failure visible.
"""

from __future__ import annotations

import pytest

from outcome_gym.studies import default_params, run_study


@pytest.fixture(scope="module")
def fast():
    return run_study("trap", default_params("trap", fast=True))


def test_engagement_policy_raises_engagement_while_the_outcome_falls(fast):
    v = fast.facts[0].values
    assert fast.facts[0].fact == "1 trap"
    assert v["engagement_lift"] > 0.0
    assert v["outcome_lift"] < 0.0


def test_outcome_policy_gives_fewer_clicks_and_better_completion(fast):
    f = next(f for f in fast.facts if f.fact.startswith("2 "))
    v = f.values
    assert v["clicks_lift"] < 0.0
    assert v["on_time_pros_lift"] > 0.0
    assert v["ttc_pros_lift"] < 0.0


def test_engagement_and_progress_correlate_strongly_in_this_world(fast):
    f = next(f for f in fast.facts if f.fact == "1 trap: weak correlation")
    assert f.status == "fail"
    assert 0.55 < f.values["pooled_rho"] < 0.82


def test_report_tables_and_figure(fast):
    assert set(fast.tables) == {"arms"} and set(fast.figures) == {"trap_quadrant"}
    arms = fast.tables["arms"]
    assert "static" in arms.columns and "engagement_bandit:levers=layout" in arms.columns
    assert (arms["metric"] == "engagement.index").any()
