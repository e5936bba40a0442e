"""Where a step's time goes: CPU time per hook of ``SimulationModel.advance`` (issue #18).

    PYTHONPATH=src .venv/bin/python benchmarks/profile_hooks.py 1000 100000 [--reps 3]

For each N, each repetition builds the bench scenario's model (seed = repetition), steps days 0-1
untimed and times days 2-4 (bench_step.py's window) with every hook wrapped in a
``time.process_time`` counter: the split is CPU time of this process, so other load on the machine
moves it less than wall time (it still slows memory-bound work). Prints ms per step and the share
of the step per hook, largest first; "calls" is cProfile's count of Python-level calls per step
(numpy and built-ins included) in a separate, untimed run of the same window.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "oracle"))

from mesa_reference import load_bench_scenario  # noqa: E402

from outcome_gym.sim import model as sim_model  # noqa: E402

HOOKS = {"_notifications": "notifications", "_sessions": "sessions", "_engage": "engagement",
         "_context": "context events", "_outside": "outside progress", "_bookkeep": "bookkeeping",
         "observe": "observation", "_available_now": "availability"}


def _timed(acc: dict[str, float], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[label] = acc.get(label, 0.0) + time.process_time() - t0
    return run


def _model(n: int, seed: int) -> sim_model.SimulationModel:
    m = sim_model.SimulationModel(load_bench_scenario(n), seed=seed, mesa_agents=False)
    for _ in range(2 * m.world.slots_per_day):  # days 0-1 untimed
        m.advance(m.default_action())
    return m


def split(n: int, reps: int) -> tuple[float, int, dict[str, float]]:
    """CPU seconds of the timed window, its steps, and CPU seconds per hook."""
    acc: dict[str, float] = {}
    total, steps = 0.0, 0
    start_day = sim_model.start_day
    try:
        for rep in range(reps):
            m = _model(n, rep)
            # wrapped only now: the untimed days' day starts (day 1's is the first close, and
            # at N = 1e6 faults in new pages: 185 ms) are not the window's
            sim_model.start_day = _timed(acc, "day start", start_day)
            for attr, label in HOOKS.items():
                setattr(m, attr, _timed(acc, label, getattr(m, attr)))
            m.goals.apply = _timed(acc, "goals (apply)", m.goals.apply)
            m.goals.needs = _timed(acc, "goals (needs)", m.goals.needs)
            m.recorder.record = _timed(acc, "recording", m.recorder.record)
            t0 = time.process_time()
            for _ in range(3 * m.world.slots_per_day):
                m.advance(m.default_action())
                steps += 1
            total += time.process_time() - t0
            sim_model.start_day = start_day
    finally:
        sim_model.start_day = start_day
    return total, steps, acc


def calls_per_step(n: int) -> float:
    """Python-level calls per step (cProfile) over the same window."""
    m = _model(n, 0)
    prof = cProfile.Profile()
    prof.enable()
    k = 3 * m.world.slots_per_day
    for _ in range(k):
        m.advance(m.default_action())
    prof.disable()
    return pstats.Stats(prof).total_calls / k  # type: ignore[attr-defined]


def main() -> None:
    """Print the hook split for each N given."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    sim_model.compile_kernels()  # compiled (or loaded) outside every timing
    print(f"outcome_gym from {Path(sim_model.__file__).parents[1]}; load average "
          f"{os.getloadavg()[0]:.2f}")
    for n in args.sizes:
        total, steps, acc = split(n, args.reps)
        print(f"\nN = {n:,}: {total / steps * 1e3:.3f} ms CPU a step, "
              f"{n * steps / total:,.0f} user-steps per CPU-second, "
              f"{calls_per_step(n):.0f} calls a step")
        for label, sec in sorted(acc.items(), key=lambda kv: -kv[1]):
            print(f"  {label:18s} {sec / steps * 1e3:9.3f} ms  {100 * sec / total:5.1f}%")


if __name__ == "__main__":
    main()
