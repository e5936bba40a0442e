"""The design of a sensitivity analysis: which parameters, over which ranges, at which points.

Every input is checked here, before any run: parameter names (did-you-mean), ranges (inside the
parameter's validated domain, and every scaled scenario valid), the method and its sample size.
Sampling is SALib's (Morris elementary effects, or Saltelli's scheme for Sobol indices) with a
fixed seed, so the same command samples the same points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from outcome_gym.analysis.verdict import min_seeds
from outcome_gym.errors import InputError, Problem
from outcome_gym.scenario import Scenario
from outcome_gym.scenario.loading import scenario_to_dict
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.scenario.provenance import ENTRIES, Entry, domain, in_domain, lookup, overrides_for
from outcome_gym.scenario.yamlio import load_yaml_mapping, read_text

METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4
MIN_TRAJECTORIES = 2
MIN_SOBOL_N = 8
SAMPLE_SEED = 14


class SensitivityInputError(InputError):
    """A sensitivity analysis's input (parameters, ranges, method, sample size) cannot be used."""

    kind = "sensitivity input"


@dataclass(frozen=True)
class Factor:
    """One varied parameter: its registry entry and the range used (the registry's or overridden)."""

    entry: Entry
    low: float
    high: float

    @property
    def name(self) -> str:
        """The parameter's short name."""
        return self.entry.name


@dataclass(frozen=True)
class Design:
    """The sampled points of a sensitivity analysis.

    Attributes:
        method: ``morris`` or ``sobol``.
        factors: The varied parameters, in column order of ``points``.
        points: One row per sample point (values, or factors for per-segment parameters).
        size: Trajectories (Morris) or the base sample ``N`` (Sobol).
    """

    method: str
    factors: list[Factor]
    points: np.ndarray
    size: int

    def problem(self) -> dict[str, Any]:
        """SALib's problem mapping."""
        return problem(self.factors)


