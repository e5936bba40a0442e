"""Study parameters and the study files that hold them (``experiments/studies/<name>.yaml``).

Every study has a strict parameter model (subclass of :class:`StudyParams`) whose defaults are the
full, published version, and a ``FAST`` dict of overrides for the small version the test suite runs.
A study file may override any parameter::

    study: trap            # optional beside trap.py; names the study for a file elsewhere
    description: ...
    params:
      seeds: 10
      users: 10000

The study of a file is the sibling module ``<stem>.py`` when there is one, else the ``study:`` key
looked up in the studies folder (:mod:`.finding`). The file is read with the project's safe YAML
loader and validated strictly; every problem (a :class:`~outcome_gym.errors.StudyFileError`) names
the file, line, key path, what was expected and what was given, with the closest valid key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, create_model

from outcome_gym.errors import InputError, Problem, StudyFileError
from outcome_gym.scenario.distributions import StrictModel
from outcome_gym.scenario.loading import problems_from_validation_error
from outcome_gym.scenario.overrides import size_overrides as scenario_sizes
from outcome_gym.scenario.yamlio import load_yaml_mapping, read_text
from outcome_gym.studies.finding import study_module, study_names
from outcome_gym.studies.protocol import Study


class StudyParams(StrictModel):
    """Parameters every study has."""

    seeds: int = Field(default=10, ge=2, le=1000, description="Paired seeds per arm.")
    first_seed: int = Field(default=0, ge=0, description="First seed.")

    def seed_list(self) -> list[int]:
        """The seeds, in order."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


class StudyFileSchema(StrictModel):
    """The shape of every study file (its ``params`` are checked by the study's own model)."""

    study: str | None = Field(default=None, description="The study's name (default: the "
                                                         "<stem>.py beside the file).")
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="Overrides of the study's parameters.")


def size_overrides(params: StudyParams) -> tuple[tuple[str, object], ...]:
    """Scenario overrides from a study's ``users`` and ``horizon_days`` parameters (None: keep)."""
    return tuple(scenario_sizes(getattr(params, "users", None),
                                getattr(params, "horizon_days", None)).items())


def params_dict(params: StudyParams) -> dict[str, Any]:
    """JSON-ready parameters."""
    return params.model_dump(mode="json")


def default_params(name: str, fast: bool = False, directory: str | Path | None = None
                   ) -> StudyParams:
    """A study's parameters: the code's defaults (the full version), or ``FAST`` when ``fast``."""
    mod = study_module(name, directory)
    return mod.Params(**(mod.FAST if fast else {}))


def _with_fast(mod: Study, params: StudyParams) -> StudyParams:
    return mod.Params(**{**params.model_dump(), **mod.FAST})


def _file_study(path: Path, data: dict[str, Any], lines: dict[Any, int],
                directory: str | Path | None) -> Study:
    """The study a file belongs to: its sibling ``<stem>.py``, else its ``study:`` key."""
    study = data.get("study")
    line = lines.get(("study",))
    if path.with_suffix(".py").is_file() and not path.stem.startswith("_"):
        if study is not None and study != path.stem:
            raise StudyFileError([Problem(
                file=str(path), path="study", line=line,
                message=f"expected {path.stem!r} (the study beside this file, "
                        f"{path.with_suffix('.py').name}) or no 'study' key, got {study!r}")])
        return study_module(path.stem, path.parent)
    if not isinstance(study, str):
        names = ", ".join(study_names(directory)) or "none found"
        raise StudyFileError([Problem(
            file=str(path), path="study", line=line,
            message=f"expected the study's name (no {path.stem}.py beside the file), one of "
                    f"{names}, got {study!r}")])
    try:
        return study_module(study, directory)
    except StudyFileError as exc:  # re-point an unknown name at the file's line
        first = exc.problems[0]
        raise StudyFileError([Problem(file=str(path), path="study", line=line,
                                      message=first.message, suggestion=first.suggestion)]
                             ) from None


def load_study_file(path: str | Path, fast: bool = False, directory: str | Path | None = None
                    ) -> tuple[Study, StudyParams]:
    """Read a study file: the study module and its validated parameters.

    Args:
        path: The YAML file (``experiments/studies/<name>.yaml`` or one elsewhere naming its
            ``study``).
        fast: Apply the study's ``FAST`` overrides on top of the file (a quick look).
        directory: The studies folder a ``study:`` key is looked up in (default:
            :func:`~outcome_gym.studies.finding.studies_dir`).

    Raises:
        StudyFileError: Unreadable or not a YAML mapping; unknown study; unknown keys, wrong types
            or values (every problem, each with file, line and key path).
    """
    p = Path(path)
    try:
        data, lines = load_yaml_mapping(read_text(p), str(p))
    except InputError as exc:
        raise exc.as_kind(StudyFileError) from None
    mod = _file_study(p, data, lines, directory)
    model = create_model(
        "StudyFile",
        __base__=StrictModel,
        study=(Literal[mod.NAME], mod.NAME),  # type: ignore[valid-type]
        description=(str, ""),
        params=(mod.Params, mod.Params()),
    )
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, data, str(p), lines, root=model)
        raise StudyFileError(problems) from None
    params: StudyParams = parsed.params  # type: ignore[attr-defined]
    return mod, _with_fast(mod, params) if fast else params


def _is_file(source: str) -> bool:
    return Path(source).suffix in (".yaml", ".yml") or "/" in source or os.sep in source


def resolve(source: str, fast: bool = False, directory: str | Path | None = None
            ) -> tuple[Study, StudyParams]:
    """A study name or a study file: the study module and the parameters to run it with.

    A name ``NAME`` is ``<studies folder>/NAME.py`` with the parameters of ``NAME.yaml`` beside it
    (the code's defaults when there is none).

    Raises:
        StudyFileError: As :func:`load_study_file`, or an unknown name (one line, did-you-mean).
    """
    if _is_file(source):
        return load_study_file(source, fast, directory)
    mod = study_module(source, directory)
    yaml_file = Path(mod.__file__).with_suffix(".yaml")  # type: ignore[attr-defined]
    if yaml_file.is_file():
        return load_study_file(yaml_file, fast, directory)
    return mod, default_params(source, fast, directory)
