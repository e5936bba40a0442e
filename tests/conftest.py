from __future__ import annotations

from pathlib import Path

import pytest

from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.overrides import with_overrides

REPO = Path(__file__).resolve().parents[1]
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
