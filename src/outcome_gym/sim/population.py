"""The population as a struct of arrays: one entry per user, no Python objects per user.

Static traits are drawn once from the scenario's segment distributions (stream ``population``);
dynamic state starts at its initial values. Dtypes are chosen so that a user's whole state stays
well under 1 KiB (see ``benchmarks/bench_step.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from outcome_gym.scenario.distributions import (
    Distribution,
    Param,
    param_constant,
)
from outcome_gym.scenario.schema import Segment, segment_counts
from outcome_gym.sim.interface import readonly

if TYPE_CHECKING:  # the world holds its population plan: sim.world imports this module
    from outcome_gym.sim.world import World

F = np.float32


@dataclass
class Population:
    """Every user's traits and state. Length-N arrays unless noted."""

    # --- traits (drawn once) ---
    segment: np.ndarray  # int16 segment index
    has_goal: np.ndarray  # N x G bool
    attention_budget: np.ndarray  # minutes per day
    avail_scale: np.ndarray  # multiplier on the segment's weekday x slot availability
    susceptibility: np.ndarray  # weight on appeal (impulsive self)
    goal_weight: np.ndarray  # weight on goal value (reflective self)
    propensity: np.ndarray  # self-initiated sessions per day when available
    habit_rate: np.ndarray  # c in h <- h + c (1 - h)
    fatigue_rate: np.ndarray
    fatigue_recovery: np.ndarray
    churn_sensitivity: np.ndarray
    devices: np.ndarray  # int8
    team: np.ndarray  # int32 team index
    outside_rate: np.ndarray  # goal progress per minute outside the app (mechanisms/outside.py)
    # --- state ---
    active: np.ndarray  # bool, not churned
    churn_day: np.ndarray  # int32, -1 while active
    attention_left: np.ndarray  # minutes left today
    trust: np.ndarray
    channel_trust: np.ndarray  # N x C
    opted_out: np.ndarray  # N x C bool
    fatigue: np.ndarray
    wear: np.ndarray  # N x M template wear
    sent_today: np.ndarray  # N x C int16
    habit: np.ndarray  # N x E automaticity per element
    app_habit: np.ndarray  # automaticity of opening the product
    used_today: np.ndarray  # N x E bool
    missed_days: np.ndarray  # N x E uint8 consecutive days without use
    session_today: np.ndarray  # bool
    app_missed: np.ndarray  # uint8 consecutive days without a session
    residue: np.ndarray  # focus lost to distraction and interruption (0..1)
    progress_today: np.ndarray  # goal progress today (for trust)
    waste_today: np.ndarray  # distraction minutes today (for trust)
    failures_today: np.ndarray  # context failures today (for trust)
    last_layout: np.ndarray  # N x S int16, layout at the user's last session
    memory_count: np.ndarray  # N x S float32, faded sessions the remembered element was seen there
    memory_element: np.ndarray  # N x S int16, element the user expects at each position (-1: none)
    # --- notification tray and trust memory (mechanisms/notifications.py, trust.py) ---
    tray_sent: np.ndarray  # N x M int32 step a waiting notification was delivered, -1 if none
    tray_due: np.ndarray  # N x M int32 step the user attends to it
    trust_npe: np.ndarray  # discounted sum of daily experience (RecSim LTS's NPE)

    @property
    def n(self) -> int:
        """Number of users."""
        return int(self.segment.shape[0])

    def reset_day(self) -> None:
        """Empty the day's accumulators once the day's close has read them (``fill``: ~0.13 us
        less apiece than a slice assignment at N = 200).
        """
        self.used_today.fill(False)
        self.session_today.fill(False)
        self.progress_today.fill(0)
        self.waste_today.fill(0)
        self.failures_today.fill(0)

    def take(self, rows: np.ndarray) -> Population:
        """The users ``rows`` only (every field's rows, copied; a subset replay's population)."""
        return Population(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def nbytes(self) -> int:
        """Bytes held by all arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))


def _segment_of(n: int, shares: list[float], counts: np.ndarray | None = None) -> np.ndarray:
    """Segment index per user: :func:`~outcome_gym.scenario.schema.segment_counts` users of each
    segment (``counts``, when the caller has them), in segment order.

    Deterministic counts (rather than a multinomial draw) keep segment sizes identical across
    seeds, so per-segment comparisons never lose a segment to chance at small N.
    """
    counts = segment_counts(n, shares) if counts is None else counts
    return np.repeat(np.arange(len(shares), dtype=np.int16), counts)


def _segment_blocks(counts: np.ndarray) -> list[slice]:
    """Each segment's users as a slice of the per-user arrays (:func:`_segment_of` lays them out
    in contiguous blocks, in segment order): a block's entries without a mask over all N.
    """
    ends = np.cumsum(counts).tolist()
    return [slice(end - int(k), end) for k, end in zip(counts, ends, strict=True)]


def habit_rate_from_days(days: np.ndarray) -> np.ndarray:
    """C such that daily repetition reaches 95% of the plateau after ``days`` days.

    From h_D = 1 - (1 - c)^D = 0.95 (source: lally2010 for days; the update form is D).
    """
    return 1.0 - np.power(0.05, 1.0 / np.maximum(days, 1.0))


def build_population(world: World, rng: np.random.Generator, team: np.ndarray) -> Population:
    """Draw every user's traits from the scenario and set the initial state.

    What does not depend on the seed (the segments, goals, constant traits and initial state) is
    built once per world (:attr:`World.population_plan <outcome_gym.sim.world.World.population_plan>`,
    a :class:`PopulationPlan`) and copied here; only the distributions are drawn.

    Args:
        world: The compiled scenario.
        rng: The ``population`` stream.
        team: Team index per user (from :func:`outcome_gym.sim.network.build_teams`).
    """
    plan = world.population_plan
    # keyword arguments are evaluated left to right: the draws' order below is the stream's
    # (the availability scale first, then the traits as listed; outside_rate last)
    scale = plan.draw("avail_scale", rng)
    n, c = world.n_users, len(world.channel_ids)
    return Population(
        segment=plan.segment.copy(),
        has_goal=plan.has_goal.copy(),
        attention_budget=plan.draw("attention_budget", rng),
        avail_scale=scale,
        susceptibility=plan.draw("susceptibility", rng),
        goal_weight=plan.draw("goal_weight", rng),
        propensity=plan.draw("session_propensity", rng),
        habit_rate=habit_rate_from_days(plan.draw("habit_days", rng)).astype(F),
        fatigue_rate=plan.draw("fatigue_rate", rng),
        fatigue_recovery=plan.draw("fatigue_recovery", rng),
        churn_sensitivity=plan.draw("churn_sensitivity", rng),
        devices=np.rint(plan.draw("devices", rng)).astype(np.int8),
        team=team.astype(np.int32),
        active=np.ones(n, dtype=bool),
        churn_day=np.full(n, -1, dtype=np.int32),
        attention_left=np.zeros(n, dtype=F),
        trust=plan.draw("trust", rng),
        channel_trust=np.repeat(plan.draw("channel_trust", rng)[:, None], c, axis=1),
        opted_out=np.zeros((n, c), dtype=bool),
        fatigue=np.zeros(n, dtype=F),
        wear=np.zeros((n, world.n_pushed), dtype=F),
        sent_today=np.zeros((n, c), dtype=np.int16),
        habit=np.zeros((n, world.n_elements), dtype=F),
        app_habit=np.zeros(n, dtype=F),
        used_today=np.zeros((n, world.n_elements), dtype=bool),
        missed_days=np.zeros((n, world.n_elements), dtype=np.uint8),
        session_today=np.zeros(n, dtype=bool),
        app_missed=np.zeros(n, dtype=np.uint8),
        residue=np.zeros(n, dtype=F),
        progress_today=np.zeros(n, dtype=F),
        waste_today=np.zeros(n, dtype=F),
        failures_today=np.zeros(n, dtype=np.int16),
        last_layout=plan.last_layout.copy(),
        # drawn last so that adding it left every earlier trait's draws unchanged
        outside_rate=plan.draw("outside_rate", rng),
        # new users know no positions yet (novices: mechanisms/memory.py)
        memory_count=np.zeros((n, world.n_slots), dtype=F),
        memory_element=np.full((n, world.n_slots), -1, dtype=np.int16),
        tray_sent=np.full((n, world.n_pushed), -1, dtype=np.int32),
        tray_due=np.full((n, world.n_pushed), -1, dtype=np.int32),
        trust_npe=np.zeros(n, dtype=F),
    )


# Each drawn trait: the segment attribute it is drawn from and its clip bounds.
_TRAITS: dict[str, tuple[Callable[[Segment], Param], float, float]] = {
    "avail_scale": (lambda seg: seg.availability.scale, 0.0, 1.0),
    "attention_budget": (lambda seg: seg.attention_budget, 0.0, np.inf),
    "susceptibility": (lambda seg: seg.susceptibility, 0.0, np.inf),
    "goal_weight": (lambda seg: seg.goal_weight, 0.0, np.inf),
    "session_propensity": (lambda seg: seg.session_propensity, 0.0, np.inf),
    "habit_days": (lambda seg: seg.habit_days, 1.0, np.inf),
    "fatigue_rate": (lambda seg: seg.fatigue_rate, 0.0, 1.0),
    "fatigue_recovery": (lambda seg: seg.fatigue_recovery, 0.0, 1.0),
    "churn_sensitivity": (lambda seg: seg.churn_sensitivity, 0.0, np.inf),
    "devices": (lambda seg: seg.devices, 1.0, 4.0),
    "trust": (lambda seg: seg.trust, 0.0, 1.0),
    "channel_trust": (lambda seg: seg.channel_trust, 0.0, 1.0),
    "outside_rate": (lambda seg: seg.outside_rate, 0.0, np.inf),
}


@dataclass(frozen=True, eq=False)  # eq=False: compared and hashed by identity (it holds an array)
class PerUser:
    """A per-user parameter given per segment (a number or a distribution each), for users laid
    out in contiguous segment blocks: its part that no seed changes, and its draw.

    Attributes:
        n: Users.
        base: N float64, the constant segments' values (read-only; the drawn blocks' entries are
            overwritten by each draw); None when every segment draws.
        runs: How :meth:`sample` draws the segments that draw, in segment order: (users,
            distribution, count) per run of consecutive drawing segments with equal
            distributions, drawn in one call (users a slice, or an index array where a constant
            segment lies between); empty when no segment draws.
    """

    n: int
    base: np.ndarray | None
    runs: tuple[tuple[slice | np.ndarray, Distribution, int], ...]

    @classmethod
    def of(cls, params: Sequence[Param], blocks: Sequence[slice]) -> PerUser:
        """The parameter whose segment k is ``params[k]``, its users ``blocks[k]``."""
        n = blocks[-1].stop if blocks else 0
        base = np.zeros(n, dtype=np.float64)
        draws: list[tuple[slice, Distribution]] = []
        for block, param in zip(blocks, params, strict=True):
            value = param_constant(param)
            if value is None:
                draws.append((block, param))  # type: ignore[arg-type] - not a number: a dist
            else:  # what sample_param gives for it, without the call
                base[block] = value
        every = bool(draws) and len(draws) == len(params)  # each draw overwrites all of base
        return cls(n, None if every else readonly(base), _runs(draws))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Every user's value (fresh float64): each drawing segment's block from its
        distribution (its ``sample``, what :func:`~outcome_gym.scenario.distributions.sample_param`
        calls, in segment order; a run of equal ones in one call: a draw of k + m values is its
        draws of k then m), the constant blocks as they are.
        """
        out = np.empty(self.n) if self.base is None else self.base.copy()
        for users, dist, count in self.runs:
            out[users] = dist.sample(rng, count)
        return out


