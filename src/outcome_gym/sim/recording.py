"""What a step records (docs/design.md, step 10).

Per-user metrics, their per-segment sums, the run's per-user totals, layout divergence, and what
the product gets to see of it.

The model hands one :class:`StepOutcome` (what the step did to every user) to its
:class:`Recorder`, which returns the immutable :class:`~outcome_gym.sim.interface.StepRecord`
and keeps the previous step's outputs (:class:`Last`) for the next observation. Metric names and
meanings are listed in docs/model.md section 7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.sim import interface as itf
from outcome_gym.sim._jit import compiled
from outcome_gym.sim.layout import (
    PAIRS,
    core_consistent,
    divergence_table,
    layout_distance,
)
from outcome_gym.sim.mechanisms.context import KINDS, ContextOutcome
from outcome_gym.sim.mechanisms.engagement import Engagement
from outcome_gym.sim.mechanisms.goals import Goals
from outcome_gym.sim.mechanisms.notifications import Delivery
from outcome_gym.sim.mechanisms.observation import EventPipe
from outcome_gym.sim.population import Population
from outcome_gym.sim.rng import Rows, Streams
from outcome_gym.sim.world import World

NOT_TOTALLED = frozenset(
    {"active_users", "available", "trust_sum", "layout_distance_sum", "core_consistent", "churned"}
)
"""Per-user metrics that are states or flags of the moment, not counts to add up over a run."""

DERIVED = ("opens", "opt_outs", "app_progress", "outside_progress", "goal_progress", "trust_sum",
           "layout_distance_sum", "core_consistent")
"""Per-user metrics computed from the outcome's arrays (by :func:`metric_rows`), in its order."""

METRICS = (
    "active_users", "available", "sessions", "clicks", "minutes", "delivered", "opens", "opt_outs",
    "churned",
    # welfare: progress on the user's own goals, in the app and outside it
    "goal_progress", "app_progress", "outside_progress",
    "goal_minutes", "distraction_minutes", "self_control_minutes", "interruption_minutes",
    "search_minutes", "trust_sum", "layout_distance_sum", "core_consistent",
    *(f"{kind}_{what}" for kind in KINDS for what in ("events", "failures")),
    "support_tickets",
)
"""The per-user metrics of every step in record order (then the goals' true events)."""

DIVERGENCE = ("pair_distance_sum", "pairs", "distinct_layouts", "layout_entropy_bits")


@dataclass(frozen=True)
class StepOutcome:
    """What one step did to every user (N arrays): the input of its record.

    Attributes:
        step, day, slot, weekday: When.
        available: Users with time and context to act.
        started: Users who had a session.
        layout: N x S layout users saw (after guardrails).
        delivery: Notifications delivered, opened, opt-outs, interruption minutes.
        engagement: Clicks, minutes, progress of opened notifications and sessions.
        events: True goal events keyed '<goal>.<event>'.
        context: Context events and failures.
        churned: Users who quit at today's start (all False on other steps).
        active: Users still active after the step.
        trust: Trust after the step.
        outside: N x G progress made outside the app this step (mechanisms/outside.py; non-zero
            at the day's last slot only).
    """

    step: int
    day: int
    slot: int
    weekday: int
    available: np.ndarray
    started: np.ndarray
    layout: np.ndarray
    delivery: Delivery
    engagement: Engagement
    events: dict[str, np.ndarray]
    context: ContextOutcome
    churned: np.ndarray
    active: np.ndarray
    trust: np.ndarray
    outside: np.ndarray


@dataclass
class Last:
    """The previous step's per-user outputs, for the next observation."""

    session: np.ndarray
    clicks: np.ndarray
    minutes: np.ndarray
    delivered: np.ndarray
    opened: np.ndarray
    events: dict[str, np.ndarray]
    layout: np.ndarray

    @classmethod
    def empty(cls, world: World, names: list[str]) -> Last:
        """Before the first step: nothing happened, everyone had the default layout."""
        n = world.n_users
        return cls(
            session=np.zeros(n, bool),
            clicks=np.zeros((n, world.n_elements), np.int16),
            minutes=np.zeros(n, np.float32),
            delivered=np.zeros((n, world.n_pushed), bool),
            opened=np.zeros((n, world.n_pushed), bool),
            events={e: np.zeros(n, np.int32) for e in names},
            layout=np.repeat(world.default_layout[None, :], n, axis=0),
        )


    def observation(self, step: int, day: int, slot: int, weekday: int, active: np.ndarray,
                    receptivity: np.ndarray) -> itf.Observation:
        """What the product observes at ``step``: this behaviour, the clock and the signals.

        ``active`` and ``receptivity`` are the caller's fresh arrays, given away: made read-only
        in place (no view); this behaviour's arrays are shown through read-only views.
        """
        ro = itf.readonly
        active.setflags(write=False)
        receptivity.setflags(write=False)
        return itf.Observation(
            step=step, day=day, slot=slot, weekday=weekday, active=active,
            session=ro(self.session), clicks=ro(self.clicks), minutes=ro(self.minutes),
            delivered=ro(self.delivered), opened=ro(self.opened), receptivity=receptivity,
            events=itf.frozen_map(self.events), layout=ro(self.layout),
        )


