"""Steps per second of each registered Gymnasium env id (random actions, fixed seeds).

Usage::

    PYTHONPATH=src python benchmarks/bench_env.py [--population 200] [--steps 300] [--repeats 3]
        [--ppo STEPS] [--ppo-repeats K] [--scaling N1,N2,...] [--baseline-src DIR]

Each id is built with ``gym.make(id, population=N)`` (the native id too), reset with a fixed
seed, and stepped with actions sampled from a seeded action space (sampling is outside the timed
region: the figure is the env's own cost). The median of ``--repeats`` runs is printed. With
``--ppo STEPS`` it also times Stable-Baselines3 PPO (defaults, one torch thread) for STEPS steps on
``outcome_gym/PersonalizationRecipe-v0`` (docs/rl.md's recipe), and the same PPO on an env with
that id's spaces and episode length whose step costs nothing (:class:`ZeroCostEnv`): SB3's own
time, the part of the target (20k steps in 30 s) no simulator speed removes. With
``--baseline-src DIR`` the same figures are measured, in the same run, for the copy of the package
under ``DIR`` (a checkout of the plain-numpy step; bench_step.py's docstring says how to make
one), in a child process, and printed beside with their ratio (all but the zero-cost PPO, which
does not depend on the package: timed once). The header names the machine and
times two fixed pieces of work on it (``_machine.py``), so runs on different machines compare.

With ``--scaling 20,200,2000`` each id is also measured at those populations and a step's time is
split into a part paid whatever N is and a part per user: the least-squares line
``seconds a step = fixed + per_user * N`` through the medians (resets included, as above). The
target of 5,000 steps/s at N = 200 is 200 us a step; the split says how much of it the per-user
part already takes and what the fixed part would have to be.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
from _machine import describe, yardstick_line  # this script's folder is on sys.path

import outcome_gym.env  # noqa: F401 - registers the ids
from outcome_gym._registration import ENV_IDS, RECIPE_ID


def stepper(env_id: str, population: int, steps: int,
            clock: Callable[[], float] = time.perf_counter) -> Callable[[], float]:
    """A function that resets ``env_id`` (seed 0) and steps it through ``steps`` fixed sampled
    actions (resets included when episodes end); it returns the seconds the steps took by
    ``clock`` (wall time; ``ab_env.py`` passes ``time.process_time``).
    """
    env = gym.make(env_id, population=population)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]

    def run() -> float:
        env.reset(seed=0)
        t0 = clock()
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
        return clock() - t0

    return run


def env_rate(env_id: str, population: int, steps: int) -> float:
    """Steps per second of ``env_id`` over ``steps`` steps (resets included when episodes end)."""
    return steps / stepper(env_id, population, steps)()


def fit_line(populations: list[int], seconds: list[float]) -> tuple[float, float]:
    """Least-squares ``(fixed, per_user)`` of ``seconds = fixed + per_user * population``."""
    n = len(populations)
    mean_n, mean_s = sum(populations) / n, sum(seconds) / n
    sxx = sum((p - mean_n) ** 2 for p in populations)
    sxy = sum((p - mean_n) * (s - mean_s) for p, s in zip(populations, seconds, strict=True))
    per_user = sxy / sxx
    return mean_s - per_user * mean_n, per_user


def scaling(populations: list[int], steps: int, repeats: int) -> dict[str, list[float]]:
    """Seconds a step (median of ``repeats``) of every env id at each of ``populations``."""
    return {env_id: [1.0 / statistics.median(env_rate(env_id, n, steps) for _ in range(repeats))
                     for n in populations]
            for env_id in ENV_IDS}


def print_scaling(populations: list[int], this: dict[str, list[float]],
                  base: dict[str, list[float]] | None) -> None:
    """The fixed and per-user parts of a step per env id (and the baseline's, if measured)."""
    cols = "".join(f"{'N=' + str(n):>10}" for n in populations)
    print(f"\nus a step{'':<35}{cols}{'fixed':>9}{'per user':>10}{'at 200':>9}")
    for env_id, secs in this.items():
        rows = [("", secs)] + ([("  baseline", base[env_id])] if base else [])
        for label, values in rows:
            fixed, per_user = fit_line(populations, values)
            print(f"{(env_id + label)[:44]:<44}"
                  + "".join(f"{v * 1e6:>10.0f}" for v in values)
                  + f"{fixed * 1e6:>9.0f}{per_user * 1e6:>10.3f}"
                  + f"{(fixed + 200 * per_user) * 1e6:>9.0f}")
    print("(fixed + per user x N, least squares over the medians; 5,000 steps/s at N = 200 is "
          "200 us a step: the fixed part may take 200 - 200 x per user)")


class ZeroCostEnv(gym.Env):
    """An env with ``real``'s spaces whose step costs nothing: a copy of the observation of
    ``real``'s first reset (seed 0) every time (fresh, as a real env's: ~0.3 us), reward 0, its
    episode truncated after ``length`` steps.
    PPO on it times Stable-Baselines3's own work (the rollout loop, the policy's forward passes,
    the updates), the part of the PPO figure no simulator speed can remove.
    """

    def __init__(self, real: gym.Env, length: int) -> None:
        self.observation_space = real.observation_space
        self.action_space = real.action_space
        self._obs, _ = real.reset(seed=0)
        self._length, self._t = length, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        super().reset(seed=seed)
        self._t = 0
        return self._obs.copy(), {}

    def step(self, action: object) -> tuple:
        self._t += 1
        return self._obs.copy(), 0.0, False, self._t >= self._length, {}


def episode_length(env: gym.Env) -> int:
    """Steps of ``env``'s episode from a reset with seed 0 under seeded sampled actions."""
    env.reset(seed=0)
    env.action_space.seed(0)
    for t in range(1, 1_000_000):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            return t
    raise RuntimeError("the episode did not end")


def ppo_seconds(steps: int, zero_cost: bool = False) -> float:
    """Wall time of SB3 PPO (defaults, one torch thread) for ``steps`` steps on the recipe id,
    or (``zero_cost``) on a :class:`ZeroCostEnv` with its spaces and episode length.
    """
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = gym.make(RECIPE_ID)
    if zero_cost:
        env = ZeroCostEnv(env, episode_length(env))
    model = PPO("MlpPolicy", env, seed=0, verbose=0, device="cpu")
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - t0


def warm() -> None:
    """Compile (or load) the step's compiled passes, in whichever form this copy has them."""
    try:
        from outcome_gym.sim.model import compile_kernels
    except ImportError:  # a copy with only the compiled session loop, or none
        try:
            from outcome_gym.sim.mechanisms.engagement import compile_kernel as compile_kernels
        except ImportError:
            return
    compile_kernels()
    # the product and env layers' passes (guardrails, variant actions, the outcome objective,
    # observation encoders, action decoding), in every copy that has them
    for module in ("outcome_gym.product.guardrails", "outcome_gym.product.variants",
                   "outcome_gym.product._weighted", "outcome_gym.env.spaces"):
        try:
            compile_kernel = importlib.import_module(module).compile_kernel
        except (ImportError, AttributeError):  # a copy without it
            continue
        compile_kernel()


def measure(population: int, steps: int, repeats: int, ppo: int, ppo_repeats: int = 1,
            populations: list[int] | None = None, zero_cost: bool = True) -> dict:
    """Every figure of this copy of the package: steps/s per env id (all repeats), PPO seconds
    (all ``ppo_repeats``: one PPO run moves by about 10% from the next on this machine) on the
    recipe id and (``zero_cost``) on a :class:`ZeroCostEnv` with its spaces and episode length, and
    the seconds a step at each of ``populations`` (:func:`scaling`)."""
    warm()  # compiled (or loaded from the cache) outside the timed steps
    rates = {env_id: [env_rate(env_id, population, steps) for _ in range(repeats)]
             for env_id in ENV_IDS}
    return {"rates": rates,
            "ppo": [ppo_seconds(ppo) for _ in range(ppo_repeats)] if ppo else None,
            "ppo_zero_cost": ([ppo_seconds(ppo, zero_cost=True) for _ in range(ppo_repeats)]
                              if ppo and zero_cost else None),
            "scaling": scaling(populations, steps, repeats) if populations else None}


def baseline(src: str, args: argparse.Namespace) -> dict:
    """:func:`measure` of the package under ``src``, in a child process."""
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, __file__, "--json", "--population", str(args.population), "--steps",
           str(args.steps), "--repeats", str(args.repeats), "--ppo", str(args.ppo),
           "--ppo-repeats", str(args.ppo_repeats)]
    if args.scaling:
        cmd += ["--scaling", args.scaling]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_ppo(steps: int, this: dict, base: dict | None) -> None:
    """The PPO lines: on the recipe id, and SB3's own time on the zero-cost env beside it."""
    def runs(key: str) -> str:
        med, all_ = statistics.median(this[key]), this[key]
        return f"{med:.1f} s" + (f" (median of {len(all_)}: " + " ".join(f"{t:.1f}" for t in all_)
                                 + ")" if len(all_) > 1 else "")

    line = f"PPO {steps} steps (SB3 defaults, 1 torch thread, recipe id): {runs('ppo')}"
    if base:
        b, med = statistics.median(base["ppo"]), statistics.median(this["ppo"])
        line += f"; baseline {b:.1f} s ({b / med:.2f}x)"
    print(line)
    print(f"  the same PPO on a zero-cost env with the recipe id's spaces and episode length "
          f"(SB3's own time, which no simulator speed removes): {runs('ppo_zero_cost')}")