def _runs(draws: Sequence[tuple[slice, Distribution]]
          ) -> tuple[tuple[slice | np.ndarray, Distribution, int], ...]:
    """:attr:`PerUser.runs` of ``draws``: consecutive equal distributions in one call (a call
    costs ~5 us whatever its size; e.g. every segment's default habit_days). Distributions of
    one kind with other parameters stay apart: numpy's generators check array parameters at
    every call (a beta's two arrays cost more than a second call).
    """
    runs: list[tuple[slice | np.ndarray, Distribution, int]] = []
    start = 0
    while start < len(draws):
        dist, stop = draws[start][1], start + 1
        while stop < len(draws) and draws[stop][1] == dist:
            stop += 1
        blocks = [b for b, _ in draws[start:stop]]
        count = sum(b.stop - b.start for b in blocks)
        if all(a.stop == b.start for a, b in itertools.pairwise(blocks)):
            users: slice | np.ndarray = slice(blocks[0].start, blocks[-1].stop)
        else:  # a constant segment between: its users keep base's value
            users = readonly(np.concatenate([np.arange(b.start, b.stop) for b in blocks]))
        runs.append((users, dist, count))
        start = stop
    return tuple(runs)


@dataclass(frozen=True)
class _Trait:
    """One trait's part that no seed changes.

    Attributes:
        values: Its values before clipping.
        lo, hi: The clip bounds.
        fixed: The float32 trait when no segment draws (read-only), else None.
    """

    values: PerUser
    lo: float
    hi: float
    fixed: np.ndarray | None


