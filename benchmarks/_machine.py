"""What machine a benchmark ran on, and how fast it does the two kinds of work that bound a step.

The issue's targets (#18) are wall-clock figures, so the machine is part of every figure: the
same code ran 2.1-2.5x slower on one session's AMD EPYC than on the previous session's, whose
``/proc/cpuinfo`` gave the same model name ("AMD EPYC" under KVM). :func:`describe` therefore
adds the CPU's family, model, clock and cache to the name, and :func:`yardstick` times two fixed
pieces of work no change of this package moves: a pure-Python loop (the interpreter's speed, what
the Python between the compiled passes runs at) and numpy's uniform draws (what the per-user
draws run at). Two runs of a benchmark on different machines compare through these lines.

Imported by the benchmark scripts (their folder is on ``sys.path`` when they run).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

_CPU_FIELDS = ("model name", "cpu family", "model", "cpu MHz", "cache size")


def cpu_fields(cpuinfo: str) -> dict[str, str]:
    """The first processor's :data:`_CPU_FIELDS` in the text of ``/proc/cpuinfo``."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():  # the first processor's block ends at its blank line
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key in _CPU_FIELDS:  # (a block names each field once)
            fields[key] = value.strip()
    return fields


def describe() -> str:
    """One line: the CPU (name, family, model, clock and ``cache size`` where Linux's
    ``/proc/cpuinfo`` gives them), the CPU count, the platform and the Python and numpy versions.
    """
    try:
        f = cpu_fields(Path("/proc/cpuinfo").read_text())
    except OSError:
        f = {}
    name = f.get("model name") or platform.processor() or platform.machine()
    # "cache size" is what the kernel reports: a core's L2 on AMD, the shared L3 on Intel
    detail = ", ".join(f"{k} {f[k]}" for k in _CPU_FIELDS[1:] if k in f)
    return (f"CPU: {name}" + (f" ({detail})" if detail else "")
            + f"; {os.cpu_count()} CPUs; {platform.system()} {platform.machine()}; "
            f"python {platform.python_version()}, numpy {np.__version__}")


def _best(work, repeats: int = 5) -> float:
    """The fastest of ``repeats`` timings of ``work()``, seconds (the least disturbed)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def yardstick() -> tuple[float, float]:
    """The machine's speed at fixed work, fastest of five (~0.1 s in all).

    Returns:
        Nanoseconds an iteration of a pure-Python loop (a multiply-add and a comparison), and
        nanoseconds a float64 uniform drawn by numpy's ``Generator.random(out=...)`` into a
        buffer of 100,000 (PCG64).
    """
    n = 200_000

    def loop() -> None:
        x = 0
        for i in range(n):
            x = (x * 3 + i) & 0xFFFF
            if x == -1:  # never: a comparison per iteration, as the step's glue has
                break

    gen = np.random.Generator(np.random.PCG64(0))
    buf = np.empty(100_000)
    python_ns = _best(loop) / n * 1e9
    draw_ns = _best(lambda: gen.random(out=buf)) / buf.size * 1e9
    return python_ns, draw_ns


def yardstick_line() -> str:
    """:func:`yardstick` as a printed line."""
    python_ns, draw_ns = yardstick()
    return (f"yardstick: a pure-Python loop {python_ns:.1f} ns an iteration; numpy "
            f"{draw_ns:.2f} ns a float64 uniform (fastest of 5)")
