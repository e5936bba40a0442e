"""The model's one-call passes of engagement, outside progress and goal crediting, by hand and
against the numpy they replaced (issue #18, eighth pass)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from outcome_gym.scenario.schema import PracticeGoal, TasksGoal
from outcome_gym.sim.mechanisms import engagement, outside
from outcome_gym.sim.mechanisms.goals import Goals, TasksState
from outcome_gym.sim.mechanisms.memory import MemoryParams
from outcome_gym.sim.params import goal_spec
from tests.conftest import goal_params

F32 = np.float32


def _step_pass(cost=(1.0, 2.0)):
    """Two elements (values 0 and 0.5 on one goal, costs ``cost``), two positions, two
    notification columns (elements 0 and 1, one channel); every utility 0, so each scanned
    position weighs 1; residue size 0.5; trust gain 0.1 and loss 0.2; layout memory with L = 0.5
    and a 6-second scan per position (no decision or pointing time): selecting position k at
    expertise e takes (1 - e) * 0.1 * (k + 1) minutes.
    """
    um = engagement.ChoiceParams(
        no_click_mass=1.0, cascade_continue=0.5, position_exponent=0.0, habit_utility=0.0,
        goal_utility=0.0, fatigue_utility=0.0, residue=0.5, max_engagements=2,
        need_met_exit=0.0, appeal_utility=0.0)
    fixed = engagement.Fixed.of(um, np.array([0, 1]), np.zeros(2), np.array(cost),
                                np.array([[0.0], [0.5]]), 2, np.dtype(F32))
    return engagement.StepPass(um, MemoryParams(0.5, 0.0, 6.0, 0.0, 0.0), 0.1, 0.2, fixed,
                               np.zeros(2, np.int64), 2, np.dtype(F32))


def _state():
    """Two users in a model's dtypes: attention 10, residue 0.2, trust 0.5; user 0 has seen
    element 0 at position 0 once (expertise 0.5 * 1 / 2 = 0.25 there)."""
    return dict(attention_left=np.full(2, 10.0, F32), residue=np.full(2, 0.2, F32),
                channel_trust=np.full((2, 1), 0.5, F32),
                memory_count=np.array([[1.0, 0.0], [0.0, 0.0]], F32),
                memory_element=np.array([[0, -1], [-1, -1]], np.int16))


def _run(step, st, u):
    opened = np.array([[False, True], [True, False]])
    ignored = np.array([[False, False], [False, True]])
    traits = (np.zeros(2, F32), np.zeros(2, F32), np.zeros((2, 2), F32), np.zeros(2, F32))
    return step.run(opened, ignored, np.array([True, False]), np.array([[0, 1], [0, 1]], np.int16),
                    np.ones((2, 1)), np.full((2, 1), 0.3), u, traits, **st)


def test_the_step_pass_by_hand():
    # Depth: u = 0.999 scans 1 + floor(log(0.001) / log(0.5)) = 10 -> both positions.
    # User 0 opens column 1 (element 1): gain min(0.5 * 0.8, 0.3) = 0.3, useful, 2 minutes,
    #   attention 8; nothing is needed any more. Session round 0: u = 0.1, target 0.1 * 3 = 0.3
    #   < weight 1 of position 0: picks element 0 (1 minute, no value: a distraction, residue
    #   0.2 + 0.5 * 0.8 = 0.6), selection (1 - 0.25) * 0.1 = 0.075 minutes: attention 6.925.
    #   Round 1: u = 0.999, target 2.997 >= 2: no click. Both positions seen: memory at 0 counts
    #   2, at 1 learns element 1 (count 1). Trust: one useful open, 0.5 + 0.1 * 0.5 = 0.55.
    # User 1 opens column 0 (element 0, a distraction): 1 minute, residue 0.6, attention 9; no
    #   session. Column 1 ignored: trust 0.5 - 0.2 * 0.5 = 0.4.
    step, st = _step_pass(), _state()
    u = np.full((2, 6), 0.999)
    u[0, 1] = 0.1
    eng, trust = _run(step, st, u)
    np.testing.assert_allclose(eng.progress[:, 0], [0.3, 0.0])
    assert eng.clicks.tolist() == [2, 1]
    np.testing.assert_allclose(eng.minutes, [3.0, 1.0])
    np.testing.assert_allclose(eng.goal_minutes, [2.0, 0.0])
    np.testing.assert_allclose(eng.distraction_minutes, [1.0, 1.0])
    np.testing.assert_allclose(eng.search_minutes, [0.075, 0.0])
    assert eng.element_clicks.tolist() == [[1, 1], [1, 0]]
    assert eng.element_totals.tolist() == [2, 1]
    assert eng.position_clicks.tolist() == [1, 0] and eng.position_views.tolist() == [1, 1]
    # the users' state, in place and in float32 (as numpy's astype of the float64 pass)
    assert st["attention_left"].tolist() == [F32(6.925), F32(9.0)]
    assert st["residue"].tolist() == [F32(eng.residue[0]), F32(eng.residue[1])]
    np.testing.assert_allclose(st["residue"], [0.6, 0.6], rtol=1e-6)
    assert trust.dtype == F32 and trust[:, 0].tolist() == [F32(0.55), F32(0.4)]
    assert st["memory_count"].tolist() == [[2.0, 1.0], [0.0, 0.0]]
    assert st["memory_element"].tolist() == [[0, 1], [-1, -1]]


def test_the_step_pass_keeps_the_records_arrays_fresh_and_reuses_its_buffers():
    # the record and the next observation keep minutes, clicks and the element and position
    # counts; the rest is scratch the next step overwrites
    step = _step_pass()
    u = np.full((2, 6), 0.999)
    first, _ = _run(step, _state(), u)
    second, _ = _run(step, _state(), u)
    for name in ("minutes", "clicks", "element_clicks", "position_clicks", "position_views",
                 "element_totals"):
        assert getattr(first, name) is not getattr(second, name), name
    for name in ("progress", "goal_minutes", "distraction_minutes", "self_control_minutes",
                 "search_minutes", "attention_left", "residue", "useful_opens", "seen_positions"):
        assert getattr(first, name) is getattr(second, name), name


def test_each_engagement_field_holds_its_own_array():
    # built by position: each kept buffer in its own field (by identity) and each fresh array
    # of its field's shape and dtype (n, s and n_el apart, so a swap of sizes shows)
    n, s, n_el = 5, 3, 4
    kept = engagement._buffers(n, s, 2, 6)
    eng = engagement._engagement(kept, n, s, n_el)
    for name, buf in zip(("progress", "goal_minutes", "distraction_minutes",
                          "self_control_minutes", "attention_left", "residue", "useful_opens",
                          "search_minutes", "seen_positions"), kept, strict=True):
        assert getattr(eng, name) is buf, name
    fresh = {"minutes": ((n,), np.float64), "element_clicks": ((n, n_el), np.int16),
             "clicks": ((n,), np.int64), "position_clicks": ((s,), np.int64),
             "position_views": ((s,), np.int64), "element_totals": ((n_el,), np.int64)}
    for name, (shape, dtype) in fresh.items():
        a = getattr(eng, name)
        assert a.shape == shape and a.dtype == dtype, name
        assert not any(a is b for b in kept), name
    assert len({id(getattr(eng, name)) for name in fresh}) == len(fresh)


def test_a_non_finite_minute_leaves_the_users_state_as_it_was():
    # element 0 costs inf: user 1's open is an infinite minute
    step, st = _step_pass(cost=(np.inf, 2.0)), _state()
    before = {k: v.copy() for k, v in st.items()}
    eng, trust = _run(step, st, np.full((2, 6), 0.999))
    assert eng is None and trust is st["channel_trust"]
    for k, v in st.items():
        assert np.array_equal(v, before[k]), k


def _numpy_outside(attention_left, budget, active, rate, need, remaining, progress):
    """The numpy formulas ``outside.day_credit`` replaced (the seventh pass's model code)."""
    minutes = np.where(active, np.maximum(attention_left, 0.0), budget).astype(np.float64)
    remaining = np.maximum(remaining - progress, 0.0)
    weight = np.where(remaining > 0, np.maximum(need, 0.0), 0.0)
    total_w = weight.sum(axis=1, keepdims=True)
    share = np.divide(weight, total_w, out=np.zeros_like(weight), where=total_w > 0)
    return np.minimum((rate * minutes)[:, None] * share, remaining)


def test_outside_day_credit_by_hand():
    # user 0: 10 minutes left x 0.02 = 0.2, still needed 0.5 - 0.1 and 1.0: split 1:2
    # user 1: quit, the whole budget (30) x 0.05 = 1.5 to the only pending goal
    # user 2: -1 minutes left counts 0: nothing
    left, budget = np.array([10.0, 0.0, -1.0], F32), np.array([20.0, 30.0, 5.0], F32)
    active, rate = np.array([True, False, True]), np.array([0.02, 0.05, 0.02], F32)
    need = np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 2.0]])
    remaining, progress = np.array([[0.5, 1.0], [3.0, 0.0], [0.5, 1.0]]), np.zeros((3, 2))
    progress[0, 0] = 0.1
    out = outside.day_credit(left, budget, active, rate, need, remaining, progress,
                             np.empty((3, 2)))
    r = float(F32(0.02)) * 10.0
    assert out[0] == pytest.approx([r / 3, 2 * r / 3])
    assert out[1] == pytest.approx([float(F32(0.05)) * 30.0, 0.0])
    assert out[2].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("n_goals", [1, 2, 3, 9])
