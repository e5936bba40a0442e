"""Objectives: the per-user signal a learning policy maximises, computed from feedback only.

An objective turns one step's feedback into a per-user reward. *Where* that reward is credited is
the learner's business: the bandits (:mod:`outcome_gym.policies.bandits.factored`) hold a choice
for a day and credit it with the day's summed reward plus a discounted share of the next days'
(return, and outcomes that arrive days after the choice that caused them); the Gymnasium env
returns the mean step reward and leaves credit assignment to the RL algorithm.

* ``engagement``: clicks + sessions + opens + minutes / 10 (what the product's dashboards count;
  summed over a day, the day's activity; over a run, the run's ``engagement.index``);
* ``outcome``: the instrumented outcome events behind the scenario's outcome specs (+1 per event
  whose metric should increase, -1 per event whose metric should decrease); events the product does
  not instrument cannot be used — exactly the blind spot of a real product. The bandits file each
  event under the step it happened at (it arrives ``delay_steps`` later);
* ``mixed``: ``(1 - weight) * engagement / scale_e + weight * outcome / scale_o``, where each scale is
  the running mean magnitude of that component (so ``weight`` = lambda trades them on a common
  scale; sweep it to trace the engagement/outcome frontier).

Register more with :func:`register_objective`; an objective is a factory ``(context, **params) ->
callable(feedback) -> N rewards``. The callable may carry ``events``, the instrumented event names
it reads (the built-ins do): a learner then waits only for those events' delay before rewarding a
step (:func:`objective_events`); without it, a learner waits for every instrumented event.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import numpy as np

from outcome_gym.errors import PolicyError
from outcome_gym.product._weighted import add_weighted
from outcome_gym.scenario.schema import OutcomeSpec, Scenario
from outcome_gym.sim.interface import Feedback, PolicyContext

Objective = Callable[[Feedback], np.ndarray]

# Which instrumented event moves each outcome metric.
METRIC_EVENTS: dict[str, str] = {
    "completed": "completed",
    "completed_on_time": "completed_on_time",
    "on_time_rate": "completed_on_time",
    "failed": "failed",
    "time_to_completion": "completed_on_time",
    "adjusted_in_time": "adjusted_in_time",
    "under_budget": "adjusted_in_time",
    "overspend": "adjusted_in_time",
    "time_to_adjust": "adjusted",
    "days_practised": "practised",
    "habit_strength": "practised",
}


def engagement_index(clicks: Any, sessions: Any, opens: Any, minutes: Any) -> Any:
    """Clicks + sessions + opens + minutes / 10: the one formula of the engagement index.

    Works on numbers, arrays and pandas columns alike (the objective per step, a run's summary,
    the report's daily series, the flat metric).
    """
    return clicks + sessions + opens + minutes / 10.0


class EngagementObjective:
    """Clicks + sessions + opens + minutes / 10 per user (a picklable callable)."""

    #: The instrumented events this objective reads: none (a learner need not wait for any).
    events: tuple[str, ...] = ()

    def __call__(self, fb: Feedback) -> np.ndarray:
        """Per-user reward of one step's feedback."""
        return engagement_index(np.asarray(fb.clicks, np.float64),
                                np.asarray(fb.sessions, np.float64),
                                np.asarray(fb.opens, np.float64),
                                np.asarray(fb.minutes, np.float64))


def engagement_objective(ctx: PolicyContext) -> Objective:
    """Clicks + sessions + opens + minutes / 10 per user."""
    del ctx
    return EngagementObjective()


def spec_event(spec: OutcomeSpec) -> tuple[str, float]:
    """The instrumented event that moves an outcome spec's metric, and its reward weight.

    Every metric is moved by a good event (time_to_completion falls as on-time completions rise),
    except ``failed``, whose event is itself the bad outcome (weight -1).
    """
    event = f"{spec.goal}.{METRIC_EVENTS[spec.metric]}"
    return event, -1.0 if spec.metric == "failed" else 1.0


def scenario_outcome_weights(scenario: Scenario) -> dict[str, float]:
    """Instrumented event name -> reward weight, from a scenario's outcome specs."""
    instrumented = {ev.event for ev in scenario.instrumentation.events}
    weights: dict[str, float] = {}
    for spec in scenario.outcomes:
        event, weight = spec_event(spec)
        if event in instrumented:
            weights[event] = weight
    return weights


def outcome_weights(ctx: PolicyContext) -> dict[str, float]:
    """Instrumented event name -> reward weight, from the scenario's outcome specs."""
    return {e: w for e, w in scenario_outcome_weights(ctx.scenario).items()
            if e in ctx.instrumented}


class OutcomeObjective:
    """Weighted count of instrumented outcome events (a picklable callable)."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = dict(weights)
        #: The instrumented events this objective reads (a learner waits for their delay).
        self.events = tuple(self.weights)

    def __call__(self, fb: Feedback) -> np.ndarray:
        """Per-user reward of one step's feedback: ``0 + w_1 x_1 + w_2 x_2 + ...`` in float64
        over the weighted events present.

        Raises:
            ValueError: A weighted event's counts are not one per user (numpy's ``+=`` would
                broadcast a length-1 count; refused here, see :func:`add_weighted`).
        """
        out = np.zeros(len(fb.clicks))
        seen = fb.events
        for event, w in self.weights.items():
            counts = seen.get(event)
            if counts is not None:
                add_weighted(out, counts, w)
        return out


def outcome_objective(ctx: PolicyContext) -> Objective:
    """Weighted count of the instrumented outcome events behind the outcome specs."""
    return OutcomeObjective(outcome_weights(ctx))


class MixedObjective:
    """``(1 - weight) * engagement + weight * outcome``, each on its running mean magnitude."""

    def __init__(self, weights: dict[str, float], weight: float) -> None:
        self.engagement = EngagementObjective()
        self.outcome = OutcomeObjective(weights)
        self.events = self.outcome.events
        self.weight = weight
        self.n = 0
        self.scale_e = 0.0
        self.scale_o = 0.0

    def __call__(self, fb: Feedback) -> np.ndarray:
        """Per-user reward of one step's feedback (updates the running scales)."""
        e, o = self.engagement(fb), self.outcome(fb)
        self.n += 1
        self.scale_e += (np.abs(e).mean() - self.scale_e) / self.n
        self.scale_o += (np.abs(o).mean() - self.scale_o) / self.n
        se = self.scale_e if self.scale_e > 0 else 1.0
        so = self.scale_o if self.scale_o > 0 else 1.0
        return (1 - self.weight) * e / se + self.weight * o / so


