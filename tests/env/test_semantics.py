"""What the env's reward, termination, truncation and info mean, checked against the simulator."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from outcome_gym.env import PersonalizationEnv, encode_action
from outcome_gym.errors import ActionError
from outcome_gym.product.objectives import make_objective
from outcome_gym.runner import run
from tests.conftest import variant


@pytest.mark.parametrize("objective", ["engagement", "outcome"])
def test_reward_is_the_user_mean_of_the_objective(objective):
    env = PersonalizationEnv(objective=objective, population=12, horizon_days=2)
    env.reset(seed=4)
    reference = make_objective(objective, env.context)
    rewards = []
    while True:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        record = env.last_record
        assert reward == pytest.approx(float(np.mean(reference(record.feedback))), abs=1e-12)
        for name, per_segment in record.segment_metrics.items():
            assert info[name] == float(np.sum(per_segment))
        rewards.append(reward)
        if terminated or truncated:
            break
    assert len(rewards) == env.context.n_steps and truncated and not terminated
    assert any(r != 0 for r in rewards)


def test_the_env_under_the_default_action_is_the_runner_under_static():
    """Common random numbers with the runner: model_seed k is runner seed k."""
    env = PersonalizationEnv(population=40, horizon_days=3)
    env.reset(options={"model_seed": 7})
    infos = []
    done = False
    while not done:
        native = encode_action(env.model.default_action(), env.context)
        _, _, terminated, truncated, info = env.step(native)
        infos.append(info)
        done = terminated or truncated
    steps = run(env.scenario, "static", seed=7).steps
    per_step = steps.drop(columns=["segment"]).groupby("step").sum()
    for name in ("sessions", "clicks", "minutes", "opens", "goal_progress",
                 "guardrail_notification_capped"):
        got = np.array([i[name] for i in infos])
        assert np.allclose(got, per_step[name].to_numpy(), rtol=0, atol=1e-9), name


def test_terminated_when_every_user_has_churned(tiny):
    doomed = variant(
        tiny,
        **{"user_model.churn_rate": 1.0, "user_model.churn_trust": 1.0,
           "population.segments.0.trust": 0.0, "population.segments.1.trust": 0.0,
           "population.segments.0.churn_sensitivity": 50.0,
           "population.segments.1.churn_sensitivity": 50.0},
    )
    env = PersonalizationEnv(doomed, population=8)
    env.reset(seed=0)
    steps = 0
    for steps in range(1, env.context.n_steps + 1):  # noqa: B007 - read after the loop
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated:
            break
    assert terminated and not truncated
    assert steps < env.context.n_steps and not obs["active"].any()


def test_overrides_and_objects_are_accepted(tiny):
    env = PersonalizationEnv(tiny, population=9, horizon_days=2)
    assert env.context.n_users == 9 and env.context.n_steps == 8
    assert env.scenario.name == "tiny" and tiny.population.size == 200  # the original is untouched


def test_make_with_the_module_prefix_registers_on_demand():
    code = (
        "import gymnasium as gym, sys\n"
        "env = gym.make('outcome_gym.env:outcome_gym/Personalization-v0', population=5)\n"
        "obs, info = env.reset(seed=0)\n"
        "assert 'outcome_gym.env' in sys.modules\n"
        "print(sorted(obs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "receptivity" in out.stdout


def test_step_info_deep_copies_like_a_dict():
    # the info is a dict of numbers; its deep copy is an equal StepInfo, and an entry that is not
    # a number (a Monitor's episode dict) is copied, not shared
    import copy
    import pickle

    from outcome_gym.env.env import StepInfo

    env = PersonalizationEnv("productivity_tool", population=5, horizon_days=1)
    env.reset(seed=0)
    info = env.step(env.action_space.sample())[4]
    assert isinstance(info, StepInfo) and isinstance(info, dict)
    assert list(info)[:4] == ["step", "day", "slot", "weekday"]
    info["episode"] = {"r": [1.0]}
    dup = copy.deepcopy([info])[0]
    assert type(dup) is StepInfo and dup == info and dup is not info
    assert dup["episode"] == info["episode"] and dup["episode"] is not info["episode"]
    assert dup["episode"]["r"] is not info["episode"]["r"]
    assert pickle.loads(pickle.dumps(info)) == info


def test_a_reset_after_an_episode_runs_what_a_fresh_env_runs(tiny):
    """The env builds its compiled world once (Prebuilt) for every reset's model: the second
    episode of one env is the first episode of a fresh env with that model seed, step for step.
    """
    def episode(env, seed):
        obs, _ = env.reset(options={"model_seed": seed})
        env.action_space.seed(3)
        out = [obs]
        for _ in range(env.context.n_steps):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            out.append((obs, reward, info))
            if terminated or truncated:
                break
        return out

    used = PersonalizationEnv(tiny, population=30, horizon_days=2)
    episode(used, 1)
    again = episode(used, 2)
    fresh = episode(PersonalizationEnv(tiny, population=30, horizon_days=2), 2)
    assert len(again) == len(fresh) > 1
    for a, b in zip(again, fresh, strict=True):
        obs_a, obs_b = (a, b) if isinstance(a, dict) else (a[0], b[0])
        assert obs_a.keys() == obs_b.keys()
        for key in obs_a:
            assert np.array_equal(obs_a[key], obs_b[key]), key
        if not isinstance(a, dict):
            assert a[1:] == b[1:]
    assert used.model.world is used._built.world  # the episodes share one compiled world


def test_replacing_the_scenario_rebuilds_the_world(tiny):
    env = PersonalizationEnv(tiny, population=30, horizon_days=2)
    env.reset(seed=0)
    other = variant(env.scenario, **{"clock.horizon_days": 3})
    env.scenario = other
    env.reset(seed=0)
    assert env.model.scenario is other and env.model.world.n_steps == 3 * other.clock.slots_per_day


def test_a_reset_mid_day_leaves_no_sends_counted_against_the_next_episode(tiny):
    """The env's one guardrail layer serves every episode: after a reset in the middle of a day
    whose sends it counted (a daily cap of 1, everyone sent one), the next episode's steps are
    a fresh env's, bit for bit (counts left over would cap everyone's first send).
    """
    cap = {"max_notifications_per_day": 1, "quiet_slots": []}
    used = PersonalizationEnv(tiny, population=30, horizon_days=2, guardrails=cap)
    fresh = PersonalizationEnv(tiny, population=30, horizon_days=2, guardrails=cap)
    ctx = used.context
    layout = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots))
    send_all = {"layout": used.layout_index(layout),
                "notify": np.ones((ctx.n_users, ctx.n_pushed), np.int8)}
    used.reset(options={"model_seed": 4})
    used.step(send_all)
    assert used._guardrail_layer._sent_today.sum() == ctx.n_users  # today's sends counted
    out = [env.reset(options={"model_seed": 9}) for env in (used, fresh)]
    for _ in range(3):
        out += [env.step(send_all) for env in (used, fresh)]
    assert _bits(out[::2]) == _bits(out[1::2])
    # the cap is on, and lets one send a user through on the new episode's first step
    assert out[2][4]["guardrail_notification_capped"] == ctx.n_users * (ctx.n_pushed - 1) > 0


def test_guardrail_settings_changed_on_the_env_take_effect_at_the_next_reset(tiny):
    """``guardrails`` and ``guardrail_mode`` are read at each reset, as ``objective`` and
    ``scenario`` are: switched on, to strict, a cap raised in place, and off again.
    """
    env = PersonalizationEnv(tiny, population=30, horizon_days=2, guardrails=False)
    ctx = env.context
    layout = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots))
    send_all = {"layout": env.layout_index(layout),
                "notify": np.ones((ctx.n_users, ctx.n_pushed), np.int8)}
    assert ctx.n_pushed >= 2  # a cap of 1 then holds back sends

    def capped() -> float:
        env.reset(options={"model_seed": 3})
        return env.step(send_all)[4]["guardrail_notification_capped"]

    assert capped() == 0  # off
    env.guardrails = {"max_notifications_per_day": 1, "quiet_slots": []}
    assert capped() == ctx.n_users * (ctx.n_pushed - 1)  # each user's first send let through
    env.guardrail_mode = "strict"
    env.reset(options={"model_seed": 3})
    with pytest.raises(ActionError, match="daily notification cap"):
        env.step(send_all)
    env.guardrail_mode = "project"
    env.guardrails["max_notifications_per_day"] = ctx.n_pushed  # changed in place
    assert capped() == 0
    env.guardrails["max_notifications_per_day"] = 1
    assert capped() == ctx.n_users * (ctx.n_pushed - 1)
    env.guardrails = False
    assert capped() == 0


def _bits(x):
    if isinstance(x, dict):
        return {key: _bits(v) for key, v in x.items()}
    if isinstance(x, tuple | list):
        return tuple(_bits(v) for v in x)
    return np.asarray(x).tobytes()


@pytest.mark.parametrize("env_id", ["outcome_gym/Personalization-v0",
                                    "outcome_gym/PersonalizationVariants-v0",
                                    "outcome_gym/PersonalizationSegments-v0",
                                    "outcome_gym/PersonalizationRecipe-v0"])
def test_a_reset_after_many_steps_is_a_fresh_envs_reset(env_id):
    """What a reset reuses across episodes (the compiled world, its population plan, the
    schedule's sends) gives, after many steps and resets, the bits a fresh env gives with that
    seed: observations, rewards, flags and infos of the episode's first steps.
    """
    import gymnasium as gym

    def steps(env, seed, n):
        env.action_space.seed(seed)
        out = [env.reset(seed=seed)]
        for _ in range(n):
            out.append(env.step(env.action_space.sample()))
            if out[-1][2] or out[-1][3]:
                break
        return out

    used = gym.make(env_id, population=24, horizon_days=2)
    for seed in (5, 6, 7):  # episodes run to their end: every step of the horizon and resets
        steps(used, seed, 10_000)
    world = used.unwrapped.model.world
    again = steps(used, 11, 9)
    assert used.unwrapped.model.world.population_plan is world.population_plan  # reused
    fresh = steps(gym.make(env_id, population=24, horizon_days=2), 11, 9)
    assert len(again) == len(fresh) > 5  # a whole 2-day episode (or 9 steps of it)
    assert _bits(again) == _bits(fresh)
