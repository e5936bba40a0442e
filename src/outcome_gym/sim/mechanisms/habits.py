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

from outcome_gym.sim._jit import compiled


def update_habit(
    habit: np.ndarray, rate: np.ndarray, used: np.ndarray, missed: np.ndarray, fade: float
) -> tuple[np.ndarray, np.ndarray]:
    """One day of habit dynamics (one compiled pass, :func:`habit_rows`).

    Args:
        habit: Automaticity in [0, 1] (any shape; rows are users).
        rate: Growth rate c: one per row of ``habit``, one per element, or one for all.
        used: Whether the behaviour happened today (shape of ``habit``).
        missed: Consecutive days without it before today (uint8, shape of ``habit``).
        fade: Daily fade once two or more days have been missed.

    Returns:
        New habit (``habit``'s dtype) and new missed-day counts (uint8).
    """
    h = np.ascontiguousarray(habit)
    rows = h.shape[0] if h.ndim else 1
    h2 = h.reshape(rows, -1)
    r = np.asarray(rate)
    # the rate as a rows x 1 column (per user) or rows x k (per element), never copied per element
    r2 = r.reshape(rows, -1) if r.size in (rows, h2.size) else np.full((rows, 1), r.item(), r.dtype)
    new_h = np.empty_like(h2)
    new_m = np.empty(h2.shape, dtype=np.uint8)
    # the constants in the habit's dtype: 1 - h and h * (1 - fade) then round as numpy's do
    one, keep = h.dtype.type(1.0), h.dtype.type(1.0 - fade)
    habit_rows(h2, np.ascontiguousarray(r2), np.ascontiguousarray(used).reshape(rows, -1),
               np.ascontiguousarray(missed, dtype=np.uint8).reshape(rows, -1), one, keep,
               new_h, new_m)
    return new_h.reshape(h.shape), new_m.reshape(h.shape)


@compiled
def habit_rows(
    habit, rate, used, missed, one, keep, new_habit, new_missed
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per entry: used: ``h + c (1 - h)`` and missed 0; else missed + 1 (at most 255) and, from
    two missed days on, ``h * keep`` (keep = 1 - fade). ``rate`` has one column (per row) or
    one per entry; arithmetic in the habit's dtype unless ``rate`` is wider (then rounded back).
    """
    n, k = habit.shape
    per_entry = rate.shape[1] > 1
    for i in range(n):
        for j in range(k):
            h = habit[i, j]
            if used[i, j]:
                c = rate[i, j] if per_entry else rate[i, 0]
                new_habit[i, j] = h + c * (one - h)
                new_missed[i, j] = 0
            else:
                m = min(np.int64(missed[i, j]) + 1, 255)
                new_missed[i, j] = m
                new_habit[i, j] = h * keep if m >= 2 else h


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`habit_rows` for the population's float32 habits."""
    h = np.zeros((1, 1), np.float32)
    update_habit(h, np.zeros(1, np.float32), np.ones((1, 1), bool), np.zeros((1, 1), np.uint8),
                 0.1)
