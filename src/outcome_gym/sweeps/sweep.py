"""``sweep``: expand an experiment, run what is not finished yet, combine the results.

    from outcome_gym.sweeps import sweep
    res = sweep("experiments/sweeps/example_sweep.yaml", workers=2, progress=True)
    res.exit_code          # 0, or 1 if any run failed
    res.out / "runs.csv"   # one row per run

Every run is validated before the first one starts. Workers write (or, on Dask, ship back) one
folder per run as it finishes; a failing run leaves a failure record with its traceback and the
sweep goes on. ``resume=True`` skips runs whose folders are finished, so a killed sweep continues
where it stopped and its combined output is byte-identical to an uninterrupted sweep's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from outcome_gym._io import claim_dir
from outcome_gym._pool import default_workers
from outcome_gym.errors import ResultsError
from outcome_gym.scenario.schema import Population
from outcome_gym.sweeps.executor import BACKENDS, execute
from outcome_gym.sweeps.expand import Plan, RunSpec, expand
from outcome_gym.sweeps.loading import ExperimentFile, load_experiment
from outcome_gym.sweeps.store import RUNS, combine, is_current, run_state
from outcome_gym.sweeps.worker import RunTask


@dataclass
class SweepResult:
    """What a sweep did.

    Attributes:
        out: The sweep folder.
        plan: The expanded experiment.
        ran: Runs executed in this call.
        skipped: Runs already finished (``resume``).
        ok: Finished runs in the combined dataset.
        failed: Failed runs in the combined dataset.
        failures: (run, error) of each failed run.
        seconds: Wall time of the runs in this call.
        user_steps: Users x steps simulated in this call.
        run_seconds: Time spent inside the runs (summed over workers), for throughput studies.
        warnings: Things worth knowing (e.g. worker versions differ).
    """

    out: Path
    plan: Plan
    ran: int = 0
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    failures: list[tuple[RunSpec, str]] = field(default_factory=list)
    seconds: float = 0.0
    user_steps: int = 0
    run_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every run finished, 1 when any failed."""
        return 1 if self.failed else 0

    def as_dict(self) -> dict[str, Any]:
        """What ``outcome-gym sweep --json`` prints (docs/json.md)."""
        return {
            "name": self.plan.name, "out": str(self.out), "runs": len(self.plan.runs),
            "ran": self.ran, "skipped": self.skipped, "ok": self.ok, "failed": self.failed,
            "failures": [{"run_id": run.run_id, "run": run.describe(),
                          "error": error.splitlines()[0] if error else ""}
                         for run, error in self.failures],
            "seconds": self.seconds, "user_steps": self.user_steps,
            "warnings": list(self.warnings), "exit_code": self.exit_code,
        }

    def lines(self, max_failures: int = 10) -> list[str]:
        """A plain summary: counts, speed, failures and where the results are."""
        rate = self.ran / self.seconds if self.seconds > 0 else 0.0
        out = [f"sweep {self.plan.name}: {len(self.plan.runs)} runs: {self.ok} ok, "
               f"{self.failed} failed ({self.ran} run now in {self.seconds:.1f} s, {rate:.2f} "
               f"runs/s; {self.skipped} already finished)"]
        if self.failures:
            out.append(f"failed runs (traceback in {self.out / RUNS}/<run_id>/failed.json):")
            for run, error in self.failures[:max_failures]:
                out.append(f"  {run.run_id}  {run.describe()}: {error.splitlines()[0]}")
            if len(self.failures) > max_failures:
                out.append(f"  ... and {len(self.failures) - max_failures} more (see runs.csv)")
        out.append(f"results: {self.out}/ (runs.csv, dataset/, manifest.json, runs/)")
        out += [f"warning: {w}" for w in self.warnings]
        return out


def plan_sweep(experiment: str | Path | ExperimentFile, *, build: bool = False) -> Plan:
    """Load and expand an experiment, validating every run (nothing runs).

    Without ``build`` nothing the experiment names is called (policies are resolved and their
    parameters checked against their signatures: a dry run); with it each distinct policy is
    also built once, so a value its constructor rejects is reported before the first run.
    """
    ef = experiment if isinstance(experiment, ExperimentFile) else load_experiment(experiment)
    return expand(ef, build=build)