def test_outside_day_credit_equals_the_numpy_bit_for_bit(n_goals):
    rng = np.random.default_rng(n_goals)
    n = 400
    left = (rng.random(n) * 40 - 5).astype(F32)
    left[:5] = [-0.0, 0.0, np.nan, -1.0, 0.0]
    budget, rate = (rng.random(n) * 60).astype(F32), (rng.random(n) * 0.05).astype(F32)
    active = rng.random(n) < 0.8
    need = np.where(rng.random((n, n_goals)) < 0.3, 0.0, rng.random((n, n_goals)) * 2)
    need[5, 0] = np.nan
    need[6, 0] = -0.0
    remaining = np.where(rng.random((n, n_goals)) < 0.3, 0.0, rng.random((n, n_goals)))
    progress = np.where(rng.random((n, n_goals)) < 0.5, 0.0, rng.random((n, n_goals)) * 0.3)
    remaining[7, 0], progress[8, 0] = np.nan, np.nan
    want = _numpy_outside(left, budget, active, rate, need, remaining, progress)
    got = outside.day_credit(left, budget, active, rate, need, remaining, progress,
                             np.empty((n, n_goals)))
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))  # -0.0 and NaN too
    minutes = outside.outside_minutes(left, budget, active)
    alone = outside.outside_credit(rate, minutes, need, remaining - progress)
    assert np.array_equal(alone.view(np.uint64), want.view(np.uint64))


