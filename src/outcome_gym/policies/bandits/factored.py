"""The base every bandit shares: variants, objective, groups, and delay- and churn-safe crediting.

**Hold and credit period.** With ``hold="day"`` (the default) a user keeps the arms chosen at the
day's first step for the whole day, and the arms are credited with the day's total reward — the
level at which an engagement team measures (daily minutes, sessions) and at which a day's outcome
(a practised day, a task done by the evening) happens. Crediting each slot's arm with that slot's
reward instead rewards whatever wins the slot: an element that uses up the daily attention budget
wins its slot and loses the rest of the day, which a per-slot learner never sees. ``hold="step"``
chooses and credits every step (the learner before issue #15).

**Credit horizon.** What a period's choice causes can arrive later: tomorrow's return, a budget
adjusted after several days of progress, a task finished the next day. A period's arms are
credited with ``R(p) + sum_{k=1..horizon} discount^k R(p + k)``, ``R(q)`` the reward of period q for
the same user; the later periods' rewards are also credited to their own arms, as in a
discounted return.

**Launch.** ``launch="untried"`` (the default) starts with the bandit's own rule (epsilon-greedy
tries untried arms first, so its first credited periods are spent on uniformly drawn arms);
``launch="default"`` starts as a product launches a learner: a group that has not yet learned from
any credited period keeps the default layout and the scheduled plan, except a launch share of its
users per period given a uniformly drawn arm (see :meth:`_FactoredBandit._choose_or_launch`).

**Day plans.** With ``hold="day"`` the notification plans are the ``plans`` family of
:func:`~outcome_gym.product.variants.build_variants`: by default (``local``) the schedule and its
neighbours one edit away that add no (notification, slot) pair, so exploring keeps most of what
the product already sends and never adds a pair on a day-level reward that cannot see the
weeks-long cost of sending more (a replacement can still send more often than the entry it
replaces: docs/policies.md).

**Delayed events.** Instrumented outcome events reach the product ``delay_steps`` after they happen
(the scenario's ``instrumentation``, a fact of the product's own logging pipeline), so each event
seen at step t is filed under step ``t - delay``; a step's reward is computed — one objective call
per step, in step order — once all the events the objective reads are in, i.e. after the largest
of their ``delay_steps`` (:func:`~outcome_gym.product.objectives.objective_events`; none for the
engagement objective).
(Crediting the events to the arms of the step they arrive in instead hands them to whatever the
user was shown later, and an outcome bandit then cannot tell its arms apart.)

**Churn.** A period's reward is learned from only for users still active at the observation after
its first step: churn happens at the start of a day, after the observation the policy acted on,
so a user who churned then still looks active when the arms were chosen although they never saw
them. A user who churns later in the horizon is learned from, with the zeros that follow: losing
the user is a consequence of the choice.

Rewards are learned at the start of ``act``, before choosing; those of the run's last periods
(the horizon and the events' delay) are never used.
"""

from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np

from outcome_gym.errors import PolicyError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.product.objectives import make_objective, objective_events
from outcome_gym.product.variants import PLAN_FAMILIES, Variants, build_variants
from outcome_gym.sim.interface import Action, Feedback, Observation, PolicyContext, frozen_map

GRANULARITIES = ("user", "segment", "global")
HOLDS = ("day", "step")
LAUNCHES = ("untried", "default")
LEVERS = ("both", "layout", "notify")
BANDITS = ("layout", "notify")

#: The layout arm and the notification-plan arm of each user (or of each learned user).
Arms = tuple[np.ndarray, np.ndarray]


@dataclass
class _Period:
    """One credit period's choice (a day, or a step with ``hold="step"``) and its rewards.

    Attributes:
        index: The period's number (day, or step), counted from the run's first.
        arms: Layout and notification-plan arm per user, chosen at the period's first step.
        active: Users active in the observation the arms were chosen on.
        moment: What the policy derived from that observation to choose with (LinUCB), or None.
        confirmed: ``active`` and still active at the next observation (None until known).
        reward: The period's own reward per user so far (the sum over its rewarded steps).
        pending: Steps of the period not yet rewarded (the period is complete at 0 once closed).
        closed: No further step will join the period.
    """

    index: int
    arms: Arms
    active: np.ndarray
    moment: Any
    confirmed: np.ndarray | None = None
    reward: np.ndarray | None = None
    pending: int = 0
    closed: bool = False

    @property
    def complete(self) -> bool:
        """Every step of the period has been rewarded."""
        return self.closed and self.pending == 0