class SegmentSums:
    """Per-segment sums of per-user arrays (users sit in contiguous segment blocks).

    Args:
        segment: N segment index per user, in contiguous blocks.
        n_segments: K (segments without users get 0).
    """

    def __init__(self, segment: np.ndarray, n_segments: int) -> None:
        self.starts = np.flatnonzero(np.r_[True, np.diff(segment) != 0])
        self.ids = segment[self.starts]
        self.stops = np.r_[self.starts[1:], segment.shape[0]]
        self.k = n_segments
        # the blocks are the segments 0..K-1 in order (every segment has users): a block's sums
        # are its segment's as they come, without a K-wide table to scatter them into
        self.every_segment = bool(np.array_equal(self.ids, np.arange(n_segments)))

    def rows(self, stacked: np.ndarray) -> np.ndarray:
        """K sums of each row of an R x N stack of per-user metrics (R x K; the same sums)."""
        sums = np.add.reduceat(stacked, self.starts, axis=1)
        return sums if self.every_segment else self.scatter(sums)

    def scatter(self, blocks: np.ndarray) -> np.ndarray:
        """R x K from R x B per-block values (segments without users: 0)."""
        full = np.zeros((blocks.shape[0], self.k))
        full[:, self.ids] = blocks
        return full


class Recorder:
    """Builds each step's record, keeps the run's per-user totals and the previous step's outputs.

    Args:
        world: The compiled scenario.
        segment: N segment index per user.
        streams: The run's streams (``metrics`` for divergence sampling, ``instrumentation`` for
            event noise).
        rows: Which of the scenario's users the model simulates (default: all).

    Attributes:
        sample_divergence: Sample the segments' layout divergence each step (the ``metrics``
            stream; on by default). Nothing a user does or a policy sees depends on it, so a
            replay that reads users only (a story's) turns it off: the same users, ~6-10% less
            time, and no divergence metrics in its records.
    """

    sample_divergence: bool = True

    def __init__(self, world: World, segment: np.ndarray, streams: Streams,
                 rows: Rows | None = None) -> None:
        self.world = world
        self.streams = streams
        self.rows = rows if rows is not None else Rows(world.n_users)
        self.segments = SegmentSums(segment, len(world.segment_ids))
        self.pipe = EventPipe(world.params.events, world.n_users)
        self.totals: dict[str, np.ndarray] = {}
        self.last = Last.empty(world, self.pipe.names)
        self._names: tuple[str, ...] = ()
        self._events: tuple[str, ...] | None = None  # the goal events' names the layout has
        self._copy_rows: dict[str, int] = {}  # row of each metric the outcome holds as it is
        self._derived_rows = np.zeros(len(DERIVED), dtype=np.int64)
        self._stack_buffer = np.empty((0, world.n_users))
        self._row_of = np.zeros(0, dtype=np.int64)  # each metric's row in the stacked matrix
        self._totalled_names: tuple[str, ...] = ()
        self._totals_matrix = np.empty((0, world.n_users))

    def record(self, out: StepOutcome) -> itf.StepRecord:
        """The step's record; totals and :attr:`last` are updated."""
        eng, dlv = out.engagement, out.delivery
        stacked, opens = self._stack(out)
        # the run's totals: one whole-matrix add over the totalled rows (their dict entries are
        # views of this matrix), the same sums as one add per metric
        self._totals_matrix += stacked[:self._totals_matrix.shape[0]]
        # the K sums of each metric in name order (one gather of the small R x K table): its
        # rows go into the record as they are, read-only (no view each)
        sums = self.segments.rows(stacked)[self._row_of]
        sums.setflags(write=False)
        seg = dict(zip(self._names, sums, strict=True))
        if self.sample_divergence:
            seg.update(self.divergence(out.layout, out.active))
        seen = self.pipe.push(
            out.step,
            out.events,
            self.rows.uniform(self.streams["instrumentation"],
                              (2 * len(self.pipe.specs), self.rows.n_all), axis=1, reuse=True),
        )
        self.last = Last(
            session=out.started,
            clicks=eng.element_clicks,
            minutes=eng.minutes.astype(np.float32),
            delivered=dlv.delivered,
            opened=dlv.opened,
            events=seen,
            layout=out.layout,
        )
        ro = itf.readonly
        feedback = itf.Feedback(
            clicks=ro(eng.clicks),
            minutes=ro(eng.minutes),
            sessions=ro(out.started),
            opens=opens,
            events=itf.frozen_readonly(seen),  # the pipe's read-only rows
        )
        return itf.StepRecord(
            step=out.step,
            day=out.day,
            slot=out.slot,
            weekday=out.weekday,
            segment_metrics=itf.frozen_readonly(seg),  # every entry read-only (above)
            position_clicks=ro(eng.position_clicks),
            position_views=ro(eng.position_views),
            element_clicks=ro(eng.element_totals),  # summed over users by the pass
            feedback=feedback,
        )

    def _stack(self, out: StepOutcome) -> tuple[np.ndarray, np.ndarray]:
        """Every per-user metric of the step (docs/model.md section 7) as the rows of one R x N
        float64 matrix (reused): the totalled metrics first, then the others
        (:data:`NOT_TOTALLED`); and the read-only N opens per user (int64) for the feedback.

        The outcome's own arrays are copied into their rows; the metrics derived from them
        (:data:`DERIVED`) are written into theirs by one compiled pass (:func:`metric_rows`).
        The metric names are the same every step; should they change (the goal events'), the
        matrix and the totals are laid out again (totals kept by name).
        """
        w, eng, dlv, ctx = self.world, out.engagement, out.delivery, out.context
        own = {"active_users": out.active, "available": out.available, "sessions": out.started,
               "clicks": eng.clicks, "minutes": eng.minutes, "delivered": dlv.delivered_count,
               "churned": out.churned, "goal_minutes": eng.goal_minutes,
               "distraction_minutes": eng.distraction_minutes,
               "self_control_minutes": eng.self_control_minutes,
               "interruption_minutes": dlv.interruption_minutes,
               "search_minutes": eng.search_minutes}
        for kind in KINDS:
            own[f"{kind}_events"] = ctx.events[kind]
            own[f"{kind}_failures"] = ctx.failures[kind]
        own["support_tickets"] = ctx.failed
        own.update(out.events)
        events = tuple(out.events)
        if events != self._events:
            self._layout(METRICS + events)
            self._events = events
            odd = set(own) ^ set(self._copy_rows)  # every row filled, each by its name
            if odd:
                raise AssertionError(f"per-user metrics without a row or a value: {odd}")
        buf, row_of = self._stack_buffer, self._copy_rows
        for name, v in own.items():
            buf[row_of[name]] = v
        opens = np.empty(w.n_users, dtype=np.int64)
        metric_rows(dlv.opened, dlv.opted_out, eng.progress, out.outside, out.active, out.trust,
                    layout_distance(out.layout, w.default_layout, w.slot_weight, w.exact_weights),
                    core_consistent(out.layout, w.default_layout, w.core_slot),
                    self._derived_rows, buf, opens)
        opens.setflags(write=False)
        return buf, opens

    def _layout(self, names: tuple[str, ...]) -> None:
        """Fix the row of each per-user metric in the stacked matrix (on the first record)."""
        n = self.world.n_users
        self._names = names
        self._stack_buffer = np.empty((len(names), n))
        totalled = [name for name in names if name not in NOT_TOTALLED]
        # totalled metrics in the first rows: their totals add one contiguous block
        order = totalled + [name for name in names if name in NOT_TOTALLED]
        self._row_of = np.array([order.index(name) for name in names], dtype=np.int64)
        self._copy_rows = {name: order.index(name) for name in names if name not in DERIVED}
        self._derived_rows = np.array([order.index(name) for name in DERIVED], dtype=np.int64)
        old = dict(self.totals)
        self._totalled_names = tuple(totalled)
        self._totals_matrix = np.zeros((len(totalled), n))
        for row, name in zip(self._totals_matrix, totalled, strict=True):
            if name in old:
                row[:] = old[name]
        self.totals.clear()  # the same dict object: model.totals holds it
        self.totals.update(zip(totalled, self._totals_matrix, strict=True))
        for name, v in old.items():
            self.totals.setdefault(name, v)

    def __setstate__(self, state: dict) -> None:
        # a pickle holds the totals and their matrix as separate arrays: make the totals views of
        # the matrix again (the dict itself is the model's too, so it is updated in place)
        self.__dict__.update(state)
        for row, name in zip(self._totals_matrix, self._totalled_names, strict=True):
            self.totals[name] = row

    def divergence(self, layout: np.ndarray, active: np.ndarray) -> dict[str, np.ndarray]:
        """Sampled pairwise distance and distinct experiences within each segment (K each; rows
        of one read-only matrix, as they go into the record).
        """
        seg = self.segments
        # one draw for every block: the same numbers as a (3, PAIRS) draw per block in turn
        u = self.streams["metrics"].random((seg.ids.shape[0], 3, PAIRS))
        table = divergence_table(layout, active, seg.starts, seg.stops, self.world.slot_weight,
                                 u, self.world.exact_weights)
        if not seg.every_segment:  # segments without users: zeros
            table = seg.scatter(table)
        table.setflags(write=False)
        return dict(zip(DIVERGENCE, table, strict=True))


