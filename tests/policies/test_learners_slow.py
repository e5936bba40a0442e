"""The learners raise the objective they are named after, in the two designer test worlds.

``engagement_bandit`` must raise the engagement index (clicks + sessions + opens + minutes / 10 per
user, summed over the run) and ``outcome_bandit`` the outcome objective (the instrumented outcome
events behind the outcome specs, true counts per user) against ``static``, over 10 paired seeds.
The worlds (examples/designer_worlds/) were written before any learner ran on them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t as student_t

from outcome_gym.runner import run
from outcome_gym.scenario import load_scenario

WORLDS = Path(__file__).resolve().parents[2] / "examples" / "designer_worlds"
SEEDS = range(10)

# Per-seed paired differences (learner - static, per user over the run) over seeds 0-39, re-measured
# after a learner waits only for its objective's events (issue #15, second pass; defaults
# hold=day, horizon=2, discount=0.5, launch=untried, caution=0):
#   fitness_coach     engagement_bandit, engagement: mean +8.30 (+3.8%), sd 3.71, min -1.75
#   fitness_coach     outcome_bandit, outcome:       mean +0.715 (+97%), sd 0.067, min +0.60
#   health_companion  outcome_bandit, outcome:       mean +0.395 (+128%), sd 0.037, min +0.33
#   health_companion  engagement_bandit, engagement: mean -0.57 (-0.3%), sd 1.09, 29 of 40 below 0
# (first measured: +8.93 sd 2.63; +0.715; +0.395; -1.13 sd 1.00, 35 of 40 below 0).
# The test asks the 95% t interval of the mean over 10 seeds (0-9) to lie above 0; on the four
# 10-seed sets of seeds 0-39 its lower end was >= +4.1, +0.65 and +0.36 for the first three
# (each several standard errors clear: a false failure is out of reach), and <= -0.6 for the
# fourth, which is expected to fail (strict: it fails the suite if it starts passing).
CASES = [
    ("fitness_coach", "engagement_bandit", "engagement"),
    ("fitness_coach", "outcome_bandit", "outcome"),
    ("health_companion", "outcome_bandit", "outcome"),
    pytest.param(
        "health_companion", "engagement_bandit", "engagement",
        marks=pytest.mark.xfail(strict=True, reason=(
            "not reached: the learner starts every user on uniformly drawn arms (launch="
            "'untried') for days 0-2 (-29%, -23%, -18% engagement a day against static: most "
            "plans drop the schedule's two sends), and the layout it then settles on "
            "(promote:daily_quiz, +1% to +7% a day) does not win that back in 35 days; "
            "launch='default' with caution=1.645 reaches +0.7% here but loses fitness_coach's "
            "gain (docs/policies.md)")),
    ),
]


@functools.cache
def _objectives(world: str, policy: str, seed: int) -> tuple[float, float]:
    return own_objectives(load_scenario(WORLDS / f"{world}.yaml"), policy, seed)


def own_objectives(scenario, policy: str, seed: int) -> tuple[float, float]:
    """(engagement, outcome) objectives per user over one run (``summary.objective``)."""
    objective = run(scenario, policy, seed).summary.objective
    return objective["engagement"], objective["outcome"]


def lower_bound(diff: np.ndarray) -> float:
    """Lower end of the two-sided 95% t interval of the mean paired difference."""
    n = diff.shape[0]
    return float(diff.mean() - student_t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n))


@pytest.mark.slow
@pytest.mark.parametrize(("world", "policy", "objective"), CASES)
def test_each_learner_raises_its_own_objective(world, policy, objective):
    col = 0 if objective == "engagement" else 1
    static = np.array([_objectives(world, "static", s)[col] for s in SEEDS])
    learner = np.array([_objectives(world, policy, s)[col] for s in SEEDS])
    assert lower_bound(learner - static) > 0, (learner, static)


@pytest.mark.parametrize("world", ["fitness_coach", "health_companion"])
def test_designer_worlds_load_with_bait_useful_and_core_elements(world):
    """Each world as the brief describes it: bait (appeal >= 1, cost >= 1.5, no value), useful
    elements (value > 0), a core element besides navigation, one outcome spec first per segment."""
    sc = load_scenario(WORLDS / f"{world}.yaml")
    laid = [e for e in sc.product.elements if e.kind not in ("notification", "alert")]
    bait = [e.id for e in laid if e.appeal >= 1.0 and e.attention_cost >= 1.5 and not e.value]
    useful = [e.id for e in laid if e.value and not e.core]
    core = [e.id for e in laid if e.core and e.kind != "navigation"]
    assert len(bait) >= 2 and len(useful) >= 2 and len(core) == 1, (bait, useful, core)
