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
) -> bool:
    """One day of habit dynamics, in place (one compiled pass, :func:`habit_rows`); returns
    whether every updated habit is finite (the day's close checks it: no second pass over them).

    In place because at large N a fresh N x E habit and missed-day array a day were often new
    pages the kernel faulted in (417 faults, 6-50 ms of the day start at N = 1e6); the pass
    reads each entry before writing it, so no entry is read after it has changed.

    Args:
        habit: Automaticity in [0, 1] (any shape; rows are users; C-contiguous), updated.
        rate: Growth rate c: one per row of ``habit``, one per element, or one for all.
        used: Whether the behaviour happened today (shape of ``habit``).
        missed: Consecutive days without it before today (C-contiguous uint8, shape of
            ``habit``), updated.
        fade: Daily fade once two or more days have been missed.

    Returns:
        Whether every habit, as stored, is finite (``np.isfinite(habit).all()``).

    Raises:
        ValueError: ``habit`` or ``missed`` is not a C-contiguous array the pass can write
            (``missed`` not uint8 or not of ``habit``'s shape).
    """
    hf, mf = habit.flags, missed.flags  # each ``flags`` read builds an object: read once
    if not (hf.c_contiguous and hf.writeable and mf.c_contiguous and mf.writeable
            and missed.dtype == np.uint8 and missed.shape == habit.shape):
        raise ValueError("update_habit updates a C-contiguous habit and its uint8 missed days")
    rows = habit.shape[0] if habit.ndim else 1
    r = np.ascontiguousarray(rate)
    # the rate as a rows x 1 column (per user) or rows x k (per element), never copied per element
    r2 = r.reshape(rows, -1) if r.size in (rows, habit.size) else np.full((rows, 1), r.item(),
                                                                          r.dtype)
    # the constants in the habit's dtype: 1 - h and h * (1 - fade) then round as numpy's do
    f = habit.dtype.type
    # views (contiguous) of habit and missed: the pass writes the caller's arrays; bool(): as
    # plain Python (NUMBA_DISABLE_JIT=1) the pass's answer is an np.bool_
    return bool(habit_rows(habit.reshape(rows, -1), r2,
                           np.ascontiguousarray(used).reshape(rows, -1), missed.reshape(rows, -1),
                           f(1.0), f(1.0 - fade)))


@compiled
def habit_rows(
    habit, rate, used, missed, one, keep
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per entry, in place: used: ``h + c (1 - h)`` and missed 0; else missed + 1 (at most 255)
    and, from two missed days on, ``h * keep`` (keep = 1 - fade). ``rate`` has one column (per
    row) or one per entry; arithmetic in the habit's dtype unless ``rate`` is wider (then rounded
    back). Returns whether every habit is finite as stored.

    The arrays are updated as themselves, not passed again as outputs: two arguments that are one
    array defeat the compiler's no-overlap check (the pass ran ~1.5x slower at N = 1e6).
    """
    n, k = habit.shape
    per_entry = rate.shape[1] > 1
    finite = True
    for i in range(n):
        for j in range(k):
            # both outcomes computed, one stored unconditionally (a select, no masked stores)
            h = habit[i, j]
            c = rate[i, j] if per_entry else rate[i, 0]
            m = min(np.int64(missed[i, j]) + 1, 255)
            u = used[i, j]
            habit[i, j] = h + c * (one - h) if u else (h * keep if m >= 2 else h)
            missed[i, j] = 0 if u else m
            stored = habit[i, j]
            finite &= (stored - stored) == 0  # 0 for a finite habit, NaN for an inf or a NaN
    return finite


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`habit_rows` for the population's float32 habits."""
    update_habit(np.zeros((1, 1), np.float32), np.zeros(1, np.float32), np.ones((1, 1), bool),
                 np.zeros((1, 1), np.uint8), 0.1)
