"""Goal dynamics on tiny hand-sized populations."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.scenario.schema import BudgetGoal, PracticeGoal, TasksGoal
from outcome_gym.sim.mechanisms.goals import BudgetState, PracticeState, TasksState
from outcome_gym.sim.params import goal_spec


class _ZeroPoisson:
    def __init__(self, k):
        self.k = np.asarray(k)

    def poisson(self, lam):
        return self.k.copy()

    def standard_normal(self, n):
        return np.zeros(n)


def _tasks(tiny, n=2, **kw):
    goal = TasksGoal(kind="tasks", id="work", arrival_rate=1.0, deadline_days=2, effort=1.0, **kw)
    return TasksState(goal_spec(goal, tiny.population.segments), tiny.clock.slots_per_day,
                      np.ones(n, bool), np.zeros(n, np.int16), np.random.default_rng(0))


def test_tasks_arrive_complete_earliest_deadline_first(tiny):
    st = _tasks(tiny)
    ev = st.day_start(0, 0, _ZeroPoisson([2, 0]))
    assert ev["arrived"].tolist() == [2, 0]
    assert st.remaining().tolist() == [2.0, 0.0]
    assert st.need()[0] == pytest.approx(1.0) and st.need()[1] == 0.0
    out = st.apply(np.array([1.5, 0.0]), step=3)
    assert out["completed"].tolist() == [1, 0]
    assert out["completed_on_time"].tolist() == [1, 0]
    assert out["ttc_steps"].tolist() == [3, 0]
    assert st.remaining()[0] == pytest.approx(0.5)


def test_tasks_fail_at_deadline_and_overflow(tiny):
    st = _tasks(tiny, n=1, max_pending=1)
    ev = st.day_start(0, 0, _ZeroPoisson([3]))
    assert ev["failed"].tolist() == [2]  # only one place: two fail at once
    assert st.step_end(6)["failed"].tolist() == [0]
    assert st.step_end(7)["failed"].tolist() == [1]  # deadline step 8 (2 days x 4 slots)
    assert st.remaining().tolist() == [1.0]  # late, still pending for late_days (1 day)
    out = st.apply(np.array([1.0]), step=9)
    assert out["completed"].tolist() == [1] and out["completed_on_time"].tolist() == [0]


def test_late_tasks_are_abandoned_after_late_days(tiny):
    st = _tasks(tiny, n=1, late_days=0.5)
    st.day_start(0, 0, _ZeroPoisson([1]))
    assert st.step_end(7)["failed"].tolist() == [1]
    assert st.step_end(8)["abandoned"].tolist() == [0]
    assert st.step_end(9)["abandoned"].tolist() == [1]  # deadline 8 + 2 late steps
    assert st.remaining().tolist() == [0.0]


def _budget(tiny, ratio=1.2):
    goal = BudgetGoal(kind="budget", id="budget", window_days=10, spend_ratio=ratio,
                      daily_noise=0.0, effort=1.0, act_by_day=5, adjustment=1.0)
    return BudgetState(goal_spec(goal, tiny.population.segments), np.ones(1, bool),
                       np.zeros(1, np.int16), np.random.default_rng(0))


def test_budget_crossing_and_adjustment_removes_projected_excess(tiny):
    st = _budget(tiny)
    ev = st.day_start(0, 0, _ZeroPoisson([0]))
    # spent 0.12 after day 0, projected 0.12 + 0.12 * 9 = 1.2 > 1 -> crossing on day 0
    assert ev["crossed"].tolist() == [1]
    assert st.need().tolist() == [1.0]
    out = st.apply(np.array([1.0]), step=2)
    assert out["adjusted"].tolist() == [1] and out["adjusted_in_time"].tolist() == [1]
    assert out["tta_steps"].tolist() == [2]
    assert st.projected()[0] == pytest.approx(1.0)  # adjustment=1 removes all the excess
    assert st.need().tolist() == [0.0]


def test_budget_late_adjustment_saves_less(tiny):
    early, late = _budget(tiny, ratio=1.5), _budget(tiny, ratio=1.5)
    for day in range(10):
        early.day_start(day, day * 4, _ZeroPoisson([0]))
        late.day_start(day, day * 4, _ZeroPoisson([0]))
        if day == 1:
            early.apply(np.array([1.0]), day * 4)
        if day == 7:
            out = late.apply(np.array([1.0]), day * 4)
            assert out["adjusted_in_time"].tolist() == [0]  # after act_by_day
    ev_e = early.day_start(10, 40, _ZeroPoisson([0]))
    ev_l = late.day_start(10, 40, _ZeroPoisson([0]))
    assert ev_e["window_closed"].tolist() == [1]
    assert ev_e["window_under_budget"].tolist() == [1]
    # the late adjuster had spent 8 x 0.15 = 1.2 already: nothing left to change
    assert ev_l["window_under_budget"].tolist() == [0]
    assert ev_l["overspend"][0] == pytest.approx(0.2)
    assert late.mult[0] == 1.0 and early.mult[0] == 1.0  # reset for the new window


def test_practice_counts_a_day_once_and_builds_habit(tiny):
    goal = PracticeGoal(kind="practice", id="practice", effort=1.0)
    st = PracticeState(goal_spec(goal, tiny.population.segments), np.ones(2, bool),
                       np.zeros(2, np.int16),
                       np.random.default_rng(0), np.full(2, 0.5, np.float32), 0.01)
    st.day_start(0, 0, None)
    assert st.apply(np.array([0.6, 1.0]), 0)["practised"].tolist() == [0, 1]
    assert st.apply(np.array([0.6, 1.0]), 1)["practised"].tolist() == [1, 0]
    assert st.remaining().tolist() == [0.0, 0.0]
    st.day_start(1, 4, None)
    assert st.habit.tolist() == [0.5, 0.5]
