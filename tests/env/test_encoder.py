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


@pytest.mark.parametrize("scenario", ["productivity_tool", "finance_alerts"])
def test_flat_encoder_is_gymnasiums_flatten_of_the_native_observation(scenario):
    """FlatEncoder (what NativeFlatten's env returns) equals spaces.flatten of the native
    observation bit for bit, at every step of an episode under random native actions."""
    from gymnasium import spaces

    from outcome_gym.env.spaces import FlatEncoder

    env = PersonalizationEnv(scenario, population=25, horizon_days=2)
    flat = FlatEncoder(env._native_encoder, env.observation_space)
    assert flat.size == spaces.flatdim(env.observation_space)
    env.reset(seed=1)
    env.action_space.seed(1)
    done = False
    while not done:
        obs = env.model.observe()
        want = spaces.flatten(env.observation_space, env._native_encoder(obs))
        got = flat(obs)
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), obs.step
        assert flat(obs) is not got  # a fresh vector every call
        _, _, te, tr, _ = env.step(env.action_space.sample())
        done = te or tr


def test_native_flatten_lends_its_encoder_only_for_its_own_calls():
    from gymnasium.wrappers import FlattenObservation

    from outcome_gym.env import make_flat_env

    env = make_flat_env(population=8, horizon_days=1)
    assert isinstance(env, FlattenObservation)
    base = env.unwrapped
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, np.ndarray) and env.observation_space.contains(obs)
    # the same vector as Gymnasium's flatten of the native observation
    assert np.array_equal(obs, FlattenObservation.observation(env, base._native_encoder(
        base.model.observe())))
    assert isinstance(base.reset(seed=0)[0], dict)  # the env called directly: native
    step = env.step(env.action_space.sample())[0]
    assert isinstance(step, np.ndarray) and env.observation_space.contains(step)
    assert isinstance(base.step(base.action_space.sample())[0], dict)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_user_columns_by_hand(dtype):
    """Two users, E = 2 elements, M = 1 notification, V = 1 event, written at each key's start
    and row stride: every entry is float32(value), in the output's dtype.

    User 1's event count 2**24 + 1 is not a float32: it is written as 2**24 (what astype gives);
    minutes 0.1 (a float32) stays that float32; the rest are 0/1 and small integers."""
    from outcome_gym.env.spaces import user_columns

    def ro(a):
        a.setflags(write=False)
        return a

    width = 9  # active, session, minutes, clicks (2), delivered, opened, receptivity, events
    at = np.array([0, 1, 2, 3, 5, 6, 7, 8], dtype=np.int64)
    stride = np.full(8, width, dtype=np.int64)
    out = np.full(2 * width, -1.0, dtype=dtype)
    user_columns(out, at, stride, ro(np.array([True, False])), ro(np.array([False, True])),
                 ro(np.array([0.1, 3.0], np.float32)), ro(np.array([[2, 0], [0, 7]], np.int16)),
                 ro(np.array([[True], [False]])), ro(np.array([[False], [True]])),
                 ro(np.array([-1.5, 0.25], np.float32)), np.array([[1, 2**24 + 1]], np.int32))
    f = float(np.float32(0.1))
    assert out.tolist() == [1.0, 0.0, f, 2.0, 0.0, 1.0, 0.0, -1.5, 1.0,
                            0.0, 1.0, 3.0, 0.0, 7.0, 0.0, 1.0, 0.25, float(2**24)]


def test_flat_encoder_with_no_instrumented_events():
    """A product without instrumented events has no ``events`` key: the flat vector is still
    ``spaces.flatten`` of the native observation."""
    from gymnasium import spaces

    from outcome_gym.env.spaces import FlatEncoder
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import with_overrides

    sc = load_scenario("productivity_tool")
    sc = with_overrides(sc, {"instrumentation.events": []}, file="<test>")
    env = PersonalizationEnv(sc, population=6, horizon_days=1)
    assert not env.context.instrumented
    env.reset(seed=0)
    env.step(env.action_space.sample())
    obs = env.model.observe()
    flat = FlatEncoder(env._native_encoder, env.observation_space)(obs)
    want = spaces.flatten(env.observation_space, env._native_encoder(obs))
    assert np.array_equal(flat.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("env_id", ["outcome_gym/Personalization-v0",
                                    "outcome_gym/PersonalizationSegments-v0",
                                    "outcome_gym/PersonalizationRecipe-v0"])
def test_the_env_passes_equal_their_plain_python(monkeypatch, env_id):
    """Every compiled pass of the env's layers (decoding, variant actions, guardrails, the flat
    and summary observations) gives the same observations, rewards and infos, bit for bit, as
    its plain Python (one implementation: numba only compiles it)."""
    import gymnasium as gym

    import outcome_gym.env  # noqa: F401 - registers the ids
    from outcome_gym.env import spaces
    from outcome_gym.product import _weighted, guardrails, variants

    def episode() -> list:
        env = gym.make(env_id, population=30, horizon_days=2)
        env.action_space.seed(1)
        obs, _ = env.reset(seed=1)
        out, done = [obs], False
        while not done:
            obs, reward, te, tr, info = env.step(env.action_space.sample())
            out.append((obs, reward, info))
            done = te or tr
        return out

    fast = episode()
    for k in (spaces.user_columns, spaces.flat_rows, spaces.decode_rows, spaces.any_true,
              variants.variant_rows, guardrails.project_rows, _weighted.add_weighted):
        monkeypatch.setattr(k, "_dispatcher", k.py_func)
    slow = episode()
    assert len(fast) == len(slow)

    def bits(x):
        if isinstance(x, dict):
            return {key: bits(v) for key, v in x.items()}
        if isinstance(x, tuple):
            return tuple(bits(v) for v in x)
        return np.asarray(x).tobytes()

    for a, b in zip(fast, slow, strict=True):
        assert bits(a) == bits(b)


def test_any_true_by_hand_and_as_np_any():
    """The env's ``terminated`` reads any_true of the observation's ``active``."""
    from outcome_gym.env.spaces import any_true

    def ro(a: np.ndarray) -> np.ndarray:
        a.setflags(write=False)
        return a

    assert any_true(ro(np.zeros(0, bool))) is False  # nobody: none active, as np.any says
    assert any_true(ro(np.array([False, False]))) is False
    assert any_true(ro(np.array([False, False, True]))) is True
    assert any_true(ro(np.array([True, False]))) is True
    rng = np.random.default_rng(5)
    for n in (1, 7, 200):
        for p in (0.0, 0.01, 0.5):
            a = ro(rng.random(n) < p)
            assert any_true(a) == bool(np.any(a))
