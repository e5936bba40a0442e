"""CPU time of an env step, this copy of the package against another, processes alternated.

Usage::

    PYTHONPATH=src python benchmarks/ab_env.py --baseline-src DIR [--ids Segments,Variants]
        [--populations 20,200] [--pairs 4] [--steps 560] [--runs 9]

``bench_env.py --baseline-src`` measures the two copies one after the other, minutes apart, and
on a shared machine its ratio carries the load's drift (its repeats spread ±10% from run to run).
This script alternates them instead: for each id and population it starts a process of the
baseline, then one of this copy, ``--pairs`` times. A process builds ``gym.make(id,
population=N)``, samples ``--steps`` actions from the seeded action space, runs them once to warm
up and then ``--runs`` times (each from ``reset(seed=0)``, resets included when an episode ends),
and reports the least CPU time (``time.process_time``) a step took over its runs. The printed
figure of a side is the median over its processes; the ratio is baseline / this (above 1: this
copy is faster). Ids are the registered ``outcome_gym/Personalization*-v0`` ids, named by what
follows ``Personalization`` (``native`` for ``outcome_gym/Personalization-v0``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHORT_IDS = {"native": "outcome_gym/Personalization-v0"}


def env_id(short: str) -> str:
    """The registered id of a short name (``Segments`` -> ``outcome_gym/PersonalizationSegments-v0``)."""
    return SHORT_IDS.get(short, f"outcome_gym/Personalization{short}-v0")


def child(eid: str, population: int, steps: int, runs: int) -> float:
    """Least CPU microseconds a step of ``eid`` took over ``runs`` runs of ``steps`` actions."""
    from bench_env import stepper  # this script's folder is on sys.path when it runs

    run = stepper(eid, population, steps, clock=time.process_time)
    run()  # compiles or loads the passes, fills the caches
    return min(run() for _ in range(runs)) / steps * 1e6


def measure(src: str, eid: str, population: int, steps: int, runs: int) -> float:
    """:func:`child` in a fresh process with the package under ``src``."""
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", eid, str(population), str(steps), str(runs)],
        env=env, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print each id and population's alternated medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-src", help="the other copy's src directory (required)")
    parser.add_argument("--ids", default="Segments,Variants,native,Recipe")
    parser.add_argument("--populations", default="20,200")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=560)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        eid, population, steps, runs = args.child
        print(f"{child(eid, int(population), int(steps), int(runs)):.2f}")
        return 0
    if not args.baseline_src:
        parser.error("--baseline-src is required")
    this = str(Path(__import__("outcome_gym").__file__).resolve().parents[1])
    from _machine import describe, yardstick_line  # this script's folder is on sys.path

    print(describe())
    print(yardstick_line())
    print(f"this: {this}; baseline: {args.baseline_src}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'env id':40} {'N':>5} {'baseline us':>12} {'this us':>9} {'ratio':>7}  pairs")
    for short in args.ids.split(","):
        for population in (int(n) for n in args.populations.split(",")):
            old, new = [], []
            for _ in range(args.pairs):
                old.append(measure(args.baseline_src, env_id(short), population, args.steps,
                                   args.runs))
                new.append(measure(this, env_id(short), population, args.steps, args.runs))
            o, n = statistics.median(old), statistics.median(new)
            pairs = " ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(old, new, strict=True))
            print(f"{env_id(short):40} {population:>5} {o:>12.1f} {n:>9.1f} {o / n:>6.2f}x  {pairs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
