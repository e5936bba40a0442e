"""Learning policies: hand-worked updates, granularity, crediting, determinism, and on tiny.yaml that
an engagement bandit raises engagement while an outcome bandit raises the outcome events."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from outcome_gym.errors import PolicyError
from outcome_gym.policies import (
    EpsilonGreedyPolicy,
    LinUCBPolicy,
    ThompsonPolicy,
    make,
    names,
)
from outcome_gym.policies.bandits.linear import (
    _Linear,
    _linucb_pooled_update,
    _linucb_scores,
    _linucb_user_update,
)
from outcome_gym.product.objectives import outcome_weights
from outcome_gym.product.variants import build_variants
from outcome_gym.runner import run
from outcome_gym.sim.interface import Feedback, Observation, frozen_map
from outcome_gym.sim.model import SimulationModel
from tests.conftest import variant

CLASSES = (EpsilonGreedyPolicy, ThompsonPolicy, LinUCBPolicy)
#: The per-step learner (a period is one step, no later step credited): the hand-worked tests of
#: per-step mechanics use it; the day-level crediting has its own tests below.
STEP = {"hold": "step", "horizon": 0}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_delay(tiny):
    """tiny.yaml with every instrumented event seen at once, so a step is learned at the next."""
    return variant(tiny, **{"instrumentation.events.1.delay_steps": 0,
                            "instrumentation.events.2.delay_steps": 0})


def context(scenario, seed=0):
    return SimulationModel(scenario, seed, mesa_agents=False).context


def observe(ctx, step=0, active=None, session=None, opened=None, receptivity=None):
    """A hand-made observation (step 0 is Monday morning in tiny.yaml)."""
    n, m, e = ctx.n_users, ctx.n_pushed, len(ctx.element_ids)
    spd = ctx.slots_per_day
    day, slot = divmod(step, spd)
    start = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(
        ctx.scenario.clock.start_weekday)
    return Observation(
        step=step, day=day, slot=slot, weekday=(start + day) % 7,
        active=np.ones(n, bool) if active is None else np.asarray(active, bool),
        session=np.zeros(n, bool) if session is None else np.asarray(session, bool),
        clicks=np.zeros((n, e), np.int16), minutes=np.zeros(n, np.float32),
        delivered=np.zeros((n, m), bool),
        opened=np.zeros((n, m), bool) if opened is None else np.asarray(opened, bool),
        receptivity=np.zeros(n, np.float32) if receptivity is None else np.asarray(receptivity),
        events=frozen_map({name: np.zeros(n, np.int32) for name in ctx.instrumented}),
        layout=np.broadcast_to(ctx.default_layout, (n, ctx.n_slots)).copy(),
    )


def feedback(ctx, clicks=None, events=None):
    n = ctx.n_users
    zero = np.zeros(n)
    ev = {name: np.zeros(n, np.int32) for name in ctx.instrumented}
    ev.update(events or {})
    return Feedback(clicks=zero if clicks is None else np.asarray(clicks, float), minutes=zero,
                    sessions=zero, opens=zero, events=frozen_map(ev))


def layout_arms(ctx, action):
    """Variant index of each user's layout."""
    lay = build_variants(ctx).layouts
    match = (action.layout[:, None, :] == lay[None, :, :]).all(axis=2)
    assert match.sum(axis=1).tolist() == [1] * ctx.n_users
    return match.argmax(axis=1)


def started(policy, ctx, seed=1):
    policy.reset(ctx, np.random.SeedSequence(seed))
    return policy


def act_exploring(pol, obs):
    """``pol.act(obs)`` with every user exploring (epsilon 1: the launch gives every user a
    uniformly drawn arm, as the hand-worked tests of crediting need several arms tried)."""
    keep, pol.epsilon = pol.epsilon, 1.0
    try:
        return pol.act(obs)
    finally:
        pol.epsilon = keep


# --- registry and hyperparameters ------------------------------------------------------------


