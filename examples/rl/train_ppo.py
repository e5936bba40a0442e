"""The outcome-gym PPO recipe: train on the outcome objective, then compare with static and random.

Trains Stable-Baselines3 PPO with ``--seeds`` training seeds on the recipe's env (docs/rl.md: what
each choice is and why), saves every model with its ``VecNormalize`` statistics beside it
(``<out>/seed<k>/model.zip`` and ``model.vecnormalize.json``), then replays each model with the ``sb3``
policy through :func:`outcome_gym.compare.compare`, paired with ``static`` and ``random`` on
``--eval-seeds`` evaluation seeds that training never saw, and prints the primary outcome's table:
per model, and pooled (per evaluation seed, the models' mean minus the reference: a paired t test
over the evaluation seeds).

Run (about 15 minutes on 2 quiet cores with the defaults; docs/rl.md)::

    pip install torch==2.13.0 && pip install -e ".[rl]"
    python examples/rl/train_ppo.py --out runs/ppo

``--steps``, ``--seeds`` and ``--eval-seeds`` make it smaller (the slow test runs a reduced version
through :func:`main`).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from outcome_gym.compare import Comparison, compare
from outcome_gym.env import make_flat_env, resolve_scenario
from outcome_gym.policies.normalization import save_normalization
from outcome_gym.scenario import Scenario

EVAL_FIRST_SEED = 10_000  # evaluation seeds: far from anything a training env draws


@dataclass(frozen=True)
class Recipe:
    """The recipe: env, wrappers and PPO hyper-parameters (docs/rl.md explains each)."""

    scenario: str = "finance_alerts"
    population: int = 200
    horizon_days: int = 31  # one 30-day budget window, closed on day 30 (the metric's denominator)
    per: str = "all"
    observation: str = "summary"
    objective: str = "outcome"
    reward: str = "objective"
    n_envs: int = 8
    n_steps: int = 128
    batch_size: int = 256
    n_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 0.98
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    net_arch: tuple[int, ...] = (64, 64)
    norm_reward: bool = True
    total_steps: int = 30_720  # 30 PPO updates of 8 envs x 128 steps
    extra: dict[str, Any] = field(default_factory=dict)

    def env_kwargs(self) -> dict[str, Any]:
        """Arguments of :func:`outcome_gym.env.make_flat_env`."""
        return {"scenario": self.scenario, "objective": self.objective, "per": self.per,
                "observation": self.observation, "reward": self.reward,
                "population": self.population,
                "horizon_days": self.horizon_days}

    def scenario_obj(self) -> Scenario:
        """The scenario the agent is trained and evaluated on (population and horizon set)."""
        return resolve_scenario(self.scenario, self.population, self.horizon_days)


def train(recipe: Recipe, seed: int, out: Path) -> tuple[Path, float]:
    """Train one PPO agent; save ``model.zip`` and ``model.vecnormalize.json`` in ``out``.

    Returns:
        The model's path and the training time in seconds.
    """
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)  # the env is the bottleneck; threads only contend on 2 cores
    venv = VecNormalize(
        make_vec_env(make_flat_env, n_envs=recipe.n_envs, seed=seed,
                     env_kwargs=recipe.env_kwargs()),
        norm_obs=True, norm_reward=recipe.norm_reward, gamma=recipe.gamma)
    model = PPO("MlpPolicy", venv, n_steps=recipe.n_steps, batch_size=recipe.batch_size,
                n_epochs=recipe.n_epochs, learning_rate=recipe.learning_rate,
                gamma=recipe.gamma, gae_lambda=recipe.gae_lambda, ent_coef=recipe.ent_coef,
                policy_kwargs={"net_arch": list(recipe.net_arch)}, seed=seed, device="cpu")
    start = time.perf_counter()
    model.learn(recipe.total_steps)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.zip"
    model.save(path)
    save_normalization(venv, path)  # JSON beside the model: what the sb3 policy loads
    return path, seconds


def primary_metric(scenario: Scenario) -> str:
    """The primary outcome's metric name in a comparison: the spec flagged ``primary`` if the
    schema has that flag, else the first listed outcome spec.
    """
    specs = list(scenario.outcomes)
    flagged = [s for s in specs if getattr(s, "primary", False)]
    return f"outcome.{(flagged or specs)[0].id}"


def paired(values: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean difference, relative lift, 95% t interval and two-sided paired t p-value."""
    d = values - reference
    n = len(d)
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    half = float(sps.t.ppf(0.975, n - 1) * se) if n > 1 else float("nan")
    p = float(sps.ttest_rel(values, reference).pvalue) if n > 1 and se > 0 else float("nan")
    base = float(reference.mean())
    return {"policy": float(values.mean()), "reference": base, "diff": float(d.mean()),
            "low": float(d.mean() - half), "high": float(d.mean() + half),
            "lift": float(d.mean() / base) if base else float("nan"), "p": p}


