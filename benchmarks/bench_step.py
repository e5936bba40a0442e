"""Speed and memory of one simulation step (issue #3): printed figures, not a timed test.

    .venv/bin/python benchmarks/bench_step.py            # full table, N = 1e3 .. 1e6 (~2-4 min)
    .venv/bin/python benchmarks/bench_step.py --quick    # smoke run, N = 1e3 and 1e4 (seconds)
    .venv/bin/python benchmarks/bench_step.py --profile  # cProfile of N = 1e5 steps, top functions

Every measurement runs in a fresh child process pinned to one (the idlest) CPU, with the
BLAS/OpenMP thread pools set to 1 before numpy is imported, stepping
``model.advance(model.default_action())`` on ``bench_scenario.yaml`` (20 elements, 5 layout slots,
2 notifications on one channel, 3 goals, 3 segments) with ``mesa_agents=False``. Per size:

* each repetition builds a fresh model, steps days 0-1 untimed (habits, tasks, budgets under way)
  and times days 2-4 (12 steps; the same days at every size, so sizes compare like for like); the
  figure is the median over repetitions (15 at N = 1e3 down to 3 at N = 1e5 and 1e6), in wall-clock time
  and, beside it, in the process's CPU time (less sensitive to other load on a shared machine);
* in the first repetition, model build and day 0 run under ``tracemalloc`` (never while timing);
  state bytes per user are ``model.pop.nbytes()`` plus the goal-state arrays; "all arrays" adds
  every other per-user array the model holds (teams, last step's outputs, event delay buffers,
  per-user totals); "traced" is tracemalloc's count after day 0 and "traced peak" its peak during
  day 0; "RSS growth" is the process's peak resident set minus its size after imports.

The per-agent Mesa reference (``tests/oracle/mesa_reference.py``) is timed over the same days at N = 1e3 and
1e4 in the same run. Run with ``PYTHONPATH=<other src>`` to measure another copy of the package
(the header prints which one was measured).

``--baseline-src DIR`` also times the copy of the package under ``DIR`` (e.g. a checkout of the
plain-numpy step before the compiled session loop: ``git worktree add /tmp/numpy-step <commit>``,
then ``--baseline-src /tmp/numpy-step/src``) at the same sizes in the same run and prints the
ratios. The full run also steps N = 1e6 for 28 days in one process and reports its peak resident
set (``--skip-memory`` leaves it out). The compiled passes of a step (sim/_jit.py) are compiled or
loaded from its cache on a small model before any measurement, so neither compile time nor
numba's own memory is counted in the timed window or in the per-user RSS growth.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "oracle"))

from mesa_reference import ReferenceModel, load_bench_scenario  # noqa: E402

import outcome_gym  # noqa: E402
from outcome_gym.sim.model import SimulationModel  # noqa: E402

# size -> repetitions (fresh model each); the per-agent reference at the two small sizes. Three
# at 1e6 (was one): a single repetition there swung the scaling figure 1.3x..2.1x between runs
FULL = {
    "vec": {1_000: 15, 10_000: 7, 100_000: 3, 1_000_000: 3},
    "ref": {1_000: 3, 10_000: 2},
}
QUICK = {"vec": {1_000: 3, 10_000: 2}, "ref": {1_000: 1}}
FIRST_TIMED_DAY = 2  # days 0 and 1 are stepped untimed (habits, tasks and budgets under way)
WINDOW_DAYS = 3  # timed days 2-4 (Wed-Fri) at every size, so sizes compare like for like
SEED = 0


# --- helpers ------------------------------------------------------------------------------------


def _idle_ticks() -> dict[int, int]:
    """Idle + iowait jiffies per CPU from /proc/stat (empty where unavailable)."""
    out = {}
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            name, *vals = line.split()
            if name.startswith("cpu") and name != "cpu":
                out[int(name[3:])] = int(vals[3]) + int(vals[4])
    except (OSError, ValueError, IndexError):
        return {}
    return out


def pin_one_core() -> int | None:
    """Pin this process to the idlest allowed CPU over 0.2 s (Linux); None where unsupported.

    On a shared machine this keeps the measurement off a core another process is busy on.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    before = _idle_ticks()
    time.sleep(0.2)
    after = _idle_ticks()
    cpu = max(allowed, key=lambda c: after.get(c, 0) - before.get(c, 0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def peak_rss_bytes() -> int:
    """Peak resident set of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def arrays_of(obj: Any, seen: set[int], depth: int = 0) -> int:
    """Bytes of every numpy array reachable from ``obj`` through attributes, dicts and lists."""
    if id(obj) in seen or depth > 4:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj if obj.base is None else obj.base
        if isinstance(base, np.ndarray) and base is not obj:
            return arrays_of(base, seen, depth)
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(arrays_of(v, seen, depth + 1) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(arrays_of(v, seen, depth + 1) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(
            arrays_of(getattr(obj, f.name), seen, depth + 1) for f in dataclasses.fields(obj)
        )
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("outcome_gym"):
        return sum(arrays_of(v, seen, depth + 1) for v in vars(obj).values())
    return 0


def state_bytes(model: SimulationModel) -> dict[str, int]:
    """Per-model bytes: population, goal states, and every array the model holds."""
    goals = sum(arrays_of(g, set()) for g in model.goals)
    seen: set[int] = set()
    world_and_scenario = arrays_of(model.world, seen)  # shared, not per user
    totals = arrays_of(model.totals, seen)
    everything = arrays_of(
        {k: v for k, v in vars(model).items() if k not in ("world", "scenario", "totals")}, seen
    )
    return {
        "pop": model.pop.nbytes(),
        "goals": goals,
        "all_arrays": everything + totals,
        "totals": totals,
        "shared": world_and_scenario,
    }


def step_days(model: Any, step: Any, days: int, cpu: list[float] | None = None) -> float:
    """Step whole days; return their wall time in seconds (and append the CPU time to ``cpu``)."""
    slots = model.world.slots_per_day if hasattr(model, "world") else model.slots_per_day
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(days * slots):
        step()
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    return wall


# --- workers (run in a child process) --------------------------------------------------------------


def _timings(n: int, cpu: int | None, builds: list[float], times: list[float],
             cpu_times: list[float], steps: int) -> dict[str, Any]:
    """The figures both workers report (JSON-ready)."""
    return {"n": n, "cpu": cpu, "build_s": float(np.median(builds)), "window_s": times,
            "window_cpu_s": cpu_times, "steps": steps}


def warm_kernel() -> float:
    """Compile (or load from the cache) the compiled passes of a step; seconds (0 without any)."""
    t0 = time.perf_counter()
    try:
        from outcome_gym.sim.model import compile_kernels
    except ImportError:  # a baseline copy without them, or with only the session loop
        try:
            from outcome_gym.sim.mechanisms.engagement import compile_kernel as compile_kernels
        except ImportError:
            return 0.0
    compile_kernels()
    return time.perf_counter() - t0


def worker_vectorized(n: int, reps: int, window: int) -> dict[str, Any]:
    """``reps`` fresh models; each steps days 0-1 untimed, then the timed window of whole days.

    The first repetition also measures memory: tracemalloc is on while the model is built and
    through day 0 (not while timing).
    """
    cpu = pin_one_core()
    scenario = load_bench_scenario(n)
    warm_s = warm_kernel()
    gc.collect()
    rss0 = peak_rss_bytes()
    times, cpu_times, builds, mem = [], [], [], {}
    for rep in range(reps):
        if rep == 0:
            tracemalloc.start()
        t0 = time.perf_counter()
        model = SimulationModel(scenario, SEED, mesa_agents=False)
        builds.append(time.perf_counter() - t0)

        def step(model: SimulationModel = model) -> None:
            model.advance(model.default_action())

        if rep == 0:
            traced_build = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            step_days(model, step, 1)
            traced_now, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            step_days(model, step, FIRST_TIMED_DAY - 1)
            mem = {
                "traced_build": traced_build,
                "traced_after_day0": traced_now,
                "traced_peak_day0": traced_peak,
            }
        else:
            step_days(model, step, FIRST_TIMED_DAY)
        times.append(step_days(model, step, window, cpu_times))
        if rep == 0:
            mem.update(state_bytes(model))
            mem["rss_growth"] = peak_rss_bytes() - rss0
        del model, step
        gc.collect()
    return {**_timings(n, cpu, builds, times, cpu_times, window * scenario.clock.slots_per_day),
            **mem, "warm_s": warm_s}


def worker_memory(n: int, days: int, _unused: int) -> dict[str, Any]:
    """Peak resident set of a process that builds N users and steps ``days`` whole days."""
    pin_one_core()
    scenario = load_bench_scenario(n)
    if scenario.clock.horizon_days < days:
        from outcome_gym.scenario.overrides import size_overrides, with_overrides

        scenario = with_overrides(scenario, size_overrides(None, days), file="<bench memory>")
    t0 = time.perf_counter()
    model = SimulationModel(scenario, SEED, mesa_agents=False)
    step_days(model, lambda: model.advance(model.default_action()), days)
    return {"n": n, "days": days, "peak_rss": peak_rss_bytes(), "wall_s": time.perf_counter() - t0,
            **state_bytes(model)}


def worker_reference(n: int, reps: int, window: int) -> dict[str, Any]:
    """The per-agent Mesa model over the same window (days 0-1 untimed)."""
    cpu = pin_one_core()
    scenario = load_bench_scenario(n)
    times, cpu_times, builds = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        model = ReferenceModel(scenario, SEED)
        builds.append(time.perf_counter() - t0)
        step_days(model, model.step, FIRST_TIMED_DAY)
        times.append(step_days(model, model.step, window, cpu_times))
        del model
        gc.collect()
    return _timings(n, cpu, builds, times, cpu_times, window * scenario.clock.slots_per_day)


def worker_profile(n: int, days: int, top: int) -> str:
    """cProfile of whole days of steps at size n after a warm-up day."""
    cpu = pin_one_core()
    model = SimulationModel(load_bench_scenario(n), SEED, mesa_agents=False)

    def step() -> None:
        model.advance(model.default_action())

    step_days(model, step, FIRST_TIMED_DAY)
    prof = cProfile.Profile()
    prof.enable()
    step_days(model, step, days)
    prof.disable()
    out = io.StringIO()
    steps = days * model.world.slots_per_day
    out.write(f"cProfile: N = {n:,}, {steps} steps (days {FIRST_TIMED_DAY}..), CPU {cpu}\n")
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    out.write(f"\n--- top {top} by cumulative time ---\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write(f"\n--- top {top} by own time (tottime) ---\n")
    stats.sort_stats("tottime").print_stats(top)
    out.write(
        "\n--- where numpy's reductions (sum/any/all/min along an axis) are called from ---\n"
    )
    stats.sort_stats("tottime").print_callers(r"method '(sum|any|min)' of 'numpy")
    return out.getvalue()


def run_child(*args: str, src: str | None = None) -> Any:
    """Run this script as a worker in a fresh process (importing the package from ``src`` when
    given); parse its JSON answer."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    env = None
    if src is not None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"worker {' '.join(args)} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout)


# --- report ---------------------------------------------------------------------------------------


def user_steps_per_s(res: dict[str, Any], clock: str = "window_s") -> float:
    """Median over repetitions of users x steps / seconds (wall, or CPU) over the timed window."""
    return res["n"] * res["steps"] / float(np.median(res[clock]))


def spread(res: dict[str, Any]) -> str:
    """Range of the repetitions around the median, in percent."""
    w = np.asarray(res["window_s"])
    if w.size < 2:
        return "  (1 rep)"
    med = np.median(w)
    return f"{100 * (w.min() / med - 1):+4.0f}/{100 * (w.max() / med - 1):+3.0f}%"


def print_env() -> None:
    import mesa
    from _machine import describe, yardstick_line  # this script's folder is on sys.path

    print(f"{describe()}, mesa {mesa.__version__}, BLAS/OpenMP threads = "
          f"{os.environ['OMP_NUM_THREADS']}, each size in a fresh process pinned to one core")
    print(yardstick_line())
    print(f"outcome_gym from {Path(outcome_gym.__file__).parent}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"scenario: {HERE / 'bench_scenario.yaml'} (seed {SEED}, static policy); "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at start\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: N = 1e3, 1e4, one timed day")
    ap.add_argument("--profile", action="store_true", help="cProfile at N = 1e5 (top functions)")
    ap.add_argument("--profile-n", type=int, default=100_000, help=argparse.SUPPRESS)
    ap.add_argument("--top", type=int, default=25, help="rows per profile listing")
    ap.add_argument("--baseline-src", help="also time the package under this src directory")
    ap.add_argument("--skip-memory", action="store_true", help="leave out the 1e6 x 28-day run")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        kind, *rest = args.worker
        a, b, c = (int(x) for x in rest)
        if kind == "vec":
            out: Any = worker_vectorized(a, b, c)
        elif kind == "ref":
            out = worker_reference(a, b, c)
        elif kind == "mem":
            out = worker_memory(a, b, c)
        else:
            out = worker_profile(a, b, c)
        print(json.dumps(out))
        return 0

    sys.stdout.reconfigure(line_buffering=True)
    print_env()
    if args.profile:
        print(run_child("prof", str(args.profile_n), str(WINDOW_DAYS), str(args.top)))
        return 0

    plan = QUICK if args.quick else FULL
    window = 1 if args.quick else WINDOW_DAYS
    t_start = time.perf_counter()
    vec, ref = {}, {}
    for n, reps in plan["vec"].items():
        vec[n] = run_child("vec", str(n), str(reps), str(window))
        print(f"  measured N = {n:,} ({reps} reps)", file=sys.stderr)
    for n, reps in plan["ref"].items():
        ref[n] = run_child("ref", str(n), str(reps), str(window))
        print(f"  measured per-agent reference N = {n:,} ({reps} reps)", file=sys.stderr)
    baseline = {}
    if args.baseline_src:
        for n, reps in plan["vec"].items():
            baseline[n] = run_child("vec", str(n), str(reps), str(window), src=args.baseline_src)
            print(f"  measured baseline N = {n:,} ({reps} reps)", file=sys.stderr)
    memory = None
    if not args.quick and not args.skip_memory:
        memory = run_child("mem", "1000000", "28", "0")
        print("  measured N = 1e6 x 28 days", file=sys.stderr)

    last = FIRST_TIMED_DAY + window - 1
    print(
        f"Vectorized SimulationModel, one core; timed window = days {FIRST_TIMED_DAY}-{last} "
        f"({vec[min(vec)]['steps']} steps) after 2 untimed days,\n"
        "median of reps (spread = fastest/slowest rep vs the median)"
    )
    hdr = (
        f"{'N':>10} {'reps':>4} {'spread':>9} {'user-steps/s':>13} {'us/user-step':>12} "
        f"{'per CPU-s':>10} "
        f"{'state B/user':>12} {'(pop':>6} {'+goals)':>7} {'all arrays':>10} {'traced':>7} "
        f"{'traced peak':>11} {'RSS growth':>10} {'build s':>7}"
    )
    print(hdr)
    print("-" * len(hdr))
    for n, r in vec.items():
        ups = user_steps_per_s(r)
        print(
            f"{n:>10,} {len(r['window_s']):>4} {spread(r):>9} {ups:>13,.0f} {1e6 / ups:>12.3f} "
            f"{user_steps_per_s(r, 'window_cpu_s'):>10,.0f} "
            f"{(r['pop'] + r['goals']) / n:>12.1f} {r['pop'] / n:>6.0f} {r['goals'] / n:>7.0f} "
            f"{r['all_arrays'] / n:>10.1f} {r['traced_after_day0'] / n:>7.0f} "
            f"{r['traced_peak_day0'] / n:>11.0f} {r['rss_growth'] / n:>10.0f} {r['build_s']:>7.2f}"
        )
    largest = max(vec)
    print(
        "  bytes per user. state = model.pop.nbytes() + goal-state arrays; all arrays = every "
        "per-user array the model\n  holds, incl. the per-user totals (recorded history, "
        f"{vec[largest]['totals'] / largest:.0f} B/user); traced = tracemalloc after day 0 "
        "(model built, one day run);\n  traced peak = highest tracemalloc count during day 0 "
        "(state + one step's temporaries); RSS growth = peak RSS\n  minus RSS after imports. At "
        "small N the traced and RSS figures are dominated by fixed costs. user-steps/s is wall-clock;"
        "\n  per CPU-s uses the process's CPU time instead (less sensitive to other load on the "
        "machine)."
    )

    print("\nPer-agent Mesa reference (tests/oracle/mesa_reference.py), same window, same run")
    hdr2 = (
        f"{'N':>10} {'reps':>4} {'spread':>9} {'vectorized':>12} {'per-agent':>10} "
        f"{'us/user-step':>12} {'ratio':>7} {'CPU ratio':>9}"
    )
    print(hdr2)
    print("-" * len(hdr2))
    ratios = {}
    for n, r in ref.items():
        v, a = user_steps_per_s(vec[n]), user_steps_per_s(r)
        cpu_ratio = user_steps_per_s(vec[n], "window_cpu_s") / user_steps_per_s(r, "window_cpu_s")
        ratios[n] = v / a
        print(
            f"{n:>10,} {len(r['window_s']):>4} {spread(r):>9} {v:>12,.0f} {a:>10,.0f} "
            f"{1e6 / a:>12.2f} {v / a:>6.1f}x {cpu_ratio:>8.1f}x"
        )

    base_n = 10_000
    print(f"\nScaling: time per user-step relative to N = {base_n:,} (same window)")
    base = 1.0 / user_steps_per_s(vec[base_n])
    for n, r in vec.items():
        t = 1.0 / user_steps_per_s(r)
        print(f"{n:>10,}  {t * 1e6:7.3f} us/user-step  x{t / base:5.2f}")

    if baseline:
        print(f"\nBaseline: the package under {args.baseline_src}, same sizes, same run")
        print(f"{'N':>10} {'this':>12} {'baseline':>12} {'ratio':>7}   {'per CPU-s:':>10} "
              f"{'this':>10} {'baseline':>10} {'ratio':>7}")
        for n, r in baseline.items():
            v, b = user_steps_per_s(vec[n]), user_steps_per_s(r)
            vc, bc = (user_steps_per_s(vec[n], "window_cpu_s"),
                      user_steps_per_s(r, "window_cpu_s"))
            print(f"{n:>10,} {v:>12,.0f} {b:>12,.0f} {v / b:>6.2f}x   {'':>10} {vc:>10,.0f} "
                  f"{bc:>10,.0f} {vc / bc:>6.2f}x")
        for n, r in ref.items():
            b = user_steps_per_s(baseline[n]) / user_steps_per_s(r)
            print(f"  baseline / per-agent at N = {n:,}: {b:.1f}x")
    if memory is not None:
        print(f"\nN = 1,000,000 for {memory['days']} days in one process: peak RSS "
              f"{memory['peak_rss'] / 2**30:.2f} GiB, state {(memory['pop'] + memory['goals']) / 1e6:.0f}"
              f" B/user, all arrays {memory['all_arrays'] / 1e6:.0f} B/user, {memory['wall_s']:.0f} s")
    print(f"compile or cache load of the compiled passes (outside every timing): "
          f"{vec[min(vec)]['warm_s']:.2f} s in the first worker")

    print("\nTargets (issue #18)")
    checks = []
    if 100_000 in vec:
        ups = user_steps_per_s(vec[100_000])
        checks.append(("user-steps/s at N = 1e5 >= 2,000,000", f"{ups:,.0f}", ups >= 2e6))
    for n, ratio in ratios.items():
        need = 50 if n >= 10_000 else 20
        checks.append((f"vectorized / per-agent at N = {n:,} >= {need}x", f"{ratio:.1f}x",
                       ratio >= need))
    state = (vec[largest]["pop"] + vec[largest]["goals"]) / largest
    checks.append(("state <= 1 KiB per user", f"{state:.0f} B (N = {largest:,})", state <= 1024))
    if 1_000_000 in vec:
        r6 = user_steps_per_s(vec[base_n]) / user_steps_per_s(vec[1_000_000])
        checks.append(("us/user-step at N = 1e6 / N = 1e4 <= 1.5", f"{r6:.2f}", r6 <= 1.5))
    if memory is not None:
        gib = memory["peak_rss"] / 2**30
        checks.append(("peak RSS at N = 1e6 x 28 days <= 4 GiB", f"{gib:.2f} GiB", gib <= 4))
    for name, got, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {name:46s} {got}")
    print(f"\n(total benchmark wall time {time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
