"""Gymnasium rendering: render_mode="ansi" (a text frame) and "rgb_array" (a small image)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env

from outcome_gym.env import ENV_IDS, NATIVE_ID, PersonalizationEnv
from tests.env.helpers import SMALL
from tests.env.test_conformance import KNOWN_WARNINGS


def test_metadata_lists_the_render_modes():
    assert PersonalizationEnv.metadata["render_modes"] == ["ansi", "rgb_array"]


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
@pytest.mark.filterwarnings(*KNOWN_WARNINGS)
def test_check_env_passes_with_rendering_on(env_id, mode):
    env = gym.make(env_id, render_mode=mode, **SMALL[env_id])
    assert env.unwrapped.render_mode == mode
    check_env(env.unwrapped)
    check_env(env)
    env.close()


def test_ansi_frame_shows_clock_segments_and_layout():
    env = gym.make(NATIVE_ID, render_mode="ansi", **SMALL[NATIVE_ID])
    with pytest.raises(ResetNeeded):
        env.unwrapped.render()
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    assert isinstance(frame, str) and len(frame.splitlines()) < 20
    lines = frame.splitlines()
    assert "step 1/" in lines[0] and "slot 2/" in lines[0]
    for seg in env.unwrapped.model.world.segment_ids:
        assert any(line.startswith(seg) for line in lines)
    assert lines[-1].startswith("layout of ")
    assert env.render() == frame  # rendering is deterministic
    # and draws nothing from the run's streams: a twin stepped without rendering stays equal
    twin = gym.make(NATIVE_ID, **SMALL[NATIVE_ID])
    twin.reset(seed=0)
    action = env.action_space.sample()
    twin.step(action)
    env.reset(seed=0)
    env.render()
    env.step(action)
    env.render()
    obs_a, rew_a, *_ = env.step(action)
    obs_b, rew_b, *_ = twin.step(action)
    assert rew_a == rew_b
    assert all(np.array_equal(obs_a[k], obs_b[k]) for k in obs_a)


def test_rgb_frame_is_a_small_uint8_image():
    env = gym.make(NATIVE_ID, render_mode="rgb_array", **SMALL[NATIVE_ID])
    env.reset(seed=0)
    img = env.render()
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
    assert img.shape[2] == 3 and img.shape[0] <= 64 * 6


def test_unknown_render_mode_is_refused():
    with pytest.raises(ValueError, match="render_mode"):
        PersonalizationEnv(render_mode="human", **SMALL[NATIVE_ID])
