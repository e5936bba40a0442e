"""The scenario compiled into arrays and small records: elements, layout, goals, schedule,
availability profiles and every mechanism's parameters (shared by all users, built once per model).

Nothing below ``sim/world.py`` reads the scenario schema: the model and its mechanisms take what
:func:`compile_world` built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from outcome_gym.scenario.distributions import Param
from outcome_gym.scenario.schema import WEEKDAYS, Scenario
from outcome_gym.sim.interface import PolicyContext, readonly
from outcome_gym.sim.layout import exact_weights
from outcome_gym.sim.mechanisms.availability import availability_table
from outcome_gym.sim.mechanisms.goals import GoalSpec
from outcome_gym.sim.params import Params, compile_params, goal_spec
from outcome_gym.sim.population import PopulationPlan


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class World:
    """Array view of a scenario's product, goals and clock.

    Attributes:
        n_elements: E, all elements (laid out and pushed).
        appeal, cost, core, pushed: per element.
        value: E x G progress toward each goal per engagement.
        channel: per element, channel index (-1 for laid-out elements).
        layout_elements: indices of elements that can be laid out.
        pushed_elements: indices of the M pushable elements (notification column order).
        default_layout: S element indices.
        core_slot: S bools, True where the default has a core element (locked position).
        slot_weight: S weights used in layout distance (core_weight on core slots, else 1).
        goal_kinds: per goal, 'tasks' | 'budget' | 'practice'.
        goals: per goal, its compiled spec (per-user parameter distributions per segment).
        availability: K x 7 x S availability by segment, weekday and slot.
        n_users: N.
        team_size: Distribution of team sizes.
        params: Every mechanism's parameters.
    """

    scenario: Scenario
    n_elements: int
    element_ids: tuple[str, ...]
    appeal: np.ndarray
    cost: np.ndarray
    core: np.ndarray
    pushed: np.ndarray
    value: np.ndarray
    channel: np.ndarray
    layout_elements: np.ndarray
    pushed_elements: np.ndarray
    default_layout: np.ndarray
    core_slot: np.ndarray
    slot_weight: np.ndarray
    goal_ids: tuple[str, ...]
    goal_kinds: tuple[str, ...]
    segment_ids: tuple[str, ...]
    channel_ids: tuple[str, ...]
    background_per_day: np.ndarray
    slots_per_day: int
    n_steps: int
    start_weekday: int
    goals: tuple[GoalSpec, ...]
    availability: np.ndarray
    n_users: int
    team_size: Param
    params: Params
    schedule: tuple[ScheduledSend, ...] = ()

    @property
    def n_slots(self) -> int:
        """S, positions in a layout."""
        return int(self.default_layout.shape[0])

    @property
    def n_pushed(self) -> int:
        """M, pushable elements (notification columns)."""
        return int(self.pushed_elements.shape[0])

    @property
    def n_goals(self) -> int:
        """G, goals."""
        return len(self.goal_ids)

    @cached_property
    def exact_weights(self) -> bool:
        """Layout distances' sums are exact in any order (``sim.layout.exact_weights`` of
        ``slot_weight``): every distance may then be a compiled loop.
        """
        return exact_weights(self.slot_weight)

    @cached_property
    def population_plan(self) -> PopulationPlan:
        """What every population of this world is built from whatever the seed (segments,
        goals, constant traits, initial state: ``sim.population.PopulationPlan``), built at
        the first population and shared by every later one (the env's resets).
        """
        return PopulationPlan(self)

    def time_of(self, step: int) -> tuple[int, int, int]:
        """(day, slot, weekday) of a step."""
        day, slot = divmod(step, self.slots_per_day)
        return day, slot, (self.start_weekday + day) % 7

    def policy_context(self, segment: np.ndarray, instrumented: Sequence[str]) -> PolicyContext:
        """What a policy may know before a run of this world with these users' segments."""
        return PolicyContext(
            scenario=self.scenario,
            n_users=int(segment.shape[0]),
            element_ids=self.element_ids,
            layout_elements=self.layout_elements,
            pushed_elements=self.pushed_elements,
            default_layout=self.default_layout,
            core_slot=self.core_slot,
            segment=readonly(segment.copy()),
            instrumented=tuple(instrumented),
            slots_per_day=self.slots_per_day,
            n_steps=self.n_steps,
        )

    def default_notify(self, step: int, segment: np.ndarray) -> np.ndarray:
        """The default schedule's sends at ``step`` for users of ``segment`` (N x M bools)."""
        return self.notify_of(self.sends_at(step), segment)

    def schedule_at(self, step: int) -> np.ndarray:
        """:meth:`default_notify` for this world's whole population (its
        :attr:`population_plan`'s segments), read-only and shared: built once per set of
        sending entries (:meth:`sends_at`), for every run of the world (read it, do not keep it),
        and looked up by step (a step asked before skips :meth:`sends_at`'s loop over the
        schedule; the world is frozen and the sends depend only on the step).
        """
        out = self._step_schedules.get(step)
        if out is None:
            sends = self.sends_at(step)
            out = self._schedules.get(sends)
            if out is None:
                out = self._schedules[sends] = readonly(
                    self.notify_of(sends, self.population_plan.segment))
            self._step_schedules[step] = out
        return out

    @cached_property
    def _schedules(self) -> dict[tuple[int, ...], np.ndarray]:
        """:meth:`schedule_at`'s sends by the entries that send (filled as steps ask)."""
        return {}

    @cached_property
    def _step_schedules(self) -> dict[int, np.ndarray]:
        """:meth:`schedule_at` by step (filled as steps ask; the arrays of :attr:`_schedules`)."""
        return {}

    def sends_at(self, step: int) -> tuple[int, ...]:
        """The entries of :attr:`schedule` (indices, in order) that send at ``step``: the
        default schedule's sends then are :meth:`notify_of` them.
        """
        day, slot, weekday = self.time_of(step)
        return tuple([i for i, item in enumerate(self.schedule)
                      if item.slot == slot and day % item.period_days == item.on_day
                      and (item.weekdays is None or weekday in item.weekdays)])

    def notify_of(self, sends: tuple[int, ...], segment: np.ndarray) -> np.ndarray:
        """N x M bools: what the schedule entries ``sends`` (:meth:`sends_at`) send to users of
        ``segment``.
        """
        out = np.zeros((segment.shape[0], self.n_pushed), dtype=bool)
        for i in sends:
            item = self.schedule[i]
            if item.segments is None:
                out[:, item.column] = True
            else:
                out[:, item.column] |= np.isin(segment, item.segments)
        return out


@dataclass(frozen=True)
class ScheduledSend:
    """One default-schedule entry resolved to indices (built once, read every step)."""

    column: int
    slot: int
    period_days: int
    on_day: int
    weekdays: frozenset[int] | None
    segments: tuple[int, ...] | None


def resolve_schedule(scenario: Scenario, pushed: np.ndarray) -> tuple[ScheduledSend, ...]:
    """The product's schedule with notification columns (``pushed``: each column's element) and
    slot, weekday and segment indices.
    """
    col = {int(e): m for m, e in enumerate(pushed)}
    eidx = scenario.element_index()
    sidx = scenario.segment_index()
    names = scenario.clock.names
    return tuple(
        ScheduledSend(
            column=col[eidx[item.element]],
            slot=item.slot if isinstance(item.slot, int) else names.index(item.slot),
            period_days=item.period_days,
            on_day=item.on_day,
            weekdays=None if item.weekdays is None else frozenset(
                WEEKDAYS.index(w) for w in item.weekdays),
            segments=None if item.segments is None else tuple(sidx[x] for x in item.segments),
        )
        for item in scenario.product.schedule
    )


def compile_world(scenario: Scenario) -> World:
    """Turn a validated scenario into the arrays the mechanisms use."""
    els = scenario.product.elements
    eidx = scenario.element_index()
    gidx = scenario.goal_index()
    cidx = {c.id: i for i, c in enumerate(scenario.product.channels)}
    value = np.zeros((len(els), len(scenario.goals)), dtype=np.float64)
    for i, e in enumerate(els):
        for g, v in e.value.items():
            value[i, gidx[g]] = v
    pushed = np.array([e.pushed for e in els], dtype=bool)
    core = np.array([e.core for e in els], dtype=bool)
    default = np.array([eidx[x] for x in scenario.product.layout.default], dtype=np.int16)
    core_slot = core[default]
    weight = np.where(core_slot, scenario.context.core_weight, 1.0)
    return World(
        scenario=scenario,
        n_elements=len(els),
        element_ids=tuple(e.id for e in els),
        appeal=_frozen(np.array([e.appeal for e in els], dtype=np.float64)),
        cost=_frozen(np.array([e.attention_cost for e in els], dtype=np.float64)),
        core=_frozen(core),
        pushed=_frozen(pushed),
        value=_frozen(value),
        channel=_frozen(
            np.array([cidx.get(e.channel, -1) if e.channel else -1 for e in els], dtype=np.int16)
        ),
        layout_elements=_frozen(np.flatnonzero(~pushed).astype(np.int16)),
        pushed_elements=_frozen(np.flatnonzero(pushed).astype(np.int16)),
        default_layout=_frozen(default),
        core_slot=_frozen(core_slot),
        slot_weight=_frozen(weight),
        goal_ids=tuple(g.id for g in scenario.goals),
        goal_kinds=tuple(g.kind for g in scenario.goals),
        segment_ids=tuple(s.id for s in scenario.population.segments),
        channel_ids=tuple(c.id for c in scenario.product.channels),
        background_per_day=_frozen(
            np.array([c.background_per_day for c in scenario.product.channels], dtype=np.float64)
        ),
        slots_per_day=scenario.clock.slots_per_day,
        n_steps=scenario.clock.n_steps,
        start_weekday=WEEKDAYS.index(scenario.clock.start_weekday),
        goals=tuple(goal_spec(g, scenario.population.segments) for g in scenario.goals),
        availability=_frozen(availability_table(
            [(s.availability.weekday, s.availability.slot) for s in scenario.population.segments]
        )),
        n_users=scenario.population.size,
        team_size=scenario.population.team.size,
        params=compile_params(scenario),
        schedule=resolve_schedule(scenario, np.flatnonzero(pushed)),
    )
