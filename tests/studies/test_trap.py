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

import numpy as np
import pytest

from outcome_gym.studies import default_params, run_study, study_module
from tests.studies import STUDIES_DIR

trap = study_module("trap", STUDIES_DIR)


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
    assert f.scope == g.scope
    # at r = 0 fact 2 needs the mechanisms (uncorrelated inputs do not make the outcome policy
    # cost engagement); fact 1's trap only needs the outcome not to move, which those inputs give
    assert f.label == "emergent" and "no input ties chasing engagement" in f.label_why
    assert g.label == "follows from inputs" and "no reason to move the outcome" in g.label_why
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


def test_partial_spearman_holds_the_third_variable_fixed():
    """Hand-worked: z = 1..6, x ranks 2 1 4 3 6 5, y ranks 1 3 2 5 4 6. On ranks, r_xz = 14.5 /
    17.5 = 0.8286, r_yz = 15.5 / 17.5 = 0.8857, r_xy = 8.5 / 17.5 = 0.4857; the partial
    correlation (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)) = -0.2482 / 0.2599 = -0.955:
    x and y move together only through z."""
    z = np.arange(1.0, 7.0)
    x = np.array([2.0, 1, 4, 3, 6, 5]) * 10  # ranks are what count: scale does not matter
    y = np.array([1.0, 3, 2, 5, 4, 6])
    assert trap.partial_spearman(x, y, z) == pytest.approx(-0.955, abs=5e-4)
    assert np.isnan(trap.partial_spearman(x, z, z))  # z explains x's partner entirely
    assert np.isnan(trap.partial_spearman(x, y, np.ones(6)))


def test_rho_explanation_names_the_budget_only_where_it_explains_rho():
    from outcome_gym.studies.base import Estimate

    def parts(given):
        return {"budget_engagement": Estimate.of([0.7, 0.72, 0.71]),
                "budget_progress": Estimate.of([0.6, 0.62, 0.61]),
                "given_budget": Estimate.of(given),
                "app_given_budget": Estimate.of([0.49, 0.5, 0.51]),
                "outside_given_budget": Estimate.of([-0.59, -0.6, -0.61])}

    text = trap._rho_explanation(["a", "b"], {"a": parts([0.0, 0.02, 0.01]),
                                         "b": parts([0.5, 0.52, 0.51])})
    assert "In a the users' daily attention budget" in text
    assert "In b rho stays high with the budget held fixed" in text
    assert "progress in the app (rho 0.50 [" in text and "less outside it (rho -0.60 [" in text


def test_the_attention_budget_is_a_common_cause_of_engagement_and_progress(fast):
    """The budget decomposition (issue #14, added after the within-segment result was seen).
    Bounds from 10 other seed sets (``experiments/bounds.py trap --sets 10 --first 1000 --step
    10``): rho(budget, engagement) 0.57 .. 0.79 and rho(budget, progress) 0.57 .. 0.71 in every
    segment (bound > 0.45); given the budget, rho(engagement, progress) professional -0.09 ..
    -0.04, casual -0.03 .. +0.01 (bound < 0.15: displacement does what the fact needs), newcomer
    +0.18 .. +0.28 (bound 0.08 .. 0.4); its parts: with in-app progress +0.15 .. +0.52 (> 0), with
    outside progress -0.79 .. -0.51 (< -0.3: app time displaces outside time)."""
    f = next(f for f in fast.facts if f.fact == "1 trap: weak correlation")
    v = f.values
    for seg in ("professional", "casual", "newcomer"):
        assert v[f"budget_engagement_{seg}"] > 0.45 and v[f"budget_progress_{seg}"] > 0.45
        assert v[f"app_given_budget_{seg}"] > 0.0
        assert v[f"outside_given_budget_{seg}"] < -0.3
    assert v["given_budget_professional"] < 0.15 and v["given_budget_casual"] < 0.15
    assert 0.08 < v["given_budget_newcomer"] < 0.4
    assert "attention budget held fixed" in f.produced
    assert "In professional, casual the users' daily attention budget" in f.explanation
