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
    otherwise the arm with the best running mean reward in the user's group (arms the group has
    never tried come first; ties are broken at random).

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
        epsilon: Exploration probability per user and period, in [0, 1].
    """

    name = "epsilon_greedy"

    epsilon: float = 0.1

    def _check_params(self) -> None:
        super()._check_params()
        self._require(0.0 <= self.epsilon <= 1.0, "epsilon in [0, 1]", self.epsilon)

    def estimates(self, bandit: str = "layout") -> tuple[np.ndarray, np.ndarray]:
        """Counts and running mean rewards (G x A; mean NaN where untried) of one bandit."""
        st = self.state_[self._bandit_index(bandit)]
        return st.n.copy(), _mean(st, np.nan)

    def _choose(self, state: _Sums, moment: Any) -> np.ndarray:
        choice = _group_argmax_random_ties(_mean(state, np.inf), self.group_, self.rng_)
        explore = np.flatnonzero(self.rng_.random(choice.shape[0]) < self.epsilon)
        choice[explore] = self.rng_.integers(state.n.shape[1], size=explore.size)
        return choice


def _mean(st: _Sums, untried: float) -> np.ndarray:
    """Running mean reward per group and arm, ``untried`` where an arm has no reward yet."""
    return np.divide(st.s, st.n, out=np.full_like(st.s, untried), where=st.n > 0)
