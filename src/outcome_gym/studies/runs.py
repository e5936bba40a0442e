"""Running the many simulations behind a study: jobs in, per-run results out, in job order.

A :class:`Job` names a scenario (bundled name or file), dotted-key overrides applied to it (the same
key language as sweeps: ``population.size``, ``population.segments.professional.trust``...), a
policy spec (``name`` or ``name:key=value,...``, as ``compare`` takes them), guardrail overrides and
a seed. :func:`run_jobs` runs them in a process pool started with an explicit ``spawn`` context
(``import mesa`` forces spawn anyway; being explicit keeps the pool independent of it) and returns
results in job order, so a study's output depends only on its jobs, never on scheduling.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from outcome_gym._pool import map_spawn
from outcome_gym.analysis.metrics import flatten
from outcome_gym.errors import SimulationError
from outcome_gym.policies.spec import parse_policy
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.scenario.schema import Scenario

KEEP = ("users", "steps")


@dataclass(frozen=True)
class Job:
    """One simulation.

    Attributes:
        scenario: Bundled scenario name or path.
        policy: Policy spec text (``name`` or ``name:key=value,...``).
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
        metrics: The flat metrics ``compare`` reports (``engagement.index``, ``outcome.<id>``...).
        users: The per-user table, when kept.
        steps: The step x segment table, when kept.
    """

    job: Job
    summary: dict[str, Any]
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


def run_job(job: Job, keep: tuple[str, ...] = ("users",)) -> JobResult:
    """Run one job in this process (top-level so a spawn pool can pickle it)."""
    from outcome_gym.runner import run

    scenario = job_scenario(job)
    spec = parse_policy(job.policy)
    res = run(scenario, spec.policy, job.seed, policy_params=spec.params, guardrails=job.guardrails)
    return JobResult(
        job=job,
        summary=res.summary,
        metrics=flatten(scenario, res.summary),
        users=res.users if "users" in keep else None,
        steps=res.steps if "steps" in keep else None,
    )


def run_jobs(jobs: Sequence[Job], workers: int = 1, keep: tuple[str, ...] = ("users",),
             progress: bool = False, desc: str = "runs",
             runner: Callable[[Job], JobResult] | None = None,
             runs_dir: Path | None = None) -> list[JobResult]:
    """Run every job (in a spawn pool when ``workers`` > 1) and return results in job order.

    Args:
        jobs: The runs.
        workers: Worker processes (1 runs here).
        keep: Tables each result keeps (``users``, ``steps``); ignored with ``runner``.
        progress: Show a progress bar on stderr.
        desc: The progress bar's label.
        runner: A module-level function running one job (a study that needs more than
            :func:`run_job` gives, e.g. per-user policy statistics); default :func:`run_job`.
        runs_dir: Where run folders are kept and reused (not yet used).

    Raises:
        OutcomeGymError: The first failing run's error, after the others finished.
    """
    bad = set(keep) - set(KEEP)
    if bad:
        raise ValueError(f"expected keep among {KEEP}, got {sorted(bad)}")
    one = runner if runner is not None else functools.partial(run_job, keep=tuple(keep))
    for job in jobs:  # fail before any run on a bad scenario or override
        job_scenario(job)
    return map_spawn(one, jobs, workers, progress, desc, failure=SimulationError,
                     what="a study run")
