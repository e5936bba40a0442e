"""Learning policies: epsilon-greedy, Thompson sampling and contextual LinUCB over named variants.

Each policy runs two factored bandits side by side. Every step, for every active user, one bandit
picks a layout variant and the other a notification plan from
:func:`~outcome_gym.product.variants.build_variants` (``default`` / ``promote:<id>`` layouts;
``none`` / ``default`` / ``send:<id>`` plans). After the step, the user's reward from the objective
(:func:`~outcome_gym.product.objectives.make_objective`), minus ``notify_cost`` per notification
actually sent, is credited to both arms that user was given.

Shared hyperparameters:

* ``objective``: ``engagement``, ``outcome`` or ``mixed`` (any registered objective name);
* ``weight``: lambda of the ``mixed`` objective (ignored by the others);
* ``granularity``: whose data an arm's estimate pools: ``user`` (each user learns alone),
  ``segment`` (all users of a segment share estimates; the default) or ``global`` (everyone);
* ``notify_cost``: a penalty subtracted from the reward per notification sent (default 0);
* ``levers``: what the policy personalizes: ``both`` (the default), ``layout`` (notifications follow
  the scenario's schedule) or ``notify`` (everyone keeps the default layout). Teams often own one
  surface; the experiments also use it to separate what each lever does.

Users who are no longer active get the default layout and no notifications.

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

Everything is vectorized over users: loops run over arms, segments or (group, segment) blocks,
never over users, so a step at 100,000 users costs tens of milliseconds (per-user LinUCB, which
keeps a d x d matrix per user and arm, is the exception and says so).
"""

from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from outcome_gym.errors import PolicyError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.product.objectives import make_objective
from outcome_gym.product.variants import build_variants
from outcome_gym.sim.interface import Action, Feedback, Observation, PolicyContext, frozen_map

GRANULARITIES = ("user", "segment", "global")
LEVERS = ("both", "layout", "notify")
BANDITS = ("layout", "notify")
# Per-user LinUCB keeps a d x d matrix per user and arm; refuse more than 512 MiB of them.
_USER_LINUCB_MAX_BYTES = 1 << 29


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
    arms: tuple[np.ndarray, np.ndarray]
    active: np.ndarray
    moment: Any
    confirmed: np.ndarray | None = None
    feedback: Feedback | None = None
    events: dict[str, np.ndarray] = field(default_factory=dict)
    sent: np.ndarray | None = None


