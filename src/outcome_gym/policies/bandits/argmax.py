"""Best arm per user from arm scores, with ties broken at random (vectorized over users)."""

from __future__ import annotations

import numpy as np


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
