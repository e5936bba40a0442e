"""The day's boundary, run at the first slot of every day (docs/design.md, step 8).

Closing yesterday: element and app habits grow or fade (mechanisms/habits.py), trust (a discounted
memory of the days' progress, waste, overload and context failures) moves, and users quit at a
base rate raised by low trust (mechanisms/trust.py). Starting today: tasks arrive and spending is
added (mechanisms/goals.py, the ``arrivals`` stream), then attention is refilled, fatigue and
template wear recover, and a night's rest clears focus residue (mechanisms/focus.py; the goals
read none of these, so the order changes nothing). The last simulated day is never closed.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.errors import NumericalError
from outcome_gym.sim._jit import compiled
from outcome_gym.sim.mechanisms import trust
from outcome_gym.sim.mechanisms.goals import Goals
from outcome_gym.sim.mechanisms.habits import update_habit
from outcome_gym.sim.params import Params
from outcome_gym.sim.population import Population
from outcome_gym.sim.rng import Rows, Streams


def start_day(
    pop: Population, goals: Goals, p: Params, streams: Streams, day: int, step: int,
    rows: Rows | None = None,
) -> np.ndarray:
    """Close yesterday (from day 1 on), then start today; returns who churned at the close.

    ``rows``: which of the scenario's users ``pop`` holds (default: all of them).
    """
    churned = (close_day(pop, p, streams, day, step, rows) if day > 0
               else np.zeros(pop.n, bool))
    goals.day_start(day, step, streams["arrivals"])
    # the refill, the recoveries and the zeroing in one compiled pass (as five numpy calls they
    # were ~13 us of a day start at N = 200 in a run, ~4.5 as the pass); the factors in the
    # state's dtypes, as numpy rounded them
    refresh_rows(pop.active, pop.attention_budget, pop.attention_left, pop.fatigue,
                 pop.fatigue_recovery, pop.fatigue_recovery.dtype.type(1.0), pop.wear,
                 pop.wear.dtype.type(1.0 - p.day.wear_recovery), pop.sent_today, pop.residue)
    return churned


def close_day(pop: Population, p: Params, streams: Streams, day: int, step: int,
              rows: Rows | None = None) -> np.ndarray:
    """Habits, trust and churn from the day's accumulators; returns who quit (N bools).

    ``rows``: which of the scenario's users ``pop`` holds (default: all of them); the churn draw
    is made for all of them and ``pop``'s entries kept.

    Raises:
        NumericalError: Trust or habit is no longer finite.
    """
    rows = rows if rows is not None else Rows(pop.n)
    update_habit(pop.habit, pop.habit_rate[:, None], pop.used_today, pop.missed_days,
                 p.day.habit_fade)
    # the app habit's finiteness from its pass (the element habits' is not checked)
    app_finite = update_habit(pop.app_habit, pop.habit_rate, pop.session_today, pop.app_missed,
                              p.day.habit_fade)
    tp, n = p.trust, pop.n
    # trust's three passes around numpy's log, log1p and exp (mechanisms/trust.py)
    new_npe, q, neg_q = np.empty(n), np.empty(n), np.empty(n)
    trust.experience_rows(tp.trust_gain, pop.waste_today.dtype.type(tp.trust_waste),
                          tp.trust_overload, tp.overload_free, tp.failure_trust_cost,
                          tp.trust_memory, pop.progress_today, pop.waste_today, pop.sent_today,
                          pop.failures_today, pop.trust, pop.trust_npe, new_npe, q, neg_q)
    trust.odds_rows(np.log(q, out=q), np.log1p(neg_q, out=neg_q), new_npe, pop.trust_npe, q)
    np.exp(q, out=q)
    u = rows.uniform(streams["churn"], (rows.n_all,))
    f = pop.trust.dtype.type
    # fresh arrays for the new trust (as before: a reader may hold the old ones)
    new_trust, kept_npe, quit_now = (np.empty_like(pop.trust), np.empty_like(pop.trust_npe),
                                     np.empty(n, bool))
    # a churned user's trust stays where it was when they left (they have no more experience);
    # the users who quit now are inactive from here on, their day of churn kept
    finite = trust.churn_rows(q, new_npe, pop.trust, pop.trust_npe, pop.churn_sensitivity, u,
                              f(tp.churn_trust), f(max(tp.churn_trust, 1e-9)), f(tp.churn_rate),
                              f(tp.churn_base), f(0), f(1), day, pop.active, pop.churn_day,
                              new_trust, kept_npe, quit_now)
    pop.trust, pop.trust_npe = new_trust, kept_npe
    pop.reset_day()
    if not (finite and app_finite):
        raise NumericalError("habits/trust", step)
    return quit_now


@compiled
def refresh_rows(
    active, budget, attention_left, fatigue, recovery, one, wear, wear_keep, sent_today, residue,
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user i, in place: the day's attention (``budget`` if active, else 0), fatigue times
    ``one - recovery``, wear times ``wear_keep``, no sends today and no residue (a night's rest
    clears it).

    The float work as numpy did it on the float32 state: ``one - recovery`` and the products in
    the state's dtype (``one`` and ``wear_keep``, the Python float ``1 - wear_recovery``, given in
    it: numpy rounds a Python float to a float32 array's dtype). Only a Python float rounds so:
    an ``np.float64`` factor would have kept numpy's product in float64 (the scenario's
    parameters are Python floats; tests/sim/test_daily.py runs :func:`start_day` itself against
    the numpy statements).
    """
    for i in range(active.shape[0]):
        attention_left[i] = budget[i] if active[i] else 0.0
        fatigue[i] = fatigue[i] * (one - recovery[i])
        for k in range(wear.shape[1]):
            wear[i, k] = wear[i, k] * wear_keep
        for c in range(sent_today.shape[1]):
            sent_today[i, c] = 0
        residue[i] = 0.0


