"""Goal dynamics for the three goal kinds (docs/design.md, step 7).

Every goal state exposes the same small interface, vectorized over users, which
:class:`Goals` drives (one call per goal and phase of a step):

* ``need_into(need, remaining, col, step)``: writes column ``col`` of the N x G ``need`` (urgency
  weight, 0 when nothing is pending; used in choice and session start) and ``remaining``
  (progress still needed now);
* ``day_start(day, step, rng)``: exogenous arrivals/spending for the day (same draws under every
  policy), window closes; returns the day's events;
* ``credit_into(progress, col, step, out)``: credit column ``col`` of the N x G ``progress``
  (this step's progress; no copy of the column), then pass the deadlines of the step's end, the
  events of both added to ``out`` (what :meth:`Goals.apply` calls).

Events are per-user arrays keyed ``<event>`` (``event_keys``, in order;
:data:`~outcome_gym.scenario.schema.GOAL_EVENTS` lists them per kind): whole-number counts, but a
budget's ``overspend``.

**Tasks** arrive as Poisson(arrival_rate) per day into at most ``max_pending`` places (overflow
fails at once), each needing ``effort`` progress before ``deadline_days``; progress goes to the
earliest deadline first. A task that misses its deadline counts as failed and stays pending, late,
for ``late_days`` more (it can still be completed, not on time), then is abandoned.
Need = 1 + share of the most urgent task's time used up.

**Budget**: limit 1 per window of W days. On day d of the window (d = 0..W-1) the user spends

    rate_d = k * exp(drift * d),   k = spend_ratio / sum_{j<W} exp(drift * j)
    spend_d = rate_d * exp(sigma Z - sigma^2/2)

with a per-user ``drift`` (log-rate change per day; > 0: spending creeps up through the window) and
``k`` chosen so that ``spend_ratio`` stays the expected window total of a user who never adjusts.
Projected = spent + today's rate x days left; the user is *over* when projected > 1 (the first such
day is the crossing): with drift > 0 the projection rises through the window, so crossings fall
inside it rather than on day 0. While over and not adjusted the user needs ``effort`` progress on
budget-valued elements (or outside progress) to adjust. Adjusting is a change of behaviour, not of
the total: it removes ``adjustment`` of the daily rate's excess over the on-budget rate 1/W,

    rate <- rate - adjustment * max(rate - 1/W, 0)      and the drift stops for the window,

from the next day's spending on (a day's spending is added at its start). Money spent before the
adjustment stays spent, so every day of waiting adds the excess of one more day: acting late costs,
and the value of an alert decays with the days of the window already gone (grubb2025, karlan2016).
An adjustment counts as in time up to day ``act_by_day``.

**Practice**: ``effort`` progress in a day counts as practised; the practice habit follows
:func:`~outcome_gym.sim.mechanisms.habits.update_habit` (lally2010).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from outcome_gym.scenario.distributions import Param
from outcome_gym.sim._jit import compiled, written_zeros
from outcome_gym.sim.interface import MetricRows
from outcome_gym.sim.mechanisms.habits import update_habit
from outcome_gym.sim.rng import Rows

if TYPE_CHECKING:  # sim.population's plan holds the goals' parameters (sim.world imports both)
    from outcome_gym.sim.population import PerUser

Events = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Spec:
    """A goal, compiled: its id and, per per-user parameter, one distribution per segment.

    Each segment's distribution is its ``goal_params`` override, else the goal's own.
    """

    id: str
    per_user: Mapping[str, tuple[Param, ...]]


@dataclass(frozen=True)
class TasksSpec(_Spec):
    """A tasks goal (``per_user``: ``arrival_rate``, ``deadline_days``, ``effort``)."""

    max_pending: int
    late_days: float


@dataclass(frozen=True)
class BudgetSpec(_Spec):
    """A budget goal (``per_user``: ``spend_ratio``, ``effort``, ``drift``)."""

    window_days: int
    daily_noise: float
    adjustment: float
    act_by_day: int


@dataclass(frozen=True)
class PracticeSpec(_Spec):
    """A practice goal (``per_user``: ``effort``)."""


GoalSpec = TasksSpec | BudgetSpec | PracticeSpec


def drift_sum(drift: np.ndarray, window_days: int) -> np.ndarray:
    """sum_{d<W} exp(drift * d): the window total of a rate that starts at 1 and drifts.

    >>> float(drift_sum(np.array([0.0]), 30)[0])
    30.0
    """
    small = np.abs(drift) < 1e-9
    safe = np.where(small, 1.0, drift)
    return np.where(small, float(window_days), np.expm1(safe * window_days) / np.expm1(safe))


def _take(state: GoalState, rows: Rows, keep_all: tuple[str, ...] = ()) -> None:
    """Keep the users ``rows`` of every per-user array of a goal state (those of length N), but
    for ``keep_all``: what the state's draws read for every user.
    """
    for name, value in vars(state).items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (rows.n_all,) and \
                name not in keep_all:
            setattr(state, name, rows.keep(value))
    state.rows = rows


_NO_DEADLINE = int(np.iinfo(np.int32).max)  # the sort key of an empty place


@compiled
def tasks_need_rows(
    step, arrive, deadline, span, left, need, remaining, col
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user: need = 1 + clip(1 - (soonest deadline - step) / span, 0, 1) with anything
    pending, else 0; remaining = the pending places' effort left, summed left to right in
    float32 (as the float32 row sum it replaces), written into column ``col`` of ``need`` and
    ``remaining`` (N x G: every goal's pass fills its own column, no gathered copies).
    """
    n, q = arrive.shape
    for i in range(n):
        soonest = _NO_DEADLINE
        pending = False
        rem = np.float32(0.0)
        for k in range(q):
            if arrive[i, k] >= 0:
                pending = True
                soonest = min(soonest, deadline[i, k])
                rem += left[i, k]
        remaining[i, col] = rem
        if pending:
            used = 1.0 - (soonest - step) / span[i]
            need[i, col] = 1.0 + min(max(used, 0.0), 1.0)
        else:
            need[i, col] = 0.0