@compiled
def metric_rows(opened, opted_out, progress, outside, active, trust, dist, consistent, at, out,
                opens):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The step's derived per-user metrics (:data:`DERIVED`), into rows ``at`` of ``out``.

    Per user i, as numpy computed them (``rowsum``: the columns added left to right, float64):

        opens = sum_m opened[i, m]   (also into ``opens``, int64)     opt_outs = sum opted_out[i]
        app = sum_g progress[i, g]      outside = sum_g outside[i, g]      goal = app + outside
        trust_sum = trust[i], layout_distance_sum = dist[i], core_consistent = consistent[i]
        for active users (0 for the others)
    """
    n = active.shape[0]
    for i in range(n):
        c = 0
        for j in range(opened.shape[1]):
            c += opened[i, j]
        opens[i] = c
        out[at[0], i] = c
        c = 0
        for j in range(opted_out.shape[1]):
            c += opted_out[i, j]
        out[at[1], i] = c
        app = 0.0
        if progress.shape[1] > 0:
            app = progress[i, 0]
            for j in range(1, progress.shape[1]):
                app += progress[i, j]
        off = 0.0
        if outside.shape[1] > 0:
            off = outside[i, 0]
            for j in range(1, outside.shape[1]):
                off += outside[i, j]
        out[at[2], i] = app
        out[at[3], i] = off
        out[at[4], i] = app + off
        on = active[i]
        out[at[5], i] = trust[i] if on else 0.0
        out[at[6], i] = dist[i] if on else 0.0
        out[at[7], i] = 1.0 if on and consistent[i] else 0.0


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`metric_rows` now, with a model's dtypes (see
    engagement.compile_kernel).
    """
    b2, f2 = np.zeros((1, 1), bool), np.zeros((1, 1))
    metric_rows(b2, b2, f2, f2, np.ones(1, bool), np.ones(1, np.float32), np.zeros(1),
                np.ones(1, bool), np.zeros(len(DERIVED), np.int64), np.zeros((1, 1)),
                np.zeros(1, np.int64))