def test_registered_names_and_effective_params():
    assert {"epsilon_greedy", "thompson", "linucb", "engagement_bandit",
            "outcome_bandit"} <= set(names())
    pol = make("outcome_bandit", epsilon=0.05)
    assert isinstance(pol, EpsilonGreedyPolicy)
    assert pol.get_params() == {"objective": "outcome", "weight": 0.5, "granularity": "segment",
                                "notify_cost": 0.0, "levers": "both", "hold": "day",
                                "horizon": 2, "discount": 0.5, "launch": "untried", "plans": "local",
                                "epsilon": 0.05, "caution": 0.0}
    assert make("engagement_bandit").get_params()["objective"] == "engagement"
    assert make("thompson", prior_var=2.0).get_params()["prior_var"] == 2.0
    assert make("linucb", alpha=0.5).get_params()["alpha"] == 0.5


@pytest.mark.parametrize("cls", CLASSES)
def test_constructor_only_stores_hyperparameters(cls, tiny):
    pol = cls(objective="mixed", weight=0.3, granularity="global", notify_cost=0.1)
    assert not [k for k in vars(pol) if k.endswith("_")]
    before = pol.get_params()
    started(pol, context(tiny))
    assert pol.get_params() == before  # learned state is all in attributes ending in "_"
    assert "When to use" in (cls.__doc__ or "")


@pytest.mark.parametrize(("params", "match"), [
    ({"granularity": "segmnt"}, "expected granularity .* Did you mean 'segment'"),
    ({"objective": "outcom"}, "unknown objective 'outcom'.*Did you mean 'outcome'"),
    ({"objective": "mixed", "weight": 1.5}, "expected weight in \\[0, 1\\]"),
    ({"notify_cost": -1.0}, "expected notify_cost >= 0"),
    ({"epsilon": 1.5}, "expected epsilon in \\[0, 1\\], got 1.5"),
    ({"levers": "layouts"}, "expected levers one of both, layout, notify.*Did you mean 'layout'"),
    ({"hold": "days"}, "expected hold one of day, step.*Did you mean 'day'"),
    ({"horizon": -1}, "expected horizon an integer in \\[0, 60\\]"),
    ({"discount": 1.5}, "expected discount in \\[0, 1\\], got 1.5"),
])
def test_bad_hyperparameters_are_refused_at_reset(tiny, params, match):
    with pytest.raises(PolicyError, match=match):
        started(make("epsilon_greedy", **params), context(tiny))


@pytest.mark.parametrize(("name", "params", "match"), [
    ("thompson", {"prior_var": 0.0}, "expected prior_var > 0"),
    ("thompson", {"noise_var": -1.0}, "expected noise_var > 0 or None"),
    ("linucb", {"alpha": -1.0}, "expected alpha >= 0"),
    ("linucb", {"ridge": 0.0}, "expected ridge > 0"),
    ("linucb", {"activity_decay": 1.0}, "expected activity_decay in \\[0, 1\\)"),
])
def test_bad_model_hyperparameters(tiny, name, params, match):
    with pytest.raises(PolicyError, match=match):
        started(make(name, **params), context(tiny))


def test_per_user_linucb_refuses_a_huge_population(tiny):
    ctx = context(tiny)
    n = 2_000_000
    big = dataclasses.replace(ctx, n_users=n, segment=np.zeros(n, np.int64))
    with pytest.raises(PolicyError, match=r"granularity='user' needs .* GiB.*'segment'"):
        started(LinUCBPolicy(granularity="user"), big)


def test_update_without_act_is_an_error(tiny):
    ctx = context(tiny)
    pol = started(EpsilonGreedyPolicy(), ctx)
    with pytest.raises(PolicyError, match="update at step 0 follows no act"):
        pol.update(observe(ctx), None, feedback(ctx))


# --- hand-worked learning --------------------------------------------------------------------


def test_epsilon_zero_picks_the_best_running_mean(no_delay):
    ctx = context(no_delay)
    pol = started(EpsilonGreedyPolicy(epsilon=0.0, granularity="global", **STEP), ctx)
    obs = observe(ctx, 0)
    act0 = act_exploring(pol, obs)  # every user explores: each gets a uniformly drawn arm
    arms0, plans0 = layout_arms(ctx, act0), pol.periods_[-1].arms[1].copy()
    assert len(np.unique(arms0)) == 4 and len(np.unique(plans0)) == 4
    reward = np.where(arms0 == 2, 3.0, 1.0)  # promote:feed earns 3 clicks, every other layout 1
    pol.update(obs, act0, feedback(ctx, clicks=reward))
    act1 = pol.act(observe(ctx, 1))  # learns step 0, then exploits
    counts, mean = pol.estimates("layout")
    assert counts.tolist() == [np.bincount(arms0, minlength=4).tolist()]
    assert mean.tolist() == [[1.0, 1.0, 3.0, 1.0]]
    assert (layout_arms(ctx, act1) == 2).all()
    # the plan bandit was credited the same rewards: it exploits the plan with the best mean
    plan_means = [reward[plans0 == p].mean() for p in range(4)]
    np.testing.assert_allclose(pol.estimates("notify")[1][0], plan_means)
    assert (pol.periods_[-1].arms[1] == np.argmax(plan_means)).all()


