"""A planted harm: a policy that hurts only users whose attention budget is under a threshold.

The policy is the static product for everyone else. For the targeted users it fills every
non-core position with the elements of least goal value (most appealing first) and sends every
pushed notification at every slot (the scenario's guardrails then cap and quiet them, per user).
It reads each user's hidden attention budget, which no real policy can: a test device only, run
through the executor's ``runner`` hook (``tests.analysis.planted:run_planted``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from outcome_gym.policies.base import BasePolicy
from outcome_gym.policies.spec import PolicySpec
from outcome_gym.runner import RunResult, run
from outcome_gym.scenario import Scenario
from outcome_gym.sim.interface import Action, Observation

THRESHOLD = {"learning_habits": 10.0, "productivity_tool": 20.0}
"""Planted thresholds (minutes of attention per day), near each scenario's median budget."""


class PlantedHarm(BasePolicy):
    """Static for everyone but users with ``attention_budget < threshold`` (see module doc)."""

    name = "planted_harm"

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.budget: np.ndarray | None = None

    def act(self, observation: Observation) -> Action:
        """The default product, a distracting layout and every notification for the targeted."""
        ctx = self.context_
        n = ctx.n_users
        layout = np.broadcast_to(ctx.default_layout, (n, ctx.n_slots)).copy()
        notify = self.default_notify(observation).copy()
        assert self.budget is not None
        hit = self.budget < self.threshold
        value = ctx.scenario.product.elements
        free = np.flatnonzero(~ctx.core_slot)
        core_els = set(ctx.default_layout[ctx.core_slot].tolist())
        pool = [int(e) for e in ctx.layout_elements if int(e) not in core_els]
        pool.sort(key=lambda e: (sum(value[e].value.values()), -value[e].appeal))
        bad = np.array(pool[: free.size], dtype=layout.dtype)
        layout[np.ix_(hit, free[: bad.size])] = bad
        notify[hit] = True
        return Action(layout=layout, notify=notify)


def run_planted(scenario: Scenario, spec: PolicySpec, seed: int, *,
                guardrails: Any = None) -> RunResult:
    """A run of :class:`PlantedHarm` (``spec.params['threshold']``) that can read the budgets."""
    policy = PlantedHarm(float(spec.params["threshold"]))

    def hand_budget(model: Any) -> None:
        policy.budget = model.pop.attention_budget

    return run(scenario, policy, seed, guardrails=guardrails, before_act=hand_budget)
