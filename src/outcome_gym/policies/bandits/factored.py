"""The base every bandit shares: variants, objective, groups, and delay- and churn-safe crediting.

Credit is matched to the step that earned it. Instrumented outcome events reach the product
``delay_steps`` after they happen (the scenario's ``instrumentation``, a fact of the product's own
logging pipeline), so each event seen at step t is filed under step ``t - delay``; a step's reward
is computed — one objective call per step, in step order — once all its events are in, i.e. after
``max(delay_steps)`` more steps. (Crediting the events to the arms of the step they arrive in
instead hands them to whatever the user was shown later, and an outcome bandit then cannot tell
its arms apart.) A step's reward is also learned from only for users still active in the next
observation: churn happens at the start of a day, after the observation the policy acted on, so a
user who churned then still looks active at that step although everything they produced was zero.
Rewards are learned at the start of ``act``, before choosing; those of the run's last
``max(delay_steps) + 1`` steps are never used.
"""

from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np

from outcome_gym.errors import PolicyError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.product.objectives import make_objective
from outcome_gym.product.variants import build_variants
from outcome_gym.sim.interface import Action, Feedback, Observation, PolicyContext, frozen_map

GRANULARITIES = ("user", "segment", "global")
LEVERS = ("both", "layout", "notify")
BANDITS = ("layout", "notify")

#: The layout arm and the notification-plan arm of each user (or of each learned user).
Arms = tuple[np.ndarray, np.ndarray]


@dataclass
class _Acted:
    """One step's choices, filled with its feedback as it arrives and learned once complete.

    Attributes:
        step: The step acted on.
        arms: Layout and notification-plan arm per user.
        active: Users active in the observation acted on.
        moment: What the policy derived from the observation to choose with (LinUCB), or None.
        confirmed: ``active`` and still active at the next observation (None until known).
        feedback: The step's own feedback (engagement signals); None until ``update``.
        events: Instrumented events that happened at this step, filed as they become visible.
        sent: Notifications actually sent per user.
    """

    step: int
    arms: Arms
    active: np.ndarray
    moment: Any
    confirmed: np.ndarray | None = None
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

    # --- protocol ---------------------------------------------------------------------------

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Build the arms from the scenario's variants and start every estimate from its prior."""
        super().reset(context, seed)
        self._check_params()
        self.variants_ = build_variants(context)
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
        self.lag_ = max(self.delays_.values(), default=0)
        self.history_: deque[_Acted] = deque()
        self.updated_step_ = -1

    def act(self, observation: Observation) -> Action:
        """Learn from the steps now complete and confirmed, then pick a layout and a plan per user."""
        active = np.asarray(observation.active, dtype=bool)
        self._learn_ready(active)
        moment = self._features(observation)
        n = active.shape[0]
        if self.levers == "notify":
            layout_arm = np.full(n, self.default_arm_, dtype=np.int64)
        else:
            layout_arm = np.where(active, self._choose(self.state_[0], moment), self.default_arm_)
        if self.levers == "layout":
            notify_arm = np.where(active, self.schedule_arm_, self.silent_arm_)
        else:
            notify_arm = np.where(active, self._choose(self.state_[1], moment), self.silent_arm_)
        layout = self.variants_.layout_for(layout_arm)
        notify = self.variants_.notify_for(notify_arm, self.default_notify(observation))
        notify &= active[:, None]
        self.history_.append(
            _Acted(observation.step, (layout_arm, notify_arm), active.copy(), moment)
        )
        return Action(layout=layout, notify=notify)

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
        """Confirm the previous step's users, then learn every complete, confirmed step in order."""
        hist = self.history_
        if hist and hist[-1].feedback is None:
            hist.pop()  # acted on but never updated: there is nothing to learn from it
        if hist and hist[-1].confirmed is None:
            hist[-1].confirmed = hist[-1].active & active_now
        while hist and hist[0].confirmed is not None and (
            hist[0].step + self.lag_ <= self.updated_step_
        ):
            self._learn_step(hist.popleft())

    def _learn_step(self, rec: _Acted) -> None:
        """Credit one step's reward to both chosen arms of its confirmed users."""
        fb, confirmed = rec.feedback, rec.confirmed
        if fb is None or confirmed is None or rec.sent is None:  # pragma: no cover - invariant
            raise PolicyError(f"policy '{self.name}': step {rec.step} learned before complete")
        full = Feedback(clicks=fb.clicks, minutes=fb.minutes, sessions=fb.sessions,
                        opens=fb.opens, events=frozen_map(rec.events))
        reward = np.asarray(self.objective_(full), dtype=np.float64)
        if self.notify_cost:
            reward = reward - float(self.notify_cost) * rec.sent
        users = np.flatnonzero(confirmed)
        if users.size:
            arms = (rec.arms[0][users], rec.arms[1][users])
            self._learn(users, arms, reward[users], rec.moment)

    def _bandit_index(self, bandit: str) -> int:
        if bandit not in BANDITS:
            raise PolicyError(f"expected bandit 'layout' or 'notify', got {bandit!r}")
        return BANDITS.index(bandit)

    # --- what a subclass provides -----------------------------------------------------------

    def _features(self, observation: Observation) -> Any:
        return None

    def _new_state(self, n_groups: int, n_arms: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _choose(self, state: Any, moment: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _learn(  # pragma: no cover - abstract
        self, users: np.ndarray, arms: Arms, reward: np.ndarray, moment: Any
    ) -> None:
        raise NotImplementedError
