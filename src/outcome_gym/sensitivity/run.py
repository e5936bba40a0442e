"""``sensitivity``: vary the user parameters over their ranges and see what moves each verdict.

    from outcome_gym.sensitivity import run_sensitivity
    res = run_sensitivity("productivity_tool", ["engagement_bandit"], method="morris",
                          params=None, size=10, out="results/sensitivity")
    res.indices      # policy x response x parameter: mu*, mu*_conf, sigma (or S1/ST)
    res.shares       # policy x verdict: share of the sampled parameter space

The workflow, one step each: check every input (names, ranges, method, sample size, output
folder) -> sample the points (SALib) and build one scenario per point (``with_overrides``) ->
every (point, policy, seed) a :class:`~outcome_gym.sweeps.RunTask` on the one executor, so a
killed analysis resumes and Dask works -> at each point the paired comparison over seeds of
:func:`outcome_gym.analysis.paired.paired_analysis` (lifts and the verdict, exactly as
``outcome-gym compare`` computes them) -> indices and verdict shares (:mod:`.indices`).
Every point uses the same seeds (common random numbers across points as well as policies), so an
elementary effect compares like with like.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcome_gym._io import claim_dir
from outcome_gym.analysis.paired import paired_analysis
from outcome_gym.compare import comparison_inputs
from outcome_gym.errors import SimulationError
from outcome_gym.metrics.flat import flatten
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.scenario import Scenario, load_scenario
from outcome_gym.scenario.overrides import size_overrides, with_overrides
from outcome_gym.sensitivity.design import (
    Design,
    check_corners,
    min_seeds,
    point_scenario,
    resolve_factors,
    sample,
)
from outcome_gym.sensitivity.indices import all_indices, verdict_indicators, verdict_shares
from outcome_gym.sweeps import RunTask, execute, read_summary

DEFAULT_POPULATION = 500
"""Users per run unless ``population`` is given: enough for the segment outcomes to be stable
within a seed, small enough for a 20-parameter Morris screening in 10 minutes on 2 cores."""


@dataclass
class SensitivityResult:
    """Everything a sensitivity analysis found.

    Attributes:
        scenario: The base scenario (after the population/horizon override).
        design: The sampled points.
        policies: The policies, the reference among them.
        reference: The reference's label.
        seeds: The paired seeds run at every point.
        responses: One row per point x policy: each response (lift of ``engagement.index`` and of
            every outcome spec; ``verdict:<v>`` indicators).
        verdicts: One row per point x policy: the verdict.
        indices: Policy x response x parameter: the method's indices.
        shares: Policy x verdict: points and share of the sampled parameter space.
        notes: Responses left out and why.
        timing: Runs, seconds and runs/s of this call.
    """

    scenario: Scenario
    design: Design
    policies: list[PolicySpec]
    reference: str
    seeds: list[int]
    responses: pd.DataFrame
    verdicts: pd.DataFrame
    indices: pd.DataFrame
    shares: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)

    def points_table(self) -> pd.DataFrame:
        """The sampled points: ``point`` and one column per parameter."""
        names = [f.name for f in self.design.factors]
        return pd.DataFrame(self.design.points, columns=names).rename_axis("point").reset_index()


def _responses(scenario: Scenario, labels: list[str], reference: str, seeds: list[int],
               runs: pd.DataFrame) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """At one point: each policy's lift per response metric, and its verdict."""
    res = paired_analysis(scenario, labels, reference, seeds, runs)
    lifts: dict[str, dict[str, float]] = {}
    for label, by in res.stats.items():
        keys = ["engagement.index"] + [m for m, i in res.info.items() if i.family == "outcome"]
        lifts[label] = {f"lift:{m}": (np.nan if by[m].lift is None else float(by[m].lift))
                        for m in keys}
    return lifts, {label: v.verdict for label, v in res.verdicts.items()}


def plan(base: Scenario, design: Design, specs: list[PolicySpec],
         seeds: list[int]) -> list[tuple[Scenario, list[tuple[str, int, RunTask]]]]:
    """Every point's scenario and its (label, seed, task) triples (summaries only are kept).

    Raises:
        ScenarioError: A point's scenario is invalid.
    """
    out = []
    for i, values in enumerate(design.points):
        sc = point_scenario(base, design.factors, values, f"<{base.name} sensitivity point {i}>")
        tasks = [(s.display, seed, RunTask.make(sc, s, seed, info={"sensitivity": base.name,
                                                                   "point": i}))
                 for seed in seeds for s in specs]
        out.append((sc, tasks))
    return out


