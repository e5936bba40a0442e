"""When an observation wrapper lends its encoder to the env, and when it takes the plain path.

``SegmentSummary`` and ``NativeFlatten`` have the env return their observation itself only when
every wrapper in between hands the observation up unchanged (this package's ``VariantActions``
and ``TargetedOutcomeReward``). Anything else in between (``gym.make``'s ``PassiveEnvChecker``,
a user's own observation wrapper) gets the native dict, and the wrapper maps what it returns.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import outcome_gym.env  # noqa: F401  (registers the ids)
from outcome_gym.env import NATIVE_ID, RECIPE_ID, SEGMENTS_ID, VARIANTS_ID, PersonalizationEnv
from outcome_gym.env.wrappers import (
    NativeFlatten,
    SegmentSummary,
    TargetedOutcomeReward,
    VariantActions,
    make_flat_env,
    summary_observation,
)

KW: dict[str, Any] = {"scenario": "finance_alerts", "population": 24, "horizon_days": 3}
WRAPPERS = [SegmentSummary, NativeFlatten]


class ShiftMinutes(gym.ObservationWrapper):
    """A user's own observation wrapper: the native dict with one more minute for everyone
    (still in the native space), recording what type it was handed."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.seen: list[type] = []

    def observation(self, observation: Any) -> dict[str, np.ndarray]:
        self.seen.append(type(observation))
        return {**observation, "minutes": observation["minutes"] + np.float32(1.0)}


def _plain(wrapper: gym.ObservationWrapper, native: dict[str, np.ndarray]) -> np.ndarray:
    """The plain path by hand: Gymnasium's flatten, or the summary of the native observation."""
    if isinstance(wrapper, NativeFlatten):
        return spaces.flatten(wrapper.env.observation_space, native)
    base = wrapper.unwrapped
    return summary_observation(native, base.context, base.model.t, wrapper.weights)


def _episode(env: gym.Env) -> list[np.ndarray]:
    """The observations of a whole episode (12 steps) under seeded random native actions."""
    obs, _ = env.reset(seed=5)
    space = env.unwrapped.action_space
    space.seed(5)
    out, done = [obs], False
    while not done:
        obs, _, terminated, truncated, _ = env.step(space.sample())
        out.append(obs)
        done = terminated or truncated
    assert len(out) == 13
    return out


def _same_bits(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for t, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x.dtype == np.float32 and x.shape == y.shape, t
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), t


@pytest.mark.parametrize("cls", WRAPPERS)
def test_over_gym_make_of_the_native_id_the_plain_path_equals_the_lent_one(cls):
    # gym.make puts PassiveEnvChecker (which wants the native dict) between: not lent
    made = cls(gym.make(NATIVE_ID, **KW))
    assert made._env_encoder is None
    bare = cls(PersonalizationEnv(**KW))
    assert bare._env_encoder is not None  # directly around the env: lent
    plain, lent = _episode(made), _episode(bare)
    for obs in plain:
        assert made.observation_space.contains(obs)
    _same_bits(plain, lent)


@pytest.mark.parametrize("cls", WRAPPERS)
def test_over_a_users_observation_wrapper_its_observation_is_what_is_mapped(cls):
    base = PersonalizationEnv(**KW)
    user = ShiftMinutes(base)
    wrapped = cls(user)
    assert wrapped._env_encoder is None
    obs, _ = wrapped.reset(seed=5)
    base.action_space.seed(5)
    got, want = [obs], [_plain(wrapped, user.observation(base._native(base.model.observe())))]
    for _ in range(base.context.n_steps):
        got.append(wrapped.step(base.action_space.sample())[0])
        want.append(_plain(wrapped, user.observation(base._native(base.model.observe()))))
    _same_bits(got, want)
    assert set(user.seen) == {dict}  # handed the native dict every time, never a vector
    # the shift reached the wrapper's observation (not the env's own numbers)
    assert not np.array_equal(got[-1], _plain(wrapped, base._native(base.model.observe())))


@pytest.mark.parametrize("observation", ["flat", "summary"])
@pytest.mark.parametrize("reward", ["objective", "targeted"])
def test_make_flat_env_lends_through_its_own_wrappers(observation, reward):
    env = make_flat_env(observation=observation, reward=reward, per="all", **KW)
    assert env._env_encoder is not None
    inner = {type(w) for w in _chain(env)[1:-1]}
    assert inner <= {VariantActions, TargetedOutcomeReward}


def _chain(env: gym.Env) -> list[gym.Env]:
    out = [env]
    while isinstance(out[-1], gym.Wrapper):
        out.append(out[-1].env)
    return out


@pytest.mark.parametrize("env_id", [VARIANTS_ID, SEGMENTS_ID, RECIPE_ID])
def test_the_registered_ids_take_the_fast_path(env_id, monkeypatch):
    env = gym.make(env_id, horizon_days=1)
    outer = next(w for w in _chain(env) if isinstance(w, (SegmentSummary, NativeFlatten)))
    base = env.unwrapped
    lent: list[Any] = []
    real = base._encode_with

    def spy(encoder):
        lent.append(encoder)
        real(encoder)

    monkeypatch.setattr(base, "_encode_with", spy)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    # reset and step each lent the wrapper's encoder and took it back
    assert lent == [outer._env_encoder, None] * 2 and outer._env_encoder is not None


def test_a_subclass_of_a_pass_through_wrapper_is_not_trusted():
    class Mine(VariantActions):
        pass

    wrapped = SegmentSummary(Mine(PersonalizationEnv(**KW), per="all"))
    assert wrapped._env_encoder is None
    obs, _ = wrapped.reset(seed=0)
    assert wrapped.observation_space.contains(obs)
    assert wrapped.observation_space.contains(wrapped.step(wrapped.action_space.sample())[0])
