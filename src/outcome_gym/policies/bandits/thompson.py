"""``thompson``: Gaussian Thompson sampling, whose exploration fades as evidence accumulates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from outcome_gym.policies.bandits.argmax import _argmax_arms
from outcome_gym.policies.bandits.counting import _CountingBandit, _Sums


@dataclass(eq=False)
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
    objective's per-period reward differences between arms.

    Args:
        objective: ``engagement``, ``outcome`` or ``mixed``.
        weight: Lambda of the ``mixed`` objective (outcome share, in [0, 1]).
        granularity: ``user``, ``segment`` or ``global``: whose data a posterior pools.
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
        prior_mean: Prior mean of every arm's mean reward.
        prior_var: Prior variance of every arm's mean reward (> 0).
        noise_var: Known reward noise variance (> 0), or ``None`` to estimate it.
        launch_share: Share of a launching group's users given a uniformly drawn arm per period
            (the rest keep the default), in [0, 1]; see
            :mod:`~outcome_gym.policies.bandits.factored`.
    """

    name = "thompson"

    prior_mean: float = 0.0
    prior_var: float = 1.0
    noise_var: float | None = None
    launch_share: float = 0.1

    def _check_params(self) -> None:
        super()._check_params()
        self._require(0.0 <= self.launch_share <= 1.0, "launch_share in [0, 1]",
                      self.launch_share)
        self._require(np.isfinite(self.prior_var) and self.prior_var > 0,
                      "prior_var > 0", self.prior_var)
        self._require(
            self.noise_var is None or (np.isfinite(self.noise_var) and self.noise_var > 0),
            "noise_var > 0 or None", self.noise_var,
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

    def _launch_share(self) -> float:
        return float(self.launch_share)

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