def evaluate(recipe: Recipe, models: list[Path], eval_seeds: list[int],
             workers: int = 1) -> tuple[Comparison, dict[str, Any]]:
    """Compare every model (``sb3`` policy) with ``static`` and ``random`` on ``eval_seeds``."""
    sc = recipe.scenario_obj()
    ppo = [{"policy": "sb3", "label": f"ppo_seed{i}",
            "params": {"model": str(m), "per": recipe.per, "observation": recipe.observation}}
           for i, m in enumerate(models)]
    cmp = compare(sc, ["static", "random", *ppo], reference="static", seeds=eval_seeds,
                  workers=workers)
    metric = primary_metric(sc)
    runs = cmp.runs.pivot(index="seed", columns="policy", values=metric)
    labels = [p["label"] for p in ppo]
    pooled = runs[labels].mean(axis=1).to_numpy()
    table = {
        "metric": metric,
        "per_model": {lab: {"vs_static": paired(runs[lab].to_numpy(), runs["static"].to_numpy()),
                            "vs_random": paired(runs[lab].to_numpy(), runs["random"].to_numpy())}
                      for lab in labels},
        "pooled": {"vs_static": paired(pooled, runs["static"].to_numpy()),
                   "vs_random": paired(pooled, runs["random"].to_numpy())},
        "random_vs_static": paired(runs["random"].to_numpy(), runs["static"].to_numpy()),
        "outcomes_vs_static": {
            f"outcome.{spec.id}": paired(
                cmp.runs.pivot(index="seed", columns="policy", values=f"outcome.{spec.id}")[labels]
                .mean(axis=1).to_numpy(),
                cmp.runs.pivot(index="seed", columns="policy",
                               values=f"outcome.{spec.id}")["static"].to_numpy())
            for spec in sc.outcomes},
        "verdicts": {lab: cmp.verdicts[lab].verdict for lab in [*labels, "random"]},
    }
    return cmp, table


def format_table(table: dict[str, Any]) -> str:
    """The primary outcome's table as text."""
    def row(name: str, st: dict[str, float]) -> str:
        return (f"{name:<22}{st['policy']:>9.4f}{st['reference']:>9.4f}{st['diff']:>+9.4f} "
                f"[{st['low']:+.4f}, {st['high']:+.4f}]{st['lift']:>+8.1%}{st['p']:>9.3g}")

    head = (f"primary outcome {table['metric']} (paired over evaluation seeds)\n"
            f"{'policy vs reference':<22}{'policy':>9}{'ref':>9}{'diff':>9} {'95% t interval':<19}"
            f"{'lift':>8}{'p':>9}")
    lines = [head]
    for lab, by in table["per_model"].items():
        lines.append(row(f"{lab} vs static", by["vs_static"]))
        lines.append(row(f"{lab} vs random", by["vs_random"]))
    lines.append(row("PPO (mean) vs static", table["pooled"]["vs_static"]))
    lines.append(row("PPO (mean) vs random", table["pooled"]["vs_random"]))
    lines.append(row("random vs static", table["random_vs_static"]))
    for name, st in table["outcomes_vs_static"].items():
        lines.append(row(f"PPO (mean) {name.removeprefix('outcome.')}"[:22], st))
    lines.append("compare's verdicts vs static: " + ", ".join(
        f"{k} {v}" for k, v in table["verdicts"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train, evaluate, print; returns the table (also written to ``<out>/table.json``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/ppo"))
    ap.add_argument("--seeds", type=int, default=5, help="training seeds (0 .. n-1)")
    ap.add_argument("--eval-seeds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=Recipe.total_steps, help="PPO steps per seed")
    ap.add_argument("--scenario", default=Recipe.scenario)
    ap.add_argument("--horizon-days", type=int, default=Recipe.horizon_days)
    ap.add_argument("--per", default=Recipe.per, choices=("user", "segment", "all"))
    ap.add_argument("--reward", default=Recipe.reward, choices=("objective", "targeted"))
    ap.add_argument("--gamma", type=float, default=Recipe.gamma)
    ap.add_argument("--workers", type=int, default=1,
                    help="processes: training seeds run in parallel, and compare's runs")
    args = ap.parse_args(argv)
    recipe = Recipe(total_steps=args.steps, scenario=args.scenario, horizon_days=args.horizon_days,
                    per=args.per, reward=args.reward, gamma=args.gamma)
    seeds = list(range(args.seeds))
    folders = [args.out / f"seed{seed}" for seed in seeds]
    if args.workers > 1:  # each seed trains alone in its process: same models as one by one
        # spawn, never the platform default: forking a process that has loaded torch can hang
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            done = list(pool.map(train, [recipe] * len(seeds), seeds, folders))
    else:
        done = [train(recipe, seed, folder) for seed, folder in zip(seeds, folders, strict=True)]
    models = [path for path, _ in done]
    seconds = [sec for _, sec in done]
    for seed, (path, sec) in zip(seeds, done, strict=True):
        print(f"seed {seed}: {recipe.total_steps} steps in {sec:.0f} s -> {path}", flush=True)
    eval_seeds = list(range(EVAL_FIRST_SEED, EVAL_FIRST_SEED + args.eval_seeds))
    _, table = evaluate(recipe, models, eval_seeds, workers=args.workers)
    table["recipe"] = asdict(recipe)
    table["train_seconds"] = seconds
    print(format_table(table))
    (args.out / "table.json").write_text(json.dumps(table, indent=2, default=str))
    return table


if __name__ == "__main__":
    main()
