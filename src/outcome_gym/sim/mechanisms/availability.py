"""Availability: whether a user has time and context to act in this slot (docs/design.md, step 3).

    p[n] = weekday[seg(n), w] * slot[seg(n), s] * scale[n];   available = active and U < p

The weekday x slot profile is the scenario's (evening response peaks are in stach2024); the per-user
scale spreads users around their segment. One uniform per user per step is drawn whatever the
policy does, so availability is a common random number across policies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def availability_table(
    profiles: Sequence[tuple[Sequence[float], Sequence[float]]],
) -> np.ndarray:
    """K x 7 x S probabilities: segment x weekday x slot (before the per-user scale).

    Args:
        profiles: Per segment, its 7 weekday and S slot availabilities.
    """
    return np.stack([np.outer(np.asarray(wd), np.asarray(sl)) for wd, sl in profiles])


def available(
    table: np.ndarray,
    segment: np.ndarray,
    scale: np.ndarray,
    active: np.ndarray,
    weekday: int,
    slot: int,
    u: np.ndarray,
) -> np.ndarray:
    """Who is available now.

    Args:
        table: From :func:`availability_table` (``World.availability``).
        segment: N segment indices.
        scale: N per-user multipliers.
        active: N not-churned flags.
        weekday: 0 (Monday) to 6.
        slot: Slot of the day.
        u: N uniforms from the ``availability`` stream.

    Returns:
        N bools.
    """
    p = table[segment, weekday, slot] * scale
    return active & (u < p)
