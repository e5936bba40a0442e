"""The per-segment summary observation (:class:`SegmentSummary`) and its plain function."""

from __future__ import annotations

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from outcome_gym.env import PersonalizationEnv, make_flat_env
from outcome_gym.env.wrappers import (
    SegmentSummary,
    segment_means,
    summary_observation,
    summary_size,
)
from outcome_gym.errors import ActionError
from tests.env.helpers import assert_same


def _tiny_ctx() -> SimpleNamespace:
    # 3 users: users 0 and 2 in segment 0, user 1 in segment 1; 2 elements, 1 notification column,
    # 1 instrumented event, 2 slots a day, 8 steps.
    segments = [SimpleNamespace(id="a"), SimpleNamespace(id="b")]
    return SimpleNamespace(
        scenario=SimpleNamespace(population=SimpleNamespace(segments=segments)),
        segment=np.array([0, 1, 0]), n_users=3, element_ids=("x", "y"), n_pushed=1,
        instrumented=("g.done",), slots_per_day=2, n_steps=8)


def test_summary_is_the_segment_means_worked_by_hand():
    ctx = _tiny_ctx()
    f32 = np.float32
    native = {
        "active": np.array([1, 1, 0], f32),
        "session": np.array([1, 0, 1], f32),
        "minutes": np.array([4, 9, 2], f32),
        "clicks": np.array([[2, 0], [1, 1], [0, 4]], f32),
        "delivered": np.array([[1], [0], [1]], f32),
        "opened": np.array([[1], [0], [0]], f32),
        "receptivity": np.array([0.5, -1.0, 1.5], f32),
        "events": np.array([[1], [0], [0]], f32),
        "slot": np.array([0, 1], f32),
        "weekday": np.array([0, 0, 1, 0, 0, 0, 0], f32),
    }
    # segment 0 (users 0, 2): active (1+0)/2 = .5, session 1, minutes 3, clicks [1, 2],
    # delivered 1, opened .5, receptivity (0.5+1.5)/2 = 1, events .5
    # segment 1 (user 1): 1, 0, 9, [1, 1], 0, 0, -1, 0; then slot, weekday, progress 3/8
    want = [0.5, 1, 3, 1, 2, 1, 0.5, 1, 0.5,
            1, 0, 9, 1, 1, 0, 0, -1, 0,
            0, 1, 0, 0, 1, 0, 0, 0, 0, 0.375]
    got = summary_observation(native, ctx, 3, segment_means(ctx))
    assert summary_size(ctx) == len(want) == got.shape[0]
    assert got.dtype == np.float32
    assert np.allclose(got, want)


def test_a_segment_without_users_reads_zero():
    ctx = _tiny_ctx()
    ctx.segment = np.array([0, 0, 0])
    w = segment_means(ctx)
    assert np.allclose(w, [[1 / 3, 1 / 3, 1 / 3], [0, 0, 0]])


@pytest.mark.filterwarnings("ignore:.*Box observation space (maximum|minimum) value is.*infinity",
                            "ignore:.*is different from the unwrapped version",
                            "ignore:.*Not able to test alternative render modes")
def test_summary_env_passes_the_checker_and_is_deterministic():
    env = make_flat_env("finance_alerts", per="segment", observation="summary", population=30,
                        horizon_days=2)
    check_env(env)
    assert env.observation_space.shape == (summary_size(env.unwrapped.context),)

    def episode(seed):
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out, done = [obs], False
        while not done:
            obs, r, te, tr, _ = env.step(env.action_space.sample())
            out.append((obs, r))
            done = te or tr
        return out

    first = episode(4)
    assert all(env.observation_space.contains(o if isinstance(o, np.ndarray) else o[0])
               for o in first)
    assert first[-1][0][-1] == 1.0  # progress reaches 1 at the horizon
    assert_same(first, episode(4))


def test_summary_wraps_only_the_native_env_and_names_bad_choices():
    with pytest.raises(TypeError, match="SegmentSummary wraps a PersonalizationEnv"):
        SegmentSummary(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="expected observation to be one of"):
        make_flat_env(population=5, horizon_days=1, observation="pixels")
    assert isinstance(make_flat_env(population=5, horizon_days=1, observation="summary").unwrapped,
                      PersonalizationEnv)


