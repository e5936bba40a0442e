"""Bandits whose state is reward counts and sums per group and arm (epsilon-greedy, Thompson)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from outcome_gym.policies.bandits.factored import Arms, _FactoredBandit


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


@dataclass(eq=False)
class _CountingBandit(_FactoredBandit):
    """A bandit whose state is reward counts and sums per group and arm."""

    def _new_state(self, n_groups: int, n_arms: int) -> _Sums:
        return _Sums.zeros(n_groups, n_arms)

    def _learn(self, users: np.ndarray, arms: Arms, reward: np.ndarray, moment: Any) -> None:
        groups = self.group_[users]
        for state, chosen in zip(self.state_, arms, strict=True):
            state.add(groups, chosen, reward)
