"""The scenario's mechanism parameters, compiled once into small frozen records.

Mechanisms never read the scenario schema: :func:`compile_params` copies each coefficient they use
into the record its mechanism defines (``NotificationParams``, ``SessionParams``, ...), and the
goals and instrumented events into specs. A mechanism's signature then says exactly which numbers
it depends on, and tests can call it with hand-written records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from outcome_gym.scenario.schema import (
    BudgetGoal,
    ContextEvents,
    Goal,
    Instrumentation,
    Scenario,
    Segment,
    TasksGoal,
    UserModel,
)
from outcome_gym.sim.mechanisms.context import ContextParams
from outcome_gym.sim.mechanisms.engagement import ChoiceParams
from outcome_gym.sim.mechanisms.focus import FocusParams
from outcome_gym.sim.mechanisms.goals import BudgetSpec, GoalSpec, PracticeSpec, TasksSpec
from outcome_gym.sim.mechanisms.memory import MemoryParams
from outcome_gym.sim.mechanisms.notifications import NotificationParams
from outcome_gym.sim.mechanisms.observation import EventSpec
from outcome_gym.sim.mechanisms.sessions import SessionParams
from outcome_gym.sim.mechanisms.trust import TrustParams


@dataclass(frozen=True)
class DayParams:
    """What recovers or fades overnight.

    Attributes:
        habit_fade: Daily habit fade after two or more missed days (mechanisms/habits.py).
        wear_recovery: Share of template wear shed per day (yancey2020).
    """

    habit_fade: float
    wear_recovery: float


@dataclass(frozen=True)
class Params:
    """Every mechanism's parameters for one scenario (built once per model)."""

    notifications: NotificationParams
    sessions: SessionParams
    choice: ChoiceParams
    focus: FocusParams
    trust: TrustParams
    context: ContextParams
    day: DayParams
    receptivity_auc: float
    events: tuple[EventSpec, ...]
    memory: MemoryParams


def _pick(record: type, um: UserModel, **extra: Any) -> Any:
    """The record of ``record``'s fields taken from the user model (plus ``extra``)."""
    names = [f.name for f in fields(record) if f.name not in extra]
    return record(**{name: getattr(um, name) for name in names}, **extra)


def choice_params(um: UserModel) -> ChoiceParams:
    """The in-session choice coefficients of a user model."""
    return _pick(ChoiceParams, um)


def compile_params(scenario: Scenario) -> Params:
    """Copy the scenario's mechanism parameters into the mechanisms' records."""
    return params_of(scenario.user_model, scenario.context, scenario.instrumentation)


def params_of(
    um: UserModel, ctx: ContextEvents | None = None, inst: Instrumentation | None = None
) -> Params:
    """The records of a user model, context block and instrumentation (defaults where omitted)."""
    ctx = ctx if ctx is not None else ContextEvents()
    inst = inst if inst is not None else Instrumentation()
    return Params(
        notifications=_pick(NotificationParams, um),
        sessions=_pick(SessionParams, um),
        choice=choice_params(um),
        focus=_pick(FocusParams, um),
        trust=_pick(TrustParams, um, failure_trust_cost=ctx.failure_trust_cost),
        context=ContextParams(
            per_day=(
                ctx.device_switch_per_day,
                ctx.colleague_share_per_day,
                ctx.support_contact_per_day,
            ),
            base_failure=ctx.base_failure,
            distance_sensitivity=ctx.distance_sensitivity,
            failure_minutes=ctx.failure_minutes,
        ),
        day=_pick(DayParams, um),
        receptivity_auc=inst.receptivity_auc,
        events=tuple(
            EventSpec(ev.event, ev.delay_steps, ev.miss_rate, ev.false_rate) for ev in inst.events
        ),
        memory=_pick(MemoryParams, um),
    )


def goal_spec(goal: Goal, segments: Sequence[Segment]) -> GoalSpec:
    """A goal compiled, with each per-user parameter resolved per segment (override or default)."""

    def per_segment(*keys: str) -> dict[str, tuple[Any, ...]]:
        return {
            key: tuple(seg.goal_params.get(goal.id, {}).get(key, getattr(goal, key))
                       for seg in segments)
            for key in keys
        }

    if isinstance(goal, TasksGoal):
        return TasksSpec(goal.id, per_segment("arrival_rate", "effort", "deadline_days"),
                         goal.max_pending, goal.late_days)
    if isinstance(goal, BudgetGoal):
        return BudgetSpec(goal.id, per_segment("spend_ratio", "effort", "drift"), goal.window_days,
                          goal.daily_noise, goal.adjustment, goal.act_by_day)
    return PracticeSpec(goal.id, per_segment("effort"))
