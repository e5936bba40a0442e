"""What a step records (docs/design.md, step 10).

Per-user metrics, their per-segment sums, the run's per-user totals, layout divergence, and what
the product gets to see of it.

The model hands one :class:`StepOutcome` (what the step did to every user) to its
:class:`Recorder`, which returns the immutable :class:`~outcome_gym.sim.interface.StepRecord`
and keeps the previous step's outputs (:class:`Last`) for the next observation. Metric names and
meanings are listed in docs/model.md section 7.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np

from outcome_gym.sim import interface as itf
from outcome_gym.sim._jit import compiled
from outcome_gym.sim._rows import PAIRWISE_BLOCK, pairwise_block, pairwise_frames, pairwise_sum
from outcome_gym.sim.layout import (
    NEEDS_DRAW,
    PAIRS,
    DivergenceScratch,
    consistent_rows,
    distance_rows,
    divergence_into,
    finish_divergence,
    layout_distance,
    sample_blocks,
)
from outcome_gym.sim.mechanisms.context import KINDS, ContextOutcome
from outcome_gym.sim.mechanisms.engagement import Engagement
from outcome_gym.sim.mechanisms.goals import Goals
from outcome_gym.sim.mechanisms.notifications import Delivery
from outcome_gym.sim.mechanisms.observation import (
    EventPipe,
    pipe_rows,
    receptivity_signal,
    signal_separation,
)
from outcome_gym.sim.population import Population
from outcome_gym.sim.rng import Rows, Streams, skip_uniforms
from outcome_gym.sim.world import World

NOT_TOTALLED = frozenset(
    {"active_users", "available", "trust_sum", "layout_distance_sum", "core_consistent", "churned"}
)
"""Per-user metrics that are states or flags of the moment, not counts to add up over a run."""

FLAGS = ("active_users", "available", "sessions", "churned")
"""Per-user metrics the outcome holds as N bools, in :meth:`Recorder.record`'s order."""

CONTEXT = (*(f"{kind}_events" for kind in KINDS), *(f"{kind}_failures" for kind in KINDS))
"""Per-user metrics the context holds as N bools (rows of its buffers), in that order: its
:attr:`~outcome_gym.sim.mechanisms.context.ContextOutcome.rows`."""

COUNTS = ("clicks", "delivered")
"""Per-user metrics the outcome holds as N int64 counts, in :meth:`Recorder.record`'s order."""

AMOUNTS = ("minutes", "goal_minutes", "distraction_minutes", "self_control_minutes",
           "interruption_minutes", "search_minutes")
"""Per-user metrics the outcome holds as N float64 amounts, in :meth:`Recorder.record`'s order."""

TICKETS = "support_tickets"
"""The per-user metric the outcome holds as N int16 (the context's failures of any kind)."""

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


