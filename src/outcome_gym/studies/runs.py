"""The simulations behind a study: jobs in, per-run results out, in job order, through the executor.

A :class:`Job` names a scenario (bundled name or file), dotted-key overrides applied to it (the same
key language as sweeps: ``population.size``, ``population.segments.professional.trust``...), a
policy (``name``, ``name:key=value,...`` or ``module:Class:...``, as ``compare`` takes them),
guardrail overrides, a seed and a tag. :func:`run_jobs` turns each into a
:class:`~outcome_gym.sweeps.RunTask` and submits them all to the one executor
(:func:`outcome_gym.sweeps.execute`), the same one sweeps and ``compare`` use: every run goes into
``runs_dir/<run_id>/`` (content-addressed: scenario, policy, parameters, seed, run function and
guardrails), and a run whose folder is already finished is read back instead of run again. Results
come back in job order, so a study's output depends only on its jobs, never on scheduling.

A study that needs more from a run than its summary and tables passes ``runner=``, the text
``"module:function"`` of a module-level ``fn(scenario, spec, seed, *, guardrails=None) ->
RunResult`` that a worker calls instead of :func:`outcome_gym.runner.run` (e.g.
``"studies.adaptive:run_with_oracle"``). Such a function may add per-run numbers to the summary
(:meth:`RunSummary.with_extra`); they join the run's :attr:`JobResult.metrics`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from outcome_gym.errors import SimulationError
from outcome_gym.metrics.flat import flatten
from outcome_gym.metrics.summary import RunSummary
from outcome_gym.policies.spec import PolicySpec, parse_policy
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sweeps import RunTask, execute, read_summary, read_table

KEEP = ("users", "steps")
CACHE_NAME = "_runs"


@dataclass(frozen=True)
class Job:
    """One simulation.

    Attributes:
        scenario: Bundled scenario name or path.
        policy: Policy spec text (``name``, ``name:key=value,...`` or ``module:Class:...``).
        seed: Root seed.
        overrides: ``(dotted key, value)`` pairs applied to the scenario in order.
        guardrails: ``None`` (the scenario's), ``False`` (off) or guardrail overrides.
        tag: A free label the study groups results by (e.g. the arm of an experiment).
    """

    scenario: str
    policy: str = "static"
    seed: int = 0
    overrides: tuple[tuple[str, Any], ...] = ()
    guardrails: Any = None
    tag: str = ""


@dataclass
class JobResult:
    """What one run produced.

    Attributes:
        job: The job.
        summary: The run's summary (``outcome_gym.metrics.summary``).
        metrics: The flat metrics ``compare`` reports (``engagement.index``, ``outcome.<id>``...),
            including any ``extra`` numbers a custom run function added.
        users: The per-user table, when kept.
        steps: The step x segment table, when kept.
    """

    job: Job
    summary: RunSummary
    metrics: dict[str, float]
    users: pd.DataFrame | None = None
    steps: pd.DataFrame | None = field(default=None, repr=False)


def _key(scenario: str, overrides: tuple[tuple[str, Any], ...]) -> str:
    return json.dumps([scenario, [list(o) for o in overrides]], sort_keys=True, default=str)


@functools.lru_cache(maxsize=64)
def _scenario_cached(key: str) -> Scenario:
    name, overrides = json.loads(key)
    return with_overrides(name, overrides, file=f"{name} (with {len(overrides)} override(s))")


def job_scenario(job: Job) -> Scenario:
    """The job's scenario with its overrides applied and validated."""
    return _scenario_cached(_key(job.scenario, job.overrides))


@functools.lru_cache(maxsize=256)
def _checked_policy(text: str) -> PolicySpec:
    spec = parse_policy(text)
    spec.check()
    return spec


def job_task(job: Job, keep: tuple[str, ...] = ("users",), runner: str = "") -> RunTask:
    """The executor's task for ``job`` (scenario, policy and run function checked here).

    Raises:
        ScenarioError: A bad scenario or override.
        PolicySpecError: Malformed policy text, an unknown policy or parameter name.
        ValueError: ``runner`` is not an importable ``module:function``.
    """
    return RunTask.make(job_scenario(job), _checked_policy(job.policy), job.seed, keep=keep,
                        runner=runner, guardrails=job.guardrails,
                        info={"scenario": job.scenario, "tag": job.tag})


def runs_cache(results_root: str | Path) -> Path:
    """``<results_root>/_runs/``, created with a ``.gitignore`` of ``*`` so it is never committed."""
    path = Path(results_root) / CACHE_NAME
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# run folders of outcome-gym studies, reused on the next run\n*\n")
    return path


@contextlib.contextmanager
def _folder(runs_dir: Path | None) -> Iterator[Path]:
    """``runs_dir``, or a temporary folder removed afterwards."""
    if runs_dir is not None:
        yield Path(runs_dir)
        return
    with tempfile.TemporaryDirectory(prefix="outcome-gym-study-") as tmp:
        yield Path(tmp)


def _result(job: Job, run_dir: Path, keep: tuple[str, ...]) -> JobResult:
    scenario = job_scenario(job)
    summary = RunSummary.from_dict(read_summary(run_dir), scenario)
    metrics = flatten(scenario, summary)
    tables = {name: read_table(run_dir, name) for name in keep}
    return JobResult(job=job, summary=summary, metrics=metrics, **tables)


def run_jobs(jobs: Sequence[Job], workers: int = 1, keep: tuple[str, ...] = ("users",),
             progress: bool = False, desc: str = "runs", runner: str = "",
             runs_dir: Path | None = None) -> list[JobResult]:
    """Run every job through the executor and return the results in job order.

    Args:
        jobs: The runs (the same run twice is simulated once).
        workers: Worker processes (1 runs here).
        keep: Tables each result keeps (``users``, ``steps``).
        progress: Show a progress bar on stderr.
        desc: The progress bar's label.
        runner: ``"module:function"`` of a run function replacing the default (see the module
            docstring); empty for :func:`outcome_gym.runner.run`.
        runs_dir: The folder of run folders, reused across calls (``None``: a temporary folder).

    Raises:
        ValueError: ``keep`` names an unknown table, or ``runner`` does not import.
        ScenarioError: A job's scenario or overrides are invalid (before any run starts).
        SimulationError: A run failed (after the others finished): how many, and the first error.
    """
    bad = set(keep) - set(KEEP)
    if bad:
        raise ValueError(f"expected keep among {KEEP}, got {sorted(bad)}")
    tasks = [job_task(job, tuple(keep), runner) for job in jobs]  # fail before any run
    with _folder(runs_dir) as folder:
        statuses = execute(tasks, folder, workers=workers, progress=progress, desc=desc)
        failed = [(job, s) for job, s in zip(jobs, statuses, strict=True) if s["status"] != "ok"]
        if failed:
            job, status = failed[0]
            raise SimulationError(
                f"{len(failed)} of {len(jobs)} study run(s) failed; the first, {job.policy} on "
                f"{job.scenario} seed {job.seed} (run {status['run_id']}): {status['error']}")
        return [_result(job, folder / task.run_id, tuple(keep))
                for job, task in zip(jobs, tasks, strict=True)]