@dataclass
class _Acted:
    """One step, filled with its feedback as it arrives and rewarded once complete.

    Attributes:
        step: The step acted on.
        period: The credit period the step belongs to.
        feedback: The step's own feedback (engagement signals); None until ``update``.
        events: Instrumented events that happened at this step, filed as they become visible.
        sent: Notifications actually sent per user.
    """

    step: int
    period: _Period
    feedback: Feedback | None = None
    events: dict[str, np.ndarray] = field(default_factory=dict)
    sent: np.ndarray | None = None


def _as_index(rows: np.ndarray) -> np.ndarray | slice:
    """``rows`` as a slice when they are one contiguous run (users come in segment blocks)."""
    if rows.size and rows[-1] - rows[0] + 1 == rows.size:
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def _n_segments(context: PolicyContext) -> int:
    """Segments in the scenario (or more, if the context's segment codes go beyond them)."""
    segment = np.asarray(context.segment, dtype=np.int64)
    return max(len(context.scenario.population.segments), int(segment.max(initial=-1)) + 1)


@dataclass(eq=False)
class _FactoredBandit(BasePolicy):
    """Shared machinery: variants, objective, groups, delay- and churn-safe crediting.

    A dataclass, so the constructor only stores the hyperparameters and every subclass's
    signature lists the shared ones (see :mod:`outcome_gym.policies.bandits`) followed by its own.
    Subclasses implement ``_new_state(n_groups, n_arms)``, ``_choose(state, moment)`` and
    ``_learn(users, arms, reward, moment)``, and may override ``_features`` (which makes the
    ``moment`` from an observation).
    """

    name = "factored_bandit"

    objective: str = "engagement"
    weight: float = 0.5
    granularity: str = "segment"
    notify_cost: float = 0.0
    levers: str = "both"
    hold: str = "day"
    horizon: int = 2
    discount: float = 0.5
    launch: str = "untried"
    plans: str = "local"

    # --- protocol ---------------------------------------------------------------------------

    def _build_variants(self, context: PolicyContext) -> Variants:
        """The arms this bandit chooses among (day plans when it holds arms for a day)."""
        return build_variants(context, day_plans=self.hold == "day", family=self.plans)

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Build the arms from the scenario's variants and start every estimate from its prior."""
        super().reset(context, seed)
        self._check_params()
        self.variants_ = self._build_variants(context)
        params = {"weight": self.weight} if self.objective == "mixed" else {}
        self.objective_ = make_objective(self.objective, context, **params)
        n = context.n_users
        segment = np.asarray(context.segment, dtype=np.int64)
        self.n_segments_ = _n_segments(context)
        if self.granularity == "user":
            self.group_, self.n_groups_ = np.arange(n, dtype=np.int64), n
        elif self.granularity == "segment":
            self.group_, self.n_groups_ = segment.copy(), self.n_segments_
        else:
            self.group_, self.n_groups_ = np.zeros(n, dtype=np.int64), 1
        pooled = range(self.n_groups_) if self.granularity != "user" else range(0)
        self.group_rows_ = [_as_index(np.flatnonzero(self.group_ == g)) for g in pooled]
        self.default_arm_ = self.variants_.layout_names.index("default")
        self.silent_arm_ = self.variants_.notify_names.index("none")
        self.schedule_arm_ = self.variants_.notify_names.index("default")
        self.n_arms_ = (self.variants_.n_layouts, self.variants_.n_notify)
        self.state_ = tuple(self._new_state(self.n_groups_, a) for a in self.n_arms_)
        self.delays_ = {
            ev.event: int(ev.delay_steps) for ev in context.scenario.instrumentation.events
        }
        # a step is rewarded once the events the objective reads have arrived (engagement: none)
        read = objective_events(self.objective_, self.delays_)
        self.lag_ = max((self.delays_[e] for e in read if e in self.delays_), default=0)
        # per group: whether it has learned from a credited period yet (False: still launching)
        self.launched_ = np.zeros(self.n_groups_, dtype=bool)
        self.history_: deque[_Acted] = deque()
        self.periods_: deque[_Period] = deque()
        self.updated_step_ = -1
        # weight of the reward k periods after a period, k = 0..horizon
        self.credit_weights_ = float(self.discount) ** np.arange(int(self.horizon) + 1)

    def act(self, observation: Observation) -> Action:
        """Learn from the periods now complete and confirmed, then pick a layout and a plan per user.

        A new period starts at every step (``hold="step"``) or at the first step of each day; in
        between, every user keeps the period's arms (a user no longer active gets the default
        layout and no notifications).
        """
        active = np.asarray(observation.active, dtype=bool)
        period = self._current_period(observation)  # closes yesterday's period on a new day
        self._learn_ready(active)
        moment = self._features(observation)
        if period is None:
            period = self._start_period(observation, active, moment)
        layout_arm = np.where(active, period.arms[0], self.default_arm_)
        notify_arm = np.where(active, period.arms[1], self.silent_arm_)
        layout = self.variants_.layout_for(layout_arm)
        notify = self.variants_.notify_for(notify_arm, self.default_notify(observation),
                                           slot=observation.slot)
        notify &= active[:, None]
        period.pending += 1
        self.history_.append(_Acted(observation.step, period))
        return Action(layout=layout, notify=notify)

    def _period_index(self, observation: Observation) -> int:
        return observation.day if self.hold == "day" else observation.step

    def _current_period(self, observation: Observation) -> _Period | None:
        """The open period this step belongs to, or None (closing the previous one)."""
        last = self.periods_[-1] if self.periods_ else None
        if last is None or last.closed:
            return None
        if last.index == self._period_index(observation):
            return last
        last.closed = True
        return None

    def _start_period(self, observation: Observation, active: np.ndarray, moment: Any) -> _Period:
        """Choose every active user's arms for a new period."""
        n = active.shape[0]
        if self.levers == "notify":
            layout_arm = np.full(n, self.default_arm_, dtype=np.int64)
        else:
            chosen = self._choose_or_launch(0, moment, self.default_arm_)
            layout_arm = np.where(active, chosen, self.default_arm_)
        if self.levers == "layout":
            notify_arm = np.where(active, self.schedule_arm_, self.silent_arm_)
        else:
            chosen = self._choose_or_launch(1, moment, self.schedule_arm_)
            notify_arm = np.where(active, chosen, self.silent_arm_)
        period = _Period(self._period_index(observation), (layout_arm, notify_arm),
                         active.copy(), moment)
        if self.hold == "step":
            period.closed = True  # one step per period: closed as it opens
        self.periods_.append(period)
        return period

    def _choose_or_launch(self, bandit: int, moment: Any, default: int) -> np.ndarray:
        """Every user's arm: the bandit's own choice, or the launch choice while launching.

        ``launch="untried"`` (the default): always the bandit's own choice (epsilon-greedy tries
        untried arms first; Thompson and LinUCB start from their priors). ``launch="default"``: a
        group that has not yet learned from any credited period has no evidence to prefer any
        arm, so it keeps what the product ships — ``default`` (the default layout, the scenario's
        schedule) — except a launch share of its users per period (``_launch_share``: epsilon, or
        ``launch_share``), each given an arm drawn uniformly (the default included): the
        exploration whose rewards the bandit's own rule starts from. Draws are made over all
        users (fixed shapes), and only while some group is launching.
        """
        choice = self._choose(self.state_[bandit], moment)
        if self.launch == "untried" or self.launched_.all():
            return choice
        launching = ~self.launched_[self.group_]
        n_arms = self.n_arms_[bandit]
        explore = self.rng_.random(choice.shape[0]) < self._launch_share()
        drawn = self.rng_.integers(n_arms, size=choice.shape[0])
        launch = np.where(explore, drawn, default)
        return np.where(launching, launch, choice)

    def update(self, observation: Observation, action: Action, feedback: Feedback) -> None:
        """File the step's feedback; each event goes to the step it happened in (``t - delay``).

        Raises:
            PolicyError: ``update`` was not preceded by ``act`` on the same observation.
        """
        last = self.history_[-1] if self.history_ else None
        if last is None or last.step != observation.step or last.feedback is not None:
            got = "no act" if last is None else f"act at step {last.step}"
            raise PolicyError(
                f"policy '{self.name}': update at step {observation.step} follows {got}; call "
                "act(observation) and then update(observation, action, feedback) once per step"
            )
        last.feedback = feedback
        last.sent = np.asarray(action.notify, dtype=bool).sum(axis=1)
        by_step = {rec.step: rec for rec in self.history_}
        for name, seen in feedback.events.items():
            rec = by_step.get(observation.step - self.delays_.get(name, 0))
            if rec is not None:
                rec.events[name] = np.asarray(seen)
        self.updated_step_ = observation.step

    # --- hyperparameter checks --------------------------------------------------------------

    def _check_params(self) -> None:
        self._check_choice("granularity", self.granularity, GRANULARITIES)
        self._check_choice("levers", self.levers, LEVERS)
        self._check_choice("hold", self.hold, HOLDS)
        self._check_choice("launch", self.launch, LAUNCHES)
        self._check_choice("plans", self.plans, PLAN_FAMILIES)
        self._require(isinstance(self.horizon, int | np.integer) and 0 <= self.horizon <= 60,
                      "horizon an integer in [0, 60] (periods)", self.horizon)
        self._require(np.isfinite(self.discount) and 0.0 <= self.discount <= 1.0,
                      "discount in [0, 1]", self.discount)
        self._require(np.isfinite(self.notify_cost) and self.notify_cost >= 0,
                      "notify_cost >= 0", self.notify_cost)

    def _check_choice(self, param: str, value: object, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            close = difflib.get_close_matches(str(value), allowed, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            self._refuse(f"{param} one of {', '.join(allowed)}", value, f".{hint}")

    def _require(self, ok: Any, expected: str, value: object) -> None:
        """Refuse ``value`` (see :meth:`_refuse`) unless ``ok``."""
        if not ok:
            self._refuse(expected, value)

    def _refuse(self, expected: str, value: object, tail: str = "") -> NoReturn:
        """Raise ``PolicyError("policy '<name>': expected <expected>, got <value!r><tail>")``."""
        raise PolicyError(f"policy '{self.name}': expected {expected}, got {value!r}{tail}")

    # --- crediting --------------------------------------------------------------------------

    def _learn_ready(self, active_now: np.ndarray) -> None:
        """Confirm, reward every complete step in order, then learn every period now credited."""
        hist = self.history_
        if hist and hist[-1].feedback is None:
            hist.pop().period.pending -= 1  # acted on but never updated: nothing to learn from it
        for period in reversed(self.periods_):  # only the newest unconfirmed one can be confirmed
            if period.confirmed is not None:
                break
            if period.pending or period.closed:
                period.confirmed = period.active & active_now
        while hist and hist[0].feedback is not None and hist[0].step + self.lag_ <= (
            self.updated_step_
        ):
            self._reward_step(hist.popleft())
        horizon = int(self.horizon)
        periods = self.periods_
        while len(periods) > horizon and all(
            periods[k].complete and periods[k].confirmed is not None for k in range(horizon + 1)
        ):
            self._learn_period([periods[k] for k in range(horizon + 1)])
            periods.popleft()

    def _reward_step(self, rec: _Acted) -> None:
        """One objective call for a complete step (in step order), added to its period's reward."""
        fb = rec.feedback
        if fb is None or rec.sent is None:  # pragma: no cover - invariant
            raise PolicyError(f"policy '{self.name}': step {rec.step} rewarded before complete")
        full = Feedback(clicks=fb.clicks, minutes=fb.minutes, sessions=fb.sessions,
                        opens=fb.opens, events=frozen_map(rec.events))
        reward = np.asarray(self.objective_(full), dtype=np.float64)
        if self.notify_cost:
            reward = reward - float(self.notify_cost) * rec.sent
        period = rec.period
        period.reward = reward if period.reward is None else period.reward + reward
        period.pending -= 1

    def _learn_period(self, window: list[_Period]) -> None:
        """Credit ``R(p) + sum_k discount^k R(p + k)`` to both arms of p's confirmed users."""
        first = window[0]
        confirmed = first.confirmed
        if confirmed is None:  # pragma: no cover - invariant
            raise PolicyError(f"policy '{self.name}': period {first.index} learned unconfirmed")
        users = np.flatnonzero(confirmed)
        if not users.size or first.reward is None:
            return
        reward = first.reward[users].copy()
        for w, later in zip(self.credit_weights_[1:], window[1:], strict=True):
            if w and later.reward is not None:
                reward += w * later.reward[users]
        self._learn(users, (first.arms[0][users], first.arms[1][users]), reward, first.moment)
        self.launched_[self.group_[users]] = True

    def _bandit_index(self, bandit: str) -> int:
        if bandit not in BANDITS:
            raise PolicyError(f"expected bandit 'layout' or 'notify', got {bandit!r}")
        return BANDITS.index(bandit)

    # --- what a subclass provides -----------------------------------------------------------

    def _features(self, observation: Observation) -> Any:
        return None

    def _launch_share(self) -> float:  # pragma: no cover - abstract
        """Share of a launching group's users given a uniformly drawn arm each period."""
        raise NotImplementedError

    def _new_state(self, n_groups: int, n_arms: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _choose(self, state: Any, moment: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _learn(  # pragma: no cover - abstract
        self, users: np.ndarray, arms: Arms, reward: np.ndarray, moment: Any
    ) -> None:
        raise NotImplementedError
