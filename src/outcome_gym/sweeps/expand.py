"""Expanding an experiment into run specs, validated before any run starts.

Runs = scenarios x crossed ``grid`` x zipped groups x policies x seeds. Each point's scenario is the
base scenario with the point's dotted keys set, validated like a scenario file; each policy is
checked with the point's parameters — resolved to a policy class or registered factory, every
parameter's name and annotated type checked against its signature — without calling anything
(a dry run runs no user code). A real sweep (``build=True``) then also builds each policy once,
so a value its constructor rejects stops the sweep before the first run. Any problem anywhere
stops the expansion with every problem listed, each naming the point, the offending key and its
line in the experiment file.

A run id is a short hash of the resolved run spec — the resolved scenario (its canonical JSON
digest), the policy name, its parameters and the seed — so the same simulation gets the same id in
any sweep, on any machine, and ``--resume`` can recognise it. The policy's display label and the
point's number are not part of the id. Seeds are the explicit list of
:meth:`~outcome_gym.sweeps.schema.Experiment.seed_list`, the same for every point.

Dotted scenario keys: mappings by key; lists of items with an ``id`` (segments, elements, goals,
outcomes, channels) by id; other lists by index (``population.segments.saver.availability.slot.2``).
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from outcome_gym.errors import (
    InputError,
    OutcomeGymError,
    Problem,
    ScenarioError,
    ScenarioValidationError,
    SweepFileError,
)
from outcome_gym.policies import make as make_policy
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.scenario import Scenario, load_scenario, scenario_to_dict, validate_scenario
from outcome_gym.scenario.loading import scenario_source
from outcome_gym.scenario.overrides import KeyPathError, set_key
from outcome_gym.scenario.yamlio import KeyPath, format_path
from outcome_gym.sim.footprint import check_footprint
from outcome_gym.sweeps.ids import canonical, pack_scenario, run_id_for
from outcome_gym.sweeps.loading import ExperimentFile

MAX_RUNS = 5_000_000
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Axis:
    """One swept key.

    Attributes:
        key: The dotted key as written.
        values: Its values.
        where: Its key path in the experiment file (``("grid", key)`` or ``("zip", i, key)``).
        group: ``None`` for a crossed grid axis, else the zip group's index.
        param: For ``policy.*`` keys, the policy parameter; ``None`` for scenario keys.
        label: For ``policy.<label>.<param>``, the one policy it applies to.
    """

    key: str
    values: tuple[Any, ...]
    where: KeyPath
    group: int | None = None
    param: str | None = None
    label: str | None = None

    @property
    def is_policy(self) -> bool:
        """True for policy-parameter axes."""
        return self.param is not None

    def applies_to(self, label: str) -> bool:
        """Whether this axis changes runs of the policy labelled ``label``."""
        return not self.is_policy or self.label is None or self.label == label

    @property
    def parts(self) -> tuple[str, ...]:
        """The dotted scenario key split into its parts."""
        return tuple(self.key.split("."))


@dataclass(frozen=True)
class RunSpec:
    """One run of the sweep.

    Attributes:
        run_id: Short hash of the resolved run spec.
        point: 1-based number of the parameter point (scenario x grid x zip combination).
        source: The scenario as written in the experiment (bundled name or path).
        scenario: The resolved scenario's name.
        scenario_sha256: Digest of the resolved scenario's canonical JSON.
        label: The policy's display label.
        policy: Registry name or ``module:Class``.
        params: The policy's parameters at this point.
        seed: Root seed.
        values: Axis key -> value, for the axes that apply to this run.
    """

    run_id: str
    point: int
    source: str
    scenario: str
    scenario_sha256: str
    label: str
    policy: str
    params: dict[str, Any]
    seed: int
    values: dict[str, Any]

    def describe(self) -> str:
        """A one-line description: scenario, policy, seed and the axis values."""
        vals = " ".join(f"{k}={_short(v)}" for k, v in self.values.items())
        return f"{self.scenario} {self.label} seed {self.seed}" + (f" {vals}" if vals else "")


@dataclass
class Plan:
    """The expanded, validated sweep."""

    file: ExperimentFile
    scenarios: dict[str, Scenario]
    axes: list[Axis]
    policies: list[PolicySpec]
    seeds: list[int]
    keep: list[str]
    runs: list[RunSpec]
    n_points: int
    merged: int
    _scenario_json: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self.file.experiment.name

    def scenario_data(self, run: RunSpec) -> dict[str, Any]:
        """The resolved scenario of a run as plain data (``validate_scenario`` accepts it)."""
        return json.loads(zlib.decompress(self._scenario_json[run.scenario_sha256]))

    def base_scenario(self, run: RunSpec) -> Scenario:
        """The unmodified scenario a run's point starts from."""
        return self.scenarios[run.source]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


