"""Paired statistics over seeds: Student-t tests and intervals on seed-level differences.

Runs are paired by seed (common random numbers): the same seed gives the same population and the
same exogenous events under every policy, so per-seed differences have low variance. The seed is the
unit: each seed's metric is already a mean over hundreds of users, so its paired differences are
close to normal and a Student-t analysis on them is the one framework every number below comes from
(docs/verdicts.md, "Statistics", has the measurements behind this choice). For each metric, over the
n seed pairs:

* ``diff``: mean of d = policy - reference, with a Student-t interval;
* ``p_value``: the two-sided paired t-test of mean(d) = 0 (``up``/``down`` at the stat's level);
* ``lift``: mean(policy) / mean(reference) - 1, with its Fieller interval: the set of lifts L the
  paired t-test of d - L * reference does not reject (``None`` when the reference mean is 0, or
  when the interval is unbounded because the reference mean is not distinguishable from 0);
* ``effect_size``: Cohen's d_z = mean(d) / sd(d) (0 when every difference is equal);
* ``lift_sd``: sd over seeds of the lift's linearised pseudo-values (d - lift * reference) /
  mean(reference), the spread the seeds-needed estimate of :mod:`.verdict` uses.

Margin tests on the lift scale (non-inferiority, equivalence, "beyond the margin") are t-tests of
the same pseudo-values, :func:`lift_test_p`; so every test agrees with the interval it goes with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from scipy.stats import t as student_t


@dataclass(frozen=True)
class PairedStat:
    """Paired comparison of one metric."""

    n: int
    ref_mean: float
    pol_mean: float
    diff: float
    diff_low: float
    diff_high: float
    lift: float | None
    lift_low: float | None
    lift_high: float | None
    effect_size: float
    p_value: float
    level: float = 0.95
    lift_sd: float | None = None

    @property
    def up(self) -> bool:
        """Significantly above the reference at this stat's level."""
        return self.p_value < 1.0 - self.level and self.diff > 0

    @property
    def down(self) -> bool:
        """Significantly below the reference at this stat's level."""
        return self.p_value < 1.0 - self.level and self.diff < 0

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready."""
        return dict(self.__dict__)


def sign_flip_p(diff: np.ndarray, seed: int = 0) -> float:
    """Two-sided sign-flip permutation p-value for mean(diff) = 0."""
    n = diff.shape[0]
    obs = abs(diff.mean())
    if n == 0 or np.allclose(diff, 0):
        return 1.0
    if n <= 16:
        signs = np.array(list(product((-1.0, 1.0), repeat=n)))
    else:
        rng = np.random.default_rng(np.random.SeedSequence([seed, n, 7]))
        signs = rng.choice((-1.0, 1.0), size=(20_000, n))
    stats = np.abs((signs * diff).mean(axis=1))
    return float(((stats >= obs - 1e-12).sum() + (0 if n <= 16 else 1))
                 / (signs.shape[0] + (0 if n <= 16 else 1)))


def t_interval(values: Any, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, low, high (Student-t over the finite values) and n; NaN bounds when n < 2."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(student_t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def t_p(values: np.ndarray, alternative: str = "two-sided") -> float:
    """Student-t p-value of mean(values) = 0 (``greater``: H1 mean > 0; ``less``: mean < 0).

    Every value equal: p is 1 at a mean of 0 and 0 (or 1, against the alternative) otherwise —
    the degenerate limit of the test, reached by seeds with identical differences.
    """
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    if n < 2:
        return 1.0
    mean, sd = float(v.mean()), float(v.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):
        if abs(mean) <= 1e-12:
            return 1.0
        side = {"two-sided": True, "greater": mean > 0, "less": mean < 0}[alternative]
        return 0.0 if side else 1.0
    t = mean / (sd / math.sqrt(n))
    if alternative == "greater":
        return float(student_t.sf(t, n - 1))
    if alternative == "less":
        return float(student_t.cdf(t, n - 1))
    return float(2 * student_t.sf(abs(t), n - 1))


def fieller(ref: np.ndarray, pol: np.ndarray, level: float) -> tuple[float, float] | None:
    """The paired Fieller interval of mean(pol) / mean(ref) - 1, or ``None`` when unbounded.

    The set of L with (mean(d) - L mean(r))^2 <= t^2 var(d - L r) / n, d = pol - ref, r = ref:
    a quadratic a L^2 - 2 b L + c <= 0. It is a bounded interval when a > 0, i.e. when the
    reference mean is significantly away from 0 at this level.
    """
    n = ref.shape[0]
    if n < 2:
        return None
    d = pol - ref
    q = float(student_t.ppf(0.5 + level / 2, n - 1)) ** 2 / n
    cov = np.cov(np.vstack([d, ref]), ddof=1)
    rm, dm = float(ref.mean()), float(d.mean())
    a = rm * rm - q * cov[1, 1]
    b = dm * rm - q * cov[0, 1]
    c = dm * dm - q * cov[0, 0]
    if a <= 0:
        return None
    disc = max(b * b - a * c, 0.0)
    root = math.sqrt(disc)
    return (b - root) / a, (b + root) / a


def lift_test_p(ref: np.ndarray, pol: np.ndarray, lift0: float, alternative: str) -> float:
    """Paired t p-value of lift = ``lift0`` (one-sided ``greater``/``less``, or two-sided).

    lift > lift0 exactly when mean(pol - (1 + lift0) * ref) > 0, so this is the t-test of those
    per-seed values: the test the Fieller interval inverts.
    """
    return t_p(pol - (1.0 + lift0) * ref, alternative)


def lift_sd(ref: np.ndarray, pol: np.ndarray) -> float:
    """Spread over seeds of the lift's linearised pseudo-values ``(d - lift * ref) / mean(ref)``.

    NaN when the reference mean is 0 or there are fewer than 2 seeds.
    """
    r = float(ref.mean())
    if abs(r) <= 1e-12 or ref.shape[0] < 2:
        return math.nan
    lift = float(pol.mean()) / r - 1.0
    return float((pol - ref - lift * ref).std(ddof=1) / abs(r))


def paired(ref: np.ndarray, pol: np.ndarray, level: float = 0.95) -> PairedStat:
    """Paired comparison of ``pol`` against ``ref`` (same seeds, same order)."""
    ref = np.asarray(ref, dtype=np.float64)
    pol = np.asarray(pol, dtype=np.float64)
    n = ref.shape[0]
    if n == 0:
        raise ValueError("expected at least one seed pair, got none")
    d = pol - ref
    alpha = (1.0 - level) / 2.0
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    half = float(student_t.ppf(1 - alpha, n - 1)) * sd / np.sqrt(n) if n > 1 else 0.0
    lo, hi = d.mean() - half, d.mean() + half
    ref_m, pol_m = float(ref.mean()), float(pol.mean())
    lift = lift_lo = lift_hi = spread = None
    if abs(ref_m) > 1e-12:
        lift = pol_m / ref_m - 1.0
        spread = lift_sd(ref, pol) if n > 1 else 0.0
        bounds = fieller(ref, pol, level)
        if bounds is not None:
            lift_lo, lift_hi = bounds
    es = float(d.mean() / sd) if sd > 1e-12 else 0.0
    return PairedStat(n=n, ref_mean=ref_m, pol_mean=pol_m, diff=float(d.mean()),
                      diff_low=float(lo), diff_high=float(hi), lift=lift, lift_low=lift_lo,
                      lift_high=lift_hi, effect_size=es, p_value=t_p(d), level=level,
                      lift_sd=spread)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence).

    The i-th smallest p is multiplied by ``m - i`` (i from 0), then made monotone non-decreasing
    in that order and capped at 1 (Holm 1979). NaN p-values are left NaN and not counted in ``m``.

    Args:
        p_values: The family's raw p-values, in any order.

    Returns:
        The adjusted p-values, in the input's order.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, math.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    running = 0.0
    for rank, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, float(p[i]) * (m - rank)))
        out[i] = running
    return [float(v) for v in out]


def t_p_value(mean: float, low: float, high: float, n: int, level: float = 0.95) -> float:
    """Two-sided one-sample t p-value for mean = 0, recovered from a Student-t interval.

    The interval's half-width is ``t_{n-1} * se``, so ``se`` and the t statistic follow; NaN when
    the interval is undefined (n < 2).
    """
    if n < 2 or not all(math.isfinite(v) for v in (mean, low, high)):
        return math.nan
    se = (high - low) / 2 / float(student_t.ppf(0.5 + level / 2, n - 1))
    if se <= 0:
        return 1.0 if mean == 0 else 0.0
    return float(2 * student_t.sf(abs(mean) / se, n - 1))
