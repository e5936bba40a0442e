"""Where 20k PPO steps spend their time: the env alone, then PPO (SB3 defaults, one torch thread).

    python examples/rl/ppo_speed.py --observation flat     # every user's arrays (6,611 numbers)
    python examples/rl/ppo_speed.py --observation summary  # per-segment means (docs/rl.md)

Both on ``outcome_gym/PersonalizationSegments-v0`` (productivity_tool, 200 users, 7 days, one
variant per segment). Prints env steps/s with random actions and the seconds PPO takes for
``--steps`` steps.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

from outcome_gym.env import SEGMENTS_ID


def env_rate(env: gym.Env, steps: int) -> float:
    """Env steps per second with seeded random actions (episodes restarted as they end)."""
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    """Measure and print."""
    import torch
    from stable_baselines3 import PPO

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--observation", choices=("flat", "summary"), default="flat")
    ap.add_argument("--steps", type=int, default=20_000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    env = gym.make(SEGMENTS_ID, observation=args.observation)
    print(f"observation {args.observation}: {env.observation_space.shape[0]} numbers; env "
          f"{env_rate(env, 2_000):.0f} steps/s (random actions)")
    model = PPO("MlpPolicy", env, seed=0, device="cpu")
    start = time.perf_counter()
    model.learn(args.steps)
    print(f"PPO (SB3 defaults) {args.steps} steps: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
