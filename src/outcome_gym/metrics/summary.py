"""Run summaries: engagement beside outcome, attention and fragmentation, per segment.

Everything here is computed from the tidy tables of a run (``steps`` and ``users``), never from
the model. Outcome metrics follow the scenario's outcome specs (segment, goal, metric, window).
A summary is a typed :class:`RunSummary`; ``summary.json`` is its :meth:`RunSummary.as_dict`, and
:meth:`RunSummary.from_dict` reads it back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from outcome_gym.product.objectives import engagement_index, scenario_outcome_weights
from outcome_gym.scenario.schema import OUTCOME_METRICS, OutcomeSpec, Scenario
from outcome_gym.sim.mechanisms.context import KINDS

ENGAGEMENT = ("clicks", "minutes", "sessions", "opens")


@dataclass(frozen=True)
class Engagement:
    """What the product's dashboards count, per user of the segment."""

    clicks_per_user: float
    minutes_per_user: float
    sessions_per_user: float
    opens_per_user: float
    open_rate: float
    delivered_per_user: float


@dataclass(frozen=True)
class Attention:
    """Where the segment's minutes went."""

    goal_minutes_per_user: float
    distraction_minutes_per_user: float
    interruption_minutes_per_user: float
    goal_share: float
    self_control_minutes_per_user: float = 0.0
    self_control_share: float = 0.0
    """Share of app minutes that are self-control driven (sim/mechanisms/engagement.py)."""
    search_minutes_per_user: float = 0.0  # finding elements in the layout (layout memory)


@dataclass(frozen=True)
class Fragmentation:
    """How far the segment's layouts drifted apart, and what failed because of it."""

    layout_distance_mean: float
    core_consistency: float
    support_tickets_per_user: float
    pairwise_distance_mean: float
    distinct_layouts_mean: float
    layout_entropy_bits_mean: float
    context_failure_rate: dict[str, float]
    context_events_per_user: dict[str, float]
    context_failure_rate_all: float


@dataclass(frozen=True)
class SegmentSummary:
    """One segment's run: engagement, attention, fragmentation, progress, trust and churn."""

    n_users: int
    engagement: Engagement
    attention: Attention
    fragmentation: Fragmentation
    goal_progress_per_user: float
    trust_final_mean: float
    churned_share: float
    opted_out_share: float
    outside_progress_per_user: float = 0.0
    """Of ``goal_progress_per_user``, the progress made outside the app (mechanisms/outside.py)."""


@dataclass(frozen=True)
class OutcomeValue:
    """One outcome spec's metric over its window, for its segment."""

    segment: str
    goal: str
    metric: str
    value: float
    direction: str
    threshold: float
    n_users: int


@dataclass(frozen=True)
class Overall:
    """Engagement, progress and churn over every user."""

    clicks_per_user: float
    minutes_per_user: float
    sessions_per_user: float
    opens_per_user: float
    goal_progress_per_user: float
    churned_share: float
    self_control_share: float = 0.0
    outside_progress_per_user: float = 0.0


