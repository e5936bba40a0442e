"""Sweep throughput (issue #6): printed figures, not a timed test.

    .venv/bin/python benchmarks/bench_sweep.py            # 200 runs at 1 and 2 workers, Dask overhead
    .venv/bin/python benchmarks/bench_sweep.py --quick    # smoke run (20 runs, small world)
    .venv/bin/python benchmarks/bench_sweep.py --memory   # also: driver peak RSS, 500 vs 2000 runs

What is measured, end to end through ``outcome_gym.sweeps.sweep`` (expansion, pool start-up,
runs, atomic run folders, combined dataset), on ``bench_scenario.yaml`` with ``--population`` users
and ``--days`` days (default 1000 users x 14 days x 4 slots = 56,000 user-steps per run):

* runs/s and user-steps/s for a 200-run sweep (2 policies x 100 seeds) at 1 and 2 local workers;
  parallel efficiency = T(1) / (2 T(2)). Per-run work is ~0.2-0.3 s so it dominates the fixed costs
  (spawning workers, writing folders, combining). The mean time inside a run at 1 and 2 workers
  tells overhead from contention: if a run takes longer at 2 workers, the CPUs were not free;
* the Dask backend's overhead per run on a LocalCluster of 2 workers: the marginal wall time per run
  (slope between a 100-run and a 400-run sweep of very small runs, so start-up cancels out) on Dask
  minus the same slope on the local pool;
* ``--memory``: the driver's peak RSS after a 500-run and a 2000-run sweep of very small runs (each
  in a fresh process): flat if the driver keeps nothing per run.

BLAS/OpenMP pools are set to one thread before numpy loads (workers inherit it). The load average
is printed: on a shared machine the figures move with it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "bench_scenario.yaml"


def experiment(folder: Path, name: str, population: int, days: int, seeds: int) -> Path:
    """2 policies x ``seeds`` seeds on the benchmark world."""
    doc = {"name": name, "scenarios": [str(SCENARIO)],
           "grid": {"population.size": [population], "clock.horizon_days": [days]},
           "policies": ["static", "random"], "seeds": {"count": seeds}}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def timed_sweep(path: Path, out: Path, workers: int, backend: str = "local") -> dict[str, float]:
    from outcome_gym.sweeps import sweep

    t0 = time.perf_counter()
    res = sweep(path, out=out, workers=workers, backend=backend)
    wall = time.perf_counter() - t0
    if res.exit_code:
        raise SystemExit(f"benchmark sweep failed: {res.lines()}")
    return {"wall": wall, "runs": res.ran, "user_steps": res.user_steps,
            "run_seconds": res.run_seconds}


def line(label: str, r: dict[str, float]) -> str:
    return (f"  {label:<12}{r['wall']:>8.1f} s{r['runs'] / r['wall']:>8.2f} runs/s"
            f"{r['user_steps'] / r['wall']:>12,.0f} user-steps/s"
            f"{1000 * r['run_seconds'] / r['runs']:>8.0f} ms in a run (mean)")


def throughput(tmp: Path, population: int, days: int, seeds: int) -> None:
    path = experiment(tmp, "throughput", population, days, seeds)
    n = 2 * seeds
    print(f"{n}-run sweep, {population} users x {days} days x 4 slots "
          f"({population * days * 4:,} user-steps per run), local process pool:")
    one = timed_sweep(path, tmp / "w1", 1)
    print(line("1 worker", one))
    two = timed_sweep(path, tmp / "w2", 2)
    print(line("2 workers", two))
    eff = one["wall"] / (2 * two["wall"])
    print(f"  parallel efficiency at 2 workers: {eff:.2f} (target >= 0.85)")
    slow = (two["run_seconds"] / two["runs"]) / (one["run_seconds"] / one["runs"])
    print(f"  a run takes {slow:.2f}x as long inside a worker at 2 workers as at 1 (1.00 = the "
          "two workers do not compete for a CPU)")
    same = (tmp / "w1" / "runs.csv").read_bytes() == (tmp / "w2" / "runs.csv").read_bytes()
    print(f"  runs.csv identical at 1 and 2 workers: {same}")


def dask_overhead(tmp: Path, small: int, large: int) -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("Dask overhead: skipped (pip install 'outcome-gym[cluster]')")
        return
    print(f"Dask overhead per run, 2 workers, very small runs (50 users x 1 day), "
          f"{2 * small} vs {2 * large} runs:")
    slopes = {}
    for backend in ("local", "dask"):
        walls = []
        for seeds in (small, large):
            path = experiment(tmp, f"{backend}{seeds}", 50, 1, seeds)
            walls.append(timed_sweep(path, tmp / f"{backend}{seeds}", 2, backend)["wall"])
        slopes[backend] = (walls[1] - walls[0]) / (2 * (large - small))
        print(f"  {backend:<6} {walls[0]:6.1f} s and {walls[1]:6.1f} s: "
              f"{1000 * slopes[backend]:6.1f} ms per run at the margin")
    print(f"  Dask overhead per run: {1000 * (slopes['dask'] - slopes['local']):+.1f} ms "
          "(Dask slope minus local-pool slope)")


MEMORY_CHILD = """
import json, resource, sys
from outcome_gym.sweeps import sweep
if __name__ == "__main__":
    res = sweep(sys.argv[1], out=sys.argv[2], workers=2)
    print(json.dumps({"runs": res.ran,
                      "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def driver_memory(tmp: Path) -> None:
    print("driver peak RSS (fresh process each, 2 workers, 50 users x 1 day runs):")
    script = tmp / "memory_child.py"
    script.write_text(MEMORY_CHILD)
    for seeds in (250, 1000):
        path = experiment(tmp, f"mem{seeds}", 50, 1, seeds)
        out = subprocess.run([sys.executable, str(script), str(path), str(tmp / f"mem{seeds}")],
                             capture_output=True, text=True, check=True, cwd=HERE.parent)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {r['runs']:>5} runs: {r['rss_kib'] / 1024:7.1f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20 runs of a small world")
    ap.add_argument("--memory", action="store_true", help="also measure driver memory")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask overhead")
    ap.add_argument("--population", type=int, default=1000)
    ap.add_argument("--days", type=int, default=14)
    args = ap.parse_args()
    pop, days, seeds = (args.population, args.days, 100)
    if args.quick:
        pop, days, seeds = 200, 3, 10
    print(f"outcome-gym sweep benchmark | {platform.processor() or platform.machine()} | "
          f"{len(os.sched_getaffinity(0))} CPUs | load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} | python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        throughput(tmp, pop, days, seeds)
        if not args.no_dask:
            dask_overhead(tmp, 10 if args.quick else 50, 40 if args.quick else 200)
        if args.memory:
            driver_memory(tmp)
    print(f"peak RSS of this driver: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MiB; load average now "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
