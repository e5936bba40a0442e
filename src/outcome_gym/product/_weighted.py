"""The outcome objective's compiled pass (:func:`add_weighted`), in a module of its own.

A module that defines compiled functions joins every compiled function's cache stamp
(``sim._jit.package_stamp``): an edit to it recompiles every pass of the package (~20 s cold).
Kept out of ``objectives.py``, whose plain Python (the registry, ``engagement_index``, the
objectives themselves) is edited far more often than this loop.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim._jit import compiled


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`add_weighted` now, with the argument types the
    recorder's feedback gives it (read-only ``int32`` event counts, a float weight).
    """
    counts = np.zeros(1, np.int32)
    counts.setflags(write=False)
    add_weighted(np.zeros(1), counts, 1.0)


@compiled
def add_weighted(out, counts, weight
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out += np.multiply(weight, counts, dtype=np.float64)`` in place (the same bits: each
    count as float64 times the weight, added; no fused multiply-add with fastmath off), without
    numpy's two calls and the product's temporary (~1 us a weighted event at N = 20).

    Args:
        out: N float64, the running per-user reward, added to in place.
        counts: N integer event counts (the recorder's read-only ``int32``).
        weight: The event's weight.

    Raises:
        ValueError: ``counts`` has not ``out``'s length. Unlike numpy, which would broadcast a
            length-1 (or 0-d) count to every user, this refuses it: a feedback holds one count
            per user. A 0-d or 2-D ``counts`` fails numba's typing (``TypingError``) instead.
    """
    n = out.shape[0]
    if counts.shape[0] != n:
        raise ValueError("expected one event count per user")
    for i in range(n):
        out[i] += weight * np.float64(counts[i])
