"""The reading order holds: no module imports against it (docs/design.md section 5).

scenario -> sim -> product -> env -> policies -> metrics -> runner -> sweeps -> analysis ->
compare -> check / studies / sensitivity -> report -> testing / validation / cli. Every import
of an outcome_gym module is counted, at module level or inside a function, so a lazy import
cannot hide a cycle. The exceptions: a Comparison draws its own report (compare -> report), and
a Story its own figure (story -> report), lazily, when asked to write.
Mechanisms also never read the scenario schema: they take the compiled world's arrays and
parameter records (sim/world.py and sim/params.py compile them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "outcome_gym"

LAYERS: list[set[str]] = [
    {"errors", "_io", "_pool", "_progress", "_registration", "__init__"},
    {"scenario", "bundled"},
    {"sim"},
    {"product"},
    {"env"},
    {"policies"},
    {"metrics"},
    {"runner"},
    {"sweeps"},
    {"analysis"},
    {"compare", "story"},
    {"check", "studies", "sensitivity"},
    {"report"},
    {"testing", "validation", "examples", "studio", "cli", "story_cli", "__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
ALLOWED = {("compare", "report"), ("story", "report")}


def _unit(module: str) -> str:
    """The top-level unit (package or module) of ``outcome_gym.a.b``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "outcome_gym":  # from outcome_gym import x (x a submodule or name)
                out += [(node.lineno, f"outcome_gym.{a.name}") for a in node.names]
            elif node.module.startswith("outcome_gym."):
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("outcome_gym.")]
    return out


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_unit_has_a_layer():
    units = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in _modules()}
    assert units <= set(RANK), f"add to LAYERS: {sorted(units - set(RANK))}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_against_the_reading_order(path):
    me = path.relative_to(SRC).parts[0].removesuffix(".py")
    if me == "__init__":
        return  # the package's API re-exports from every layer
    bad = []
    for line, module in _imports(path):
        other = _unit(module)
        if other in RANK and RANK[other] > RANK[me] and (me, other) not in ALLOWED:
            bad.append(f"{path.relative_to(SRC)}:{line} imports {module} ({me} -> {other})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", sorted((SRC / "sim" / "mechanisms").glob("*.py")),
                         ids=lambda p: p.name)
def test_mechanisms_never_read_the_scenario_schema(path):
    bad = [f"{path.name}:{line} imports {module}" for line, module in _imports(path)
           if module.startswith("outcome_gym.scenario.schema")]
    assert not bad, "\n".join(bad)
