"""Goal dynamics for the three goal kinds (docs/design.md, step 7).

Every goal state exposes the same small interface, vectorized over users:

* ``need()``: urgency weight (0 when nothing is pending) used in choice and session start;
* ``remaining()``: progress still needed now;
* ``day_start(day, step, rng)``: exogenous arrivals/spending for the day (same draws under every
  policy), window closes;
* ``apply(credit, step)``: credit progress made this step; returns the step's events;
* ``step_end(step)``: deadlines that passed.

Events are per-user integer arrays keyed ``<event>``; :data:`~outcome_gym.scenario.schema.GOAL_EVENTS`
lists them per kind.

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

import numpy as np

from outcome_gym.scenario.distributions import Param, sample_param
from outcome_gym.sim._rows import rowany, rowmin, rowsum
from outcome_gym.sim.mechanisms.habits import update_habit
from outcome_gym.sim.rng import Rows

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


def adjusted_rate(rate: np.ndarray, window_days: int, adjustment: float) -> np.ndarray:
    """The daily rate after adjusting: ``adjustment`` of its excess over 1/W removed."""
    return rate - adjustment * np.maximum(rate - 1.0 / window_days, 0.0)


def _per_user(
    spec: GoalSpec, key: str, segment: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw a goal parameter per user from its segment's distribution (segments in order)."""
    out = np.empty(segment.shape[0], dtype=np.float64)
    for k, param in enumerate(spec.per_user[key]):
        mask = segment == k
        out[mask] = sample_param(param, rng, int(mask.sum()))
    return out


