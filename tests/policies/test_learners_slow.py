"""The learners raise the objective they are named after, in the two designer test worlds.

``engagement_bandit`` must raise the engagement index (clicks + sessions + opens + minutes / 10 per
user, summed over the run) and ``outcome_bandit`` the outcome objective (the instrumented outcome
events behind the outcome specs, true counts per user) against ``static``, over 10 paired seeds
(40 for health_companion's engagement learner, whose small gain 10 seeds detect only about half
the time: see CASES).
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

# Per-seed paired differences (learner - static, per user over the run) over seeds 0-39, re-measured
# with the day plans around the schedule (issue #15, third pass; defaults hold=day, horizon=2,
# discount=0.5, launch=untried, caution=0, plans=local):
#   fitness_coach     engagement_bandit, engagement: mean +17.0 (+7.9%), sd 3.05, min +10.2
#   fitness_coach     outcome_bandit, outcome:       mean +0.671 (+91%), sd 0.060, min +0.49
#   health_companion  outcome_bandit, outcome:       mean +0.363 (+118%), sd 0.034, min +0.30
#   health_companion  engagement_bandit, engagement: mean +0.83 (+0.47%), sd 1.15, 7 of 40 below 0
# (second pass, single-send day plans: +8.30 sd 3.71; +0.715; +0.395; -0.57 sd 1.09, 29 of 40
# below 0 — the strict xfail this file held).
# The test asks the 95% t interval of the mean over the case's seeds to lie above 0. Over the
# four 10-seed sets of seeds 0-39 its lower end was >= +13.4, +0.62 and +0.33 for the first three
# (each many standard errors clear: a false failure is out of reach). health_companion's
# engagement gain is real but small against its seed-to-seed spread: the four 10-seed sets gave
# lower ends +0.94, +0.29, -0.32, -0.60 (significant in 2 of 4; seeds 40-79: 1 of 4), so it is
# tested on 40 seeds: seeds 0-39 give a lower end of +0.47 (t = 4.6), seeds 40-79 +0.23 (mean
# +0.64 = +0.37%, sd 1.29, t = 3.1). Over the 80 seeds the mean is +0.74 (sd 1.22), so a fresh
# 40-seed set would fall short about 4% of the time; this one clears 0 by 2.6 standard errors.
HEALTH_SEEDS = range(40)
CASES = [
    ("fitness_coach", "engagement_bandit", "engagement", range(10)),
    ("fitness_coach", "outcome_bandit", "outcome", range(10)),
    ("health_companion", "outcome_bandit", "outcome", range(10)),
    ("health_companion", "engagement_bandit", "engagement", HEALTH_SEEDS),
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
@pytest.mark.parametrize(("world", "policy", "objective", "seeds"), CASES)
def test_each_learner_raises_its_own_objective(world, policy, objective, seeds):
    col = 0 if objective == "engagement" else 1
    static = np.array([_objectives(world, "static", s)[col] for s in seeds])
    learner = np.array([_objectives(world, policy, s)[col] for s in seeds])
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
