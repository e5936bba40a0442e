from __future__ import annotations

from pathlib import Path

import pytest

from outcome_gym.scenario import load_scenario, scenario_to_dict, validate_scenario

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"


@pytest.fixture(scope="session")
def tiny():
    return load_scenario(TINY)


def variant(scenario, **changes):
    """A copy of ``scenario`` with dotted-path changes, validated again."""
    data = scenario_to_dict(scenario)
    for dotted, value in changes.items():
        node = data
        parts = dotted.split(".")
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return validate_scenario(data)
