"""The experiment language: one sweep in one YAML file.

::

    name: budget_sweep
    description: Does a larger attention budget close the gap between the policies?
    scenarios: [productivity_tool, ../tests/fixtures/tiny.yaml]   # bundled names or paths
    grid:                                     # crossed: every combination
      population.segments.casual.attention_budget.median: [8, 12, 20]
      policy.outcome_bandit.epsilon: [0.05, 0.2]     # one policy's parameter
    zip:                                      # each group varies together (equal lengths)
      - population.size: [500, 1000]
        clock.horizon_days: [14, 28]
    policies: [static, {policy: outcome_bandit, params: {granularity: user}}]
    seeds: {count: 5, first: 0}
    keep: [steps]                             # summary.json always; Parquet tables on request

Models are strict like the scenario's (:class:`~outcome_gym.scenario.distributions.StrictModel`):
unknown keys, wrong types and NaN are errors that name the file, key path and line.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Literal

from pydantic import Field, model_validator

from outcome_gym.policies.spec import PolicySpec, plain_value
from outcome_gym.scenario.distributions import FieldValueError, StrictModel
from outcome_gym.scenario.schema import IDENTIFIER_PATTERN

TABLES = ("steps", "users", "positions", "elements")
"""Per-run Parquet tables a sweep can keep (``summary.json`` is always kept)."""

MAX_VALUES = 10_000
MAX_SEEDS = 1_000_000
KEY_PATTERN = r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_:.=,-]+)*$"


class Seeds(StrictModel):
    """Which root seeds every point runs with (the same seeds everywhere: common random numbers).

    ``{count: 5}`` gives seeds 0-4 (``first`` moves the start), matching ``outcome-gym run --seed``
    and ``compare``. ``{count: 5, entropy: 2024}`` instead spawns ``count`` children of
    ``SeedSequence(2024)`` and takes a 63-bit seed from each: independent seed sets per experiment.
    """

    count: int = Field(ge=1, le=MAX_SEEDS, description="How many seeds.")
    first: int | None = Field(default=None, ge=0, description="First seed (default 0).")
    entropy: int | None = Field(
        default=None, ge=0, description="Spawn the seeds from SeedSequence(entropy) instead."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Seeds:
        if self.first is not None and self.entropy is not None:
            raise FieldValueError("entropy", "expected either 'first' or 'entropy', got both")
        return self


class Experiment(StrictModel):
    """A sweep: scenarios x crossed grid x zipped groups x policies x seeds."""

    name: str = Field(
        pattern=IDENTIFIER_PATTERN,
        description="Identifier; results go to results/<name>/ by default.",
    )
    description: str = Field(default="", max_length=2000)
    scenarios: list[str] = Field(
        min_length=1,
        max_length=64,
        description="Bundled scenario names or paths relative to the experiment file.",
    )
    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Dotted key -> values, crossed. Scenario keys address segments, elements, "
        "goals and outcomes by id and other lists by index; 'policy.<param>' sets a parameter "
        "of every policy, 'policy.<label>.<param>' of one.",
    )
    zip: list[dict[str, list[Any]]] = Field(
        default_factory=list,
        max_length=16,
        description="Groups of keys whose values vary together (equal lengths in a group).",
    )
    policies: list[PolicySpec] = Field(min_length=1, max_length=64)
    seeds: int | Seeds = Field(description="A count (seeds 0..n-1) or {count, first | entropy}.")
    keep: list[Literal["summary", "steps", "users", "positions", "elements"]] = Field(
        default_factory=list,
        description="Per-run tables to keep besides summary.json.",
    )

    def seed_list(self) -> list[int]:
        """The explicit root seeds, fixed before any run starts."""
        if isinstance(self.seeds, int):
            return list(range(self.seeds))
        if self.seeds.entropy is not None:
            import numpy as np

            children = np.random.SeedSequence(self.seeds.entropy).spawn(self.seeds.count)
            # 63 bits from each child: a plain non-negative int that `run --seed` accepts
            return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]
        first = self.seeds.first or 0
        return list(range(first, first + self.seeds.count))

    def tables(self) -> list[str]:
        """The Parquet tables to keep, in a fixed order."""
        return [t for t in TABLES if t in self.keep]


def check_experiment(exp: Experiment) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-checks the types cannot express, as (key path, message) pairs (empty when fine).

    Axis keys are well formed, each axis has distinct finite values, a key appears once over
    ``grid`` and ``zip``, zip groups have equal lengths, labels and scenarios are distinct.
    """
    found: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[str, tuple[str | int, ...]] = {}
    axes: list[tuple[tuple[str | int, ...], str, list[Any]]] = [
        (("grid", k), k, v) for k, v in exp.grid.items()
    ]
    for i, group in enumerate(exp.zip):
        if not group:
            found.append((("zip", i), "expected a group of at least one key, got an empty mapping"))
            continue
        first_key, first = next(iter(group.items()))
        for key, values in group.items():
            axes.append((("zip", i, key), key, values))
            if len(values) != len(first):
                found.append((("zip", i, key), (
                    f"expected equal lengths in a zip group, got {len(first)} values for "
                    f"'{first_key}' and {len(values)} for '{key}'")))
    for path, key, values in axes:
        if key in seen:
            found.append((path, f"expected each key once over grid and zip, got '{key}' again"))
        seen.setdefault(key, path)
        problem = _axis_problem(key, values)
        if problem:
            found.append((path, problem))
    labels = [p.display for p in exp.policies]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            found.append((("policies", i), (
                f"expected distinct policy labels, got '{label}' again (give each a 'label')")))
    for i, source in enumerate(exp.scenarios):
        if source in exp.scenarios[:i]:
            found.append((("scenarios", i), f"expected each scenario once, got '{source}' again"))
    return found


def _axis_problem(key: str, values: list[Any]) -> str | None:
    if not re.match(KEY_PATTERN, key):
        return f"expected a dotted key such as 'population.size' or 'policy.epsilon', got {key!r}"
    if not values:
        return f"expected at least one value for '{key}', got an empty list"
    if len(values) > MAX_VALUES:
        return f"expected at most {MAX_VALUES} values for '{key}', got {len(values)}"
    try:
        plain_value(values, f" for '{key}'")
    except ValueError as exc:
        return str(exc)
    canon = [json.dumps(v, sort_keys=True) for v in values]
    counts = Counter(canon)
    for v, c in zip(values, canon, strict=True):
        if counts[c] > 1:
            return f"expected distinct values for '{key}', got {v!r} more than once"
    return None


__all__ = ["TABLES", "Experiment", "Seeds", "check_experiment"]
