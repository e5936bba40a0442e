"""A story's wall time against one run of the same world (issue #21: at most one run's time).

    .venv/bin/python benchmarks/bench_story.py            # three bundled worlds, 5 repeats
    .venv/bin/python benchmarks/bench_story.py --quick    # tests/fixtures/tiny.yaml, 2 repeats

A story replays the user's seed twice (the reference and the policy). Per world, in one process
with every import done and every kernel compiled first, the median over repeats of: one run of the
policy (``runner.run``), the story with both replays in this process (``workers=1``) and the
story as ``outcome-gym story`` tells it by default (the replays in forked children side by side,
``story._replays``). The figures are wall times, so the load average and the usable CPUs are
printed: the side-by-side story needs a second core that is free.
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
from outcome_gym.runner import run  # noqa: E402
from outcome_gym.scenario import load_scenario  # noqa: E402
from outcome_gym.story import tell  # noqa: E402

WORLDS = {"productivity_tool": "engagement_bandit", "learning_habits": "engagement_bandit",
          "finance_alerts": "outcome_bandit"}
TINY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tiny.yaml"


def _median(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    """Print, per world, one run's time, the serial and the default story's, and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    worlds = {str(TINY): "engagement_bandit"} if a.quick else WORLDS
    repeats = 2 if a.quick else a.repeats
    load0 = os.getloadavg()[0]
    print(f"usable CPUs {default_workers()}; load average {load0:.2f} at the start")
    print(f"{'world':<20}{'users':>6}{'one run':>10}{'story, serial':>15}{'story':>10}"
          f"{'story / run':>13}")
    for world, policy in worlds.items():
        sc = load_scenario(world)
        tell(sc, policy, seed=0, user=1)  # imports, compiled kernels, a warm fork
        t_run = _median(lambda: run(sc, policy, 1), repeats)  # noqa: B023 (called at once)
        t_serial = _median(lambda: tell(sc, policy, seed=1, user=1, workers=1),  # noqa: B023
                           repeats)
        t_story = _median(lambda: tell(sc, policy, seed=1, user=1), repeats)  # noqa: B023
        print(f"{sc.name:<20}{sc.population.size:>6}{t_run:>9.3f}s{t_serial:>14.3f}s"
              f"{t_story:>9.3f}s{t_story / t_run:>12.2f}x")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (target: story / run <= 1.00 on a "
          "machine with a free second core)")


if __name__ == "__main__":
    main()