def test_thompson_posterior_on_a_hand_example(no_delay):
    ctx = context(no_delay)
    pol = started(ThompsonPolicy(prior_mean=0.0, prior_var=1.0, noise_var=1.0,
                                 granularity="global", **STEP), ctx)
    active = np.zeros(ctx.n_users, bool)
    active[0] = True  # one user, reward 3
    obs = observe(ctx, 0, active=active)
    act0 = pol.act(obs)
    arm = layout_arms(ctx, act0)[0]
    pol.update(obs, act0, feedback(ctx, clicks=np.where(active, 3.0, 0.0)))
    pol.act(observe(ctx, 1, active=active))
    mean, var = pol.posterior("layout")
    # precision 1/1 + 1/1 = 2; mean (0/1 + 3/1) / 2 = 1.5; variance 1/2; untouched arms: prior
    expect_mean, expect_var = np.zeros(4), np.ones(4)
    expect_mean[arm], expect_var[arm] = 1.5, 0.5
    np.testing.assert_allclose(mean[0], expect_mean)
    np.testing.assert_allclose(var[0], expect_var)


def test_thompson_estimated_noise_on_a_hand_example(tiny):
    pol = started(ThompsonPolicy(prior_mean=0.0, prior_var=1.0, granularity="global"),
                  context(tiny))
    st = pol.state_[0]
    st.n[0, 0], st.s[0, 0], st.ss[0, 0] = 2, 4.0, 12.0  # two rewards summing to 4, squares to 12
    # within-arm sum of squares: 12 - 4^2 / 2 = 4
    mean, var = pol.posterior("layout")
    s2 = (1.0 + 4.0) / (1.0 + 2.0)  # one pseudo-observation of variance prior_var
    precision = 1.0 + 2.0 / s2  # = 2.2
    assert mean[0, 0] == pytest.approx((4.0 / s2) / precision)  # = 1.0909...
    assert var[0, 0] == pytest.approx(1.0 / precision)
    assert mean[0, 1] == 0.0 and var[0, 1] == pytest.approx(1.0)


def test_linucb_ridge_update_and_ucb_on_two_features():
    st = _Linear(a=np.eye(2)[None, None].copy(), a_inv=np.eye(2)[None, None].copy(),
                 b=np.zeros((1, 1, 2)), theta=np.zeros((1, 1, 2)))
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    _linucb_pooled_update(st, np.array([0, 0]), np.array([0, 0]), x, np.array([1.0, 2.0]))
    # A = I + [1 0; 0 0] + [1 1; 1 1] = [3 1; 1 2]; b = 1*[1, 0] + 2*[1, 1] = [3, 2]
    np.testing.assert_allclose(st.a[0, 0], [[3.0, 1.0], [1.0, 2.0]])
    np.testing.assert_allclose(st.b[0, 0], [3.0, 2.0])
    # A^-1 = [2 -1; -1 3] / 5; theta = A^-1 b = [4, 3] / 5
    np.testing.assert_allclose(st.a_inv[0, 0], np.array([[2.0, -1.0], [-1.0, 3.0]]) / 5)
    np.testing.assert_allclose(st.theta[0, 0], [0.8, 0.6])
    # at x = [1, 1]: mean 1.4, x'A^-1 x = (2 - 1 - 1 + 3) / 5 = 0.6; alpha 2 -> 1.4 + 2 sqrt(0.6)
    score = _linucb_scores(st.theta[0], st.a_inv[0], np.array([[1.0, 1.0]]), alpha=2.0)
    assert score[0, 0] == pytest.approx(1.4 + 2.0 * np.sqrt(0.6))
    # Sherman-Morrison, one user one update at a time, reaches the same model
    per_user = _Linear(a=None, a_inv=np.eye(2)[None, None].copy(), b=np.zeros((1, 1, 2)),
                       theta=np.zeros((1, 1, 2)))
    for row, r in ((0, 1.0), (1, 2.0)):
        _linucb_user_update(per_user, np.array([0]), np.array([0]), x[row : row + 1],
                            np.array([r]))
    np.testing.assert_allclose(per_user.a_inv, st.a_inv)
    np.testing.assert_allclose(per_user.theta, st.theta)


