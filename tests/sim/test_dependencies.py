"""Dependencies point one way: scenario -> sim -> product -> policies/env -> runner.

Mechanisms also never read the scenario schema: they take the compiled world's arrays and
parameter records (``sim/world.py``, ``sim/params.py`` compile them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "outcome_gym"
FORBIDDEN = {
    "sim": ("outcome_gym.product", "outcome_gym.policies", "outcome_gym.env", "outcome_gym.runner"),
    "sim/mechanisms": ("outcome_gym.scenario.schema",),
    "product": ("outcome_gym.policies", "outcome_gym.env", "outcome_gym.runner"),
}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


@pytest.mark.parametrize("package", list(FORBIDDEN))
def test_no_import_against_the_reading_order(package):
    bad = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted((SRC / package).rglob("*.py"))
        for module in _imports(path)
        if module.startswith(FORBIDDEN[package])
    ]
    assert not bad, "\n".join(bad)
