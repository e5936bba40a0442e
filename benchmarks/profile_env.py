"""Where an env step's time goes by kind of work, not by hook (issue #18).

    PYTHONPATH=src .venv/bin/python benchmarks/profile_env.py [ENV_ID ...] [--steps 2000]

For each env id (default: the four ``Personalization*`` ids at N = 200), steps the env with
seeded random actions (as bench_env.py does), then steps it again with every call of four kinds
timed (``time.perf_counter`` around the call):

* **compiled**: every numba pass (``sim/_jit.py``'s ``compiled`` functions), numba's dispatch of
  the arguments included;
* **transcendental**: numpy's ``exp``, ``log``, ``log2``, ``expm1``, ``log1p``, ``power`` -- the
  calls the bitwise rule keeps outside the passes (docs/performance.md);
* **draws**: the per-user uniform draws (``Rows.uniform``); the tray's two float32 draws are
  generator calls inside the notification hook (``SimulationModel._notifications``), so they
  count in the rest;
* **the rest**: everything else -- the Python between the passes (the hooks' glue, the records,
  the recorder's bookkeeping), numpy's small calls, and the env, product and guardrail layers.

Beside the split it prints how much of the step is the model's ``advance`` (all four kinds
happen there, bar the guardrail's compiled pass): the remainder is the env, product and
guardrail layers (action decoding, guardrails, reward, observation and info). And, measured
before any timer is in place, what starting an episode costs: a ``reset`` and the excess of an
episode's first step over a later one, spread over the episode's steps (bench_env.py's figures
include resets: at the Segments and Variants ids' 28-step episodes a large share, see
docs/performance.md's thirteenth pass). The share is of the mean later step.

Then what the compiled passes and the draws cost **hot**: the input of a sample of each pass's
calls (and of each draw site's) in the timed run is copied before the call (arrays copied,
read-only flags and named tuples kept, generators deep-copied) and, after the run, the call is
made again 200 times in a row on that input (put back, untimed, before each call: most passes
change their arguments), the data and code in the caches and the branch history trained; the
per-step sum of those hot calls, against the same calls' time in the step.
The difference is what the step's cold caches cost the passes (everything else the step does
runs between two calls of a pass); the hot sum bounds what even a step fused into one call,
with no Python between the passes, would spend in them.

What it answers: how much a change of kind could buy. Computing the transcendental functions
inside the passes (a new reference run) could save at most their share; fusing the passes into
one call per step could save at most the rest's share plus the passes' dispatch. The timers add
~0.2 us a call (printed), so the "wrapped" step is a little slower than the plain one; shares
are of the wrapped step.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import copy  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_env  # noqa: E402

from outcome_gym.sim import model as sim_model  # noqa: E402
from outcome_gym.sim import rng as sim_rng  # noqa: E402
from outcome_gym.sim._jit import compiled  # noqa: E402

IDS = ("outcome_gym/Personalization-v0", "outcome_gym/PersonalizationVariants-v0",
       "outcome_gym/PersonalizationSegments-v0", "outcome_gym/PersonalizationRecipe-v0")
TRANSCENDENTAL = ("exp", "log", "log2", "expm1", "log1p", "power")
KINDS = ("compiled", "transcendental", "draws")

Tally = dict[str, list[float]]
# per kind, per function (a draw: per function and shape): [the function, calls, sampled
# argument copies] (the hot replay's)
Samples = dict[str, dict[Any, list[Any]]]
# a sample every 47th call of a function (47 divides no day's slots: samples fall on every
# slot), at most 8, each replayed 200 times
SAMPLE_EVERY, SAMPLES, HOT_CALLS = 47, 8, 200


def _copied(x: Any) -> Any:
    """``x`` with its arrays copied (read-only ones stay read-only, named tuples named: numba
    types them apart) and its generators deep-copied.
    """
    if isinstance(x, np.ndarray):
        y = x.copy()
        y.setflags(write=x.flags.writeable)
        return y
    if isinstance(x, tuple):
        items = [_copied(y) for y in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    if isinstance(x, np.random.Generator):
        return copy.deepcopy(x)
    return x


def _restore(work: Any, saved: Any) -> None:
    """Put ``saved`` (a :func:`_copied` input) back into ``work`` (another copy of it): the
    writable arrays' entries and the generators' states (a call may have changed them).
    """
    if isinstance(work, np.ndarray):
        if work.flags.writeable:
            np.copyto(work, saved)
    elif isinstance(work, tuple):
        for w, s in zip(work, saved, strict=True):
            _restore(w, s)
    elif isinstance(work, np.random.Generator):
        work.bit_generator.state = saved.bit_generator.state


def _timer(tally: Tally, kind: str, fn: Callable[..., Any],
           samples: Samples | None = None) -> Callable[..., Any]:
    clock = time.perf_counter

    def timed(*args: Any, **kwargs: Any) -> Any:
        sample = None
        if samples is not None:
            # a pass is one function; the draw sites share one: told apart by the shape drawn
            # (a pass called from two sites, e.g. add_weighted, mixes their samples)
            key = (fn, args[2]) if kind == "draws" else fn
            mine = samples[kind].setdefault(key, [fn, 0, []])
            mine[1] += 1
            if mine[1] % SAMPLE_EVERY == 0 and len(mine[2]) < SAMPLES:
                sample = (_copied(args), kwargs)  # the call's input, before the call changes it
        t0 = clock()
        out = fn(*args, **kwargs)
        entry = tally[kind]
        entry[0] += 1
        entry[1] += clock() - t0
        if sample is not None:
            mine[2].append(sample)
        return out

    return timed


def _hot(samples: Samples, kind: str, steps: int) -> float:
    """Seconds a step of ``kind``'s sampled calls take called :data:`HOT_CALLS` times in a row
    each, every call on the sampled input (put back untimed before each: a pass changes its
    arguments), the clock's own cost taken off; the median sample of each function or draw site,
    times its calls a step.
    """
    clock = time.perf_counter
    t0 = clock()
    for _ in range(10_000):
        clock()
    tick = (clock() - t0) / 10_000  # what one clock() reading adds to a timed call
    total = 0.0
    for fn, calls, sampled in samples[kind].values():
        times = []
        for args, kwargs in sampled:
            work = _copied(args)
            spent = 0.0
            for i in range(HOT_CALLS + 1):  # the first call untimed
                _restore(work, args)
                t0 = clock()
                fn(*work, **kwargs)
                if i:
                    spent += clock() - t0 - tick
            times.append(spent / HOT_CALLS)
        if times:
            total += statistics.median(times) * calls / steps
    return total


def _instrument(tally: Tally, samples: Samples) -> None:
    """Route every call of the three kinds through a timer (for the rest of this process), the
    passes' and the draws' sampled into ``samples``.
    """
    for fn in [o for o in gc.get_objects() if isinstance(o, compiled)]:
        # the partial's call target (sim/_jit.py): the dispatcher, now behind a timer
        fn.__setstate__((_timer(tally, "compiled", fn.dispatcher, samples), (), None,
                         fn.__dict__))
    for name in TRANSCENDENTAL:
        setattr(np, name, _timer(tally, "transcendental", getattr(np, name)))
    sim_rng.Rows.uniform = _timer(  # type: ignore[method-assign]
        tally, "draws", sim_rng.Rows.uniform, samples)
    sim_model.SimulationModel.advance = _timer(  # type: ignore[method-assign]
        tally, "advance", sim_model.SimulationModel.advance)


def _timer_cost(tally: Tally) -> float:
    """Seconds a timer adds around a call of nothing (printed, not subtracted): a sampling one,
    as the passes' and the draws' are (its bookkeeping and, every :data:`SAMPLE_EVERY` calls,
    its copy of the arguments run inside the wrapped step too).
    """
    tally["_probe"] = [0, 0.0]
    probe = _timer(tally, "_probe", lambda: None, {"_probe": {}})
    t0 = time.perf_counter()
    for _ in range(100_000):
        probe()
    cost = (time.perf_counter() - t0) / 100_000
    del tally["_probe"]
    return cost


def episode_start(env_id: str, steps: int, repeats: int = 3) -> tuple[float, float, float, float]:
    """Median over ``repeats`` runs of ``steps`` seeded random actions (resets included, as
    bench_env.py's): ``(reset, first step, later step, steps an episode)``, seconds by
    ``time.perf_counter`` around each call: the median reset and first step of a run, and the
    mean of its later steps (a day's start among them, as in the figure the share is of).
    """
    env = gym.make(env_id, population=200)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    clock = time.perf_counter
    runs = []
    for _ in range(repeats + 1):  # the first run untimed: first steps, caches
        env.reset(seed=0)
        resets, firsts, laters, first = [], [], [], True
        for a in actions:
            t0 = clock()
            _, _, terminated, truncated, _ = env.step(a)
            (firsts if first else laters).append(clock() - t0)
            first = terminated or truncated
            if first:
                t0 = clock()
                env.reset()
                resets.append(clock() - t0)
        runs.append((statistics.median(resets) if resets else 0.0, statistics.median(firsts),
                     statistics.fmean(laters), steps / max(len(resets), 1)))
    return tuple(statistics.median(r[i] for r in runs[1:]) for i in range(4))  # type: ignore[return-value]


def main() -> None:
    """Print each id's plain step time and its split by kind of work."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*", default=list(IDS))
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args()
    bench_env.warm()
    starts = {env_id: episode_start(env_id, args.steps) for env_id in args.ids}
    runs = {env_id: bench_env.stepper(env_id, 200, args.steps) for env_id in args.ids}
    plain = {}
    for env_id, run in runs.items():
        run()  # untimed: first steps, caches
        plain[env_id] = statistics.median(run() for _ in range(3))
    tally: Tally = {kind: [0, 0.0] for kind in (*KINDS, "advance")}
    samples: Samples = {"compiled": {}, "draws": {}}
    _instrument(tally, samples)
    cost = _timer_cost(tally)
    from _machine import describe, yardstick_line  # this script's folder is on sys.path

    print(describe())
    print(yardstick_line())
    print(f"load average {os.getloadavg()[0]:.2f}; a timer adds ~{cost * 1e6:.2f} us a call")
    for env_id, run in runs.items():
        run()
        for entry in tally.values():
            entry[:] = [0, 0.0]
        for by_fn in samples.values():
            by_fn.clear()
        wrapped = run()
        n = args.steps
        print(f"\n{env_id} (N = 200): plain {plain[env_id] / n * 1e6:.0f} us a step "
              f"(median of 3), wrapped {wrapped / n * 1e6:.0f}")
        rest = wrapped
        for kind in KINDS:
            calls, sec = tally[kind]
            rest -= sec
            print(f"  {kind:15s} {calls / n:5.1f} calls {sec / n * 1e6:7.1f} us  "
                  f"{sec / wrapped:6.1%}")
        print(f"  {'the rest':15s} {'':11s} {rest / n * 1e6:7.1f} us  {rest / wrapped:6.1%}")
        inside = tally["advance"][1]
        print(f"  (the model's advance {inside / n * 1e6:.1f} us, {inside / wrapped:.1%}; the env, "
              f"product and guardrail layers {(wrapped - inside) / n * 1e6:.1f} us, "
              f"{(wrapped - inside) / wrapped:.1%})")
        for kind in ("compiled", "draws"):
            hot, sec = _hot(samples, kind, n), tally[kind][1]
            print(f"  {kind} called again at once (hot): {hot * 1e6:.1f} us a step "
                  f"against {sec / n * 1e6:.1f} in the step (cold caches: "
                  f"{(sec / n - hot) * 1e6:.1f} us)")
        reset, first, later, length = starts[env_id]
        share = (reset + first - later) / length
        print(f"  starting an episode (no timers): reset {reset * 1e6:.0f} us, first "
              f"step {first * 1e6:.0f} us against {later * 1e6:.0f} a later one (mean); over ~{length:.0f} "
              f"steps an episode {share * 1e6:.1f} us a step ({share / later:.1%} of a later one)")


if __name__ == "__main__":
    main()
