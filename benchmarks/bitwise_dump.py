"""Every array a run records, written to one ``.npz`` so two copies of the package compare bit for bit.

    PYTHONPATH=<main>/src python benchmarks/bitwise_dump.py main.npz
    PYTHONPATH=src python benchmarks/bitwise_dump.py this.npz
    python benchmarks/bitwise_dump.py --compare main.npz this.npz

Written: every step record's arrays (segment metrics, position and element counts, the policy
feedback and its events), the per-user state and totals of the bench scenario (3,000 users x 15
days), productivity_tool (1,000 x 15), finance_alerts (800 x 15) and learning_habits (600 x 10)
under the default action (seed 7), and every column of the steps, users, positions and elements
tables of the three bundled scenarios (400 x 8) under the random, epsilon_greedy and thompson
policies through the runner with their guardrails (seed 3); and, for every registered Gymnasium
env id at N = 200 (and the native id on a scenario whose core weight is not a whole number, and
with a layout-distance cap the guardrail projects onto), every observation, reward,
terminated/truncated flag and info entry of 300 random-action steps (seeded action space, resets
included). The comparison checks values, dtype and shape of every array and prints the first
differences (issue #18: a compiled pass must give the numpy step's bits).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "oracle"))

DEFAULT_ACTION = (("productivity_tool", 1000, 15), ("finance_alerts", 800, 15),
                  ("learning_habits", 600, 10))
POLICIES = ("random", "epsilon_greedy", "thompson")
ENV_STEPS = 300


def _put(out: dict[str, np.ndarray], key: str, value: Any) -> None:
    a = np.asarray(value)
    out[key] = a.astype(str) if a.dtype == object else a


def dump(path: str) -> int:
    """Write every recorded array of the runs above to ``path``; returns how many."""
    from mesa_reference import load_bench_scenario

    from outcome_gym import runner
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.model import SimulationModel

    out: dict[str, np.ndarray] = {}
    worlds = [("bench", load_bench_scenario(3000))] + [
        (name, with_overrides(load_scenario(name), size_overrides(n, days), file="<dump>"))
        for name, n, days in DEFAULT_ACTION]
    for name, sc in worlds:
        m = SimulationModel(sc, 7, mesa_agents=False)
        while not m.done:
            t, r = m.t, m.advance(m.default_action())
            for k, v in r.segment_metrics.items():
                _put(out, f"{name}/{t}/seg/{k}", v)
            for k in ("position_clicks", "position_views", "element_clicks"):
                _put(out, f"{name}/{t}/{k}", getattr(r, k))
            for k in ("clicks", "minutes", "sessions", "opens"):
                _put(out, f"{name}/{t}/feedback/{k}", getattr(r.feedback, k))
            for k, v in r.feedback.events.items():
                _put(out, f"{name}/{t}/feedback/events/{k}", v)
        for k, v in m.user_state().items():
            _put(out, f"{name}/users/{k}", v)
        for k, v in m.totals.items():
            _put(out, f"{name}/totals/{k}", v)
    for name, _, _ in DEFAULT_ACTION:
        sc = with_overrides(load_scenario(name), size_overrides(400, 8), file="<dump>")
        for policy in POLICIES:
            res = runner.run(sc, policy, 3)
            for table in ("steps", "users", "positions", "elements"):
                df = getattr(res, table)
                for col in df.columns:
                    _put(out, f"run/{name}/{policy}/{table}/{col}", df[col].to_numpy())
    dump_envs(out)
    np.savez_compressed(path, **out)
    return len(out)


def _env_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(label, env id, extra make kwargs): every registered id at N = 200, then the native id on a
    scenario with a fractional core weight (layout distances then go through the BLAS matvec)
    and with a layout-distance cap (the guardrail reverts positions).
    """
    from outcome_gym._registration import ENV_IDS, NATIVE_ID
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import with_overrides

    cases = [(env_id.split("/")[-1], env_id, {"population": 200}) for env_id in ENV_IDS]
    odd = with_overrides(load_scenario("productivity_tool"),
                         {"context.core_weight": 2.3, "population.size": 200,
                          "clock.horizon_days": 3}, file="<dump>")
    cases.append(("native-core-2.3", NATIVE_ID, {"scenario": odd}))
    cases.append(("native-capped", NATIVE_ID, {"population": 200, "horizon_days": 3,
                                               "guardrails": {"max_layout_distance": 0.2}}))
    return cases


def dump_envs(out: dict[str, np.ndarray]) -> None:
    """Every observation, reward, flag and info entry of ``ENV_STEPS`` random-action steps of each
    env case (action space seeded with 0, ``reset(seed=0)``, a reset when an episode ends).
    """
    import gymnasium as gym

    import outcome_gym.env  # noqa: F401 - registers the ids

    for label, env_id, kwargs in _env_cases():
        env = gym.make(env_id, **kwargs)
        env.action_space.seed(0)
        obs, info = env.reset(seed=0)
        _put_env(out, f"env/{label}/reset", obs, info)
        for t in range(ENV_STEPS):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            key = f"env/{label}/{t}"
            _put_env(out, key, obs, info)
            _put(out, f"{key}/reward", np.float64(reward))
            _put(out, f"{key}/flags", np.array([terminated, truncated]))
            if terminated or truncated:
                obs, info = env.reset()
                _put_env(out, f"{key}/reset", obs, info)
        env.close()


def _put_env(out: dict[str, np.ndarray], key: str, obs: Any, info: dict[str, Any]) -> None:
    """An observation (an array or a dict of arrays) and an info dict (names kept in order)."""
    if isinstance(obs, dict):
        for k, v in obs.items():
            _put(out, f"{key}/obs/{k}", v)
    else:
        _put(out, f"{key}/obs", obs)
    _put(out, f"{key}/info_keys", np.array(list(info), dtype=str))
    for k, v in info.items():
        _put(out, f"{key}/info/{k}", v)


def compare(a_path: str, b_path: str) -> int:
    """Arrays of ``b_path`` that differ from ``a_path`` (missing ones count); prints the first."""
    a, b = np.load(a_path), np.load(b_path)
    keys_a, keys_b = set(a.files), set(b.files)
    bad = sorted(keys_a ^ keys_b)
    for key in sorted(keys_a & keys_b):
        x, y = a[key], b[key]
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            bad.append(key)
    for key in bad[:20]:
        print("differs:", key)
    print(f"{len(keys_a & keys_b)} arrays compared, {len(bad)} differ or are missing")
    return len(bad)


def main() -> int:
    """Dump, or compare two dumps (exit 1 when they differ)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--compare", action="store_true", help="compare two dumps")
    args = ap.parse_args()
    if args.compare:
        return 1 if compare(*args.paths) else 0
    print(f"{dump(args.paths[0])} arrays written to {args.paths[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
