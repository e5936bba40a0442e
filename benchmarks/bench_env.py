"""Steps per second of each registered Gymnasium env id (random actions, fixed seeds).

Usage::

    PYTHONPATH=src python benchmarks/bench_env.py [--population 200] [--steps 300] [--repeats 3]
        [--ppo STEPS]

Each id is built with ``gym.make(id, population=N)`` (the native id too), reset with a fixed
seed, and stepped with actions sampled from a seeded action space (sampling is outside the timed
region: the figure is the env's own cost). The median of ``--repeats`` runs is printed. With
``--ppo STEPS`` it also times Stable-Baselines3 PPO (defaults, one torch thread) for STEPS steps on
``outcome_gym/PersonalizationRecipe-v0`` (docs/rl.md's recipe).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import gymnasium as gym

import outcome_gym.env  # noqa: F401 - registers the ids
from outcome_gym._registration import ENV_IDS


def env_rate(env_id: str, population: int, steps: int) -> float:
    """Steps per second of ``env_id`` over ``steps`` steps (resets included when episodes end)."""
    env = gym.make(env_id, population=population)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - t0
    env.close()
    return steps / elapsed


def ppo_seconds(steps: int) -> float:
    """Wall time of SB3 PPO (defaults, one torch thread) for ``steps`` steps on the recipe id."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = gym.make("outcome_gym/PersonalizationRecipe-v0")
    model = PPO("MlpPolicy", env, seed=0, verbose=0, device="cpu")
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - t0


def main() -> None:
    """Print steps/s per env id (median of repeats) and optionally the PPO wall time."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=200)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ppo", type=int, default=0, help="also time PPO for this many steps")
    args = ap.parse_args()
    load = os.getloadavg()
    busy = load[0] > 0.5 * (os.cpu_count() or 1)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
          + (" (a loaded machine: read the figures as lower bounds)" if busy else ""))
    print(f"{'env id':<44}{'N':>6}{'steps/s (median)':>18}   repeats")
    for env_id in ENV_IDS:
        rates = [env_rate(env_id, args.population, args.steps) for _ in range(args.repeats)]
        print(f"{env_id:<44}{args.population:>6}{statistics.median(rates):>18,.0f}   "
              + " ".join(f"{r:,.0f}" for r in rates))
    if args.ppo:
        secs = ppo_seconds(args.ppo)
        print(f"PPO {args.ppo} steps (SB3 defaults, 1 torch thread, recipe id): {secs:.1f} s")


if __name__ == "__main__":
    main()
