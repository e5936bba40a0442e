"""Study parameters and the experiment files that hold them (``experiments/<name>.yaml``).

Every study has a strict parameter model (subclass of :class:`StudyParams`) whose defaults are the
full, published version, and a ``FAST`` dict of overrides for the small version the test suite runs.
An experiment file names its study and may override any parameter::

    study: trap
    params:
      seeds: 10
      users: 10000

The file is read with the project's safe YAML loader and validated strictly; every problem names
the file, key path, line, what was expected and what was given.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import Field, ValidationError, create_model

from outcome_gym.errors import Problem, ScenarioValidationError
from outcome_gym.scenario.distributions import StrictModel
from outcome_gym.scenario.loading import problems_from_validation_error
from outcome_gym.scenario.overrides import size_overrides as scenario_sizes
from outcome_gym.scenario.yamlio import load_yaml_mapping, read_text

# name -> module under outcome_gym.studies (imported on demand)
STUDIES: dict[str, str] = {
    "trap": "trap",
    "timing": "timing",
    "crowdout": "crowdout",
    "volume": "volume",
    "fragmentation": "fragmentation",
    "frontier": "frontier",
    "adaptive": "adaptive",
    "mechanisms": "mechanisms",
}


class StudyParams(StrictModel):
    """Parameters every study has."""

    seeds: int = Field(default=10, ge=2, le=1000, description="Paired seeds per arm.")
    first_seed: int = Field(default=0, ge=0, description="First seed.")

    def seed_list(self) -> list[int]:
        """The seeds, in order."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


def size_overrides(params: StudyParams) -> tuple[tuple[str, object], ...]:
    """Scenario overrides from a study's ``users`` and ``horizon_days`` parameters (None: keep)."""
    return tuple(scenario_sizes(getattr(params, "users", None),
                                getattr(params, "horizon_days", None)).items())


def study_module(name: str) -> ModuleType:
    """The module of study ``name``.

    Raises:
        ScenarioValidationError: No such study.
    """
    if name not in STUDIES:
        import difflib

        close = difflib.get_close_matches(name, list(STUDIES), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ScenarioValidationError([Problem(
            file="<command line>", path="study",
            message=f"expected one of {', '.join(STUDIES)}, got {name!r}.{hint}")])
    return importlib.import_module(f"outcome_gym.studies.{STUDIES[name]}")


def default_params(name: str, fast: bool = False) -> StudyParams:
    """A study's parameters: the full defaults, or the test-suite version when ``fast``."""
    mod = study_module(name)
    return mod.Params(**(mod.FAST if fast else {}))


def load_study_file(path: str | Path, fast: bool = False) -> tuple[str, StudyParams]:
    """Read ``experiments/<name>.yaml``: the study's name and its validated parameters.

    ``fast`` applies the study's ``FAST`` overrides on top of the file (for a quick look).

    Raises:
        ScenarioFileError: Unreadable or not a YAML mapping.
        ScenarioValidationError: Unknown study, unknown keys, wrong types or values.
    """
    p = Path(path)
    text = read_text(p)
    data, lines = load_yaml_mapping(text, str(p))
    study = data.get("study")
    if not isinstance(study, str):
        raise ScenarioValidationError([Problem(
            file=str(p), path="study", line=lines.get(("study",)),
            message=f"expected the study's name, one of {', '.join(STUDIES)}, got {study!r}")])
    try:
        mod = study_module(study)
    except ScenarioValidationError as exc:
        raise ScenarioValidationError([Problem(
            file=str(p), path="study", line=lines.get(("study",)), message=exc.problems[0].message)
        ]) from None
    model = create_model(
        "ExperimentFile",
        __base__=StrictModel,
        study=(Literal[study], ...),  # type: ignore[valid-type]
        description=(str, ""),
        params=(mod.Params, mod.Params()),
    )
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, data, str(p), lines, root=model)
        raise ScenarioValidationError(problems) from None
    params: StudyParams = parsed.params  # type: ignore[attr-defined]
    if fast:
        params = mod.Params(**{**params.model_dump(), **mod.FAST})
    return study, params


def resolve(source: str, fast: bool = False) -> tuple[str, StudyParams]:
    """A study name (its defaults) or an experiment file: the name and the parameters."""
    if source in STUDIES:
        return source, default_params(source, fast)
    p = Path(source)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return load_study_file(p, fast)
    study_module(source)  # raises with a suggestion
    raise AssertionError("unreachable")  # pragma: no cover


def params_dict(params: StudyParams) -> dict[str, Any]:
    """JSON-ready parameters."""
    return params.model_dump(mode="json")