# --- scenarios -------------------------------------------------------------------------------


def resolve_scenarios(ef: ExperimentFile) -> dict[str, Scenario]:
    """Load every scenario of the experiment (paths relative to the experiment file)."""
    out: dict[str, Scenario] = {}
    problems: list[Problem] = []
    for i, source in enumerate(ef.experiment.scenarios):
        try:
            target = scenario_source(source, ef.base_dir)
        except ValueError as exc:
            problems.append(ef.problem(("scenarios", i), str(exc)))
            continue
        try:
            out[source] = load_scenario(target)
        except ScenarioError as exc:
            problems.append(ef.problem(("scenarios", i), f"cannot use scenario '{source}' "
                                       "(its problems follow)"))
            problems.extend(exc.problems)
    names: dict[str, str] = {}
    for i, (source, sc) in enumerate(out.items()):
        if sc.name in names:
            problems.append(ef.problem(("scenarios", i), (
                f"expected scenarios with distinct names, got '{sc.name}' from both "
                f"'{names[sc.name]}' and '{source}' (rename one: results are grouped by name)")))
        names[sc.name] = source
    if problems:
        raise SweepFileError(problems)
    return out


# --- axes, points and policies --------------------------------------------------------------


def parse_axes(ef: ExperimentFile, labels: list[str]) -> list[Axis]:
    """The experiment's axes in file order (grid first, then each zip group)."""
    exp = ef.experiment
    raw = [(k, v, ("grid", k), None) for k, v in exp.grid.items()]
    raw += [(k, v, ("zip", i, k), i) for i, g in enumerate(exp.zip) for k, v in g.items()]
    axes, problems = [], []
    for key, values, where, group in raw:
        param = label = None
        if key.startswith("policy."):
            rest = key.removeprefix("policy.")
            if "." in rest:
                label = next((lab for lab in labels if rest.startswith(lab + ".")
                              and "." not in rest[len(lab) + 1:]), None)
                if label is None:
                    problems.append(ef.problem(where, (
                        f"expected 'policy.<param>' or 'policy.<label>.<param>' with one of the "
                        f"labels {labels}, got '{key}'")))
                    continue
                param = rest[len(label) + 1:]
            else:
                param = rest
        axes.append(Axis(key, tuple(values), where, group, param, label))
    if problems:
        raise SweepFileError(problems)
    return axes


def iter_points(axes: list[Axis]) -> Iterator[dict[str, Any]]:
    """Every combination: grid axes crossed with each zip group (its axes move together)."""
    grid = [a for a in axes if a.group is None]
    groups: dict[int, list[Axis]] = {}
    for a in axes:
        if a.group is not None:
            groups.setdefault(a.group, []).append(a)
    dims: list[list[dict[str, Any]]] = [[{a.key: v} for v in a.values] for a in grid]
    for members in groups.values():
        n = len(members[0].values)
        dims.append([{a.key: a.values[i] for a in members} for i in range(n)])
    for combo in itertools.product(*dims):
        point: dict[str, Any] = {}
        for part in combo:
            point.update(part)
        yield point


def count_points(ef: ExperimentFile) -> int:
    """Number of parameter points (scenarios x grid x zip)."""
    n = len(ef.experiment.scenarios)
    for values in ef.experiment.grid.values():
        n *= len(values)
    for group in ef.experiment.zip:
        n *= len(next(iter(group.values()))) if group else 1
    return n


def _point_text(k: int, n: int, scenario: str, values: dict[str, Any]) -> str:
    vals = ", ".join(f"{key}={_short(v)}" for key, v in values.items())
    return f"point {k} of {n} (scenario '{scenario}'" + (f"; {vals})" if vals else ")")


def _blame(problem_path: str, axis_paths: dict[str, str]) -> list[str]:
    """Axis keys whose scenario path is, contains or lies inside the problem's path."""
    def inside(a: str, b: str) -> bool:
        return a == b or a.startswith(b + ".") or a.startswith(b + "[")
    return [key for key, p in axis_paths.items()
            if problem_path and (inside(problem_path, p) or inside(p, problem_path))]