def problem(factors: list[Factor]) -> dict[str, Any]:
    """SALib's problem mapping for ``factors``."""
    return {"num_vars": len(factors), "names": [f.name for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


def _bad(message: str, path: str = "", file: str = "", line: int | None = None,
         suggestion: str | None = None) -> Problem:
    return Problem(file=file, path=path, message=message, line=line, suggestion=suggestion)


def resolve_factors(names: list[str] | None,
                    ranges: dict[str, tuple[float, float]] | None = None) -> list[Factor]:
    """The factors for parameter names (default: every registry entry), with range overrides.

    Raises:
        SensitivityInputError: An unknown name (did-you-mean), a repeated one, fewer than two, or
            a range outside the parameter's validated domain (every problem at once).
    """
    problems: list[Problem] = []
    entries: list[Entry] = []
    for name in names if names is not None else [e.name for e in ENTRIES if e.has_range]:
        try:
            entry = lookup(name)
        except KeyError as exc:
            problems.append(_bad(str(exc.args[0]), "--params"))
            continue
        if not entry.has_range and name not in (ranges or {}):
            problems.append(_bad(f"parameter '{name}' has no range ({entry.note})", "--params"))
            continue
        if entry in entries:
            problems.append(_bad(f"parameter '{name}' is named twice", "--params"))
        entries.append(entry)
    if not problems and len(entries) < 2:
        problems.append(_bad(f"expected at least 2 parameters to compare, got {len(entries)}",
                             "--params"))
    overrides = dict(ranges or {})
    factors = []
    for entry in entries:
        # entries without a range were refused above unless --ranges gives one
        lo, hi = overrides.pop(entry.name, (entry.low or 0.0, entry.high or 0.0))
        problems += _range_problems(entry, lo, hi)
        factors.append(Factor(entry, float(lo), float(hi)))
    for name in overrides:
        problems.append(_bad(f"a range is given for '{name}', which is not varied (add it to "
                             "--params)", "--ranges"))
    if problems:
        raise SensitivityInputError(problems)
    return factors


def _range_problems(entry: Entry, lo: float, hi: float) -> list[Problem]:
    if not lo < hi:
        return [_bad(f"expected low < high, got [{lo:g}, {hi:g}]", entry.name)]
    bad = [v for v in (lo, hi) if not in_domain(entry, v)]
    if not bad:
        return []
    dlo, dhi, lo_open, hi_open = domain(entry)
    shown = f"{'(' if lo_open else '['}{dlo:g}, {dhi:g}{')' if hi_open else ']'}"
    what = "factor" if entry.scaled else "value"
    return [_bad(f"range [{lo:g}, {hi:g}] leaves the parameter's valid domain {shown} "
                 f"(a {what} of {bad[0]:g})", entry.name)]


def check_size(method: str, size: int, n_factors: int) -> None:
    """Check the method and its sample size before anything runs.

    Raises:
        SensitivityInputError: An unknown method; Morris with fewer than 2 trajectories; Sobol with
            a base sample that is not a power of 2 of at least 8.
    """
    if method not in METHODS:
        raise SensitivityInputError.one(f"expected method morris or sobol, got {method!r}",
                                        path="--method")
    if method == "morris" and size < MIN_TRAJECTORIES:
        raise SensitivityInputError.one(
            f"Morris needs at least {MIN_TRAJECTORIES} trajectories for mu* and its interval, got "
            f"{size} (10 is usual: {10 * (n_factors + 1)} points for {n_factors} parameters)",
            path="--trajectories")
    if method == "sobol" and (size < MIN_SOBOL_N or size & (size - 1)):
        ok = max(MIN_SOBOL_N, 1 << max(size - 1, 1).bit_length())
        raise SensitivityInputError.one(
            f"Sobol needs a base sample N that is a power of 2 and at least {MIN_SOBOL_N}, got "
            f"{size} (try {ok}: {ok * (n_factors + 2)} points for {n_factors} parameters)",
            path="--samples")


def sample(method: str, factors: list[Factor], size: int, seed: int = SAMPLE_SEED) -> Design:
    """SALib's sample points for ``factors`` (integers rounded), checked first.

    Args:
        method: ``morris`` (``size`` trajectories, ``size * (k + 1)`` points) or ``sobol``
            (base sample ``size``, ``size * (k + 2)`` points; first-order and total indices).
        factors: The varied parameters.
        size: Trajectories or base sample.
        seed: The sampling seed (fixed: the same command gives the same points).

    Raises:
        SensitivityInputError: A bad method or sample size.
    """
    check_size(method, size, len(factors))
    prob = problem(factors)
    if method == "morris":
        from SALib.sample import morris

        points = morris.sample(prob, size, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        from SALib.sample import sobol

        points = sobol.sample(prob, size, calc_second_order=False, seed=seed)
    points = np.asarray(points, dtype=np.float64)
    for j, f in enumerate(factors):
        if f.entry.integer:
            points[:, j] = np.rint(points[:, j])
    return Design(method=method, factors=factors, points=points, size=size)


def point_scenario(base: Scenario, factors: list[Factor], values: np.ndarray,
                   label: str) -> Scenario:
    """``base`` with every factor set to its value at one point (validated).

    Raises:
        ScenarioError: The point breaks the scenario (e.g. a scaled distribution leaves its
            per-user bounds); the message names the parameter.
    """
    data = scenario_to_dict(base)
    overrides: dict[str, Any] = {}
    for f, v in zip(factors, values, strict=True):
        overrides.update(overrides_for(f.entry, float(v), data))
    return with_overrides(base, overrides, file=label)


def check_corners(base: Scenario, factors: list[Factor]) -> None:
    """Build the scenario at each factor's two ends (others at their default) before any run.

    Raises:
        SensitivityInputError: A range end gives an invalid scenario (every such end reported).
    """
    from outcome_gym.errors import ScenarioError

    problems = []
    for f in factors:
        for end in (f.low, f.high):
            try:
                point_scenario(base, [f], np.array([end]), f"<{f.name} = {end:g}>")
            except ScenarioError as exc:
                detail = "; ".join(f"{p.path}: {p.message}" for p in exc.problems[:2])
                problems.append(_bad(f"range end {end:g} makes {base.name} invalid: {detail}",
                                     f.name))
    if problems:
        raise SensitivityInputError(problems)


def load_ranges(path: str | Path) -> dict[str, tuple[float, float]]:
    """Ranges from a small YAML file ``{name: [low, high], ...}``, checked strictly.

    Raises:
        SensitivityInputError: Unreadable, not a mapping, an unknown name, or a value that is not
            a list of two numbers (each problem with file, line and key).
    """
    from outcome_gym.errors import ScenarioFileError

    file = str(path)
    try:
        data, lines = load_yaml_mapping(read_text(Path(path)), file)
    except ScenarioFileError as exc:
        raise exc.as_kind(SensitivityInputError) from None
    problems, out = [], {}
    for key, value in data.items():
        line = lines.get((key,))
        try:
            lookup(str(key))
        except KeyError as exc:
            problems.append(_bad(str(exc.args[0]), str(key), file, line))
            continue
        ok = (isinstance(value, list) and len(value) == 2
              and all(isinstance(v, int | float) and not isinstance(v, bool)
                      and math.isfinite(v) for v in value))
        if not ok:
            problems.append(_bad(f"expected [low, high] (two numbers), got {value!r}", str(key),
                                 file, line))
            continue
        out[lookup(str(key)).name] = (float(value[0]), float(value[1]))
    if problems:
        raise SensitivityInputError(problems)
    return out


__all__ = ["METHODS", "Design", "Factor", "SensitivityInputError", "check_corners", "check_size",
           "load_ranges", "min_seeds", "point_scenario", "problem", "resolve_factors", "sample"]
