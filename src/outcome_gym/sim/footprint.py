"""How much memory a world needs, measured on a small copy, and a refusal before it runs out.

A population is struct-of-arrays, so memory grows linearly in the number of users: a world of
10 million users (the schema's maximum) needs tens of gigabytes. Rather than keep a hand-written
table of every array (which the next mechanism would make wrong), :func:`bytes_per_user` *measures*
it: it builds the same world at :data:`PROBE_USERS` users under ``tracemalloc`` (numpy reports its
allocations there), takes one step and the per-user table, and divides the peak by the number of
users. :func:`check_footprint` multiplies by the world's size, adds a margin, and refuses — before
anything is allocated — when that exceeds the memory this process may use (the smallest of the
machine's available memory, the cgroup limit and ``RLIMIT_AS``).
"""

from __future__ import annotations

import os
import resource
import tracemalloc
from pathlib import Path

from outcome_gym.errors import Problem, ScenarioValidationError
from outcome_gym.scenario.schema import Scenario

PROBE_USERS = 2_000
CHECK_FROM = 200_000  # smaller worlds fit anywhere this package runs; skip the probe
MARGIN = 1.5  # temporaries of a step not seen in one probe step, allocator slack


def bytes_per_user(scenario: Scenario) -> float:
    """Peak bytes per user of building the world, one step and the per-user table (measured)."""
    from outcome_gym.scenario.loading import scenario_hash
    from outcome_gym.scenario.overrides import with_overrides

    probe = with_overrides(scenario, {"population.size": PROBE_USERS})
    key = scenario_hash(probe)
    if key not in _MEASURED:
        _MEASURED[key] = _measure(probe)
    return _MEASURED[key]


_MEASURED: dict[str, float] = {}  # probe scenario hash -> bytes per user


def _measure(probe: Scenario) -> float:
    """Peak traced bytes per user of a probe-sized world."""
    from outcome_gym.sim.model import SimulationModel, compile_kernels

    compile_kernels()  # numba's compiler allocates far more than the world: keep it out of the peak
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        model = SimulationModel(probe, 0, mesa_agents=False)
        model.advance(model.default_action())
        model.user_state()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if not tracing:
            tracemalloc.stop()
    return peak / PROBE_USERS


def available_bytes() -> int | None:
    """What this process may still allocate: the least of MemAvailable, the cgroup's room and
    RLIMIT_AS (``None`` when none of them can be read).
    """
    limits = [v for v in (_meminfo_available(), _cgroup_room(), _rlimit_as()) if v is not None]
    return min(limits) if limits else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)


def _rlimit_as() -> int | None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(soft - _vm_size(), 0)


def _vm_size() -> int:
    try:
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def check_footprint(scenario: Scenario, available: int | None = None) -> None:
    """Refuse a world that would not fit in memory (nothing is allocated when it is refused).

    Args:
        scenario: The world to run.
        available: Bytes this process may use (default: :func:`available_bytes`).

    Raises:
        ScenarioValidationError: The estimate exceeds what is available; the message gives both
            and the largest population that fits.
    """
    n = scenario.population.size
    if n < CHECK_FROM:
        return
    room = available if available is not None else available_bytes()
    if room is None:
        return
    per_user = bytes_per_user(scenario) * MARGIN
    if per_user * n <= room:
        return
    raise ScenarioValidationError([Problem(
        file="", path="population.size",
        message=f"expected a world that fits in memory: {n:,} users need about "
                f"{_gb(per_user * n)} ({per_user / 1e3:.1f} kB per user, measured on "
                f"{PROBE_USERS:,} users, x{MARGIN} margin), and {_gb(room)} is available; at "
                f"most about {int(room / per_user):,} users fit")])
