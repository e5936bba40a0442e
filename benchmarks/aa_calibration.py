"""A/A calibration: how often does a policy compared with itself get a false trap or harm verdict?

    .venv/bin/python benchmarks/aa_calibration.py [--pool 300] [--seeds 10] [--trials 400]

Prints the verdict counts and the false-alarm rate (the rules promise at most 5%).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from outcome_gym.check.calibration import aa_trials, false_alarm_rate, run_pool
from outcome_gym.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "tests" / "fixtures" / "tiny.yaml"))
    ap.add_argument("--pool", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=400)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    t0 = time.perf_counter()
    pool = run_pool(sc, "static", range(args.pool))
    t1 = time.perf_counter()
    counts = aa_trials(sc, pool, args.seeds, args.trials)
    t2 = time.perf_counter()
    print(
        f"scenario {sc.name}: pool of {args.pool} static runs ({t1 - t0:.0f} s), "
        f"{args.trials} A/A trials of {args.seeds} vs {args.seeds} seeds ({t2 - t1:.0f} s)"
    )
    for verdict, n in sorted(counts.items()):
        print(f"  {verdict:<10} {n:>5}  {n / args.trials:6.1%}")
    rate = false_alarm_rate(counts)
    print(
        f"false trap or harm: {rate:.1%} (promise: at most 5%) -> {'OK' if rate <= 0.05 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
