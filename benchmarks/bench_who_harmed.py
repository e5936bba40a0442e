"""What the "who is harmed" analysis (issue #21) adds to a compare's wall time: printed figures.

    .venv/bin/python benchmarks/bench_who_harmed.py             # productivity_tool, 1000 users,
                                                                # 3 policies x 20 seeds, 2 workers
    .venv/bin/python benchmarks/bench_who_harmed.py --quick     # smoke run (small world)

Two compares with a report (``out``, the default path of ``outcome-gym compare --out``) in one
run of the benchmark, each in a fresh folder (no run reused):

* A: without the placebo and the stories (``placebo_seeds=0, story=False``);
* B: the default (placebo on ``compare.PLACEBO_SEEDS`` seeds, one story per policy).

Inside A, the per-user analysis (per-user values, effects, harm rules) is timed apart by
assembling the comparison again with and without the per-user values, and the reading of the
users tables by reading them again. Added = (B - A) + that analysis + that reading; base = A minus
both. The target is at most 20%. BLAS pools are set to one thread; the load average is printed (a
shared machine moves the figures, so CPU seconds of the process and its workers are printed too:
they do not depend on the other jobs).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from outcome_gym.compare import PLACEBO_SEEDS, assemble, compare  # noqa: E402
from outcome_gym.scenario import load_scenario  # noqa: E402
from outcome_gym.scenario.overrides import size_overrides, with_overrides  # noqa: E402
from outcome_gym.sweeps import read_table  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


CPU: dict[str, float] = {}


def _timed(fn, *args, name: str = "", **kwargs):
    t, c = time.perf_counter(), _cpu()
    out = fn(*args, **kwargs)
    if name:
        CPU[name] = _cpu() - c
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="productivity_tool")
    ap.add_argument("--population", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.population, a.seeds = 200, 4
    sc = with_overrides(load_scenario(a.scenario), size_overrides(a.population))
    policies = ["static", "engagement_bandit", "outcome_bandit"]
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        cmp_a, t_a = _timed(compare, sc, policies, seeds=a.seeds, workers=a.workers,
                            out=Path(tmp) / "a", placebo_seeds=0, story=False, name="a")
        _, t_b = _timed(compare, sc, policies, seeds=a.seeds, workers=a.workers,
                        out=Path(tmp) / "b", name="b")
        runs_dir = Path(tmp) / "a" / "runs"
        _, t_users = _timed(lambda: [read_table(runs_dir / rid, "users")
                                     for rid in cmp_a.runs["run_id"]], name="users")
    args = (cmp_a.scenario, cmp_a.policies, cmp_a.reference, cmp_a.seeds, cmp_a.runs,
            cmp_a.daily)
    _, t_plain = _timed(assemble, *args, name="plain")
    _, t_full = _timed(assemble, *args, cmp_a.users, name="full")
    t_analysis = t_full - t_plain
    CPU["analysis"] = CPU["full"] - CPU["plain"]
    added = (t_b - t_a) + t_analysis + t_users
    base = t_a - t_analysis - t_users
    print(f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}; {a.scenario}, "
          f"{a.population} users, {len(policies)} policies x {a.seeds} seeds, {a.workers} "
          f"workers")
    for name, t in (("A: compare, no placebo nor story", t_a),
                    (f"B: compare, default (placebo {PLACEBO_SEEDS} seeds, stories)", t_b),
                    ("  per-user effects + harm rules", t_analysis),
                    ("  reading the users tables", t_users)):
        print(f"{name:<58}{t:8.2f} s")
    print(f"added by who-is-harmed: {added:.2f} s on a base of {base:.2f} s = {added / base:.1%} "
          "(target <= 20%)")
    # CPU seconds do not move with the other jobs on a shared machine; wall time does
    cpu_added = CPU["b"] - CPU["a"] + CPU["analysis"] + CPU["users"]
    cpu_base = CPU["a"] - CPU["analysis"] - CPU["users"]
    print(f"CPU: A {CPU['a']:.1f} s, B {CPU['b']:.1f} s; added {cpu_added:.1f} s on "
          f"{cpu_base:.1f} s = {cpu_added / cpu_base:.1%}")


if __name__ == "__main__":
    main()
