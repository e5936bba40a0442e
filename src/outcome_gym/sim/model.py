"""``SimulationModel``: the population of one scenario under one seed, stepped one slot at a time.

The model is a ``mesa.Model`` whose users are :class:`UserAgent` views onto the struct-of-arrays
population, so Mesa tooling (``model.agents``, ``select``, ``agg``, ``DataCollector``) reads real
per-user state while a step stays one vectorized pass with no Python loop over users. The step is a
sequence of named hooks, one per mechanism of docs/design.md section 4.

Use :meth:`SimulationModel.advance` with an :class:`~outcome_gym.sim.interface.Action` to step and
get the :class:`~outcome_gym.sim.interface.StepRecord`; Mesa's ``step()`` advances with the default
(unpersonalized) action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from outcome_gym.errors import NumericalError
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sim import interface as itf
from outcome_gym.sim._mesa import mesa
from outcome_gym.sim._rows import rowany, rowsum
from outcome_gym.sim.layout import core_consistent, layout_distance, sampled_divergence
from outcome_gym.sim.mechanisms import context as ctx_mech
from outcome_gym.sim.mechanisms import engagement, notifications, sessions, trust
from outcome_gym.sim.mechanisms.availability import availability_table, available
from outcome_gym.sim.mechanisms.goals import build_goal_states
from outcome_gym.sim.mechanisms.habits import update_habit
from outcome_gym.sim.mechanisms.observation import EventPipe, receptivity_signal
from outcome_gym.sim.network import Teams, build_teams, team_graph
from outcome_gym.sim.population import Population, build_population
from outcome_gym.sim.rng import Streams, make_streams
from outcome_gym.sim.world import World, compile_world

AGENT_VIEW_LIMIT = 100_000
GUARDRAIL_KINDS = ("core_restored", "layout_reverted", "notification_capped", "quiet_slot")


class UserAgent(mesa.Agent):
    """One user, as a view onto the population arrays (reads and writes go to the arrays)."""

    def __init__(self, model: SimulationModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def segment(self) -> str:
        """Segment id."""
        return self.model.world.segment_ids[int(self.model.pop.segment[self.index])]

    @property
    def active(self) -> bool:
        """Still using the product (not churned)."""
        return bool(self.model.pop.active[self.index])

    @property
    def trust(self) -> float:
        """Trust in the product (0..1)."""
        return float(self.model.pop.trust[self.index])

    @trust.setter
    def trust(self, value: float) -> None:
        self.model.pop.trust[self.index] = value

    @property
    def attention_left(self) -> float:
        """Minutes of attention left today."""
        return float(self.model.pop.attention_left[self.index])

    @property
    def fatigue(self) -> float:
        """Notification fatigue (0..1)."""
        return float(self.model.pop.fatigue[self.index])

    @property
    def app_habit(self) -> float:
        """Automaticity of opening the product (0..1)."""
        return float(self.model.pop.app_habit[self.index])

    @property
    def sessions(self) -> int:
        """Sessions so far."""
        return int(self.model.totals["sessions"][self.index])

    @property
    def goal_progress(self) -> float:
        """Goal progress so far (reflective value, the welfare proxy)."""
        return float(self.model.totals["goal_progress"][self.index])

    def step(self) -> None:
        """Users are stepped together by the model (vectorized); nothing to do per agent."""


@dataclass
class _Last:
    """The previous step's per-user outputs, for the next observation."""

    session: np.ndarray
    clicks: np.ndarray
    minutes: np.ndarray
    delivered: np.ndarray
    opened: np.ndarray
    events: dict[str, np.ndarray]
    layout: np.ndarray


