"""EveningNudge: one notification a day, in the evening, to users who look receptive."""

from __future__ import annotations

import numpy as np

from outcome_gym.policies import BasePolicy
from outcome_gym.sim.interface import Action, Observation


class EveningNudge(BasePolicy):
    """Send one chosen notification in the evening slot to users whose (noisy) receptivity signal is
    above ``threshold``, at most once a day; everyone keeps the default layout.

    Args:
        element: Id of the notification or alert to send (default: the first one).
        slot: Slot name to send in.
        threshold: Receptivity signal above which a user is nudged.
    """

    name = "evening_nudge"

    def __init__(self, element: str | None = None, slot: str = "evening",
                 threshold: float = 0.5) -> None:
        self.element = element
        self.slot = slot
        self.threshold = threshold

    def reset(self, context, seed) -> None:
        """Resolve ids against the scenario; start with nobody nudged."""
        super().reset(context, seed)
        ids = list(context.element_ids)
        pushed = [ids[int(e)] for e in context.pushed_elements]
        element = self.element or pushed[0]
        if element not in pushed:
            raise ValueError(f"evening_nudge: expected one of {pushed}, got {element!r}")
        self.column_ = pushed.index(element)
        names = context.scenario.clock.names
        self.slot_index_ = names.index(self.slot) if self.slot in names else len(names) - 1
        self.last_day_ = np.full(context.n_users, -1, dtype=np.int64)

    def act(self, observation: Observation) -> Action:
        """Default layout; the nudge where the slot and the signal say so."""
        ctx = self.context_
        layout = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots)).copy()
        notify = np.zeros((ctx.n_users, ctx.n_pushed), dtype=bool)
        if observation.slot == self.slot_index_:
            who = (np.asarray(observation.receptivity) > self.threshold) & np.asarray(
                observation.active) & (self.last_day_ < observation.day)
            notify[who, self.column_] = True
            self.last_day_[who] = observation.day
        return Action(layout=layout, notify=notify)
