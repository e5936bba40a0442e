"""``linucb``: contextual disjoint LinUCB, for when the best variant depends on the moment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.errors import PolicyError
from outcome_gym.policies.bandits.argmax import _argmax_random_ties
from outcome_gym.policies.bandits.factored import Arms, _as_index, _FactoredBandit, _n_segments
from outcome_gym.policies.bandits.linear import (
    _add_block_sums,
    _block_scores,
    _Linear,
    _linucb_scores,
    _linucb_user_update,
    _Moment,
    _quadratic_terms,
    _refresh,
)
from outcome_gym.sim.interface import Observation, PolicyContext

# Per-user LinUCB keeps a d x d matrix per user and arm; refuse more than 512 MiB of them.
_USER_LINUCB_MAX_BYTES = 1 << 29


@dataclass(eq=False)
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
        hold: ``day`` or ``step``: how long a user keeps the chosen arms (the credit period).
        horizon: Following periods whose reward is also credited to a period's arms.
        discount: Weight ``discount^k`` of the k-th following period's reward, in [0, 1].
        launch: ``untried`` or ``default``: how the bandit starts (see
            :mod:`~outcome_gym.policies.bandits.factored`).
        plans: Day-plan family with ``hold="day"``: ``local`` (the schedule and its neighbours
            one send away at no more pairs), ``grow`` (also the schedule plus one send) or
            ``single`` (one send, the schedule dropped); see :mod:`outcome_gym.product.variants`.
        alpha: Exploration weight on the confidence width (>= 0), in units of the reward:
            lower it for a sparse objective (on tiny.yaml the outcome objective gains ~12% more
            outcome events with 0.3 than with 1).
        ridge: Ridge penalty, the prior precision of the coefficients (> 0).
        activity_decay: Smoothing of the recent-activity feature, in [0, 1): the share of the old
            value kept each step.
        launch_share: Share of a launching group's users given a uniformly drawn arm per period
            (the rest keep the default), in [0, 1]; see
            :mod:`~outcome_gym.policies.bandits.factored`.
    """

    name = "linucb"
    #: The per-user feature columns, last: receptivity, session, opened, activity.
    N_USER_FEATURES = 4

    alpha: float = 1.0
    ridge: float = 1.0
    activity_decay: float = 0.7
    launch_share: float = 0.1

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Build the arms and the feature layout; start every regression at its prior."""
        n = context.n_users
        segment = np.asarray(context.segment, dtype=np.int64)
        n_seg = _n_segments(context)
        # bias, segment one-hot, slot one-hot, weekend, then the per-user columns
        self.n_features_ = 1 + n_seg + context.slots_per_day + 1 + self.N_USER_FEATURES
        self.var_cols_ = np.arange(self.n_features_ - self.N_USER_FEATURES, self.n_features_)
        if self.granularity == "user":
            self._check_user_memory(context)
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

    def _check_user_memory(self, context: PolicyContext) -> None:
        """Refuse per-user models whose d x d matrices would exceed the memory cap."""
        n = context.n_users
        variants = self._build_variants(context)
        arms = variants.n_layouts + variants.n_notify
        need = n * arms * self.n_features_**2 * 8
        if need > _USER_LINUCB_MAX_BYTES:
            raise PolicyError(
                f"policy 'linucb': granularity='user' needs {need / 2**30:.2f} GiB for {n} "
                f"users x {arms} arms x {self.n_features_}^2 features; expected at most "
                f"{_USER_LINUCB_MAX_BYTES / 2**30:.2f} GiB: use granularity='segment' or "
                "'global', or fewer users"
            )

    def _check_params(self) -> None:
        super()._check_params()
        self._require(0.0 <= self.launch_share <= 1.0, "launch_share in [0, 1]",
                      self.launch_share)
        self._require(np.isfinite(self.alpha) and self.alpha >= 0, "alpha >= 0", self.alpha)
        self._require(np.isfinite(self.ridge) and self.ridge > 0, "ridge > 0", self.ridge)
        self._require(0.0 <= self.activity_decay < 1.0, "activity_decay in [0, 1)",
                      self.activity_decay)

    def features(self, observation: Observation) -> np.ndarray:
        """N x d features of every user now (updates the smoothed activity once per step)."""
        return self._full_features(*self._shared_and_user(observation))

    def ucb(self, features: np.ndarray, bandit: str = "layout") -> np.ndarray:
        """N x A UCB scores of one bandit's arms for every user's ``features`` (N x d)."""
        st = self.state_[self._bandit_index(bandit)]
        if self.granularity == "user":
            return _linucb_scores(st.theta, st.a_inv, features, self.alpha)
        out = np.empty((features.shape[0], st.b.shape[1]))
        for g, _, rows in self.blocks_:
            out[rows] = _linucb_scores(st.theta[g], st.a_inv[g], features[rows], self.alpha)
        return out

    def _full_features(self, shared: np.ndarray, zt: np.ndarray) -> np.ndarray:
        """N x d features from the per-segment shared part and the per-user columns."""
        x = shared[self.segment_]
        x[:, self.var_cols_] = zt.T
        return x

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
        x = self._full_features(shared, zt) if self.granularity == "user" else None
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

    def _launch_share(self) -> float:
        return float(self.launch_share)

    def _choose(self, state: _Linear, moment: _Moment) -> np.ndarray:
        return _argmax_random_ties(self._scores(state, moment), self.rng_)

    def _scores(self, state: _Linear, moment: _Moment) -> np.ndarray:
        """Arm-major (A x N) UCB scores of every user now."""
        if moment.x is not None:
            return _linucb_scores(state.theta, state.a_inv, moment.x, self.alpha).T
        scores = np.empty((state.b.shape[1], moment.q.shape[1]))
        for g, seg, rows in self.blocks_:  # a loop over (group, segment) blocks, not users
            scores[:, rows] = _block_scores(state.theta[g], state.a_inv[g], moment.shared[seg],
                                            self.var_cols_, moment.q[:, rows], self.alpha)
        return scores

    def _learn(
        self, users: np.ndarray, arms: Arms, reward: np.ndarray, moment: _Moment
    ) -> None:
        if moment.x is not None:
            x = moment.x[users]
            for state, chosen in zip(self.state_, arms, strict=True):
                _linucb_user_update(state, users, chosen, x, reward)
        else:
            self._learn_pooled(users, arms, reward, moment)

    def _learn_pooled(
        self, users: np.ndarray, arms: Arms, reward: np.ndarray, moment: _Moment
    ) -> None:
        """``A += X'X``, ``b += X'r`` per (group, arm), from per-(block, arm) sums of the terms q
        (:func:`~outcome_gym.policies.bandits.linear._add_block_sums`).

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
                g, seg, _ = self.blocks_[int(blk)]
                _add_block_sums(state, g, int(a), moment.shared[seg], self.var_cols_,
                                s[:, blk, a], rs[:, blk, a])
            _refresh(state, groups)