def test_targeted_weights_worked_by_hand():
    from outcome_gym.env.wrappers import targeted_weights

    seg = lambda i: SimpleNamespace(id=i)  # noqa: E731
    spec = lambda s, g, m: SimpleNamespace(segment=s, goal=g, metric=m)  # noqa: E731
    ctx = SimpleNamespace(
        scenario=SimpleNamespace(
            population=SimpleNamespace(segments=[seg("pro"), seg("new")]),
            outcomes=[spec("pro", "tasks", "completed_on_time"),
                      spec("pro", "tasks", "time_to_completion"),  # same event: counted once
                      spec("new", "tasks", "failed"),
                      spec("new", "learn", "days_practised"),  # not instrumented: no weight
                      ]),
        segment=np.array([0, 1, 1, 0]), n_users=4,
        instrumented=("tasks.completed_on_time", "tasks.failed", "tasks.completed"))
    # pros (users 0, 3) are rewarded for on-time tasks only; newcomers (1, 2) penalised for fails
    assert np.array_equal(targeted_weights(ctx), [[1, 0, 0], [0, -1, 0], [0, -1, 0], [1, 0, 0]])


def test_targeted_reward_counts_only_the_named_segments_events():
    from outcome_gym.env.wrappers import targeted_weights

    kwargs = {"scenario": "productivity_tool", "per": "all", "population": 40, "horizon_days": 2}
    plain = make_flat_env(**kwargs)
    targeted = make_flat_env(reward="targeted", **kwargs)
    ctx = targeted.unwrapped.context
    w = targeted_weights(ctx)
    pros = ctx.segment == 0
    # productivity_tool: pros' on-time tasks (+1) and newcomers' practice (+1), nothing else
    on_time, practised = (ctx.instrumented.index(e) for e in
                          ("deadlines.completed_on_time", "learning.practised"))
    assert np.all(w[pros, on_time] == 1) and np.all(w[~pros, on_time] == 0)
    assert np.all(w[ctx.segment == 2, practised] == 1) and np.all(w[ctx.segment < 2, practised] == 0)
    plain.reset(seed=1)
    targeted.reset(seed=1)
    action = np.array([2, 1])  # promote tips, default schedule: plenty of practice events
    saw_difference = False
    for _ in range(8):
        _, r_plain, *_ = plain.step(action)
        _, r_target, *_ = targeted.step(action)
        ev = targeted.unwrapped.last_record.feedback.events
        want = (np.sum(ev["deadlines.completed_on_time"][pros])
                + np.sum(ev["learning.practised"][ctx.segment == 2])) / ctx.n_users
        assert r_target == pytest.approx(want, abs=1e-12)
        saw_difference |= r_plain != r_target
    assert saw_difference  # the objective also counts other segments' events
    with pytest.raises(ValueError, match="reward 'targeted' re-weights"):
        make_flat_env(objective="engagement", reward="targeted", population=5, horizon_days=1)


@pytest.mark.parametrize("scenario", ["productivity_tool", "finance_alerts"])
def test_the_env_side_summary_equals_the_native_summary_bit_for_bit(scenario):
    """SummaryEncoder (what a SegmentSummary's env returns) is summary_observation of the native
    observation, bit for bit, at every step of an episode under random native actions."""
    from outcome_gym.env.spaces import encode_observation
    from outcome_gym.env.wrappers import SummaryEncoder

    env = PersonalizationEnv(scenario, population=40, horizon_days=2)
    ctx = env.context
    w = segment_means(ctx)
    enc = SummaryEncoder(env._native_encoder, w)
    env.reset(seed=2)
    env.action_space.seed(2)
    done, steps = False, 0
    while not done:
        obs = env.model.observe()
        want = summary_observation(encode_observation(obs, ctx), ctx, obs.step, w)
        got = enc(obs)
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), obs.step
        _, _, te, tr, _ = env.step(env.action_space.sample())
        done, steps = te or tr, steps + 1
    assert steps == ctx.n_steps  # the whole episode (nobody churns in two days)


def test_summary_lends_its_encoder_to_the_env_only_for_its_own_calls():
    base = PersonalizationEnv("finance_alerts", population=10, horizon_days=1)
    wrapped = SegmentSummary(base)
    obs, _ = wrapped.reset(seed=0)
    assert isinstance(obs, np.ndarray) and wrapped.observation_space.contains(obs)
    # the wrapper still summarises a native observation it is given: the same vector
    native = encode_observation_of(base)
    assert np.array_equal(wrapped.observation(native), obs)
    # the env itself, called directly, returns its native observation
    got, _ = base.reset(seed=0)
    assert isinstance(got, dict) and base.observation_space.contains(got)
    step = base.step(base.action_space.sample())[0]
    assert isinstance(step, dict) and base.observation_space.contains(step)
    assert isinstance(wrapped.step(base.action_space.sample())[0], np.ndarray)
    # an error inside the wrapped step leaves the env native
    with pytest.raises(ActionError):
        wrapped.step({"layout": np.zeros((1, 1), np.int64), "notify": np.zeros((1, 1))})
    assert isinstance(base.step(base.action_space.sample())[0], dict)


def encode_observation_of(env: PersonalizationEnv) -> dict:
    from outcome_gym.env.spaces import encode_observation

    return encode_observation(env.model.observe(), env.context)
