"""``epsilon_greedy``: the simplest learning baseline (and ``engagement_bandit``/``outcome_bandit``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from outcome_gym.policies.bandits.argmax import _group_argmax_random_ties
from outcome_gym.policies.bandits.counting import _CountingBandit, _Sums


@dataclass(eq=False)
class EpsilonGreedyPolicy(_CountingBandit):
    """Epsilon-greedy over layout variants and notification plans, per user, segment or globally.

    At the start of each period, with probability ``epsilon`` a user gets a uniformly random arm;
    otherwise the arm with the best lower confidence bound ``mean - caution * se`` of its mean
    reward in the user's group (ties broken at random); ``se`` is the arm's standard error from
    the group's pooled within-arm variance, and ``caution=0`` (the default) is the classic
    running-mean rule. With ``launch="untried"`` (the default) arms the group has never tried come
    first; with ``launch="default"`` they are reached only by exploration and the default arm,
    while untried, is kept (the product launches the learner from what it ships: see
    :mod:`~outcome_gym.policies.bandits.factored`, whose launch share is ``epsilon`` here).

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
        hold: ``day`` or ``step``: how long a user keeps the chosen arms (the credit period).
        horizon: Following periods whose reward is also credited to a period's arms.
        discount: Weight ``discount^k`` of the k-th following period's reward, in [0, 1].
        launch: ``untried`` or ``default``: how the bandit starts (see
            :mod:`~outcome_gym.policies.bandits.factored`).
        plans: Day-plan family with ``hold="day"``: ``local`` (the schedule and its neighbours
            one send away at no more pairs), ``grow`` (also the schedule plus one send) or
            ``single`` (one send, the schedule dropped); see :mod:`outcome_gym.product.variants`.
        epsilon: Exploration probability per user and period, in [0, 1].
        caution: Standard errors subtracted from an arm's mean before the greedy choice (>= 0;
            0 the running mean; 1.645 a one-sided 95% bound, with which an arm explored by a few
            users replaces one known from many only when its evidence says it is better).
    """

    name = "epsilon_greedy"

    epsilon: float = 0.1
    caution: float = 0.0

    def _check_params(self) -> None:
        super()._check_params()
        self._require(0.0 <= self.epsilon <= 1.0, "epsilon in [0, 1]", self.epsilon)
        self._require(np.isfinite(self.caution) and self.caution >= 0, "caution >= 0",
                      self.caution)

    def estimates(self, bandit: str = "layout") -> tuple[np.ndarray, np.ndarray]:
        """Counts and running mean rewards (G x A; mean NaN where untried) of one bandit."""
        st = self.state_[self._bandit_index(bandit)]
        return st.n.copy(), _mean(st, np.nan)

    def _launch_share(self) -> float:
        return float(self.epsilon)

    def _choose(self, state: _Sums, moment: Any) -> np.ndarray:
        # with caution > 0, the best lower confidence bound: a handful of lucky explorers must
        # not move a group's traffic off an arm known from thousands of periods
        value = _mean(state, np.inf if self.launch == "untried" else -np.inf)
        if self.caution:
            value -= self.caution * _standard_error(state)
        if self.launch == "default":
            default = self.default_arm_ if state is self.state_[0] else self.schedule_arm_
            untried_default = state.n[:, default] == 0
            value[untried_default, default] = np.inf  # the incumbent stays until comparable
        choice = _group_argmax_random_ties(value, self.group_, self.rng_)
        explore = np.flatnonzero(self.rng_.random(choice.shape[0]) < self.epsilon)
        choice[explore] = self.rng_.integers(state.n.shape[1], size=explore.size)
        return choice


def _mean(st: _Sums, untried: float) -> np.ndarray:
    """Running mean reward per group and arm, ``untried`` where an arm has no reward yet."""
    return np.divide(st.s, st.n, out=np.full_like(st.s, untried), where=st.n > 0)


def _standard_error(st: _Sums) -> np.ndarray:
    """Standard error of each arm's mean (G x A), from the group's pooled within-arm variance."""
    within = st.ss - np.divide(st.s**2, st.n, out=np.zeros_like(st.s), where=st.n > 0)
    dof = st.n.sum(axis=1, keepdims=True) - (st.n > 0).sum(axis=1, keepdims=True)
    var = np.divide(np.maximum(within, 0.0).sum(axis=1, keepdims=True), dof,
                    out=np.zeros_like(dof), where=dof > 0)
    return np.sqrt(np.divide(var, st.n, out=np.zeros_like(st.s), where=st.n > 0))