class PopulationPlan:
    """What :func:`build_population` builds the same on every seed, built once per world.

    The segments and their goals (deterministic counts: :func:`_segment_of`), each trait's and
    each goal parameter's constant values and which segments draw it (:class:`PerUser`), and the
    default layout every user starts with.
    Every array is read-only: each population copies what it keeps (the -1 fills are made
    fresh: ``np.full`` costs what a copy of a template would).

    Args:
        world: The compiled scenario.
    """

    def __init__(self, world: World) -> None:
        sc = world.scenario
        n = sc.population.size
        segs = sc.population.segments
        shares = [s.share for s in segs]
        self.n = n
        counts = segment_counts(n, shares)
        self.segment = readonly(_segment_of(n, shares, counts))
        blocks = _segment_blocks(counts)
        gidx = sc.goal_index()
        has_goal = np.zeros((n, world.n_goals), dtype=bool)
        for block, seg in zip(blocks, segs, strict=True):
            for g in seg.goals:
                has_goal[block, gidx[g]] = True
        self.has_goal = readonly(has_goal)
        self.traits = {name: self._trait(PerUser.of([get(seg) for seg in segs], blocks), lo, hi)
                       for name, (get, lo, hi) in _TRAITS.items()}
        # each goal's per-user parameters (its spec's: one per segment), drawn by the goal states
        self.goal_params = tuple({key: PerUser.of(params, blocks)
                                  for key, params in spec.per_user.items()}
                                 for spec in world.goals)
        self.last_layout = readonly(
            np.repeat(world.default_layout[None, :], n, axis=0).astype(np.int16))

    @staticmethod
    def _trait(values: PerUser, lo: float, hi: float) -> _Trait:
        fixed = None
        if not values.runs:
            assert values.base is not None
            fixed = readonly(np.clip(values.base, lo, hi).astype(F))
        return _Trait(values, lo, hi, fixed)

    def draw(self, name: str, rng: np.random.Generator) -> np.ndarray:
        """Trait ``name`` for every user (fresh float32): each drawing segment's block from its
        distribution (its ``sample``, what :func:`~outcome_gym.scenario.distributions.sample_param`
        calls, in segment order), the constant blocks as they are, clipped to the trait's bounds.
        """
        trait = self.traits[name]
        if trait.fixed is not None:
            return trait.fixed.copy()
        # ndarray.clip is what np.clip calls, without its Python-level wrapper (~1.5 us)
        return trait.values.sample(rng).clip(trait.lo, trait.hi).astype(F)
