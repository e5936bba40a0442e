"""The named metrics a comparison reports, flattened from a run's summary.

Every metric has a family (engagement, outcome, attention, fragmentation, wellbeing, guardrails), a
direction (``increase`` or ``decrease`` is better, or ``none`` for descriptive metrics) and, for
outcome metrics, the segment and the spec's success threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _overall(summary: dict[str, Any], path: tuple[str, ...]) -> float:
    """User-weighted mean over segments of a per-user (or rate) metric."""
    total = n = 0.0
    for seg in summary["segments"].values():
        v: Any = seg
        for p in path:
            v = v[p]
        total += float(v) * seg["n_users"]
        n += seg["n_users"]
    return total / n if n else 0.0


def _pooled_rate(summary: dict[str, Any], rate: tuple[str, ...],
                 weights: list[tuple[str, ...]]) -> float:
    """A rate pooled over segments, weighted by each segment's denominator (events, deliveries).

    Weighting by users instead would count a segment with no events (one device: no device
    switches) as a 0% failure rate and dilute the population's rate.
    """
    num = den = 0.0
    for seg in summary["segments"].values():
        w = 0.0
        for path in weights:
            v: Any = seg
            for p in path:
                v = v[p]
            w += float(v)
        w *= seg["n_users"]
        r: Any = seg
        for p in rate:
            r = r[p]
        if w > 0:
            num += float(r) * w
            den += w
    return num / den if den else 0.0


def engagement_index(seg: dict[str, Any]) -> float:
    """Clicks + sessions + opens + minutes / 10 per user (the engagement objective's measure)."""
    e = seg["engagement"]
    return (e["clicks_per_user"] + e["sessions_per_user"] + e["opens_per_user"]
            + e["minutes_per_user"] / 10.0)


def flatten(scenario: Scenario, summary: dict[str, Any]) -> dict[str, float]:
    """Metric name -> value for one run."""
    out: dict[str, float] = {}
    segs = summary["segments"]
    n_total = sum(s["n_users"] for s in segs.values()) or 1
    out["engagement.index"] = sum(engagement_index(s) * s["n_users"] for s in segs.values()) / n_total
    for m in ("clicks", "sessions", "opens", "minutes"):
        out[f"engagement.{m}"] = _overall(summary, ("engagement", f"{m}_per_user"))
    out["engagement.open_rate"] = _pooled_rate(summary, ("engagement", "open_rate"),
                                               [("engagement", "delivered_per_user")])
    out["engagement.delivered"] = _overall(summary, ("engagement", "delivered_per_user"))
    for sid, s in segs.items():
        out[f"engagement.index[{sid}]"] = engagement_index(s)
    for oid, o in summary["outcomes"].items():
        out[f"outcome.{oid}"] = o["value"]
    out["attention.goal_minutes"] = _overall(summary, ("attention", "goal_minutes_per_user"))
    out["attention.distraction_minutes"] = _overall(summary, ("attention",
                                                              "distraction_minutes_per_user"))
    out["attention.interruption_minutes"] = _overall(summary, ("attention",
                                                               "interruption_minutes_per_user"))
    out["attention.goal_share"] = _overall(summary, ("attention", "goal_share"))
    out["fragmentation.layout_distance"] = _overall(summary, ("fragmentation",
                                                              "layout_distance_mean"))
    out["fragmentation.core_consistency"] = _overall(summary, ("fragmentation",
                                                               "core_consistency"))
    out["fragmentation.pairwise_distance"] = _overall(summary, ("fragmentation",
                                                                "pairwise_distance_mean"))
    out["fragmentation.distinct_layouts"] = _overall(summary, ("fragmentation",
                                                               "distinct_layouts_mean"))
    out["fragmentation.layout_entropy_bits"] = _overall(summary, ("fragmentation",
                                                                  "layout_entropy_bits_mean"))
    events = ("fragmentation", "context_events_per_user")
    out["fragmentation.context_failure_rate"] = _pooled_rate(
        summary, ("fragmentation", "context_failure_rate_all"), [(*events, k) for k in KINDS])
    for k in KINDS:
        out[f"fragmentation.{k}_failure_rate"] = _pooled_rate(
            summary, ("fragmentation", "context_failure_rate", k), [(*events, k)])
    out["fragmentation.support_tickets"] = _overall(summary, ("fragmentation",
                                                              "support_tickets_per_user"))
    out["wellbeing.goal_progress"] = _overall(summary, ("goal_progress_per_user",))
    out["wellbeing.trust"] = _overall(summary, ("trust_final_mean",))
    out["wellbeing.churned_share"] = _overall(summary, ("churned_share",))
    out["wellbeing.opted_out_share"] = _overall(summary, ("opted_out_share",))
    for kind, count in summary["guardrails"].items():
        out[f"guardrails.{kind}"] = float(count) / n_total
    del scenario
    return out


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
        "attention.goal_share": "increase", "fragmentation.core_consistency": "increase",
        "wellbeing.goal_progress": "increase", "wellbeing.trust": "increase",
    }
    direction = better.get(name, better.get(family, "decrease" if family in (
        "fragmentation", "wellbeing", "guardrails") else "none"))
    segment = rest[rest.index("[") + 1:-1] if "[" in rest else None
    return MetricInfo(name, family, direction, name, segment)
