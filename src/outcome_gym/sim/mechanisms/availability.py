"""Availability: whether a user has time and context to act in this slot (DESIGN step 3).

    p[n] = weekday[seg(n), w] * slot[seg(n), s] * scale[n];   available = active and U < p

The weekday x slot profile is the scenario's (evening response peaks are in stach2024); the per-user
scale spreads users around their segment. One uniform per user per step is drawn whatever the
policy does, so availability is a common random number across policies.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.scenario.schema import Scenario


def availability_table(scenario: Scenario) -> np.ndarray:
    """K x 7 x S probabilities: segment x weekday x slot (before the per-user scale)."""
    return np.stack(
        [
            np.outer(np.asarray(s.availability.weekday), np.asarray(s.availability.slot))
            for s in scenario.population.segments
        ]
    )


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
        table: From :func:`availability_table`.
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