class _Expander:
    """Builds the plan, collecting problems instead of stopping at the first."""

    def __init__(self, ef: ExperimentFile) -> None:
        self.ef = ef
        self._found: dict[tuple[KeyPath, str], list[Any]] = {}
        self.scenario_json: dict[str, bytes] = {}
        self._scenario_cache: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._policy_cache: dict[str, str | None] = {}
        self._objects: dict[str, Scenario] = {}  # sha -> the point's validated scenario
        self._resolved: dict[str, dict[str, Any] | None] = {}

    def add(self, where: KeyPath, text: str, message: str) -> None:
        """Record a problem once; the same problem at later points is only counted."""
        entry = self._found.setdefault((where, message), [text, 0])
        entry[1] += 1

    def problems(self) -> list[Problem]:
        out = []
        for (where, message), (text, count) in list(self._found.items())[:MAX_PROBLEMS]:
            also = f" (and at {count - 1} other point(s))" if count > 1 else ""
            out.append(self.ef.problem(where, f"{text}{also}: {message}"))
        if len(self._found) > MAX_PROBLEMS:
            out.append(Problem(self.ef.file, "", f"... and {len(self._found) - MAX_PROBLEMS} "
                                                 "more problem(s)"))
        return out

    def scenario(self, source: str, base: Scenario, axes: list[Axis], point: dict[str, Any],
                 text: str) -> tuple[str, str] | None:
        """(sha256, resolved name) of the point's scenario, or None (problem recorded)."""
        mine = {a.key: point[a.key] for a in axes if not a.is_policy}
        key = (source, canonical(mine))
        if key in self._scenario_cache:
            return self._scenario_cache[key]
        self._scenario_cache[key] = None
        data = scenario_to_dict(base)
        paths: dict[str, str] = {}
        by_key = {a.key: a for a in axes}
        # shorter keys first: a whole value is replaced before a deeper key tweaks it
        broken = False
        for k in sorted(mine, key=lambda k: len(by_key[k].parts)):
            try:
                paths[k] = format_path(set_key(data, by_key[k].parts, mine[k]))
            except KeyPathError as exc:  # go on: the other keys may have problems of their own
                self.add(by_key[k].where, text, str(exc))
                broken = True
        try:
            sc = validate_scenario(data, file=f"{source} at {text}")
        except ScenarioValidationError as exc:
            for p in exc.problems:
                blamed = _blame(p.path, paths) or list(paths)
                where = by_key[blamed[0]].where if blamed else ("scenarios",)
                also = f" (set by {', '.join(blamed)})" if blamed else ""
                hint = f" (did you mean '{p.suggestion}'?)" if p.suggestion else ""
                self.add(where, text, f"scenario '{source}' becomes invalid{also}: "
                                      f"{p.path or '(top)'}: {p.message}{hint}")
            return None
        if broken:
            return None
        try:
            check_footprint(sc)
        except ScenarioValidationError as exc:
            blamed = [k for k in mine if "population" in k] or list(mine)
            where = by_key[blamed[0]].where if blamed else ("scenarios",)
            for p in exc.problems:
                self.add(where, text, f"scenario '{source}': {p.path}: {p.message}")
            return None
        sha, packed = pack_scenario(sc)
        self.scenario_json.setdefault(sha, packed)
        self._objects.setdefault(sha, sc)
        self._scenario_cache[key] = (sha, sc.name)
        return self._scenario_cache[key]

    def resolved_params(self, spec: PolicySpec, params: dict[str, Any], sha: str,
                        where: KeyPath, text: str) -> dict[str, Any] | None:
        """The parameters the runs carry, checked against the point's scenario (``None``: a
        problem was recorded). Relative paths in them are read from the sweep file's folder and
        may not leave it (:meth:`~outcome_gym.policies.spec.PolicySpec.resolved`).
        """
        key = canonical([sha, spec.policy, params])
        if key not in self._resolved:
            try:
                self._resolved[key] = spec.model_copy(update={"params": params}).resolved(
                    self._objects[sha], self.ef.base_dir).params
            except InputError as exc:
                self._resolved[key] = None
                for p in exc.problems:
                    self.add(where, text, f"policy '{spec.display}': {p}")
        return self._resolved[key]

    def policy(self, spec: PolicySpec, params: dict[str, Any], where: tuple[KeyPath, KeyPath],
               param_where: dict[str, KeyPath], text: str, build: bool) -> bool:
        """Whether the policy checks (and, with ``build``, builds) with these parameters.

        ``where`` is (the policy's entry, the last axis that set one of its parameters or the
        entry). A name that does not resolve is recorded at the entry; a bad parameter at the
        axis that set it (``param_where``) or at the entry's ``params.<key>``; a constructor's
        refusal at the last axis.
        """
        entry, last = where
        key = canonical([spec.policy, params])
        if key not in self._policy_cache:
            self._policy_cache[key] = self._policy_problems(spec, params, build)
        found = self._policy_cache[key]
        for rel, error in found:
            at = (entry if rel == ("policy",) else last if not rel
                  else param_where.get(str(rel[1]), entry + rel))
            named = error.startswith((f"policy '{spec.policy}'", "unknown policy", "cannot import"))
            self.add(at, text, error if named and spec.display == spec.policy
                     else f"policy '{spec.display}': {error}")
        return not found

    @staticmethod
    def _policy_problems(spec: PolicySpec, params: dict[str, Any],
                         build: bool) -> list[tuple[KeyPath, str]]:
        found = spec.model_copy(update={"params": params}).problems()
        if found or not build:
            return found
        try:  # a checked policy class or registered factory: safe to construct
            make_policy(spec.policy, **params)
        except Exception as exc:  # a constructor may raise anything; report it, run nothing
            return [((), str(exc) if isinstance(exc, OutcomeGymError)
                     else f"{type(exc).__name__}: {exc}")]
        return []


