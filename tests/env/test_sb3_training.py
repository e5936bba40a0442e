"""Stable-Baselines3 PPO trains on a registered id and beats random actions on its own objective.

The id is ``outcome_gym/PersonalizationSegments-v0`` (200 users, 7 days, objective ``outcome``) with
one variant choice for the whole population per slot (``per="all"``). Per-user choices (the
``PersonalizationVariants-v0`` id) did not beat random within any budget CI can afford: with 40
independent action heads each user's choice moves the mean reward by 1/20 of a small effect (PPO
-1.3% vs random after 30k steps, -0.6% after 154k). One choice per segment reached +3.3% (paired
t = 3.7); one choice for everyone +4.5% (t = 4.4, with observation but not reward normalisation),
the margin this test pins.

The budget is what CI can afford on 2 cores (one torch thread, about 2 minutes). Everything is
seeded (PPO, the vector env, the evaluation seeds, the random baseline's action space), so on one
machine the numbers are the same every run.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest

from outcome_gym.env import SEGMENTS_ID

TOTAL_STEPS = 30_720  # 30 PPO updates of 8 envs x 128 steps
EVAL_SEEDS = range(10_000, 10_020)
MIN_LIFT = 0.03  # PPO's mean episode reward must exceed random's by at least 3% ...
MIN_T = 3.0  # ... with a paired t statistic of at least 3 over the evaluation seeds
KWARGS = {"per": "all"}


def _episode_rewards(env: gym.Env, act, seeds) -> np.ndarray:
    out = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += reward
            done = terminated or truncated
        out.append(total)
    return np.array(out)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ppo_beats_random_actions_on_its_own_objective():
    pytest.importorskip("stable_baselines3")
    torch = pytest.importorskip("torch")
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    venv = VecNormalize(make_vec_env(SEGMENTS_ID, n_envs=8, seed=0, env_kwargs=KWARGS), norm_obs=True,
                        norm_reward=False)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, n_epochs=10,
                learning_rate=1e-3, gamma=0.8, gae_lambda=0.9, seed=0, device="cpu")
    start = time.perf_counter()
    model.learn(TOTAL_STEPS)
    trained_in = time.perf_counter() - start
    venv.training = False

    env = gym.make(SEGMENTS_ID, **KWARGS)
    env.action_space.seed(0)
    random_r = _episode_rewards(env, lambda obs: env.action_space.sample(), EVAL_SEEDS)
    ppo_r = _episode_rewards(
        env, lambda obs: model.predict(venv.normalize_obs(obs), deterministic=True)[0],
        EVAL_SEEDS)
    lift = ppo_r.mean() / random_r.mean() - 1.0
    diff = ppo_r - random_r
    report = (f"trained {TOTAL_STEPS} steps in {trained_in:.0f}s; mean episode reward "
              f"(objective 'outcome', {len(EVAL_SEEDS)} paired seeds): PPO {ppo_r.mean():.3f}, "
              f"random {random_r.mean():.3f}, lift {lift:+.1%}, paired diff {diff.mean():+.3f} "
              f"(se {diff.std(ddof=1) / np.sqrt(len(diff)):.3f})")
    print(report)
    t_stat = diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff)))
    assert lift >= MIN_LIFT and t_stat >= MIN_T, report
