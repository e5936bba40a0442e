"""An idiomatic per-agent Mesa 3.3 implementation of the simulator's dynamics (issue #3).

Each user is a ``mesa.Agent`` whose ``step()`` runs one time slot in plain Python: availability,
notification delivery / open / opt-out, session start, the in-session cascade-and-logit choice loop
with attention and focus residue, goal progress for the three goal kinds (tasks, budget, practice),
habits, trust and churn, context events, and the product-side observation (receptivity signal and
delayed, noisy instrumented events). Parameter values and equations are the ones of
``outcome_gym.sim.mechanisms`` (see each module's docstring); only the random draws differ (one
``random.Random`` per model, drawn per agent and only when needed), so the two implementations agree
in distribution, not draw for draw.

It exists for two reasons only: the per-agent baseline of the speed ratio printed by
``benchmarks/bench_step.py``, and the statistical cross-check in
``tests/oracle/test_reference_crosscheck.py``. It runs the static policy (default layout, default
notification schedule for everyone); guardrails never change a static action.

Places where this file mirrors the vectorized code literally rather than the design text (kept
identical on purpose so that aggregates agree):

* a task's urgency is measured at the current step, before this step's progress;
* a context failure costs attention, focus residue and trust (no progress is lost);
* goals of churned users keep ticking (tasks arrive and fail, budgets are spent), and they make
  outside progress with their whole attention budget (mechanisms/outside.py);
* context events run before the goals, so the day's outside progress (last slot) sees the attention
  a failed hand-over cost;
* opening a notification starts a session even when its own interruption used up the last
  attention (the session then engages nothing), and an opened notification that serves no goal
  leaves focus residue, as a distracting pick in the session does;
* the open log-odds of a notification waiting in the tray uses the wear and fatigue of the step
  it is attended in, before that step's deliveries; a churned user's tray, trust and channel
  trust stay as they were.

When a mechanism in ``outcome_gym.sim`` changes, change it here too: the cross-check
(``tests/oracle/test_reference_crosscheck.py``) compares the two on a small world.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from statistics import NormalDist
from typing import Any

import mesa
import yaml

from outcome_gym.scenario import Scenario, validate_scenario
from outcome_gym.scenario.distributions import (
    Beta,
    Categorical,
    Fixed,
    LogNormal,
    Normal,
    Param,
    Uniform,
)
from outcome_gym.scenario.schema import WEEKDAYS, BudgetGoal, PracticeGoal, TasksGoal

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BENCH_SCENARIO = REPO / "benchmarks" / "bench_scenario.yaml"
KINDS = ("device_switch", "colleague_share", "support_contact")


def load_bench_scenario(
    size: int, horizon_days: int | None = None, path: Path = BENCH_SCENARIO
) -> Scenario:
    """The benchmark scenario with its population size (and optionally horizon) overridden."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["population"]["size"] = int(size)
    if horizon_days is not None:
        data["clock"]["horizon_days"] = int(horizon_days)
    return validate_scenario(data, file=str(path))


# --- scalar draws (python's random, one instance per model) --------------------------------------


def _clip(x: float, lo: float | None, hi: float | None) -> float:
    if lo is not None and x < lo:
        x = lo
    if hi is not None and x > hi:
        x = hi
    return x


def draw(param: Param, rnd: Any) -> float:
    """One value of a scenario parameter (same distributions as ``sample_param``)."""
    if isinstance(param, int | float):
        return float(param)
    if isinstance(param, Fixed):
        return param.value
    if isinstance(param, Uniform):
        return rnd.uniform(param.low, param.high)
    if isinstance(param, Normal):
        return _clip(rnd.gauss(param.mean_, param.sd), param.low, param.high)
    if isinstance(param, LogNormal):
        return _clip(param.median * math.exp(rnd.gauss(0.0, param.sigma)), param.low, param.high)
    if isinstance(param, Beta):
        return param.low + (param.high - param.low) * rnd.betavariate(param.a, param.b)
    if isinstance(param, Categorical):
        return rnd.choices(param.values, weights=param.probs)[0]
    raise TypeError(f"unknown parameter {param!r}")


def poisson(lam: float, rnd: Any) -> int:
    """Poisson draw by multiplication of uniforms (Knuth); rates here are a few per day."""
    if lam <= 0.0:
        return 0
    limit, k, p = math.exp(-lam), 0, rnd.random()
    while p > limit:
        k += 1
        p *= rnd.random()
    return k


def update_habit(h: float, rate: float, used: bool, missed: int, fade: float) -> tuple[float, int]:
    """One day of habit (mechanisms/habits.py): grow on use, fade after 2+ missed days."""
    if used:
        return h + rate * (1.0 - h), 0
    missed = min(missed + 1, 255)
    return (h * (1.0 - fade) if missed >= 2 else h), missed


# --- goals, one small object per user and goal ----------------------------------------------------


