"""What a worker does for one run: simulate, encode the run folder, write it or ship it back.

The worker never raises for a failing run: an exception becomes a small ``failed`` status record
with the traceback, and the driver writes the failure record. Only the death of the worker process
itself (killed, out of memory) escapes, and the backends deal with that.
"""

from __future__ import annotations

import functools
import importlib
import json
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outcome_gym._io import dumps, parquet_bytes
from outcome_gym.sim.footprint import check_footprint
from outcome_gym.sweeps.ids import pack_scenario, run_id_for
from outcome_gym.sweeps.store import write_run

if TYPE_CHECKING:
    from outcome_gym.policies.spec import PolicySpec
    from outcome_gym.runner import RunResult
    from outcome_gym.scenario import Scenario

Status = dict[str, Any]
RunFunction = Callable[..., "RunResult"]


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small to pickle: the scenario is compressed JSON).

    Build one with :meth:`make`, which computes the content-addressed ``run_id``.

    Attributes:
        run_id: The run's id (its folder name).
        scenario: zlib-compressed canonical JSON of the resolved scenario.
        policy: Registry name or ``module:Class``.
        params: Policy parameters.
        seed: Root seed.
        keep: Parquet tables to write besides summary.json (attributes of the run's result).
        info: Context for the run's manifest (experiment, label, axis values); not hashed.
        runner: ``module:function`` called as ``fn(scenario, spec, seed) -> RunResult`` instead
            of :func:`outcome_gym.runner.run` (a study adding per-user columns or an oracle);
            empty for the default.
        guardrails: Guardrail overrides for the run (a mapping, or ``False`` for none); ``None``
            keeps the scenario's. A custom ``runner`` then receives them as ``guardrails=``.
    """

    run_id: str
    scenario: bytes
    policy: str
    params: dict[str, Any]
    seed: int
    keep: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)
    runner: str = ""
    guardrails: Any = None

    @classmethod
    def make(cls, scenario: Scenario, spec: PolicySpec, seed: int, *, keep: tuple[str, ...] = (),
             runner: str = "", info: dict[str, Any] | None = None,
             guardrails: Any = None, base_dir: Path | None = None) -> RunTask:
        """A task with its content-addressed run id (the id sweeps give the same run).

        Args:
            scenario: A validated scenario.
            spec: The policy to run (its label is not part of the id).
            seed: Root seed.
            keep: Tables to write besides summary.json (``steps``, ``users``, ...).
            runner: ``module:function`` replacing the default run (part of the id when given).
            info: Context recorded in the manifest (not part of the id).
            guardrails: Guardrail overrides: ``None`` (the scenario's), ``False`` (off), a mapping
                or a :class:`~outcome_gym.scenario.schema.Guardrails` (part of the id when given).
            base_dir: The folder of the file that named the policy (a sweep or contract file):
                relative paths in its parameters are read from there and may not leave it
                (``None``: the working directory, as given on the command line).

        Raises:
            ValueError: ``runner`` is not an importable ``module:function``.
            InputError: The policy's parameters do not fit the scenario
                (:meth:`~outcome_gym.policies.spec.PolicySpec.resolved`), before any run.
        """
        if runner:
            resolve_runner(runner)  # a typo fails here, not in every worker
        check_footprint(scenario)  # a world too large for memory fails here, not in a worker
        spec = spec.resolved(scenario, base_dir)
        if hasattr(guardrails, "model_dump"):
            guardrails = guardrails.model_dump(mode="json")
        sha, packed = pack_scenario(scenario)
        params = dict(spec.params)
        rid = run_id_for(sha, spec.policy, params, seed, runner=runner, guardrails=guardrails)
        return cls(run_id=rid, scenario=packed, policy=spec.policy, params=params, seed=seed,
                   keep=tuple(keep), info=dict(info or {}), runner=runner, guardrails=guardrails)

    def scenario_data(self) -> dict[str, Any]:
        """The resolved scenario as plain data."""
        return json.loads(zlib.decompress(self.scenario))

    def spec(self) -> dict[str, Any]:
        """The run spec the id hashes (plus the id)."""
        out = {"run_id": self.run_id, "policy": self.policy, "params": self.params,
               "seed": self.seed}
        if self.runner:
            out["runner"] = self.runner
        if self.guardrails is not None:
            out["guardrails"] = self.guardrails
        return out


@functools.lru_cache(maxsize=32)
def resolve_runner(text: str) -> RunFunction:
    """The function a ``module:function`` reference names.

    Raises:
        ValueError: Malformed text, a module that does not import, or a missing attribute.
    """
    module, sep, name = text.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"expected a runner 'package.module:function', got {text!r}")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import runner {text!r}: {exc}") from None
    if not callable(fn):
        raise ValueError(f"expected runner {text!r} to be callable, got {type(fn).__name__}")
    return fn


def default_runner(scenario: Scenario, spec: PolicySpec, seed: int, *,
                   guardrails: Any = None) -> RunResult:
    """:func:`outcome_gym.runner.run` with the spec's policy and parameters."""
    from outcome_gym.policies import make as make_policy
    from outcome_gym.runner import run

    # the built object, not its name: messages then name the policy as it names itself
    policy = make_policy(spec.policy, **dict(spec.params))
    return run(scenario, policy, seed, guardrails=guardrails)


def run_manifest(task: RunTask, base: dict[str, Any]) -> dict[str, Any]:
    """The run's manifest: the runner's (scenario, versions, platform) plus the sweep's spec."""
    return {**base, "policy": {"name": task.policy, "params": task.params}, "seed": task.seed,
            "run_id": task.run_id, "run_spec": task.spec(), "sweep": task.info}


def simulate(task: RunTask) -> tuple[dict[str, bytes], int]:
    """Run the simulation; return the run folder's files and the user-steps simulated."""
    from outcome_gym.policies.spec import PolicySpec
    from outcome_gym.scenario import validate_scenario

    scenario = validate_scenario(task.scenario_data(), file=f"run {task.run_id}")
    spec = PolicySpec(policy=task.policy, params=task.params)
    fn = resolve_runner(task.runner) if task.runner else default_runner
    extra = {} if task.guardrails is None else {"guardrails": task.guardrails}
    result = fn(scenario, spec, task.seed, **extra)
    files = {"manifest.json": dumps(run_manifest(task, result.manifest)).encode(),
             "summary.json": dumps(result.summary).encode()}
    for name in task.keep:
        files[f"{name}.parquet"] = parquet_bytes(getattr(result, name))
    return files, scenario.population.size * scenario.clock.n_steps


def run_task(task: RunTask, runs_dir: str | None, *, pooled: bool = False) -> Status:
    """Run one task; write its folder under ``runs_dir`` (or return the files if ``None``).

    Args:
        task: The run.
        runs_dir: The folder of run folders, or ``None`` to return the files.
        pooled: This process is one of a pool's workers: its first run compiles every pass
            first, sharing the work with the pool's other workers (:func:`compile_shared`).

    Returns:
        A small status record: ``run_id``, ``status`` (``ok`` or ``failed``), ``error`` and
        ``traceback`` for a failure, ``seconds``, ``user_steps``, and ``files`` when shipping.
    """
    start = time.perf_counter()
    status: Status = {"run_id": task.run_id, "status": "ok", "user_steps": 0}
    try:
        if pooled:
            compile_shared()
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


@functools.cache
def compile_shared() -> None:
    """Compile (or load) the simulator's and the product layer's passes (the guardrail layer's,
    the variant actions' and the outcome objective's) once per process, shared with the other
    processes doing the same (``sim._jit.compile_together``).

    On a fresh machine a pool's workers would otherwise each compile every pass as its first
    run reaches it, all of them the same ~20 s at once; shared, two workers take about half.
    With a warm cache it loads them all (~0.5 s), which the runs would do anyway. The ``sb3``
    policy's observation encoder (env/spaces.py) compiles its own on first use. A failure here
    is not a run's: it is left to the runs, which compile what they use as they go.
    """
    from outcome_gym.product import _weighted, guardrails, variants
    from outcome_gym.sim._jit import compile_together
    from outcome_gym.sim.model import kernel_modules

    try:
        compile_together((*kernel_modules(), guardrails, variants, _weighted))
    except Exception:  # the runs then compile (and report) what they use
        return


def failed_status(task: RunTask, message: str) -> Status:
    """The status record of a run the infrastructure lost (its worker died), never run to the end."""
    return {"run_id": task.run_id, "status": "failed", "error": message,
            "traceback": message + "\n", "user_steps": 0, "seconds": 0.0}


__all__ = ["RunTask", "compile_shared", "default_runner", "failed_status", "resolve_runner", "run_manifest",
           "run_task", "simulate"]