def _take(state: GoalState, rows: Rows, keep_all: tuple[str, ...] = ()) -> None:
    """Keep the users ``rows`` of every per-user array of a goal state (those of length N), but
    for ``keep_all``: what the state's draws read for every user.
    """
    for name, value in vars(state).items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (rows.n_all,) and \
                name not in keep_all:
            setattr(state, name, rows.keep(value))
    state.rows = rows


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
        segment: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        n, q = has.shape[0], spec.max_pending
        self.has = has
        self.rate = np.clip(_per_user(spec, "arrival_rate", segment, rng), 0, None) * has
        self.draw_rate = self.rate  # every user's: the arrivals are drawn for all N users
        self.rows = Rows(n)
        self.effort = np.clip(_per_user(spec, "effort", segment, rng), 0.01, None).astype(
            np.float32
        )
        days = np.clip(_per_user(spec, "deadline_days", segment, rng), 0.01, None)
        self.span = np.maximum(np.rint(days * slots_per_day), 1).astype(np.int32)
        self.late_span = round(spec.late_days * slots_per_day)
        self.arrive = np.full((n, q), -1, dtype=np.int32)
        self.deadline = np.zeros((n, q), dtype=np.int32)
        self.left = np.zeros((n, q), dtype=np.float32)
        self.step = 0

    def need(self) -> np.ndarray:
        """1 + share of the most urgent task's time used up; 0 with nothing pending."""
        pending = self.arrive >= 0
        soonest = rowmin(np.where(pending, self.deadline, np.iinfo(np.int32).max))
        used = 1.0 - (soonest - self.step) / self.span
        return np.where(rowany(pending), 1.0 + np.clip(used, 0.0, 1.0), 0.0)

    def remaining(self) -> np.ndarray:
        """Effort left over all pending tasks."""
        return rowsum(np.where(self.arrive >= 0, self.left, 0.0))

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> Events:
        """Poisson arrivals for the day (drawn for every user: common random numbers)."""
        self.step = step
        k = self.rows.keep(rng.poisson(self.draw_rate)).astype(np.int64)
        arrived = k.copy()
        for q in range(self.arrive.shape[1]):
            fill = (self.arrive[:, q] < 0) & (k > 0)
            self.arrive[fill, q] = step
            self.deadline[fill, q] = step + self.span[fill]
            self.left[fill, q] = self.effort[fill]
            k -= fill
        return {"arrived": arrived, "failed": k}  # overflow fails at once

    def apply(self, credit: np.ndarray, step: int) -> Events:
        """Credit progress earliest-deadline-first; record completions."""
        self.step = step
        n, q = self.arrive.shape
        completed = np.zeros(n, dtype=np.int64)
        on_time = np.zeros(n, dtype=np.int64)
        ttc = np.zeros(n, dtype=np.int64)
        rows = np.flatnonzero(credit > 0)  # only users who made progress this step
        if rows.size == 0:
            return {"completed": completed, "completed_on_time": on_time, "ttc_steps": ttc}
        credit = credit[rows].astype(np.float64)
        arrive, deadline, left = self.arrive[rows], self.deadline[rows], self.left[rows]
        order = np.argsort(
            np.where(arrive >= 0, deadline, np.iinfo(np.int32).max), axis=1, kind="stable"
        )
        local = np.arange(rows.size)
        c_done = np.zeros(rows.size, dtype=np.int64)
        c_on_time = np.zeros(rows.size, dtype=np.int64)
        c_ttc = np.zeros(rows.size, dtype=np.int64)
        for j in range(q):
            col = order[:, j]
            pending = arrive[local, col] >= 0
            take = np.where(pending, np.minimum(left[local, col], credit), 0.0)
            left[local, col] -= take.astype(np.float32)
            credit -= take
            done = pending & (left[local, col] <= 1e-6)
            c_done += done
            c_on_time += done & (step < deadline[local, col])
            c_ttc += np.where(done, step - arrive[local, col], 0)
            arrive[local[done], col[done]] = -1
        self.arrive[rows], self.left[rows] = arrive, left
        completed[rows], on_time[rows], ttc[rows] = c_done, c_on_time, c_ttc
        return {"completed": completed, "completed_on_time": on_time, "ttc_steps": ttc}

    def step_end(self, step: int) -> Events:
        """Tasks whose deadline is the next step fail now (missed); they stay pending, late, for
        ``late_days`` more and are then abandoned.
        """
        pending = self.arrive >= 0
        missed = pending & (self.deadline == step + 1)
        dropped = pending & (self.deadline + self.late_span <= step + 1)
        age = rowsum(np.where(dropped, step + 1 - self.arrive, 0))
        self.arrive[dropped] = -1
        return {"failed": rowsum(missed).astype(np.int64),
                "abandoned": rowsum(dropped).astype(np.int64),
                "censored_steps": age.astype(np.int64)}

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
        segment: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        n = has.shape[0]
        self.goal = spec
        self.has = has
        w = spec.window_days
        ratio = np.clip(_per_user(spec, "spend_ratio", segment, rng), 0, None)
        self.drift = _per_user(spec, "drift", segment, rng)
        self.scale = ratio / drift_sum(self.drift, w)  # k: rate on the window's first day
        self.effort = np.clip(_per_user(spec, "effort", segment, rng), 0.01, None)
        self.spent = np.zeros(n)
        self.rate = np.zeros(n)  # today's spending rate (frozen once adjusted)
        self.adjusted = np.zeros(n, dtype=bool)
        self.progress = np.zeros(n)
        self.crossed = np.zeros(n, dtype=bool)
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

    def over(self) -> np.ndarray:
        """Users projected over the limit who have not adjusted."""
        return self.has & ~self.adjusted & (self.projected() > 1.0)

    def need(self) -> np.ndarray:
        """1 while over and not adjusted."""
        return self.over().astype(np.float64)

    def remaining(self) -> np.ndarray:
        """Progress still needed to adjust (0 unless over)."""
        return np.where(self.over(), np.maximum(self.effort - self.progress, 0.0), 0.0)

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> Events:
        """Close a finished window, then add today's spending (noise drawn for every user)."""
        n = self.spent.shape[0]
        w = self.goal.window_days
        ev: Events = {
            "window_closed": np.zeros(n, np.int64),
            "window_under_budget": np.zeros(n, np.int64),
            "overspend": np.zeros(n),
        }
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
        drifted = self.scale * np.exp(self.drift * self.day_in_window)
        self.rate = np.where(self.adjusted, self.rate, drifted)
        sigma = self.goal.daily_noise
        z = self.rows.keep(rng.standard_normal(self.rows.n_all))
        noise = np.exp(sigma * z - 0.5 * sigma**2)
        self.spent += np.where(self.has, self.rate * noise, 0.0)
        new_cross = self.has & ~self.crossed & (self.projected() > 1.0)
        self.crossed |= new_cross
        self.crossed_step[new_cross] = step
        ev["crossed"] = new_cross.astype(np.int64)
        return ev

    def apply(self, credit: np.ndarray, step: int) -> Events:
        """Credit progress; adjust the spending rate where it reaches the effort."""
        over = self.over()
        self.progress += np.where(over, credit, 0.0)
        adjust = over & (self.progress >= self.effort)
        self.rate = np.where(adjust, adjusted_rate(self.rate, self.goal.window_days,
                                                   self.goal.adjustment), self.rate)
        self.adjusted |= adjust
        in_time = adjust & (self.day_in_window <= self.goal.act_by_day)
        tta = np.where(adjust & (self.crossed_step >= 0), step - self.crossed_step, 0)
        return {
            "adjusted": adjust.astype(np.int64),
            "adjusted_in_time": in_time.astype(np.int64),
            "tta_steps": tta.astype(np.int64),
        }

    def step_end(self, step: int) -> Events:
        """Nothing expires within a day."""
        return {}


