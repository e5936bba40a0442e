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


def variant(scenario, **changes):
    """A copy of ``scenario`` with dotted-path changes, validated again."""
    return with_overrides(scenario, changes)
