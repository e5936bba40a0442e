"""Availability: whether a user has time and context to act in this slot (docs/design.md, step 3).

    p[n] = weekday[seg(n), w] * slot[seg(n), s] * scale[n];   available = active and U < p

The weekday x slot profile is the scenario's (evening response peaks are in stach2024); the per-user
scale spreads users around their segment. One uniform per user per step is drawn whatever the
policy does, so availability is a common random number across policies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from outcome_gym.sim._jit import compiled


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
    """Who is available now (a fresh array).

    The arrays as the compiled pass takes them, passed as they are (no conversion: a model's,
    every step): C-ordered, ``table`` and ``u`` float64, ``active`` bool.

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
    out = np.empty(segment.shape[0], bool)
    available_rows(table, segment, scale, active, weekday, slot, u, out)
    return out


@compiled
def available_rows(table, segment, scale, active, weekday, slot, u, out
                   ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[n] = active[n] and u[n] < table[segment[n], weekday, slot] * scale[n]`` (the product
    in float64, as numpy's float64 table times the float32 scale).
    """
    for i in range(out.shape[0]):
        out[i] = active[i] and u[i] < table[segment[i], weekday, slot] * scale[i]


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`available_rows` now (see
    engagement.compile_kernel), for the population's int16 segments and float32 scale and the
    world's read-only table (numba compiles a read-only array apart from a writable one).
    """
    table = np.ones((1, 1, 1))
    table.setflags(write=False)
    available(table, np.zeros(1, np.int16), np.ones(1, np.float32), np.ones(1, bool), 0, 0,
              np.zeros(1))
