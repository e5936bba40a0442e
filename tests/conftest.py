from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Under pytest-xdist (`make test` runs a worker per core) each worker compiles into a numba cache
# of its own, set here, before anything imports numba. numba writes its cache without a lock: two
# processes saving different signatures of one function at once can both take the same data
# file's name, and the index then pairs one signature with the other's machine code -- on a cold
# cache (a clean checkout, or any edit of a compiled module: the package stamp covers them all)
# that would run wrong code. Pool workers a test starts inherit their worker's folder and take
# its locks (sim/_jit.py's compile_together). One process (`TEST_WORKERS=0`) keeps the usual cache.
if _WORKER := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["NUMBA_CACHE_DIR"] = str(
        Path(os.environ.get("NUMBA_CACHE_DIR") or REPO / ".pytest_cache" / "numba") / _WORKER)

from outcome_gym.scenario import load_scenario  # noqa: E402 - after the cache folder is set
from outcome_gym.scenario.overrides import with_overrides  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"


@pytest.fixture(scope="session")
def tiny():
    return load_scenario(TINY)


def goal_params(spec, n):
    """A goal spec's per-user parameters (what Goals and the goal states draw) for ``n`` users
    all of the first segment (``PopulationPlan.goal_params`` for such a population)."""
    from outcome_gym.sim.population import PerUser

    return {key: PerUser.of(params, [slice(0, n)] + [slice(n, n)] * (len(params) - 1))
            for key, params in spec.per_user.items()}


def variant(scenario, **changes):
    """A copy of ``scenario`` with dotted-path changes, validated again."""
    return with_overrides(scenario, changes)
