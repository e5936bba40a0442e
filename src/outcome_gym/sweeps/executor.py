"""The one executor: every workflow that runs many simulations submits :class:`RunTask` s here.

    from outcome_gym.sweeps import RunTask, execute, read_summary, read_table
    tasks = [RunTask.make(scenario, spec, seed, keep=("steps",)) for seed in range(20)]
    statuses = execute(tasks, "results/x/runs", workers=2)      # in task order
    summary = read_summary(Path("results/x/runs") / tasks[0].run_id)

Each task runs into ``runs_dir/<run_id>/``, a folder written atomically (see :mod:`.store`). A task
whose folder is already finished — ``summary.json`` and every kept table — is skipped, so a killed
workflow resumes, and the same run asked for twice (by two workflows sharing ``runs_dir``, or twice
in one list) is simulated once. Failures come back as status records, never as exceptions: the
caller decides what a failed run means (a sweep records it and goes on; a comparison stops).

Backends: ``workers`` <= 1 runs in this process; more use the local pool (:mod:`.local`), which
survives worker deaths; ``backend="dask"`` uses a Dask cluster (:mod:`.cluster`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from outcome_gym._io import read_json
from outcome_gym._progress import progress_bar
from outcome_gym.errors import ResultsError
from outcome_gym.sweeps.store import (
    clean_temporaries,
    failure_files,
    is_current,
    run_state,
    write_run,
)
from outcome_gym.sweeps.worker import RunTask, Status, run_manifest

BACKENDS = ("local", "dask")


def execute(tasks: Sequence[RunTask], runs_dir: str | Path, *, workers: int = 1,
            backend: str = "local", address: str | None = None, retries: int = 2,
            progress: bool = False, desc: str = "runs", in_process: bool | None = None,
            warnings: list[str] | None = None) -> list[Status]:
    """Run every task not finished yet into ``runs_dir/<run_id>/``; return statuses in task order.

    Args:
        tasks: The runs (a run id may appear more than once; it runs once).
        runs_dir: The folder of run folders (created if missing).
        workers: Worker processes (<= 1 runs in this process unless ``in_process`` is False;
            with ``address`` the cluster's workers are used).
        backend: ``local`` (this process or a process pool) or ``dask``.
        address: A Dask scheduler (``tcp://host:8786``); default a LocalCluster of ``workers``.
        retries: Times a run may kill its worker process before it is recorded as failed.
        progress: Show a progress bar with ETA on stderr.
        desc: The progress bar's label.
        in_process: Force (True) or forbid (False) running in this process with the local
            backend; default: in this process when ``workers`` <= 1. A pool of one protects the
            caller from a run that kills its process.
        warnings: A list the backend appends its warnings to (e.g. Dask workers' versions differ).

    Returns:
        One status record per task: ``run_id``, ``status`` (``ok`` or ``failed``), ``skipped``
        (finished before this call), ``error`` and ``traceback`` for a failure, ``seconds`` and
        ``user_steps`` spent in this call.

    Raises:
        ValueError: An unknown backend.
        ResultsError: ``runs_dir`` cannot be written.
        ClusterError: The Dask backend is missing or its scheduler unreachable.
    """
    if backend not in BACKENDS:
        raise ValueError(f"expected backend local or dask, got {backend!r}")
    runs = Path(runs_dir)
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(f"cannot create {runs}: {exc}") from exc
    clean_temporaries(runs)
    done: dict[str, Status] = {}
    todo: dict[str, RunTask] = {}
    for task in tasks:
        if task.run_id in done or task.run_id in todo:
            continue
        dest = runs / task.run_id
        if run_state(dest, list(task.keep)) == "ok" and is_current(dest):
            done[task.run_id] = _skipped(task)
        else:
            todo[task.run_id] = task
    if todo:
        local = in_process if in_process is not None else workers <= 1
        _run(list(todo.values()), runs, done, workers=workers, backend=backend, address=address,
             retries=retries, progress=progress, desc=desc, in_process=local,
             warnings=warnings if warnings is not None else [])
    return [dict(done[t.run_id]) for t in tasks]


def _skipped(task: RunTask) -> Status:
    return {"run_id": task.run_id, "status": "ok", "skipped": True, "user_steps": 0,
            "seconds": 0.0}


def _run(todo: list[RunTask], runs: Path, done: dict[str, Status], *, workers: int,
         backend: str, address: str | None, retries: int, progress: bool, desc: str,
         in_process: bool, warnings: list[str]) -> None:
    """Dispatch ``todo`` to a backend; record each status (and write its folder) as it arrives."""
    by_id = {t.run_id: t for t in todo}
    bar = progress_bar(total=len(todo), enabled=progress, unit="run", desc=desc,
                       dynamic_ncols=True, smoothing=0.1)
    failed = 0

    def on_status(status: Status) -> None:
        nonlocal failed
        task = by_id[status["run_id"]]
        _settle(task, status, runs)
        status["skipped"] = False
        done[task.run_id] = status
        if status["status"] != "ok":
            failed += 1
            bar.set_postfix(failed=failed)
        bar.update(1)

    with bar:
        if backend == "dask":
            from outcome_gym.sweeps.cluster import DaskRunner

            runner = DaskRunner(workers, address, allowed_failures=retries)
            runner.run(todo, on_status)
            warnings += runner.warnings
        elif in_process:
            from outcome_gym.sweeps.local import run_in_process

            run_in_process(todo, str(runs), on_status)
        else:
            from outcome_gym.sweeps.local import LocalPool

            LocalPool(workers, str(runs), retries=retries).run(todo, on_status)


def _settle(task: RunTask, status: Status, runs: Path) -> None:
    """Write what the worker shipped back, or the failure record of a failed run."""
    dest = runs / task.run_id
    files = status.pop("files", None)
    if status["status"] == "ok":
        if files is not None:  # Dask ships the files; local workers wrote them already
            write_run(dest, files)
    elif run_state(dest, list(task.keep)) != "ok":  # never replace a finished copy
        manifest = run_manifest(task, {"scenario": task.scenario_data()})
        write_run(dest, failure_files(manifest, status["error"], status["traceback"]))


def read_summary(run_dir: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of a finished run folder.

    Raises:
        ResultsError: The run failed (its error is quoted), has not run, or cannot be read.
    """
    path = Path(run_dir)
    if not (path / "summary.json").is_file() and (path / "failed.json").is_file():
        error = read_json(path / "failed.json").get("error", "")
        raise ResultsError(f"{path}: the run failed: {error}")
    if not (path / "summary.json").is_file():
        raise ResultsError(f"{path}: no summary.json (has this run finished?)")
    return read_json(path / "summary.json")


def read_table(run_dir: str | Path, name: str) -> pd.DataFrame:
    """A kept table (``steps``, ``users``, ...) of a finished run folder.

    Raises:
        ResultsError: The table was not kept for this run, or cannot be read.
    """
    path = Path(run_dir) / f"{name}.parquet"
    if not path.is_file():
        raise ResultsError(f"{path.parent}: no {name} table (was it in the task's keep?)")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc


__all__ = ["BACKENDS", "execute", "read_summary", "read_table"]