class TasksGoalState:
    """Arriving tasks with deadlines, earliest deadline first (mechanisms/goals.py TasksState)."""

    kind = "tasks"

    def __init__(self, goal: TasksGoal, params: dict[str, Param], slots: int, rnd: Any) -> None:
        self.rate = max(draw(params.get("arrival_rate", goal.arrival_rate), rnd), 0.0)
        self.effort = max(draw(params.get("effort", goal.effort), rnd), 0.01)
        days = max(draw(params.get("deadline_days", goal.deadline_days), rnd), 0.01)
        self.span = max(round(days * slots), 1)
        self.late_span = round(goal.late_days * slots)
        self.capacity = goal.max_pending
        self.tasks: list[list[float]] = []  # [arrive_step, deadline_step, effort_left]
        self.step = 0

    def need(self) -> float:
        if not self.tasks:
            return 0.0
        soonest = min(task[1] for task in self.tasks)
        used = 1.0 - (soonest - self.step) / self.span
        return 1.0 + min(max(used, 0.0), 1.0)

    def remaining(self) -> float:
        return sum(task[2] for task in self.tasks)

    def day_start(self, day: int, step: int, rnd: Any, ev: dict[str, float]) -> None:
        self.step = step
        k = poisson(self.rate, rnd)
        ev["arrived"] += k
        for _ in range(k):
            if len(self.tasks) < self.capacity:
                self.tasks.append([step, step + self.span, self.effort])
            else:
                ev["failed"] += 1  # overflow fails at once

    def apply(self, credit: float, step: int, ev: dict[str, float]) -> None:
        self.step = step
        if credit <= 0.0 or not self.tasks:
            return
        keep = []
        for task in sorted(self.tasks, key=lambda x: x[1]):
            take = min(task[2], credit)
            task[2] -= take
            credit -= take
            if task[2] <= 1e-6:
                ev["completed"] += 1
                ev["completed_on_time"] += step < task[1]
                ev["ttc_steps"] += step - task[0]
            else:
                keep.append(task)
        self.tasks = keep

    def step_end(self, step: int, ev: dict[str, float]) -> None:
        """A missed deadline fails the task; it stays pending, late, for late_days, then drops."""
        keep = []
        for task in self.tasks:
            ev["failed"] += task[1] == step + 1
            if task[1] + self.late_span <= step + 1:
                ev["abandoned"] += 1
                ev["censored_steps"] += step + 1 - task[0]
            else:
                keep.append(task)
        self.tasks = keep


class BudgetGoalState:
    """A spending limit over a recurring window (mechanisms/goals.py BudgetState)."""

    kind = "budget"

    def __init__(self, goal: BudgetGoal, params: dict[str, Param], model: ReferenceModel) -> None:
        rnd = model.random
        self.goal = goal
        self.model = model
        ratio = max(draw(params.get("spend_ratio", goal.spend_ratio), rnd), 0.0)
        self.drift = draw(params.get("drift", goal.drift), rnd)
        w = goal.window_days
        # k: the first day's rate, so that the window's expected total is spend_ratio
        self.scale = ratio / sum(math.exp(self.drift * d) for d in range(w))
        self.effort = max(draw(params.get("effort", goal.effort), rnd), 0.01)
        self.spent = 0.0
        self.rate = 0.0
        self.adjusted = False
        self.progress = 0.0
        self.crossed = False
        self.crossed_step = -1

    def _days_left(self) -> int:
        return self.goal.window_days - self.model.day % self.goal.window_days - 1

    def projected(self) -> float:
        return self.spent + self.rate * self._days_left()

    def over(self) -> bool:
        return not self.adjusted and self.projected() > 1.0

    def need(self) -> float:
        return 1.0 if self.over() else 0.0

    def remaining(self) -> float:
        return max(self.effort - self.progress, 0.0) if self.over() else 0.0

    def day_start(self, day: int, step: int, rnd: Any, ev: dict[str, float]) -> None:
        if day % self.goal.window_days == 0 and day > 0:
            ev["window_closed"] += 1
            ev["window_under_budget"] += self.spent <= 1.0
            ev["overspend"] += max(self.spent - 1.0, 0.0)
            self.spent, self.adjusted, self.progress = 0.0, False, 0.0
            self.crossed, self.crossed_step = False, -1
        if not self.adjusted:  # the drift stops once the user has adjusted
            self.rate = self.scale * math.exp(self.drift * (day % self.goal.window_days))
        sigma = self.goal.daily_noise
        self.spent += self.rate * math.exp(sigma * rnd.gauss(0.0, 1.0) - 0.5 * sigma**2)
        if not self.crossed and self.projected() > 1.0:
            self.crossed, self.crossed_step = True, step
            ev["crossed"] += 1

    def apply(self, credit: float, step: int, ev: dict[str, float]) -> None:
        if not self.over():
            return
        self.progress += credit
        if self.progress < self.effort:
            return
        # from tomorrow on, part of the rate's excess over the on-budget rate goes; spent stays spent
        on_budget = 1.0 / self.goal.window_days
        self.rate -= self.goal.adjustment * max(self.rate - on_budget, 0.0)
        self.adjusted = True
        ev["adjusted"] += 1
        ev["adjusted_in_time"] += self.model.day % self.goal.window_days <= self.goal.act_by_day
        if self.crossed_step >= 0:
            ev["tta_steps"] += step - self.crossed_step

    def step_end(self, step: int, ev: dict[str, float]) -> None:
        return None