def main() -> None:
    """Print steps/s per env id (median of repeats) and optionally the PPO wall time."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=200)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ppo", type=int, default=0, help="also time PPO for this many steps")
    ap.add_argument("--ppo-repeats", type=int, default=1, help="PPO runs (the median is printed)")
    ap.add_argument("--scaling", default="",
                    help="also split a step into fixed and per-user parts over these "
                         "comma-separated populations")
    ap.add_argument("--baseline-src", default=None,
                    help="also measure the package under this src directory, same run")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    populations = [int(n) for n in args.scaling.split(",") if n.strip()]
    if args.scaling and len(set(populations)) < 2:
        ap.error("--scaling needs at least two different populations")
    if args.json:  # a baseline child
        # SB3's own time does not depend on the copy of the package: timed once, in the parent
        print(json.dumps(measure(args.population, args.steps, args.repeats, args.ppo,
                                 args.ppo_repeats, populations, zero_cost=False)))
        return
    load = os.getloadavg()
    busy = load[0] > 0.5 * (os.cpu_count() or 1)
    print(describe())
    print(yardstick_line())
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
          + (" (a loaded machine: read the figures as lower bounds)" if busy else ""))
    import outcome_gym

    print(f"measured: {Path(outcome_gym.__file__).parent}"
          + (f"; baseline: {args.baseline_src}" if args.baseline_src else ""))
    this = measure(args.population, args.steps, args.repeats, args.ppo, args.ppo_repeats,
                   populations)
    base = baseline(args.baseline_src, args) if args.baseline_src else None
    head = f"{'env id':<44}{'N':>6}{'steps/s (median)':>18}"
    print(head + (f"{'baseline':>10}{'ratio':>8}" if base else "") + "   repeats")
    for env_id, rates in this["rates"].items():
        med = statistics.median(rates)
        line = f"{env_id:<44}{args.population:>6}{med:>18,.0f}"
        if base:
            b = statistics.median(base["rates"][env_id])
            line += f"{b:>10,.0f}{med / b:>7.2f}x"
        print(line + "   " + " ".join(f"{r:,.0f}" for r in rates))
    if args.ppo:
        print_ppo(args.ppo, this, base)
    if populations:
        print_scaling(populations, this["scaling"], base["scaling"] if base else None)


if __name__ == "__main__":
    main()
