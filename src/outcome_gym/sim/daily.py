"""The day's boundary, run at the first slot of every day (docs/design.md, step 8).

Closing yesterday: element and app habits grow or fade (mechanisms/habits.py), trust (a discounted
memory of the days' progress, waste, overload and context failures) moves, and users quit at a
base rate raised by low trust (mechanisms/trust.py). Starting today: attention is refilled, tasks
arrive and spending is added (mechanisms/goals.py, the ``arrivals`` stream), fatigue and template
wear recover, and a night's rest clears focus residue (mechanisms/focus.py). The last simulated day
is never closed.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.errors import NumericalError
from outcome_gym.sim._rows import rowsum
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
    pop.attention_left[:] = np.where(pop.active, pop.attention_budget, 0.0)
    goals.day_start(day, step, streams["arrivals"])
    pop.fatigue *= 1.0 - pop.fatigue_recovery
    pop.wear *= 1.0 - p.day.wear_recovery
    pop.sent_today[:] = 0
    pop.residue[:] = 0.0  # a night's rest clears residue
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
    pop.habit, pop.missed_days = update_habit(
        pop.habit, pop.habit_rate[:, None], pop.used_today, pop.missed_days, p.day.habit_fade
    )
    pop.app_habit, pop.app_missed = update_habit(
        pop.app_habit, pop.habit_rate, pop.session_today, pop.app_missed, p.day.habit_fade
    )
    x = trust.experience(p.trust, pop.progress_today, pop.waste_today, rowsum(pop.sent_today),
                         pop.failures_today)
    new_trust, new_npe = trust.update_trust(p.trust, pop.trust, pop.trust_npe, x)
    # a churned user's trust stays where it was when they left (they have no more experience)
    pop.trust = np.where(pop.active, new_trust, pop.trust)
    pop.trust_npe = np.where(pop.active, new_npe, pop.trust_npe)
    quit_now = trust.churn(p.trust, pop.trust, pop.churn_sensitivity, pop.active,
                           rows.uniform(streams["churn"], (rows.n_all,)))
    pop.active &= ~quit_now
    pop.churn_day[quit_now] = day
    pop.reset_day()
    if not (np.isfinite(pop.trust).all() and np.isfinite(pop.app_habit).all()):
        raise NumericalError("habits/trust", step)
    return quit_now
