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


def expertise(p: MemoryParams, count: np.ndarray, remembered: np.ndarray,
              layout: np.ndarray) -> np.ndarray:
    """Expertise (n x P): L n / (n + 1) where the remembered element is still there, else 0.

    Args:
        p: The mechanism's coefficients.
        count: n x P practice counts.
        remembered: n x P element the user last saw at each position (-1: none).
        layout: n x P element shown at each position now.
    """
    e = p.memory_max * count / (count + 1.0)
    return np.where(remembered == layout, e, 0.0)


def selection_minutes(p: MemoryParams, e: np.ndarray) -> np.ndarray:
    """Minutes (n x P) to find and select the element at each position, at expertise ``e``."""
    n_pos = e.shape[1]
    k1 = np.arange(1, n_pos + 1, dtype=np.float64)[None, :]
    scan = p.search_seconds * k1
    search = (1.0 - e) * scan + e * np.minimum(scan, p.decision_seconds * np.log2(n_pos + 1))
    return (search + p.pointing_seconds * np.log2(k1 + 1.0)) / 60.0


def learn(count: np.ndarray, remembered: np.ndarray, layout: np.ndarray,
          seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One session's learning at the positions the user saw.

    Args:
        count: n x P practice counts.
        remembered: n x P remembered elements.
        layout: n x P elements shown in the session.
        seen: n x P positions the user saw.

    Returns:
        New counts and remembered elements (unseen positions unchanged).
    """
    same = remembered == layout
    new_count = np.where(seen, np.where(same, count + 1.0, 1.0), count).astype(count.dtype)
    new_remembered = np.where(seen, layout, remembered).astype(remembered.dtype)
    return new_count, new_remembered


def fade(p: MemoryParams, count: np.ndarray) -> np.ndarray:
    """A day's forgetting: n <- n (1 - memory_fade)."""
    return (count * (1.0 - p.memory_fade)).astype(count.dtype)