class PracticeGoalState:
    """Daily practice and the habit it builds (mechanisms/goals.py PracticeState)."""

    kind = "practice"

    def __init__(
        self, goal: PracticeGoal, params: dict[str, Param], habit_rate: float, rnd: Any
    ) -> None:
        self.effort = max(draw(params.get("effort", goal.effort), rnd), 0.01)
        self.habit_rate = habit_rate
        self.today = 0.0
        self.done_today = False
        self.habit = 0.0
        self.missed = 0
        self.started = False

    def need(self) -> float:
        return 0.0 if self.done_today else 1.0

    def remaining(self) -> float:
        return 0.0 if self.done_today else self.effort - self.today

    def day_start(self, day: int, step: int, rnd: Any, ev: dict[str, float], fade: float) -> None:
        if self.started:
            self.habit, self.missed = update_habit(
                self.habit, self.habit_rate, self.done_today, self.missed, fade
            )
        self.started = True
        self.today = 0.0
        self.done_today = False

    def apply(self, credit: float, step: int, ev: dict[str, float]) -> None:
        self.today += credit
        if not self.done_today and self.today >= self.effort:
            self.done_today = True
            ev["practised"] += 1

    def step_end(self, step: int, ev: dict[str, float]) -> None:
        return None


# --- the user ---------------------------------------------------------------------------------------