@compiled
def tasks_arrive_rows(
    step, arrived, span, effort, arrive, deadline, left, overflow
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Each user's ``arrived`` new tasks take the empty places in place order (arrival ``step``,
    deadline ``step + span``, effort left ``effort``); ``overflow`` (= ``arrived`` on entry)
    ends as the tasks that found no place.
    """
    n, q = arrive.shape
    for i in range(n):
        for k in range(q):
            if overflow[i] <= 0:
                break
            if arrive[i, k] < 0:
                arrive[i, k] = step
                deadline[i, k] = step + span[i]
                left[i, k] = effort[i]
                overflow[i] -= 1


@compiled
def tasks_credit_rows(
    credit, col, step, late_span, arrive, deadline, left, completed, on_time, ttc, failed,
    abandoned, age
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A tasks goal's step in one call: :func:`tasks_apply_rows` (the credit, earliest deadline
    first), then :func:`tasks_end_rows` (the deadlines of the step's end), both copied in: one
    dispatch and no Python frames between them, and the two compiled here only (the goals'
    compilation takes as long as with two passes: docs/performance.md, fourteenth pass).
    """
    tasks_apply_rows(credit, col, step, arrive, deadline, left, completed, on_time, ttc)
    tasks_end_rows(step, late_span, arrive, deadline, failed, abandoned, age)