def _argmax_arms(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First best arm and best score per user, from arm-major scores (A x N; a loop over arms)."""
    best = scores[0].copy()
    choice = np.zeros(scores.shape[1], dtype=np.int64)
    for a in range(1, scores.shape[0]):
        choice[scores[a] > best] = a
        np.maximum(best, scores[a], out=best)
    return choice, best


def _argmax_random_ties(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Best arm per user from arm-major scores (A x N), ties broken uniformly at random.

    Random keys are drawn only for the users that have a tie, so the common untied case costs no
    draws (what is drawn still depends only on the seed and the data).
    """
    choice, best = _argmax_arms(scores)
    tied = np.flatnonzero((scores >= best).sum(axis=0) > 1)
    if tied.size:
        sub = scores[:, tied]
        key = np.where(sub >= best[tied], rng.random(sub.shape), -1.0)
        choice[tied] = _argmax_arms(key)[0]
    return choice


def _group_argmax_random_ties(
    values: np.ndarray, group: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Best arm per user when every user of a group has the same ``values`` (G x A).

    Ties are broken per user, uniformly among the group's tied arms.
    """
    top = values >= values.max(axis=1, keepdims=True)
    n_top = top.sum(axis=1)
    choice = np.argmax(top, axis=1)[group]
    tied = np.flatnonzero(n_top[group] > 1)
    if tied.size:
        g = group[tied]
        k = (rng.random(tied.size) * n_top[g]).astype(np.int64)  # take the k-th tied arm
        choice[tied] = np.argmax(np.cumsum(top[g], axis=1) > k[:, None], axis=1)
    return choice


def _as_index(rows: np.ndarray) -> np.ndarray | slice:
    """``rows`` as a slice when they are one contiguous run (users come in segment blocks)."""
    if rows.size and rows[-1] - rows[0] + 1 == rows.size:
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


class _FactoredBandit(BasePolicy):
    """Shared machinery: variants, objective, groups, delay- and churn-safe crediting.

    Subclasses implement ``_new_state(n_groups, n_arms)``, ``_choose(state, moment)`` and
    ``_learn(users, arms, reward, moment)``, and may override ``_features`` (which makes the
    ``moment`` from an observation).
    """

    name = "factored_bandit"

    def __init__(
        self,
        objective: str = "engagement",
        weight: float = 0.5,
        granularity: str = "segment",
        notify_cost: float = 0.0,
        levers: str = "both",
    ) -> None:
        self.objective = objective
        self.weight = weight
        self.granularity = granularity
        self.notify_cost = notify_cost
        self.levers = levers

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
        self.n_segments_ = max(len(context.scenario.population.segments),
                               int(segment.max(initial=-1)) + 1)
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

    # --- shared helpers ---------------------------------------------------------------------

    def _check_params(self) -> None:
        self._check_choice("granularity", self.granularity, GRANULARITIES)
        self._check_choice("levers", self.levers, LEVERS)
        if not np.isfinite(self.notify_cost) or self.notify_cost < 0:
            raise PolicyError(
                f"policy '{self.name}': expected notify_cost >= 0, got {self.notify_cost!r}"
            )

    def _check_choice(self, param: str, value: object, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            close = difflib.get_close_matches(str(value), allowed, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise PolicyError(f"policy '{self.name}': expected {param} one of "
                              f"{', '.join(allowed)}, got {value!r}.{hint}")

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

    def _features(self, observation: Observation) -> Any:
        return None

    def _new_state(self, n_groups: int, n_arms: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _choose(self, state: Any, moment: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _learn(  # pragma: no cover - abstract
        self,
        users: np.ndarray,
        arms: tuple[np.ndarray, np.ndarray],
        reward: np.ndarray,
        moment: Any,
    ) -> None:
        raise NotImplementedError


@dataclass
class _Sums:
    """Per group and arm: reward count, sum and sum of squares (G x A each)."""

    n: np.ndarray
    s: np.ndarray
    ss: np.ndarray

    @classmethod
    def zeros(cls, n_groups: int, n_arms: int) -> _Sums:
        shape = (n_groups, n_arms)
        return cls(np.zeros(shape), np.zeros(shape), np.zeros(shape))

    def add(self, groups: np.ndarray, arms: np.ndarray, reward: np.ndarray) -> None:
        shape = self.n.shape
        key = groups * shape[1] + arms
        size = shape[0] * shape[1]
        self.n += np.bincount(key, minlength=size).reshape(shape)
        self.s += np.bincount(key, weights=reward, minlength=size).reshape(shape)
        self.ss += np.bincount(key, weights=reward * reward, minlength=size).reshape(shape)


class _CountingBandit(_FactoredBandit):
    """A bandit whose state is reward counts and sums per group and arm."""

    def _new_state(self, n_groups: int, n_arms: int) -> _Sums:
        return _Sums.zeros(n_groups, n_arms)

    def _learn(
        self,
        users: np.ndarray,
        arms: tuple[np.ndarray, np.ndarray],
        reward: np.ndarray,
        moment: Any,
    ) -> None:
        groups = self.group_[users]
        for state, chosen in zip(self.state_, arms, strict=True):
            state.add(groups, chosen, reward)


class EpsilonGreedyPolicy(_CountingBandit):
    """Epsilon-greedy over layout variants and notification plans, per user, segment or globally.

    With probability ``epsilon`` a user gets a uniformly random arm; otherwise the arm with the best
    running mean reward in the user's group (arms the group has never tried come first; ties are
    broken at random).

    When to use: the simplest learning baseline, and the one the trap is easiest to see with —
    ``engagement_bandit`` and ``outcome_bandit`` are this policy with the engagement and the
    outcome objective. It keeps exploring at a fixed rate forever, so its regret grows linearly;
    prefer ``thompson`` when exploration should fade as evidence accumulates, and ``linucb`` when
    the best arm depends on the moment (slot, weekday, receptivity, recent activity).

    Args:
        objective: ``engagement``, ``outcome`` or ``mixed``.
        weight: Lambda of the ``mixed`` objective (outcome share, in [0, 1]).
        granularity: ``user``, ``segment`` or ``global``: whose data an arm's mean pools.
        notify_cost: Reward penalty per notification sent.
        levers: ``both``, ``layout`` or ``notify``: what the policy personalizes.
        epsilon: Exploration probability per user and step, in [0, 1].
    """

    name = "epsilon_greedy"

    def __init__(
        self,
        objective: str = "engagement",
        weight: float = 0.5,
        granularity: str = "segment",
        notify_cost: float = 0.0,
        levers: str = "both",
        epsilon: float = 0.1,
    ) -> None:
        super().__init__(objective, weight, granularity, notify_cost, levers)
        self.epsilon = epsilon

    def _check_params(self) -> None:
        super()._check_params()
        if not 0.0 <= self.epsilon <= 1.0:
            raise PolicyError(
                f"policy '{self.name}': expected epsilon in [0, 1], got {self.epsilon!r}"
            )

    def estimates(self, bandit: str = "layout") -> tuple[np.ndarray, np.ndarray]:
        """Counts and running mean rewards (G x A; mean NaN where untried) of one bandit."""
        st = self.state_[self._bandit_index(bandit)]
        mean = np.divide(st.s, st.n, out=np.full_like(st.s, np.nan), where=st.n > 0)
        return st.n.copy(), mean

    def _choose(self, state: _Sums, moment: Any) -> np.ndarray:
        mean = np.divide(state.s, state.n, out=np.full_like(state.s, np.inf), where=state.n > 0)
        choice = _group_argmax_random_ties(mean, self.group_, self.rng_)
        explore = np.flatnonzero(self.rng_.random(choice.shape[0]) < self.epsilon)
        choice[explore] = self.rng_.integers(state.n.shape[1], size=explore.size)
        return choice


class ThompsonPolicy(_CountingBandit):
    """Gaussian Thompson sampling over layout variants and notification plans.

    Each arm's mean reward in a group has a normal prior ``N(prior_mean, prior_var)``; with noise
    variance s2 and n rewards summing to S, its posterior is normal with precision
    ``1 / prior_var + n / s2`` and mean ``(prior_mean / prior_var + S / s2) / precision``. Every user
    draws one sample per arm from their group's posteriors and takes the largest. With
    ``noise_var=None`` s2 is estimated per group as ``(prior_var + W) / (1 + n_g)``, W the
    within-arm sum of squared deviations and n_g the group's reward count (one pseudo-observation
    of variance ``prior_var`` keeps it positive before there is data).

    When to use: a learning policy whose exploration fades on its own as evidence accumulates —
    the usual choice for a frontier sweep over ``weight`` or for comparing objectives when
    epsilon's fixed exploration would blur the result. Set ``prior_var`` to the scale of the
    objective's per-step reward differences between arms.

    Args:
        objective: ``engagement``, ``outcome`` or ``mixed``.
        weight: Lambda of the ``mixed`` objective (outcome share, in [0, 1]).
        granularity: ``user``, ``segment`` or ``global``: whose data a posterior pools.
        notify_cost: Reward penalty per notification sent.
        levers: ``both``, ``layout`` or ``notify``: what the policy personalizes.
        prior_mean: Prior mean of every arm's mean reward.
        prior_var: Prior variance of every arm's mean reward (> 0).
        noise_var: Known reward noise variance (> 0), or ``None`` to estimate it.
    """

    name = "thompson"

    def __init__(
        self,
        objective: str = "engagement",
        weight: float = 0.5,
        granularity: str = "segment",
        notify_cost: float = 0.0,
        levers: str = "both",
        prior_mean: float = 0.0,
        prior_var: float = 1.0,
        noise_var: float | None = None,
    ) -> None:
        super().__init__(objective, weight, granularity, notify_cost, levers)
        self.prior_mean = prior_mean
        self.prior_var = prior_var
        self.noise_var = noise_var

    def _check_params(self) -> None:
        super()._check_params()
        if not (np.isfinite(self.prior_var) and self.prior_var > 0):
            raise PolicyError(
                f"policy '{self.name}': expected prior_var > 0, got {self.prior_var!r}"
            )
        if self.noise_var is not None and not (np.isfinite(self.noise_var) and self.noise_var > 0):
            raise PolicyError(
                f"policy '{self.name}': expected noise_var > 0 or None, got {self.noise_var!r}"
            )

    def posterior(self, bandit: str = "layout") -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and variances (G x A) of each arm's mean reward in one bandit."""
        return self._posterior(self.state_[self._bandit_index(bandit)])

    def _posterior(self, st: _Sums) -> tuple[np.ndarray, np.ndarray]:
        if self.noise_var is not None:
            s2 = np.full((st.n.shape[0], 1), float(self.noise_var))
        else:
            within = st.ss - np.divide(st.s**2, st.n, out=np.zeros_like(st.s), where=st.n > 0)
            within = np.maximum(within, 0.0).sum(axis=1, keepdims=True)
            s2 = (self.prior_var + within) / (1.0 + st.n.sum(axis=1, keepdims=True))
        precision = 1.0 / self.prior_var + st.n / s2
        mean = (self.prior_mean / self.prior_var + st.s / s2) / precision
        return mean, 1.0 / precision

    def _choose(self, state: _Sums, moment: Any) -> np.ndarray:
        mean, var = self._posterior(state)
        sd = np.sqrt(var)
        draw = self.rng_.standard_normal((mean.shape[1], self.group_.shape[0]))  # A x N
        if self.granularity == "user":  # one group per user, in user order
            draw *= sd.T
            draw += mean.T
        for g, rows in enumerate(self.group_rows_):  # a loop over groups, not users
            draw[:, rows] *= sd[g][:, None]
            draw[:, rows] += mean[g][:, None]
        return _argmax_arms(draw)[0]


