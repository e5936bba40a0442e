"""Experiment 1 (the trap, docs/calibration.md facts 1 and 2), fast version, as a statistical test.

The fast version runs ``productivity_tool`` at 1,500 users, 6 paired seeds, static vs
``engagement_bandit:levers=layout`` vs ``outcome_bandit:levers=layout``, and the two bandits on one
generated world (non-core elements at appeal-value r = 0). Bounds come from the fast version of the
model of issue #14 (outside progress, tray, trust memory, layout memory) on 10 other seed sets
(first seeds 1000, 1010, ..., 1090: ``python experiments/bounds.py trap --sets 10``); observed
ranges:

* engagement lift, engagement policy vs outcome policy: +1.3% .. +5.3% (bound: > 0);
* on-time completions (professionals), same comparison: -33% .. -11% (bound: < 0);
* outcome policy vs engagement policy: on-time +13% .. +50% (> 0), time to completion -17% ..
  -6.7% (< 0), minutes per session -19% .. -2.3% (< 0); clicks -5.4% .. +1.1% (no sign: bound
  -10% .. +5%);
* Spearman rho(engagement, goal progress in and out of the app) across users, pooled over
  segments: 0.50 .. 0.58 (bounds 0.40 .. 0.68; before issue #14: 0.768 .. 0.798); within segments
  professional 0.28 .. 0.33, casual 0.29 .. 0.41, newcomer 0.49 .. 0.62. The published fact
  (rho < 0.3 within every segment) fails here; this bound makes any change to that visible;
* generated world at r = 0: engagement lift -2.0% .. +0.8%, on-time -1.5% .. +0.8% (bounds
  -5% .. +3% each): at this size the engagement bandit finds no engagement to win there.
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
    assert -0.10 < v["clicks_lift"] < 0.05
    assert v["on_time_pros_lift"] > 0.0
    assert v["ttc_pros_lift"] < 0.0
    assert v["session_minutes_lift"] < 0.0


def test_engagement_and_progress_correlate_strongly_in_this_world(fast):
    f = next(f for f in fast.facts if f.fact == "1 trap: weak correlation")
    assert f.status == "fail"
    assert 0.40 < f.values["pooled_rho"] < 0.68
    assert f.label == "emergent"


def test_generated_world_row_is_labelled_by_its_own_correlation(fast):
    (f,) = [f for f in fast.facts if f.fact == "1 trap: generated worlds"]
    assert "r=+0.0" in f.scope
    assert -0.05 < f.values["engagement_lift"] < 0.03
    assert -0.05 < f.values["outcome_lift"] < 0.03
    bundled = next(f for f in fast.facts if f.fact == "1 trap")
    assert bundled.label == "follows from inputs" and "r=-0.74" in bundled.label_why


def test_generated_world_fact2_row_uses_the_same_runs_and_label(fast):
    """Fact 2 on the generated world (added for issue #14 before its first run). The same runs
    as fact 1's generated row, compared the other way round (outcome policy vs engagement
    policy): fact 1's bounds there (on-time -1.5% .. +0.8%, engagement -2.0% .. +0.8%) become
    x -> -x / (1 + x): on-time -0.8% .. +1.5%; the bound below is fact 1's +-5% band likewise."""
    (f,) = [f for f in fast.facts if f.fact == "2 outcome policies look worse on engagement: "
                                                "generated worlds"]
    (g,) = [g for g in fast.facts if g.fact == "1 trap: generated worlds"]
    assert f.scope == g.scope and f.label == g.label and f.label_why == g.label_why
    assert "added before its first run" in f.criterion
    assert -0.05 < f.values["on_time_pros_lift"] < 0.05
    # the pairing is the same: the outcome lift of fact 2 is fact 1's reversed
    x = g.values["outcome_lift"]
    assert f.values["on_time_pros_lift"] == pytest.approx(-x / (1 + x), rel=1e-9, abs=1e-12)
    assert set(f.p_values) == {"clicks", "session_minutes", "on_time_pros", "ttc_pros"}


def test_report_tables_and_figure(fast):
    assert set(fast.tables) == {"arms"} and set(fast.figures) == {"trap_quadrant"}
    arms = fast.tables["arms"]
    assert "static" in arms.columns and "engagement_bandit:levers=layout" in arms.columns
    assert (arms["metric"] == "engagement.index").any()