def read_points(planned: list[tuple[Scenario, list[tuple[str, int, RunTask]]]],
                labels: list[str], reference: str, seeds: list[int],
                runs_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each point's runs read back and compared: the responses and the verdicts tables."""
    rows, verdict_rows = [], []
    for i, (sc, triples) in enumerate(planned):
        runs = pd.DataFrame([{"policy": label, "seed": seed, **flatten(
            sc, read_summary(runs_dir / t.run_id))} for label, seed, t in triples])
        lifts, verdicts = _responses(sc, labels, reference, seeds, runs)
        rows += [{"point": i, "policy": p, **v} for p, v in lifts.items()]
        verdict_rows += [{"point": i, "policy": p, "verdict": v} for p, v in verdicts.items()]
    verdicts_df = pd.DataFrame(verdict_rows)
    responses = pd.DataFrame(rows).merge(verdict_indicators(verdicts_df), on=["point", "policy"])
    return responses, verdicts_df


def run_sensitivity(scenario: Scenario | str | Path, policies: list[str | PolicySpec], *,
                    method: str = "morris", params: list[str] | None = None,
                    ranges: dict[str, tuple[float, float]] | None = None, size: int = 10,
                    seeds: int | None = None, reference: str | None = "static",
                    population: int | None = DEFAULT_POPULATION, horizon_days: int | None = None,
                    out: str | Path, overwrite: bool = False, workers: int = 1, backend: str = "local",
                    address: str | None = None, progress: bool = False) -> SensitivityResult:
    """Sample the parameters, run every point on the executor, and compute indices and shares.

    Args:
        scenario: A scenario object, bundled name or path.
        policies: The policies whose lift and verdict are analysed.
        method: ``morris`` or ``sobol``.
        params: Parameter names of the registry (default: every one).
        ranges: Range overrides by name.
        size: Morris trajectories, or Sobol's base sample (a power of 2).
        seeds: Paired seeds per point (0 .. seeds-1 at every point; default: the fewest at which
            every verdict can be reached, :func:`~.design.min_seeds`).
        reference: The reference policy (default ``static``; added when not among ``policies``).
        population: Users per run (``None``: the scenario's).
        horizon_days: Days per run (``None``: the scenario's).
        out: The report folder (claimed after every input check, before any run); run folders
            go to ``out/runs/`` and finished ones are reused.
        overwrite: Replace an earlier sensitivity output in ``out`` (its runs are reused).
        workers: Worker processes.
        backend: ``local`` or ``dask``.
        address: A Dask scheduler address.
        progress: Show a progress bar.

    Raises:
        InputError: Any bad input, before any run.
        ResultsError: ``out`` may not be written (before any run).
        SimulationError: A run failed.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    n_seeds = seeds if seeds is not None else min_seeds(len(sc.outcomes))
    base, specs, ref, seed_list = comparison_inputs(sc, policies, reference, n_seeds, 0)
    base = with_overrides(base, size_overrides(population, horizon_days))
    factors = resolve_factors(params, ranges)
    design = sample(method, factors, size)
    check_corners(base, factors)
    planned = plan(base, design, specs, seed_list)
    runs_dir = claim_dir(Path(out), "sensitivity", overwrite=overwrite) / "runs"
    tasks = [t for _, triples in planned for _, _, t in triples]
    start = time.perf_counter()
    statuses = execute(tasks, runs_dir, workers=workers, backend=backend, address=address,
                       progress=progress, desc="sensitivity")
    seconds = time.perf_counter() - start
    _raise_failures(statuses, runs_dir)
    responses, verdicts_df = read_points(planned, [s.display for s in specs], ref, seed_list,
                                         runs_dir)
    table, notes = all_indices(design, responses)
    need = min_seeds(len(base.outcomes))
    if len(seed_list) < need:
        notes.insert(0, f"with {len(seed_list)} seeds no outcome spec can reach significance "
                        f"(need {need}): verdicts are 'trap' or 'no effect' by construction")
    ran = sum(not s["skipped"] for s in statuses)
    timing = {"runs": len(tasks), "ran": ran, "skipped": len(tasks) - ran,
              "seconds": round(seconds, 1), "workers": workers, "backend": backend}
    return SensitivityResult(scenario=base, design=design, policies=specs, reference=ref,
                             seeds=seed_list, responses=responses, verdicts=verdicts_df,
                             indices=table, shares=verdict_shares(verdicts_df), notes=notes,
                             timing=timing)


def _raise_failures(statuses: list[dict[str, Any]], runs_dir: Path) -> None:
    bad = [s for s in statuses if s["status"] != "ok"]
    if bad:
        raise SimulationError(f"{len(bad)} of {len(statuses)} run(s) failed; the first: "
                              f"{bad[0]['error']} (traceback in "
                              f"{runs_dir / bad[0]['run_id'] / 'failed.json'})")


__all__ = ["DEFAULT_POPULATION", "SensitivityResult", "plan", "read_points", "run_sensitivity"]