class SimulationModel(mesa.Model):
    """Synthetic users living through a scenario, one time slot per step.

    Args:
        scenario: A validated scenario.
        seed: The run's root seed (the only randomness).
        mesa_agents: Create :class:`UserAgent` views (default: when N <= 100,000).
    """

    def __init__(self, scenario: Scenario, seed: int, *, mesa_agents: bool | None = None) -> None:
        streams = make_streams(seed)
        super().__init__(rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(99,))))
        self.scenario = scenario
        self.seed = seed
        self.streams: Streams = streams
        self.world: World = compile_world(scenario)
        n = scenario.population.size
        self.teams: Teams = build_teams(n, scenario.population.team.size, streams["team"])
        self.pop: Population = build_population(self.world, streams["population"], self.teams.team)
        um = scenario.user_model
        self.goals = build_goal_states(
            scenario,
            self.pop.has_goal,
            self.pop.segment,
            self.pop.habit_rate,
            um.habit_fade,
            streams["population"],
        )
        self._avail = availability_table(scenario)
        self._seg_starts = np.flatnonzero(np.r_[True, np.diff(self.pop.segment) != 0])
        self._seg_ids = self.pop.segment[self._seg_starts]
        self._events = EventPipe(scenario.instrumentation, n)
        self._channel_of_m = self.world.channel[self.world.pushed_elements].astype(np.int64)
        # who can have each context event never changes: devices and teams are fixed at build
        self._users = np.arange(n)
        self._can_switch = self.pop.devices >= 2
        self._has_colleague = self.teams.size_of(self._users) >= 2
        self.t = 0
        self.totals: dict[str, np.ndarray] = {}
        self._pending_day_events: dict[int, dict[str, np.ndarray]] = {}
        self._churned_today: np.ndarray | None = None
        self._obs: itf.Observation | None = None
        self._layout = np.repeat(self.world.default_layout[None, :], n, axis=0)
        self._last = self._empty_last()
        self.context = self._policy_context()
        if mesa_agents if mesa_agents is not None else n <= AGENT_VIEW_LIMIT:
            for i in range(n):
                UserAgent(self, i)

    # --- public ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the horizon is reached."""
        return self.t >= self.world.n_steps

    def team_graph(self) -> Any:
        """The team network as a ``networkx.Graph``."""
        return team_graph(self.teams)

    def default_action(self) -> itf.Action:
        """The unpersonalized product: default layout and default notification schedule."""
        n = self.pop.n
        return itf.Action(
            layout=np.repeat(self.world.default_layout[None, :], n, axis=0),
            notify=self.world.default_notify(self.t, self.pop.segment),
        )

    def observe(self) -> itf.Observation:
        """What the product can observe now (never the users' hidden state).

        Computed once per step (repeated calls return the same object), so how often a caller
        observes never changes what the random streams draw.
        """
        if self._obs is not None and self._obs.step == self.t:
            return self._obs
        day, slot, weekday = self.world.time_of(self.t)
        rec = receptivity_signal(
            self._available_now(peek=True),
            self.scenario.instrumentation.receptivity_auc,
            self.streams["instrumentation"].standard_normal(self.pop.n),
        )
        last = self._last
        ro = itf.readonly
        self._obs = itf.Observation(
            step=self.t,
            day=day,
            slot=slot,
            weekday=weekday,
            active=ro(self.pop.active.copy()),
            session=ro(last.session),
            clicks=ro(last.clicks),
            minutes=ro(last.minutes),
            delivered=ro(last.delivered),
            opened=ro(last.opened),
            receptivity=ro(rec),
            events=itf.frozen_map(last.events),
            layout=ro(last.layout),
        )
        return self._obs

    def user_state(self) -> dict[str, np.ndarray]:
        """Final state and totals per user (the per-user record of a run)."""
        pop = self.pop
        out: dict[str, np.ndarray] = {
            "user": np.arange(pop.n, dtype=np.int64),
            "segment": np.asarray(self.world.segment_ids, dtype=object)[pop.segment],
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
        for g, state in enumerate(self.goals):
            gid = self.world.goal_ids[g]
            if state.kind == "practice":
                out[f"{gid}.habit"] = state.habit.astype(np.float64)
            elif state.kind == "tasks":
                out[f"{gid}.pending"], out[f"{gid}.pending_age_steps"] = state.pending_state(self.t)
        for name in sorted(self.totals):
            if not name.startswith("guardrail_"):
                out[name] = self.totals[name].copy()
        return out

    def step(self) -> None:
        """Mesa-style step: advance one slot with the default action."""
        self.advance(self.default_action())

    def advance(self, action: itf.Action) -> itf.StepRecord:
        """Advance one time slot under ``action`` and return what happened."""
        itf.validate_action(action, self.context, step=self.t)
        self.observe()  # draws this step's observation noise whether or not the caller looked
        t = self.t
        day, slot, weekday = self.world.time_of(t)
        if slot == 0:
            self._day_start(day, t)
        layout = np.asarray(action.layout, dtype=np.int16)
        # drawn with the observation; users who churned at today's start are no longer available
        avail = self._available_now() & self.pop.active
        # attention residue from interruptions and distraction fades between slots (mark2005)
        self.pop.residue *= self.scenario.user_model.residue_carry
        need, remaining = self._needs()
        dlv = self._notifications(action.notify, avail, need)
        started = self._sessions(avail, rowany(dlv.opened), need)
        out = self._engage(started, layout, dlv, remaining, need)
        events = self._goals_apply(out["progress"], t)
        ctx_out = self._context(layout, started)
        self._bookkeep(started, layout, dlv, out, ctx_out)
        rec = self._record(
            t,
            day,
            slot,
            weekday,
            avail,
            started,
            layout,
            dlv,
            out,
            events,
            ctx_out,
            dict(action.guardrail_counts),
        )
        self.t += 1
        self.steps = self.t
        return rec

    # --- hooks -------------------------------------------------------------------------------

    def _policy_context(self) -> itf.PolicyContext:
        w = self.world
        return itf.PolicyContext(
            scenario=self.scenario,
            n_users=self.pop.n,
            element_ids=w.element_ids,
            layout_elements=w.layout_elements,
            pushed_elements=w.pushed_elements,
            default_layout=w.default_layout,
            core_slot=w.core_slot,
            segment=itf.readonly(self.pop.segment.copy()),
            instrumented=tuple(self._events.names),
            slots_per_day=w.slots_per_day,
            n_steps=w.n_steps,
        )

    def _empty_last(self) -> _Last:
        n, w = self.pop.n, self.world
        return _Last(
            session=np.zeros(n, bool),
            clicks=np.zeros((n, w.n_elements), np.int16),
            minutes=np.zeros(n, np.float32),
            delivered=np.zeros((n, w.n_pushed), bool),
            opened=np.zeros((n, w.n_pushed), bool),
            events={e: np.zeros(n, np.int32) for e in self._events.names},
            layout=self._layout.copy(),
        )

    def _available_now(self, peek: bool = False) -> np.ndarray:
        """Availability for the current step; drawn once per step (peek reuses the draw)."""
        if getattr(self, "_avail_step", -1) != self.t:
            _, slot, weekday = self.world.time_of(self.t)
            u = self.streams["availability"].random(self.pop.n)
            self._avail_now = available(
                self._avail,
                self.pop.segment,
                self.pop.avail_scale,
                self.pop.active,
                weekday,
                slot,
                u,
            )
            self._avail_step = self.t
        return self._avail_now

    def _day_start(self, day: int, step: int) -> None:
        pop, um = self.pop, self.scenario.user_model
        if day > 0:
            self._close_day(day)
        pop.attention_left[:] = np.where(pop.active, pop.attention_budget, 0.0)
        for g, state in enumerate(self.goals):
            ev = state.day_start(day, step, self.streams["arrivals"])
            self._pending_day_events[g] = ev
        pop.fatigue *= 1.0 - pop.fatigue_recovery
        pop.wear *= 1.0 - um.wear_recovery
        pop.sent_today[:] = 0
        pop.residue[:] = 0.0  # a night's rest clears residue

    def _close_day(self, day: int) -> None:
        pop, um = self.pop, self.scenario.user_model
        pop.habit, pop.missed_days = update_habit(
            pop.habit, pop.habit_rate[:, None], pop.used_today, pop.missed_days, um.habit_fade
        )
        app_missed = pop.app_missed
        pop.app_habit, pop.app_missed = update_habit(
            pop.app_habit, pop.habit_rate, pop.session_today, app_missed, um.habit_fade
        )
        pop.trust = trust.update_trust(
            um,
            pop.trust,
            pop.progress_today,
            pop.waste_today,
            rowsum(pop.sent_today),
            pop.failures_today,
            self.scenario.context.failure_trust_cost,
        )
        hazard = trust.churn_hazard(um, pop.trust, pop.churn_sensitivity)
        quit_now = pop.active & (self.streams["churn"].random(pop.n) < hazard)
        pop.active &= ~quit_now
        pop.churn_day[quit_now] = day
        self._churned_today = quit_now
        pop.used_today[:] = False
        pop.session_today[:] = False
        pop.progress_today[:] = 0
        pop.waste_today[:] = 0
        pop.failures_today[:] = 0
        self._check("habits/trust", pop.trust, pop.app_habit)

    def _needs(self) -> tuple[np.ndarray, np.ndarray]:
        """N x G urgency and remaining progress (0 for goals a user does not have)."""
        n, g = self.pop.n, self.world.n_goals
        need, rem = np.zeros((n, g)), np.zeros((n, g))
        for j, state in enumerate(self.goals):
            if state.kind == "tasks":
                state.step = self.t  # urgency is measured now, not at the last credited step
            need[:, j] = state.need()
            rem[:, j] = state.remaining()
        return need, rem

    def _notifications(
        self, notify: np.ndarray, avail: np.ndarray, need: np.ndarray
    ) -> notifications.Delivery:
        pop, w, um = self.pop, self.world, self.scenario.user_model
        ch = self._channel_of_m
        delivered = notifications.deliverable(
            np.asarray(notify, bool), pop.active, pop.opted_out, ch
        )
        for c in range(pop.sent_today.shape[1]):
            pop.sent_today[:, c] += rowsum(delivered[:, ch == c]).astype(np.int16)
        el = w.pushed_elements.astype(np.int64)
        relevance = need @ w.value[el].T
        avail = avail & (pop.attention_left > 0)  # no attention left: nothing is taken in
        bg = w.background_per_day[ch] if ch.size else np.zeros(0)
        logit = notifications.open_logit(
            um,
            w.appeal[el],
            pop.susceptibility,
            pop.goal_weight,
            relevance,
            avail,
            pop.fatigue,
            pop.wear,
            pop.channel_trust[:, ch],
            bg,
        )
        rng = self.streams["notifications"]
        u = rng.random((2, pop.n, w.n_pushed))
        dlv = notifications.deliver(
            um,
            delivered,
            logit,
            avail,
            pop.sent_today,
            pop.channel_trust,
            ch,
            pop.channel_trust.shape[1],
            u[0],
            u[1],
        )
        pop.fatigue = notifications.add_fatigue(
            pop.fatigue, pop.fatigue_rate, rowsum(delivered)
        ).astype(np.float32)
        pop.wear += delivered
        pop.opted_out |= dlv.opted_out
        pop.attention_left = np.maximum(pop.attention_left - dlv.interruption_minutes, 0).astype(
            np.float32
        )
        busy = rowany(delivered) & ~avail
        pop.residue = np.where(
            busy, pop.residue + um.residue * (1 - pop.residue), pop.residue
        ).astype(np.float32)
        self._check("notifications", logit, pop.fatigue)
        return dlv

    def _sessions(self, avail: np.ndarray, opened_any: np.ndarray, need: np.ndarray) -> np.ndarray:
        pop, um = self.pop, self.scenario.user_model
        u = self.streams["sessions"].random(pop.n)
        return sessions.session_start(
            um,
            # no attention left today: no session, except for a user who just opened a notification
            avail & ((pop.attention_left > 0) | opened_any),
            opened_any,
            pop.propensity,
            pop.app_habit,
            rowsum(need),
            pop.trust,
            self.world.slots_per_day,
            u,
        )

    def _engage(
        self,
        started: np.ndarray,
        layout: np.ndarray,
        dlv: notifications.Delivery,
        remaining: np.ndarray,
        need: np.ndarray,
    ) -> dict[str, Any]:
        """Opened notifications are engaged first, then the cascade over the layout."""
        pop, w, um = self.pop, self.world, self.scenario.user_model
        n = pop.n
        idx = np.flatnonzero(started)
        residue_start = pop.residue.astype(np.float64)  # interruption residue of this slot
        progress = np.zeros((n, w.n_goals))
        rem = remaining.copy()
        minutes = np.zeros(n)
        goal_min = np.zeros(n)
        distr = np.zeros(n)
        el_clicks = np.zeros((n, w.n_elements), dtype=np.int16)  # <= max_engagements + M per step
        useful_m = np.zeros_like(dlv.opened)
        for m, e in enumerate(w.pushed_elements.astype(np.int64)):  # loop over notifications
            who = np.flatnonzero(dlv.opened[:, m])
            if who.size == 0:
                continue
            gain = np.clip(w.value[e][None, :] * (1.0 - residue_start[who])[:, None], 0.0, None)
            gain = np.minimum(gain, np.maximum(rem[who], 0.0))
            progress[who] += gain
            rem[who] -= gain
            useful = rowany(gain > 0)
            useful_m[who, m] = useful
            minutes[who] += w.cost[e]
            goal_min[who] += np.where(useful, w.cost[e], 0.0)
            distr[who] += np.where(useful, 0.0, w.cost[e])
            idle = who[~useful]  # a distracting open leaves residue, as a distracting pick does
            residue_start[idle] += um.residue * (1.0 - residue_start[idle])
            el_clicks[who, e] += 1
        notified_clicks = rowsum(el_clicks)
        attention = np.maximum(pop.attention_left - minutes, 0.0)
        # drawn for every user, then indexed: user i's draws must not depend on who else is in a
        # session, or one policy change anywhere re-deals everyone's later choices and per-user
        # common random numbers (user i under policy A vs B) are lost
        u = self.streams["choice"].random((pop.n, 2 + 2 * um.max_engagements))[idx]
        inp = engagement.SessionInputs(
            layout=layout[idx],
            susceptibility=pop.susceptibility[idx],
            goal_weight=pop.goal_weight[idx],
            habit=pop.habit[idx],
            fatigue=pop.fatigue[idx],
            need=need[idx],
            remaining=rem[idx],
            attention_left=attention[idx],
            residue=residue_start[idx],
        )
        res = engagement.run_sessions(um, inp, w.appeal, w.cost, w.value, u)
        self._check("engagement", res.minutes, res.progress)
        progress[idx] += res.progress
        minutes[idx] += res.minutes
        goal_min[idx] += res.goal_minutes
        distr[idx] += res.distraction_minutes
        el_clicks[idx] += res.engaged
        attention[idx] = res.attention_left
        pop.attention_left = attention.astype(np.float32)
        residue = residue_start.copy()
        residue[idx] = res.residue
        pop.residue = residue.astype(np.float32)
        clicks = notified_clicks
        clicks[idx] += res.clicks
        notifications_ct = notifications.update_channel_trust(
            um, pop.channel_trust, dlv.delivered, dlv.opened, useful_m, self._channel_of_m
        )
        pop.channel_trust = notifications_ct.astype(np.float32)
        return {
            "progress": progress,
            "minutes": minutes,
            "goal_minutes": goal_min,
            "distraction_minutes": distr,
            "element_clicks": el_clicks,
            "clicks": clicks,
            "position_clicks": res.position_clicks,
            "position_views": res.position_views,
        }

    def _goals_apply(self, progress: np.ndarray, step: int) -> dict[str, np.ndarray]:
        """Credit progress to every goal; collect events '<goal>.<event>' (N int arrays)."""
        events: dict[str, np.ndarray] = {}
        for g, state in enumerate(self.goals):
            gid = self.world.goal_ids[g]
            merged: dict[str, np.ndarray] = {k: np.zeros(self.pop.n) for k in state.event_keys}
            for source in (
                self._pending_day_events.pop(g, {}),
                state.apply(progress[:, g], step),
                state.step_end(step),
            ):
                for k, v in source.items():
                    merged[k] = merged[k] + v
            for k, v in merged.items():
                events[f"{gid}.{k}"] = v
        return events

    def _context(self, layout: np.ndarray, started: np.ndarray) -> ctx_mech.ContextOutcome:
        pop, w = self.pop, self.world
        u = self.streams["context"].random((pop.n, 7))
        colleague = self.teams.colleague(self._users, u[:, 6])
        out = ctx_mech.context_events(
            self.scenario.context,
            w.slots_per_day,
            pop.active,
            self._can_switch,
            self._has_colleague,
            layout,
            pop.last_layout,
            colleague,
            w.default_layout,
            w.slot_weight,
            u[:, :6],
        )
        failed = sum(f.astype(np.int16) for f in out.failures.values())
        cost = self.scenario.context.failure_minutes * failed
        pop.attention_left = np.maximum(pop.attention_left - cost, 0).astype(np.float32)
        pop.failures_today += failed.astype(np.int16)
        # a failed hand-over leaves the user confused: focus residue, like a distraction
        hit = failed > 0
        pop.residue[hit] += self.scenario.user_model.residue * (1 - pop.residue[hit])
        return out

    def _bookkeep(
        self,
        started: np.ndarray,
        layout: np.ndarray,
        dlv: notifications.Delivery,
        out: dict[str, Any],
        ctx_out: ctx_mech.ContextOutcome,
    ) -> None:
        pop = self.pop
        pop.used_today |= out["element_clicks"] > 0
        pop.session_today |= started
        pop.last_layout[started] = layout[started]
        pop.progress_today += rowsum(out["progress"]).astype(np.float32)
        pop.waste_today += out["distraction_minutes"].astype(np.float32)

    def _record(
        self,
        t: int,
        day: int,
        slot: int,
        weekday: int,
        avail: np.ndarray,
        started: np.ndarray,
        layout: np.ndarray,
        dlv: notifications.Delivery,
        out: dict[str, Any],
        events: dict[str, np.ndarray],
        ctx_out: ctx_mech.ContextOutcome,
        guardrails: dict[str, Any],
    ) -> itf.StepRecord:
        pop, w = self.pop, self.world
        active = pop.active
        dist = layout_distance(layout, w.default_layout, w.slot_weight)
        consistent = core_consistent(layout, w.default_layout, w.core_slot)
        churned = getattr(self, "_churned_today", None)
        self._churned_today = None
        per_user: dict[str, np.ndarray] = {
            "active_users": active,
            "available": avail,
            "sessions": started,
            "clicks": out["clicks"],
            "minutes": out["minutes"],
            "delivered": rowsum(dlv.delivered),
            "opens": rowsum(dlv.opened),
            "opt_outs": rowsum(dlv.opted_out),
            "churned": churned if churned is not None else np.zeros(pop.n, bool),
            "goal_progress": rowsum(out["progress"]),
            "goal_minutes": out["goal_minutes"],
            "distraction_minutes": out["distraction_minutes"],
            "interruption_minutes": dlv.interruption_minutes,
            "trust_sum": np.where(active, pop.trust, 0.0),
            "layout_distance_sum": np.where(active, dist, 0.0),
            "core_consistent": active & consistent,
        }
        for kind in ctx_mech.KINDS:
            per_user[f"{kind}_events"] = ctx_out.events[kind]
            per_user[f"{kind}_failures"] = ctx_out.failures[kind]
        per_user["support_tickets"] = sum(f.astype(np.int64) for f in ctx_out.failures.values())
        for name, v in events.items():
            per_user[name] = v
        for kind in GUARDRAIL_KINDS:
            per_user[f"guardrail_{kind}"] = np.broadcast_to(
                np.asarray(guardrails.get(kind, 0)), (pop.n,)
            )
        self._accumulate(per_user)
        seg = self._segment_sums(per_user)
        seg.update(self._divergence(layout))
        seen = self._events.push(
            t, events, self.streams["instrumentation"].random((2 * len(self._events.names), pop.n))
        )
        clicks16 = out["element_clicks"]
        self._last = _Last(
            session=started,
            clicks=clicks16,
            minutes=out["minutes"].astype(np.float32),
            delivered=dlv.delivered,
            opened=dlv.opened,
            events=seen,
            layout=layout,
        )
        fb = itf.Feedback(
            clicks=itf.readonly(out["clicks"]),
            minutes=itf.readonly(out["minutes"]),
            sessions=itf.readonly(started),
            opens=itf.readonly(per_user["opens"]),
            events=itf.frozen_map(seen),
        )
        return itf.StepRecord(
            step=t,
            day=day,
            slot=slot,
            weekday=weekday,
            segment_metrics=itf.frozen_map(seg),
            position_clicks=itf.readonly(out["position_clicks"]),
            position_views=itf.readonly(out["position_views"]),
            element_clicks=itf.readonly(out["element_clicks"].sum(axis=0)),
            feedback=fb,
        )

    def _divergence(self, layout: np.ndarray) -> dict[str, np.ndarray]:
        """Sampled pairwise distance and distinct experiences within each segment."""
        k = len(self.world.segment_ids)
        out = {name: np.zeros(k) for name in ("pair_distance_sum", "pairs", "distinct_layouts",
                                              "layout_entropy_bits")}
        stops = np.r_[self._seg_starts[1:], self.pop.n]
        rng = self.streams["metrics"]
        for start, stop, seg in zip(self._seg_starts, stops, self._seg_ids, strict=True):
            d, n, distinct, entropy = sampled_divergence(
                layout, self.pop.active, int(start), int(stop), self.world.slot_weight, rng)
            out["pair_distance_sum"][seg] = d
            out["pairs"][seg] = n
            out["distinct_layouts"][seg] = distinct
            out["layout_entropy_bits"][seg] = entropy
        return out

    def _segment_sums(self, per_user: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-segment sums (users are stored in contiguous segment blocks)."""
        k = len(self.world.segment_ids)
        out = {}
        for name, v in per_user.items():
            sums = np.add.reduceat(np.asarray(v, dtype=np.float64), self._seg_starts)
            full = np.zeros(k)
            full[self._seg_ids] = sums
            out[name] = full
        return out

    def _accumulate(self, per_user: dict[str, np.ndarray]) -> None:
        skip = {
            "active_users",
            "available",
            "trust_sum",
            "layout_distance_sum",
            "core_consistent",
            "churned",
        }
        for name, v in per_user.items():
            if name in skip:
                continue
            if name not in self.totals:
                self.totals[name] = np.zeros(self.pop.n, dtype=np.float64)
            self.totals[name] += v

    def _check(self, mechanism: str, *arrays: np.ndarray) -> None:
        for a in arrays:
            if a.size and not np.isfinite(a).all():
                raise NumericalError(mechanism, self.t)

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()