# --- LinUCB ----------------------------------------------------------------------------------


@dataclass
class _Linear:
    """Per group and arm: ridge statistics A (None when kept only as inverse), A^-1, b, theta."""

    a: np.ndarray | None
    a_inv: np.ndarray
    b: np.ndarray
    theta: np.ndarray


@dataclass
class _Moment:
    """LinUCB's view of one step: x = shared[segment] + the per-user columns ``z``.

    Attributes:
        shared: K x d, the features every user of a segment shares now (zero in the per-user
            columns): bias, segment one-hot, slot one-hot, weekend flag.
        q: Q x N per-user terms ``[1, z, z_k z_l for k <= l]`` (feature-major), in which both a
            UCB score and the regression sums are linear.
        x: N x d full features (only kept for per-user models).
    """

    shared: np.ndarray
    q: np.ndarray
    x: np.ndarray | None


def _linucb_scores(
    theta: np.ndarray, a_inv: np.ndarray, x: np.ndarray, alpha: float
) -> np.ndarray:
    """UCB scores ``theta_a . x + alpha * sqrt(x' A_a^-1 x)``, n x A, for n users and A arms.

    The reference formula for any features (used as is for per-user models).

    Args:
        theta: A x d (one model for everyone) or n x A x d (one per user).
        a_inv: A x d x d or n x A x d x d, matching ``theta``.
        x: n x d features.
        alpha: Exploration weight.
    """
    if theta.ndim == 2:
        mean = x @ theta.T
        proj = np.einsum("ade,ne->nad", a_inv, x)
    else:
        mean = np.einsum("nad,nd->na", theta, x)
        proj = np.einsum("nade,ne->nad", a_inv, x)
    width = np.einsum("nad,nd->na", proj, x)
    return mean + alpha * np.sqrt(np.maximum(width, 0.0))


