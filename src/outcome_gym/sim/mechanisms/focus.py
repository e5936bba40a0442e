"""Focus residue and the day's attention budget (docs/design.md, steps 4, 6 and 9).

Attention residue: a distraction, an interruption or a failed hand-over leaves part of the mind on
what was left, and focus drops by the residue for what follows (mark2005, altmann2007):

    residue <- residue + size * (1 - residue)        per distracting event (saturating)
    residue <- residue * residue_carry               between slots (it fades; a night clears it)
    focus    = 1 - residue                           multiplies goal progress per engagement

Attention is a daily budget of minutes: interruptions, engagements and context failures spend it,
and it never goes below zero (altmann2007 for the resumption cost of an interruption). The sizes
are design choices (D; docs/calibration.md, mechanism 4).

The compiled passes that spend attention or add residue (notifications' ``settle_rows``,
context's ``failure_rows``, engagement's ``engage_rows``) call the per-user forms
:func:`residue_after` and :func:`attention_after` (compiled, copied into each pass by numba:
``compiled.inlined``; one implementation of each). The
numpy forms :func:`add_residue` and :func:`spend_attention` state the equations over arrays;
tests hold the per-user forms to them bit for bit, at the edges too (-0.0, NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.sim._jit import compiled


@dataclass(frozen=True)
class FocusParams:
    """The ``user_model`` coefficients of focus residue.

    Attributes:
        residue: Focus lost per distracting event (distraction, interruption, failed hand-over).
        residue_carry: Share of residue carried from one slot to the next.
    """

    residue: float
    residue_carry: float


def add_residue(residue: np.ndarray, size: float) -> np.ndarray:
    """Residue after one more distracting event (keeps the dtype of ``residue``)."""
    return residue + size * (1 - residue)


def spend_attention(attention_left: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Attention left after spending ``minutes`` (never below zero), as float32 state."""
    return np.maximum(attention_left - minutes, 0).astype(np.float32)


@compiled.inlined
def residue_after(residue, size, one
                  ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """One user's :func:`add_residue`: ``residue + size * (one - residue)``.

    Computed in the arguments' types: the passes give ``residue``, ``size`` and ``one`` (= 1) in
    the dtype numpy computes their state's formula in (float32 state with a Python-float size is
    float32 under numpy's scalar rules), so the same roundings.
    """
    return residue + size * (one - residue)


@compiled.inlined
def attention_after(attention, minutes
                    ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """One user's :func:`spend_attention` before its float32 rounding: ``max(attention -
    minutes, 0)`` in the arguments' type, answered as numpy's ``maximum`` does (a NaN stays NaN,
    -0.0 gives +0.0).
    """
    left = attention - minutes
    return 0.0 if left <= 0.0 else left
