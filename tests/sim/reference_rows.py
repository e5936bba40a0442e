"""The per-user sum of an N x k array as the model's passes add it, for tests: the k columns left
to right from a first column in numpy's ``sum`` dtype. For k < 8 this is numpy's ``a.sum(axis=1)``
bit for bit (its pairwise sum adds fewer than 8 entries left to right).
"""

from __future__ import annotations

import numpy as np


def rowsum(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` (numpy's dtype: float64 for float64, int64 for bool and ints), column by
    column.
    """
    dtype = np.add.reduce(np.zeros((0, 1), a.dtype), axis=1).dtype
    if a.shape[1] == 0:
        return np.zeros(a.shape[0], dtype=dtype)
    out = a[:, 0].astype(dtype)
    for j in range(1, a.shape[1]):
        out += a[:, j]
    return out
