"""``outcome-gym validate``: check a file of any kind without running or building anything.

The kind is read from the file's top-level keys (or given with ``--kind``):

    contract   ``candidate`` or ``expectations``               (``outcome-gym check``)
    sweep      ``policies``, ``grid`` or ``zip``                (``outcome-gym sweep``)
    study      ``study`` or ``params``                          (``outcome-gym study``)
    rules      ``rules`` or ``default``, and no scenario keys   (the ``rules`` policy)
    scenario   anything else, a bundled name, or a file that is not a YAML mapping

Validation is the check a real run does first, minus the run: a sweep is expanded and every
point's scenario validated, a contract's scenarios loaded; every policy a file names is resolved
and its parameters checked against its signature, but nothing is constructed or called. A
``module:Class`` policy's module and a study's module are imported (importing runs the module's
top-level code: such files are code, see docs/security.md). Nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outcome_gym.errors import InputError

KINDS = ("scenario", "sweep", "contract", "rules", "study")
_SCENARIO_KEYS = {"clock", "product", "population"}


def detect_kind(source: str | Path) -> str:
    """The kind of file ``source`` is (``scenario`` when it cannot tell, e.g. unreadable)."""
    from outcome_gym.scenario.yamlio import load_yaml_mapping, read_text

    path = Path(source)
    if not path.is_file():
        return "scenario"  # a bundled name, or a missing file: the scenario loader says which
    try:
        data, _ = load_yaml_mapping(read_text(path), str(path))
    except InputError:
        return "scenario"
    keys = set(data)
    if keys & {"candidate", "expectations"}:
        return "contract"
    if keys & {"policies", "grid", "zip"}:
        return "sweep"
    if keys & {"study", "params"}:
        return "study"
    if keys & {"rules", "default"} and not keys & _SCENARIO_KEYS:
        return "rules"
    return "scenario"


def validate_file(source: str | Path, kind: str | None = None,
                  scenario: str | Path | None = None) -> str:
    """Validate ``source`` as ``kind`` (detected when None); a short description when valid.

    ``scenario`` (a bundled name or path): check a rules file's ids against it too.

    Raises:
        InputError: Every problem found (a ScenarioError, SweepFileError, ContractError,
            RulesFileError or StudyFileError), each with file, line and key path.
        ValueError: An unknown ``kind``.
    """
    kind = kind or detect_kind(source)
    if kind not in KINDS:
        raise ValueError(f"expected a kind among {', '.join(KINDS)}, got {kind!r}")
    if kind == "rules":
        return _rules(source, scenario)
    return _VALIDATORS[kind](source)


def _scenario(source: str | Path) -> str:
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.generate import appeal_value_correlation

    rho = appeal_value_correlation(load_scenario(source).product.elements)
    return "" if rho is None else f"(appeal-value correlation of the laid-out elements {rho:+.2f})"


def _sweep(source: str | Path) -> str:
    from outcome_gym.sweeps.sweep import plan_sweep

    plan = plan_sweep(Path(source))  # expands and checks; builds no policy
    return f"sweep file ({len(plan.runs)} runs)"


def _contract(source: str | Path) -> str:
    from outcome_gym.check import load_contract, plan_lines

    contract, base = load_contract(source)
    plan_lines(contract, base)  # loads its scenarios and checks the expectations against them
    return "contract file"


def _rules(source: str | Path, scenario: str | Path | None = None) -> str:
    from outcome_gym.errors import RulesFileError
    from outcome_gym.policies.rules import read_rules, rules_problems

    spec, file, lines = read_rules(Path(source))
    if scenario is None:
        return f"rules file ({len(spec.rules)} rules; give --scenario to check its ids)"
    from outcome_gym.scenario import load_scenario

    sc = load_scenario(scenario)
    problems = rules_problems(spec, sc, file, lines)
    if problems:
        raise RulesFileError(problems)
    return f"rules file ({len(spec.rules)} rules, checked against {sc.name})"


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a file kind (for editors and external validators).

    A study file's ``params`` is an open object here: each study checks its own (``outcome-gym
    validate`` does).

    Raises:
        ValueError: An unknown ``kind``.
    """
    if kind not in KINDS:
        raise ValueError(f"expected a kind among {', '.join(KINDS)}, got {kind!r}")
    from outcome_gym.check.contract import Contract
    from outcome_gym.policies.rules import RulesSpec
    from outcome_gym.scenario import scenario_json_schema
    from outcome_gym.studies.spec import StudyFileSchema
    from outcome_gym.sweeps.schema import Experiment

    if kind == "scenario":
        return scenario_json_schema()
    model = {"sweep": Experiment, "contract": Contract, "rules": RulesSpec,
             "study": StudyFileSchema}[kind]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"outcome-gym {kind} file"
    return schema


def _study(source: str | Path) -> str:
    from outcome_gym.studies.spec import load_study_file

    mod, _ = load_study_file(source)
    return f"study file (study {mod.NAME})"


_VALIDATORS: dict[str, Any] = {"scenario": _scenario, "sweep": _sweep, "contract": _contract,
                               "rules": _rules, "study": _study}

__all__ = ["KINDS", "detect_kind", "json_schema", "validate_file"]
