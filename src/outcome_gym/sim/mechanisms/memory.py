"""Layout memory: where each user expects each element, learned with use (docs/model.md §4.6a).

Each user keeps, per layout position k, the element they last saw there (``remembered``, -1 for
none) and a practice count ``n`` (faded sessions in which they saw that element at k). Expertise
at a position follows Cockburn, Gutwin & Greenberg's (2007) novice-to-expert transition, the
power law of practice in its hyperbolic form e = L (1 - 1/t) with t = n + 1 the current trial:

    e[k] = memory_max * n[k] / (n[k] + 1)   if remembered[k] == layout[k]   else 0

so a position whose element changed since the user learned it is back to novice. Selecting the
element at position k (0-based) of a P-position layout then takes (seconds)

    V[k] = search_seconds * (k + 1)                          # linear visual search (novice)
    H    = decision_seconds * log2(P + 1)                    # Hick-Hyman decision (expert)
    T[k] = (1 - e) * V[k] + e * min(V[k], H)                 # the novice-to-expert transition
         + pointing_seconds * log2(k + 2)                    # Fitts, distance k + 1 item widths

(cockburn2007's decomposition; the intercepts are left out because they do not depend on the
layout and belong to the element's own ``attention_cost``; the ``min`` keeps an expert from being
slower than reading the first few positions would be). The selection time is charged to the
day's attention. Expertise also widens the consideration set: a position beyond the session's
scan depth is considered with weight e[k] (the user goes straight to an element they know is
there), so a moved element is reachable only by scanning again. Learning: every position the
user saw in a session (scanned, or reached from memory) gets one more exposure of the element
shown there (n + 1 if it is the remembered element, else the memory is overwritten: n = 1); every
day, n <- n * (1 - memory_fade). The form is cockburn2007's; every coefficient is a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.sim._jit import compiled

F = np.float32


@dataclass(frozen=True)
class MemoryParams:
    """The ``user_model`` coefficients of layout memory (docs/model.md section 4.6a).

    Attributes:
        memory_max: Largest expertise L, in [0, 1] (cockburn2007's form; 0 turns memory off).
        memory_fade: Share of the practice count lost per day.
        search_seconds: Visual search time per position scanned (novice).
        decision_seconds: Hick-Hyman decision time per bit (expert).
        pointing_seconds: Fitts pointing time per bit of index of difficulty.
    """

    memory_max: float
    memory_fade: float
    search_seconds: float
    decision_seconds: float
    pointing_seconds: float


@compiled.inlined  # copied into the step's pass (no second compilation)
def expertise_rows(rows, count, remembered, layout, memory_max, one, out
                   ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[j, k] = L n / (n + 1)`` for user ``rows[j]`` at position k, 0 where the element changed.

    In the counts' dtype (``memory_max`` and ``one`` given in it), as numpy computed
    ``L * n / (n + 1.0)`` on them.
    """
    for j in range(rows.shape[0]):
        i = rows[j]
        for k in range(count.shape[1]):
            n = count[i, k]
            if remembered[i, k] == layout[i, k]:
                out[j, k] = memory_max * n / (n + one)
            else:
                out[j, k] = 0.0


@compiled.inlined  # copied into the step's pass (no second compilation)
def selection_rows(e, one, scan, decide, point, out
                   ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[j, k] = ((1 - e) * scan_k + e * decide_k + point_k) / 60`` (the module docstring's
    T[k] in minutes; ``scan``, ``decide``, ``point`` the 1 x P terms of :func:`_selection_terms`).

    As numpy computed it on the arrays: ``1 - e`` in e's dtype (``one`` given in it), widened to
    float64 where it meets the float64 terms, added left to right.
    """
    for j in range(e.shape[0]):
        for k in range(e.shape[1]):
            x = e[j, k]
            out[j, k] = ((one - x) * scan[0, k] + x * decide[0, k] + point[0, k]) / 60.0


def _selection_terms(p: MemoryParams, n_pos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The terms of the selection time (:func:`selection_rows`) that do not depend on expertise
    (1 x P each; a run's :class:`~outcome_gym.sim.mechanisms.engagement.StepPass` builds them
    once): the scan time
    ``search_seconds * k``, the time an expert takes ``min(scan, decision_seconds *
    log2(P + 1))`` and the pointing time ``pointing_seconds * log2(k + 1)``, k = 1..P.
    """
    k1 = np.arange(1, n_pos + 1, dtype=np.float64)[None, :]
    scan = p.search_seconds * k1
    decide = np.minimum(scan, p.decision_seconds * np.log2(n_pos + 1))
    point = p.pointing_seconds * np.log2(k1 + 1.0)
    return scan, decide, point


@compiled.inlined  # copied into the step's pass (no second compilation)
def learn_rows(rows, count, remembered, layout, seen, one
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """In place, for each user in ``rows`` and each position seen: n + 1 if the element there is
    the remembered one, else n = 1 and the element remembered (``one``: 1 in the counts' dtype).
    """
    for j in range(rows.shape[0]):
        i = rows[j]
        for k in range(count.shape[1]):
            if not seen[i, k]:
                continue
            if remembered[i, k] == layout[i, k]:
                count[i, k] = count[i, k] + one
            else:
                count[i, k] = 1.0
                remembered[i, k] = layout[i, k]


def fade(p: MemoryParams, count: np.ndarray) -> np.ndarray:
    """A day's forgetting: n <- n (1 - memory_fade), a fresh array of the counts' dtype.

    The factor rounded to the counts' dtype first, as numpy rounds a Python float applied to a
    float32 array: the product is then already the counts' dtype (no second copy by ``astype``).
    ``memory_fade`` is a Python float (the scenario's parameters are): an ``np.float64`` would
    not have been rounded so.
    """
    return count * count.dtype.type(1.0 - p.memory_fade)
