"""What a study module provides: the :class:`Study` protocol and its check.

A study is a Python module, ``experiments/studies/<name>.py`` beside its ``<name>.yaml``. The module
itself is the object that satisfies :class:`Study` (module-level names, no class to instantiate),
so a study reads as a script: its parameters, its runs, its analysis, top to bottom.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from outcome_gym.errors import Problem, StudyFileError

if TYPE_CHECKING:
    from outcome_gym.studies.base import StudyResult
    from outcome_gym.studies.spec import StudyParams

REQUIRED = ("NAME", "TITLE", "COMMAND", "Params", "FAST", "run")


class Study(Protocol):
    """The module-level names of a study module.

    Attributes:
        NAME: The study's name: its file's stem and its results folder (``results/<NAME>/``).
        TITLE: One line, the report's title.
        COMMAND: The command that regenerates its results (``outcome-gym study <NAME> ...``).
        Params: Its strict parameter model (a :class:`~outcome_gym.studies.spec.StudyParams`);
            the defaults are the full, published version and equal ``<NAME>.yaml``.
        FAST: Overrides of ``Params`` for the small version the test suite runs (``--fast``).
    """

    NAME: str
    TITLE: str
    COMMAND: str
    Params: type[StudyParams]
    FAST: Mapping[str, Any]

    def run(self, params: Any, workers: int = 1, progress: bool = False,
            runs_dir: Path | None = None) -> StudyResult:
        """Run the study and judge its facts.

        Args:
            params: An instance of ``Params``.
            workers: Worker processes for its simulations.
            progress: Show a progress bar on stderr.
            runs_dir: Where its simulations' run folders are kept and reused (``None``: a
                temporary folder, removed afterwards).
        """
        ...


def check_study(module: ModuleType, name: str) -> Study:
    """``module`` as a :class:`Study`, after checking it provides every name the protocol needs.

    Raises:
        StudyFileError: A missing name, ``Params`` not a ``StudyParams``, or ``NAME`` other than
            the file's stem (one problem each, naming the module's file).
    """
    from outcome_gym.studies.spec import StudyParams

    file = str(getattr(module, "__file__", module.__name__))
    problems = [f"expected a module-level {attr!r} (a study module defines "
                f"{', '.join(REQUIRED)})" for attr in REQUIRED if not hasattr(module, attr)]
    params = getattr(module, "Params", None)
    if params is not None and not (isinstance(params, type) and issubclass(params, StudyParams)):
        problems.append(f"expected Params to be a subclass of StudyParams, got {params!r}")
    if getattr(module, "NAME", name) != name:
        problems.append(f"expected NAME to be the file's stem {name!r}, got {module.NAME!r}")
    if problems:
        raise StudyFileError([Problem(file=file, path="", message=p) for p in problems])
    return module  # type: ignore[return-value]