def empty_segment_warnings(plan: Plan) -> list[str]:
    """One line per scenario and segment with no users at some of the sweep's points.

    Segment sizes do not depend on the seed (``Population.empty_segments``), so this is known
    before anything runs. Those points' metrics of the segment are missing in the dataset and
    *not measured* in the report (docs/verdicts.md, rule ``no-users``).
    """
    points: dict[str, set[int]] = {}
    empty: dict[tuple[str, str], dict[int, RunSpec]] = {}
    sizes: dict[str, list[str]] = {}
    for r in plan.runs:
        points.setdefault(r.scenario, set()).add(r.point)
        if r.scenario_sha256 not in sizes:
            pop = Population.model_validate(plan.scenario_data(r)["population"])
            sizes[r.scenario_sha256] = pop.empty_segments()
        for seg in sizes[r.scenario_sha256]:
            empty.setdefault((r.scenario, seg), {}).setdefault(r.point, r)
    out = []
    for (scenario, seg), at in empty.items():
        first = at[min(at)]
        where = " ".join(f"{a.key}={first.values[a.key]}" for a in plan.axes
                         if a.param is None and a.key in first.values)
        out.append(f"segment '{seg}' of {scenario} has no users at {len(at)} of "
                   f"{len(points[scenario])} point(s) (first: point {first.point}"
                   + (f", {where}" if where else "") + "): its metrics there are not measured "
                   "(missing in the dataset)")
    return out


def _task(plan: Plan, run: RunSpec) -> RunTask:
    return RunTask(run_id=run.run_id, scenario=plan._scenario_json[run.scenario_sha256],
                   policy=run.policy, params=run.params, seed=run.seed, keep=tuple(plan.keep),
                   info={"experiment": plan.name, "label": run.label, "scenario": run.scenario,
                         "scenario_source": run.source, "values": run.values})


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """One sweep at a time per folder, with :mod:`filelock` (an OS lock: it dies with its
    process, even on SIGKILL, so a killed sweep never leaves the folder locked).
    """
    out.mkdir(parents=True, exist_ok=True)
    # the lock file stays in place (it marks the folder as a sweep's, _io._LEGACY); keeping it
    # also rules out filelock's soft fallback, a marker file that a SIGKILL would leave behind
    lock = filelock.FileLock(out / ".lock", thread_local=False, preserve_lock_file=True)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise ResultsError(f"{out}: another sweep is running in this folder") from None
    except OSError as exc:
        raise ResultsError(f"cannot lock {out / '.lock'}: {exc}") from None
    try:
        yield
    finally:
        lock.release()


def states(plan: Plan, out: Path) -> dict[str, str | None]:
    """Run id -> ``ok``, ``stale`` (finished by other code: runs again), ``failed`` or ``None``
    (not run) from the run folders.
    """
    runs_dir = out / RUNS
    if not runs_dir.is_dir():
        return {r.run_id: None for r in plan.runs}
    out_states: dict[str, str | None] = {}
    for r in plan.runs:
        state = run_state(runs_dir / r.run_id, plan.keep)
        stale = state == "ok" and not is_current(runs_dir / r.run_id)
        out_states[r.run_id] = "stale" if stale else state
    return out_states


def _has_runs(runs_dir: Path) -> bool:
    return runs_dir.is_dir() and any(not p.name.startswith(".") for p in runs_dir.iterdir())


def sweep(experiment: str | Path | ExperimentFile | Plan, *, out: str | Path | None = None,
          workers: int | None = None, backend: str = "local", address: str | None = None,
          resume: bool = False, progress: bool = False, retries: int = 2) -> SweepResult:
    """Run an experiment and write its result store.

    Args:
        experiment: An experiment file, a loaded one, or an expanded :class:`Plan`.
        out: The sweep folder (default ``results/<experiment name>``).
        workers: Worker processes (default: the CPUs available; 0 runs in this process, for
            debugging). Ignored with ``address`` (the cluster has its workers).
        backend: ``local`` (a process pool) or ``dask``.
        address: A Dask scheduler (``tcp://host:8786``); default: a LocalCluster of ``workers``.
        resume: Skip finished runs in ``out`` (failed ones run again).
        progress: Show a progress bar with ETA on stderr.
        retries: Times a run may kill its worker process before it is recorded as failed.

    Raises:
        SweepFileError: The experiment or one of its points is invalid (nothing ran).
        ResultsError: ``out`` already holds runs and ``resume`` is off, is a file or a non-empty
            folder outcome-gym did not write, or cannot be written.
    """
    if backend not in BACKENDS:
        raise ResultsError(f"expected backend local or dask, got {backend!r}")
    plan = experiment if isinstance(experiment, Plan) else plan_sweep(experiment, build=True)
    out_path = Path(out) if out is not None else Path("results") / plan.name
    n_workers = default_workers() if workers is None else workers
    if not resume and _has_runs(out_path / RUNS):
        raise ResultsError(
            f"{out_path} already holds runs; pass --resume to continue that sweep (finished runs "
            "are skipped) or --out to start a new one elsewhere")
    claim_dir(out_path, "sweep", overwrite=True)  # a sweep folder is resumed, never replaced
    with _lock(out_path):
        return _run(plan, out_path, n_workers, backend, address, progress, retries)


