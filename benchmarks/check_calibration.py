"""Calibration of `outcome-gym check`: false alarms on unchanged code, catches of planted regressions.

    .venv/bin/python benchmarks/check_calibration.py [--pool 400] [--checks 200] [--workers 2]

Uses the team example (examples/ci): its contract's expectations, its good policy, and two planted
regressions (a high-appeal zero-value element first; a core element moved). Every run of a pool of
seeds is simulated once per policy; each check then draws its own distinct seeds from the pool and
applies exactly the check machinery (paired comparison, intervals, verdict, expectations). Prints the
false-alarm rate of the good policy (promise: at most 5%) and the catch rate of each regression
(promise: at least 95%).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "ci"
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(EXAMPLE / "teampolicy" / "src"), os.environ.get("PYTHONPATH", "")])
sys.path.insert(0, str(EXAMPLE / "teampolicy" / "src"))

from outcome_gym.check import load_contract  # noqa: E402
from outcome_gym.check.evaluate import _scenario_for, evaluate_expectation  # noqa: E402
from outcome_gym.compare import assemble, run_all  # noqa: E402
from outcome_gym.policies.spec import PolicySpec  # noqa: E402

POLICIES = {
    "reference": "static",
    "good": "teampolicy.policies:FocusForDeadlines",
    "feed_first": "teampolicy.policies:FeedFirst",
    "moved_core": "teampolicy.policies:MovedCore",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pool", type=int, default=400)
    ap.add_argument("--checks", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    contract, base = load_contract(EXAMPLE / "contract.yaml")
    sc = _scenario_for(contract, 0, base)
    t0 = time.perf_counter()
    specs = [PolicySpec(policy=name, label=label) for label, name in POLICIES.items()]
    # the executor's workers inherit PYTHONPATH (set above), so they import the team's policies
    results, _ = run_all(sc, specs, list(range(args.pool)), workers=args.workers, progress=True)
    by = {label: g.set_index("seed") for label, g in results.groupby("policy")}
    t1 = time.perf_counter()
    n = contract.seeds.count
    rng = np.random.default_rng(np.random.SeedSequence([2026, args.checks]))
    fails = {k: 0 for k in POLICIES if k != "reference"}
    why: dict[str, dict[str, int]] = {k: {} for k in fails}
    for _ in range(args.checks):
        seeds = rng.choice(args.pool, size=n, replace=False).tolist()
        for cand in fails:
            pair = [PolicySpec(policy="static", label="reference"),
                    PolicySpec(policy=POLICIES[cand], label="candidate")]
            # the i-th drawn seed of each policy becomes seed i of the paired comparison
            chosen = pd.concat([by[key].loc[seeds].assign(policy=label, seed=range(n))
                                for label, key in (("reference", "reference"), ("candidate", cand))],
                               ignore_index=True)
            cmp = assemble(sc, pair, "reference", list(range(n)), chosen)
            res = [evaluate_expectation(e, contract, sc, cmp, "candidate")
                   for e in contract.expectations]
            failed = [r.expectation for r in res if not r.passed]
            if failed:
                fails[cand] += 1
                for f in failed:
                    why[cand][f] = why[cand].get(f, 0) + 1
    t2 = time.perf_counter()
    print(f"{len(results)} runs ({t1 - t0:.0f} s), {args.checks} checks per policy of {n} seeds "
          f"each from a pool of {args.pool} ({t2 - t1:.0f} s)")
    rate = fails["good"] / args.checks
    print(f"unchanged policy: false alarms {fails['good']}/{args.checks} = {rate:.1%} "
          f"(promise <= 5%) -> {'OK' if rate <= 0.05 else 'FAIL'}  {why['good']}")
    for cand in ("feed_first", "moved_core"):
        caught = fails[cand] / args.checks
        print(f"planted regression {cand}: caught {fails[cand]}/{args.checks} = {caught:.1%} "
              f"(promise >= 95%) -> {'OK' if caught >= 0.95 else 'FAIL'}  {why[cand]}")


if __name__ == "__main__":
    main()
