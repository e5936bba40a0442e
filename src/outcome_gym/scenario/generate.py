"""Elements generated at a chosen appeal-value correlation, and that correlation of any scenario.

The personalization trap may follow from a scenario's inputs alone: when the elements that pull
clicks are the ones that make no progress (appeal and value correlate negatively across elements),
any learner that chases appeal loses value. :func:`appeal_value_correlation` reports that property
(``outcome-gym validate`` and the compare report print it), and ``product.generate`` builds a
product's laid-out elements at a chosen correlation, so studies can sweep it from -0.8 to +0.8::

    product:
      generate: {n: 8, correlation: 0.0, seed: 7, goals: [deadlines]}
      layout: {default: [gen0, gen1, gen2, gen3, gen4, gen5, gen6, gen7]}   # optional
      elements: [...]        # optional: hand-written elements (e.g. notifications) are kept

The generated elements (``<prefix>0`` .. ``<prefix>{n-1}``) come after the hand-written ones; the
default layout, when not given, is the generated elements in order. Appeal and value are a
bivariate sample whose *sample* Pearson correlation is exactly ``correlation`` (the second column
is orthogonalised against the first before mixing), drawn only from ``seed``: the same block gives
the same elements on every machine and in every run. Element ``i`` serves goal ``goals[i % len]``.
Values are clipped to [0, 1] (a value below 0 is no progress); with the default spread this never
happens for n <= 10, and the reported correlation is always computed from the elements as
generated. The expansion happens before validation, so generated elements are checked like
hand-written ones; a dumped scenario (a run's manifest) holds the elements, not the block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field, ValidationError

from outcome_gym.scenario.distributions import FieldValueError, StrictModel

GENERATE_KEY = "generate"


class GeneratedElements(StrictModel):
    """``product.generate``: laid-out elements at a chosen appeal-value correlation."""

    n: int = Field(ge=2, le=64, description="How many elements to generate.")
    correlation: float = Field(
        ge=-0.99, le=0.99, description="Sample Pearson correlation of appeal and value."
    )
    seed: int = Field(ge=0, le=2**63 - 1, description="The only randomness of the elements.")
    goals: list[str] = Field(min_length=1, description="Goal ids the values serve, in turn.")
    appeal_mean: float = Field(default=0.4, ge=-3, le=3)
    appeal_sd: float = Field(default=0.5, ge=0, le=2)
    value_mean: float = Field(default=0.3, ge=0, le=1)
    value_sd: float = Field(default=0.1, ge=0, le=0.5)
    attention_cost: float = Field(default=2.0, gt=0, le=240, description="Minutes per use.")
    kind: str = Field(default="content", pattern="^(navigation|workflow|content|gamification)$")
    prefix: str = Field(default="gen", pattern=r"^[a-z][a-z0-9_]{0,40}$")


def _exact_pair(rng: np.random.Generator, n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Two standardised columns whose sample correlation is exactly ``rho``."""
    z = rng.standard_normal((n, 2))
    z -= z.mean(axis=0)
    x = z[:, 0] / np.linalg.norm(z[:, 0])
    r = z[:, 1] - (z[:, 1] @ x) * x  # orthogonal to x, still mean 0
    r /= np.linalg.norm(r)
    y = rho * x + np.sqrt(1.0 - rho**2) * r
    scale = np.sqrt(n - 1)  # unit sample standard deviation
    return x * scale, y * scale


def generate_elements(spec: GeneratedElements) -> list[dict[str, Any]]:
    """The generated elements as scenario dicts (deterministic in ``spec``)."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed))
    a, v = _exact_pair(rng, spec.n, spec.correlation)
    appeal = np.clip(spec.appeal_mean + spec.appeal_sd * a, -5.0, 5.0)
    value = np.clip(spec.value_mean + spec.value_sd * v, 0.0, 1.0)
    out = []
    for i in range(spec.n):
        goal = spec.goals[i % len(spec.goals)]
        element: dict[str, Any] = {
            "id": f"{spec.prefix}{i}", "kind": spec.kind,
            "appeal": round(float(appeal[i]), 6), "attention_cost": spec.attention_cost,
            "description": f"generated (correlation {spec.correlation:g}, seed {spec.seed})",
        }
        if value[i] > 0:
            element["value"] = {goal: round(float(value[i]), 6)}
        out.append(element)
    return out


def expand_generate(product: Any) -> Any:
    """A raw ``product`` mapping with the elements its ``generate`` block makes appended.

    The block stays (so ``product.generate.correlation`` can be overridden and swept); elements
    generated earlier (a dumped scenario: same id, description starting "generated (") are
    replaced, so expanding a dump again gives the same product. Anything that is not a mapping
    with a ``generate`` block is returned unchanged.

    Raises:
        FieldValueError: The block is not a valid :class:`GeneratedElements`.
    """
    if not isinstance(product, dict) or GENERATE_KEY not in product:
        return product
    raw = dict(product)
    block = raw.get(GENERATE_KEY)
    if block is None:
        return raw
    try:
        spec = GeneratedElements.model_validate(block)
    except ValidationError as exc:
        raise FieldValueError(GENERATE_KEY, _problem(exc)) from None
    made = generate_elements(spec)
    ids = {e["id"] for e in made}
    written = [e for e in list(raw.get("elements") or []) if not _generated_before(e, ids)]
    raw["elements"] = [*written, *made]
    raw.setdefault("layout", {"default": [e["id"] for e in made]})
    return raw


def _generated_before(element: Any, ids: set[str]) -> bool:
    """An element a previous expansion made (a dumped scenario holds them)."""
    return (isinstance(element, dict) and element.get("id") in ids
            and str(element.get("description", "")).startswith("generated ("))


def _problem(exc: ValidationError) -> str:
    """The first problem of an invalid block, in the loader's 'expected ..., got ...' form."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or GENERATE_KEY
    if first["type"] == "missing":
        return f"{where}: expected this key, got nothing (it is required)"
    msg = str(first["msg"]).replace("Input should be", "expected")
    return f"{where}: {msg}, got {first.get('input')!r}"


def appeal_value_correlation(elements: Sequence[Any]) -> float | None:
    """Pearson correlation, across the laid-out elements, of appeal and total value.

    Total value is the element's value summed over goals; pushed elements (notifications, alerts)
    are left out (they are not ranked in the layout). None when fewer than 3 laid-out elements or
    either column is constant.
    """
    shown = [e for e in elements if not e.pushed]
    if len(shown) < 3:
        return None
    a = np.array([e.appeal for e in shown], dtype=np.float64)
    v = np.array([sum(e.value.values()) for e in shown], dtype=np.float64)
    if np.ptp(a) == 0 or np.ptp(v) == 0:
        return None
    return float(np.corrcoef(a, v)[0, 1])
