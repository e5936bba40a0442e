"""A deadline reminder: notify a user when one of their tasks nears its deadline undone.

A small rules policy triggered by a goal's state, as the product of a task manager can see it:
it counts each user's open tasks from the instrumented ``<goal>.arrived`` and ``<goal>.completed``
events (delay 0) and sends ``reminder`` (a notification element) when a task is due within
``lead_days`` and has not been seen completed; at most once a day per user, never in a quiet slot.
Everything else is the scenario's static product (default layout, schedule).

How it tracks tasks (docs/model.md, tasks goal): tasks arrive at the start of a day into at most
``max_pending`` places (arrivals beyond fail at once), are worked earliest deadline first and are
dropped ``late_days`` after their deadline. Every task of a user has the same span (the segment's
``deadline_days``), so earliest deadline first is oldest first: the policy keeps, per user, open
tasks by arrival day, adds the day's arrivals (capped at ``max_pending`` open tasks, the newest
failing first as in the mechanism), removes completions from the oldest day and forgets tasks past
``deadline + late_days``. A task arriving on day ``a`` is due at step ``a * slots + span`` (span =
``rint(deadline_days * slots)``); it is *near* from step ``due - lead_days * slots`` until its
last step ``due - 1``.

Worked example (4 slots a day, deadline_days 2, lead_days 1): a task arrives on day 3 (step 12),
the policy sees it at step 13; due at step 20, so it is near from step 16 (day 4, morning) and a
reminder goes out then, once, if the task has not been seen completed; on day 5 it is past due and
no reminder follows.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.errors import PolicyError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.product.guardrails import quiet_slot_indices
from outcome_gym.scenario.schema import TasksGoal
from outcome_gym.sim.interface import Action, Observation, PolicyContext


class DeadlineReminder(BasePolicy):
    """Deadline reminders for tasks near their deadline and not yet done, on the static product.

    When to use: an alert triggered by a goal's state (crowd-out studies: does reminding users of
    one goal make them fail another?). ``remind=false`` is its reference: the same product
    without the reminder (and, by default, without the schedule's sends of the reminder element).

    Args:
        goal: The tasks goal whose deadlines are reminded.
        reminder: The notification element sent.
        lead_days: A task is near its deadline this many days (or less) before it.
        remind: Send the triggered reminders (false: the reference arm).
        keep_scheduled: Keep the scenario's scheduled sends of ``reminder`` (default: dropped,
            so the reminder arrives only when a deadline is near).
    """

    name = "deadline_reminder"

    def __init__(self, goal: str = "deadlines", reminder: str = "task_reminder",
                 lead_days: float = 1.0, remind: bool = True,
                 keep_scheduled: bool = False) -> None:
        if lead_days <= 0:
            raise ValueError(f"expected lead_days > 0, got {lead_days}")
        self.goal = goal
        self.reminder = reminder
        self.lead_days = lead_days
        self.remind = remind
        self.keep_scheduled = keep_scheduled

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Resolve the goal, element and events; per-user task spans from the segments."""
        super().reset(context, seed)
        sc = context.scenario
        goal = next((g for g in sc.goals if g.id == self.goal), None)
        if not isinstance(goal, TasksGoal):
            raise PolicyError(f"{self.name}: expected a tasks goal id, got {self.goal!r}")
        ids = list(context.element_ids)
        col = context.pushed_column
        if self.reminder not in ids or ids.index(self.reminder) not in col:
            raise PolicyError(f"{self.name}: expected a notification id, got {self.reminder!r}")
        self.col_ = col[ids.index(self.reminder)]
        self.arrived_, self.completed_ = f"{self.goal}.arrived", f"{self.goal}.completed"
        missing = [e for e in (self.arrived_, self.completed_) if e not in context.instrumented]
        if self.remind and missing:
            raise PolicyError(f"{self.name}: deadline reminders need the events {missing} "
                              f"instrumented (instrumented: {list(context.instrumented)})")
        slots = context.slots_per_day
        self.slots_ = slots
        self.span_ = self._spans(context, goal)
        self.lead_ = float(self.lead_days) * slots
        self.cap_ = goal.max_pending
        keep_steps = int(self.span_.max()) + round(goal.late_days * slots)
        self.days_ = keep_steps // slots + 2  # days of arrivals that can still be open
        self.open_ = np.zeros((context.n_users, self.days_), dtype=np.int64)
        self.first_day_ = 0  # arrival day held in column (first_day_ % days_) onwards
        self.drop_ = (self.span_ + round(goal.late_days * slots)).astype(np.int64)
        self.sent_day_ = np.full(context.n_users, -1, dtype=np.int64)
        self.quiet_ = quiet_slot_indices(sc.guardrails.quiet_slots, sc.clock.names)

    def _spans(self, context: PolicyContext, goal: TasksGoal) -> np.ndarray:
        """Per user: steps from a task's arrival to its deadline (as the tasks mechanism)."""
        by_segment = []
        for seg in context.scenario.population.segments:
            days = seg.goal_params.get(self.goal, {}).get("deadline_days", goal.deadline_days)
            if not isinstance(days, int | float):
                raise PolicyError(f"{self.name}: expected a fixed deadline_days in segment "
                                  f"{seg.id!r}, got a distribution")
            by_segment.append(max(round(max(float(days), 0.01) * context.slots_per_day), 1))
        return np.asarray(by_segment, dtype=np.int64)[np.asarray(context.segment)]

    def _track(self, observation: Observation) -> None:
        """Arrivals and completions seen now (they happened in the previous step)."""
        if observation.step == 0:
            return
        day = (observation.step - 1) // self.slots_
        while self.first_day_ <= day - self.days_:  # forget arrivals too old to be open
            self.open_[:, self.first_day_ % self.days_] = 0
            self.first_day_ += 1
        # tasks dropped (past deadline + late_days) are no longer open
        for d in range(self.first_day_, day + 1):
            gone = d * self.slots_ + self.drop_ <= observation.step  # step_end of step - 1
            self.open_[gone, d % self.days_] = 0
        arrived = observation.events.get(self.arrived_)
        if arrived is not None:
            room = np.maximum(self.cap_ - self.open_.sum(axis=1), 0)
            self.open_[:, day % self.days_] += np.minimum(np.asarray(arrived, np.int64), room)
        done = observation.events.get(self.completed_)
        if done is not None:
            left = np.asarray(done, np.int64).copy()
            for d in range(max(self.first_day_, day - self.days_ + 1), day + 1):  # oldest first
                c = d % self.days_
                take = np.minimum(left, self.open_[:, c])
                self.open_[:, c] -= take
                left -= take

    def near_due(self, step: int) -> np.ndarray:
        """N bools: the user has an open task due within ``lead_days`` and not yet past due."""
        out = np.zeros(self.open_.shape[0], dtype=bool)
        for d in range(self.first_day_, step // self.slots_ + 1):
            due = d * self.slots_ + self.span_
            near = (step < due) & (due - step <= self.lead_)
            out |= near & (self.open_[:, d % self.days_] > 0)
        return out

    def act(self, observation: Observation) -> Action:
        """The static product, minus scheduled reminders (by default), plus triggered ones."""
        layout = self.default_layout()
        notify = self.default_notify(observation).copy()
        if not self.keep_scheduled:
            notify[:, self.col_] = False
        if self.remind:
            self._track(observation)
            if observation.slot not in self.quiet_:
                send = (self.near_due(observation.step) & (self.sent_day_ < observation.day)
                        & np.asarray(observation.active, dtype=bool))
                notify[send, self.col_] = True
                self.sent_day_[send] = observation.day
        notify &= np.asarray(observation.active, dtype=bool)[:, None]
        return Action(layout=layout, notify=notify)
