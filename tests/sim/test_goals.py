"""Goal dynamics on tiny hand-sized populations."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.scenario.schema import BudgetGoal, PracticeGoal, TasksGoal
from outcome_gym.sim.mechanisms.goals import (
    BudgetState,
    PracticeState,
    TasksState,
    drift_sum,
    tasks_apply_rows,
    tasks_end_rows,
)
from outcome_gym.sim.params import goal_spec
from tests.conftest import goal_params


class _ZeroPoisson:
    """Arrivals ``k`` (every user's) whatever the rates, drawn over the array of rates or run by
    run (a run of ``size`` users takes the next ``size`` of ``k``, cyclically).
    """

    def __init__(self, k):
        self.k = np.asarray(k)
        self.at = 0

    def poisson(self, lam, size=None):
        if size is None:
            return self.k.copy()
        out = np.take(self.k, np.arange(self.at, self.at + size), mode="wrap")
        self.at = (self.at + size) % self.k.shape[0]
        return out

    def standard_normal(self, n):
        return np.zeros(n)


def _need(st, step=0):
    """A state's N need and remaining at ``step``: its ``need_into`` on one-column arrays."""
    n = st.has.shape[0]
    need, rem = np.empty((n, 1)), np.empty((n, 1))
    st.need_into(need, rem, 0, step)
    return need[:, 0], rem[:, 0]


def _events(st, fill, *args):
    """The events ``fill(*args, out)`` adds to zeros, one N float64 array per event key (as
    Goals.apply passes its rows).
    """
    out = {k: np.zeros(st.has.shape[0]) for k in st.event_keys}
    fill(*args, out)
    return out


def _credit(st, credit, step, out):
    """Credit N progress without the step end's deadlines (credit_into's first part): tasks'
    tasks_apply_rows, the others' credit_into (their step end does nothing), on an N x 1
    column."""
    col = np.asarray(credit, dtype=np.float64).reshape(-1, 1)
    if isinstance(st, TasksState):
        tasks_apply_rows(col, 0, step, st.arrive, st.deadline, st.left, out["completed"],
                         out["completed_on_time"], out["ttc_steps"])
    else:
        st.credit_into(col, 0, step, out)


def _apply(st, credit, step):
    return _events(st, lambda c, s, out: _credit(st, c, s, out), credit, step)


def _tasks_end(st, step, out):
    """A tasks goal's step end alone (the second half of ``credit_into``'s pass)."""
    tasks_end_rows(step, st.late_span, st.arrive, st.deadline, out["failed"], out["abandoned"],
                   out["censored_steps"])


def _step_end(st, step):
    return _events(st, lambda s, out: _tasks_end(st, s, out), step)


def _tasks(tiny, n=2, **kw):
    goal = TasksGoal(kind="tasks", id="work", arrival_rate=1.0, deadline_days=2, effort=1.0, **kw)
    spec = goal_spec(goal, tiny.population.segments)
    return TasksState(spec, tiny.clock.slots_per_day, np.ones(n, bool), goal_params(spec, n),
                      np.random.default_rng(0))


def test_tasks_arrive_complete_earliest_deadline_first(tiny):
    st = _tasks(tiny)
    ev = st.day_start(0, 0, _ZeroPoisson([2, 0]))
    assert ev["arrived"].tolist() == [2, 0]
    need, rem = _need(st)
    assert rem.tolist() == [2.0, 0.0]
    assert need[0] == pytest.approx(1.0) and need[1] == 0.0
    out = _apply(st, np.array([1.5, 0.0]), step=3)
    assert out["completed"].tolist() == [1, 0]
    assert out["completed_on_time"].tolist() == [1, 0]
    assert out["ttc_steps"].tolist() == [3, 0]
    assert _need(st, 3)[1][0] == pytest.approx(0.5)


def test_tasks_fail_at_deadline_and_overflow(tiny):
    st = _tasks(tiny, n=1, max_pending=1)
    ev = st.day_start(0, 0, _ZeroPoisson([3]))
    assert ev["failed"].tolist() == [2]  # only one place: two fail at once
    assert _step_end(st, 6)["failed"].tolist() == [0]
    assert _step_end(st, 7)["failed"].tolist() == [1]  # deadline step 8 (2 days x 4 slots)
    assert _need(st)[1].tolist() == [1.0]  # late, still pending for late_days (1 day)
    out = _apply(st, np.array([1.0]), step=9)
    assert out["completed"].tolist() == [1] and out["completed_on_time"].tolist() == [0]


def test_late_tasks_are_abandoned_after_late_days(tiny):
    st = _tasks(tiny, n=1, late_days=0.5)
    st.day_start(0, 0, _ZeroPoisson([1]))
    assert _step_end(st, 7)["failed"].tolist() == [1]
    assert _step_end(st, 8)["abandoned"].tolist() == [0]
    assert _step_end(st, 9)["abandoned"].tolist() == [1]  # deadline 8 + 2 late steps
    assert _need(st)[1].tolist() == [0.0]


def _budget(tiny, ratio=1.2, drift=0.0):
    goal = BudgetGoal(kind="budget", id="budget", window_days=10, spend_ratio=ratio,
                      daily_noise=0.0, effort=1.0, act_by_day=5, adjustment=1.0, drift=drift)
    spec = goal_spec(goal, tiny.population.segments)
    return BudgetState(spec, np.ones(1, bool), goal_params(spec, 1), np.random.default_rng(0))


def test_budget_adjustment_cuts_the_rate_but_spent_money_stays_spent(tiny):
    st = _budget(tiny)
    ev = st.day_start(0, 0, _ZeroPoisson([0]))
    # no drift: rate 1.2 / 10 = 0.12; spent 0.12, projected 0.12 + 0.12 * 9 = 1.2 > 1 -> day 0
    assert ev["crossed"].tolist() == [1]
    assert _need(st)[0].tolist() == [1.0]
    out = _apply(st, np.array([1.0]), step=2)
    assert out["adjusted"].tolist() == [1] and out["adjusted_in_time"].tolist() == [1]
    assert out["tta_steps"].tolist() == [2]
    # adjustment=1 cuts the rate to the on-budget 1/10 = 0.1; day 0's extra 0.02 stays spent:
    # projected 0.12 + 0.1 * 9 = 1.02
    assert st.rate[0] == pytest.approx(0.1)
    assert st.projected()[0] == pytest.approx(1.02)
    assert _need(st)[0].tolist() == [0.0]


def test_budget_late_adjustment_costs_the_days_waited(tiny):
    early, late = _budget(tiny, ratio=1.5), _budget(tiny, ratio=1.5)
    for day in range(10):
        early.day_start(day, day * 4, _ZeroPoisson([0]))
        late.day_start(day, day * 4, _ZeroPoisson([0]))
        if day == 1:
            _apply(early, np.array([1.0]), day * 4)
        if day == 7:
            out = _apply(late, np.array([1.0]), day * 4)
            assert out["adjusted_in_time"].tolist() == [0]  # after act_by_day
    ev_e = early.day_start(10, 40, _ZeroPoisson([0]))
    ev_l = late.day_start(10, 40, _ZeroPoisson([0]))
    assert ev_e["window_closed"].tolist() == [1]
    # rate 0.15; early: 2 days x 0.15 + 8 x 0.10 = 1.10; late: 8 x 0.15 + 2 x 0.10 = 1.40
    assert ev_e["overspend"][0] == pytest.approx(0.10)
    assert ev_l["overspend"][0] == pytest.approx(0.40)
    assert ev_l["window_under_budget"].tolist() == [0]
    # the new window starts from the drifting rate again, not the adjusted one
    assert early.rate[0] == pytest.approx(0.15) and not early.adjusted[0]


def test_drift_sum_closed_form():
    # sum_{d<10} e^{0.1 d} = (e - 1) / (e^0.1 - 1) = 1.718282 / 0.105171 = 16.3380
    assert drift_sum(np.array([0.1]), 10)[0] == pytest.approx(16.3380, abs=1e-3)
    assert drift_sum(np.array([0.0, -0.0]), 30).tolist() == [30.0, 30.0]
    d = np.array([-0.05, 0.03])
    assert drift_sum(d, 7) == pytest.approx(np.exp(d[:, None] * np.arange(7)).sum(axis=1))


def test_budget_drift_crosses_inside_the_window(tiny):
    st = _budget(tiny, ratio=1.1, drift=0.1)
    crossed = []
    for day in range(10):
        crossed.append(int(st.day_start(day, day * 4, _ZeroPoisson([0]))["crossed"][0]))
    # k = 1.1 / 16.338 = 0.067328; projected on day d = k (sum_{j<=d} e^{0.1 j} + e^{0.1 d}(9-d)):
    # day 5: k (7.8170 + 1.64872 x 4) = 0.9703 < 1; day 6: k (9.6391 + 1.82212 x 3) = 1.0170 > 1
    assert crossed.index(1) == 6 and sum(crossed) == 1
    assert st.spent[0] == pytest.approx(1.1)  # spend_ratio stays the window total


def test_budget_default_drift_moves_crossings_off_day_zero():
    """Users just under the limit (spend_ratio 0.9..1.0): without drift almost none would cross,
    all on day 0 if any. With the default drift (normal, sd 0.02) those drifting down start fast
    and cross on day 0, those drifting up cross later. Measured over seeds 0..49 (N = 2000): of the
    crossers (63%), 0.63 to 0.68 cross on day 0 and 0.25 to 0.30 on day 10 or later.
    """
    goal = BudgetGoal(kind="budget", id="budget", spend_ratio={"dist": "uniform", "low": 0.9,
                                                               "high": 1.0})
    spec = goal_spec(goal, [])
    spec = type(spec)(spec.id, {k: (v,) for k, v in {
        "spend_ratio": goal.spend_ratio, "effort": goal.effort, "drift": goal.drift}.items()},
        spec.window_days, spec.daily_noise, spec.adjustment, spec.act_by_day)
    for seed in (3, 11):
        rng = np.random.default_rng(seed)
        st = BudgetState(spec, np.ones(2000, bool), goal_params(spec, 2000), rng)
        first = np.full(2000, -1)
        for day in range(30):
            ev = st.day_start(day, day, rng)
            first[(first < 0) & (ev["crossed"] > 0)] = day
        crossed = first >= 0
        assert 0.55 < (first[crossed] == 0).mean() < 0.75
        assert 0.20 < (first[crossed] >= 10).mean() < 0.35


def test_practice_counts_a_day_once_and_builds_habit(tiny):
    goal = PracticeGoal(kind="practice", id="practice", effort=1.0)
    spec = goal_spec(goal, tiny.population.segments)
    st = PracticeState(spec, np.ones(2, bool), goal_params(spec, 2), np.random.default_rng(0),
                       np.full(2, 0.5, np.float32), 0.01)
    st.day_start(0, 0, None)
    assert _apply(st, np.array([0.6, 1.0]), 0)["practised"].tolist() == [0, 1]
    assert _apply(st, np.array([0.6, 1.0]), 1)["practised"].tolist() == [1, 0]
    assert _need(st)[1].tolist() == [0.0, 0.0]
    st.day_start(1, 4, None)
    assert st.habit.tolist() == [0.5, 0.5]


def test_tasks_credit_ties_in_place_order_and_spans_several_tasks(tiny):
    # One user, three places. Arrivals (arrive, deadline, effort left) set by hand:
    #   place 0: (0, 10, 1.0), place 1: (1, 6, 0.5), place 2: (2, 6, 0.25)
    # Earliest deadline first, ties in place order: 1 (deadline 6), 2 (deadline 6), then 0.
    # Credit 1.0 at step 5: place 1 takes 0.5 (done, on time: 5 < 6, ttc 5 - 1 = 4); place 2
    # takes 0.25 (done, on time, ttc 3); place 0 takes the last 0.25 (left 0.75, not done).
    st = _tasks(tiny, n=1, max_pending=3)
    st.arrive[0] = [0, 1, 2]
    st.deadline[0] = [10, 6, 6]
    st.left[0] = np.array([1.0, 0.5, 0.25], np.float32)
    out = _apply(st, np.array([1.0]), step=5)
    assert out["completed"].tolist() == [2] and out["completed_on_time"].tolist() == [2]
    assert out["ttc_steps"].tolist() == [4 + 3]
    assert st.arrive[0].tolist() == [0, -1, -1]
    assert st.left[0, 0] == np.float32(0.75)
    # remaining sums the pending places' float32 effort: 0.75; need: 1 + (1 - (10 - 5) / span)
    # with span = 2 days x 4 slots = 8 steps: 1 + 3/8
    need, rem = _need(st, 5)
    assert rem.tolist() == [0.75] and need.tolist() == [1.0 + 3 / 8]


def test_tasks_arrivals_fill_empty_places_first_and_the_rest_overflow(tiny):
    # places: 0 pending, 1 empty, 2 empty; 3 arrive at step 4 with span 8 and effort 1:
    # places 1 and 2 take two (arrive 4, deadline 12), one overflows (fails at once)
    st = _tasks(tiny, n=1, max_pending=3)
    st.arrive[0] = [0, -1, -1]
    ev = st.day_start(1, 4, _ZeroPoisson([3]))
    assert ev["arrived"].tolist() == [3] and ev["failed"].tolist() == [1]
    assert st.arrive[0].tolist() == [0, 4, 4] and st.deadline[0, 1:].tolist() == [12, 12]
    assert st.left[0, 1:].tolist() == [1.0, 1.0]


def test_goals_needs_and_apply_sum_each_goals_events_in_one_block(tiny):
    # one tasks goal, one place: 3 arrive at step 0 (2 overflow and fail at once); the day's
    # events wait for the next apply, here at step 7, where the remaining task misses its
    # deadline (step 8): failed = 2 (the day's) + 1 (the deadline's), urgency 1 + (1 - 1/8)
    from outcome_gym.sim.mechanisms.goals import Goals

    goal = TasksGoal(kind="tasks", id="work", arrival_rate=1.0, deadline_days=2, effort=1.0,
                     max_pending=1)
    spec = goal_spec(goal, tiny.population.segments)
    goals = Goals([spec], tiny.clock.slots_per_day, np.ones((1, 1), bool),
                  [goal_params(spec, 1)], np.full(1, 0.1, np.float32), 0.1,
                  np.random.default_rng(0))
    goals.day_start(0, 0, _ZeroPoisson([3]))
    need, rem = goals.needs(7)
    assert rem.tolist() == [[1.0]] and need[0, 0] == pytest.approx(1.0 + 7 / 8)
    assert need.shape == (1, 1) and need.flags.c_contiguous
    ev = goals.apply(np.zeros((1, 1)), 7)
    assert list(ev) == [f"work.{k}" for k in TasksState.event_keys]
    assert all(v.dtype == np.float64 for v in ev.values())
    assert ev["work.arrived"].tolist() == [3.0]
    assert ev["work.failed"].tolist() == [3.0]
    assert ev["work.completed"].tolist() == [0.0]
    ev = goals.apply(np.ones((1, 1)), 8)  # the late task completes, not on time
    assert ev["work.failed"].tolist() == [0.0] and ev["work.arrived"].tolist() == [0.0]
    assert ev["work.completed"].tolist() == [1.0] and ev["work.ttc_steps"].tolist() == [8.0]
    assert ev["work.completed_on_time"].tolist() == [0.0]
    # the events block is reused (zeroed: the first step's 3 failures are gone above) and left out
    # of a pickle, whose copy makes its own
    import pickle

    copy = pickle.loads(pickle.dumps(goals))
    assert goals._rows is not None and copy._rows is None
    assert copy.apply(np.zeros((1, 1)), 9)["work.completed"].tolist() == [0.0]


def test_goals_apply_after_take_lays_the_events_out_for_the_kept_users(tiny):
    # apply (3 users), then take users 0 and 2 (a subset replay), then apply again: the block
    # of events (and needs' buffers) laid out anew for 2 users (no shape check: take must drop
    # them).
    # Arrivals are drawn for all 3 and kept for 0 and 2; kept user 2 completes its task
    from outcome_gym.sim.mechanisms.goals import Goals
    from outcome_gym.sim.rng import Rows

    goal = TasksGoal(kind="tasks", id="work", arrival_rate=1.0, deadline_days=2, effort=1.0)
    spec = goal_spec(goal, tiny.population.segments)
    goals = Goals([spec], tiny.clock.slots_per_day, np.ones((3, 1), bool),
                  [goal_params(spec, 3)], np.full(3, 0.1, np.float32), 0.1,
                  np.random.default_rng(0))
    goals.states[0].effort[:] = 1.0
    assert goals.apply(np.zeros((3, 1)), 0)["work.completed"].shape == (3,)
    assert goals.needs(0)[0].shape == (3, 1)  # needs' buffers made for 3 users: take drops them
    goals.take(Rows(3, np.array([0, 2])))
    goals.day_start(0, 1, _ZeroPoisson([1, 5, 1]))
    ev = goals.apply(np.array([[0.0], [1.0]]), 1)
    assert ev["work.arrived"].tolist() == [1.0, 1.0] and ev["work.completed"].tolist() == [0, 1]
    assert goals.needs(2)[0].shape == (2, 1)


def test_crediting_adds_a_states_events_to_what_is_there(tiny):
    st = _tasks(tiny)
    st.day_start(0, 0, _ZeroPoisson([2, 1]))
    out = {k: np.full(2, 5.0) for k in ("completed", "completed_on_time", "ttc_steps")}
    _credit(st, np.array([2.0, 0.0]), 3, out)  # added to what is there
    assert out["completed"].tolist() == [7.0, 5.0] and out["ttc_steps"].tolist() == [11.0, 5.0]


def test_the_budget_day_pass_equals_the_numpy_spending_bit_for_bit():
    # budget_day_rows replaced these numpy lines of BudgetState.day_start: the same bits
    from outcome_gym.sim.mechanisms.goals import budget_day_rows

    rng = np.random.default_rng(4)
    n = 500
    has, adjusted, crossed = rng.random(n) < 0.8, rng.random(n) < 0.3, rng.random(n) < 0.3
    rate, spent = rng.random(n) / 9.0, rng.random(n) * 0.9
    drifted, noise = rng.random(n) / 8.0, np.exp(0.3 * rng.standard_normal(n) - 0.045)
    crossed_step = np.where(crossed, 3, -1).astype(np.int64)
    days_left, step = 6, 17
    want_rate = np.where(adjusted, rate, drifted)
    want_spent = spent + np.where(has, want_rate * noise, 0.0)
    new = has & ~crossed & (want_spent + want_rate * days_left > 1.0)
    want_step = crossed_step.copy()
    want_step[new] = step
    got = np.full(n, 7, np.int64)  # every entry written: 1 at a crossing, 0 elsewhere
    budget_day_rows(has, adjusted, drifted, noise, days_left, step, rate, spent, crossed,
                    crossed_step, got)
    assert new.sum() > 20
    assert np.array_equal(rate, want_rate) and np.array_equal(spent, want_spent)
    assert np.array_equal(got, new.astype(np.int64)) and np.array_equal(crossed_step, want_step)
    assert np.array_equal(crossed, (crossed_step >= 0))


def test_a_budgets_window_events_are_zero_rows_until_its_window_closes(tiny):
    # BudgetState.day_start answers the window's events on the day it closes only; Goals.apply
    # then gives zero rows for them on every other day, and the closing day's counts on that
    # day (window 10 days, spend 0.12 a day: 1.2 spent, over by 0.2, not under budget)
    from outcome_gym.sim.mechanisms.goals import Goals

    spec = _budget(tiny).goal
    goals = Goals([spec], tiny.clock.slots_per_day, np.ones((1, 1), bool),
                  [goal_params(spec, 1)], np.full(1, 0.1, np.float32), 0.1,
                  np.random.default_rng(0))
    window = ("budget.window_closed", "budget.window_under_budget", "budget.overspend")
    for day in range(11):
        goals.day_start(day, day * 4, _ZeroPoisson([0]))
        ev = goals.apply(np.zeros((1, 1)), day * 4)
        if day < 10:
            assert [ev[k].tolist() for k in window] == [[0.0], [0.0], [0.0]], day
    assert ev["budget.window_closed"].tolist() == [1.0]
    assert ev["budget.window_under_budget"].tolist() == [0.0]
    assert ev["budget.overspend"][0] == pytest.approx(0.2)
    assert goals.states[0].day_start(11, 44, _ZeroPoisson([0])).keys() == {"crossed"}


def test_practice_habit_stays_zero_for_users_without_the_goal_after_a_take(tiny):
    # the users without the goal are fixed for the run (PracticeState keeps ~has): their habit
    # is zeroed at every day start, before and after a subset take (users 1 and 2 kept: 1 has
    # the goal, 2 does not)
    from outcome_gym.sim.rng import Rows

    goal = PracticeGoal(kind="practice", id="practice", effort=1.0)
    spec = goal_spec(goal, tiny.population.segments)
    st = PracticeState(spec, np.array([True, True, False]), goal_params(spec, 3),
                       np.random.default_rng(0), np.full(3, 0.5, np.float32), 0.01)
    st.take(Rows(3, np.array([1, 2])))
    for day in range(2):
        st.day_start(day, day * 4, None)
        _apply(st, np.array([1.0, 1.0]), day * 4)
    st.habit[1] = 0.3  # (as if set by hand: the day start zeroes it)
    st.day_start(2, 8, None)
    assert st.habit.tolist() == [0.75, 0.0]  # 0.5, then 0.5 + 0.5 (1 - 0.5)


def test_rate_runs_by_hand():
    from outcome_gym.sim.mechanisms.goals import MAX_RUNS, rate_runs

    assert rate_runs(np.array([0.3, 0.3, 0.6, 1.0, 1.0, 1.0])) == (
        (0.3, 0, 2), (0.6, 2, 3), (1.0, 3, 6))
    assert rate_runs(np.full(4, 0.15)) == ((0.15, 0, 4),)
    assert rate_runs(np.zeros(0)) == ()
    assert rate_runs(np.arange(MAX_RUNS, dtype=float)) == tuple(
        (float(k), k, k + 1) for k in range(MAX_RUNS))
    assert rate_runs(np.arange(MAX_RUNS + 1, dtype=float)) is None  # drawn over the array


def test_poisson_by_runs_draws_what_numpy_draws_over_the_array():
    # numpy draws a Poisson element by element, one rate or many: run by run gives the same
    # numbers and leaves the generator where the draw over the array leaves it (rates of 0 draw
    # nothing; a rate of 10 or more takes numpy's other method)
    from outcome_gym.sim.mechanisms.goals import poisson_by_runs, rate_runs

    cases = [np.repeat([0.3, 0.6, 1.0], [60, 40, 100]), np.full(200, 0.15),
             np.repeat([0.0, 2.5, 0.0, 30.0, 0.7], [7, 50, 3, 40, 100]), np.zeros(5),
             np.random.default_rng(2).random(50), np.zeros(0)]
    for rate in cases:
        runs = rate_runs(rate)
        a, b = np.random.default_rng(9), np.random.default_rng(9)
        for _ in range(3):  # a few days
            got, want = poisson_by_runs(a, rate, runs), b.poisson(rate)
            assert got.dtype == want.dtype == np.int64 and np.array_equal(got, want)
        assert a.bit_generator.state == b.bit_generator.state
    assert rate_runs(cases[4]) is None  # one rate per user: over the array


def test_tasks_arrivals_run_by_run_equal_the_draw_over_the_array(tiny):
    # a tasks state's day start draws its arrivals by the runs of its rates (one per segment
    # block): the arrivals it places are numpy's poisson over every user's rate
    goal = TasksGoal(kind="tasks", id="tasks", arrival_rate=1.5, deadline_days=2.0, effort=1.0,
                     max_pending=3)
    spec = goal_spec(goal, tiny.population.segments)
    has = np.arange(9) % 4 != 1  # users without the goal: a rate of 0 between the others
    st = TasksState(spec, 4, has, goal_params(spec, 9), np.random.default_rng(0))
    assert st._runs is not None and len(st._runs) > 1
    ev = st.day_start(0, 0, np.random.default_rng(4))
    assert ev["arrived"].tolist() == np.random.default_rng(4).poisson(st.draw_rate).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_tasks_credit_into_is_the_credit_then_the_step_end(tiny, seed):
    # one compiled pass (tasks_credit_rows) against its two parts called in turn, on random
    # pending places (some late, some at their deadline, some to abandon) and random credit,
    # events added to random counts: the same state and events, exactly
    rng = np.random.default_rng(seed)
    n, q, step = 40, 4, 9
    a, b = _tasks(tiny, n=n, max_pending=q), _tasks(tiny, n=n, max_pending=q)
    arrive = np.where(rng.random((n, q)) < 0.7, rng.integers(0, step + 1, (n, q)), -1)
    deadline = arrive + rng.integers(1, 12, (n, q))
    left = rng.choice([0.25, 0.5, 1.0, 2.0], (n, q)).astype(np.float32)
    for st in (a, b):
        st.arrive[:], st.deadline[:], st.left[:] = arrive, deadline, left
    credit = np.where(rng.random(n) < 0.6, rng.random(n) * 3, 0.0).reshape(-1, 1)
    start = {k: rng.integers(0, 5, n).astype(np.float64) for k in TasksState.event_keys}
    got = {k: v.copy() for k, v in start.items()}
    want = {k: v.copy() for k, v in start.items()}
    a.credit_into(credit, 0, step, got)
    _credit(b, credit[:, 0], step, want)
    _tasks_end(b, step, want)
    assert (b.arrive >= 0).sum() < (arrive >= 0).sum()  # something completed or was abandoned
    for k in TasksState.event_keys:
        assert np.array_equal(got[k], want[k]), k
    for name in ("arrive", "deadline", "left"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
