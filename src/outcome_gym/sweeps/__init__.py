"""Sweeps: the one executor, experiment files, expansion, local and Dask runners, the result store.

from outcome_gym.sweeps import RunTask, execute, read_summary
statuses = execute([RunTask.make(scenario, spec, seed) for seed in range(10)], "out/runs")

from outcome_gym.sweeps import load_experiment, expand, sweep, write_sweep_report
plan = expand(load_experiment("experiments/sweeps/example_sweep.yaml"))   # validated; nothing runs
res = sweep(plan, workers=2, progress=True)                         # results/<name>/
write_sweep_report(res.out)                                         # results/<name>/report/
"""

from pathlib import Path

from outcome_gym.sweeps.executor import execute, read_summary, read_table
from outcome_gym.sweeps.expand import Axis, Plan, RunSpec, expand
from outcome_gym.sweeps.loading import ExperimentFile, load_experiment, parse_experiment
from outcome_gym.sweeps.schema import Experiment
from outcome_gym.sweeps.store import read_dataset
from outcome_gym.sweeps.sweep import SweepResult, dry_run_lines, plan_sweep, sweep
from outcome_gym.sweeps.worker import RunTask


def write_sweep_report(sweep_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw the sweep's figures and write report.md and report.html (see :mod:`.report`).

    Imported on first use: matplotlib stays out of the workers and the CLI's start-up.
    """
    from outcome_gym.sweeps.report import write_sweep_report as _write

    return _write(sweep_dir, out)


__all__ = [
    "Axis",
    "Experiment",
    "ExperimentFile",
    "Plan",
    "RunSpec",
    "RunTask",
    "SweepResult",
    "dry_run_lines",
    "execute",
    "expand",
    "load_experiment",
    "parse_experiment",
    "plan_sweep",
    "read_dataset",
    "read_summary",
    "read_table",
    "sweep",
    "write_sweep_report",
]
