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
context's ``failure_rows``, engagement's ``engage_rows``) write these two formulas inline: a
compiled pass cannot call another compiled function. The numpy forms below are the equations'
reference; tests hold the notifications' and context's copies to them bit for bit, at the
edges too (-0.0, NaN); engagement's, the oldest pass, is held by the per-agent crosscheck.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