def _run(plan: Plan, out: Path, workers: int, backend: str, address: str | None,
         progress: bool, retries: int) -> SweepResult:
    result = SweepResult(out=out, plan=plan, warnings=empty_segment_warnings(plan))
    start = time.perf_counter()
    # --workers 0 runs in this process (debugging); 1 is a pool of one, so a run that kills
    # its process cannot take the sweep down with it
    statuses = execute([_task(plan, r) for r in plan.runs], out / RUNS, workers=workers,
                       backend=backend, address=address, retries=retries, progress=progress,
                       desc=plan.name, in_process=workers == 0, warnings=result.warnings)
    result.seconds = time.perf_counter() - start
    fresh = [s for s in statuses if not s["skipped"]]
    result.ran, result.skipped = len(fresh), len(statuses) - len(fresh)
    result.user_steps = sum(int(s.get("user_steps", 0)) for s in fresh)
    result.run_seconds = sum(float(s.get("seconds", 0.0)) for s in fresh)
    df = combine(plan, out)
    result.ok = int((df["status"] == "ok").sum())
    result.failed = int((df["status"] != "ok").sum())
    status = dict(zip(df["run_id"], df["status"], strict=True))
    errors = dict(zip(df["run_id"], df["error"], strict=True))
    result.failures = [(r, str(errors[r.run_id] or status[r.run_id]))
                       for r in sorted(plan.runs, key=lambda r: r.run_id)
                       if status[r.run_id] != "ok"]
    return result


def dry_run_lines(plan: Plan, out: Path | None = None) -> list[str]:
    """The expansion, one line per run (with its state when ``out`` holds results)."""
    seeds = plan.seeds
    shown = ", ".join(map(str, seeds[:10])) + (f", ... ({len(seeds)})" if len(seeds) > 10 else "")
    total = plan.n_points * len(plan.policies) * len(seeds)
    lines = [f"experiment {plan.name}: {plan.n_points} point(s) x {len(plan.policies)} "
             f"policies x {len(seeds)} seeds = {total} runs"
             + (f", {len(plan.runs)} distinct ({plan.merged} identical: axes scoped to other "
                "policies)" if plan.merged else ""),
             "scenarios: " + ", ".join(f"{sc.name} ({s})" for s, sc in plan.scenarios.items()),
             "policies: " + "; ".join(p.display for p in plan.policies),
             f"seeds: {shown}",
             f"keep: summary{''.join(', ' + t for t in plan.keep)}",
             *(f"warning: {w}" for w in empty_segment_warnings(plan))]
    if plan.axes:
        lines.append("axes:")
        for a in plan.axes:
            kind = "grid" if a.group is None else f"zip {a.group}"
            scope = f" ({a.label} only)" if a.label else ""
            lines.append(f"  {kind:<6} {a.key}{scope}: {list(a.values)}")
    state = states(plan, out) if out is not None and (out / RUNS).is_dir() else {}
    if state:
        n_ok = sum(v == "ok" for v in state.values())
        n_failed = sum(v == "failed" for v in state.values())
        n_stale = sum(v == "stale" for v in state.values())
        lines.append(f"{out}: {n_ok} finished, {n_failed} failed, "
                     + (f"{n_stale} finished by other code, " if n_stale else "")
                     + f"{len(plan.runs) - n_ok} to run with --resume")
    lines.append("")
    ws = max([len("scenario"), *(len(r.scenario) for r in plan.runs)]) + 2
    wp = max([len("policy"), *(len(p.display) for p in plan.policies)]) + 2
    lines.append(f"{'run_id':<14}{'point':>6}  {'state':<8}{'scenario':<{ws}}{'policy':<{wp}}"
                 f"{'seed':>6}  values")
    for r in plan.runs:
        vals = " ".join(f"{k}={v}" for k, v in r.values.items())
        st = state.get(r.run_id) or "todo"
        lines.append(f"{r.run_id:<14}{r.point:>6}  {st:<8}{r.scenario:<{ws}}{r.label:<{wp}}"
                     f"{r.seed:>6}  {vals}")
    return lines


__all__ = ["BACKENDS", "SweepResult", "default_workers", "dry_run_lines", "empty_segment_warnings",
           "plan_sweep", "states", "sweep"]
