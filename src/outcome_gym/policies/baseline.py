"""The two baseline policies: ``static`` (no personalization) and ``random`` (a stress test)."""

from __future__ import annotations

import numpy as np

from outcome_gym.policies.base import BasePolicy
from outcome_gym.sim.interface import Action, Observation


class StaticPolicy(BasePolicy):
    """Everyone sees the default layout and gets the default notification schedule.

    When to use: the reference in almost every comparison — the product as designed, unpersonalized.
    """

    name = "static"
    treats_users_apart = True  # the default layout and the segment's schedule, for each user

    def act(self, observation: Observation) -> Action:
        """Default layout and schedule for every user."""
        return Action(layout=self.default_layout(), notify=self.default_notify(observation))


class RandomPolicy(BasePolicy):
    """Each user gets a random arrangement of the non-core slots every step (core stays put) and the
    default notification schedule.

    When to use: a fragmentation stress test — the most an interface can drift between users and
    over time without touching the core.

    Args:
        keep_core: Keep core elements in their default positions (default True).
        notify_prob: If given, send each notification with this probability per user-step instead
            of the default schedule.
    """

    name = "random"

    def __init__(self, keep_core: bool = True, notify_prob: float | None = None) -> None:
        self.keep_core = keep_core
        self.notify_prob = notify_prob

    def act(self, observation: Observation) -> Action:
        """Random non-core slot contents, drawn without replacement per user."""
        ctx, rng = self.context_, self.rng_
        n, s = ctx.n_users, ctx.n_slots
        fixed = ctx.core_slot if self.keep_core else np.zeros(s, dtype=bool)
        free_slots = np.flatnonzero(~fixed)
        pool = np.setdiff1d(ctx.layout_elements, ctx.default_layout[fixed])
        layout = self.default_layout()
        if free_slots.size and pool.size:
            keys = rng.random((n, pool.size))
            take = np.argsort(keys, axis=1)[:, : min(free_slots.size, pool.size)]
            layout[:, free_slots[: take.shape[1]]] = pool[take]
        if self.notify_prob is None:
            notify = self.default_notify(observation)
        else:
            notify = rng.random((n, ctx.n_pushed)) < self.notify_prob
        return Action(layout=layout, notify=notify)
