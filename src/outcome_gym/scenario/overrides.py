"""Changing a scenario by ``path=value``: the one place a scenario is overridden.

A dotted key addresses scenario data as written in YAML: mapping keys by name, list items by index
or, in lists of items with ids (segments, elements, goals, outcomes), by id::

    population.size
    population.segments.professional.share
    elements.focus_mode.appeal

Sweeps, studies, the Gymnasium env's ``population``/``horizon_days``, CI contracts and the policy
conformance check all change scenarios through :func:`with_overrides`, which sets every key and then
validates the result once, so a bad override is reported like a bad file: by key, with did-you-mean.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from outcome_gym.errors import OutcomeGymError, Problem, ScenarioValidationError
from outcome_gym.scenario.loading import load_scenario, scenario_to_dict, validate_scenario
from outcome_gym.scenario.schema import Scenario
from outcome_gym.scenario.yamlio import KeyPath

Overrides = Mapping[str, Any] | Iterable[tuple[str, Any]]


class KeyPathError(OutcomeGymError):
    """A dotted key does not lead anywhere in the scenario."""


def _what(node: Any) -> str:
    if node is None:
        return "null"
    if isinstance(node, bool):
        return f"the boolean {node}"
    if isinstance(node, int | float):
        return f"the number {node}"
    if isinstance(node, str):
        return f"the text {node[:30]!r}"
    return type(node).__name__


def _list_index(node: list[Any], part: str, shown: str) -> int:
    if part.isdigit():
        idx = int(part)
        if idx >= len(node):
            raise KeyPathError(f"'{shown}' has {len(node)} item(s); index {idx} is out of range")
        return idx
    ids = [item.get("id") for item in node if isinstance(item, dict)]
    if ids and len(ids) == len(node) and all(isinstance(i, str) for i in ids):
        if part in ids:
            return ids.index(part)
        close = difflib.get_close_matches(part, ids, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise KeyPathError(f"'{shown}' has no item with id '{part}' (ids: {', '.join(ids)}){hint}")
    raise KeyPathError(
        f"'{shown}' is a list of {len(node)} item(s) without ids: address an item by its index "
        f"(0..{len(node) - 1}), got '{part}'"
    )


def set_key(data: dict[str, Any], parts: tuple[str, ...], value: Any) -> KeyPath:
    """Set a dotted key in scenario data in place; return its key path with list indices.

    Missing mapping keys are created (validation then rejects unknown ones by name).

    Raises:
        KeyPathError: A part names a missing list item, or the path runs through a plain value.
    """
    node: Any = data
    path: list[str | int] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        shown = ".".join(parts[:depth]) or "(top)"
        if isinstance(node, dict):
            if last:
                node[part] = copy.deepcopy(value)
                return (*path, part)
            if part not in node:
                node[part] = {}
            path.append(part)
            node = node[part]
        elif isinstance(node, list):
            idx = _list_index(node, part, shown)
            if last:
                node[idx] = copy.deepcopy(value)
                return (*path, idx)
            path.append(idx)
            node = node[idx]
        else:
            raise KeyPathError(
                f"'{shown}' is {_what(node)}, not a mapping or list, so it has no '{part}' "
                f"(sweep '{shown}' itself, e.g. with numbers or distribution mappings)"
            )
    raise KeyPathError("expected a non-empty key")  # pragma: no cover - keys are non-empty


def size_overrides(population: int | None = None,
                   horizon_days: int | None = None) -> dict[str, int]:
    """The overrides for a population size and a horizon (``None`` keeps the scenario's)."""
    out: dict[str, int] = {}
    if population is not None:
        out["population.size"] = population
    if horizon_days is not None:
        out["clock.horizon_days"] = horizon_days
    return out


def with_overrides(scenario: Scenario | str | Path, overrides: Overrides = (),
                   *, file: str | None = None) -> Scenario:
    """``scenario`` (an object, bundled name or path) with dotted keys set, validated once.

    Args:
        scenario: The scenario to start from.
        overrides: ``{dotted key: value}`` or ``(dotted key, value)`` pairs, applied in order.
        file: How problems name the result (default: the scenario and the override count).

    Returns:
        The validated scenario (``scenario`` itself when there is nothing to override).

    Raises:
        ScenarioError: The scenario cannot be loaded, a key leads nowhere, or the result breaks
            the schema.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    pairs = list(overrides.items() if isinstance(overrides, Mapping) else overrides)
    if not pairs:
        return sc
    data = scenario_to_dict(sc)
    where = file or f"<scenario '{sc.name}' with {len(pairs)} override(s)>"
    for dotted, value in pairs:
        try:
            set_key(data, tuple(str(dotted).split(".")), value)
        except KeyPathError as exc:
            raise ScenarioValidationError([Problem(file=where, path=str(dotted),
                                                   message=str(exc))]) from None
    return validate_scenario(data, file=where)
