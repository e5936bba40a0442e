"""Wall time of each bundled scenario at 10,000 users over its whole horizon, on one core (issue #7).

    .venv/bin/python benchmarks/bench_scenarios.py                 # static and engagement_bandit
    .venv/bin/python benchmarks/bench_scenarios.py --users 2000    # another size

The promise is under a minute per scenario for 10,000 users on one core. Each measurement runs in a
fresh child process with the BLAS/OpenMP pools at one thread, pinned to one CPU where the platform
allows it; the figure is the full ``outcome_gym.runner.run`` (model build, every step, the policy,
guardrails and the result tables), in wall-clock and process CPU seconds.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

LIMIT_S = 60.0

CHILD = """
import json, os, sys, time
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
from outcome_gym.runner import run
from outcome_gym.studies.runs import Job, job_scenario
name, policy, users = sys.argv[1], sys.argv[2], int(sys.argv[3])
sc = job_scenario(Job(name, overrides=(("population.size", users),)))
t0, c0 = time.perf_counter(), time.process_time()
run(sc, policy, 0)
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "steps": sc.clock.n_steps,
                  "days": sc.clock.horizon_days}))
"""


def measure(name: str, policy: str, users: int) -> dict[str, float]:
    """One fresh-process measurement."""
    out = subprocess.run([sys.executable, "-c", CHILD, name, policy, str(users)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print one row per scenario and policy."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--policies", default="static,engagement_bandit")
    args = ap.parse_args()
    from outcome_gym.scenario.loading import bundled_scenarios

    print(f"bundled scenarios at {args.users:,} users, whole horizon, one core "
          f"(limit {LIMIT_S:.0f} s)")
    print(f"{'scenario':<20} {'policy':<20} {'days':>5} {'steps':>6} {'wall s':>8} {'cpu s':>8}"
          f" {'under limit':>12}")
    for name in sorted(bundled_scenarios()):
        for policy in args.policies.split(","):
            m = measure(name, policy, args.users)
            print(f"{name:<20} {policy:<20} {m['days']:>5} {m['steps']:>6} {m['wall']:>8.1f} "
                  f"{m['cpu']:>8.1f} {'yes' if m['wall'] < LIMIT_S else 'NO':>12}", flush=True)


if __name__ == "__main__":
    main()