def accumulate(pop: Population, started: np.ndarray, layout: np.ndarray,
               element_clicks: np.ndarray, progress: np.ndarray,
               distraction_minutes: np.ndarray) -> None:
    """A slot's additions to the day's accumulators that :func:`close_day` reads, in place.

    Elements used and sessions held today; the layout of each user's last session; the slot's
    goal progress (summed over goals) and distraction minutes (one compiled pass,
    :func:`accumulate_rows`).

    The arrays as the pass takes them, passed as they are (a step's: no conversion): C-ordered.

    Args:
        pop: The population (its ``*_today`` arrays and ``last_layout`` are updated).
        started: N users who started a session this slot.
        layout: N x S layout shown this slot.
        element_clicks: N x E engagements this slot.
        progress: N x G goal progress credited in the app this slot (float64).
        distraction_minutes: N minutes of distracting engagements this slot.
    """
    accumulate_rows(started, layout, element_clicks, progress, distraction_minutes,
                    pop.used_today, pop.session_today, pop.last_layout, pop.progress_today,
                    pop.waste_today)


@compiled
def accumulate_rows(
    started, layout, element_clicks, progress, distraction, used_today, session_today,
    last_layout, progress_today, waste_today,
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user i: ``used_today |= clicks > 0``, ``session_today |= started``, the layout kept
    as ``last_layout`` if a session started, ``progress_today += float32(sum_g progress)`` and
    ``waste_today += float32(distraction)``.

    The float work as numpy did it: the goals' progress columns summed left to right in float64,
    rounded to the float32 state and added there in float32.
    """
    n, n_goals = progress.shape
    for i in range(n):
        for e in range(element_clicks.shape[1]):
            if element_clicks[i, e] > 0:
                used_today[i, e] = True
        if started[i]:
            session_today[i] = True
            for k in range(layout.shape[1]):
                last_layout[i, k] = layout[i, k]
        if n_goals > 0:
            total = progress[i, 0]
            for g in range(1, n_goals):
                total += progress[i, g]
            progress_today[i] += np.float32(total)
        waste_today[i] += np.float32(distraction[i])


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`accumulate_rows` and :func:`refresh_rows` for the
    population's dtypes.
    """
    one = np.ones(1, bool)
    f32 = np.ones(1, np.float32)
    refresh_rows(one, f32, f32.copy(), f32.copy(), f32.copy(), np.float32(1), np.ones((1, 1),
                 np.float32), np.float32(0.5), np.zeros((1, 1), np.int16), f32.copy())
    accumulate_rows(one, np.zeros((1, 1), np.int16), np.ones((1, 1), np.int16), np.ones((1, 1)),
                    np.ones(1), np.zeros((1, 1), bool), one.copy(), np.zeros((1, 1), np.int16),
                    np.zeros(1, np.float32), np.zeros(1, np.float32))
