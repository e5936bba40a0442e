"""Small helpers the studies share: grouping results, paired lifts, per-run values, plotting."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from outcome_gym.analysis.stats import paired
from outcome_gym.scenario.generate import appeal_value_correlation
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sim.mechanisms.context import KINDS
from outcome_gym.studies.base import EMERGENT, INPUTS, Estimate
from outcome_gym.studies.runs import JobResult

# |appeal-value correlation| from which a row about chasing engagement is labelled "follows from
# inputs" (fixed before any run: at |r| >= 0.3 chasing appeal trades value away by the inputs alone)
INPUT_CORRELATION = 0.3


def input_label(sc: Scenario, *, flat_outcome: bool = False) -> tuple[str, str]:
    """The kind of a row about optimising engagement vs outcome in ``sc``, and why.

    Every such row claims that chasing engagement costs value (the trap, outcome policies looking
    worse on engagement, the frontier's trade-off). *Follows from inputs* when the elements'
    appeal and value correlate negatively (r <= -0.3): a learner that chases appeal then loses
    value by the inputs alone. *Emergent* otherwise: uncorrelated inputs do not tie the two, and
    positively correlated ones work against the claim (chasing appeal also finds value).

    ``flat_outcome``: the claim is met by an outcome that does not move (the trap: engagement up,
    outcome *not better*). Then uncorrelated inputs imply it too — an engagement learner raises
    engagement by its objective and, with appeal unrelated to value, has no reason to move the
    outcome — so the row *follows from inputs* there; only positively correlated inputs leave it
    to the mechanisms. (Relabelled in issue #14's fourth pass, after the confirmatory rows' result:
    a reviewer's reading, conservative; a trap the mechanisms make would lower the outcome.)
    """
    r = appeal_value_correlation(sc.product.elements)
    if r is not None and r <= -INPUT_CORRELATION:
        return INPUTS, (f"the elements' appeal and value correlate r={r:+.2f}, so a learner that "
                        "chases appeal loses value by the inputs alone")
    if r is not None and r >= INPUT_CORRELATION:
        return EMERGENT, (f"the elements' appeal and value correlate positively (r={r:+.2f}): the "
                          "inputs work against the claim (chasing appeal also finds value), so "
                          "only the mechanisms can produce it")
    shown = "undefined" if r is None else f"{r:+.2f}"
    if flat_outcome:
        return INPUTS, (f"the elements' appeal and value are not correlated (r={shown}): an "
                        "engagement learner raises engagement by its objective and has no reason "
                        "to move the outcome, so 'outcome not better' is what the inputs give; "
                        "only an outcome significantly lower would be the mechanisms' doing "
                        "(relabelled from emergent after the confirmatory result, issue #14)")
    return EMERGENT, (f"the elements' appeal and value are not correlated (r={shown}): no input "
                      "ties chasing engagement to losing value, only the mechanisms can")


def group(results: Sequence[JobResult]) -> dict[tuple[str, str], list[JobResult]]:
    """``(scenario, tag) -> results`` ordered by seed (so two groups pair seed by seed)."""
    out: dict[tuple[str, str], list[JobResult]] = defaultdict(list)
    for r in results:
        out[(r.job.scenario, r.job.tag)].append(r)
    return {k: sorted(v, key=lambda r: r.job.seed) for k, v in out.items()}


def values(runs: Sequence[JobResult], fn: Callable[[JobResult], float]) -> np.ndarray:
    """One value per run."""
    return np.array([float(fn(r)) for r in runs], dtype=np.float64)


def metric(name: str) -> Callable[[JobResult], float]:
    """A flat metric (``engagement.index``, ``outcome.<id>``...) of a run."""
    return lambda r: r.metrics[name]


def segment_value(segment: str, *path: str) -> Callable[[JobResult], float]:
    """A value of one segment's summary, e.g. ``("engagement", "sessions_per_user")``."""

    def get(r: JobResult) -> float:
        node: Any = r.summary.segments[segment]
        for p in path:
            node = getattr(node, p)
        return float(node)

    return get


def ratio(num: Callable[[JobResult], float], den: Callable[[JobResult], float]
          ) -> Callable[[JobResult], float]:
    """``num / den`` per run (NaN when the denominator is 0)."""

    def get(r: JobResult) -> float:
        d = den(r)
        return num(r) / d if d else math.nan

    return get


def _check_paired(ref: Sequence[JobResult], pol: Sequence[JobResult]) -> None:
    seeds_r, seeds_p = [r.job.seed for r in ref], [r.job.seed for r in pol]
    if seeds_r != seeds_p:
        raise ValueError(f"expected the same seeds in both arms, got {seeds_r} and {seeds_p}")


def lift(ref: Sequence[JobResult], pol: Sequence[JobResult], fn: Callable[[JobResult], float]
         ) -> tuple[Estimate, float]:
    """Relative lift of ``pol`` over ``ref`` (paired Fieller 95% interval) and its paired t p
    (:func:`~outcome_gym.analysis.stats.paired`).
    """
    _check_paired(ref, pol)
    st = paired(values(ref, fn), values(pol, fn))
    if st.lift is None:
        return Estimate(math.nan, math.nan, math.nan, st.n), st.p_value
    low = st.lift_low if st.lift_low is not None else math.nan
    high = st.lift_high if st.lift_high is not None else math.nan
    return Estimate(st.lift, low, high, st.n), st.p_value


def claim_p(est: Estimate, p: float, side: int) -> float:
    """The p of the claim "changed in direction ``side``" (+1 up, -1 down) from a paired test.

    ``p`` (two-sided) when the estimate lies on the claimed side, else 1: data on the wrong side
    are no evidence for the claim, so Holm's correction must not rank them as if they were (a
    row's p column showed tiny p-values for claims significant the other way before issue #14's
    fourth pass).
    """
    return p if math.isfinite(est.mean) and side * est.mean > 0 else 1.0


def floor_caveat(floor: Estimate, excess: Estimate, net: Estimate) -> str:
    """What a crowd-out row's "interval above 0" clause does and does not show (issue #14, fourth
    pass: said in the row after its result; the criterion is unchanged).

    A share of users cannot be negative and chance alone puts it at the noise floor, so its
    interval is above 0 whatever the mechanisms do; the share's excess over the floor and the net
    share (users whose other failures rose minus those whose fell) are what measure crowd-out.
    """
    return (f"The clause 'interval above 0' holds by construction (a share cannot be negative "
            f"and chance alone gives the noise floor, {floor.text('{:.1%}')}); crowd-out beyond "
            f"chance is the excess over the floor, {excess.text('{:+.1%}')}, and the net share "
            f"is {net.text('{:+.1%}')}: a partial here rests on that first clause alone.")


def moved(est: Estimate, p: float, alpha: float = 0.05) -> int:
    """+1 / -1 when a paired change is significant (paired t p < ``alpha``) that way, else 0."""
    if p >= alpha or not math.isfinite(est.mean):
        return 0
    return 1 if est.mean > 0 else -1


def diff(ref: Sequence[JobResult], pol: Sequence[JobResult], fn: Callable[[JobResult], float]
         ) -> Estimate:
    """Paired difference ``pol - ref`` with a Student-t 95% interval."""
    _check_paired(ref, pol)
    return Estimate.of(values(pol, fn) - values(ref, fn))


def failure_rate(kind: str | None = None) -> Callable[[JobResult], float]:
    """Context-event failure rate of a run, failures / events over every user (``None``: all kinds).

    Pooled over segments by events, as the flat ``fragmentation.<kind>_failure_rate`` metrics
    are, but NaN (not 0) for a run without any such event, so means over runs skip it.
    """
    kinds = KINDS if kind is None else (kind,)

    def get(r: JobResult) -> float:
        events = failures = 0.0
        for seg in r.summary.segments.values():
            fr = seg.fragmentation
            for k in kinds:
                ev = fr.context_events_per_user[k] * seg.n_users
                events += ev
                failures += fr.context_failure_rate[k] * ev
        return failures / events if events else math.nan

    return get
