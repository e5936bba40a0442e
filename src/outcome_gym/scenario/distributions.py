"""The closed set of distributions a scenario may give for a per-user parameter.

A parameter is either a plain number (every user gets it) or one of these tagged mappings::

    attention_budget: {dist: lognormal, median: 30, sigma: 0.4, low: 5, high: 120}

Sampling is vectorized and takes an explicit ``numpy.random.Generator``: no global state.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class FieldValueError(ValueError):
    """A model-level check that blames one field: the loader points the problem at that key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StrictModel(BaseModel):
    """Base of every schema model: strict types, no unknown keys, no NaN/inf, immutable."""

    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True
    )


class _Clipped(StrictModel):
    low: float | None = Field(default=None, description="Values below are clipped to this.")
    high: float | None = Field(default=None, description="Values above are clipped to this.")

    @model_validator(mode="after")
    def _check_bounds(self) -> _Clipped:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise FieldValueError(
                "high", f"expected low <= high, got low={self.low}, high={self.high}"
            )
        return self

    def _clip(self, x: np.ndarray) -> np.ndarray:
        if self.low is not None or self.high is not None:
            x = x.clip(self.low, self.high)  # np.clip's own call, without its wrapper
        return x


class Fixed(StrictModel):
    """Every user gets ``value``."""

    dist: Literal["fixed"]
    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values."""
        return np.full(n, self.value, dtype=np.float64)

    def mean(self) -> float:
        """Expected value."""
        return self.value


class Uniform(StrictModel):
    """Uniform on ``[low, high)``."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if self.low > self.high:
            raise FieldValueError(
                "high", f"expected low <= high, got low={self.low}, high={self.high}"
            )
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values."""
        return rng.uniform(self.low, self.high, n)

    def mean(self) -> float:
        """Expected value."""
        return 0.5 * (self.low + self.high)


class Normal(_Clipped):
    """Normal with ``mean`` and standard deviation ``sd``, optionally clipped."""

    dist: Literal["normal"]
    mean_: float = Field(alias="mean")
    sd: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values."""
        return self._clip(rng.normal(self.mean_, self.sd, n))

    def mean(self) -> float:
        """Expected value before clipping."""
        return self.mean_


class LogNormal(_Clipped):
    """Log-normal given by its ``median`` (> 0) and log-scale ``sigma``, optionally clipped."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values."""
        return self._clip(self.median * np.exp(rng.normal(0.0, self.sigma, n)))

    def mean(self) -> float:
        """Expected value before clipping."""
        return float(self.median * np.exp(0.5 * self.sigma**2))


class Beta(StrictModel):
    """Beta(a, b) rescaled to ``[low, high]`` (default ``[0, 1]``)."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _check(self) -> Beta:
        if self.low > self.high:
            raise FieldValueError(
                "high", f"expected low <= high, got low={self.low}, high={self.high}"
            )
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values."""
        return self.low + (self.high - self.low) * rng.beta(self.a, self.b, n)

    def mean(self) -> float:
        """Expected value."""
        return self.low + (self.high - self.low) * self.a / (self.a + self.b)


@dataclass(frozen=True, eq=False)  # eq=False: by identity, so a model's == never compares arrays
class _Table:
    """A categorical's values (float64) and its cumulative probabilities over their last entry
    (what ``choice`` searches), read-only.
    """

    values: np.ndarray
    cdf: np.ndarray


class Categorical(StrictModel):
    """One of ``values`` with probabilities ``probs`` (which must sum to 1)."""

    dist: Literal["categorical"]
    values: list[float] = Field(min_length=1, max_length=1000)
    probs: list[Annotated[float, Field(ge=0, le=1)]] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _check(self) -> Categorical:
        if len(self.values) != len(self.probs):
            raise FieldValueError(
                "probs",
                f"expected as many probs as values, got {len(self.probs)} probs "
                f"for {len(self.values)} values",
            )
        total = sum(self.probs)
        if abs(total - 1.0) > 1e-6:
            raise FieldValueError("probs", f"expected probs summing to 1, got {total:.6g}")
        return self

    @functools.cached_property
    def _table(self) -> _Table:
        # computed once per distribution, not at every draw (a reset draws team sizes and
        # devices); kept in the instance (the model is frozen: its values never change), so the
        # table is this distribution's own, e.g. its -0.0 values
        p = np.asarray(self.probs, dtype=np.float64)
        cdf = (p / p.sum()).cumsum()
        cdf /= cdf[-1]
        values = np.asarray(self.values, dtype=np.float64)
        values.setflags(write=False)
        cdf.setflags(write=False)
        return _Table(values, cdf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values: ``rng.choice(len(values), n, p=probs / sum(probs))`` as numpy
        computes it -- the cumulative probabilities over their last entry, searched (from the
        right) for ``n`` uniforms -- without ``choice``'s checks of ``p``, which the schema made
        (~10 us a call: a reset draws team sizes and devices this way). The same values and
        stream position: tested against ``choice``.
        """
        table = self._table
        return table.values[table.cdf.searchsorted(rng.random(n), side="right")]

    def mean(self) -> float:
        """Expected value."""
        return float(np.dot(self.values, self.probs) / sum(self.probs))


Distribution = Annotated[
    Fixed | Uniform | Normal | LogNormal | Beta | Categorical, Field(discriminator="dist")
]
"""A tagged distribution mapping (``dist:`` selects the kind)."""

Param = float | Distribution
"""A per-user parameter: a plain number, or a distribution."""


def sample_param(param: Param, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` values of a parameter.

    Args:
        param: A number or a distribution.
        rng: The generator to draw from (a child stream of the run's root seed).
        n: How many users.

    Returns:
        A float64 array of length ``n``.
    """
    if isinstance(param, float | int):
        return np.full(n, float(param), dtype=np.float64)
    return param.sample(rng, n)


def param_constant(param: Param) -> float | None:
    """The value every user gets from ``param`` without a draw (a number or ``fixed``: what
    :func:`sample_param` returns for it, the stream untouched), else None (a distribution,
    which draws from the stream even when its support is one value).
    """
    if isinstance(param, float | int):
        return float(param)
    if isinstance(param, Fixed):
        return param.value
    return None


def param_mean(param: Param) -> float:
    """The expected value of a parameter (before clipping)."""
    if isinstance(param, float | int):
        return float(param)
    return param.mean()


def param_support(param: Param) -> tuple[float, float]:
    """The smallest and largest value a parameter can take (inf where unbounded)."""
    if isinstance(param, float | int):
        return float(param), float(param)
    if isinstance(param, Fixed):
        return param.value, param.value
    if isinstance(param, Uniform | Beta):
        return param.low, param.high
    if isinstance(param, Categorical):
        return min(param.values), max(param.values)
    lo = param.low if param.low is not None else -np.inf
    if isinstance(param, LogNormal) and param.low is None:
        lo = 0.0
    hi = param.high if param.high is not None else np.inf
    return float(lo), float(hi)