class PracticeState:
    """Daily practice and the habit it builds (see module docstring)."""

    kind = "practice"
    event_keys = ("practised",)

    def __init__(
        self,
        spec: PracticeSpec,
        has: np.ndarray,
        segment: np.ndarray,
        rng: np.random.Generator,
        habit_rate: np.ndarray,
        fade: float,
    ) -> None:
        n = has.shape[0]
        self.has = has
        self.effort = np.clip(_per_user(spec, "effort", segment, rng), 0.01, None)
        self.habit_rate = habit_rate
        self.fade = fade
        self.today = np.zeros(n)
        self.done_today = np.zeros(n, dtype=bool)
        self.habit = np.zeros(n, dtype=np.float32)
        self.missed = np.zeros(n, dtype=np.uint8)
        self.started = False
        self.rows = Rows(n)

    def take(self, rows: Rows) -> None:
        """Keep the users ``rows`` (a subset replay; practice draws nothing)."""
        _take(self, rows)

    def need(self) -> np.ndarray:
        """1 until today's practice is done."""
        return (self.has & ~self.done_today).astype(np.float64)

    def remaining(self) -> np.ndarray:
        """Progress still needed today."""
        return np.where(self.has & ~self.done_today, self.effort - self.today, 0.0)

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> Events:
        """Close yesterday: habit grows on a practised day, fades after two missed days."""
        if self.started:
            h, m = update_habit(
                self.habit, self.habit_rate, self.done_today, self.missed, self.fade
            )
            self.habit = np.where(self.has, h, 0.0).astype(np.float32)
            self.missed = m
        self.started = True
        self.today[:] = 0.0
        self.done_today[:] = False
        return {}

    def apply(self, credit: np.ndarray, step: int) -> Events:
        """Credit progress; a day counts once its effort is reached."""
        self.today += np.where(self.has, credit, 0.0)
        new = self.has & ~self.done_today & (self.today >= self.effort)
        self.done_today |= new
        return {"practised": new.astype(np.int64)}

    def step_end(self, step: int) -> Events:
        """Nothing expires within a day."""
        return {}


GoalState = TasksState | BudgetState | PracticeState


class Goals:
    """Every goal's state, in goal order, stepped together (one call per phase of a step).

    Args:
        specs: The compiled goals (``World.goals``).
        slots_per_day: S.
        has_goal: N x G, who pursues each goal.
        segment: N segment indices.
        habit_rate: N habit growth rates (practice goals build a habit).
        fade: Daily habit fade after two missed days.
        rng: The ``population`` stream (per-user goal parameters are traits).
    """

    def __init__(
        self,
        specs: Sequence[GoalSpec],
        slots_per_day: int,
        has_goal: np.ndarray,
        segment: np.ndarray,
        habit_rate: np.ndarray,
        fade: float,
        rng: np.random.Generator,
    ) -> None:
        self.ids = tuple(spec.id for spec in specs)
        self.states: list[GoalState] = []
        for g, spec in enumerate(specs):
            has = has_goal[:, g]
            if isinstance(spec, TasksSpec):
                self.states.append(TasksState(spec, slots_per_day, has, segment, rng))
            elif isinstance(spec, BudgetSpec):
                self.states.append(BudgetState(spec, has, segment, rng))
            else:
                self.states.append(PracticeState(spec, has, segment, rng, habit_rate, fade))
        self.n = int(segment.shape[0])
        self._day_events: dict[int, Events] = {}

    def take(self, rows: Rows) -> None:
        """Keep the users ``rows`` only (before the first step: a subset replay, sim/rng.py)."""
        for state in self.states:
            state.take(rows)
        self.n = rows.n

    def __iter__(self) -> Iterator[GoalState]:
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)

    def day_start(self, day: int, step: int, rng: np.random.Generator) -> None:
        """Exogenous arrivals and spending (the ``arrivals`` stream); events wait for :meth:`apply`."""
        for g, state in enumerate(self.states):
            self._day_events[g] = state.day_start(day, step, rng)

    def needs(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """N x G urgency and remaining progress now (0 for goals a user does not have)."""
        need, rem = np.zeros((self.n, len(self.states))), np.zeros((self.n, len(self.states)))
        for j, state in enumerate(self.states):
            if state.kind == "tasks":
                state.step = step  # urgency is measured now, not at the last credited step
            need[:, j] = state.need()
            rem[:, j] = state.remaining()
        return need, rem

    def apply(self, progress: np.ndarray, step: int) -> Events:
        """Credit progress to every goal; the step's events keyed '<goal>.<event>' (N arrays).

        Each goal's events are the day's (at its first step), those of crediting progress and the
        deadlines that passed, summed.
        """
        events: Events = {}
        for g, state in enumerate(self.states):
            merged: Events = {k: np.zeros(self.n) for k in state.event_keys}
            for source in (
                self._day_events.pop(g, {}),
                state.apply(progress[:, g], step),
                state.step_end(step),
            ):
                for k, v in source.items():
                    merged[k] = merged[k] + v
            for k, v in merged.items():
                events[f"{self.ids[g]}.{k}"] = v
        return events

    def user_state(self, step: int) -> dict[str, np.ndarray]:
        """Per-user goal state at the end of a run: practice habit, pending tasks and their age."""
        out: dict[str, np.ndarray] = {}
        for gid, state in zip(self.ids, self.states, strict=True):
            if state.kind == "practice":
                out[f"{gid}.habit"] = state.habit.astype(np.float64)
            elif state.kind == "tasks":
                out[f"{gid}.pending"], out[f"{gid}.pending_age_steps"] = state.pending_state(step)
        return out
