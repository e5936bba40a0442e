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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from outcome_gym.sim._jit import compiled
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
    """Per-user events and failures of each kind (N bools), plus the distances involved, and
    ``failed``: N int16 failures of any kind (each one a support ticket).
    """

    events: dict[str, np.ndarray]
    failures: dict[str, np.ndarray]
    distance: dict[str, np.ndarray]
    failed: np.ndarray


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
    happens to; ``distance`` is 0 elsewhere. The uniforms are drawn for every user regardless
    (``u``: N x 6, or wider: columns 0-2 decide the events, 3-5 the failures of each kind).
    ``colleague(rows)`` gives the teammate each of ``rows`` shares a screen with (asked only for
    the users a colleague share happens to; its draws are made for everyone by the caller).
    ``exact``: ``layout.exact_weights(weight)`` (the distances then by a compiled loop, the same
    bits).
    """
    n = layout.shape[0]
    # who has an event of each kind, and their rows (ascending), in one compiled pass
    happens = np.empty((3, n), dtype=bool)
    event_rows = np.empty((3, n), dtype=np.int64)
    count = np.zeros(3, dtype=np.int64)
    threshold = np.array([rate / slots_per_day for rate in ctx.per_day])
    context_rows(_u8(u), threshold, _b(active), _b(can_switch), _b(has_colleague), happens,
                 event_rows, count)
    d = np.zeros((3, n))
    fail = np.zeros((3, n), dtype=bool)
    for i in range(3):
        if not count[i]:  # most slots nobody has one of a kind: nothing to measure
            continue
        rows = event_rows[i, :count[i]]
        if i == 0:
            other = last_layout[rows]
        elif i == 1:
            other = layout[colleague(rows)]
        else:
            other = default[None, :]
        d_i = layout_distance(layout[rows], other, weight, exact)
        d[i, rows] = d_i
        fail[i, rows] = u[rows, 3 + i] < failure_probability(ctx, d_i)
    return ContextOutcome(events=dict(zip(KINDS, happens, strict=True)),
                          failures=dict(zip(KINDS, fail, strict=True)),
                          distance=dict(zip(KINDS, d, strict=True)),
                          # bools added as 0/1 in int16: whole numbers, exact in any order
                          failed=np.add.reduce(fail, axis=0, dtype=np.int16))


def _u8(a: np.ndarray) -> np.ndarray:
    """A float64 array as the compiled passes take it (C-contiguous, writable)."""
    out = np.ascontiguousarray(a, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


def _b(a: np.ndarray) -> np.ndarray:
    """A bool array as the compiled passes take it (C-contiguous, writable)."""
    out = np.ascontiguousarray(a, dtype=bool)
    return out if out.flags.writeable else out.copy()


@compiled
def context_rows(u, threshold, active, can_switch, has_colleague, happens, rows, count
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user i and kind k: ``happens[k, i]`` = eligible and ``u[i, k] < threshold[k]``
    (eligible: active and, for a device switch, 2+ devices, for a colleague share, a
    teammate); the users it happens to listed in ``rows[k, :count[k]]``, ascending.
    """
    for i in range(u.shape[0]):
        eligible = (active[i] and can_switch[i], active[i] and has_colleague[i], active[i])
        for k in range(3):
            h = eligible[k] and u[i, k] < threshold[k]
            happens[k, i] = h
            if h:
                rows[k, count[k]] = i
                count[k] += 1


@compiled
def charge_failures(failed, minutes, residue_size, one, attention, failures_today, residue
                    ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """In place, per user with ``failed[i]`` > 0 failures: attention -= minutes x failed (never
    below 0; as :func:`~outcome_gym.sim.mechanisms.focus.spend_attention`, in float64, stored
    rounded to the attention's float32), failures_today += failed, and focus residue grows once
    (:func:`~outcome_gym.sim.mechanisms.focus.add_residue` inlined: ``r + size * (one - r)``
    with ``one`` = 1 in residue's dtype and ``residue_size`` in the dtype numpy computes
    ``size * (1 - r)`` in, so the same roundings). Users without a failure are left as they
    are (numpy's attention >= 0 less 0 minutes is itself).
    """
    for i in range(failed.shape[0]):
        f = failed[i]
        if f <= 0:
            continue
        left = np.float64(attention[i]) - minutes * np.float64(f)
        if left <= 0.0:  # as np.maximum(left, 0) answers: -0.0 gives +0.0, a NaN stays NaN
            left = 0.0
        attention[i] = left
        failures_today[i] += f
        r = residue[i]
        residue[i] = r + residue_size * (one - r)


def compile_kernel() -> None:
    """Compile (or load from the cache) the passes now, for the population's dtypes."""
    yes = np.ones(1, bool)
    context_rows(np.zeros((1, 7)), np.ones(3), yes, yes, yes, np.empty((3, 1), bool),
                 np.empty((3, 1), np.int64), np.zeros(3, np.int64))
    one = np.float32(1.0)
    charge_failures(np.ones(1, np.int16), 1.0, one, one, np.ones(1, np.float32),
                    np.zeros(1, np.int16), np.zeros(1, np.float32))
