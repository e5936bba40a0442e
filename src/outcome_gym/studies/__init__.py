"""The study framework: what a stylized-fact study provides, how one is found, run and written.

The studies themselves are research, not library: each is a module ``experiments/studies/<name>.py``
beside its parameters ``<name>.yaml``, found by :func:`study_module` and run by ``outcome-gym study
<name>``. A study module satisfies :class:`Study` (``NAME``, ``TITLE``, ``COMMAND``, a strict
``Params`` model whose defaults are the full version, ``FAST`` overrides for the test suite and
``run(params, workers, progress, runs_dir) -> StudyResult``); it submits its simulations through
:mod:`.runs`, reduces them with :mod:`.common`, judges each fact as a :class:`Fact` and returns a
:class:`StudyResult`, which :func:`outcome_gym.report.study.write_study` turns into
``results/<name>/``.
"""

from __future__ import annotations

from pathlib import Path

from outcome_gym.studies.base import Estimate, Fact, StudyResult, holm_within_facts
from outcome_gym.studies.finding import studies_dir, study_module, study_names
from outcome_gym.studies.protocol import Study
from outcome_gym.studies.source import study_source
from outcome_gym.studies.spec import StudyParams, default_params, load_study_file, resolve

__all__ = ["Estimate", "Fact", "Study", "StudyParams", "StudyResult", "default_params",
           "load_study_file", "resolve", "run_study", "studies_dir", "study_module", "study_names"]


def run_study(name: str | Study, params: StudyParams | None = None, workers: int = 1,
              progress: bool = False, runs_dir: Path | None = None,
              directory: str | Path | None = None) -> StudyResult:
    """Run a study with ``params`` (default: its full version) and finish its result.

    Finishing is the same for every study: Holm's correction within each fact
    (:func:`~outcome_gym.studies.base.holm_within_facts`) and the study files' hashes
    (:func:`~outcome_gym.studies.source.study_source`) recorded in the result.

    Args:
        name: The study's name (or its module, from :func:`study_module`).
        params: Its parameters (default: the code's defaults).
        workers: Worker processes.
        progress: Show a progress bar on stderr.
        runs_dir: Where its run folders are kept and reused (``None``: a temporary folder).
        directory: The studies folder (default: :func:`studies_dir`).
    """
    mod = study_module(name, directory) if isinstance(name, str) else name
    result = mod.run(params if params is not None else mod.Params(), workers=workers,
                     progress=progress, runs_dir=runs_dir)
    result.facts = holm_within_facts(result.facts)
    result.source = study_source(mod.__file__)  # type: ignore[attr-defined]
    return result