@pytest.mark.parametrize("granularity", ["segment", "global"])
def test_linucb_fast_path_matches_the_reference(tiny, granularity):
    """The per-block shortcut gives the same A, b and scores as the textbook formulas."""
    sc = variant(tiny, **{"population.size": 300})
    model = SimulationModel(sc, 3, mesa_agents=False)
    ctx = model.context
    pol = started(LinUCBPolicy(granularity=granularity, alpha=0.7), ctx)
    for _ in range(6):  # real observations, with sessions, opens and activity
        obs = model.observe()
        action = pol.act(obs)
        pol.update(obs, action, model.advance(action).feedback)
    obs = model.observe()
    moment = pol._features(obs)
    x = pol.features(obs)
    rng = np.random.default_rng(0)
    users = np.flatnonzero(rng.random(ctx.n_users) < 0.8)
    arms = (rng.integers(pol.n_arms_[0], size=users.size),
            rng.integers(pol.n_arms_[1], size=users.size))
    reward = rng.normal(size=users.size)
    ref = [dataclasses.replace(s, a=s.a.copy(), b=s.b.copy(), a_inv=s.a_inv.copy(),
                               theta=s.theta.copy()) for s in pol.state_]
    pol._learn(users, arms, reward, moment)
    for bandit, (st, mine) in enumerate(zip(ref, pol.state_, strict=True)):
        _linucb_pooled_update(st, pol.group_[users], arms[bandit], x[users], reward)
        np.testing.assert_allclose(mine.a, st.a, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(mine.b, st.b, rtol=1e-10, atol=1e-9)
        name = ("layout", "notify")[bandit]
        np.testing.assert_allclose(pol._scores(mine, moment).T, pol.ucb(x, name), rtol=1e-9)


def test_linucb_features(tiny):
    ctx = context(tiny)
    pol = started(LinUCBPolicy(activity_decay=0.5), ctx)
    n = ctx.n_users
    session = np.zeros(n, bool)
    session[0] = True
    opened = np.zeros((n, ctx.n_pushed), bool)
    opened[1, 1] = True
    rec = np.linspace(-1, 1, n).astype(np.float32)
    x = pol.features(observe(ctx, step=4 * 5 + 2, session=session, opened=opened,
                             receptivity=rec))  # Saturday (day 5) evening
    seg = np.asarray(ctx.segment)
    assert x.shape == (n, 1 + 2 + 4 + 1 + 4)
    np.testing.assert_array_equal(x[:, 0], 1.0)
    np.testing.assert_array_equal(x[:, 1:3], np.eye(2)[seg])
    np.testing.assert_array_equal(x[:, 3:7], np.tile([0, 0, 1, 0], (n, 1)))
    np.testing.assert_array_equal(x[:, 7], 1.0)  # weekend
    np.testing.assert_allclose(x[:, 8], rec)
    assert x[0, 9] == 1 and x[1, 10] == 1 and x[:, 9:11].sum() == 2
    assert x[0, 11] == x[1, 11] == 0.5 and x[2:, 11].sum() == 0  # 0.5 * 0 + 0.5 * 1
    again = pol.features(observe(ctx, step=4 * 5 + 2, session=session))
    assert again[0, 11] == 0.5  # one smoothing update per step, however often it is asked


# --- granularity, inactive and churned users, crediting --------------------------------------


def test_granularity_decides_whose_data_an_estimate_pools(no_delay):
    ctx = context(no_delay)
    seg = np.asarray(ctx.segment)
    lucky = int(np.flatnonzero(seg == 0)[0])  # one worker
    for granularity, n_groups in (("segment", 2), ("user", ctx.n_users), ("global", 1)):
        pol = started(EpsilonGreedyPolicy(epsilon=0.0, granularity=granularity, **STEP), ctx)
        obs = observe(ctx, 0)
        act0 = act_exploring(pol, obs)
        arms0 = layout_arms(ctx, act0)
        clicks = np.zeros(ctx.n_users)
        clicks[lucky] = 5.0
        pol.update(obs, act0, feedback(ctx, clicks=clicks))
        arms1 = layout_arms(ctx, pol.act(observe(ctx, 1)))
        counts, mean = pol.estimates("layout")
        assert counts.shape == (n_groups, 4) and counts.sum() == ctx.n_users
        if granularity == "segment":
            assert counts.sum(axis=1).tolist() == np.bincount(seg).tolist()
            # every worker follows the one worker's success; savers learned nothing from it
            assert (arms1[seg == 0] == arms0[lucky]).all()
            assert mean[1, arms0[lucky]] == 0.0
            assert len(np.unique(arms1[seg == 1])) > 1
        elif granularity == "user":
            assert (counts.sum(axis=1) == 1).all()
            assert mean[lucky, arms0[lucky]] == 5.0
            workers = np.flatnonzero(seg == 0)
            assert np.nansum(mean[workers]) == 5.0  # nobody else learned from the lucky one
            assert (arms1 != arms0).all()  # each tries an arm it has not tried yet
        else:
            assert (arms1 == arms0[lucky]).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_inactive_users_get_the_default_and_no_sends(cls, no_delay):
    ctx = context(no_delay)
    pol = started(cls(**STEP), ctx)
    active = np.arange(ctx.n_users) % 3 != 0
    for step in range(5):
        obs = observe(ctx, step, active=active)
        act = pol.act(obs)
        np.testing.assert_array_equal(act.layout[~active],
                                      np.broadcast_to(ctx.default_layout, (int((~active).sum()),
                                                                           ctx.n_slots)))
        assert not act.notify[~active].any()
        pol.update(obs, act, feedback(ctx, clicks=np.ones(ctx.n_users)))
    if cls is not LinUCBPolicy:
        assert pol.state_[0].n.sum() == 4 * active.sum()  # 4 steps learned, inactive never


@pytest.mark.parametrize("cls", CLASSES)
def test_levers_leave_the_other_surface_as_the_static_product(cls, no_delay):
    """levers=layout sends exactly the default schedule; levers=notify keeps the default layout."""
    ctx = context(no_delay)
    static = started(make("static"), ctx)
    only_layout = started(cls(levers="layout", epsilon=1.0) if cls is EpsilonGreedyPolicy
                          else cls(levers="layout"), ctx)
    only_notify = started(cls(levers="notify"), ctx)
    moved = sent_extra = 0
    for step in range(8):
        obs = observe(ctx, step)
        ref = static.act(obs)
        a, b = only_layout.act(obs), only_notify.act(obs)
        np.testing.assert_array_equal(a.notify, ref.notify)
        np.testing.assert_array_equal(b.layout, ref.layout)
        moved += int((a.layout != ref.layout).any())
        sent_extra += int((b.notify != ref.notify).any())
        fb = feedback(ctx, clicks=np.ones(ctx.n_users))
        only_layout.update(obs, a, fb)
        only_notify.update(obs, b, fb)
    assert moved and sent_extra  # each still personalizes its own surface


def test_churned_users_do_not_update_estimates(no_delay):
    ctx = context(no_delay)
    pol = started(EpsilonGreedyPolicy(granularity="global", **STEP), ctx)
    obs = observe(ctx, 0)
    act = pol.act(obs)
    # ten users churn at the start of this step's day: they look active, produce nothing...
    pol.update(obs, act, feedback(ctx, clicks=np.r_[np.zeros(10), np.ones(ctx.n_users - 10)]))
    active = np.arange(ctx.n_users) >= 10
    pol.act(observe(ctx, 1, active=active))  # ...and the next observation shows it
    counts, mean = pol.estimates("layout")
    assert counts.sum() == ctx.n_users - 10
    assert np.nanmin(mean) == 1.0


def test_delayed_events_are_credited_to_the_step_that_earned_them(tiny):
    """tiny.yaml: practice.practised, the outcome objective's only event, is seen one step late
    (budget.adjusted's two steps are not waited for: the objective does not read it)."""
    ctx = context(tiny)
    assert outcome_weights(ctx) == {"practice.practised": 1.0}
    pol = started(EpsilonGreedyPolicy(objective="outcome", granularity="user", epsilon=0.0,
                                      **STEP), ctx)
    arms = []
    for step in range(4):
        obs = observe(ctx, step)
        act = act_exploring(pol, obs) if step < 2 else pol.act(obs)
        arms.append(layout_arms(ctx, act))
        ev = np.zeros(ctx.n_users, np.int32)
        if step == 1:  # a user who practised at step 0 (the product sees it at step 1), whose
            user = int(np.flatnonzero(arms[0] != arms[1])[0])  # layout changed in between
            ev[user] = 1
        pol.update(obs, act, feedback(ctx, events={"practice.practised": ev}))
    pol.act(observe(ctx, 4))
    counts, _ = pol.estimates("layout")
    assert counts.sum() == 3 * ctx.n_users  # steps 0-2 complete and learned, 3 not yet
    sums = pol.state_[0].s
    assert sums.sum() == 1.0
    assert sums[user, arms[0][user]] == 1.0  # the arm the user had at step 0, not at step 1


# --- day-level crediting ---------------------------------------------------------------------


def run_day(pol, ctx, day, rewards, active=None, events=None, explore=False):
    """Act and update through one day of tiny.yaml (4 slots); ``rewards[slot]`` per user.

    ``explore``: every user explores when the day's arms are chosen (:func:`act_exploring`).
    """
    acts = []
    for slot in range(ctx.slots_per_day):
        obs = observe(ctx, day * ctx.slots_per_day + slot, active=active)
        act = act_exploring(pol, obs) if explore and slot == 0 else pol.act(obs)
        acts.append(act)
        ev = (events or {}).get(slot)
        pol.update(obs, act, feedback(ctx, clicks=rewards(slot, layout_arms(ctx, act)),
                                      events=ev))
    return acts


def test_day_hold_keeps_the_arms_all_day_and_credits_the_day_total(no_delay):
    """The budget trap by hand: arm 2 wins its first slot (3 clicks vs 1) and then loses the
    day (0 in each later slot, the others 1): day totals are 3 for arm 2 and 1 + 1 + 1 + 1 = 4
    for every other arm. The per-step learner prefers arm 2; the day learner does not."""
    ctx = context(no_delay)

    def rewards(slot, arms):
        if slot == 0:
            return np.where(arms == 2, 3.0, 1.0)
        return np.where(arms == 2, 0.0, 1.0)

    day = started(EpsilonGreedyPolicy(epsilon=0.0, granularity="global", horizon=0), ctx)
    acts = run_day(day, ctx, 0, rewards, explore=True)
    arms0 = layout_arms(ctx, acts[0])
    for act in acts[1:]:  # the same arm in every slot of the day
        np.testing.assert_array_equal(layout_arms(ctx, act), arms0)
    assert day.estimates("layout")[0].sum() == 0  # nothing learned before the day is over
    nxt = day.act(observe(ctx, 4))  # day 1 starts: day 0 is complete and learned
    counts, mean = day.estimates("layout")
    assert counts.tolist() == [np.bincount(arms0, minlength=4).tolist()]
    np.testing.assert_allclose(mean[0], [4.0, 4.0, 3.0, 4.0])
    assert (layout_arms(ctx, nxt) != 2).all()

    step = started(EpsilonGreedyPolicy(epsilon=0.0, granularity="global", **STEP), ctx)
    obs = observe(ctx, 0)
    act = act_exploring(step, obs)
    step.update(obs, act, feedback(ctx, clicks=rewards(0, layout_arms(ctx, act))))
    assert (layout_arms(ctx, step.act(observe(ctx, 1))) == 2).all()  # the slot's winner


def test_later_days_are_credited_with_the_discount(no_delay):
    """horizon 1, discount 0.5: day 0's arms get R(0) + 0.5 R(1), learned when day 1 is over.

    Every user earns 1 click per slot on day 0 (R(0) = 4) and 2 per slot on day 1 (R(1) = 8), so
    day 0's arms learn 4 + 0.5 * 8 = 8 — except user 0, who churned at day 1's start (R(1) = 0:
    losing the user is a consequence of day 0's choice), who learns 4. User 1, who churned
    before seeing day 0's arms (inactive at the next observation), is not learned from."""
    ctx = context(no_delay)
    pol = started(EpsilonGreedyPolicy(epsilon=0.0, granularity="user", horizon=1,
                                      discount=0.5), ctx)
    n = ctx.n_users
    gone1 = np.arange(n) != 1
    obs = observe(ctx, 0)
    act = pol.act(obs)
    arms0 = layout_arms(ctx, act)
    pol.update(obs, act, feedback(ctx, clicks=np.where(gone1, 1.0, 0.0)))
    for slot in range(1, 4):
        obs = observe(ctx, slot, active=gone1)
        act = pol.act(obs)
        pol.update(obs, act, feedback(ctx, clicks=np.where(gone1, 1.0, 0.0)))
    both = gone1 & (np.arange(n) != 0)
    run_day(pol, ctx, 1, lambda slot, arms: np.where(both, 2.0, 0.0), active=both)
    assert pol.estimates("layout")[0].sum() == 0  # day 0 waits for day 1's reward
    pol.act(observe(ctx, 8, active=both))
    counts, mean = pol.estimates("layout")
    assert counts.sum() == n - 1 and counts[1].sum() == 0
    assert mean[0, arms0[0]] == 4.0
    assert mean[2, arms0[2]] == 8.0
    assert np.nansum(mean) == 4.0 + 8.0 * (n - 2)


def test_an_event_of_the_day_seen_the_next_day_is_credited_to_that_day(tiny):
    """tiny.yaml: practice.practised, the outcome objective's only event, is seen one step late
    (lag 1). A user who practised in day 0's last slot (step 3) is seen at step 4, in day 1 —
    under day 1's arms. Day 0 is learned once step 3 + 1 has been updated, at the act of step 5;
    its reward for that user is the event, 1, on day 0's arm (horizon 0)."""
    ctx = context(tiny)
    pol = started(EpsilonGreedyPolicy(objective="outcome", granularity="user", epsilon=0.0,
                                      horizon=0), ctx)
    acts = run_day(pol, ctx, 0, lambda slot, arms: np.zeros(ctx.n_users), explore=True)
    arms0 = layout_arms(ctx, acts[0])
    user = 7
    seen = np.zeros(ctx.n_users, np.int32)
    seen[user] = 1
    obs = observe(ctx, 4)
    act = pol.act(obs)
    assert pol.estimates("layout")[0].sum() == 0  # step 3's events are not in yet
    pol.update(obs, act, feedback(ctx, events={"practice.practised": seen}))
    pol.act(observe(ctx, 5))
    counts, mean = pol.estimates("layout")
    assert counts.sum() == ctx.n_users  # day 0 learned, day 1 not
    assert np.nansum(mean) == 1.0 and mean[user, arms0[user]] == 1.0


def test_day_plans_send_once_in_their_slot(tiny):
    """tiny.yaml: two pushed elements, night is quiet: 2 + 2 x 3 day plans of the single-send
    family (the default family, ``local``, is tested in test_bandit_plans.py)."""
    ctx = context(tiny)
    v = build_variants(ctx, day_plans=True, family="single")
    assert v.notify_names == ("none", "default", "send:task_reminder@morning",
                              "send:task_reminder@afternoon", "send:task_reminder@evening",
                              "send:spend_alert@morning", "send:spend_alert@afternoon",
                              "send:spend_alert@evening")
    plans = np.array([4, 5, 1])  # task_reminder@evening, spend_alert@morning, default
    schedule = np.array([[True, False]] * 3)  # the schedule sends task_reminder now
    assert v.notify_for(plans, schedule, slot=0).tolist() == [
        [False, False], [False, True], [True, False]]
    assert v.notify_for(plans, schedule, slot=2).tolist() == [
        [True, False], [False, False], [True, False]]
    assert build_variants(ctx).notify_names == ("none", "default", "send:task_reminder",
                                                "send:spend_alert")


def test_notify_cost_is_charged_per_send(no_delay):
    ctx = context(no_delay)
    pol = started(EpsilonGreedyPolicy(granularity="global", notify_cost=0.5, **STEP), ctx)
    obs = observe(ctx, 0)  # Monday morning: the default schedule sends the task reminder
    act = pol.act(obs)
    pol.update(obs, act, feedback(ctx))
    pol.act(observe(ctx, 1))
    _, mean = pol.estimates("notify")
    np.testing.assert_allclose(mean[0], [0.0, -0.5, -0.5, -0.5])  # none, default, send:x, send:y


# --- determinism -----------------------------------------------------------------------------


def rollout(name, scenario, seed, policy_seed, steps=16, **params):
    model = SimulationModel(scenario, seed, mesa_agents=False)
    pol = make(name, **params)
    pol.reset(model.context, np.random.SeedSequence(policy_seed))
    out = []
    for _ in range(steps):
        obs = model.observe()
        action = pol.act(obs)
        out.append((action.layout.copy(), action.notify.copy()))
        pol.update(obs, action, model.advance(action).feedback)
    return out


@pytest.mark.parametrize("params", [
    {"name": "epsilon_greedy"}, {"name": "thompson", "objective": "outcome"},
    {"name": "linucb", "objective": "mixed", "weight": 0.5},
    {"name": "linucb", "granularity": "user"}, {"name": "thompson", "granularity": "user"},
])
def test_same_seed_same_actions(tiny, params):
    a = rollout(scenario=tiny, seed=0, policy_seed=5, **params)
    b = rollout(scenario=tiny, seed=0, policy_seed=5, **params)
    c = rollout(scenario=tiny, seed=0, policy_seed=6, **params)
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
               for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=True))


