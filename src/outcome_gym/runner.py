"""Running one policy on one scenario under one seed, and writing the result.

scenario -> Product(scenario, seed, guardrails) -> loop {obs = product.observe();
action = policy.act(obs); result = product.step(action)  (validate -> guard -> advance);
policy.update(obs, result.action, result.feedback); collect(result.record)}
-> RunResult (tables + summary + manifest). :func:`simulate` is the loop alone.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from outcome_gym._io import atomic_dir, code_fingerprint, dumps, package_versions, write_parquet
from outcome_gym._progress import progress_bar
from outcome_gym.errors import OutcomeGymError, PolicyError
from outcome_gym.metrics.summary import summarize
from outcome_gym.metrics.tables import StepCollector
from outcome_gym.policies import make
from outcome_gym.product import Product
from outcome_gym.scenario import Scenario, load_scenario, scenario_hash, scenario_to_dict
from outcome_gym.sim.model import SimulationModel

DEPENDENCIES = ("numpy", "pandas", "pyarrow", "mesa", "gymnasium", "pydantic", "networkx")


@dataclass(frozen=True)
class RunResult:
    """The tidy outcome of one run."""

    steps: pd.DataFrame
    users: pd.DataFrame
    positions: pd.DataFrame
    elements: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any]

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> Path:
        """Write the run folder atomically (see :func:`write_result`)."""
        return write_result(self, out_dir, overwrite=overwrite)


def manifest_for(
    scenario: Scenario,
    policy_name: str,
    params: dict[str, Any],
    seed: int,
    guardrails: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything needed to reproduce a run (no timestamps: results stay byte-reproducible)."""
    return {
        "scenario": scenario_to_dict(scenario),
        "scenario_hash": scenario_hash(scenario),
        "policy": {"name": policy_name, "params": params},
        "guardrails": guardrails,
        "seed": seed,
        "versions": package_versions(("outcome-gym", *DEPENDENCIES)),
        "code": code_fingerprint(),
        "python": sys.version.split()[0],
        "platform": {"system": platform.system(), "machine": platform.machine()},
    }


@dataclass(frozen=True)
class Simulated:
    """What the step loop of a run leaves: the model at its end and what was collected."""

    model: SimulationModel
    collector: StepCollector
    start: dict[str, Any]
    name: str
    params: dict[str, Any]
    guard: Any

    def users(self) -> pd.DataFrame:
        """The users table: each user's final state, segment and starting traits."""
        model = self.model
        users = pd.DataFrame(model.user_state())
        users["segment"] = pd.Categorical(users["segment"],
                                          categories=list(model.world.segment_ids))
        return users.assign(**self.start)