@dataclass(frozen=True)
class RunSummary:
    """A run's summary: per segment, per outcome spec, overall, and guardrail modifications.

    Attributes:
        segments: Segment id -> its summary, in the scenario's order.
        outcomes: Outcome spec id -> its value, in the scenario's order.
        overall: Over every user.
        guardrails: Modification kind -> how many the guardrail layer made in the run.
        extra: Further per-run numbers a custom run function adds (a study's policy statistics);
            they join the run's flat metrics under their own names.
        objective: The learning objectives over the run, per user of the population:
            ``engagement`` (clicks + sessions + opens + minutes / 10) and ``outcome`` (the
            outcome objective's weighted count of the instrumented outcome events, true counts;
            :func:`outcome_gym.product.objectives.scenario_outcome_weights`) — what a learner
            named after each must raise.
    """

    segments: dict[str, SegmentSummary]
    outcomes: dict[str, OutcomeValue]
    overall: Overall
    guardrails: dict[str, float]
    extra: dict[str, float] = dataclasses.field(default_factory=dict)
    objective: dict[str, float] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (what ``summary.json`` holds)."""
        return dataclasses.asdict(self)

    def with_extra(self, extra: dict[str, float]) -> RunSummary:
        """This summary with further per-run numbers (see ``extra``)."""
        return dataclasses.replace(self, extra={**self.extra, **extra})

    @classmethod
    def from_dict(cls, data: dict[str, Any], scenario: Scenario | None = None) -> RunSummary:
        """A summary read back from :meth:`as_dict`'s data (e.g. a run folder's summary.json).

        ``summary.json`` is written with sorted keys; given the run's ``scenario``, segments and
        outcomes come back in the scenario's order, as the run built them, so sums over segments
        add in the same order and every derived number is bitwise the in-memory run's.
        """
        segs, outs = data["segments"], data["outcomes"]
        if scenario is not None:
            segs = _ordered(segs, [s.id for s in scenario.population.segments])
            outs = _ordered(outs, [o.id for o in scenario.outcomes])
        segments = {
            k: SegmentSummary(**{**v, "engagement": Engagement(**v["engagement"]),
                                 "attention": Attention(**v["attention"]),
                                 "fragmentation": Fragmentation(**v["fragmentation"])})
            for k, v in segs.items()
        }
        return cls(segments=segments, outcomes={k: OutcomeValue(**v) for k, v in outs.items()},
                   overall=Overall(**data["overall"]), guardrails=dict(data["guardrails"]),
                   extra=dict(data.get("extra", {})), objective=dict(data.get("objective", {})))


def _ordered(part: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """``part`` with the keys in ``ids`` first, in that order."""
    return {i: part[i] for i in ids if i in part} | part


def _ratio(a: float, b: float) -> float:
    """A / b, and 0.0 (not NaN) when nothing happened."""
    return float(a / b) if b > 0 else 0.0


def _col(df: pd.DataFrame, name: str) -> float:
    return float(df[name].sum()) if name in df else 0.0


def segment_summary(steps: pd.DataFrame, users: pd.DataFrame, segment: str) -> SegmentSummary:
    """Engagement, attention, fragmentation, trust and churn for one segment."""
    st = steps[steps["segment"] == segment]
    us = users[users["segment"] == segment]
    n = max(len(us), 1)
    tot = st.sum(numeric_only=True)
    active_steps = float(tot.get("active_users", 0.0))
    events = sum(float(tot[f"{k}_events"]) for k in KINDS)
    fr = Fragmentation(
        layout_distance_mean=_ratio(tot["layout_distance_sum"], active_steps),
        core_consistency=_ratio(tot["core_consistent"], active_steps),
        support_tickets_per_user=float(tot["support_tickets"]) / n,
        # sampled within the segment each step (estimators in sim.layout.divergence_into)
        pairwise_distance_mean=_ratio(tot.get("pair_distance_sum", 0.0), tot.get("pairs", 0.0)),
        distinct_layouts_mean=float(st["distinct_layouts"].mean()) if len(st) else 0.0,
        layout_entropy_bits_mean=float(st["layout_entropy_bits"].mean()) if len(st) else 0.0,
        context_failure_rate={k: _ratio(tot[f"{k}_failures"], tot[f"{k}_events"]) for k in KINDS},
        context_events_per_user={k: float(tot[f"{k}_events"]) / n for k in KINDS},
        context_failure_rate_all=_ratio(sum(float(tot[f"{k}_failures"]) for k in KINDS), events),
    )
    goal_min, distr = float(tot["goal_minutes"]), float(tot["distraction_minutes"])
    return SegmentSummary(
        n_users=len(us),
        engagement=Engagement(
            **{f"{m}_per_user": float(tot[m]) / n for m in ENGAGEMENT},
            open_rate=_ratio(tot["opens"], tot["delivered"]),
            delivered_per_user=float(tot["delivered"]) / n,
        ),
        attention=Attention(
            goal_minutes_per_user=goal_min / n,
            distraction_minutes_per_user=distr / n,
            interruption_minutes_per_user=float(tot["interruption_minutes"]) / n,
            goal_share=_ratio(goal_min, goal_min + distr),
            self_control_minutes_per_user=float(tot.get("self_control_minutes", 0.0)) / n,
            self_control_share=_ratio(tot.get("self_control_minutes", 0.0), tot["minutes"]),
            search_minutes_per_user=float(tot.get("search_minutes", 0.0)) / n,
        ),
        fragmentation=fr,
        goal_progress_per_user=float(tot["goal_progress"]) / n,
        trust_final_mean=float(us["trust"].mean()) if len(us) else 0.0,
        churned_share=float((~us["active"]).mean()) if len(us) else 0.0,
        opted_out_share=float(us["opted_out"].mean()) if len(us) else 0.0,
        outside_progress_per_user=float(tot.get("outside_progress", 0.0)) / n,
    )


def outcome_value(
    spec: OutcomeSpec, kind: str, steps: pd.DataFrame, users: pd.DataFrame, slots_per_day: int,
    window_days: int | None = None,
) -> OutcomeValue:
    """The value of one outcome spec's metric over its window, for its segment.

    ``window_days`` (budget goals) lets ``adjusted_in_time`` count only adjustments made in
    budget windows that closed during the run, like its denominator (closed windows): the last,
    unfinished window would otherwise add adjustments without adding windows.
    """
    st = steps[steps["segment"] == spec.segment]
    st = st[st["day"] >= spec.window.start_day]
    if spec.window.end_day is not None:
        st = st[st["day"] < spec.window.end_day]
    us = users[users["segment"] == spec.segment]
    n = max(len(us), 1)
    g = spec.goal
    tot = st.sum(numeric_only=True)

    def ev(name: str) -> float:
        return float(tot.get(f"{g}.{name}", 0.0))

    m = spec.metric
    if kind == "tasks":
        finished = ev("completed") + ev("failed")
        values = {
            "completed": ev("completed") / n,
            "completed_on_time": ev("completed_on_time") / n,
            "on_time_rate": _ratio(ev("completed_on_time"), finished),
            "failed": ev("failed") / n,
            # restricted mean: unfinished tasks count with the time they were open (censored at
            # abandonment or at the end of the run), so slow policies are not flattered by
            # dropping the tasks they never finish
            "time_to_completion": _ratio(
                ev("ttc_steps") + ev("censored_steps") + _col(us, f"{g}.pending_age_steps"),
                ev("completed") + ev("abandoned") + _col(us, f"{g}.pending"),
            ) / slots_per_day,
        }
    elif kind == "budget":
        in_time = ev("adjusted_in_time")
        if window_days and len(steps):
            last_day = int(steps["day"].max())
            closed_until = (last_day // window_days) * window_days  # days before it are closed
            col = f"{g}.adjusted_in_time"
            if col in st:
                in_time = float(st.loc[st["day"] < closed_until, col].sum())
        values = {
            "adjusted_in_time": _ratio(in_time, ev("window_closed")),
            "under_budget": _ratio(ev("window_under_budget"), ev("window_closed")),
            "overspend": _ratio(ev("overspend"), ev("window_closed")),
            "time_to_adjust": _ratio(ev("tta_steps"), ev("adjusted")) / slots_per_day,
        }
    else:
        habit_col = f"{g}.habit"
        values = {
            "days_practised": ev("practised") / n,
            "habit_strength": float(us[habit_col].mean()) if habit_col in us and len(us) else 0.0,
        }
    return OutcomeValue(segment=spec.segment, goal=g, metric=m, value=float(values[m]),
                        direction=OUTCOME_METRICS[kind][m], threshold=spec.threshold,
                        n_users=len(us))


def summarize(scenario: Scenario, steps: pd.DataFrame, users: pd.DataFrame) -> RunSummary:
    """The whole run's summary.

    Raises:
        NumericalError: A summary value is NaN or infinite.
    """
    kinds = {g.id: g.kind for g in scenario.goals}
    windows = {g.id: getattr(g, "window_days", None) for g in scenario.goals}
    segments = {s.id: segment_summary(steps, users, s.id) for s in scenario.population.segments}
    outcomes = {
        o.id: outcome_value(o, kinds[o.goal], steps, users, scenario.clock.slots_per_day,
                            windows[o.goal])
        for o in scenario.outcomes
    }
    tot = steps.sum(numeric_only=True)
    n = max(len(users), 1)
    overall = Overall(
        **{f"{m}_per_user": float(tot[m]) / n for m in ENGAGEMENT},
        goal_progress_per_user=float(tot["goal_progress"]) / n,
        churned_share=float((~users["active"]).mean()) if len(users) else 0.0,
        self_control_share=_ratio(tot.get("self_control_minutes", 0.0), tot["minutes"]),
        outside_progress_per_user=float(tot.get("outside_progress", 0.0)) / n,
    )
    guard = {
        c.removeprefix("guardrail_"): float(tot[c])
        for c in steps.columns
        if c.startswith("guardrail_")
    }
    out = RunSummary(segments=segments, outcomes=outcomes, overall=overall, guardrails=guard,
                     objective=_objectives(scenario, tot, n))
    _assert_finite(out.as_dict())
    return out


def _objectives(scenario: Scenario, tot: pd.Series, n: int) -> dict[str, float]:
    """The engagement and outcome objectives over the run, per user (see ``RunSummary``)."""
    engagement = engagement_index(float(tot["clicks"]), float(tot["sessions"]),
                                  float(tot["opens"]), float(tot["minutes"])) / n
    weights = scenario_outcome_weights(scenario)
    outcome = sum(w * float(tot[e]) for e, w in weights.items() if e in tot.index) / n
    return {"engagement": engagement, "outcome": outcome}


def _assert_finite(obj: Any, path: str = "summary") -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _assert_finite(v, f"{path}.{k}")
    elif isinstance(obj, float) and not np.isfinite(obj):
        from outcome_gym.errors import NumericalError

        raise NumericalError("summary", -1, f"{path} is {obj}")
