"""Distance between layouts, weighted towards the consistent core.

    d(a, b) = sum_k w_k [a_k != b_k] / sum_k w_k,   w_k = core_weight where the default has a core
                                                     element at position k, else 1

Transfer between two interfaces follows their shared procedural elements (polson1986), so a moved
core element (navigation, key workflow) weighs more than a reordered content slot.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim._rows import rowall


def layout_distance(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted share of differing positions between layouts ``a`` and ``b`` (n x S each)."""
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-1])
    return ((a != b) @ weight) / weight.sum()  # a BLAS matvec; exact (0/1 x weights)


def core_consistent(layout: np.ndarray, default: np.ndarray, core_slot: np.ndarray) -> np.ndarray:
    """Per row: every core position shows its default element."""
    if not core_slot.any():
        return np.ones(layout.shape[0], dtype=bool)
    return rowall(layout[:, core_slot] == default[core_slot])