def expand(ef: ExperimentFile, *, build: bool = False) -> Plan:
    """Expand and validate every run of the experiment (no run starts).

    Args:
        ef: The loaded experiment.
        build: Also build each distinct policy once (a real sweep, before its first run); without
            it nothing the experiment names is called (a dry run, ``validate``).

    Raises:
        SweepFileError: A scenario, key, point or policy is invalid; every problem is
            listed with the point it belongs to.
    """
    exp = ef.experiment
    scenarios = resolve_scenarios(ef)
    policies = list(ef.experiment.policies)
    axes = parse_axes(ef, [p.display for p in policies])
    seeds = exp.seed_list()
    n_points = count_points(ef)
    total = n_points * len(policies) * len(seeds)
    if total > MAX_RUNS:
        raise SweepFileError([ef.problem(("grid",), (
            f"expected at most {MAX_RUNS:,} runs, got {total:,} ({n_points:,} points x "
            f"{len(policies)} policies x {len(seeds)} seeds)"))])
    ex = _Expander(ef)
    runs: dict[str, RunSpec] = {}
    merged = 0
    k = 0
    for source, base in scenarios.items():
        for point in iter_points(axes):
            k += 1
            text = _point_text(k, n_points, base.name, point)
            resolved = ex.scenario(source, base, axes, point, text)
            for i, spec in enumerate(policies):
                params = dict(spec.params)
                where: KeyPath = ("policies", i)
                param_where: dict[str, KeyPath] = {}
                for a in axes:
                    if a.is_policy and a.applies_to(spec.display):
                        params[str(a.param)] = point[a.key]
                        where = param_where[str(a.param)] = a.where
                if (not ex.policy(spec, params, (("policies", i), where), param_where, text, build)
                        or resolved is None):
                    continue
                sha, name = resolved
                carried = ex.resolved_params(spec, params, sha, where, text)
                if carried is None:
                    continue
                params = carried
                values = {a.key: point[a.key] for a in axes if a.applies_to(spec.display)}
                for seed in seeds:
                    rid = run_id_for(sha, spec.policy, params, seed)
                    run = RunSpec(rid, k, source, name, sha, spec.display, spec.policy, params, seed,
                                  values)
                    prior = runs.get(rid)
                    if prior is None:
                        runs[rid] = run
                    elif prior.label == run.label and canonical(prior.values) == canonical(
                            run.values):
                        merged += 1  # an axis scoped to another policy: the same simulation
                    else:
                        ex.add(("grid",), text, (
                            f"runs the same simulation as point {prior.point} "
                            f"({prior.describe()} vs {run.describe()}): two values or policies "
                            "that resolve to the same scenario, policy and parameters"))
    problems = ex.problems()
    if problems:
        raise SweepFileError(problems)
    return Plan(file=ef, scenarios=scenarios, axes=axes, policies=policies, seeds=seeds,
                keep=exp.tables(), runs=list(runs.values()), n_points=n_points, merged=merged,
                _scenario_json=ex.scenario_json)


__all__ = [
    "Axis",
    "Plan",
    "RunSpec",
    "count_points",
    "expand",
    "iter_points",
]
