"""A story's wall time against one run of the same world (issue #21: at most one run's time).

    .venv/bin/python benchmarks/bench_story.py            # three bundled worlds, 5 repeats
    .venv/bin/python benchmarks/bench_story.py --quick    # tests/fixtures/tiny.yaml, 2 repeats

A story replays the user's seed twice (the reference and the policy); a side whose policy treats
users apart (static, rules) is replayed for the user's team only (``SimulationModel(users=)``).
Per world, in one process with every import done and every kernel compiled first, the median over
repeats of: one run of the policy (``runner.run``), the story with both replays in this process
(``workers=1``), the story as ``outcome-gym story`` tells it by default (the replays in forked
children side by side, ``story._replays``) and, for comparison, the same with both sides replayed
for every user (``subset=False``, the story before subset replays). The last world's policy is a
rules policy: both sides are then subsets. The figures are wall times, so the load average and the
usable CPUs are printed: the side-by-side story needs a second core that is free. The last column
is the work a story costs against a run, whatever the load: the CPU time of the story told in this
process (``workers=1``) over that of one run.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from outcome_gym._pool import default_workers  # noqa: E402
from outcome_gym.policies.spec import PolicySpec  # noqa: E402
from outcome_gym.runner import run  # noqa: E402
from outcome_gym.scenario import load_scenario  # noqa: E402
from outcome_gym.story import tell  # noqa: E402

MIDWEEK = {"name": "midweek_alerts", "rules": [
    {"id": "overspender_alert", "when": {"segments": ["overspender"], "weekdays": ["tue", "wed"],
                                         "slots": ["evening"], "active_within_days": 7},
     "then": {"notify": ["spend_alert"], "once_per_days": 7}},
    {"id": "show_budget", "when": {"event_within_days": {"event": "budget.crossed", "days": 30}},
     "then": {"promote": "budget_view"}}]}
"""The rules module docstring's example (outcome_gym/policies/rules.py) for finance_alerts."""
WORLDS: list[tuple[str, str, dict]] = [
    ("productivity_tool", "engagement_bandit", {}), ("learning_habits", "engagement_bandit", {}),
    ("finance_alerts", "outcome_bandit", {}), ("finance_alerts", "rules", {"rules": MIDWEEK})]
TINY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny.yaml"


def _medians(fns: dict[str, Callable[[], object]],
             repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall time and CPU time (this process's) of each function over ``repeats`` rounds;
    each round calls every function once in turn, so a change of the machine's load falls on all
    of them alike.
    """
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return ({name: statistics.median(ts) for name, ts in wall.items()},
            {name: statistics.median(ts) for name, ts in cpu.items()})


def main() -> None:
    """Print, per world, one run's time, the serial, the default and the full-replay story's, and
    the default story's ratio to one run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    worlds = [(str(TINY), "engagement_bandit", {})] if a.quick else WORLDS
    repeats = 2 if a.quick else a.repeats
    load0 = os.getloadavg()[0]
    print(f"usable CPUs {default_workers()}; load average {load0:.2f} at the start")
    print(f"{'world':<20}{'policy':<19}{'users':>6}{'one run':>10}{'story, serial':>15}"
          f"{'story':>10}{'full replays':>14}{'story / run':>13}{'CPU, serial / run':>19}")
    for world, name, params in worlds:
        sc, spec = load_scenario(world), PolicySpec(policy=name, params=params)
        tell(sc, spec, seed=0, user=1)  # imports, compiled kernels, a warm fork
        # the lambdas are called at once, in this iteration
        t, cpu = _medians({
            "run": lambda: run(sc, name, 1, policy_params=params),  # noqa: B023
            "serial": lambda: tell(sc, spec, seed=1, user=1, workers=1),  # noqa: B023
            "story": lambda: tell(sc, spec, seed=1, user=1),  # noqa: B023
            "full": lambda: tell(sc, spec, seed=1, user=1, subset=False)}, repeats)  # noqa: B023
        t_run, t_serial, t_story, t_full = t["run"], t["serial"], t["story"], t["full"]
        print(f"{sc.name:<20}{name:<19}{sc.population.size:>6}{t_run:>9.3f}s{t_serial:>14.3f}s"
              f"{t_story:>9.3f}s{t_full:>13.3f}s{t_story / t_run:>12.2f}x"
              f"{cpu['serial'] / cpu['run']:>18.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (target: story / run <= 1.00 on a "
          "machine with a free second core)")


if __name__ == "__main__":
    main()
