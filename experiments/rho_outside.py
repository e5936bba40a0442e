"""Where within-segment rho(engagement, goal progress) stands across outside_rate (issue #14).

Exploratory, not a study row: fact 1's weak-correlation row fails in every bundled world, and this
asks what the displacement mechanism (docs/model.md §4.7b) can do across its parameter. For each
world and each ``outside_rate`` (progress per unused attention minute, set on every segment; the
default 0.02 is a guess, plausible 0.005-0.05, docs/calibration.md) it runs the trap study's
engagement arm (``engagement_bandit:levers=layout``) on the scenario's own population and prints,
averaged over seeds: the share of goal progress made outside the app, and per segment Spearman's
rho(engagement, progress) and the same with each user's daily attention budget held fixed (the
trap study's partial rank correlation)::

    PYTHONPATH=src .venv/bin/python experiments/rho_outside.py --seeds 2 \
        --rates 0 0.005 0.01 0.02 0.035 0.05 0.1 0.2

Nothing here changes a default or a scenario; docs/calibration.md quotes its output.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.studies import study_module
from outcome_gym.studies.runs import Job, run_jobs

WORLDS = ("productivity_tool", "finance_alerts", "learning_habits")
POLICY = "engagement_bandit:levers=layout"


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return statistics.fmean(kept) if kept else math.nan


def world_rows(world: str, rates: list[float], seeds: int, workers: int) -> list[str]:
    """One printed line per rate for ``world``."""
    trap = study_module("trap", Path(__file__).resolve().parent / "studies")
    segments = [s.id for s in with_overrides(world, ()).population.segments if s.goals]
    lines = []
    for rate in rates:
        overrides = tuple((f"population.segments.{i}.outside_rate", rate)
                          for i in range(len(with_overrides(world, ()).population.segments)))
        runs = run_jobs([Job(world, POLICY, seed, overrides) for seed in range(seeds)],
                        workers=workers, keep=("users",))
        share = _mean([float(r.users["outside_progress"].sum() / r.users["goal_progress"].sum())
                       for r in runs])
        cells = []
        for seg in segments:
            rho = _mean([trap.spearman_rho(r, seg) for r in runs])
            given = _mean([trap.budget_decomposition(r, seg)["given_budget"] for r in runs])
            cells.append(f"{seg} {rho:+.2f} ({given:+.2f})")
        lines.append(f"{world:18s} rate {rate:<6g} outside share {share:.2f}  " + "  ".join(cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the table for the worlds and rates asked for."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", nargs="+", default=list(WORLDS))
    ap.add_argument("--rates", nargs="+", type=float,
                    default=[0.0, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.2])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    print("per segment: rho(engagement, goal progress) (the same with the budget held fixed)")
    for world in args.worlds:
        for line in world_rows(world, args.rates, args.seeds, args.workers):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
