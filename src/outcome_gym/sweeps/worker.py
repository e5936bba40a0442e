"""What a worker does for one run: simulate, encode the run folder, write it or ship it back.

The worker never raises for a failing run: an exception becomes a small ``failed`` status record
with the traceback, and the driver writes the failure record. Only the death of the worker process
itself (killed, out of memory) escapes, and the backends deal with that.
"""

from __future__ import annotations

import json
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outcome_gym._io import dumps, parquet_bytes
from outcome_gym.sweeps.store import write_run


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small to pickle: the scenario is compressed JSON).

    Attributes:
        run_id: The run's id (its folder name).
        scenario: zlib-compressed canonical JSON of the resolved scenario.
        policy: Registry name or ``module:Class``.
        params: Policy parameters.
        seed: Root seed.
        keep: Parquet tables to write besides summary.json.
        info: Sweep context for the run's manifest (experiment, label, axis values).
    """

    run_id: str
    scenario: bytes
    policy: str
    params: dict[str, Any]
    seed: int
    keep: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)

    def scenario_data(self) -> dict[str, Any]:
        """The resolved scenario as plain data."""
        return json.loads(zlib.decompress(self.scenario))

    def spec(self) -> dict[str, Any]:
        """The run spec the id hashes (plus the id)."""
        return {"run_id": self.run_id, "policy": self.policy, "params": self.params,
                "seed": self.seed}


def run_manifest(task: RunTask, base: dict[str, Any]) -> dict[str, Any]:
    """The run's manifest: the runner's (scenario, versions, platform) plus the sweep's spec."""
    return {**base, "policy": {"name": task.policy, "params": task.params}, "seed": task.seed,
            "run_id": task.run_id, "run_spec": task.spec(), "sweep": task.info}


def simulate(task: RunTask) -> tuple[dict[str, bytes], int]:
    """Run the simulation; return the run folder's files and the user-steps simulated."""
    from outcome_gym.policies import make as make_policy
    from outcome_gym.runner import run
    from outcome_gym.scenario import validate_scenario

    scenario = validate_scenario(task.scenario_data(), file=f"run {task.run_id}")
    policy = make_policy(task.policy, **dict(task.params))
    result = run(scenario, policy, task.seed)
    files = {"manifest.json": dumps(run_manifest(task, result.manifest)).encode(),
             "summary.json": dumps(result.summary).encode()}
    for name in task.keep:
        files[f"{name}.parquet"] = parquet_bytes(getattr(result, name))
    return files, scenario.population.size * scenario.clock.n_steps


def execute(task: RunTask, runs_dir: str | None) -> dict[str, Any]:
    """Run one task; write its folder under ``runs_dir`` (or return the files if ``None``).

    Returns:
        A small status record: ``run_id``, ``status`` (``ok`` or ``failed``), ``error`` and
        ``traceback`` for a failure, ``seconds``, ``user_steps``, and ``files`` when shipping.
    """
    start = time.perf_counter()
    status: dict[str, Any] = {"run_id": task.run_id, "status": "ok", "user_steps": 0}
    try:
        files, status["user_steps"] = simulate(task)
        if runs_dir is None:
            status["files"] = files
        else:
            write_run(Path(runs_dir) / task.run_id, files)
    except (Exception, SystemExit) as exc:  # a failing run is a record, never a dead sweep
        status.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())
    status["seconds"] = time.perf_counter() - start
    return status


__all__ = ["RunTask", "execute", "run_manifest", "simulate"]


def failed_status(task: RunTask, message: str) -> dict[str, Any]:
    """The status record of a run the infrastructure lost (its worker died), never run to the end."""
    return {"run_id": task.run_id, "status": "failed", "error": message,
            "traceback": message + "\n", "user_steps": 0, "seconds": 0.0}
