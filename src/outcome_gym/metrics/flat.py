"""The named metrics a comparison reports, flattened from a run's summary.

Every metric has a family (engagement, outcome, attention, fragmentation, wellbeing, guardrails), a
direction (``increase`` or ``decrease`` is better, or ``none`` for descriptive metrics) and, for
outcome metrics, the segment and the spec's success threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outcome_gym.metrics.summary import RunSummary, SegmentSummary
from outcome_gym.product import objectives
from outcome_gym.scenario.schema import Scenario
from outcome_gym.sim.mechanisms.context import KINDS


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is and which way is better."""

    name: str
    family: str
    direction: str
    label: str
    segment: str | None = None
    threshold: float = 0.0


SegmentValue = Callable[[SegmentSummary], float]


def _overall(summary: RunSummary, value: SegmentValue) -> float:
    """User-weighted mean over segments of a per-user (or rate) metric."""
    total = n = 0.0
    for seg in summary.segments.values():
        total += float(value(seg)) * seg.n_users
        n += seg.n_users
    return total / n if n else 0.0


def _pooled_rate(summary: RunSummary, rate: SegmentValue, weight: SegmentValue) -> float:
    """A rate pooled over segments, weighted by each segment's denominator (events, deliveries).

    Weighting by users instead would count a segment with no events (one device: no device
    switches) as a 0% failure rate and dilute the population's rate.
    """
    num = den = 0.0
    for seg in summary.segments.values():
        w = float(weight(seg)) * seg.n_users
        if w > 0:
            num += float(rate(seg)) * w
            den += w
    return num / den if den else 0.0


def engagement_index(seg: SegmentSummary) -> float:
    """Clicks + sessions + opens + minutes / 10 per user (the engagement objective's measure)."""
    e = seg.engagement
    return objectives.engagement_index(e.clicks_per_user, e.sessions_per_user, e.opens_per_user,
                                       e.minutes_per_user)


# flat name -> how a segment's value is read; pooled over segments by user count
_PER_USER: dict[str, SegmentValue] = {
    "engagement.clicks": lambda s: s.engagement.clicks_per_user,
    "engagement.sessions": lambda s: s.engagement.sessions_per_user,
    "engagement.opens": lambda s: s.engagement.opens_per_user,
    "engagement.minutes": lambda s: s.engagement.minutes_per_user,
}
_ATTENTION: dict[str, SegmentValue] = {
    "attention.goal_minutes": lambda s: s.attention.goal_minutes_per_user,
    "attention.distraction_minutes": lambda s: s.attention.distraction_minutes_per_user,
    "attention.interruption_minutes": lambda s: s.attention.interruption_minutes_per_user,
    "attention.goal_share": lambda s: s.attention.goal_share,
    "attention.self_control_share": lambda s: s.attention.self_control_share,
    "attention.search_minutes": lambda s: s.attention.search_minutes_per_user,
    "fragmentation.layout_distance": lambda s: s.fragmentation.layout_distance_mean,
    "fragmentation.core_consistency": lambda s: s.fragmentation.core_consistency,
    "fragmentation.pairwise_distance": lambda s: s.fragmentation.pairwise_distance_mean,
    "fragmentation.distinct_layouts": lambda s: s.fragmentation.distinct_layouts_mean,
    "fragmentation.layout_entropy_bits": lambda s: s.fragmentation.layout_entropy_bits_mean,
}
_WELLBEING: dict[str, SegmentValue] = {
    "fragmentation.support_tickets": lambda s: s.fragmentation.support_tickets_per_user,
    "wellbeing.goal_progress": lambda s: s.goal_progress_per_user,
    "wellbeing.outside_progress": lambda s: s.outside_progress_per_user,
    "wellbeing.trust": lambda s: s.trust_final_mean,
    "wellbeing.churned_share": lambda s: s.churned_share,
    "wellbeing.opted_out_share": lambda s: s.opted_out_share,
}