def simulate(
    scenario: Scenario | str | Path,
    policy: Any = "static",
    seed: int = 0,
    *,
    policy_params: dict[str, Any] | None = None,
    progress: bool = False,
    guardrails: Any = None,
    guardrail_mode: str = "project",
    before_act: Callable[[SimulationModel], None] | None = None,
    users: Any = None,
    divergence: bool = True,
) -> Simulated:
    """The step loop of :func:`run` (same arguments), without the tables and summary it builds.

    A story's replay (:mod:`outcome_gym.story`) reads one user from it. ``users``: simulate these
    users and their teammates only (``SimulationModel``'s ``users``): each of them then lives the
    days of the full run exactly if the policy treats users apart
    (:func:`outcome_gym.policies.treats_users_apart`); the caller checks that. The steps table
    and the divergence metrics of such a model cover the simulated users only. ``divergence``
    False skips the divergence sample (``Recorder.sample_divergence``): the same users, no
    divergence columns in the steps.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    params = dict(policy_params or {})
    if isinstance(policy, str):
        name, pol = policy, make(policy, **params)
    else:
        name, pol = getattr(policy, "name", type(policy).__name__), policy
        params = pol.get_params() if hasattr(pol, "get_params") else {}
    product = Product(scenario, seed, guardrails=guardrails, guardrail_mode=guardrail_mode,
                      users=users)  # type: ignore[arg-type]
    model = product.model
    model.recorder.sample_divergence = divergence
    pol.reset(model.context, model.streams.policy_seed())
    start = start_traits(model)  # before the first step changes any state
    collector = StepCollector(model.world.segment_ids, model.world.element_ids)
    bar = progress_bar(total=model.world.n_steps, enabled=progress, unit="step",
                       desc=f"{scenario.name}/{name}/seed {seed}", leave=False)
    with bar:
        while not product.done:
            obs = product.observe()
            if before_act is not None:
                before_act(model)
            step = product.step(_act(pol, name, obs, model.t), who=name)
            pol.update(obs, step.action, step.feedback)
            collector.update(step.record)
            bar.update(1)
    return Simulated(model, collector, start, name, params, product.guardrails)


def run(
    scenario: Scenario | str | Path,
    policy: Any = "static",
    seed: int = 0,
    *,
    policy_params: dict[str, Any] | None = None,
    progress: bool = False,
    guardrails: Any = None,
    guardrail_mode: str = "project",
    before_act: Callable[[SimulationModel], None] | None = None,
) -> RunResult:
    """Simulate ``scenario`` under ``policy`` with ``seed``.

    Args:
        scenario: A scenario object, a bundled scenario's name (``"productivity_tool"``) or the
            path of a scenario file, as :func:`outcome_gym.compare` takes.
        policy: A registry name or a policy object.
        seed: The root seed.
        policy_params: Hyperparameters when ``policy`` is a name.
        progress: Show a progress bar on stderr.
        guardrails: ``None`` (the scenario's), ``False`` (off), or overrides (see
            :func:`~outcome_gym.product.guardrails.make_guardrails`).
        guardrail_mode: ``project`` (correct and count), ``strict`` (raise) or ``off``.
        before_act: Called with the model after each observation, before the policy acts (an
            experiment's oracle reads hidden state here; it must not change the model).

    Raises:
        ScenarioError: ``scenario`` names no bundled scenario or a missing or invalid file.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    sim = simulate(scenario, policy, seed, policy_params=policy_params, progress=progress,
                   guardrails=guardrails, guardrail_mode=guardrail_mode, before_act=before_act)
    steps, users, guard = sim.collector.steps_table(), sim.users(), sim.guard
    return RunResult(
        steps=steps,
        users=users,
        positions=sim.collector.positions_table(),
        elements=sim.collector.elements_table(),
        summary=summarize(scenario, steps, users),
        manifest=manifest_for(
            scenario, sim.name, sim.params, seed,
            {"mode": guard.mode, "config": guard.config.model_dump(mode="json")},
        ),
    )


START_TRAITS = {"trust_start": "trust", "session_propensity": "propensity",
                "habit_rate": "habit_rate", "churn_sensitivity": "churn_sensitivity",
                "avail_scale": "avail_scale"}
"""Users-table column -> population array read before the first step: the traits the 'who is
harmed' rules split on (docs/who-is-harmed.md) that the final state does not keep."""


def start_traits(model: SimulationModel) -> dict[str, Any]:
    """Each user's traits and starting state as the run began (float64 copies)."""
    return {col: getattr(model.pop, attr).astype("float64")
            for col, attr in START_TRAITS.items()}


def _act(policy: Any, name: str, obs: Any, step: int) -> Any:
    try:
        return policy.act(obs)
    except OutcomeGymError:
        raise
    except Exception as exc:
        raise PolicyError(
            f"policy '{name}' raised at step {step}: {type(exc).__name__}: {exc}"
        ) from exc


def write_result(result: RunResult, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write manifest.json, summary.json and the Parquet tables into ``out_dir`` atomically.

    ``out_dir`` must be new, empty, or an earlier run folder with ``overwrite`` (only what that
    run wrote is replaced).

    Raises:
        ResultsError: ``out_dir`` is a file, a folder outcome-gym did not write, an earlier run
            without ``overwrite``, or cannot be written.
    """
    with atomic_dir(out_dir, "run results", kind="run", overwrite=overwrite) as tmp:
        (tmp / "manifest.json").write_text(dumps(result.manifest))
        (tmp / "summary.json").write_text(dumps(result.summary))
        for name in ("steps", "users", "positions", "elements"):
            write_parquet(getattr(result, name), tmp / f"{name}.parquet")
    return Path(out_dir)
