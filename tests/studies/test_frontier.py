"""Experiment 6, the frontier: the fast version's numbers, the experiment file and the parameters.

The fast version (``frontier.FAST``: productivity_tool and learning_habits, 600 users, 6 paired
seeds, λ in {0, 0.5, 1}, Thompson sampling on the layout; λ* tested on 6 held-apart seeds) takes
about 40 s of one core. Its bounds were re-set for the model of issue #14 (outside progress, tray,
trust memory, layout memory) from 10 runs of the fast version with ``first_seed`` = 1000, 1010,
..., 1090 and held-apart seeds from 1001000 on (``python experiments/bounds.py frontier --sets
10``; measured ranges, min to max over the 10):

=================  =============================  ===================  ===================
scenario           value                          measured range       asserted bound
=================  =============================  ===================  ===================
productivity_tool  λ=1 vs λ=0 engagement lift     -5.8% .. -2.9%       -9% .. -1%
productivity_tool  λ=1 vs λ=0 on_time_pros lift   +12% .. +39%         +4% .. +60%
productivity_tool  within-seed rho(λ, engagement) -1.00 .. -0.58       < 0
productivity_tool  within-seed rho(λ, on_time)    +0.33 .. +0.92       > 0
productivity_tool  engagement cost at λ*          +1.9% .. +5.2%       +0.5% .. +8%
productivity_tool  time cost at λ*                +3.8% .. +9.4%       +1% .. +14%
learning_habits    λ=1 vs λ=0 engagement lift     -6.6% .. -4.9%       -10% .. -2.5%
learning_habits    λ=1 vs λ=0 days practised      +52% .. +92%         +30% .. +130%
learning_habits    within-seed rho(λ, engagement) -1.00 .. -0.92       < 0
learning_habits    within-seed rho(λ, days)       +0.83 .. +1.00       > 0
learning_habits    engagement cost at λ*          +5.3% .. +6.5%       +3% .. +9%
learning_habits    time cost at λ*                +1.9% .. +2.7%       +0.8% .. +4.5%
=================  =============================  ===================  ===================

Before issue #14 the same values were an order of magnitude smaller (e.g. productivity_tool's
on-time lift +1.8% .. +5.6%): with outside progress and layout memory, what the layout promotes
matters far more to task completion. Every bound holds for all 10 seed sets with margin; a sign
flip of any of them (an objective that no longer trades engagement for outcome) fails the test.
λ* was 0.5 or 1 in every set. Statuses are not asserted: with 6 seeds the smallest sign-flip p is
0.031, and Holm's correction over the two scenarios' rows of each claim doubles it, so no row of
the fast version passes ((a) was partial in 18 of the 20 scenario-sets, (c) never passed).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from outcome_gym.errors import StudyFileError
from outcome_gym.studies import study_module
from outcome_gym.studies.runs import Job, JobResult, job_scenario
from outcome_gym.studies.spec import load_study_file
from tests.studies import STUDIES_DIR

frontier = study_module("frontier", STUDIES_DIR)

# scope -> value name -> (low, high), from 10 seed sets (module docstring)
BOUNDS: dict[str, dict[str, tuple[float, float]]] = {
    "productivity_tool": {
        "end_engagement_lift": (-0.09, -0.01),
        "end_outcome_lift": (0.04, 0.60),
        "trend_engagement_rho": (-1.0, -1e-9),
        "trend_outcome_rho": (1e-9, 1.0),
        "engagement_cost": (0.005, 0.08),
        "time_cost": (0.01, 0.14),
    },
    "learning_habits": {
        "end_engagement_lift": (-0.10, -0.025),
        "end_outcome_lift": (0.30, 1.30),
        "trend_engagement_rho": (-1.0, -1e-9),
        "trend_outcome_rho": (1e-9, 1.0),
        "engagement_cost": (0.03, 0.09),
        "time_cost": (0.008, 0.045),
    },
}


@pytest.fixture(scope="module")
def fast():
    result = frontier.run(frontier.Params(**frontier.FAST), workers=1)
    yield result
    for fig in result.figures.values():
        plt.close(fig)


def _values(result, scope: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in result.facts:
        if f.scope == scope:
            out |= f.values
    return out


def test_fast_version_judges_three_claims_per_scenario(fast):
    assert [(f.scope, f.fact[:12]) for f in fast.facts] == [
        (s, f"frontier ({c})") for s in ("productivity_tool", "learning_habits") for c in "abc"]
    assert all(f.produced and f.criterion for f in fast.facts)
    table = fast.tables["frontier"]
    assert len(table) == 2 * 3 and sorted(set(table["lambda"])) == [0.0, 0.5, 1.0]
    assert set(fast.figures) == {"frontier"}


@pytest.mark.parametrize("scope", sorted(BOUNDS))
def test_fast_frontier_trades_engagement_for_outcome_within_seed_bounds(fast, scope):
    got = _values(fast, scope)
    for name, (low, high) in BOUNDS[scope].items():
        assert low <= got[name] <= high, f"{scope} {name} = {got[name]:+.4f}, expected in " \
                                         f"[{low}, {high}]"
    assert got["best_weight"] in (0.5, 1.0)  # the outcome is best away from the engagement end


def test_policy_spec_adds_the_objective_and_the_weight():
    p = frontier.Params()
    assert frontier.policy_spec(p, 0.25) == (
        "thompson:objective=mixed,weight=0.25,levers=layout,hold=step,horizon=0")
    p = frontier.Params(policy="epsilon_greedy")
    assert frontier.policy_spec(p, 1.0) == "epsilon_greedy:objective=mixed,weight=1"
    jobs = frontier.jobs(frontier.Params(**frontier.FAST))
    assert len(jobs) == 2 * 4 * 6 and len({j.policy for j in jobs}) == 4


def test_lambda_star_is_tested_on_held_apart_seeds(fast):
    p = frontier.Params(**frontier.FAST)
    held = frontier.test_jobs(p, {"productivity_tool": 0.5, "learning_habits": 0.0})
    assert {j.seed for j in held} == set(range(1000, 1006))
    assert not {j.seed for j in held} & set(p.seed_list())
    assert sorted({(j.scenario, j.tag) for j in held}) == [
        ("learning_habits", "test lambda=0"), ("productivity_tool", "test lambda=0"),
        ("productivity_tool", "test lambda=0.5")]
    b = next(f for f in fast.facts if f.fact.startswith("frontier (b)"))
    assert "held-apart" in b.criterion and "(held-apart seeds)" in b.produced


@pytest.mark.parametrize(("text", "match"), [
    ("weights: [0.0, 1.0]", "at least 3"),
    ("weights: [0.0, 0.6, 0.5, 1.0]", "increasing"),
    ("weights: [0.1, 0.5, 1.0]", "from 0 to 1"),
    ("policy: 'thompson:weight=0.3'", "without weight"),
    ("seeds: 10\n  test_first_seed: 5", "disjoint from the sweep's seeds"),
])
def test_experiment_file_refuses_bad_parameters(tmp_path, text, match):
    p = tmp_path / "frontier.yaml"
    p.write_text(f"study: frontier\nparams:\n  {text}\n")
    with pytest.raises(StudyFileError, match=match):
        load_study_file(p)


def test_exact_spearman_p_counts_permutations():
    x = np.arange(5.0)
    assert frontier.exact_spearman_p(x, x) == pytest.approx(2 / 120)  # both monotone orders
    assert frontier.exact_spearman_p(np.arange(3.0), np.array([1.0, 3.0, 2.0])) == 1.0
    assert frontier.exact_spearman_p(x, np.ones(5)) == 1.0


def _fake(seed: int, bills: float) -> JobResult:
    """A finance_alerts run where only the bills outcome differs."""
    metrics = {"outcome.adjust_in_time": 1.0, "outcome.under_budget": 0.3,
               "outcome.overspend": 0.05, "outcome.bills_on_time": bills + 0.01 * seed}
    return JobResult(job=Job("finance_alerts", seed=seed), summary={}, metrics=metrics)


def test_a_flat_primary_outcome_names_the_outcome_the_objective_served_instead():
    sc = job_scenario(Job("finance_alerts"))
    lo = [_fake(s, bills=1.0) for s in range(6)]
    hi = [_fake(s, bills=3.0) for s in range(6)]
    text = frontier._served_instead(sc, lo, hi)
    assert "served bills_on_time (+195.1%" in text  # 3.025 / 1.025 - 1
    assert "budget.adjusted_in_time is seen 4 step(s) late with 20% missed" in text
    assert frontier._served_instead(sc, lo, lo) == ""  # nothing moved: nothing to name
