"""Shared helpers for the env tests: small ids' kwargs, rollouts and exact comparisons."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import outcome_gym.env  # noqa: F401  (registers the ids)
from outcome_gym.env import ENV_IDS, NATIVE_ID, RECIPE_ID, SEGMENTS_ID, VARIANTS_ID

# Small populations keep the conformance suite fast; the variant id is already small.
SMALL: dict[str, dict[str, Any]] = {
    NATIVE_ID: {"population": 30, "horizon_days": 3},
    VARIANTS_ID: {},
    SEGMENTS_ID: {"horizon_days": 3},
    RECIPE_ID: {"horizon_days": 3},
}
assert set(SMALL) == set(ENV_IDS), "every registered id needs an entry here"


def make_small(env_id: str, **kwargs: Any) -> gym.Env:
    return gym.make(env_id, **{**SMALL[env_id], **kwargs})


def rollout(env: gym.Env, seed: int, action_seed: int, max_steps: int | None = None) -> list:
    """(obs, reward, terminated, truncated, info) of one episode, actions from a seeded space."""
    obs, info = env.reset(seed=seed)
    env.action_space.seed(action_seed)
    out: list = [(obs, None, False, False, info)]
    while max_steps is None or len(out) <= max_steps:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return out


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Exact equality of nested dicts / tuples / arrays / scalars."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{where}: keys differ"
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, tuple | list):
        assert isinstance(b, tuple | list) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), f"{where}: {type(b)} is not an array"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: dtype/shape differ"
        assert np.array_equal(a, b), f"{where}: values differ"
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"
