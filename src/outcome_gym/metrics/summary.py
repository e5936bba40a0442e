"""Run summaries: engagement beside outcome, attention and fragmentation, per segment.

Everything here is computed from the tidy tables of a run (``steps`` and ``users``), never from
the model. Outcome metrics follow the scenario's outcome specs (segment, goal, metric, window).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from outcome_gym.scenario.schema import OUTCOME_METRICS, OutcomeSpec, Scenario
from outcome_gym.sim.mechanisms.context import KINDS

ENGAGEMENT = ("clicks", "minutes", "sessions", "opens")


def _ratio(a: float, b: float) -> float:
    """A / b, and 0.0 (not NaN) when nothing happened."""
    return float(a / b) if b > 0 else 0.0


def _col(df: pd.DataFrame, name: str) -> float:
    return float(df[name].sum()) if name in df else 0.0


def segment_summary(steps: pd.DataFrame, users: pd.DataFrame, segment: str) -> dict[str, Any]:
    """Engagement, attention, fragmentation, trust and churn for one segment."""
    st = steps[steps["segment"] == segment]
    us = users[users["segment"] == segment]
    n = max(len(us), 1)
    tot = st.sum(numeric_only=True)
    active_steps = float(tot.get("active_users", 0.0))
    fr: dict[str, Any] = {
        "layout_distance_mean": _ratio(tot["layout_distance_sum"], active_steps),
        "core_consistency": _ratio(tot["core_consistent"], active_steps),
        "support_tickets_per_user": float(tot["support_tickets"]) / n,
        # sampled within the segment each step (estimators in sim.layout.sampled_divergence)
        "pairwise_distance_mean": _ratio(tot.get("pair_distance_sum", 0.0), tot.get("pairs", 0.0)),
        "distinct_layouts_mean": float(st["distinct_layouts"].mean()) if len(st) else 0.0,
        "layout_entropy_bits_mean": float(st["layout_entropy_bits"].mean()) if len(st) else 0.0,
        "context_failure_rate": {
            k: _ratio(tot[f"{k}_failures"], tot[f"{k}_events"]) for k in KINDS
        },
        "context_events_per_user": {k: float(tot[f"{k}_events"]) / n for k in KINDS},
    }
    events = sum(float(tot[f"{k}_events"]) for k in KINDS)
    fr["context_failure_rate_all"] = _ratio(sum(float(tot[f"{k}_failures"]) for k in KINDS), events)
    goal_min, distr = float(tot["goal_minutes"]), float(tot["distraction_minutes"])
    return {
        "n_users": len(us),
        "engagement": {f"{m}_per_user": float(tot[m]) / n for m in ENGAGEMENT}
        | {
            "open_rate": _ratio(tot["opens"], tot["delivered"]),
            "delivered_per_user": float(tot["delivered"]) / n,
        },
        "attention": {
            "goal_minutes_per_user": goal_min / n,
            "distraction_minutes_per_user": distr / n,
            "interruption_minutes_per_user": float(tot["interruption_minutes"]) / n,
            "goal_share": _ratio(goal_min, goal_min + distr),
        },
        "fragmentation": fr,
        "goal_progress_per_user": float(tot["goal_progress"]) / n,
        "trust_final_mean": float(us["trust"].mean()) if len(us) else 0.0,
        "churned_share": float((~us["active"]).mean()) if len(us) else 0.0,
        "opted_out_share": float(us["opted_out"].mean()) if len(us) else 0.0,
    }


def outcome_value(
    spec: OutcomeSpec, kind: str, steps: pd.DataFrame, users: pd.DataFrame, slots_per_day: int,
    window_days: int | None = None,
) -> dict[str, Any]:
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
    return {
        "segment": spec.segment,
        "goal": g,
        "metric": m,
        "value": float(values[m]),
        "direction": OUTCOME_METRICS[kind][m],
        "threshold": spec.threshold,
        "n_users": len(us),
    }


def summarize(scenario: Scenario, steps: pd.DataFrame, users: pd.DataFrame) -> dict[str, Any]:
    """The whole run's summary (JSON-ready)."""
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
    overall = {f"{m}_per_user": float(tot[m]) / n for m in ENGAGEMENT}
    overall["goal_progress_per_user"] = float(tot["goal_progress"]) / n
    overall["churned_share"] = float((~users["active"]).mean()) if len(users) else 0.0
    guard = {
        c.removeprefix("guardrail_"): float(tot[c])
        for c in steps.columns
        if c.startswith("guardrail_")
    }
    out = {"segments": segments, "outcomes": outcomes, "overall": overall, "guardrails": guard}
    _assert_finite(out)
    return out


def _assert_finite(obj: Any, path: str = "summary") -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _assert_finite(v, f"{path}.{k}")
    elif isinstance(obj, float) and not np.isfinite(obj):
        from outcome_gym.errors import NumericalError

        raise NumericalError("summary", -1, f"{path} is {obj}")
