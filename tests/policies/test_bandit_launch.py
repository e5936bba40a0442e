"""The launch rule (``launch="default"``): a bandit starts from what the product ships and
explores from there; and the default ``launch="untried"`` is the earlier learner.

Hand-worked on tests/fixtures/tiny.yaml (200 users, 4 layout variants with ``default`` first,
4 slots a day; the default notification plan is the scenario's schedule).
"""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.errors import PolicyError
from outcome_gym.policies import EpsilonGreedyPolicy, LinUCBPolicy, ThompsonPolicy
from outcome_gym.product.objectives import (
    _OBJECTIVES,
    EngagementObjective,
    OutcomeObjective,
    objective_events,
    register_objective,
)
from tests.policies.test_bandits import context, feedback, observe, started


def run_days(pol, ctx, days):
    """Act and update through ``days`` days with zero rewards; the arms chosen each day."""
    chosen = []
    for day in range(days):
        for slot in range(ctx.slots_per_day):
            obs = observe(ctx, day * ctx.slots_per_day + slot)
            act = pol.act(obs)
            pol.update(obs, act, feedback(ctx))
        chosen.append(tuple(a.copy() for a in pol.periods_[-1].arms))
    return chosen


@pytest.mark.parametrize("policy", [
    EpsilonGreedyPolicy(epsilon=0.0, launch="default"),
    ThompsonPolicy(launch_share=0.0, launch="default"),
    LinUCBPolicy(launch_share=0.0, launch="default"),
])
def test_day_zero_every_arm_untried_and_everyone_on_the_default(tiny, policy):
    """Day 0: no arm has a reward; with no launch exploration every user gets the default layout
    (arm 0) and the scenario's schedule (plan 1, ``default``), every day until a day is credited
    (horizon 2: day 0 is credited at day 3's start)."""
    ctx = context(tiny)
    pol = started(policy, ctx)
    assert not pol.launched_.any()
    days = run_days(pol, ctx, 3)
    for layout, plan in days:
        assert (layout == 0).all() and (plan == pol.schedule_arm_).all()
    assert not pol.launched_.any()  # day 0 not yet credited (needs days 1 and 2)


def test_epsilon_greedy_departs_from_the_default_only_by_exploration(tiny):
    """epsilon 0.5: on day 0 each user explores with probability 0.5 and then draws one of the 4
    layouts uniformly, so departs with probability 0.5 * 3/4 = 0.375 (75 of 200 expected; a
    binomial sd of 6.8). Without exploration nobody departs, on any day: after the launch the only
    arm tried is the default and untried arms are left to exploration."""
    ctx = context(tiny)
    day0 = run_days(started(EpsilonGreedyPolicy(epsilon=0.5, launch="default"), ctx), ctx, 1)[0][0]
    assert 75 - 4 * 6.8 < (day0 != 0).sum() < 75 + 4 * 6.8
    pol = started(EpsilonGreedyPolicy(epsilon=0.0, launch="default"), ctx)
    days = run_days(pol, ctx, 5)
    assert pol.launched_.all()  # days 0 and 1 credited by day 4's start
    assert all((layout == 0).all() for layout, _ in days)


def test_thompson_first_departs_when_the_launch_ends(tiny):
    """launch_share 0, prior N(100, 1), known noise 1, zero rewards: days 0-2 are the launch
    (everyone on the default). Day 0 is credited at day 3's start: the default's posterior mean
    falls to (100/1 + 0/1) / (1 + 200/1) = 0.50 while every untried arm keeps N(100, 1), so on
    day 3 every user departs from the default."""
    ctx = context(tiny)
    pol = started(ThompsonPolicy(launch_share=0.0, prior_mean=100.0, noise_var=1.0,
                                 granularity="global", launch="default"), ctx)
    days = run_days(pol, ctx, 4)
    assert all((layout == 0).all() for layout, _ in days[:3])
    mean, _ = pol.posterior("layout")
    assert mean[0, 0] == pytest.approx(100.0 / 201.0)
    assert (days[3][0] != 0).all()


