"""Reading experiment files: safe YAML, strict schema, every problem with file, key path and line."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from outcome_gym.errors import InputError, Problem, SweepFileError
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.scenario.loading import problems_from_validation_error
from outcome_gym.scenario.yamlio import (
    KeyPath,
    format_path,
    load_yaml_mapping,
    nearest_line,
    read_text,
)
from outcome_gym.sweeps.schema import Experiment, Seeds, check_experiment


@dataclass(frozen=True)
class ExperimentFile:
    """A validated experiment and where it came from.

    Attributes:
        experiment: The validated experiment.
        file: The file as given (used in messages).
        base_dir: Folder that relative scenario paths are resolved against.
        lines: Line of every key path in the file (for messages about expanded points).
        sha256: Digest of the file's text.
    """

    experiment: Experiment
    file: str
    base_dir: Path
    lines: dict[KeyPath, int] = field(default_factory=dict)
    sha256: str = ""

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its closest ancestor in the file."""
        return nearest_line(self.lines, path)

    def problem(self, path: KeyPath, message: str) -> Problem:
        """A problem located at ``path`` in this file."""
        return Problem(file=self.file, path=format_path(path), message=message,
                       line=self.line(path))


def load_experiment(path: str | Path) -> ExperimentFile:
    """Load and validate an experiment file.

    Raises:
        SweepFileError: The file cannot be read as a YAML mapping, or its content breaks the
            schema or a cross-check.
    """
    p = Path(path)
    try:
        text = read_text(p)
    except InputError as exc:  # the shared reader names scenario files; this is a sweep file
        raise exc.as_kind(SweepFileError) from None
    return parse_experiment(text, file=str(p), base_dir=p.resolve().parent)


def parse_experiment(text: str, file: str = "<string>", base_dir: Path | None = None) -> ExperimentFile:
    """Validate experiment YAML text (see :func:`load_experiment`)."""
    try:
        data, lines = load_yaml_mapping(text, file)
    except InputError as exc:
        raise exc.as_kind(SweepFileError) from None
    return validate_experiment(data, file=file, lines=lines, base_dir=base_dir,
                               sha256=hashlib.sha256(text.encode()).hexdigest())


def validate_experiment(data: dict[str, Any], file: str = "<data>",
                        lines: dict[KeyPath, int] | None = None, base_dir: Path | None = None,
                        sha256: str = "") -> ExperimentFile:
    """Validate already-parsed data, reporting every problem at once."""
    lines = lines or {}
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        problems = [_fix_unknown(p) for p in problems_from_validation_error(exc, data, file, lines)]
        raise SweepFileError(_drop_union_noise(problems)) from None
    out = ExperimentFile(exp, file, base_dir or Path.cwd(), lines, sha256)
    found = check_experiment(exp)
    if found:
        raise SweepFileError([out.problem(p, m) for p, m in found])
    return out


def _fields(model: type[BaseModel]) -> list[str]:
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _drop_union_noise(problems: list[Problem]) -> list[Problem]:
    """``seeds: {..}`` with a bad key also fails the plain-number branch: keep the deeper problem."""
    paths = [p.path for p in problems]
    return [p for p in problems
            if not (p.message.endswith("got a mapping")
                    and any(q.startswith(p.path + ".") for q in paths))]


def _fix_unknown(problem: Problem) -> Problem:
    """The scenario loader suggests scenario keys for an unknown key; suggest experiment keys."""
    if not problem.message.startswith("unknown key '"):
        return problem
    key = problem.message.split("'")[1]
    parent = problem.path.rsplit(".", 1)[0] if "." in problem.path else ""
    if parent.startswith("policies["):
        allowed = _fields(PolicySpec)
    elif parent == "seeds":
        allowed = _fields(Seeds)
    else:
        allowed = _fields(Experiment)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return Problem(file=problem.file, path=problem.path, line=problem.line,
                   message=f"unknown key '{key}' (expected one of: {', '.join(allowed)})",
                   suggestion=close[0] if close else None)


__all__ = ["ExperimentFile", "load_experiment", "parse_experiment", "validate_experiment"]
