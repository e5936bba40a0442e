"""Layout memory's whole-array functions: the tests' second way into the compiled passes a
model's step runs (engagement's ``engage_rows`` and ``commit_rows``).

Moved out of ``src`` in the ninth pass (issue #18): only tests called them. Each calls the same
compiled pass as the step (``expertise_rows``, ``selection_rows``, ``learn_rows``).
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim.mechanisms.memory import (
    MemoryParams,
    _selection_terms,
    expertise_rows,
    learn_rows,
    selection_rows,
)


def expertise(p: MemoryParams, count: np.ndarray, remembered: np.ndarray,
              layout: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Expertise (n x P): L n / (n + 1) where the remembered element is still there, else 0.

    One compiled pass (:func:`expertise_rows`) over ``rows`` (all when None), reading the
    population's arrays in place (no gathered copies).

    Args:
        p: The mechanism's coefficients.
        count: N x P practice counts.
        remembered: N x P element the user last saw at each position (-1: none).
        layout: N x P element shown at each position now.
        rows: The users to compute it for (ascending; None: every row), in that order.
    """
    count = np.asarray(count)
    rows = np.arange(count.shape[0]) if rows is None else rows
    # L in the counts' dtype: a Python float times a float32 array is a float32 product
    out = np.empty((rows.shape[0], count.shape[1]), dtype=count.dtype)
    expertise_rows(np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(count),
                   np.ascontiguousarray(remembered), np.ascontiguousarray(layout),
                   count.dtype.type(p.memory_max), count.dtype.type(1.0), out)
    return out


def selection_minutes(p: MemoryParams, e: np.ndarray) -> np.ndarray:
    """Minutes (n x P, float64) to find and select the element at each position, at expertise
    ``e`` (one compiled pass, :func:`selection_rows`).
    """
    e = np.ascontiguousarray(e)
    if e.dtype.kind != "f":
        e = e.astype(np.float64)
    scan, decide, point = _selection_terms(p, e.shape[1])
    out = np.empty(e.shape)
    selection_rows(e, e.dtype.type(1.0), scan, decide, point, out)
    return out


def learn(count: np.ndarray, remembered: np.ndarray, layout: np.ndarray,
          seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One session's learning at the positions the user saw (every row; :func:`learn_rows`).

    Args:
        count: n x P practice counts.
        remembered: n x P remembered elements.
        layout: n x P elements shown in the session.
        seen: n x P positions the user saw.

    Returns:
        New counts and remembered elements (unseen positions unchanged).
    """
    new_count, new_remembered = np.array(count), np.array(remembered)  # C-ordered copies
    remember(new_count, new_remembered, layout, seen, np.arange(new_count.shape[0]))
    return new_count, new_remembered


def remember(count: np.ndarray, remembered: np.ndarray, layout: np.ndarray, seen: np.ndarray,
             rows: np.ndarray) -> None:
    """:func:`learn` in place, for the users ``rows`` only (the population's own arrays, which
    must be C-ordered: the model's are; one compiled pass, :func:`learn_rows`).
    """
    learn_rows(rows, count, remembered, np.ascontiguousarray(layout), np.ascontiguousarray(seen),
               count.dtype.type(1))