class ReferenceUser(mesa.Agent):
    """One synthetic user with its own traits, state and per-slot ``step()``."""

    def __init__(self, model: ReferenceModel, segment: int) -> None:
        super().__init__(model)
        sc, rnd = model.scenario, model.random
        seg = sc.population.segments[segment]
        self.segment = segment
        self.attention_budget = max(draw(seg.attention_budget, rnd), 0.0)
        self.avail_scale = min(max(draw(seg.availability.scale, rnd), 0.0), 1.0)
        self.susceptibility = max(draw(seg.susceptibility, rnd), 0.0)
        self.goal_weight = max(draw(seg.goal_weight, rnd), 0.0)
        self.propensity = max(draw(seg.session_propensity, rnd), 0.0)
        self.habit_rate = 1.0 - 0.05 ** (1.0 / max(draw(seg.habit_days, rnd), 1.0))
        self.fatigue_rate = min(max(draw(seg.fatigue_rate, rnd), 0.0), 1.0)
        self.fatigue_recovery = min(max(draw(seg.fatigue_recovery, rnd), 0.0), 1.0)
        self.churn_sensitivity = max(draw(seg.churn_sensitivity, rnd), 0.0)
        self.devices = round(min(max(draw(seg.devices, rnd), 1.0), 4.0))
        self.trust = min(max(draw(seg.trust, rnd), 0.0), 1.0)
        ct = min(max(draw(seg.channel_trust, rnd), 0.0), 1.0)
        self.outside_rate = max(draw(seg.outside_rate, rnd), 0.0)
        n_el, n_ch = len(model.element_ids), len(model.channel_ids)
        self.channel_trust = [ct] * n_ch
        self.opted_out = [False] * n_ch
        self.sent_today = [0] * n_ch
        self.wear = [0.0] * len(model.pushed)
        self.tray_sent = [-1] * len(model.pushed)  # step each waiting notification arrived
        self.tray_due = [-1] * len(model.pushed)  # step the user attends to it
        self.trust_npe = 0.0
        self.fatigue = 0.0
        self.habit = [0.0] * n_el
        self.missed_days = [0] * n_el
        self.used_today = [False] * n_el
        self.app_habit = 0.0
        self.app_missed = 0
        self.session_today = False
        self.active = True
        self.churn_day = -1
        self.attention_left = 0.0
        self.residue = 0.0
        self.progress_today = 0.0
        self.waste_today = 0.0
        self.failures_today = 0
        self.last_layout = model.default_layout
        self.layout = model.default_layout
        # layout memory: the element last seen at each position and its faded practice count
        self.memory_element = [-1] * len(model.default_layout)
        self.memory_count = [0.0] * len(model.default_layout)
        self.notify: tuple[bool, ...] = ()
        self.teammates: list[ReferenceUser] = []
        self.goals: list[tuple[int, Any]] = []
        for gid in seg.goals:
            g = model.goal_index[gid]
            goal, params = sc.goals[g], seg.goal_params.get(gid, {})
            if isinstance(goal, TasksGoal):
                state: Any = TasksGoalState(goal, params, model.slots_per_day, rnd)
            elif isinstance(goal, BudgetGoal):
                state = BudgetGoalState(goal, params, model)
            else:
                state = PracticeGoalState(goal, params, self.habit_rate, rnd)
            self.goals.append((g, state))
        self.totals: dict[str, float] = dict.fromkeys(model.total_names, 0.0)
        self.pending_events: dict[str, float] = {}
        self.event_pipes = [deque([0] * ev.delay_steps) for ev in model.instrumented]
        self.receptivity = 0.0

    # --- one slot --------------------------------------------------------------------------------

    def step(self) -> None:
        m = self.model
        if m.slot == 0:
            self.day_start(m.day, m.t)
        p_avail = m.availability[self.segment] * self.avail_scale
        available = self.active and m.random.random() < p_avail
        self.observe_receptivity(available)
        self.residue *= m.um.residue_carry  # residue fades between slots
        need = [0.0] * m.n_goals
        remaining = [0.0] * m.n_goals
        for g, state in self.goals:
            if state.kind == "tasks":
                state.step = m.t  # urgency is measured now, not at the last credited step
            need[g] = state.need()
            remaining[g] = state.remaining()
        opened = self.notifications(available, need) if self.active else []
        # no attention left today: no session, except for a user who just opened a notification
        started = available and (
            bool(opened)
            or (self.attention_left > 0 and m.random.random() < self.session_probability(need))
        )
        progress = [0.0] * m.n_goals
        if opened or started:
            self.engage(need, remaining, opened, started, progress)
        if self.active:
            self.context_events(started)
        if m.slot == m.slots_per_day - 1:
            self.outside_progress(need, remaining, progress)
        self.advance_goals(progress)
        if started:
            self.session_today = True
            self.last_layout = self.layout
            self.totals["sessions"] += 1
        self.record_events()

    def day_start(self, day: int, step: int) -> None:
        m = self.model
        if day > 0:
            self.close_day(day)
        self.attention_left = self.attention_budget if self.active else 0.0
        ev = self.pending_events = {}
        for g, state in self.goals:
            sink = m.goal_events[g]
            sub: dict[str, float] = dict.fromkeys(sink, 0.0)
            if state.kind == "practice":
                state.day_start(day, step, m.random, sub, m.um.habit_fade)
            else:
                state.day_start(day, step, m.random, sub)
            for key, v in sub.items():
                ev[sink[key]] = ev.get(sink[key], 0.0) + v
        self.fatigue *= 1.0 - self.fatigue_recovery
        self.wear = [w * (1.0 - m.um.wear_recovery) for w in self.wear]
        self.sent_today = [0] * len(self.sent_today)
        self.residue = 0.0  # a night's rest clears residue
        if day > 0:  # a day's forgetting of layout positions
            self.memory_count = [n * (1.0 - m.um.memory_fade) for n in self.memory_count]

    def close_day(self, day: int) -> None:
        m, um = self.model, self.model.um
        for e in range(len(self.habit)):
            self.habit[e], self.missed_days[e] = update_habit(
                self.habit[e],
                self.habit_rate,
                self.used_today[e],
                self.missed_days[e],
                um.habit_fade,
            )
        self.app_habit, self.app_missed = update_habit(
            self.app_habit, self.habit_rate, self.session_today, self.app_missed, um.habit_fade
        )
        overload = max(sum(self.sent_today) - um.overload_free, 0)
        x = (
            um.trust_gain * self.progress_today
            - um.trust_waste * self.waste_today
            - um.trust_overload * overload
            - m.scenario.context.failure_trust_cost * self.failures_today
        )
        if self.active:  # long-term satisfaction with memory (mechanisms/trust.py)
            npe = um.trust_memory * self.trust_npe + x
            q = min(max(self.trust, 1e-6), 1.0 - 1e-6)
            z = math.log(q / (1.0 - q)) + npe - self.trust_npe
            self.trust, self.trust_npe = 1.0 / (1.0 + math.exp(-z)), npe
        gap = max(um.churn_trust - self.trust, 0.0) / max(um.churn_trust, 1e-9)
        hazard = min(max(um.churn_base + um.churn_rate * self.churn_sensitivity * gap, 0.0), 1.0)
        if self.active and m.random.random() < hazard:
            self.active = False
            self.churn_day = day
            self.totals["churned"] += 1
        self.used_today = [False] * len(self.used_today)
        self.session_today = False
        self.progress_today = 0.0
        self.waste_today = 0.0
        self.failures_today = 0

    def observe_receptivity(self, available: bool) -> None:
        """The noisy receptivity score the product sees (observation.receptivity_signal)."""
        m = self.model
        self.receptivity = m.receptivity_dprime * available + m.random.gauss(0.0, 1.0)

    def notifications(self, available: bool, need: list[float]) -> list[int]:
        """Deliver into the tray, attend what is due; return the opened indices (column order)."""
        m, um = self.model, self.model.um
        delivered = [
            j for j, send in enumerate(self.notify) if send and not self.opted_out[m.channel_of[j]]
        ]
        for j in delivered:
            self.sent_today[m.channel_of[j]] += 1
        receptive = available and self.attention_left > 0  # no attention left: nothing taken in
        slot_hours = 24.0 / m.slots_per_day
        expiry = max(1, math.ceil(um.tray_expiry_hours / slot_hours - 1e-9))
        ignored = []
        for j in range(len(self.tray_sent)):  # expired, or replaced by a newer delivery
            if self.tray_sent[j] >= 0 and (m.t - self.tray_sent[j] >= expiry or j in delivered):
                ignored.append(j)
                self.tray_sent[j] = self.tray_due[j] = -1
        for j in delivered:  # response delay: lognormal hours, placed uniformly in the slot
            hours = um.tray_delay_median_minutes / 60.0 * math.exp(
                um.tray_delay_sigma * m.random.gauss(0.0, 1.0))
            self.tray_sent[j] = m.t
            self.tray_due[j] = m.t + math.floor(m.random.random() + min(hours / slot_hours, 1e6))
        opened = []
        for j in range(len(self.tray_sent)):
            if not (receptive and 0 <= self.tray_due[j] <= m.t):
                continue
            self.tray_sent[j] = self.tray_due[j] = -1
            e, c = m.pushed[j], m.channel_of[j]
            relevance = sum(n * v for n, v in zip(need, m.value[e], strict=True))
            logit = (
                um.open_base
                + self.susceptibility * m.appeal[e]
                + um.open_relevance * self.goal_weight * relevance
                + um.open_receptive * receptive
                - um.open_fatigue * self.fatigue
                - um.open_wear * self.wear[j]
                + um.open_trust * (self.channel_trust[c] - 0.5)
                + m.channel_load[c]
            )
            if m.random.random() < 1.0 / (1.0 + math.exp(-logit)):
                opened.append(j)
                continue
            ignored.append(j)  # dismissed: seen and not opened
            hazard = um.optout_base * max(self.sent_today[c], 1) ** um.optout_volume
            hazard *= 2.0 * (1.0 - self.channel_trust[c])
            if m.random.random() < hazard and not self.opted_out[c]:
                self.opted_out[c] = True
                self.totals["opt_outs"] += 1
        self.ignored = ignored
        count = len(delivered)
        minutes = um.resumption_minutes * count * (um.breakpoint_multiplier if receptive else 1.0)
        self.fatigue = 1.0 - (1.0 - self.fatigue) * (1.0 - self.fatigue_rate) ** count
        for j in delivered:
            self.wear[j] += 1.0
        self.attention_left = max(self.attention_left - minutes, 0.0)
        if count and not receptive:
            self.residue += um.residue * (1.0 - self.residue)
        self.totals["delivered"] += count
        self.totals["opens"] += len(opened)
        self.totals["interruption_minutes"] += minutes
        if not opened:
            self.update_channel_trust(ignored, ())
        return opened

    def session_probability(self, need: list[float]) -> float:
        m, um = self.model, self.model.um
        rate = (self.propensity / m.slots_per_day) * math.exp(um.session_habit * self.app_habit)
        rate *= (1.0 + um.session_need * sum(need)) * (0.5 + self.trust)
        return 1.0 - math.exp(-rate)

    def engage(
        self,
        need: list[float],
        remaining: list[float],
        opened: list[int],
        started: bool,
        progress: list[float],
    ) -> None:
        """Opened notifications first, then (in a session) the cascade over the layout.

        Progress is value x focus, capped at what each goal still needs (mechanisms/engagement).
        """
        m = self.model
        rem = list(remaining)
        clicks, minutes, goal_min, distraction = 0, 0.0, 0.0, 0.0
        useful_opens = []
        residue = self.residue  # residue carried into this slot
        for j in opened:
            e = m.pushed[j]
            useful = False
            for g, v in enumerate(m.value[e]):
                gain = min(max(v * (1.0 - residue), 0.0), max(rem[g], 0.0))
                if gain > 0:
                    useful = True
                    progress[g] += gain
                    rem[g] -= gain
            cost = m.cost[e]
            minutes += cost
            if useful:
                goal_min += cost
                useful_opens.append(j)
            else:  # a distracting open leaves residue, as a distracting pick does
                distraction += cost
                residue += m.um.residue * (1.0 - residue)
            clicks += 1
            self.used_today[e] = True
        if opened:
            self.update_channel_trust(self.ignored, useful_opens)
        attention = max(self.attention_left - minutes, 0.0)
        if started:
            attention, residue, more = self.session(need, rem, attention, residue, progress)
            clicks += more[0]
            minutes += more[1]
            goal_min += more[2]
            distraction += more[3]
        self.residue = residue
        self.attention_left = attention
        total_progress = sum(progress)
        self.progress_today += total_progress
        self.waste_today += distraction
        t = self.totals
        t["clicks"] += clicks
        t["minutes"] += minutes
        t["goal_minutes"] += goal_min
        t["distraction_minutes"] += distraction
        t["goal_progress"] += total_progress
        t["app_progress"] += total_progress

    def session(
        self,
        need: list[float],
        rem: list[float],
        attention: float,
        residue: float,
        progress: list[float],
    ) -> tuple[float, float, tuple[int, float, float, float]]:
        """Scan the layout (cascade) and engage by logit choice until attention, need or interest
        runs out; returns attention and residue left and (clicks, minutes, goal and distraction
        minutes).
        """
        m, um = self.model, self.model.um
        rnd = m.random
        clicks, minutes, goal_min, distraction = 0, 0.0, 0.0, 0.0
        # cascade: scan depth 1 + Geometric(1 - continue), capped at the layout length
        layout = self.layout
        cont = um.cascade_continue
        if cont <= 0.0:
            depth = 1
        elif cont >= 1.0:
            depth = len(layout)
        else:
            depth = min(1 + math.floor(math.log1p(-rnd.random()) / math.log(cont)), len(layout))
        n_pos = len(layout)
        # layout memory: expertise where the remembered element is still there (cockburn2007)
        expert = [
            um.memory_max * n / (n + 1.0) if self.memory_element[k] == e else 0.0
            for k, (e, n) in enumerate(zip(layout, self.memory_count, strict=True))
        ]
        # beyond the scan depth a position is reached from memory only, weighted by expertise
        reach = [1.0 if k < depth else expert[k] for k in range(n_pos)]
        seen = [k < depth for k in range(n_pos)]
        impulse = [um.appeal_utility * self.susceptibility * m.appeal[e] for e in layout]
        base = [
            impulse[k]
            + um.habit_utility * self.habit[e]
            - um.fatigue_utility * self.fatigue
            for k, e in enumerate(layout)
        ]
        had_need = any(r > 0 for r in rem)
        for _ in range(um.max_engagements if attention > 0 else 0):
            need_now = [n if r > 0 else 0.0 for n, r in zip(need, rem, strict=True)]
            weights, calm = [], []  # calm: the same choice without the impulsive term
            for k, e in enumerate(layout):
                rel = sum(n * v for n, v in zip(need_now, m.value[e], strict=True))
                util = base[k] + um.goal_utility * self.goal_weight * rel
                weights.append(math.exp(min(util, 50.0)) * m.discount[k] * reach[k])
                calm.append(math.exp(min(util - impulse[k], 50.0)) * m.discount[k] * reach[k])
            total = sum(weights)
            target = rnd.random() * (um.no_click_mass + total)
            if target >= total:
                break  # no click: abandonment
            k, acc = 0, weights[0]
            while acc <= target:
                k += 1
                acc += weights[k]
            e = layout[k]
            seen[k] = True
            cost = m.cost[e]
            # finding it: novice linear search -> expert Hick-Hyman, plus Fitts pointing (seconds)
            ex = expert[k]
            scan = um.search_seconds * (k + 1)
            decide = min(scan, um.decision_seconds * math.log2(n_pos + 1))
            select = ((1.0 - ex) * scan + ex * decide + um.pointing_seconds * math.log2(k + 2)) / 60

            self.totals["search_minutes"] += select
            clicks += 1
            minutes += cost
            p_full = weights[k] / (um.no_click_mass + total)
            p_calm = calm[k] / (um.no_click_mass + sum(calm))
            self.totals["self_control_minutes"] += cost * min(max(1.0 - p_calm / p_full, 0.0), 1.0)
            attention -= cost + select
            self.used_today[e] = True
            useful = False
            for g, v in enumerate(m.value[e]):
                if rem[g] > 0:
                    useful = useful or v > 0
                    gain = min(max(v * (1.0 - residue), 0.0), rem[g])
                    progress[g] += gain
                    rem[g] -= gain
            if useful:
                goal_min += cost
            else:
                distraction += cost
                residue += um.residue * (1.0 - residue)
            met = had_need and not any(r > 0 for r in rem)
            if attention <= 0 or (met and rnd.random() < um.need_met_exit):
                break
        for k in range(n_pos):  # learn what was seen where
            if seen[k]:
                same = self.memory_element[k] == layout[k]
                self.memory_count[k] = self.memory_count[k] + 1.0 if same else 1.0
                self.memory_element[k] = layout[k]
        return max(attention, 0.0), residue, (clicks, minutes, goal_min, distraction)

    def update_channel_trust(self, ignored: Any, useful: Any) -> None:
        """Up per useful open, down per ignored one (tests/sim/reference_notifications.py)."""
        m, um = self.model, self.model.um
        for c in range(len(self.channel_trust)):
            gain = sum(1 for j in useful if m.channel_of[j] == c)
            loss = sum(1 for j in ignored if m.channel_of[j] == c)
            if gain or loss:
                ct = self.channel_trust[c]
                ct += um.channel_trust_gain * gain * (1 - ct) - um.channel_trust_loss * loss * ct
                self.channel_trust[c] = min(max(ct, 0.0), 1.0)

    def outside_progress(
        self, need: list[float], remaining: list[float], progress: list[float]
    ) -> None:
        """The day's progress outside the app (mechanisms/outside.py), added to ``progress``.

        Time outside is the attention the app left over (all of it for a user who quit), split
        over the goals still pending by urgency, never beyond what each still needs.
        """
        minutes = max(self.attention_left, 0.0) if self.active else self.attention_budget
        rem = [max(r - p, 0.0) for r, p in zip(remaining, progress, strict=True)]
        weights = [n if r > 0 else 0.0 for n, r in zip(need, rem, strict=True)]
        total_w = sum(weights)
        if total_w <= 0:
            return
        made = 0.0
        for g, w in enumerate(weights):
            gain = min(self.outside_rate * minutes * w / total_w, rem[g])
            progress[g] += gain
            made += gain
        self.totals["outside_progress"] += made
        self.totals["goal_progress"] += made

    def advance_goals(self, progress: list[float]) -> None:
        m = self.model
        ev = self.pending_events
        self.pending_events = {}
        for g, state in self.goals:
            sink = m.goal_events[g]
            sub: dict[str, float] = dict.fromkeys(sink, 0.0)
            state.apply(progress[g], m.t, sub)
            state.step_end(m.t, sub)
            for key, v in sub.items():
                ev[sink[key]] = ev.get(sink[key], 0.0) + v
        for key, v in ev.items():
            self.totals[key] += v
        self.step_events = ev

    def context_events(self, started: bool) -> None:
        """Device switch, colleague share, support contact; failures grow with layout distance."""
        m = self.model
        ctx, rnd = m.scenario.context, m.random
        failed = 0
        for i, kind in enumerate(KINDS):
            if (i == 0 and self.devices < 2) or (i == 1 and not self.teammates):
                continue
            if rnd.random() >= m.context_rates[i]:
                continue
            if i == 0:
                other = self.last_layout
            elif i == 1:
                other = rnd.choice(self.teammates).layout
            else:
                other = m.default_layout
            d = m.layout_distance(self.layout, other)
            self.totals[f"{kind}_events"] += 1
            p_fail = ctx.base_failure + (1 - ctx.base_failure) * (
                1 - math.exp(-ctx.distance_sensitivity * d)
            )
            if rnd.random() < p_fail:
                failed += 1
                self.totals[f"{kind}_failures"] += 1
        if failed:
            self.attention_left = max(self.attention_left - ctx.failure_minutes * failed, 0.0)
            self.failures_today += failed
            self.totals["support_tickets"] += failed
            # a failed hand-over leaves the user confused: focus residue, like a distraction
            self.residue += m.um.residue * (1.0 - self.residue)

    def record_events(self) -> None:
        """Instrumented events reach the product late and noisy (observation.EventPipe)."""
        m, rnd = self.model, self.model.random
        ev = self.step_events
        self.seen = []
        for spec, pipe in zip(m.instrumented, self.event_pipes, strict=True):
            true = ev.get(spec.event, 0.0)
            kept = 0 if rnd.random() < spec.miss_rate else true
            pipe.append(kept + (rnd.random() < spec.false_rate))
            self.seen.append(pipe.popleft())


