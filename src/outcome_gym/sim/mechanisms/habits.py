"""Habit growth and fade (docs/design.md, step 8).

On a day with use:            h <- h + c (1 - h),  c = 1 - 0.05^(1/D)
After 2+ consecutive missed:  h <- h (1 - habit_fade)
After exactly 1 missed day:   unchanged

D (days of daily repetition to 95% of the plateau) is lognormal per user with median 66 and a
range of about 18-254 (lally2010, V); one missed day does not matter (lally2010, V); the update form
and the fade rate are design choices (D). Habit strength raises an element's choice utility and the
chance of a self-initiated session, so habitual users need nudges less (buyalskaya2023).
"""

from __future__ import annotations

import numpy as np


def update_habit(
    habit: np.ndarray, rate: np.ndarray, used: np.ndarray, missed: np.ndarray, fade: float
) -> tuple[np.ndarray, np.ndarray]:
    """One day of habit dynamics.

    Args:
        habit: Automaticity in [0, 1] (any shape).
        rate: Growth rate c, broadcastable to ``habit``.
        used: Whether the behaviour happened today (shape of ``habit``).
        missed: Consecutive days without it before today (uint8, shape of ``habit``).
        fade: Daily fade once two or more days have been missed.

    Returns:
        New habit and new missed-day counts.
    """
    new_missed = np.where(used, 0, np.minimum(missed.astype(np.int16) + 1, 255)).astype(np.uint8)
    grown = habit + rate * (1.0 - habit)
    faded = np.where(new_missed >= 2, habit * (1.0 - fade), habit)
    return np.where(used, grown, faded).astype(habit.dtype), new_missed
