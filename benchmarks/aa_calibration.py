"""A/A calibration of the verdict rules on every bundled world, at 5, 10 and 20 seeds.

    PYTHONPATH=src .venv/bin/python benchmarks/aa_calibration.py [--pool 120] [--trials 400] \
        [--workers 2] [--worlds finance_alerts,...] [--plant 0.03] [--cache DIR]

One pool of static runs per world (reused for every seed count); each trial draws 2n distinct
seeds from it, the first n as A and the last n as B, and applies exactly the comparison's analysis.
Prints, per world and seed count: the false verdict rate (any verdict but no effect /
inconclusive; promise <= 5%), the 95% lift intervals' coverage of the true lift (engagement and the
primary outcomes pooled; target 93-97%), and, with a planted relative effect on B's primary
outcomes, the share of trials that detect it (power) and the verdicts it gets. Trials share seeds
(a pool of 120 and 40 seeds a trial at n = 20), so the rates' sampling error is larger than a
binomial's over the trials. ``--cache DIR`` keeps each pool as ``DIR/<world>-<pool>.csv`` and
reads it back on the next call (the code digest is not checked: clear it after a model change).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from outcome_gym.check.calibration import Calibration, aa_trials, false_alarm_rate, run_pool
from outcome_gym.scenario import bundled_scenarios, load_scenario


def _verdicts(counts: dict[str, int], total: int) -> str:
    return ", ".join(f"{v} {n / total:.1%}" for v, n in counts.most_common())  # type: ignore[attr-defined]


def _power(cal: Calibration) -> str:
    """'on_time_pros 85%, learning_new 3%': each primary's share of trials detecting the plant."""
    return ", ".join(f"{m.removeprefix('outcome.')} {n / cal.trials:.0%}"
                     for m, n in sorted(cal.detected.items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pool", type=int, default=120)
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--seeds", default="5,10,20")
    ap.add_argument("--plant", type=float, default=0.03)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worlds", default=",".join(bundled_scenarios()))
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    sizes = [int(s) for s in args.seeds.split(",")]
    print("| world | seeds | false verdicts | A/A verdicts | coverage | power (3%) "
          "| planted verdicts |")
    print("|---|---|---|---|---|---|---|")
    for world in args.worlds.split(","):
        sc = load_scenario(world)
        t0 = time.perf_counter()
        cached = args.cache / f"{world}-{args.pool}.csv" if args.cache else None
        if cached is not None and cached.exists():
            pool = pd.read_csv(cached)
        else:
            pool = run_pool(sc, "static", range(args.pool), workers=args.workers)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                pool.to_csv(cached, index=False)
        t1 = time.perf_counter()
        for n in sizes:
            aa = aa_trials(sc, pool, n, args.trials)
            pl = aa_trials(sc, pool, n, args.trials, plant=args.plant)
            rate = false_alarm_rate(aa)
            print(f"| {world} | {n} | {rate:.1%} {'ok' if rate <= 0.05 else 'FAIL'} "
                  f"| {_verdicts(aa.counts, aa.trials)} | {aa.coverage():.1%} "
                  f"| {_power(pl)} | {_verdicts(pl.counts, pl.trials)} |",
                  flush=True)
        t2 = time.perf_counter()
        print(f"<!-- {world}: pool of {args.pool} static runs {t1 - t0:.0f} s, "
              f"trials {t2 - t1:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
