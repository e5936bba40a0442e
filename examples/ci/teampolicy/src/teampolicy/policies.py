"""The team's policy, and two regressions a careless change could introduce.

* ``FocusForDeadlines`` (the policy as it should be): the work tools (focus mode, templates) first
  and the activity feed last in the free slots; everyone gets the default notifications.
* ``FeedFirst`` (regression): the activity feed and badges — high appeal, worth nothing to any goal —
  first. Engagement rises; deadlines slip.
* ``MovedCore`` (regression): swaps the two core elements (task list and search) — the product no
  longer matches the help pages, a colleague's screen or another device.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.policies import BasePolicy
from outcome_gym.sim.interface import Action


class _Promote(BasePolicy):
    order: tuple[str, ...] = ()

    def reset(self, context, seed) -> None:
        super().reset(context, seed)
        ids = list(context.element_ids)
        default = np.asarray(context.default_layout, dtype=np.int64)
        free = np.flatnonzero(~np.asarray(context.core_slot))
        first = [ids.index(e) for e in self.order]
        order = first + [x for x in default[free].tolist() if x not in first]
        self.promoted_ = default.copy()
        self.promoted_[free] = order[: free.size]

    def who(self, observation) -> np.ndarray:
        return np.asarray(observation.active, dtype=bool)

    def act(self, observation) -> Action:
        ctx = self.context_
        layout = np.broadcast_to(ctx.default_layout, (ctx.n_users, ctx.n_slots)).astype(np.int64)
        layout[self.who(observation)] = self.promoted_
        return Action(layout=layout, notify=self.default_notify(observation))


class FocusForDeadlines(_Promote):
    """Work tools first, the activity feed last."""

    name = "focus_for_deadlines"
    order = ("focus_mode", "templates", "tips", "badges", "activity_feed")


class FeedFirst(_Promote):
    """Regression: the activity feed and badges first."""

    name = "feed_first"
    order = ("activity_feed", "badges", "focus_mode", "templates", "tips")


class MovedCore(FocusForDeadlines):
    """Regression: the good policy, but with the two core elements swapped."""

    name = "moved_core"

    def act(self, observation) -> Action:
        """The good policy's layout with the two core positions swapped."""
        action = super().act(observation)
        layout = np.array(action.layout, copy=True)
        layout[:, [0, 1]] = layout[:, [1, 0]]
        return Action(layout=layout, notify=action.notify)