class StepOutcome(NamedTuple):
    """What one step did to every user (N arrays): the input of its record (a named tuple: made
    every step, ~1 us less than a frozen dataclass of 15 fields). Built by keyword, read by
    position (:meth:`Recorder.record` and :meth:`Recorder._sums` unpack it whole): a field
    added or moved must be added or moved in both unpackings too.

    ``started``, the delivery's ``delivered`` and ``opened`` and the engagement's fresh arrays
    (``minutes``, ``clicks``, ``element_clicks``, ``position_clicks``, ``position_views``,
    ``element_totals``) are this step's own, made for it: :meth:`Recorder.record` makes them
    read-only in place (the record and the next observation hold them; nobody writes them
    after: a convention, as they own their memory and could be made writable again, see
    :class:`Last`). ``layout`` may be the caller's array: the record holds a read-only view of
    it.

    Attributes:
        step, day, slot, weekday: When.
        available: Users with time and context to act.
        started: Users who had a session.
        layout: N x S layout users saw (after guardrails).
        delivery: Notifications delivered, opened, opt-outs, interruption minutes.
        engagement: Clicks, minutes, progress of opened notifications and sessions.
        events: True goal events keyed '<goal>.<event>': the rows of one read-only events x N
            float64 matrix (:meth:`~outcome_gym.sim.mechanisms.goals.Goals.apply`'s), which the
            recorder reads as it is.
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
    events: itf.MetricRows
    context: ContextOutcome
    churned: np.ndarray
    active: np.ndarray
    trust: np.ndarray
    outside: np.ndarray


class Last(NamedTuple):
    """The previous step's per-user outputs, for the next observation
    (:meth:`Recorder.observation`): the step's own arrays, made read-only in place by the
    record (the layout: a read-only view, as it may be the caller's), so every observation shows
    them as they are. Read-only by convention, not sealed: those arrays own their memory, so a
    reader could ``setflags(write=True)`` them again, and none may (sealing them as
    :meth:`empty`'s are, memory no reader can reopen, would cost a copy per array every step).

    A named tuple: made every step (~0.2 us less than a dataclass by keyword), and the
    observation unpacks it.
    """

    session: np.ndarray
    clicks: np.ndarray
    minutes: np.ndarray
    delivered: np.ndarray
    opened: np.ndarray
    events: Mapping[str, np.ndarray]
    layout: np.ndarray

    @classmethod
    def empty(cls, world: World, names: list[str]) -> Last:
        """Before the first step: nothing happened, everyone had the default layout.

        Every array is :func:`_immutable` (no reader can make it or its base writable): one is
        shared by every run of a prebuilt world (:class:`RecordPlan`), each run's first
        observation showing the same zeros.
        """
        n = world.n_users
        return cls(
            session=_immutable(np.zeros(n, bool)),
            clicks=_immutable(np.zeros((n, world.n_elements), np.int16)),
            minutes=_immutable(np.zeros(n, np.float32)),
            delivered=_immutable(np.zeros((n, world.n_pushed), bool)),
            opened=_immutable(np.zeros((n, world.n_pushed), bool)),
            events=itf.frozen_readonly({e: _immutable(np.zeros(n, np.int32)) for e in names}),
            layout=_immutable(np.repeat(world.default_layout[None, :], n, axis=0)),
        )


def _immutable(a: np.ndarray) -> np.ndarray:
    """A read-only copy of ``a`` whose memory is a ``bytes`` object: neither it nor its
    ``.base`` can be made writable (numpy refuses for memory it does not own and that is not
    writable), so an array shared by every model of a prebuilt world cannot be changed by one.
    """
    return np.frombuffer(a.tobytes(), a.dtype).reshape(a.shape)


def _frozen(a: np.ndarray) -> np.ndarray:
    """``a`` (a fresh array nobody else holds) made read-only in place: a read-only argument of
    a compiled pass, as a model passes it (its owner could still make it writable again; see
    :func:`_immutable` for an array that cannot be).
    """
    a.setflags(False)  # ``write=False`` by position: ~0.1 us less than the keyword
    return a


class SegmentSums:
    """The users' segment blocks (users sit in contiguous segment blocks, in segment order) and
    per-segment tables: what :func:`block_sums` sums over.

    Args:
        segment: N segment index per user, in contiguous blocks.
        n_segments: K (segments without users get 0).

    Attributes:
        ids, starts, stops: Each block's segment and its first and past-the-last user
            (read-only int64).
        k: K.
        new_table: ``new_table((rows, K))``, a new float64 table for per-segment values, 0 in
            the columns of segments without users (``np.empty`` when every segment has users).
    """

    def __init__(self, segment: np.ndarray, n_segments: int) -> None:
        # a block starts where the segment changes (np.concatenate: np.r_ costs ~10 us a model)
        # read-only: one plan's are shared by every recorder of a prebuilt world (the passes
        # are compiled for read-only arrays there: compile_kernel and layout's warm-up)
        starts = np.flatnonzero(np.concatenate(([True], segment[1:] != segment[:-1])))
        self.ids = _frozen(segment[starts].astype(np.int64))
        self.stops = _frozen(np.concatenate((starts[1:], [segment.shape[0]])))
        self.starts = _frozen(starts)
        self.k = n_segments
        # the blocks are the segments 0..K-1 in order (every segment has users): no column of a
        # table stays without a sum, so it needs no zeros first
        every_segment = self.ids.tolist() == list(range(n_segments))
        # a new float64 table of a shape (n_rows, K) for per-segment values, 0 in the columns of
        # segments without users (chosen once: the recorder makes a table every step)
        self.new_table: Callable[[tuple[int, int]], np.ndarray] = (
            np.empty if every_segment else np.zeros)


class RecordPlan:
    """What the recorder of a world's whole population builds the same on every seed, built
    once per prebuilt world (``sim.model.Prebuilt``) and shared by its models' recorders: the
    segment blocks and the observation before the first step (:meth:`Last.empty`: arrays no
    reader can make writable, :func:`_immutable`). Nothing in it is written by a run.

    Args:
        world: The compiled scenario.
        segment: N segment index per simulated user (the population plan's, or a subset's).
    """

    def __init__(self, world: World, segment: np.ndarray) -> None:
        self.segments = SegmentSums(segment, len(world.segment_ids))
        self.empty = Last.empty(world, [ev.event for ev in world.params.events])
        self._of = (world, segment)

    def __reduce__(self) -> tuple:
        # built again from its inputs: a pickle or deep copy of the plan's arrays would come back
        # writable (numpy does not keep the flag), so a copy gets immutable zeros of its own
        return type(self), self._of


class RowLayout(NamedTuple):
    """Where each per-user metric of a step sits in :func:`record_rows`' stacked matrix, for a
    world's goal events and instrumented events (:func:`row_layout`).

    Attributes:
        names: The per-user metrics in record order (:data:`METRICS`, then the goal events).
        sampled_names: ``names`` and then the :data:`DIVERGENCE` estimators.
        n_rows: Rows of the stacked matrix.
        name_rows: Each name's row (int64).
        derived_rows: Each :data:`DERIVED` metric's row (int64).
        total_of: Each row's row of the totals (-1: not totalled; int64).
        pipe_rows: Each instrumented event's row (-1: not a goal event of the world; int64).
        totalled: The totalled names, in record order.
    """

    names: tuple[str, ...]
    sampled_names: tuple[str, ...]
    n_rows: int
    name_rows: np.ndarray
    derived_rows: np.ndarray
    total_of: np.ndarray
    pipe_rows: np.ndarray
    totalled: tuple[str, ...]


@functools.lru_cache(maxsize=64)
def row_layout(events: tuple[str, ...], instrumented: tuple[str, ...]) -> RowLayout:
    """The :class:`RowLayout` of a world's goal ``events`` and ``instrumented`` events, built
    once per process for the names (a model's first record laid it out again, ~50 us an env
    episode). Its arrays are shared by every recorder of these names, so they are read-only
    (:func:`record_rows` is compiled for read-only arrays there: :func:`compile_kernel`).

    Raises:
        AssertionError: A per-user metric has no row or no value, or a name is there twice.
    """
    names = METRICS + events
    # the pass's order (record_rows stacks the goal events right after TICKETS)
    rows = (*FLAGS, *CONTEXT, *COUNTS, *AMOUNTS, TICKETS, *events, *DERIVED)
    if len(set(rows)) != len(rows) or set(rows) != set(names):
        raise AssertionError(f"per-user metrics without a row or a value: "
                             f"{set(rows) ^ set(names)} (or a name twice)")
    row_of = {name: i for i, name in enumerate(rows)}
    totalled = tuple(name for name in names if name not in NOT_TOTALLED)
    total_of = np.full(len(rows), -1, dtype=np.int64)
    total_of[[row_of[name] for name in totalled]] = np.arange(len(totalled))
    return RowLayout(
        names=names, sampled_names=names + DIVERGENCE, n_rows=len(rows),
        name_rows=_frozen(np.array([row_of[name] for name in names], dtype=np.int64)),
        derived_rows=_frozen(np.array([row_of[name] for name in DERIVED], dtype=np.int64)),
        total_of=_frozen(total_of),
        pipe_rows=_frozen(np.array([row_of[event] if event in events else -1
                                    for event in instrumented], dtype=np.int64)),
        totalled=totalled)


class Recorder:
    """Builds each step's record, keeps the run's per-user totals and the previous step's outputs.

    Args:
        world: The compiled scenario.
        plan: The :class:`RecordPlan` of the simulated users' segments (a prebuilt world's, shared
            with other recorders, for its whole population; a subset's own).
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

    def __init__(self, world: World, plan: RecordPlan, streams: Streams,
                 rows: Rows | None = None) -> None:
        self.world = world
        self.streams = streams
        self.rows = rows if rows is not None else Rows(world.n_users)
        self.segments = plan.segments
        self.pipe = EventPipe(world.params.events, world.n_users)
        n_pipe = len(self.pipe.specs)
        # the pipe's noise over every user (Rows.uniform keeps the simulated users'), what it shows
        self._noise_shape = (2 * n_pipe, self.rows.n_all)
        self._seen_shape = (n_pipe, world.n_users)
        self._normals = np.empty(self.rows.n_all)  # the receptivity signal's noise, drawn into
        self.totals: dict[str, np.ndarray] = {}
        self.last = plan.empty
        n = world.n_users
        # what the pass reads of the world, as it reads it (the default as one row of layouts)
        self._default = world.default_layout.reshape(1, -1)
        self._weight_sum = float(world.slot_weight.sum())
        self._dist = np.empty(n)  # scratch of the pass: each user's layout distance
        self._consistent = np.empty(n, dtype=bool)  # and core consistency
        # the divergence sample's uniforms and working arrays; whether to try it without the
        # uniforms first (the last step's needed none)
        blocks = self.segments.ids.shape[0]
        self._u = np.empty((blocks, 3, PAIRS))
        # the stream they come from, which only float64 draws take: whether skipping them by
        # advancing it is exact never changes (skip_uniforms' answer, None until it is asked)
        self._metrics = streams["metrics"]
        self._skips: bool | None = None
        # the observation's receptivity signal: its noise's stream, the AUC's separation
        self._instrumentation = streams["instrumentation"]
        self._separation = signal_separation(world.params.receptivity_auc)
        self._divergence = DivergenceScratch(blocks, PAIRS, world.exact_weights)
        self._undrawn = True
        self._names: tuple[str, ...] = ()  # the per-user metrics, in record order
        # the table's shape without and with the divergence estimators (by sample_divergence,
        # which a replay may turn off): laid out with the names, at the first record
        self._table_shape = ((0, self.segments.k), (len(DIVERGENCE), self.segments.k))
        self._sampled_names: tuple[str, ...] = ()  # and then the divergence estimators
        self._events: tuple[str, ...] | None = None  # the goal events' names the layout has
        # the last goal events' map (immutable: while it is the same object, so are its names
        # and its matrix) and its matrix
        self._events_map: itf.MetricRows | None = None
        self._event_block = np.empty((0, n))
        self._stack_buffer = np.empty((0, n))
        self._derived_rows = np.zeros(len(DERIVED), dtype=np.int64)
        self._name_rows = np.zeros(0, dtype=np.int64)  # each metric's row in the stacked matrix
        self._total_of = np.zeros(0, dtype=np.int64)  # each stacked row's totals row (-1: none)
        self._pipe_rows = np.zeros(0, dtype=np.int64)  # each instrumented event's row (-1: none)
        self._totalled_names: tuple[str, ...] = ()
        self._totals_matrix = np.empty((0, n))
        self._fixed: tuple = ()  # record_rows' arguments that stay the same objects (_layout)

    def observation(self, step: int, clock: tuple[int, int, int], active: np.ndarray,
                    receptive: np.ndarray) -> itf.Observation:
        """What the product observes at ``step`` (``clock``: its day, slot and weekday): the
        previous step's behaviour (:attr:`last`), who is ``active`` (copied) and the noisy
        receptivity signal of who is ``receptive`` (N bools) now.

        The signal's N normals are drawn now from the ``instrumentation`` stream
        (:func:`~outcome_gym.sim.mechanisms.observation.receptivity_signal`, the separation of
        the scenario's AUC computed once per run); the fresh arrays are made read-only in place.
        """
        z = self._normals  # drawn into (the same numbers as a fresh draw), read by the signal
        self._instrumentation.standard_normal(out=z)
        receptivity = receptivity_signal(receptive, self._separation, self.rows.keep(z))
        receptivity.setflags(False)
        active = active.copy()
        active.setflags(False)
        session, clicks, minutes, delivered, opened, events, layout = self.last
        day, slot, weekday = clock
        return itf._instance(itf.Observation, {
            "step": step, "day": day, "slot": slot, "weekday": weekday, "active": active,
            "session": session, "clicks": clicks, "minutes": minutes, "delivered": delivered,
            "opened": opened, "receptivity": receptivity, "events": events, "layout": layout,
        })

    def record(self, out: StepOutcome) -> itf.StepRecord:
        """The step's record; totals and :attr:`last` are updated."""
        step, day, slot, weekday, _, sessions, layout, dlv, eng, _, _, _, _, _, _ = out
        table, opens, events = self._sums(out)  # events: the pipe's, a read-only map
        # the K sums of each metric in name order, then the divergence estimators: the table's
        # read-only rows go into the record as they are
        keys = self._sampled_names if self.sample_divergence else self._names
        minutes = eng.minutes.astype(np.float32)  # the observation's (fresh: frozen in place)
        # the step's fresh arrays (StepOutcome) frozen in place, named where they are read; the
        # layout, which may be the caller's own array, as a read-only view
        element_clicks, clicks, user_minutes = eng.element_clicks, eng.clicks, eng.minutes
        delivered, opened = dlv.delivered, dlv.opened
        position_clicks, position_views = eng.position_clicks, eng.position_views
        element_totals, layout = eng.element_totals, layout.view()
        for a in (minutes, sessions, element_clicks, delivered, opened, layout, clicks,
                  user_minutes, position_clicks, position_views, element_totals):
            a.setflags(False)  # ``write=False`` by position: ~0.1 us less each than the keyword
        self.last = Last(sessions, element_clicks, minutes, delivered, opened, events, layout)
        feedback = itf._instance(itf.Feedback, {
            "clicks": clicks,
            "minutes": user_minutes,
            "sessions": sessions,
            "opens": opens,
            "events": events,
        })
        return itf._instance(itf.StepRecord, {
            "step": step,
            "day": day,
            "slot": slot,
            "weekday": weekday,
            # one name per row of the read-only C-ordered float64 table: not checked again
            "segment_metrics": itf.MetricRows._of(keys, (table,)),
            "position_clicks": position_clicks,
            "position_views": position_views,
            "element_clicks": element_totals,  # summed over users by the pass
            "feedback": feedback,
        })

    def _sums(self, out: StepOutcome) -> tuple[np.ndarray, np.ndarray, itf.FrozenMap]:
        """The K per-segment sums of every per-user metric of the step (docs/model.md section 7)
        in name order, then (:attr:`sample_divergence`) the :data:`DIVERGENCE` estimators, as one
        read-only float64 matrix; the run's totals updated; the read-only N opens per user
        (int64) for the feedback; and the instrumented events the product sees now.

        One compiled pass (:func:`record_rows`) stacks the outcome's own arrays
        (:data:`FLAGS`, :data:`CONTEXT`, :data:`COUNTS`, :data:`AMOUNTS`, :data:`TICKETS`, the
        goal events' matrix) and the metrics derived from them (:data:`DERIVED`) as the rows of
        one R x N float64 matrix (reused), adds the totalled rows to the totals, sums each row
        per segment, pushes the instrumented events' rows through the event pipe and samples the
        divergence. What it reads and writes that stays the same objects from step to step (the
        world's arrays, the segments, its buffers, the pipe's state) is one tuple built with the
        layout. The metric names are the same every step; should they change (the goal
        events'), the matrix and the totals are laid out again (totals kept by name).
        """
        # the outcome's fields at once (a named tuple: ~0.3 us less than reading them one by one)
        (step, _, _, _, available, started, layout, dlv, eng, events, ctx, churned, active, trust,
         outside) = out
        w = self.world
        if events is not self._events_map:  # (Goals.apply's map is the same object every step)
            if events.names != self._events:
                self._layout(events.names)
            self._events_map, self._event_block = events, events.matrices[0]
        layout = np.ascontiguousarray(layout)
        exact, sample = w.exact_weights, self.sample_divergence
        # whole-number weights: the pass computes the distances (the same bits as the matvec)
        dist = self._dist if exact else layout_distance(layout, w.default_layout, w.slot_weight)
        # (a truthy sample_divergence may be numpy's bool, which cannot index a tuple)
        table = self.segments.new_table(self._table_shape[1] if sample else self._table_shape[0])
        opens = np.empty(w.n_users, np.int64)
        # the divergence sample's uniforms: drawn first unless the last step needed none
        drawn = sample and not self._undrawn
        if drawn:
            self._metrics.random(out=self._u)
        # the instrumented events' noise; their true counts are their rows of the stacked matrix
        noise = self.rows.uniform(self._instrumentation, self._noise_shape, axis=1, reuse=True)
        seen = np.empty(self._seen_shape, np.int32)
        status = record_rows(
            (active, available, started, churned), ctx.rows, (eng.clicks, dlv.delivered_count),
            (eng.minutes, eng.goal_minutes, eng.distraction_minutes, eng.self_control_minutes,
             dlv.interruption_minutes, eng.search_minutes),
            ctx.failed, self._event_block, dlv.opened, dlv.opted_out, eng.progress, outside,
            active, trust, layout, dist, noise, step, table, opens, seen, sample, drawn,
            self._fixed)
        if sample:
            if status or drawn or not exact:
                self._divergence_end(status, drawn, layout, active, table[len(self._names):])
            else:  # the pass finished the sample without its numbers: only the stream moves on
                # (what _divergence_end would do, here without its call; _undrawn stays True,
                # as it was: drawn was False, so the next step tries without them again)
                self._skips = skip_uniforms(self._metrics, self._u, self._skips)
        table.setflags(False)  # ``write=False`` by position: ~0.1 us less than the keyword
        opens.setflags(False)
        return table, opens, self.pipe.visible(step, seen)

    def _layout(self, events: tuple[str, ...]) -> None:
        """Fix the row of each per-user metric in the stacked matrix (on the first record, and
        when the goal events' names change): :func:`row_layout` of the names, and this run's
        stacked matrix, totals and the pass's per-run arguments.
        """
        n = self.world.n_users
        lay = row_layout(events, tuple(spec.event for spec in self.pipe.specs))
        self._names, self._events, self._sampled_names = lay.names, events, lay.sampled_names
        rows, k = len(lay.names), self.segments.k
        self._table_shape = ((rows, k), (rows + len(DIVERGENCE), k))
        self._stack_buffer = np.empty((lay.n_rows, n))
        self._name_rows, self._derived_rows = lay.name_rows, lay.derived_rows
        self._total_of, self._pipe_rows = lay.total_of, lay.pipe_rows
        totalled = self._totalled_names = lay.totalled
        old = dict(self.totals)
        matrix = self._totals_matrix = np.zeros((len(totalled), n))
        # rows by index (numpy's iteration over a matrix's rows costs ~3x as much)
        for i, name in enumerate(totalled):
            if name in old:
                matrix[i] = old[name]
        self.totals.clear()  # the same dict object: model.totals holds it
        self.totals.update({name: matrix[i] for i, name in enumerate(totalled)})
        for name, v in old.items():
            self.totals.setdefault(name, v)
        w, seg, sc = self.world, self.segments, self._divergence
        self._fixed = (
            self._default, w.slot_weight, self._weight_sum, w.exact_weights, w.core_slot,
            self._derived_rows, self._total_of, self._name_rows, seg.starts, seg.stops, seg.ids,
            sc.frames, self._stack_buffer, self._consistent, self._totals_matrix,
            (self._u, sc.ua, sc.ub, sc.dist, sc.freq, sc.bounds, sc.n_users),
            (self._pipe_rows, *self.pipe.pass_arrays()))

    def __setstate__(self, state: dict) -> None:
        # a pickle holds the totals and their matrix as separate arrays: make the totals views of
        # the matrix again (the dict itself is the model's too, so it is updated in place)
        self.__dict__.update(state)
        matrix = self._totals_matrix
        for i, name in enumerate(self._totalled_names):
            self.totals[name] = matrix[i]

    def _divergence_end(self, status: int, drawn: bool, layout: np.ndarray, active: np.ndarray,
                        out: np.ndarray) -> None:
        """Finish the segments' divergence sample the pass began (its answer ``status``: see
        :func:`~outcome_gym.sim.layout.divergence_into`) in the 4 x K ``out``.

        The ``metrics`` stream gives one draw for every block (the same numbers as a (3, PAIRS)
        draw per block in turn), into a buffer kept for it. When no block looks at its numbers
        (each segment's active users all sampled and of one layout, as under a policy that
        gives each segment one layout), the stream is advanced past them instead of drawing
        them (``PCG64.advance``: where the draw would leave it, as :class:`Rows` does). The pass
        tries without them when the last step needed none (``drawn`` False); if a block needs
        them after all, they are drawn and the sample taken again.

        Not called when the pass finished the sample without them (``status`` 0, not ``drawn``,
        with exact weights, where ``finish_divergence`` has nothing to do: the Segments case,
        every step): :meth:`_sums` advances the stream itself then (~1.4 us less than this
        call), and the next step tries without them too (``_undrawn`` stays True).
        """
        seg, w, rng = self.segments, self.world, self._metrics
        if not drawn and status & NEEDS_DRAW:
            rng.random(out=self._u)
            status = divergence_into(out, seg.ids, layout, active, seg.starts, seg.stops,
                                     w.slot_weight, self._u, w.exact_weights, self._divergence)
        else:
            if not drawn:  # numbers no block looked at
                self._skips = skip_uniforms(rng, self._u, self._skips)
            finish_divergence(status, out, seg.ids, layout, w.slot_weight, w.exact_weights,
                              self._divergence)
        self._undrawn = not status & NEEDS_DRAW


@compiled
def record_rows(flags, context, counts, amounts, tickets, events, opened, opted_out, progress,
                outside, active, trust, layout, dist, noise, step, table, opens, seen, sample,
                drawn, fixed
                ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A step's per-user metrics stacked, totalled and summed per segment, in one pass.

    ``fixed`` holds what stays the same objects from step to step: ``(default, weight,
    weight_sum, exact, core_slot, derived_at, total_of, name_rows, starts, stops, cols, frames,
    stacked, consistent, totals, divergence, pipe)``, ``frames`` being
    :func:`~outcome_gym.sim._rows.pairwise_sum`'s working stack (the divergence scratch's: one
    stack for every sum, which run one after another).

    * rows 0, 1, ... of ``stacked`` (R x N float64): the arrays of ``flags``, ``context``,
      ``counts``, ``amounts`` (tuples of N bools, bools, int64 counts and float64 amounts; one
      tuple per producer, each of one array type: numba iterates a tuple of one type only, and a
      read-only array is another type) and ``tickets``, in turn, as float64, then the rows of
      ``events`` (E x N float64, the goal events);
    * ``dist``: each user's :func:`~outcome_gym.sim.layout.layout_distance` to the default when
      ``exact`` (:func:`~outcome_gym.sim.layout.distance_rows`; otherwise the caller's matvec's),
      ``consistent``: its core consistency (:func:`~outcome_gym.sim.layout.consistent_rows`),
      and the derived metrics into rows ``derived_at`` (:func:`metric_rows`, which also writes
      ``opens``);
    * ``table[j]``: the per-segment sums of row r = ``name_rows[j]`` (:func:`block_sums`), and
      ``totals[total_of[r]] += stacked[r]`` for a totalled row (one row at a time: at large N
      the row is still in cache for the second reading);
    * with ``sample``, the segments' divergence sample over the blocks ``starts``/``stops``
      into columns ``cols`` of the table's last 4 rows
      (:func:`~outcome_gym.sim.layout.sample_blocks`; ``drawn``: its uniforms are drawn),
      ``divergence`` being (uniforms, pair users a and b, pair distances, frequencies, their
      bounds, users per block): its answer (0 without);
    * the instrumented events' pipe (:func:`~outcome_gym.sim.mechanisms.observation.pipe_rows`
      of ``noise`` at ``step`` into ``seen``, their true counts being rows of ``stacked``),
      ``pipe`` being (each event's row, miss and false rates, the ring, the delays).
    """
    (default, weight, weight_sum, exact, core_slot, derived_at, total_of, name_rows, starts,
     stops, cols, frames, stacked, consistent, totals, divergence, pipe) = fixed
    row = stack_rows(flags, stacked, 0)
    row = stack_rows(context, stacked, row)
    row = stack_rows(counts, stacked, row)
    row = stack_rows(amounts, stacked, row)
    row = stack_rows((tickets,), stacked, row)
    n = stacked.shape[1]
    for e in range(events.shape[0]):  # the goal events' rows follow (Recorder._layout's order)
        for i in range(n):
            stacked[row + e, i] = events[e, i]
    if exact:
        distance_rows(layout, default, weight, weight_sum, dist)
    consistent_rows(layout, default[0], core_slot, consistent)
    metric_rows(opened, opted_out, progress, outside, active, trust, dist, consistent, derived_at,
                stacked, opens)
    for j in range(name_rows.shape[0]):
        r, t = name_rows[j], total_of[name_rows[j]]
        if t >= 0:
            for i in range(n):
                totals[t, i] += stacked[r, i]
        block_sums(stacked[r], starts, stops, cols, table[j], frames)
    rows, miss, false, ring, delay = pipe
    pipe_rows(stacked, rows, noise, miss, false, ring, delay, step, seen)
    if not sample:
        return 0
    u, ua, ub, pair_dist, freq, bounds, n_users = divergence
    return sample_blocks(layout, active, starts, stops, u, weight, exact, drawn, cols, ua, ub,
                         pair_dist, table[name_rows.shape[0]:], freq, bounds, n_users, frames)


@compiled
def stack_rows(arrays, out, row
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[row + j] = arrays[j]`` (cast to ``out``'s dtype) for each N array of the tuple
    ``arrays`` (one dtype); the next row.
    """
    for a in arrays:
        for i in range(a.shape[0]):
            out[row, i] = a[i]
        row += 1
    return row


@compiled.inlined
def block_sums(x, starts, stops, cols, out, frames
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[cols[b]]``: the sum of ``x[starts[b]:stops[b]]`` (a non-empty block) as
    ``np.add.reduceat`` gives it -- the block's first entry plus the
    :func:`~outcome_gym.sim._rows.pairwise_sum` of the others (``frames``: its working stack).

    A block of at most 129 entries sums its others with
    :func:`~outcome_gym.sim._rows.pairwise_block`, which is what ``pairwise_sum`` does for
    them, without passing the stack: a compiled call costs per array it is passed (~70 ns a
    block with the stack's four), more than adding a few dozen numbers (at N = 20, 39 rows of
    3 blocks: ~8 us a step through ``pairwise_sum``, ~1 us this way).
    """
    for b in range(starts.shape[0]):
        rest, stop = starts[b] + 1, stops[b]
        if stop - rest <= PAIRWISE_BLOCK:
            out[cols[b]] = x[starts[b]] + pairwise_block(x, rest, stop)
        else:
            out[cols[b]] = x[starts[b]] + pairwise_sum(x, rest, stop, frames)


@compiled
def metric_rows(opened, opted_out, progress, outside, active, trust, dist, consistent, at, out,
                opens):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The step's derived per-user metrics (:data:`DERIVED`), into rows ``at`` of ``out``.

    Per user i, as numpy computed them (the columns added left to right, float64):

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
    """Compile (or load from the cache) :func:`record_rows` now, with a
    model's dtypes (see engagement.compile_kernel): one user, one slot, one segment.
    """
    b, b2, f2, i64 = np.ones(1, bool), np.zeros((1, 1), bool), np.zeros((1, 1)), np.int64
    rows = len(FLAGS) + len(CONTEXT) + len(COUNTS) + len(AMOUNTS) + 1 + len(DERIVED)
    divergence = (np.full((1, 3, 2), 0.5), np.zeros((0, 0), i64), np.zeros((0, 0), i64),
                  np.zeros((1, 2)), np.zeros(2), np.zeros(2, i64), np.zeros(1, i64))
    # read-only where a model's are: the row layout's (row_layout) and the segment blocks'
    # (SegmentSums) arrays
    pipe = (_frozen(np.zeros(1, i64)), np.zeros(1), np.zeros(1), np.zeros((1, 2, 1), np.int32),
            np.ones(1, i64))
    fixed = (_frozen(np.zeros((1, 1), np.int16)), _frozen(np.ones(1)), 1.0, True,
             _frozen(np.ones(1, bool)), _frozen(np.arange(rows - len(DERIVED), rows)),
             _frozen(np.zeros(rows, i64)), _frozen(np.zeros(1, i64)), _frozen(np.zeros(1, i64)),
             _frozen(np.ones(1, i64)), _frozen(np.zeros(1, i64)), pairwise_frames(),
             np.zeros((rows, 1)), np.ones(1, bool), np.zeros((1, 1)), divergence, pipe)
    record_rows(
        (b,) * len(FLAGS), (_frozen(np.ones(1, bool)),) * len(CONTEXT),  # the context's: read-only
        (np.zeros(1, i64),) * len(COUNTS), (np.zeros(1),) * len(AMOUNTS),
        _frozen(np.zeros(1, np.int16)), _frozen(np.zeros((0, 1))), b2, b2, f2, f2, b,
        np.ones(1, np.float32), np.zeros((1, 1), np.int16), np.zeros(1), np.full((2, 1), 0.5), 0,
        np.zeros((5, 1)), np.zeros(1, i64), np.zeros((1, 1), np.int32), True, True, fixed)


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