# --- statistical: the trap on tiny.yaml ------------------------------------------------------

# Per-seed paired differences over seeds 0-39 (tiny.yaml, default hyperparameters: hold=day,
# horizon=2, discount=0.5; measured when the day-level crediting was written), engagement =
# clicks + opens, outcome = practice.practised events (true counts):
#   epsilon-greedy  engagement - static, engagement: mean +1839, sd 460, none below 0
#                   outcome - engagement learner, outcome: mean +81, sd 53, min -54
#   thompson        engagement - static: +1923 sd 521; outcome gap +107 sd 46, min +44
#   linucb          engagement - static: +1825 sd 386; outcome gap +23 sd 56, min -122, and
#                   outcome learner - static, outcome: +28 sd 46 (6 of 40 seeds below 0)
# Averaged over the 5 seeds below, the weakest margin asserted (epsilon-greedy's outcome gap) is
# ~3.4 standard errors above 0 (a false failure after a harmless change of random streams has a
# probability of about 3e-4); the engagement lifts are 8 or more standard errors clear. LinUCB's
# outcome gap is about one standard error at 5 seeds, so only its engagement lift is asserted
# (its weak outcome learning under day-level credit is reported in docs/policies.md).
SEEDS = range(5)


def totals(tiny, name, seed, **params):
    users = run(tiny, name, seed, policy_params=params).users
    weights = outcome_weights(context(tiny))
    engagement = float(users["clicks"].sum() + users["opens"].sum())
    outcome = float(sum(w * users[event].sum() for event, w in weights.items()))
    return engagement, outcome


@pytest.fixture(scope="module")
def static_totals(tiny):
    return np.array([totals(tiny, "static", s) for s in SEEDS])


@pytest.mark.parametrize(("engagement_policy", "outcome_policy"), [
    (("engagement_bandit", {}), ("outcome_bandit", {})),
    (("thompson", {"objective": "engagement"}), ("thompson", {"objective": "outcome"})),
    (("linucb", {"objective": "engagement"}), None),
])
def test_engagement_bandit_raises_engagement_outcome_bandit_raises_outcomes(
    tiny, static_totals, engagement_policy, outcome_policy
):
    """Engagement = clicks + opens; outcome = the instrumented outcome events (true counts)."""
    eng = np.array([totals(tiny, engagement_policy[0], s, **engagement_policy[1]) for s in SEEDS])
    assert eng[:, 0].mean() > static_totals[:, 0].mean(), (eng[:, 0], static_totals[:, 0])
    if outcome_policy is not None:
        out = np.array([totals(tiny, outcome_policy[0], s, **outcome_policy[1]) for s in SEEDS])
        assert out[:, 1].mean() > eng[:, 1].mean(), (out[:, 1], eng[:, 1])