@compiled.inlined  # copied into tasks_credit_rows
def tasks_apply_rows(
    credit, col, step, arrive, deadline, left, completed, on_time, ttc
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Credit each user's progress (column ``col`` of the N x G ``credit``) to their pending
    tasks, earliest deadline first.

    Places are visited in the stable order of their deadline (empty places last, unvisited:
    their share is 0); a task takes ``min(left, credit)`` (in float64, subtracted from ``left``
    as float32), and is done once ``left <= 1e-6``: counted, on time if ``step < deadline``,
    its steps since arrival added to ``ttc``, and its place emptied. Only users with credit > 0
    are touched. ``arrive`` and ``left`` are updated in place.
    """
    n, q = arrive.shape
    order = np.empty(q, dtype=np.int64)
    for i in range(n):
        c = credit[i, col]
        if not c > 0:
            continue
        # the pending places by deadline, ties in place order (insertion sort: q is small)
        m = 0
        for k in range(q):
            if arrive[i, k] < 0:
                continue
            pos = m
            while pos > 0 and deadline[i, order[pos - 1]] > deadline[i, k]:
                order[pos] = order[pos - 1]
                pos -= 1
            order[pos] = k
            m += 1
        for r in range(m):
            k = order[r]
            take = min(np.float64(left[i, k]), c)
            left[i, k] = left[i, k] - np.float32(take)
            c -= take
            if left[i, k] <= 1e-6:
                completed[i] += 1
                if step < deadline[i, k]:
                    on_time[i] += 1
                ttc[i] += step - arrive[i, k]
                arrive[i, k] = -1


@compiled.inlined  # copied into tasks_credit_rows
def tasks_end_rows(
    step, late_span, arrive, deadline, failed, abandoned, age
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """At a step's end, per pending task: deadline = step + 1 is a miss (``failed``); deadline +
    ``late_span`` <= step + 1 drops it (``abandoned``, its age ``step + 1 - arrive`` added to
    ``age``, its place emptied).
    """
    n, q = arrive.shape
    for i in range(n):
        for k in range(q):
            if arrive[i, k] < 0:
                continue
            if deadline[i, k] == step + 1:
                failed[i] += 1
            if deadline[i, k] + late_span <= step + 1:
                abandoned[i] += 1
                age[i] += step + 1 - arrive[i, k]
                arrive[i, k] = -1


@compiled
def budget_need_rows(
    has, adjusted, spent, rate, days_left, effort, progress, need, remaining, col
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user: over = has, not adjusted and spent + rate x days_left > 1; need = 1 if over
    else 0; remaining = max(effort - progress, 0) if over else 0 (column ``col`` of N x G).
    """
    for i in range(spent.shape[0]):
        if has[i] and not adjusted[i] and spent[i] + rate[i] * days_left > 1.0:
            need[i, col] = 1.0
            remaining[i, col] = max(effort[i] - progress[i], 0.0)
        else:
            need[i, col] = 0.0
            remaining[i, col] = 0.0


@compiled
def budget_apply_rows(
    credit, col, step, has, spent, days_left, effort, crossed_step, in_window, on_budget, adjustment,
    adjusted, rate, progress, adjust, in_time, tta,
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user over the limit (as :func:`budget_need_rows`, before crediting): progress +=
    credit (column ``col`` of the N x G ``credit``); reaching the effort adjusts (rate <- rate -
    adjustment x max(rate - 1/W, 0), ``on_budget`` = 1/W), in time if ``in_window`` (the day
    is at most act_by_day), with the steps since the crossing in ``tta`` (0 without one), each
    added to its event array (int64 or float64). ``adjusted``, ``rate`` and ``progress`` are updated in place.
    """
    for i in range(spent.shape[0]):
        over = has[i] and not adjusted[i] and spent[i] + rate[i] * days_left > 1.0
        if not over:
            continue
        progress[i] = progress[i] + credit[i, col]
        if progress[i] >= effort[i]:
            rate[i] = rate[i] - adjustment * max(rate[i] - on_budget, 0.0)
            adjusted[i] = True
            adjust[i] += 1
            if in_window:
                in_time[i] += 1
            if crossed_step[i] >= 0:
                tta[i] += step - crossed_step[i]


@compiled
def budget_day_rows(
    has, adjusted, drifted, noise, days_left, step, rate, spent, crossed, crossed_step, new_cross
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A day's spending per user, in place: the rate drifts (``drifted``) unless adjusted;
    ``spent`` += rate x noise (users with the goal; others + 0.0, as numpy's ``where`` added);
    a first projection ``spent + rate x days_left`` > 1 is a crossing (``crossed`` and the
    step kept, ``new_cross`` 1 there and 0 elsewhere).

    Every entry of the outputs is stored, changed or not: no masked stores, which are slow on
    pages not yet written (``new_cross`` is a fresh array; see ``sim/_jit.written_zeros``); at
    N = 1e6 they made this 2-3 ms pass 17 ms.
    """
    for i in range(spent.shape[0]):
        r = rate[i] if adjusted[i] else drifted[i]
        rate[i] = r
        s = spent[i] + (r * noise[i] if has[i] else 0.0)
        spent[i] = s
        new = has[i] and not crossed[i] and s + r * days_left > 1.0
        crossed[i] = crossed[i] or new
        crossed_step[i] = step if new else crossed_step[i]
        new_cross[i] = 1 if new else 0


@compiled
def practice_need_rows(
    has, done, effort, today, need, remaining, col
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Practice per user: need = 1 and remaining = effort - today until today's practice is done
    (0 without the goal), in column ``col`` of N x G.
    """
    for i in range(today.shape[0]):
        if has[i] and not done[i]:
            need[i, col] = 1.0
            remaining[i, col] = effort[i] - today[i]
        else:
            need[i, col] = 0.0
            remaining[i, col] = 0.0


@compiled
def practice_apply_rows(
    has, done, effort, today, credit, col, practised
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Practice per user: today += credit (column ``col`` of the N x G ``credit``; users with
    the goal); a day reaching the effort is
    practised (``done`` set, 1 added to ``practised``).
    """
    for i in range(today.shape[0]):
        if has[i]:
            today[i] = today[i] + credit[i, col]
            if not done[i] and today[i] >= effort[i]:
                done[i] = True
                practised[i] += 1


def compile_kernel() -> None:
    """Compile (or load from the cache) the goal passes now, on one user's state."""
    arrive, deadline = np.full((1, 1), 0, np.int32), np.ones((1, 1), np.int32)
    left, z = np.ones((1, 1), np.float32), np.zeros(1, np.int64)
    col = np.zeros((1, 1))
    f = np.zeros(1)  # a model's events: float64 rows of Goals.apply's block
    tasks_need_rows(0, arrive, deadline, np.ones(1, np.int32), left, col, col.copy(), 0)
    tasks_credit_rows(np.ones((1, 1)), 0, 0, 1, arrive, deadline, left, f, f.copy(), f.copy(),
                      f.copy(), f.copy(), f.copy())
    tasks_arrive_rows(0, z.copy(), np.ones(1, np.int32), np.ones(1, np.float32), arrive,
                      deadline, left, z.copy())
    yes, one = np.ones(1, bool), np.ones(1)
    budget_need_rows(yes, ~yes, one, one, 1, one, one, col.copy(), col.copy(), 0)
    budget_apply_rows(col.copy(), 0, 0, yes, one, 1, one, z.copy(), True, 0.5, 0.5, ~yes,
                      one.copy(), one.copy(), f.copy(), f.copy(), f.copy())
    budget_day_rows(yes, ~yes, one, one, 1, 0, one.copy(), one.copy(), ~yes, z.copy(), z.copy())
    practice_need_rows(yes, ~yes, one, one.copy(), col.copy(), col.copy(), 0)
    practice_apply_rows(yes, ~yes, one, one.copy(), col.copy(), 0, f.copy())


MAX_RUNS = 6
"""The most runs of one arrival rate whose Poisson draws are made run by run (above it, over
the array of rates). An array of rates costs numpy two Python-level ``np.all`` checks of the
rates (``Goals.day_start`` in a day start at N = 200, the
benchmark's three runs: 35.8 -> 23.8 us). In a hot loop at N = 200 drawing run by run stops
paying at 6-7 runs (8 runs: 12.6-13.0 us against 11.7-12.0 for one call; the review of day13);
the bundled scenarios have 1-3."""


def rate_runs(rate: np.ndarray) -> tuple[tuple[float, int, int], ...] | None:
    """The runs of consecutive users with one rate, as (rate, start, stop); None for more than
    :data:`MAX_RUNS` (the rates change too often for drawing run by run to pay).

    Segments are blocks of consecutive users (population.py), so a rate per segment has one
    run per segment.
    """
    n = rate.shape[0]
    cuts = np.flatnonzero(rate[1:] != rate[:-1]) + 1  # a NaN rate is a run of its own
    if cuts.shape[0] >= MAX_RUNS:
        return None
    bounds = [0, *cuts.tolist(), n] if n else []  # no users: no runs
    return tuple((float(rate[a]), a, b) for a, b in pairwise(bounds))


def poisson_by_runs(rng: np.random.Generator, rate: np.ndarray,
                    runs: tuple[tuple[float, int, int], ...] | None) -> np.ndarray:
    """``rng.poisson(rate)`` (N int64), drawn run by run when ``runs`` (:func:`rate_runs`'s) says
    where the rate is one number: the same draws in the same order, as numpy draws a Poisson
    element by element from the same function whether its rate is one number or an array.
    """
    if runs is None:
        return rng.poisson(rate)
    out = np.empty(rate.shape[0], np.int64)
    for lam, a, b in runs:
        out[a:b] = rng.poisson(lam, b - a)
    return out


class TasksState:
    """Arriving tasks with deadlines (see module docstring)."""

    kind = "tasks"
    event_keys = ("arrived", "completed", "completed_on_time", "failed", "abandoned", "ttc_steps",
                  "censored_steps")

    def __init__(
        self,
        spec: TasksSpec,
        slots_per_day: int,
        has: np.ndarray,
        params: Mapping[str, PerUser],
        rng: np.random.Generator,
    ) -> None:
        n, q = has.shape[0], spec.max_pending
        self.has = np.ascontiguousarray(has)  # a column of has_goal: one compiled layout
        # ndarray.clip: what np.clip calls, without its wrapper (at every reset)
        self.rate = params["arrival_rate"].sample(rng).clip(0, None) * has
        self.draw_rate = self.rate  # every user's: the arrivals are drawn for all N users
        # its runs are worked out once: read-only, so that a write in this run fails instead of
        # leaving them stale (a pickled or copied model's arrays are writable again)
        self.draw_rate.setflags(write=False)
        self._runs = rate_runs(self.draw_rate)  # fixed with it (a take keeps every user's)
        self.rows = Rows(n)
        self.effort = params["effort"].sample(rng).clip(0.01, None).astype(np.float32)
        days = params["deadline_days"].sample(rng).clip(0.01, None)
        self.span = np.maximum(np.rint(days * slots_per_day), 1).astype(np.int32)
        self.late_span = round(spec.late_days * slots_per_day)
        self.arrive = np.full((n, q), -1, dtype=np.int32)
        self.deadline = np.zeros((n, q), dtype=np.int32)
        self.left = np.zeros((n, q), dtype=np.float32)

    def need_into(self, need: np.ndarray, remaining: np.ndarray, col: int, step: int) -> None:
        """Into column ``col`` of N x G ``need`` and ``remaining``: 1 + share of the most urgent
        task's time used up at ``step`` (0 with nothing pending) and the effort left over all
        pending tasks, in one compiled pass (:func:`tasks_need_rows`).
        """
        tasks_need_rows(step, self.arrive, self.deadline, self.span, self.left, need,
                        remaining, col)

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> Events:
        """Poisson arrivals for the day (drawn for every user: common random numbers)."""
        # poisson's int64 draw is a fresh array: no copy to make it one
        arrived = self.rows.keep(poisson_by_runs(rng, self.draw_rate, self._runs)).astype(
            np.int64, copy=False)
        overflow = arrived.copy()
        tasks_arrive_rows(step, arrived, self.span, self.effort, self.arrive, self.deadline,
                          self.left, overflow)
        return {"arrived": arrived, "failed": overflow}  # overflow fails at once

    def credit_into(self, progress: np.ndarray, col: int, step: int, out: Events) -> None:
        """Credit column ``col`` of the N x G float64 ``progress`` earliest-deadline-first (no
        copy of the column), then the step's end: tasks whose deadline is the next step fail now
        (missed); they stay pending, late, for ``late_days`` more and are then abandoned. One
        compiled pass (:func:`tasks_credit_rows`); completions and the step end's events added
        to ``out``'s arrays.
        """
        tasks_credit_rows(progress, col, step, self.late_span, self.arrive, self.deadline,
                          self.left, out["completed"], out["completed_on_time"],
                          out["ttc_steps"], out["failed"], out["abandoned"],
                          out["censored_steps"])

    def pending_state(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Tasks still pending at ``step`` and their summed age in steps (censored at the end)."""
        pending = self.arrive >= 0
        age = np.where(pending, step - self.arrive, 0).sum(axis=1)
        return pending.sum(axis=1).astype(np.int64), age.astype(np.int64)

    def take(self, rows: Rows) -> None:
        """Keep the users ``rows`` (a subset replay); arrivals are still drawn for all N."""
        _take(self, rows, keep_all=("draw_rate",))


class BudgetState:
    """A spending limit over a recurring window (see module docstring)."""

    kind = "budget"
    event_keys = (
        "crossed",
        "adjusted",
        "adjusted_in_time",
        "tta_steps",
        "window_closed",
        "window_under_budget",
        "overspend",
    )

    def __init__(
        self,
        spec: BudgetSpec,
        has: np.ndarray,
        params: Mapping[str, PerUser],
        rng: np.random.Generator,
    ) -> None:
        n = has.shape[0]
        self.goal = spec
        self.has = np.ascontiguousarray(has)  # a column of has_goal: one compiled layout
        w = spec.window_days
        ratio = params["spend_ratio"].sample(rng).clip(0, None)
        self.drift = params["drift"].sample(rng)
        self.scale = ratio / drift_sum(self.drift, w)  # k: rate on the window's first day
        self.effort = params["effort"].sample(rng).clip(0.01, None)
        self.spent = np.zeros(n)
        self.rate = np.zeros(n)  # today's spending rate (frozen once adjusted)
        # written now: the passes store into them for some users only (sim/_jit.py)
        self.adjusted = written_zeros(n, bool)
        self.progress = written_zeros(n)
        self.crossed = written_zeros(n, bool)
        self.crossed_step = np.full(n, -1, dtype=np.int64)
        self.day_in_window = 0
        self.rows = Rows(n)

    def take(self, rows: Rows) -> None:
        """Keep the users ``rows`` (a subset replay); the spending noise is drawn for all N."""
        _take(self, rows)

    def _days_left(self) -> int:
        return self.goal.window_days - self.day_in_window - 1

    def projected(self) -> np.ndarray:
        """Window spend if today's rate holds to the window's end."""
        return self.spent + self.rate * self._days_left()

    def need_into(self, need: np.ndarray, remaining: np.ndarray, col: int, step: int) -> None:
        """Into column ``col`` of N x G ``need`` and ``remaining``: 1 while over and not adjusted,
        and the progress still needed to adjust (0 unless over), in one compiled pass
        (:func:`budget_need_rows`).
        """
        budget_need_rows(self.has, self.adjusted, self.spent, self.rate, self._days_left(),
                         self.effort, self.progress, need, remaining, col)

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> Events:
        """Close a finished window, then add today's spending (noise drawn for every user).

        The window's events are in the answer on the day it closes only (on the other days they
        would be zeros, which :meth:`Goals.apply` would add to its zeroed rows for nothing).
        """
        n = self.spent.shape[0]
        w = self.goal.window_days
        ev: Events = {}
        self.day_in_window = day % w
        if self.day_in_window == 0 and day > 0:
            ev["window_closed"] = self.has.astype(np.int64)
            ev["window_under_budget"] = (self.has & (self.spent <= 1.0)).astype(np.int64)
            ev["overspend"] = np.where(self.has, np.maximum(self.spent - 1.0, 0.0), 0.0)
            self.spent[:] = 0.0
            self.adjusted[:] = False
            self.progress[:] = 0.0
            self.crossed[:] = False
            self.crossed_step[:] = -1
        # the exponentials stay numpy's (compiled code's exp differs in the last bit); the rest
        # of the day's spending is one compiled pass (budget_day_rows)
        drifted = self.scale * np.exp(self.drift * self.day_in_window)
        sigma = self.goal.daily_noise
        z = self.rows.keep(rng.standard_normal(self.rows.n_all))
        noise = np.exp(sigma * z - 0.5 * sigma**2)
        ev["crossed"] = np.empty(n, np.int64)  # every entry written
        budget_day_rows(self.has, self.adjusted, drifted, noise, self._days_left(), step,
                        self.rate, self.spent, self.crossed, self.crossed_step, ev["crossed"])
        return ev

    def credit_into(self, progress: np.ndarray, col: int, step: int, out: Events) -> None:
        """Credit column ``col`` of the N x G float64 ``progress``; adjust the spending rate
        where it reaches the effort (:func:`budget_apply_rows`: ``adjustment`` of the rate's
        excess over 1/W removed). Events added to ``out``'s arrays; nothing expires within a day.
        """
        budget_apply_rows(progress, col, step, self.has, self.spent, self._days_left(),
                          self.effort, self.crossed_step,
                          self.day_in_window <= self.goal.act_by_day, 1.0 / self.goal.window_days,
                          float(self.goal.adjustment), self.adjusted, self.rate, self.progress,
                          out["adjusted"], out["adjusted_in_time"], out["tta_steps"])


class PracticeState:
    """Daily practice and the habit it builds (see module docstring)."""

    kind = "practice"
    event_keys = ("practised",)

    def __init__(
        self,
        spec: PracticeSpec,
        has: np.ndarray,
        params: Mapping[str, PerUser],
        rng: np.random.Generator,
        habit_rate: np.ndarray,
        fade: float,
    ) -> None:
        n = has.shape[0]
        self.has = np.ascontiguousarray(has)  # a column of has_goal: one compiled layout
        self.effort = params["effort"].sample(rng).clip(0.01, None)
        self.habit_rate = habit_rate
        self.fade = fade
        self.today = np.zeros(n)
        self.done_today = np.zeros(n, dtype=bool)
        self._lacks = ~self.has  # who has no habit to keep (fixed: has is)
        self.habit = np.zeros(n, dtype=np.float32)
        self.missed = np.zeros(n, dtype=np.uint8)
        self.started = False
        self.rows = Rows(n)

    def take(self, rows: Rows) -> None:
        """Keep the users ``rows`` (a subset replay; practice draws nothing)."""
        _take(self, rows)

    def need_into(self, need: np.ndarray, remaining: np.ndarray, col: int, step: int) -> None:
        """Into column ``col`` of N x G ``need`` and ``remaining``: 1 until today's practice is
        done, and the progress still needed today, in one compiled pass
        (:func:`practice_need_rows`).
        """
        practice_need_rows(self.has, self.done_today, self.effort, self.today, need, remaining,
                           col)

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> Events:
        """Close yesterday: habit grows on a practised day, fades after two missed days."""
        if self.started:
            update_habit(self.habit, self.habit_rate, self.done_today, self.missed, self.fade)
            np.copyto(self.habit, 0.0, where=self._lacks)  # in place, as update_habit
        self.started = True
        self.today.fill(0.0)
        self.done_today.fill(False)
        return {}

    def credit_into(self, progress: np.ndarray, col: int, step: int, out: Events) -> None:
        """Credit column ``col`` of the N x G float64 ``progress``; a day counts once its effort
        is reached (:func:`practice_apply_rows`). Events added to ``out``'s arrays; nothing
        expires within a day.
        """
        practice_apply_rows(self.has, self.done_today, self.effort, self.today, progress, col,
                            out["practised"])


GoalState = TasksState | BudgetState | PracticeState


class Goals:
    """Every goal's state, in goal order, stepped together (one call per phase of a step).

    Args:
        specs: The compiled goals (``World.goals``).
        slots_per_day: S.
        has_goal: N x G, who pursues each goal.
        params: Per goal, its per-user parameters (``PopulationPlan.goal_params``: a spec's
            ``per_user`` over the users' segment blocks).
        habit_rate: N habit growth rates (practice goals build a habit).
        fade: Daily habit fade after two missed days.
        rng: The ``population`` stream (per-user goal parameters are traits: drawn goal by goal,
            in each state's order).
    """

    def __init__(
        self,
        specs: Sequence[GoalSpec],
        slots_per_day: int,
        has_goal: np.ndarray,
        params: Sequence[Mapping[str, PerUser]],
        habit_rate: np.ndarray,
        fade: float,
        rng: np.random.Generator,
    ) -> None:
        self.ids = tuple(spec.id for spec in specs)
        self.states: list[GoalState] = []
        for g, (spec, mine) in enumerate(zip(specs, params, strict=True)):
            has = has_goal[:, g]
            if isinstance(spec, TasksSpec):
                self.states.append(TasksState(spec, slots_per_day, has, mine, rng))
            elif isinstance(spec, BudgetSpec):
                self.states.append(BudgetState(spec, has, mine, rng))
            else:
                self.states.append(PracticeState(spec, has, mine, rng, habit_rate, fade))
        self.n = int(has_goal.shape[0])
        self._day_events: list[Events] | None = None  # the day's, until apply adds them
        # apply()'s block of events, its read-only rows and each goal's views of them: laid out
        # for the users held at the first apply (None until then, and again after take)
        self._rows: tuple[np.ndarray, MetricRows, list[Events]] | None = None
        # needs()' N x G urgency and remaining progress, laid out likewise (None until then)
        self._need: tuple[np.ndarray, np.ndarray] | None = None
        # every goal's event names, in goal order: the rows of apply()'s one block of events
        self._names = tuple(gid + "." + k for gid, state in zip(self.ids, self.states,
                                                                 strict=True)
                            for k in state.event_keys)

    def take(self, rows: Rows) -> None:
        """Keep the users ``rows`` only (before the first step: a subset replay, sim/rng.py)."""
        for state in self.states:
            state.take(rows)
        self.n = rows.n
        self._rows = self._need = None  # laid out again for the kept users at the next call

    def __iter__(self) -> Iterator[GoalState]:
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> None:
        """Exogenous arrivals and spending (the ``arrivals`` stream); events wait for :meth:`apply`."""
        self._day_events = [state.day_start(day, step, rng) for state in self.states]

    def needs(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """N x G urgency and remaining progress now (0 for goals a user does not have).

        The two arrays are this object's buffers (every entry written by each call), valid until
        the next call: a step reads them within the step; a caller that keeps them copies them.
        """
        bufs = self._need
        if bufs is None:  # the first call (or the first after take)
            shape = (self.n, len(self.states))
            bufs = self._need = (np.empty(shape), np.empty(shape))
        need, rem = bufs
        for j, state in enumerate(self.states):
            state.need_into(need, rem, j, step)  # urgency now, not at the last credited step
        return bufs

    def apply(self, progress: np.ndarray, step: int) -> MetricRows:
        """Credit progress (N x G) to every goal; the step's events keyed '<goal>.<event>': N
        float64 counts each, the read-only rows of one events x N block (:attr:`names` order).

        Each goal's events are the day's (at its first step), those of crediting progress and the
        deadlines that passed, summed: the passes add their counts into the block's rows (whole
        numbers: exact in float64 whatever the order; the one fractional event, a budget's
        ``overspend``, has one source, and 0 + x is x). The rows are valid until the next call:
        the block is reused (a fresh events x N block a step was 112 MB at N = 1e6 with 14 events,
        its pages faulted in and zeroed by the kernel every step), and so is the mapping returned
        (of a read-only view of it: the passes write through views of their own); the recorder
        reads the matrix itself.
        """
        events, mine = self._event_rows()
        progress = np.ascontiguousarray(progress, dtype=np.float64)
        day = self._day_events
        if day is not None:  # the day's first apply
            self._day_events = None
            for out, today in zip(mine, day, strict=True):
                for k, v in today.items():
                    out[k] += v
        for g, state in enumerate(self.states):
            state.credit_into(progress, g, step, mine[g])
        return events

    @property
    def names(self) -> tuple[str, ...]:
        """Every goal's event names '<goal>.<event>', in goal order (:meth:`apply`'s rows)."""
        return self._names

    def _event_rows(self) -> tuple[MetricRows, list[Events]]:
        """:meth:`apply`'s events: the rows of a read-only view of an events x N float64 block,
        zeroed; and writable views of its rows by each goal's own keys (all kept between steps).
        """
        rows = self._rows
        if rows is None:  # the first apply (or the first after take)
            block = np.zeros((len(self._names), self.n))
            mine, start = [], 0
            for state in self.states:
                keys = state.event_keys
                mine.append(dict(zip(keys, block[start:start + len(keys)], strict=True)))
                start += len(keys)
            seen = block.view()
            seen.setflags(write=False)
            rows = self._rows = (block, MetricRows(self._names, seen), mine)
        else:
            rows[0].fill(0.0)
        return rows[1], rows[2]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_rows"] = state["_need"] = None  # scratch: a copy makes its own at its first call
        return state

    def user_state(self, step: int) -> dict[str, np.ndarray]:
        """Per-user goal state at the end of a run: practice habit, pending tasks and their age."""
        out: dict[str, np.ndarray] = {}
        for gid, state in zip(self.ids, self.states, strict=True):
            if state.kind == "practice":
                out[f"{gid}.habit"] = state.habit.astype(np.float64)
            elif state.kind == "tasks":
                out[f"{gid}.pending"], out[f"{gid}.pending_age_steps"] = state.pending_state(step)
        return out
