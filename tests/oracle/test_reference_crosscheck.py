"""The vectorized simulator and the per-agent Mesa reference agree in aggregate (issue #3).

``tests/oracle/mesa_reference.py`` re-implements every mechanism per agent in plain Python with its
own random draws, so the two models never agree draw for draw; they must agree in distribution.
Both run the benchmark scenario (3 segments, one goal of each kind) under the static policy for two
simulated weeks at N = 400, for the same 10 seeds each; 23 per-user rates (sessions, clicks,
minutes, opens, interruption minutes, context events, goal events of all three kinds, ...) and 5
population means of slow state at the end (trust, app habit, element habit, fatigue, channel
trust) are compared. A fast test (not marked slow) checks that both models record the same
per-user totals, so a metric added to one cannot be forgotten in the other.

Drift found and fixed in the reference when it moved here (issue #13): task urgency measured at
the current step, residue from distracting opens and from failed hand-overs, and a session for
every user who opens a notification. Before the fix ``work.completed_on_time`` differed by 3.3 SE
and ``budget.adjusted`` by -2.9 SE; after it, the largest |diff/SE| is 3.4 (interruption minutes,
in the 'bench' variant; -1.7 in the other), every other quantity is within 2.1.

Tolerance: for each quantity, with K seeds per model, the difference of the two seed means must lie
within 4 standard errors, SE = sqrt(s_vec^2 / K + s_ref^2 / K) with s the seed-to-seed standard
deviation. If both models draw from the same distribution the statistic is close to a t variable
with 2K - 2 = 18 degrees of freedom, and P(|t| > 4) ~ 8e-4, so with 28-29 quantities per variant
the chance of a false failure is under 3% per seed set; the seeds are fixed, so the test is
deterministic (at N = 3000 over 8 seeds the 31 totals the models share agree with max
|diff/SE| = 2.3).

What 4 SE means here (measured): 2-4% of the mean for sessions, clicks, minutes, goal progress and
habits, 4-8% for opens, task completions and failures, budget crossings and practice days, 10-20%
for the rarer abandoned tasks, budget adjustments and support tickets, and under 1% for trust,
fatigue and channel trust. Run against a deliberately altered reference it fails clearly for: no
focus residue (largest |diff/SE| 26), no residue carried between slots (9), cascade_continue 0.60
instead of 0.65 (21), goal_utility 1.8 instead of 2.0 (7), trust_gain 0.04 instead of 0.05 (13),
open_base -1.8 instead of -1.6 (9), and just about for session_habit 1.2 instead of 1.5 (4.2). A
change confined to the exit after needs are met (need_met_exit 0.6 instead of 0.7) stays within
tolerance (1.7), so that mechanism is not pinned down by this check. (Those numbers were measured
before issue #14.) Nobody churns in the benchmark scenario from low trust, only at the base rate,
so the test also runs a variant whose trust erodes (about 6.5% churn in two weeks since trust has
a memory, issue #14; 27% before) and compares the churned share there as well.

Issue #14 (notification tray, trust with memory, base churn): both variants agree within 2.7 SE
(channel trust in the eroding variant; everything else within 2.1).
A reference whose tray holds a notification for one slot only (``tray_expiry_hours`` 6 instead of
24) against the vectorized default fails clearly: opens |diff/SE| 38, channel trust 32.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from outcome_gym.sim.model import SimulationModel
from tests.oracle import mesa_reference

REPO = Path(__file__).resolve().parents[2]
N_USERS = 400
DAYS = 14
SEEDS = tuple(range(10))
Z = 4.0
RATES = (
    "sessions",
    "clicks",
    "minutes",
    "opens",
    "delivered",
    "interruption_minutes",
    "search_minutes",
    "goal_progress",
    "goal_minutes",
    "distraction_minutes",
    "device_switch_events",
    "colleague_share_events",
    "support_contact_events",
    "support_tickets",
    "work.arrived",
    "work.completed",
    "work.ttc_steps",
    "work.completed_on_time",
    "work.failed",
    "work.abandoned",
    "budget.crossed",
    "budget.adjusted",
    "budget.adjusted_in_time",
    "practice.practised",
)
STATE = ("trust", "app_habit", "habit", "fatigue", "channel_trust")  # population means at the end


def _vectorized_rates(scenario, seed: int, names: tuple[str, ...]) -> list[float]:
    model = SimulationModel(scenario, seed, mesa_agents=False)
    while not model.done:
        model.advance(model.default_action())
    pop = model.pop
    state = {
        "trust": pop.trust,
        "app_habit": pop.app_habit,
        "habit": pop.habit,
        "fatigue": pop.fatigue,
        "channel_trust": pop.channel_trust,
        "churned": ~pop.active,
    }
    return [
        float(np.mean(state[k] if k in state else model.totals[k], dtype=np.float64)) for k in names
    ]


def _reference_rates(ref, scenario, seed: int, names: tuple[str, ...]) -> list[float]:
    model = ref.ReferenceModel(scenario, seed)
    while not model.done:
        model.step()
    means = {**model.per_user_means(), **model.state_means()}
    return [means[k] for k in names]


# The benchmark scenario as it is (trust rises, nobody churns), and a variant whose trust erodes
# so that a quarter of users churn within the two weeks (exercises trust, churn and what churned
# users no longer do).
VARIANTS = {
    "bench": ({}, RATES + STATE),
    "eroding_trust": (
        {"trust_waste": 0.02, "trust_gain": 0.02, "churn_trust": 0.6, "churn_rate": 0.3},
        (*RATES, *STATE, "churned"),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_per_agent_reference_agrees_with_vectorized_model(variant):
    ref = mesa_reference
    user_model, names = VARIANTS[variant]
    scenario = ref.load_bench_scenario(N_USERS, DAYS)
    scenario = scenario.model_copy(
        update={"user_model": scenario.user_model.model_copy(update=user_model)}
    )
    t0 = time.perf_counter()
    vec = np.array([_vectorized_rates(scenario, s, names) for s in SEEDS])
    agent = np.array([_reference_rates(ref, scenario, s, names) for s in SEEDS])
    k = len(SEEDS)
    diff = vec.mean(axis=0) - agent.mean(axis=0)
    se = np.sqrt(vec.var(axis=0, ddof=1) / k + agent.var(axis=0, ddof=1) / k)
    lines = [
        f"{name:24s} vectorized {v:9.4f}  per-agent {a:9.4f}  diff/SE {d / s if s else 0:+6.2f}"
        for name, v, a, d, s in zip(
            names, vec.mean(axis=0), agent.mean(axis=0), diff, se, strict=True
        )
    ]
    print(f"\ncross-check '{variant}', {k} seeds x 2 models, {time.perf_counter() - t0:.1f} s")
    print("\n".join(lines))
    assert (vec.mean(axis=0) > 0).all(), "every compared rate must be exercised by the scenario"
    bad = [line for line, d, s in zip(lines, diff, se, strict=True) if abs(d) > Z * s + 1e-12]
    assert not bad, "aggregates differ by more than 4 SE:\n" + "\n".join(bad)


def test_reference_records_every_total_the_model_records():
    """A per-user total added to ``sim/`` must be added to the reference too (and vice versa)."""
    ref = mesa_reference
    scenario = ref.load_bench_scenario(40, 2)
    model = SimulationModel(scenario, 0, mesa_agents=False)
    while not model.done:
        model.advance(model.default_action())
    reference = ref.ReferenceModel(scenario, 0)
    while not reference.done:
        reference.step()
    assert set(model.totals) == set(reference.per_user_means()) - {"churned"}
