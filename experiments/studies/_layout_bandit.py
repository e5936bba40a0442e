"""The fragmentation study's policy: an engagement bandit whose layouts stay near the default.

A helper module of ``studies.fragmentation`` (a leading ``_``: not a study itself). Its policy is
named in runs as ``studies._layout_bandit:LayoutBandit`` (``fragmentation.POLICY``), so a spawn
worker imports it by that name.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from outcome_gym.policies.bandits import EpsilonGreedyPolicy
from outcome_gym.sim.interface import Action, Observation, PolicyContext
from outcome_gym.sim.layout import layout_distance

# --- the personalization ---------------------------------------------------------------------


def toward(default: np.ndarray, target: np.ndarray, weight: np.ndarray, budget: float
           ) -> np.ndarray:
    """Move ``default`` toward ``target`` by swaps, top position first, staying within ``budget``.

    A selection sort: for each position from the top, the target's element is swapped in from
    where it is, unless that would take the layout's core-weighted distance from the default
    (:func:`~outcome_gym.sim.layout.layout_distance`) above ``budget``. Every intermediate layout
    is a permutation of the default, so no element is lost or shown twice. With ``budget >= 1``
    the target is reached.

    Args:
        default: S element indices.
        target: S element indices, a permutation of ``default``.
        weight: S position weights (core weight at core positions, else 1).
        budget: Largest allowed distance from the default, in [0, 1].
    """
    layout = default.copy()
    for k in range(layout.size):  # a loop over positions
        want = target[k]
        if layout[k] == want:
            continue
        cand = layout.copy()
        j = int(np.flatnonzero(layout == want)[0])
        cand[j], cand[k] = layout[k], want
        if layout_distance(cand[None, :], default[None, :], weight)[0] <= budget + 1e-12:
            layout = cand
    return layout


def candidate_targets(default: np.ndarray, movable: np.ndarray, depth: int = 2
                      ) -> list[np.ndarray]:
    """The default, then every order that brings 1..``depth`` movable elements to the top.

    Args:
        default: S element indices.
        movable: S bools, positions the personalization may change.
        depth: Most elements brought to the top of the movable positions (the rest keep their
            default order).
    """
    slots = np.flatnonzero(movable)
    elems = [int(e) for e in default[slots]]
    out = [default.copy()]
    for r in range(1, min(depth, len(elems)) + 1):
        for head in itertools.permutations(elems, r):
            lay = default.copy()
            lay[slots] = list(head) + [e for e in elems if e not in head]
            out.append(lay)
    return out


def arm_layouts(default: np.ndarray, core: np.ndarray, core_weight: float, strength: float,
                keep_core: bool, depth: int) -> list[np.ndarray]:
    """The bandit's arms: each candidate order moved toward within ``strength``, duplicates dropped.

    Arm 0 is the default layout.

    Args:
        default: S element indices.
        core: S bools, core positions.
        core_weight: Weight of a core position in the layout distance.
        strength: Largest distance from the default, [0, 1].
        keep_core: Only non-core positions move.
        depth: Most elements an order brings to the top.
    """
    weight = np.where(core, core_weight, 1.0)
    movable = ~core if keep_core else np.ones_like(core)
    layouts: list[np.ndarray] = []
    for target in candidate_targets(default, movable, depth):
        lay = toward(default, target, weight, strength)
        if not any((lay == other).all() for other in layouts):
            layouts.append(lay)
    return layouts


class LayoutBandit(EpsilonGreedyPolicy):
    """Engagement-optimising layout bandit whose layouts stay within ``strength`` of the default.

    Epsilon-greedy over layouts (as ``engagement_bandit:levers=layout``: engagement objective,
    notifications on the scenario's schedule), but the arms are the orders of
    :func:`candidate_targets` — with ``keep_core=False`` these move core elements too — each moved
    toward by :func:`toward` within ``strength``. It records every user's mean layout distance
    from the default (``distance_sum_ / active_steps_``) for the per-user analysis.

    When to use: the fragmentation experiment's dose: ``strength`` 0 is the static product,
    ``strength`` 1 lets the bandit use any of its orders.

    Args:
        strength: Largest core-weighted layout distance from the default an arm may have, [0, 1].
        keep_core: Personalize only the non-core positions (what ``lock_core`` allows).
        epsilon: Exploration probability per user and day (arms are held for a day and
            credited over the bandits' default horizon, as ``engagement_bandit``).
        granularity: ``user``, ``segment`` or ``global``: whose data an arm's mean pools.
        depth: Most elements an order brings to the top: 1 (the default) is the product's own
            variant family (``promote:<id>``, :mod:`~outcome_gym.product.variants`), with the
            top at position 0 when the core may move.
    """

    name = "layout_bandit"

    def __init__(self, strength: float = 1.0, keep_core: bool = True, epsilon: float = 0.1,
                 granularity: str = "segment", depth: int = 1) -> None:
        # The project's day-level learner (engagement_bandit:levers=layout): arms held for a
        # day and credited with the day's engagement plus the discounted next days', launched
        # from the default layout (policies/bandits/factored.py).
        super().__init__(objective="engagement", granularity=granularity, levers="layout",
                         epsilon=epsilon)
        self.strength = strength
        self.keep_core = keep_core
        self.depth = depth

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Build the budget-limited arms (duplicates dropped; arm 0 is the default)."""
        super().reset(context, seed)
        if not 0.0 <= float(self.strength) <= 1.0:
            raise ValueError(f"expected strength in [0, 1], got {self.strength!r}")
        default = np.asarray(context.default_layout, dtype=np.int64)
        core = np.asarray(context.core_slot, dtype=bool)
        cw = context.scenario.context.core_weight
        weight = np.where(core, cw, 1.0)
        layouts = arm_layouts(default, core, cw, float(self.strength), bool(self.keep_core),
                              int(self.depth))
        ids = context.element_ids
        names = tuple("default" if (lay == default).all()
                      else "order:" + ",".join(ids[e] for e in lay) for lay in layouts)
        self.variants_ = dataclasses.replace(self.variants_, layout_names=names,
                                             layouts=np.stack(layouts))
        self.default_arm_ = 0
        self.n_arms_ = (self.variants_.n_layouts, self.variants_.n_notify)
        self.state_ = tuple(self._new_state(self.n_groups_, a) for a in self.n_arms_)
        self.default_layout_, self.weight_ = default, weight
        self.distance_sum_ = np.zeros(context.n_users)
        self.active_steps_ = np.zeros(context.n_users)

    def act(self, observation: Observation) -> Action:
        """The bandit's layouts; adds each active user's distance from the default to the record."""
        action = super().act(observation)
        active = np.asarray(observation.active, dtype=bool)
        d = layout_distance(np.asarray(action.layout)[active], self.default_layout_[None, :],
                            self.weight_)
        self.distance_sum_[active] += d
        self.active_steps_[active] += 1
        return action