def mixed_objective(ctx: PolicyContext, weight: float = 0.5) -> Objective:
    """``(1 - weight) * engagement + weight * outcome``, each on its running mean scale."""
    if not 0.0 <= weight <= 1.0:
        raise PolicyError(f"objective 'mixed': expected weight in [0, 1], got {weight}")
    return MixedObjective(outcome_weights(ctx), weight)


_OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "engagement": engagement_objective,
    "outcome": outcome_objective,
    "mixed": mixed_objective,
}


def register_objective(name: str, factory: Callable[..., Objective]) -> None:
    """Register an objective factory under ``name``."""
    _OBJECTIVES[name] = factory


def objective_events(objective: Objective, instrumented: Any) -> tuple[str, ...]:
    """The instrumented events an objective reads: its ``events`` attribute, else all of them.

    A learner waits ``max(delay_steps)`` over these before it rewards a step; an objective
    registered without ``events`` may read any event, so it waits for every one.
    """
    events = getattr(objective, "events", None)
    return tuple(instrumented) if events is None else tuple(events)


def objective_names() -> list[str]:
    """Known objective names."""
    return sorted(_OBJECTIVES)


def make_objective(name: str, ctx: PolicyContext, **params: Any) -> Objective:
    """Build an objective for a run's context."""
    if name not in _OBJECTIVES:
        close = difflib.get_close_matches(name, list(_OBJECTIVES), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise PolicyError(f"unknown objective '{name}'; known: {', '.join(objective_names())}."
                          f"{hint}")
    return _OBJECTIVES[name](ctx, **params)
