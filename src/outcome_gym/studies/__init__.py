"""Experiments that test outcome-gym against the published stylized facts (``experiments/``).

Each study is a module with ``NAME``, ``TITLE``, a strict ``Params`` model (defaults: the full
version), ``FAST`` (overrides for the test suite) and ``run(params, workers, progress) ->
StudyResult``. ``outcome-gym experiment <name>`` runs one and writes ``results/<name>/``.
"""

from __future__ import annotations

from outcome_gym.studies.base import Estimate, Fact, StudyResult, write_study
from outcome_gym.studies.spec import STUDIES, StudyParams, default_params, resolve, study_module

__all__ = ["STUDIES", "Estimate", "Fact", "StudyParams", "StudyResult", "default_params",
           "resolve", "run_study", "study_module", "write_study"]


def run_study(name: str, params: StudyParams | None = None, workers: int = 1,
              progress: bool = False) -> StudyResult:
    """Run study ``name`` with ``params`` (default: its full version)."""
    mod = study_module(name)
    return mod.run(params if params is not None else mod.Params(), workers=workers,
                   progress=progress)
