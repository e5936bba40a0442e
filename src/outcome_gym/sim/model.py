"""``SimulationModel``: the population of one scenario under one seed, stepped one slot at a time.

A ``mesa.Model`` whose users are :class:`~outcome_gym.sim.agents.UserAgent` views onto the
struct-of-arrays population. :meth:`SimulationModel.advance` is the step of docs/design.md section 4
as a sequence of named hooks: each draws from its own stream, calls its mechanism's pure functions
(``sim/mechanisms/``) on the compiled world and writes the results back into the population; the
:class:`~outcome_gym.sim.recording.Recorder` builds the record. Guardrails (step 2) belong to the
product layer (:class:`outcome_gym.product.Product`). Mesa's ``step()`` uses the default action.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import numpy as np

from outcome_gym.errors import NumericalError, SimulationError
from outcome_gym.scenario.loading import load_scenario
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sim import interface as itf
from outcome_gym.sim._jit import pass_array
from outcome_gym.sim._mesa import mesa
from outcome_gym.sim.agents import AGENT_VIEW_LIMIT, add_agents
from outcome_gym.sim.collect import Reporter, make_datacollector
from outcome_gym.sim.daily import accumulate, start_day
from outcome_gym.sim.footprint import check_footprint
from outcome_gym.sim.mechanisms import (
    context,
    engagement,
    goals,
    habits,
    memory,
    notifications,
    outside,
    sessions,
    trust,
)
from outcome_gym.sim.mechanisms.availability import available
from outcome_gym.sim.mechanisms.goals import Goals
from outcome_gym.sim.network import Teams, build_teams, team_graph
from outcome_gym.sim.population import Population, build_population
from outcome_gym.sim.recording import Recorder, RecordPlan, StepOutcome, user_state
from outcome_gym.sim.rng import Rows, Streams, make_streams
from outcome_gym.sim.world import World, compile_world


class SimulationModel(mesa.Model):
    """Synthetic users living through a scenario, one time slot per step.

    As other Mesa 3 models, it takes ``seed=`` or ``rng=`` (not both): an integer gives the same
    run either way; a ``numpy.random.Generator`` (or anything ``numpy.random.default_rng`` takes)
    draws the root seed from it; neither draws one from the operating system. ``running`` turns
    False at the horizon, and stepping past it raises :class:`~outcome_gym.errors.SimulationError`.
    With ``collect=True`` (or reporters given) it owns a Mesa ``DataCollector`` that collects at
    construction and after every step, so Mesa's ``batch_run`` runs it as it is::

        batch_run(SimulationModel, {"scenario": "productivity_tool", "seed": range(4),
                                    "collect": True}, max_steps=10_000)

    Args:
        scenario: A validated scenario, a bundled scenario's name, a scenario file's path, or a
            :class:`Prebuilt` of a scenario (its compiled world, built once for many models).
        seed: The run's root seed, a non-negative integer (the only randomness).
        rng: Instead of ``seed``: an integer (the same as ``seed``) or a generator or seed-like
            value the root seed is drawn from.
        mesa_agents: Create :class:`~outcome_gym.sim.agents.UserAgent` views (default: when
            N <= 100,000).
        collect: Own a ``datacollector`` with the default reporters of
            :mod:`outcome_gym.sim.collect` (those not given below).
        model_reporters: Mesa model reporters (name -> callable or attribute) instead of the
            defaults; giving them turns collection on.
        agent_reporters: Mesa agent reporters (name -> ``UserAgent`` attribute or callable).
        users: Simulate these users and their teammates only (None: everyone). Every draw is made
            for all N users and the subset's rows kept, so each simulated user lives exactly the
            days of the full run -- under a policy that treats users apart (a story's replay,
            :mod:`outcome_gym.story`). The model's users are then numbered 0..n-1 in the order of
            :attr:`rows` (``rows.ids``: their ids in the full population).

    Raises:
        ValueError: Both ``seed`` and ``rng``, a seed that is not a non-negative integer, or agent
            reporters without agent views.
        ScenarioError: ``scenario`` names no bundled scenario or valid file.
    """

    def __init__(self, scenario: Scenario | Prebuilt | str | os.PathLike[str],
                 seed: int | None = None, *, rng: Any = None,
                 mesa_agents: bool | None = None, collect: bool = False,
                 model_reporters: Mapping[str, Reporter] | None = None,
                 agent_reporters: Mapping[str, Reporter] | None = None,
                 users: Sequence[int] | np.ndarray | None = None) -> None:
        if not isinstance(scenario, Scenario | Prebuilt):
            scenario = load_scenario(scenario)
        seed = _root_seed(seed, rng)
        # refuse a world that cannot fit before allocating any of it (with the memory free now)
        check_footprint(scenario.scenario if isinstance(scenario, Prebuilt) else scenario)
        built = scenario if isinstance(scenario, Prebuilt) else Prebuilt.of(scenario)
        streams = make_streams(seed)
        super().__init__(rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(99,))))
        self.scenario = built.scenario
        self.seed = seed
        self.streams: Streams = streams
        self.world: World = built.world
        self.params = self.world.params
        n = self.world.n_users
        self.teams: Teams = build_teams(n, self.world.team_size, streams["team"])
        self.pop: Population = build_population(self.world, streams["population"], self.teams.team)
        self.goals = Goals(self.world.goals, self.world.slots_per_day, self.pop.has_goal,
                           self.world.population_plan.goal_params, self.pop.habit_rate,
                           self.params.day.habit_fade, streams["population"])
        self.rows = Rows(n)
        if users is not None:  # everyone is built (the same draws), then the subset's rows kept
            self._keep_rows(users)
            n = self.rows.n
        # the world's record plan is its whole population's (a subset builds its own)
        plan = built.record if self.rows.index is None else RecordPlan(self.world, self.pop.segment)
        self.recorder = Recorder(self.world, plan, streams, self.rows)
        self.totals: dict[str, np.ndarray] = self.recorder.totals
        self._eng_pass = self._engagement_pass(built)
        st = built.static
        self._notifier = notifications.Notifier(
            self.params.notifications, self.params.focus.residue, st.appeal_pushed,
            st.value_pushed, st.channel_load, built.channel_of_m, st.volume_hazard,
            st.expiry_slots, built.slot_hours, self.pop.fatigue_rate,
            self.pop.channel_trust.shape[1])
        pop = self.pop
        self._starter = sessions.Starter(self.params.sessions, self.world.slots_per_day, n,
                                         pop.propensity.dtype, pop.app_habit.dtype,
                                         pop.trust.dtype)
        self._tray_buffers = tuple(np.empty((self.rows.n_all, self.world.n_pushed), np.float32)
                                   for _ in range(2))
        # the outside progress of a slot (N x G): zeros (never written) or the last slot's credit
        self._outside_bufs = (np.zeros((n, len(self.goals))), np.empty((n, len(self.goals))))
        # who can have each context event never changes: devices and teams are fixed at build
        # (a user has a teammate where the team has 2+ members)
        w = self.world
        self._context_events = context.ContextEvents(
            self.params.context, w.slots_per_day, self.pop.devices >= 2,
            self.teams.sizes() >= 2, self.teams, w.default_layout,
            w.slot_weight, w.exact_weights, self.params.focus.residue, self.pop.residue.dtype)
        self.t = 0
        self._step_arrays(n)  # advance's per-run arrays
        # the streams every step draws from, looked up once (a Streams lookup is a Python call:
        # the six a step took ~0.43 us, six attribute reads ~0.08): made now, not at the first
        # step (no draw depends on when a stream is made)
        self._rng_availability = streams["availability"]
        self._rng_notifications = streams["notifications"]
        self._rng_tray = streams["tray"]
        self._rng_sessions = streams["sessions"]
        self._rng_choice = streams["choice"]
        self._rng_context = streams["context"]
        self._avail_step, self._avail_now = -1, np.zeros(n, bool)
        self._obs: itf.Observation | None = None
        self.context = self.world.policy_context(self.pop.segment, self.recorder.pipe.names)
        if mesa_agents if mesa_agents is not None else n <= AGENT_VIEW_LIMIT:
            add_agents(self, n)
        self.running = not self.done
        collector = make_datacollector(self, collect, model_reporters, agent_reporters)
        self._collecting = collector is not None
        if collector is not None:  # no attribute otherwise: batch_run then says what is missing
            self.datacollector = collector
            collector.collect(self)  # the state at step 0, as Mesa models do

    def _engagement_pass(self, built: Prebuilt) -> engagement.StepPass:
        """The engagement hook's per-run pass: its coefficients and the world's arrays (the
        prebuilt's, for the traits' dtype: fixed at build; a subset replay takes rows, not
        dtypes), and its buffers.
        """
        pop, p = self.pop, self.params
        dtype = np.result_type(pop.susceptibility, pop.goal_weight, pop.habit, pop.fatigue)
        return engagement.StepPass(p.choice, p.memory, p.notifications.channel_trust_gain,
                                   p.notifications.channel_trust_loss,
                                   built.engagement_fixed(dtype), built.channel_of_m, pop.n,
                                   pop.memory_count.dtype)

    def _step_arrays(self, n: int) -> None:
        """:meth:`advance`'s per-run arrays for ``n`` users: the churn of a step that starts no
        day (nobody; never written, only read by the record); residue's fade between slots in
        residue's dtype (the notification pass applies it).
        """
        self._no_churn = np.zeros(n, bool)
        self._carry = self.pop.residue.dtype.type(self.params.focus.residue_carry)

    def _keep_rows(self, users: Sequence[int] | np.ndarray) -> None:
        """Keep ``users`` and their teammates only (see ``users`` in the class docstring)."""
        n = self.world.n_users
        wanted = np.asarray(users, dtype=np.int64).reshape(-1)
        if wanted.size == 0 or wanted.min() < 0 or wanted.max() >= n:
            raise ValueError(f"expected users in 0..{n - 1}, got {wanted.tolist()[:5]}")
        idx = self.teams.closure(wanted)
        if idx.size == n:  # their teams are everyone: the full run
            return
        self.rows = Rows(n, idx)
        self.teams = self.teams.take(idx)
        self.pop = self.pop.take(idx)
        self.goals.take(self.rows)
        self.world = replace(self.world, n_users=self.rows.n)

    # --- public ------------------------------------------------------------------------------

    def _refuse_past_horizon(self) -> None:
        if self.done:
            self.steps = self.t  # Mesa's step wrapper counted a step that does not happen
            raise SimulationError(
                f"the run is over: {self.scenario.name} has {self.world.n_steps} steps and all "
                "have run (model.running is False); build a new model to run again")

    @property
    def done(self) -> bool:
        """True once the horizon is reached."""
        return self.t >= self.world.n_steps

    def team_graph(self) -> Any:
        """The team network as a ``networkx.Graph``."""
        return team_graph(self.teams)

    def default_action(self) -> itf.Action:
        """The unpersonalized product: default layout and default notification schedule."""
        layout = np.repeat(self.world.default_layout[None, :], self.pop.n, axis=0)
        return itf.Action(layout=layout, notify=self.world.default_notify(self.t, self.pop.segment))

    def observe(self) -> itf.Observation:
        """What the product can observe now (never the users' hidden state).

        Computed once per step (repeated calls return the same object), so how often a caller
        observes never changes what the random streams draw.
        """
        obs = self._obs
        if obs is not None and obs.step == self.t:
            return obs
        self._obs = obs = self.recorder.observation(self.t, self.world.time_of(self.t),
                                                    self.pop.active, self._available_now())
        return obs

    def needs(self) -> tuple[np.ndarray, np.ndarray]:
        """Hidden state: N x G goal urgency and remaining progress now (for oracles in studies;
        fresh arrays: the goals' own are their buffers, overwritten by the next step).
        """
        need, remaining = self.goals.needs(self.t)
        return need.copy(), remaining.copy()

    def user_state(self) -> dict[str, np.ndarray]:
        """Final state and totals per user (the per-user record of a run)."""
        return user_state(self.world, self.pop, self.goals, self.totals, self.t, self.rows.ids)

    def step(self) -> None:
        """Mesa-style step: advance one slot with the default action.

        Raises:
            SimulationError: The horizon is reached (``running`` is False).
        """
        self._refuse_past_horizon()
        self.advance(self.default_action())

    def advance(self, action: itf.Action, *, checked: bool = False) -> itf.StepRecord:
        """Advance one time slot under ``action`` (as users see it) and return what happened.

        Args:
            action: What every user sees this slot.
            checked: The caller has validated ``action`` already
                (:func:`~outcome_gym.sim.interface.validate_action`; the product layer does, before
                its guardrails, whose projection keeps an action valid): not checked again.

        Raises:
            ActionError: ``action`` is malformed (unless ``checked``).
            SimulationError: The horizon is reached (``running`` is False).
        """
        self._refuse_past_horizon()
        t = self.t
        if not checked:
            itf.validate_action(action, self.context, step=t)
        self.observe()  # draws this step's observation noise whether or not the caller looked
        pop = self.pop
        day, slot, weekday = self.world.time_of(t)
        avail = self._available_now()  # drawn with the observation
        if slot == 0:
            churned = start_day(pop, self.goals, self.params, self.streams, day, t, self.rows)
            if day > 0:
                self._forget()
            # users who churned at today's start are no longer available (nobody quits within
            # a day: at the other slots the draw's activity is still the users')
            avail = avail & pop.active
        else:
            churned = self._no_churn
        # the passes' form (C-ordered int16): every hook takes it as it is
        layout = pass_array(action.layout, np.int16)
        need, remaining = self.goals.needs(t)
        dlv = self._notifications(action.notify, avail, need)
        started = self._sessions(avail, dlv.opened_any, need, slot == 0)
        eng = self._engage(started, layout, dlv, remaining, need)
        # context failures spend attention the outside progress of the day's last slot reads
        # (its own stream: moving it before the goals changes no draw)
        ctx = self._context(layout)
        last = slot == self.world.slots_per_day - 1
        off_app = self._outside(last, need, remaining, eng.progress)
        # outside progress is 0 before the day's last slot: the app's is then credited as it is
        # (the same bits: progress is never -0.0, and x + 0.0 is x)
        events = self.goals.apply(eng.progress + off_app if last else eng.progress, t)
        self._bookkeep(started, layout, eng)
        record = self.recorder.record(StepOutcome(
            step=t, day=day, slot=slot, weekday=weekday, available=avail, started=started,
            layout=layout, delivery=dlv, engagement=eng, events=events, context=ctx,
            churned=churned, active=self.pop.active, trust=self.pop.trust, outside=off_app,
        ))
        self.t = self.steps = t + 1
        self.running = not self.done
        if self._collecting:
            self.datacollector.collect(self)
        return record

    # --- hooks, in step order ----------------------------------------------------------------

    def _available_now(self) -> np.ndarray:
        """Step 3: availability for the current step, drawn once per step (later calls reuse it)."""
        if self._avail_step != self.t:
            _, slot, weekday = self.world.time_of(self.t)
            u = self.rows.uniform(self._rng_availability, (self.rows.n_all,))
            pop = self.pop
            self._avail_now = available(self.world.availability, pop.segment, pop.avail_scale,
                                        pop.active, weekday, slot, u)
            self._avail_step = self.t
        return self._avail_now

    def _notifications(
        self, notify: np.ndarray, avail: np.ndarray, need: np.ndarray
    ) -> notifications.Delivery:
        """Step 4: the last slot's focus residue fades (between slots), then deliver into the
        tray, open or dismiss what is due, opt out; fatigue, wear, interruption cost and residue
        (notifications.Notifier: the population's state is updated in place).

        The tray's draws: N x M float32 uniforms (place in the slot) and normals (delay) from
        the ``tray`` stream, into this run's buffers (overwritten next step), drawn every step
        for every user and template, delivered or not, so a user's delays never depend on what
        was sent to anyone (per-user common random numbers); the simulated users' rows kept.
        """
        pop, rows = self.pop, self.rows
        u = rows.uniform(self._rng_notifications, (2, rows.n_all, self.world.n_pushed),
                         axis=1, reuse=True)
        tray, (u_pos, z) = self._rng_tray, self._tray_buffers
        # float32 halves the cost of the draws; the delay needs no more precision than that
        # (``out=`` fills in the order of a fresh draw: the same numbers)
        tray.random(out=u_pos, dtype=np.float32)
        tray.standard_normal(out=z, dtype=np.float32)
        dlv, finite = self._notifier.step(
            self.t, notify, avail, need, u, rows.keep(u_pos), rows.keep(z), pop.active,
            pop.opted_out, pop.attention_left, pop.sent_today, pop.susceptibility,
            pop.goal_weight, pop.fatigue, pop.wear, pop.channel_trust, pop.tray_sent,
            pop.tray_due, pop.residue, self._carry)
        if not finite:  # the pass saw a non-finite open log-odds or fatigue
            raise NumericalError("notifications", self.t)
        # a churned user's channel trust stays where it was (their tray just empties): ignored
        # counts an active user's notifications only
        return dlv

    def _sessions(self, avail: np.ndarray, opened_any: np.ndarray, need: np.ndarray,
                  day_start: bool) -> np.ndarray:
        """Step 5: who starts a session (anyone who opened a notification does; a self-initiated
        session needs attention left today). The app habit changes only at a day's start (the
        close's ``update_habit``; a run's first step is one): its term is computed then.
        """
        pop = self.pop
        u = self.rows.uniform(self._rng_sessions, (self.rows.n_all,))
        return self._starter.step(avail, opened_any, pop.propensity, pop.app_habit, need,
                                  pop.trust, u, pop.attention_left, day_start)

    def _engage(self, started: np.ndarray, layout: np.ndarray, dlv: notifications.Delivery,
                remaining: np.ndarray, need: np.ndarray) -> engagement.Engagement:
        """Step 6: opened notifications first, then the sessions; channel trust moves and layout
        memory learns (``engagement.StepPass``: its compiled passes in turn; attention, residue
        and memory in place).
        """
        pop = self.pop
        # drawn for every user, then indexed: user i's draws must not depend on who else is in a
        # session, or one policy change anywhere re-deals everyone's later choices and per-user
        # common random numbers (user i under policy A vs B) are lost
        u = self.rows.uniform(self._rng_choice,
                              (self.rows.n_all, 2 + 2 * self.params.choice.max_engagements),
                              reuse=True)
        eng, pop.channel_trust = self._eng_pass.run(
            dlv.opened, dlv.ignored, started, layout, need, remaining, u,
            (pop.susceptibility, pop.goal_weight, pop.habit, pop.fatigue), pop.attention_left,
            pop.residue, pop.channel_trust, pop.memory_count, pop.memory_element)
        if eng is None:  # a non-finite minute or progress: nothing of the users' state changed
            raise NumericalError("engagement", self.t)
        return eng

    def _forget(self) -> None:
        """A day's fading of layout memory (at each day start after the first)."""
        self.pop.memory_count = memory.fade(self.params.memory, self.pop.memory_count)

    def _context(self, layout: np.ndarray) -> context.ContextOutcome:
        """Step 9: device switches, shared screens, support contacts; failures cost focus (in
        place: pop's attention is this step's own array).
        """
        pop = self.pop
        # each user's colleague draw is u[:, 6] (the same teammate whoever else has an event)
        u = self.rows.uniform(self._rng_context, (self.rows.n_all, 7), reuse=True)
        return self._context_events.step(u, pop.active, layout, pop.last_layout,
                                         pop.attention_left, pop.failures_today, pop.residue)

    def _outside(self, last: bool, need: np.ndarray, remaining: np.ndarray,
                 progress: np.ndarray) -> np.ndarray:
        """Step 7b: at the day's last slot (``last``), the day's progress outside the app (N x G),
        toward what is still needed after this slot's in-app ``progress``; 0 at the other slots.

        Per-run arrays (the step's record reads them within the step): zeros never written, and
        the last slot's credit, written by one compiled pass (``outside.day_credit``).
        """
        none, credit = self._outside_bufs
        if not last:
            return none
        pop = self.pop
        return outside.day_credit(pop.attention_left, pop.attention_budget, pop.active,
                                  pop.outside_rate, need, remaining, progress, credit)

    def _bookkeep(self, started: np.ndarray, layout: np.ndarray,
                  eng: engagement.Engagement) -> None:
        """The day's accumulators that step 8 reads at the day's close."""
        accumulate(self.pop, started, layout, eng.element_clicks, eng.progress,
                   eng.distraction_minutes)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True, eq=False)  # eq=False: compared and hashed by identity (it holds arrays)
class Prebuilt:
    """What a model of ``scenario`` builds whatever its seed: the compiled world and the arrays a
    step reads of it, built once (:meth:`of`) for any number of models.

    Pass it as a model's ``scenario`` (directly or through
    :class:`~outcome_gym.product.Product`) to skip that work: the Gymnasium env builds one and
    starts every episode's model from it (a model per reset). No run writes its arrays (the
    world's and the record plan's segment blocks are read-only; the static and engagement
    arrays are writable, as the compiled passes take them, but only read; the first
    observation's are immutable: no reader can make them or their memory writable), so models
    built from one prebuilt share it and still run as models built from the scenario do; the
    only thing written is the cache of :meth:`engagement_fixed` (one entry per traits' dtype).

    Attributes:
        scenario: The validated scenario.
        world: :func:`~outcome_gym.sim.world.compile_world` of it.
        channel_of_m: M channel index of each notification column (int64).
        slot_hours: Hours a slot lasts.
        static: The world's arrays in the dtypes the passes take.
        record: The recorders' shared part for the world's whole population.
    """

    scenario: Scenario
    world: World
    channel_of_m: np.ndarray
    slot_hours: float
    static: _StaticArrays
    record: RecordPlan
    _fixed: dict[np.dtype, engagement.Fixed] = field(default_factory=dict, repr=False,
                                                     compare=False)

    @classmethod
    def of(cls, scenario: Scenario) -> Prebuilt:
        """Compile ``scenario`` and derive the arrays."""
        world = compile_world(scenario)
        channel_of_m = world.channel[world.pushed_elements].astype(np.int64)
        slot_hours = 24.0 / world.slots_per_day
        return cls(scenario=scenario, world=world, channel_of_m=channel_of_m,
                   slot_hours=slot_hours,
                   static=_StaticArrays.of(world, channel_of_m, slot_hours),
                   record=RecordPlan(world, world.population_plan.segment))

    def engagement_fixed(self, dtype: np.dtype) -> engagement.Fixed:
        """The engagement pass's per-run inputs (its coefficients and the world's arrays) for
        traits of ``dtype``, built at the first call for that dtype.
        """
        fixed = self._fixed.get(dtype)
        if fixed is None:
            st = self.static
            fixed = self._fixed[dtype] = engagement.Fixed.of(
                self.world.params.choice, st.pushed, st.appeal, st.cost, st.value,
                len(self.world.default_layout), dtype)
        return fixed


@dataclass(frozen=True)
class _StaticArrays:
    """The world's arrays a step reads, in the dtype and layout its passes take, built once per
    :class:`Prebuilt` (the world's own arrays are read-only, which the compiled passes would copy
    every step). Only read: models of one prebuilt share them.
    """

    pushed: np.ndarray  # M int64 element of each notification column
    appeal: np.ndarray  # E float64
    cost: np.ndarray  # E float64
    value: np.ndarray  # E x G float64
    appeal_pushed: np.ndarray  # M appeal of each column's element
    value_pushed: np.ndarray  # M x G
    channel_load: np.ndarray  # M the open log-odds' load term of each column's channel's
    # background notifications a day
    expiry_slots: int  # steps a tray entry may wait
    volume_hazard: np.ndarray  # the opt-out hazard's volume term for every daily count a day allows

    @classmethod
    def of(cls, w: World, channel_of_m: np.ndarray, slot_hours: float) -> _StaticArrays:
        """The arrays of world ``w`` (``channel_of_m``: M channel index per column)."""
        el = w.pushed_elements.astype(np.int64)

        def f64(a: np.ndarray) -> np.ndarray:
            return np.array(a, dtype=np.float64, order="C")  # a writable copy

        background = (w.background_per_day[channel_of_m] if channel_of_m.size else np.zeros(0))
        return cls(pushed=el.copy(), appeal=f64(w.appeal), cost=f64(w.cost), value=f64(w.value),
                   appeal_pushed=w.appeal[el], value_pushed=w.value[el],
                   channel_load=notifications.channel_load(background),
                   expiry_slots=notifications.expiry_slots(w.params.notifications, slot_hours),
                   # a channel's daily count is at most one per template and slot
                   volume_hazard=notifications.volume_hazard(
                       w.params.notifications, w.slots_per_day * w.n_pushed + 1))


def kernel_modules() -> tuple[ModuleType, ...]:
    """The modules whose ``compile_kernel()`` compile every pass of a step (sim/_jit.py), the
    slowest to compile first and callees' modules before their callers' (callees in modules not
    listed, e.g. ``focus`` and ``_rows``, are compiled inside their callers). The product layer's
    pass (``product.guardrails``, above this layer) is not among them; layout memory's passes
    are compiled into the engagement pass (``engagement.compile_kernel``).
    """
    from outcome_gym.sim import daily, layout, recording
    from outcome_gym.sim.mechanisms import availability, observation

    return (layout, observation, recording, notifications, engagement, goals, context,
            outside, daily, sessions, habits, availability, trust)


def compile_kernels() -> None:
    """Compile (or load from the cache) every compiled pass of a step now (sim/_jit.py).

    For callers that measure memory or time around a step (sim/footprint.py, benchmarks/): the
    first step's compilation would otherwise be counted as the step's. A pool's workers share
    the compilation instead (``sim._jit.compile_together``, sweeps/worker.py).
    """
    for module in kernel_modules():
        module.compile_kernel()


def _root_seed(seed: int | None, rng: Any) -> int:
    """The run's root seed from Mesa's ``seed=``/``rng=`` conventions (see SimulationModel)."""
    if seed is not None and rng is not None:
        raise ValueError("pass either seed or rng, not both")
    if seed is None and isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        seed = int(rng)
    elif seed is None:  # a generator, a SeedSequence, ... or None (entropy from the OS)
        seed = int(np.random.default_rng(rng).integers(0, 2**63 - 1))
    return seed
