"""The env's observation encoder: static parts built once, fresh arrays every step (issue #18)."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.env import PersonalizationEnv
from outcome_gym.env.spaces import ObservationEncoder, encode_observation, layout_lookup


@pytest.fixture(scope="module")
def env() -> PersonalizationEnv:
    e = PersonalizationEnv("productivity_tool", population=12, horizon_days=2)
    e.reset(seed=3)
    return e


def test_encoder_matches_the_function_and_the_space(env):
    obs = env.model.observe()
    a = ObservationEncoder(env.context)(obs)
    b = encode_observation(obs, env.context)
    assert set(a) == set(b)
    for key in a:
        assert a[key].dtype == np.float32 and np.array_equal(a[key], b[key]), key
    assert env.observation_space.contains(a)
    # the per-step parts are the observation's own arrays, encoded (not just equal to the helper)
    for k in ("active", "session", "minutes", "clicks", "delivered", "opened", "receptivity"):
        assert np.array_equal(a[k], np.asarray(getattr(obs, k), dtype=np.float32)), k
    assert np.array_equal(a["layout"], layout_lookup(env.context)[obs.layout].astype(np.float32))


def test_one_hots_by_hand(env):
    # 12 users in contiguous segment blocks: row i has a single 1 at column segment[i];
    # the slot and weekday one-hots have a single 1 at the clock's slot and weekday
    obs = env.model.observe()
    out = env._encoder(obs)
    seg = np.asarray(env.context.segment)
    assert out["segment"].sum() == 12.0
    assert np.array_equal(np.argmax(out["segment"], axis=1), seg)
    assert out["slot"].sum() == 1.0 and out["slot"][obs.slot] == 1.0
    assert out["weekday"].sum() == 1.0 and out["weekday"][obs.weekday] == 1.0


def test_returned_arrays_are_fresh(env):
    # a caller that writes into one observation must not change the next one (or the cache)
    enc = env._encoder
    obs = env.model.observe()
    want = {k: v.copy() for k, v in enc(obs).items()}
    first = enc(obs)
    for arr in first.values():
        arr[...] = -7.0
    second = enc(obs)
    assert set(second) == set(want)
    for k in want:
        assert np.array_equal(second[k], want[k]), k


def test_layout_allowed_is_cached_and_read_only(env):
    ctx = env.context
    allowed = ctx.layout_allowed
    assert allowed is ctx.layout_allowed  # built once
    assert not allowed.flags.writeable
    assert np.array_equal(np.flatnonzero(allowed), np.sort(np.asarray(ctx.layout_elements)))
