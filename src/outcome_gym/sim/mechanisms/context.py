"""Context events and what makes them fail (docs/design.md, step 9).

Per active user and slot, each kind happens with probability rate_per_day / S:

* device switch (users with 2+ devices): the other device still shows the layout of the user's
  previous session;
* colleague share (users with a teammate): the colleague's current layout;
* support contact: support's instructions assume the default layout.

A context event fails with probability

    p_fail = base_failure + (1 - base_failure) * (1 - exp(-distance_sensitivity * d))

where d is the core-weighted layout distance (:func:`~outcome_gym.sim.layout.layout_distance`)
between the user's layout and the one the other context assumes. A failure costs
``failure_minutes`` of attention, adds focus residue and a support ticket, and costs trust at day
end. No published effect size exists for these failures under personalized UIs (docs/calibration.md,
mechanism 9): the form rests on transfer (polson1986), awareness (findlater2008) and the stability
results (mitchell1989, sears1994); every size here is a design choice (D).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from outcome_gym.sim.layout import layout_distance

KINDS = ("device_switch", "colleague_share", "support_contact")


@dataclass(frozen=True)
class ContextParams:
    """The scenario's ``context`` block as this mechanism reads it (docs/model.md section 4.9).

    Attributes:
        per_day: Events per active user and day, one per kind in :data:`KINDS` order.
        base_failure: Failure chance at distance 0.
        distance_sensitivity: Growth of the failure chance with layout distance.
        failure_minutes: Attention a failure costs.
    """

    per_day: tuple[float, float, float]
    base_failure: float
    distance_sensitivity: float
    failure_minutes: float


@dataclass(frozen=True)
class ContextOutcome:
    """Per-user events and failures of each kind (N bools), plus the distances involved."""

    events: dict[str, np.ndarray]
    failures: dict[str, np.ndarray]
    distance: dict[str, np.ndarray]

    @functools.cached_property
    def failed(self) -> np.ndarray:
        """N int16 failures of any kind (each one a support ticket), computed once per step."""
        total = np.zeros(next(iter(self.failures.values())).shape, np.int16)
        for f in self.failures.values():
            total += f  # bools added as 0/1 in int16: the sum of their int16 casts
        return total


def failure_probability(ctx: ContextParams, distance: np.ndarray) -> np.ndarray:
    """Chance a context event fails at a given weighted layout distance (monotone in distance)."""
    return ctx.base_failure + (1 - ctx.base_failure) * (
        1 - np.exp(-ctx.distance_sensitivity * distance)
    )


def context_events(
    ctx: ContextParams,
    slots_per_day: int,
    active: np.ndarray,
    can_switch: np.ndarray,
    has_colleague: np.ndarray,
    layout: np.ndarray,
    last_layout: np.ndarray,
    colleague: Callable[[np.ndarray], np.ndarray],
    default: np.ndarray,
    weight: np.ndarray,
    u: np.ndarray,
    exact: bool = False,
) -> ContextOutcome:
    """Draw this slot's context events and their failures.

    Distances (and the failure draw's comparison) are only computed for the users an event
    happens to; ``distance`` is 0 elsewhere. The uniforms are drawn for every user regardless.
    ``colleague(rows)`` gives the teammate each of ``rows`` shares a screen with (asked only for
    the users a colleague share happens to; its draws are made for everyone by the caller).
    ``exact``: ``layout.exact_weights(weight)`` (the distances then by a compiled loop, the same
    bits).
    """
    rates = ctx.per_day
    eligible = (active & can_switch, active & has_colleague, active)
    n = layout.shape[0]
    events, failures, distances = {}, {}, {}
    for i, kind in enumerate(KINDS):
        happens = eligible[i] & (u[:, i] < rates[i] / slots_per_day)
        rows = happens.nonzero()[0]  # np.flatnonzero of a 1-D array, without its wrapper
        d = np.zeros(n)
        fail = np.zeros(n, dtype=bool)
        if rows.size:  # most slots nobody has one of a kind: nothing to measure
            if i == 0:
                other = last_layout[rows]
            elif i == 1:
                other = layout[colleague(rows)]
            else:
                other = default[None, :]
            d[rows] = layout_distance(layout[rows], other, weight, exact)
            fail[rows] = u[rows, 3 + i] < failure_probability(ctx, d[rows])
        events[kind] = happens
        failures[kind] = fail
        distances[kind] = d
    return ContextOutcome(events=events, failures=failures, distance=distances)
