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
from outcome_gym.sim._rows import rowsum
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
        """What the product observes at ``step``: this behaviour, the clock and the signals."""
        ro = itf.readonly
        return itf.Observation(
            step=step, day=day, slot=slot, weekday=weekday, active=ro(active),
            session=ro(self.session), clicks=ro(self.clicks), minutes=ro(self.minutes),
            delivered=ro(self.delivered), opened=ro(self.opened), receptivity=ro(receptivity),
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
        self._stack_buffer = np.empty((0, world.n_users))
        self._row_of: list[int] = []
        self._totalled_names: tuple[str, ...] = ()
        self._totals_matrix = np.empty((0, world.n_users))

    def record(self, out: StepOutcome) -> itf.StepRecord:
        """The step's record; totals and :attr:`last` are updated."""
        eng, dlv = out.engagement, out.delivery
        per_user = self.per_user(out)
        stacked = self._stack(per_user)
        # the run's totals: one whole-matrix add over the totalled rows (their dict entries are
        # views of this matrix), the same sums as one add per metric
        self._totals_matrix += stacked[:self._totals_matrix.shape[0]]
        sums = self.segments.rows(stacked)
        sums.setflags(write=False)  # its rows go into the record as they are (no view each)
        rows = list(sums)  # the K-row views, made at once
        seg = dict(zip(per_user, [rows[r] for r in self._row_of], strict=True))
        if self.sample_divergence:
            seg.update(self.divergence(out.layout, out.active))
        seen = self.pipe.push(
            out.step,
            out.events,
            self.rows.uniform(self.streams["instrumentation"],
                              (2 * len(self.pipe.names), self.rows.n_all), axis=1, reuse=True),
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
            opens=ro(per_user["opens"]),
            events=itf.frozen_map(seen),
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

    def per_user(self, out: StepOutcome) -> dict[str, np.ndarray]:
        """Every per-user metric of the step (docs/model.md section 7)."""
        w, eng, dlv, active = self.world, out.engagement, out.delivery, out.active
        dist = layout_distance(out.layout, w.default_layout, w.slot_weight, w.exact_weights)
        app, outside = rowsum(eng.progress), rowsum(out.outside)
        per_user: dict[str, np.ndarray] = {
            "active_users": active,
            "available": out.available,
            "sessions": out.started,
            "clicks": eng.clicks,
            "minutes": eng.minutes,
            "delivered": dlv.delivered_count,
            "opens": rowsum(dlv.opened),
            "opt_outs": rowsum(dlv.opted_out),
            "churned": out.churned,
            # welfare: progress on the user's own goals, in the app and outside it
            "goal_progress": app + outside,
            "app_progress": app,
            "outside_progress": outside,
            "goal_minutes": eng.goal_minutes,
            "distraction_minutes": eng.distraction_minutes,
            "self_control_minutes": eng.self_control_minutes,
            "interruption_minutes": dlv.interruption_minutes,
            "search_minutes": eng.search_minutes,
            "trust_sum": np.where(active, out.trust, 0.0),
            "layout_distance_sum": np.where(active, dist, 0.0),
            "core_consistent": active & core_consistent(out.layout, w.default_layout, w.core_slot),
        }
        for kind in KINDS:
            per_user[f"{kind}_events"] = out.context.events[kind]
            per_user[f"{kind}_failures"] = out.context.failures[kind]
        per_user["support_tickets"] = out.context.failed
        per_user.update(out.events)
        return per_user

    def _stack(self, per_user: dict[str, np.ndarray]) -> np.ndarray:
        """The step's per-user metrics as the rows of one R x N float64 matrix (reused): the
        totalled metrics first, then the others (:data:`NOT_TOTALLED`).

        The metric names are the same every step; should they change, the matrix and the totals
        are laid out again (totals kept by name).
        """
        names = tuple(per_user)
        if names != self._names:
            self._layout(names)
        buf = self._stack_buffer
        for row, v in zip(self._row_of, per_user.values(), strict=True):
            buf[row] = v
        return buf

    def _layout(self, names: tuple[str, ...]) -> None:
        """Fix the row of each per-user metric in the stacked matrix (on the first record)."""
        n = self.world.n_users
        self._names = names
        self._stack_buffer = np.empty((len(names), n))
        totalled = [name for name in names if name not in NOT_TOTALLED]
        # totalled metrics in the first rows: their totals add one contiguous block
        order = totalled + [name for name in names if name in NOT_TOTALLED]
        self._row_of = [order.index(name) for name in names]
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