def user_state(
    world: World, pop: Population, goals: Goals, totals: dict[str, np.ndarray], step: int,
    ids: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Final state and totals per user (the per-user record of a run); ``ids``: the users' ids
    among the scenario's (a subset replay's; default 0..N-1).
    """
    out: dict[str, np.ndarray] = {
        "user": (np.arange(pop.n) if ids is None else ids).astype(np.int64),
        "segment": np.asarray(world.segment_ids, dtype=object)[pop.segment],
        "team": pop.team.astype(np.int64),
        "devices": pop.devices.astype(np.int64),
        "active": pop.active.copy(),
        "churn_day": pop.churn_day.astype(np.int64),
        "trust": pop.trust.astype(np.float64),
        "app_habit": pop.app_habit.astype(np.float64),
        "habit_mean": pop.habit.mean(axis=1).astype(np.float64),
        "fatigue": pop.fatigue.astype(np.float64),
        "opted_out": pop.opted_out.any(axis=1),
        "attention_budget": pop.attention_budget.astype(np.float64),
        "susceptibility": pop.susceptibility.astype(np.float64),
        "goal_weight": pop.goal_weight.astype(np.float64),
    }
    out.update(goals.user_state(step))
    for name in sorted(totals):
        out[name] = totals[name].copy()
    return out
