"""Verdicts: a policy against the reference, from paired seeds with confidence intervals.

Rules (in this order):

1. ``trap`` — the engagement index is significantly up (two-sided sign-flip test at 5%) and no outcome
   spec is significantly better: output success with outcome failure, the personalization trap.
2. ``harm`` — some outcome spec is significantly worse.
3. ``aligned`` — engagement significantly up and some outcome spec significantly better.
4. ``quiet win`` — some outcome spec significantly better while engagement is not up (the pattern
   outcome-serving personalization is expected to show).
5. ``no effect`` — none of the above.

An outcome spec is *significantly better* when its paired sign-flip test rejects at the Bonferroni
level 0.05/K (K specs) with the mean moving in the spec's direction and its relative lift reaching the
spec's ``threshold``; *significantly worse* when it rejects with the mean moving the other way. So a
false harm has probability at most 2.5% across specs and a false trap (engagement falsely up) at most
2.5%: an A/A comparison gives a false trap or harm in at most 5% of trials
(``benchmarks/aa_calibration.py`` measures it).

The coherence flag is raised when the policy's core consistency falls below the scenario's
``guardrails.thresholds.core_consistency_min`` or its context-failure rate exceeds
``context_failure_max``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from outcome_gym.analysis.stats import PairedStat
from outcome_gym.metrics.flat import MetricInfo

VERDICTS = ("trap", "harm", "aligned", "quiet win", "no effect")
OUTCOME_ALPHA = 0.05  # family-wise level of the outcome specs' tests (Bonferroni: 0.05 / K each)


def min_seeds(n_outcomes: int) -> int:
    """The fewest paired seeds at which every verdict can be reached.

    The verdict's sign-flip test over n seeds cannot give p below 2 / 2^n, and an outcome spec is
    tested at 0.05 / K (K specs): with fewer seeds no outcome can be significantly better or worse,
    and every verdict would be "trap" or "no effect" by construction.
    """
    k = max(n_outcomes, 1)
    n = 1
    while 2.0 / 2.0**n >= OUTCOME_ALPHA / k:
        n += 1
    return n


@dataclass(frozen=True)
class Verdict:
    """One policy's verdict against the reference."""

    policy: str
    reference: str
    verdict: str
    engagement_up: bool
    engagement_down: bool
    outcomes_better: list[str]
    outcomes_worse: list[str]
    coherence_flag: bool
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return dict(self.__dict__)


def outcome_better(info: MetricInfo, st: PairedStat) -> bool:
    """Significantly better in the spec's direction and at least its threshold lift."""
    lift = st.lift if st.lift is not None else None
    if info.direction == "increase":
        return st.up and (lift is None or lift >= info.threshold)
    return st.down and (lift is None or -lift >= info.threshold)


def outcome_worse(info: MetricInfo, st: PairedStat) -> bool:
    """Significantly worse (the interval excludes 0 against the spec's direction)."""
    return st.down if info.direction == "increase" else st.up


def decide(policy: str, reference: str, engagement: PairedStat,
           outcomes: dict[str, tuple[MetricInfo, PairedStat]], coherence_flag: bool,
           coherence_reasons: list[str]) -> Verdict:
    """Apply the verdict rules (module docstring) to one policy's statistics."""
    up, down = engagement.up, engagement.down
    better = [k for k, (i, s) in outcomes.items() if outcome_better(i, s)]
    worse = [k for k, (i, s) in outcomes.items() if outcome_worse(i, s)]
    if up and not better:
        verdict = "trap"
    elif worse:
        verdict = "harm"
    elif up:
        verdict = "aligned"
    elif better:
        verdict = "quiet win"
    else:
        verdict = "no effect"
    reasons = [f"engagement {'up' if up else 'down' if down else 'not significantly changed'}"]
    reasons += [f"{k} significantly better" for k in better]
    reasons += [f"{k} significantly worse" for k in worse]
    reasons += coherence_reasons
    return Verdict(policy=policy, reference=reference, verdict=verdict, engagement_up=up,
                   engagement_down=down, outcomes_better=better, outcomes_worse=worse,
                   coherence_flag=coherence_flag, reasons=reasons)