class _OneArrival:
    """An ``arrivals`` stream whose every draw is 1 (over the array of rates, or run by run)."""

    def poisson(self, lam, size=None):
        return np.ones(np.shape(lam) if size is None else size, dtype=np.int64)


def _work_and_study(tiny, n):
    """Goals of ``n`` users, tasks (column 0: effort 1, deadline 2 days) and practice (column 1:
    effort 1), after day 0's start (one task each).
    """
    segs = tiny.population.segments
    specs = [goal_spec(TasksGoal(kind="tasks", id="work", arrival_rate=1.0, deadline_days=2,
                                 effort=1.0), segs),
             goal_spec(PracticeGoal(kind="practice", id="study", effort=1.0), segs)]
    goals = Goals(specs, tiny.clock.slots_per_day, np.ones((n, 2), bool),
                  [goal_params(spec, n) for spec in specs], np.full(n, 0.1, F32), 0.1,
                  np.random.default_rng(0))
    goals.day_start(0, 0, _OneArrival())
    return goals


def test_goals_apply_credits_each_goal_its_own_column(tiny):
    # tasks (column 0) and practice (column 1), one user: a task of effort 1 arrives at day
    # start; column 0's 1.0 completes it on time, column 1's 0.4 is not yet a practised day
    # (effort 1), the next step's 0.6 is (0.4 + 0.6 = 1)
    goals = _work_and_study(tiny, 1)
    ev = goals.apply(np.array([[1.0, 0.4]]), 0)
    assert ev["work.arrived"].tolist() == [1.0] and ev["work.completed"].tolist() == [1.0]
    assert ev["work.completed_on_time"].tolist() == [1.0]
    assert ev["study.practised"].tolist() == [0.0]
    # the events are the read-only rows of one matrix in goals.names order (the recorder's)
    (block,) = ev.matrices
    assert ev.names == goals.names == (*(f"work.{k}" for k in TasksState.event_keys),
                                       "study.practised")
    assert block[goals.names.index("work.completed_on_time")].tolist() == [1.0]
    assert not block.flags.writeable and not ev["work.arrived"].flags.writeable
    ev = goals.apply(np.array([[0.0, 0.6]]), 1)  # the same block, zeroed first (no day events)
    assert ev.matrices[0] is block
    assert ev["work.arrived"].tolist() == [0.0] and ev["work.completed"].tolist() == [0.0]
    assert ev["study.practised"].tolist() == [1.0]


def test_goals_needs_fills_its_buffers_anew_each_call(tiny):
    # tasks (column 0) and practice (column 1), two users: the same two buffers every call,
    # every entry rewritten (garbage written in between is gone); by hand: one task of effort 1
    # arrives at step 0 (deadline 2 days = 8 steps), so at step 2 its urgency is 1 + 2/8 and 1
    # is left; practice is needed (1) with its effort 1 left until credited
    goals = _work_and_study(tiny, 2)
    need, rem = goals.needs(2)
    assert tiny.clock.slots_per_day == 4
    assert need.tolist() == [[1.25, 1.0]] * 2 and rem.tolist() == [[1.0, 1.0]] * 2
    need[:], rem[:] = np.nan, np.nan
    again = goals.needs(2)
    assert again[0] is need and again[1] is rem
    assert need.tolist() == [[1.25, 1.0]] * 2 and rem.tolist() == [[1.0, 1.0]] * 2


@pytest.mark.parametrize("plain", [False, True])
def test_a_weight_without_its_exp_where_the_discount_is_zero(plain):
    # exp(min(u, 50)) * disc; a zero discount gives 0.0 without the exp, a NaN utility still NaN
    weight = engagement._weight.py_func if plain else engagement._weight
    assert weight(1.0, 0.5) == math.exp(1.0) * 0.5
    assert weight(60.0, 2.0) == math.exp(50.0) * 2.0  # capped at 50
    assert weight(3.0, 0.0) == 0.0 and weight(-np.inf, 0.0) == 0.0
    assert math.isnan(weight(np.nan, 0.0)) and math.isnan(weight(np.nan, 1.0))