def _events(kind: str) -> SegmentValue:
    return lambda s: s.fragmentation.context_events_per_user[kind]


def _all_events(s: SegmentSummary) -> float:
    return sum(s.fragmentation.context_events_per_user[k] for k in KINDS)


def flatten(scenario: Scenario, summary: RunSummary | dict[str, Any]) -> dict[str, float]:
    """Metric name -> value for one run (``summary`` may be read back from summary.json)."""
    if isinstance(summary, dict):
        summary = RunSummary.from_dict(summary, scenario)
    out: dict[str, float] = {}
    segs = summary.segments
    n_total = sum(s.n_users for s in segs.values()) or 1
    out["engagement.index"] = _overall(summary, engagement_index)
    for name, value in _PER_USER.items():
        out[name] = _overall(summary, value)
    out["engagement.open_rate"] = _pooled_rate(summary, lambda s: s.engagement.open_rate,
                                               lambda s: s.engagement.delivered_per_user)
    out["engagement.delivered"] = _overall(summary, lambda s: s.engagement.delivered_per_user)
    for sid, s in segs.items():
        out[f"engagement.index[{sid}]"] = engagement_index(s)
    for oid, o in summary.outcomes.items():
        out[f"outcome.{oid}"] = o.value
    for name, value in _ATTENTION.items():
        out[name] = _overall(summary, value)
    out["fragmentation.context_failure_rate"] = _pooled_rate(
        summary, lambda s: s.fragmentation.context_failure_rate_all, _all_events)
    for k in KINDS:
        out[f"fragmentation.{k}_failure_rate"] = _pooled_rate(
            summary, lambda s, k=k: s.fragmentation.context_failure_rate[k], _events(k))
    for name, value in _WELLBEING.items():
        out[name] = _overall(summary, value)
    for kind, count in summary.guardrails.items():
        out[f"guardrails.{kind}"] = float(count) / n_total
    out.update(summary.extra)
    return out


def unmeasured(summary: RunSummary) -> list[str]:
    """The flat metrics of :func:`flatten` that belong to a segment with no users in this run.

    Such a segment (a share too small for the population, or 0; ``Population.empty_segments``)
    gets 0 for every per-segment number for want of users, which is no data: a sweep stores these
    metrics as missing (docs/verdicts.md, rule ``no-users``). Population-wide metrics weight
    segments by their users, so they need no such care.
    """
    empty = {sid for sid, s in summary.segments.items() if s.n_users == 0}
    return ([f"engagement.index[{sid}]" for sid in summary.segments if sid in empty]
            + [f"outcome.{oid}" for oid, o in summary.outcomes.items() if o.segment in empty])


def describe(scenario: Scenario, name: str) -> MetricInfo:
    """Family, direction and label of a flattened metric name."""
    family, _, rest = name.partition(".")
    if family == "outcome":
        spec = next(o for o in scenario.outcomes if o.id == rest)
        kind = next(g.kind for g in scenario.goals if g.id == spec.goal)
        from outcome_gym.scenario.schema import OUTCOME_METRICS

        return MetricInfo(name, family, OUTCOME_METRICS[kind][spec.metric],
                          f"{spec.id}: {spec.metric} ({spec.segment})", spec.segment,
                          spec.threshold)
    better = {
        "engagement": "none", "attention.goal_minutes": "increase",
        "attention.distraction_minutes": "decrease", "attention.interruption_minutes": "decrease",
        "attention.search_minutes": "decrease",
        "attention.goal_share": "increase", "fragmentation.core_consistency": "increase",
        "attention.self_control_share": "decrease",
        "wellbeing.goal_progress": "increase", "wellbeing.trust": "increase",
        "wellbeing.outside_progress": "increase",
    }
    direction = better.get(name, better.get(family, "decrease" if family in (
        "fragmentation", "wellbeing", "guardrails") else "none"))
    segment = rest[rest.index("[") + 1:-1] if "[" in rest else None
    return MetricInfo(name, family, direction, name, segment)