def test_epsilon_greedy_exploits_the_best_lower_confidence_bound(tiny):
    """Arm 0 (the default): 8 rewards 0, 2, 0, 2, ... (mean 1, within-arm sum of squares 8);
    arm 1: rewards 0 and 3 (mean 1.5, within 4.5); arms 2-3 untried. Pooled variance
    (8 + 4.5) / (10 - 2) = 1.5625 (sd 1.25); se 1.25/sqrt(8) = 0.442 and 1.25/sqrt(2) = 0.884.
    Lower bounds at caution 1.645: 1 - 0.727 = 0.273 and 1.5 - 1.454 = 0.046: the default stays.
    At caution 0 (the running mean) arm 1 wins: 1.5 > 1."""
    ctx = context(tiny)
    for caution, best in ((1.645, 0), (0.0, 1)):
        pol = started(EpsilonGreedyPolicy(epsilon=0.0, caution=caution, granularity="global",
                                          launch="default"), ctx)
        st = pol.state_[0]
        st.n[0, :2] = 8, 2
        st.s[0, :2] = 8.0, 3.0
        st.ss[0, :2] = 16.0, 9.0
        assert (pol._choose(st, None) == best).all()


def test_untried_default_is_kept_until_it_can_be_compared(tiny):
    """Arm 2 tried (mean 5), the default not: the default stays (+inf); once it has a reward,
    the means decide."""
    ctx = context(tiny)
    pol = started(EpsilonGreedyPolicy(epsilon=0.0, caution=0.0, granularity="global",
                                      launch="default"), ctx)
    st = pol.state_[0]
    st.n[0, 2], st.s[0, 2], st.ss[0, 2] = 1, 5.0, 25.0
    assert (pol._choose(st, None) == 0).all()
    st.n[0, 0], st.s[0, 0], st.ss[0, 0] = 1, 1.0, 1.0
    assert (pol._choose(st, None) == 2).all()


def test_a_learner_waits_only_for_the_events_its_objective_reads(tiny):
    """tiny.yaml: practice.practised arrives 1 step late, budget.adjusted 2 (an instrumented event
    behind no outcome spec). Engagement reads no event (lag 0), outcome only practice.practised
    (lag 1); an objective registered without ``events`` may read any, so it waits for all (2)."""
    ctx = context(tiny)
    assert EngagementObjective.events == ()
    assert OutcomeObjective({"a": 1.0}).events == ("a",)
    assert objective_events(lambda fb: None, ("x", "y")) == ("x", "y")
    lags = {}
    register_objective("_no_events_test", lambda c: (lambda fb: np.zeros(c.n_users)))
    try:
        for objective in ("engagement", "outcome", "_no_events_test"):
            lags[objective] = started(EpsilonGreedyPolicy(objective=objective), ctx).lag_
    finally:
        _OBJECTIVES.pop("_no_events_test")
    assert lags == {"engagement": 0, "outcome": 1, "_no_events_test": 2}


@pytest.mark.parametrize(("cls", "params", "match"), [
    (ThompsonPolicy, {"launch_share": 1.5}, "launch_share in"),
    (LinUCBPolicy, {"launch_share": -0.1}, "launch_share in"),
    (EpsilonGreedyPolicy, {"caution": -1.0}, "caution >= 0"),
    (EpsilonGreedyPolicy, {"launch": "defualt"}, "Did you mean 'default'"),
])
def test_bad_launch_parameters_are_refused(tiny, cls, params, match):
    with pytest.raises(PolicyError, match=match):
        started(cls(**params), context(tiny))


def test_untried_launch_is_the_earlier_learner(tiny):
    """``launch="untried"`` (the default): with epsilon 0 every arm is untried on day 0, so every
    user gets a uniformly drawn arm (all 4 layouts appear among 200 users)."""
    ctx = context(tiny)
    day0 = run_days(started(EpsilonGreedyPolicy(epsilon=0.0), ctx), ctx, 1)[0][0]
    assert len(np.unique(day0)) == 4