def _quadratic_terms(zt: np.ndarray) -> np.ndarray:
    """``[1, z, z_k z_l for k <= l]`` (Q x n) of per-user columns ``zt`` (v x n)."""
    v, n = zt.shape
    iu, ju = np.triu_indices(v)
    q = np.empty((1 + v + iu.size, n))
    q[0] = 1.0
    q[1 : 1 + v] = zt
    np.multiply(zt[iu], zt[ju], out=q[1 + v :])
    return q


def _combine(coef: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``coef @ q`` (A x Q by Q x n, ``q[0] == 1``) as a loop over the Q terms.

    Elementwise NumPy rather than BLAS: for this skinny product it is as fast single-threaded,
    and it does not slow down when a multi-threaded BLAS competes for busy cores.
    """
    out = np.empty((coef.shape[0], q.shape[1]))
    out[:] = coef[:, :1]
    term = np.empty_like(out)
    for k in range(1, coef.shape[1]):
        np.multiply(coef[:, k : k + 1], q[k], out=term)
        out += term
    return out


def _score_coefficients(
    theta: np.ndarray, a_inv: np.ndarray, c: np.ndarray, var: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and squared-width coefficients (A x Q each) on the terms of :func:`_quadratic_terms`.

    With x = c + e(z) (``c`` zero in ``var``, e(z) placing z there): ``theta . x = theta . c +
    theta[var] . z`` and ``x' M x = c' M c + 2 (M c)[var] . z + sum_{k<=l} (2 - [k=l]) M[k, l]
    z_k z_l``, so per user a score costs Q multiply-adds per arm instead of d^2.
    """
    n_arms, v = theta.shape[0], var.size
    iu, ju = np.triu_indices(v)
    mean = np.zeros((n_arms, 1 + v + iu.size))
    mean[:, 0] = theta @ c
    mean[:, 1 : 1 + v] = theta[:, var]
    width = np.empty_like(mean)
    width[:, 0] = np.einsum("i,aij,j->a", c, a_inv, c)
    width[:, 1 : 1 + v] = 2.0 * (a_inv[:, var] @ c)
    width[:, 1 + v :] = a_inv[:, var[iu], var[ju]] * np.where(iu == ju, 1.0, 2.0)
    return mean, width


def _linucb_pooled_update(
    st: _Linear, groups: np.ndarray, arms: np.ndarray, x: np.ndarray, reward: np.ndarray
) -> None:
    """``A += X'X``, ``b += X'r`` for every (group, arm) touched; then refresh A^-1 and theta.

    The reference formula for any features (n x d); the policy gets the same sums from per-block
    moments (:meth:`LinUCBPolicy._learn_pooled`).
    """
    if st.a is None:  # pragma: no cover - invariant
        raise PolicyError("linucb: pooled statistics missing")
    n_arms = st.b.shape[1]
    key = groups * n_arms + arms
    for k in np.unique(key).tolist():
        g, a = divmod(k, n_arms)
        rows = key == k
        st.a[g, a] += x[rows].T @ x[rows]
        st.b[g, a] += x[rows].T @ reward[rows]
    _refresh(st, np.unique(groups))


def _refresh(st: _Linear, groups: np.ndarray) -> None:
    """Recompute A^-1 and theta of ``groups`` from A and b."""
    if st.a is None:  # pragma: no cover - invariant
        raise PolicyError("linucb: pooled statistics missing")
    st.a_inv[groups] = np.linalg.inv(st.a[groups])
    st.theta[groups] = np.einsum("gade,gae->gad", st.a_inv[groups], st.b[groups])


def _linucb_user_update(
    st: _Linear, users: np.ndarray, arms: np.ndarray, x: np.ndarray, reward: np.ndarray
) -> None:
    """One rank-one (Sherman-Morrison) update per user on that user's chosen arm."""
    a_inv = st.a_inv[users, arms]
    v = np.einsum("nde,ne->nd", a_inv, x)
    denom = 1.0 + np.einsum("nd,nd->n", v, x)
    a_inv = a_inv - v[:, :, None] * v[:, None, :] / denom[:, None, None]
    b = st.b[users, arms] + reward[:, None] * x
    st.a_inv[users, arms] = a_inv
    st.b[users, arms] = b
    st.theta[users, arms] = np.einsum("nde,ne->nd", a_inv, b)


class LinUCBPolicy(_FactoredBandit):
    """Contextual disjoint LinUCB over layout variants and notification plans.

    Each arm has a ridge regression of reward on the user's features now — bias, segment one-hot,
    slot one-hot, weekend flag, the noisy receptivity signal, whether the user had a session and
    whether they opened a notification in the previous step, and an exponentially smoothed
    activity (session or open) the policy keeps itself — and a user gets the arm with the largest
    ``theta_a . x + alpha * sqrt(x' A_a^-1 x)``, ``A_a = ridge * I + sum x x'``,
    ``b_a = sum r x``, ``theta_a = A_a^-1 b_a`` (ties broken at random).

    When to use: when the best variant depends on the moment — send when the user is receptive or
    was just active, promote differently on weekends — rather than only on who the user is. It
    needs more data than the non-contextual bandits: use ``segment`` or ``global`` granularity
    (``user`` keeps a d x d matrix per user and arm, costs far more per step, and is refused above
    512 MiB of such matrices).

    Args:
        objective: ``engagement``, ``outcome`` or ``mixed``.
        weight: Lambda of the ``mixed`` objective (outcome share, in [0, 1]).
        granularity: ``user``, ``segment`` or ``global``: whose data an arm's regression pools.
        notify_cost: Reward penalty per notification sent.
        levers: ``both``, ``layout`` or ``notify``: what the policy personalizes.
        alpha: Exploration weight on the confidence width (>= 0), in units of the reward:
            lower it for a sparse objective (on tiny.yaml the outcome objective gains ~12% more
            outcome events with 0.3 than with 1).
        ridge: Ridge penalty, the prior precision of the coefficients (> 0).
        activity_decay: Smoothing of the recent-activity feature, in [0, 1): the share of the old
            value kept each step.
    """

    name = "linucb"
    #: The per-user feature columns, last: receptivity, session, opened, activity.
    N_USER_FEATURES = 4

    def __init__(
        self,
        objective: str = "engagement",
        weight: float = 0.5,
        granularity: str = "segment",
        notify_cost: float = 0.0,
        levers: str = "both",
        alpha: float = 1.0,
        ridge: float = 1.0,
        activity_decay: float = 0.7,
    ) -> None:
        super().__init__(objective, weight, granularity, notify_cost, levers)
        self.alpha = alpha
        self.ridge = ridge
        self.activity_decay = activity_decay

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Build the arms and the feature layout; start every regression at its prior."""
        n = context.n_users
        segment = np.asarray(context.segment, dtype=np.int64)
        n_seg = max(len(context.scenario.population.segments), int(segment.max(initial=-1)) + 1)
        # bias, segment one-hot, slot one-hot, weekend, then the per-user columns
        self.n_features_ = 1 + n_seg + context.slots_per_day + 1 + self.N_USER_FEATURES
        self.var_cols_ = np.arange(self.n_features_ - self.N_USER_FEATURES, self.n_features_)
        if self.granularity == "user":
            variants = build_variants(context)
            arms = variants.n_layouts + variants.n_notify
            need = n * arms * self.n_features_**2 * 8
            if need > _USER_LINUCB_MAX_BYTES:
                raise PolicyError(
                    f"policy 'linucb': granularity='user' needs {need / 2**30:.2f} GiB for {n} "
                    f"users x {arms} arms x {self.n_features_}^2 features; expected at most "
                    f"{_USER_LINUCB_MAX_BYTES / 2**30:.2f} GiB: use granularity='segment' or "
                    "'global', or fewer users"
                )
        super().reset(context, seed)
        self.segment_ = segment.copy()
        self.activity_ = np.zeros(n)
        self.activity_step_ = -1
        # Blocks: the users of one group and one segment, who share all but the per-user columns.
        self.blocks_: list[tuple[int, int, np.ndarray | slice]] = []
        self.block_ = np.zeros(n, dtype=np.int64)
        if self.granularity != "user":
            key = self.group_ * self.n_segments_ + segment
            self.block_ = np.unique(key, return_inverse=True)[1].astype(np.int64).reshape(n)
            for b in range(int(self.block_.max(initial=-1)) + 1):
                rows = np.flatnonzero(self.block_ == b)
                first = int(rows[0])
                self.blocks_.append((int(self.group_[first]), int(segment[first]), _as_index(rows)))

    def _check_params(self) -> None:
        super()._check_params()
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise PolicyError(f"policy '{self.name}': expected alpha >= 0, got {self.alpha!r}")
        if not (np.isfinite(self.ridge) and self.ridge > 0):
            raise PolicyError(f"policy '{self.name}': expected ridge > 0, got {self.ridge!r}")
        if not 0.0 <= self.activity_decay < 1.0:
            raise PolicyError(
                f"policy '{self.name}': expected activity_decay in [0, 1), "
                f"got {self.activity_decay!r}"
            )

    def features(self, observation: Observation) -> np.ndarray:
        """N x d features of every user now (updates the smoothed activity once per step)."""
        shared, zt = self._shared_and_user(observation)
        x = shared[self.segment_]
        x[:, self.var_cols_] = zt.T
        return x

    def ucb(self, features: np.ndarray, bandit: str = "layout") -> np.ndarray:
        """N x A UCB scores of one bandit's arms for every user's ``features`` (N x d)."""
        st = self.state_[self._bandit_index(bandit)]
        if self.granularity == "user":
            return _linucb_scores(st.theta, st.a_inv, features, self.alpha)
        out = np.empty((features.shape[0], st.b.shape[1]))
        for g, _, rows in self.blocks_:
            out[rows] = _linucb_scores(st.theta[g], st.a_inv[g], features[rows], self.alpha)
        return out

    def _shared_and_user(self, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
        """The per-segment shared features (K x d) and the per-user columns (v x N) now."""
        ctx = self.context_
        session = np.asarray(observation.session, dtype=bool)
        opened = np.asarray(observation.opened, dtype=bool).any(axis=1)
        if observation.step != self.activity_step_:
            keep = self.activity_decay
            self.activity_ = keep * self.activity_ + (1.0 - keep) * (session | opened)
            self.activity_step_ = observation.step
        k = self.n_segments_
        shared = np.zeros((k, self.n_features_))
        shared[:, 0] = 1.0
        shared[np.arange(k), 1 + np.arange(k)] = 1.0
        shared[:, 1 + k + observation.slot] = 1.0
        shared[:, 1 + k + ctx.slots_per_day] = float(observation.weekday >= 5)
        zt = np.empty((self.N_USER_FEATURES, ctx.n_users))
        zt[0] = observation.receptivity
        zt[1] = session
        zt[2] = opened
        zt[3] = self.activity_
        return shared, zt

    def _features(self, observation: Observation) -> _Moment:
        shared, zt = self._shared_and_user(observation)
        x = None
        if self.granularity == "user":
            x = shared[self.segment_]
            x[:, self.var_cols_] = zt.T
        return _Moment(shared=shared, q=_quadratic_terms(zt), x=x)

    def _new_state(self, n_groups: int, n_arms: int) -> _Linear:
        d = self.n_features_
        eye = np.eye(d)
        a_inv = np.broadcast_to(eye / self.ridge, (n_groups, n_arms, d, d)).copy()
        a = None
        if self.granularity != "user":
            a = np.broadcast_to(eye * self.ridge, (n_groups, n_arms, d, d)).copy()
        zeros = np.zeros((n_groups, n_arms, d))
        return _Linear(a=a, a_inv=a_inv, b=zeros, theta=zeros.copy())

    def _choose(self, state: _Linear, moment: _Moment) -> np.ndarray:
        return _argmax_random_ties(self._scores(state, moment), self.rng_)

    def _scores(self, state: _Linear, moment: _Moment) -> np.ndarray:
        """Arm-major (A x N) UCB scores of every user now."""
        if moment.x is not None:
            return _linucb_scores(state.theta, state.a_inv, moment.x, self.alpha).T
        n_arms, n_mean = state.b.shape[1], 1 + self.N_USER_FEATURES
        scores = np.empty((n_arms, moment.q.shape[1]))
        for g, seg, rows in self.blocks_:  # a loop over (group, segment) blocks, not users
            mean, width = _score_coefficients(
                state.theta[g], state.a_inv[g], moment.shared[seg], self.var_cols_
            )
            q = moment.q[:, rows]
            avg = _combine(mean[:, :n_mean], q[:n_mean])
            spread = _combine(width, q)
            np.maximum(spread, 0.0, out=spread)
            np.sqrt(spread, out=spread)
            spread *= self.alpha
            spread += avg
            scores[:, rows] = spread
        return scores

    def _learn(
        self,
        users: np.ndarray,
        arms: tuple[np.ndarray, np.ndarray],
        reward: np.ndarray,
        moment: _Moment,
    ) -> None:
        if moment.x is not None:
            x = moment.x[users]
            for state, chosen in zip(self.state_, arms, strict=True):
                _linucb_user_update(state, users, chosen, x, reward)
        else:
            self._learn_pooled(users, arms, reward, moment)

    def _learn_pooled(
        self,
        users: np.ndarray,
        arms: tuple[np.ndarray, np.ndarray],
        reward: np.ndarray,
        moment: _Moment,
    ) -> None:
        """``A += X'X``, ``b += X'r`` per (group, arm), from per-(block, arm) sums of the terms q:
        within a block x = c + e(z), so ``sum x x' = n c c' + c e(sum z)' + e(sum z) c' +
        e(sum z z')`` and ``sum r x = (sum r) c + e(sum r z)``.

        The sums are taken once per (block, layout arm, plan arm) cell and then summed over the
        other bandit's arms, so both bandits share one pass over the users.
        """
        v = self.N_USER_FEATURES
        n_layouts, n_plans = self.n_arms_
        cells = len(self.blocks_) * n_layouts * n_plans
        key = (self.block_[users] * n_layouts + arms[0]) * n_plans + arms[1]
        q = moment.q if users.size == moment.q.shape[1] else moment.q[:, users]
        sums = np.stack([np.bincount(key, weights=row, minlength=cells) for row in q])
        rsums = np.stack(
            [np.bincount(key, weights=reward * row, minlength=cells) for row in q[: 1 + v]]
        )
        shape = (-1, len(self.blocks_), n_layouts, n_plans)
        sums, rsums = sums.reshape(shape), rsums.reshape(shape)
        groups = np.unique(self.group_[users])
        for state, axis in zip(self.state_, (3, 2), strict=True):
            s, rs = sums.sum(axis=axis), rsums.sum(axis=axis)  # Q x blocks x arms
            for blk, a in zip(*np.nonzero(s[0] > 0), strict=True):
                self._add_sums(state, int(blk), int(a), moment.shared, s[:, blk, a], rs[:, blk, a])
            _refresh(state, groups)

    def _add_sums(
        self, st: _Linear, blk: int, arm: int, shared: np.ndarray, s: np.ndarray, rs: np.ndarray
    ) -> None:
        """Add one (block, arm)'s sums of q (``s``) and of r [1, z] (``rs``) to A and b."""
        if st.a is None:  # pragma: no cover - invariant
            raise PolicyError("linucb: pooled statistics missing")
        g, seg, _ = self.blocks_[blk]
        var, v = self.var_cols_, self.N_USER_FEATURES
        iu, ju = np.triu_indices(v)
        c = shared[seg]
        sz = np.zeros_like(c)
        sz[var] = s[1 : 1 + v]
        zz = np.zeros((v, v))
        zz[iu, ju] = s[1 + v :]
        zz[ju, iu] = s[1 + v :]
        cz = np.outer(c, sz)
        st.a[g, arm] += s[0] * np.outer(c, c) + cz + cz.T
        st.a[g, arm][np.ix_(var, var)] += zz
        srz = np.zeros_like(c)
        srz[var] = rs[1:]
        st.b[g, arm] += rs[0] * c + srz