# --- the model ------------------------------------------------------------------------------------


class ReferenceModel(mesa.Model):
    """The scenario's population as per-agent Mesa users under the static policy.

    Args:
        scenario: A validated scenario.
        seed: Seeds the model's ``random.Random`` (the only randomness).
    """

    def __init__(self, scenario: Scenario, seed: int) -> None:
        super().__init__(seed=seed)
        self.scenario = sc = scenario
        self.um = sc.user_model
        els = sc.product.elements
        self.element_ids = [e.id for e in els]
        eidx = {e: i for i, e in enumerate(self.element_ids)}
        self.goal_index = {g.id: i for i, g in enumerate(sc.goals)}
        self.n_goals = len(sc.goals)
        self.appeal = [e.appeal for e in els]
        self.cost = [e.attention_cost for e in els]
        self.value = [tuple(e.value.get(g.id, 0.0) for g in sc.goals) for e in els]
        self.channel_ids = [c.id for c in sc.product.channels]
        self.pushed = [i for i, e in enumerate(els) if e.pushed]
        self.channel_of = [self.channel_ids.index(els[e].channel) for e in self.pushed]
        self.channel_load = [
            -0.5 * math.log(max(c.background_per_day, 1e-9) / 56.0) for c in sc.product.channels
        ]
        self.default_layout = tuple(eidx[x] for x in sc.product.layout.default)
        core_w = sc.context.core_weight
        self.slot_weight = [core_w if els[e].core else 1.0 for e in self.default_layout]
        self.discount = [(k + 1) ** self.um.position_exponent for k in range(len(self.slot_weight))]
        self.slots_per_day = sc.clock.slots_per_day
        self.n_steps = sc.clock.n_steps
        self.start_weekday = WEEKDAYS.index(sc.clock.start_weekday)
        ctx = sc.context
        self.context_rates = [
            r / self.slots_per_day
            for r in (
                ctx.device_switch_per_day,
                ctx.colleague_share_per_day,
                ctx.support_contact_per_day,
            )
        ]
        inst = sc.instrumentation
        self.instrumented = list(inst.events)
        auc = inst.receptivity_auc
        self.receptivity_dprime = 12.0 if auc >= 1.0 else math.sqrt(2) * NormalDist().inv_cdf(auc)
        self.goal_events = {
            self.goal_index[g.id]: {k: f"{g.id}.{k}" for k in _EVENT_KEYS[g.kind]} for g in sc.goals
        }
        self.total_names = [
            "sessions",
            "clicks",
            "minutes",
            "delivered",
            "opens",
            "opt_outs",
            "goal_progress",
            "app_progress",
            "outside_progress",
            "self_control_minutes",
            "goal_minutes",
            "distraction_minutes",
            "interruption_minutes",
            "search_minutes",
            "support_tickets",
            "churned",
            *(f"{k}_{x}" for k in KINDS for x in ("events", "failures")),
            *(name for ev in self.goal_events.values() for name in ev.values()),
        ]
        self.t = 0
        self.day = self.slot = self.weekday = 0
        self.availability = [0.0] * len(sc.population.segments)
        for k, n in enumerate(_segment_counts(sc.population.size, sc.population.segments)):
            for _ in range(n):
                ReferenceUser(self, k)
        self._build_teams()

    def _build_teams(self) -> None:
        """Shuffle users into teams whose sizes follow the scenario (cliques of colleagues)."""
        users = list(self.agents)
        self.random.shuffle(users)
        i = 0
        while i < len(users):
            size = max(round(draw(self.scenario.population.team.size, self.random)), 1)
            team = users[i : i + size]
            for u in team:
                u.teammates = [v for v in team if v is not u]
            i += size

    @property
    def done(self) -> bool:
        return self.t >= self.n_steps

    def layout_distance(self, a: tuple[int, ...], b: tuple[int, ...]) -> float:
        """Core-weighted share of differing positions (sim/layout.py)."""
        if a is b:
            return 0.0
        w = self.slot_weight
        return sum(wk for wk, x, y in zip(w, a, b, strict=True) if x != y) / sum(w)

    def static_policy(self) -> None:
        """Default layout and default schedule for every user (the ``static`` policy)."""
        sc = self.scenario
        names = sc.clock.names
        seg_ids = [s.id for s in sc.population.segments]
        pushed_ids = [self.element_ids[e] for e in self.pushed]
        notify = [[False] * len(self.pushed) for _ in seg_ids]
        for item in sc.product.schedule:
            slot = item.slot if isinstance(item.slot, int) else names.index(item.slot)
            if slot != self.slot or self.day % item.period_days != item.on_day:
                continue
            if item.weekdays is not None and WEEKDAYS[self.weekday] not in item.weekdays:
                continue
            col = pushed_ids.index(item.element)
            for k, sid in enumerate(seg_ids):
                if item.segments is None or sid in item.segments:
                    notify[k][col] = True
        frozen = [tuple(row) for row in notify]
        for agent in self.agents:
            agent.layout = self.default_layout
            agent.notify = frozen[agent.segment]

    def step(self) -> None:
        """One time slot: the policy acts, then every user steps."""
        self.day, self.slot = divmod(self.t, self.slots_per_day)
        self.weekday = (self.start_weekday + self.day) % 7
        for k, seg in enumerate(self.scenario.population.segments):
            self.availability[k] = (
                seg.availability.weekday[self.weekday] * seg.availability.slot[self.slot]
            )
        self.static_policy()
        # No user reads another's mutable state in its step except a colleague's layout, which
        # the policy set above, so the activation order does not matter.
        self.agents.do("step")
        self.t += 1

    def per_user_means(self) -> dict[str, float]:
        """Totals averaged over all users (churned included)."""
        n = len(self.agents)
        out = dict.fromkeys(self.total_names, 0.0)
        for agent in self.agents:
            for k, v in agent.totals.items():
                out[k] += v
        return {k: v / n for k, v in out.items()}

    def state_means(self) -> dict[str, float]:
        """Population means of the slow state: trust, habits, fatigue, channel trust."""
        users = list(self.agents)
        n = len(users)
        return {
            "trust": sum(u.trust for u in users) / n,
            "app_habit": sum(u.app_habit for u in users) / n,
            "habit": sum(sum(u.habit) / len(u.habit) for u in users) / n,
            "fatigue": sum(u.fatigue for u in users) / n,
            "channel_trust": sum(sum(u.channel_trust) / len(u.channel_trust) for u in users) / n,
        }


_EVENT_KEYS = {
    "tasks": (
        "arrived",
        "completed",
        "completed_on_time",
        "failed",
        "abandoned",
        "ttc_steps",
        "censored_steps",
    ),
    "budget": (
        "crossed",
        "adjusted",
        "adjusted_in_time",
        "tta_steps",
        "window_closed",
        "window_under_budget",
        "overspend",
    ),
    "practice": ("practised",),
}


def _segment_counts(n: int, segments: list[Any]) -> list[int]:
    """Largest-remainder allocation of N users to segments (as sim/population.py)."""
    raw = [s.share * n for s in segments]
    counts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda k: -(raw[k] - counts[k]))
    for k in order[: n - sum(counts)]:
        counts[k] += 1
    return counts
