"""A finiteness check as a compiled function (:func:`finite_rows`, compiled into the passes that
check their outputs), and numpy's pairwise sum (:func:`pairwise_sum`; the rows of a matrix:
:func:`row_totals`).
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim._jit import compiled


@compiled
def finite_rows(a):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Is every entry of the 1-D float array ``a`` finite?

    ``x - x`` is 0 for a finite x and NaN for an inf or NaN; without an early exit the loop is
    vectorised (~5x faster than numpy's sum of 1e6 entries).
    """
    ok = True
    for k in range(a.shape[0]):
        x = a[k]
        ok &= (x - x) == 0.0
    return ok


PAIRWISE_BLOCK = 128
"""numpy's ``PW_BLOCKSIZE``: the longest stretch its pairwise sum adds without splitting."""


PAIRWISE_DEPTH = 64
"""Frames of :func:`pairwise_sum`'s stack: its depth is at most log2(n / 128) + 1."""


def pairwise_frames() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The working stack of :func:`pairwise_sum` for stretches longer than 128, for a caller that
    keeps one: each frame's first and last entry, whether its first half's sum is in, and that
    sum (plain numpy: a compiled entry point of its own cost ~0.3 s to compile).
    """
    return (np.empty(PAIRWISE_DEPTH, np.int64), np.empty(PAIRWISE_DEPTH, np.int64),
            np.empty(PAIRWISE_DEPTH, np.bool_), np.empty(PAIRWISE_DEPTH))


@compiled
def pairwise_sum(a, start, stop, frames=None
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The sum of the float64 entries ``a[start:stop]`` as numpy's add reduction adds them.

    numpy's ``pairwise_sum`` (numpy 1.9 to 2.x), for passes that must give numpy's bits:

        n <= 128:  :func:`pairwise_block`
        n > 128:   the sum of the first m = n // 2 - (n // 2) mod 8 plus the sum of the others

    So ``x.sum()`` is ``0.0 + pairwise_sum(x, 0, n)`` (the reduction starts from the identity)
    and ``np.add.reduceat(x, [s])[0]`` is ``x[s] + pairwise_sum(x, s + 1, n)`` (it starts from
    the first entry); tests/sim/test_rows.py checks both bit for bit.

    numpy recurses; here the recursion is a loop over a stack of halves (numba cannot cache a
    recursive function that other compiled functions call): ``frames``
    (:func:`pairwise_frames`), a caller's that sums many long stretches (allocated for a long
    stretch only when not given).
    """
    if stop - start <= PAIRWISE_BLOCK:
        return pairwise_block(a, start, stop)
    if frames is None:  # pairwise_frames' arrays (a plain function: not callable from here)
        lo, hi = np.empty(PAIRWISE_DEPTH, np.int64), np.empty(PAIRWISE_DEPTH, np.int64)
        second, first = np.empty(PAIRWISE_DEPTH, np.bool_), np.empty(PAIRWISE_DEPTH)
    else:
        lo, hi, second, first = frames
    # frames of the recursion: a stretch [lo, hi), whether its first half's sum is in, and that sum
    lo[0], hi[0], second[0] = start, stop, False
    top = 0
    total, done = 0.0, False  # done: ``total`` is the sum of the frame just left
    while top >= 0:
        if done:  # back in frame ``top`` with the sum of one of its halves
            if second[top]:
                total = first[top] + total
                top -= 1
                continue
            first[top], second[top], done = total, True, False
            n = hi[top] - lo[top]
            top += 1  # into its second half
            lo[top], hi[top], second[top] = lo[top - 1] + n // 2 - (n // 2) % 8, hi[top - 1], False
            continue
        n = hi[top] - lo[top]
        if n <= PAIRWISE_BLOCK:
            total, done = pairwise_block(a, lo[top], hi[top]), True
            top -= 1
            continue
        top += 1  # into its first half
        lo[top], hi[top], second[top] = lo[top - 1], lo[top - 1] + n // 2 - (n // 2) % 8, False
    return total


@compiled
def pairwise_block(a, start, stop
                   ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The pairwise sum of ``a[start:stop]`` for n = stop - start <= 128 (numpy's, unsplit).

    For n < 8, ((-0.0 + a_0) + a_1) + ... left to right. Otherwise eight accumulators
    r_j = a_j + a_(j+8) + a_(j+16) + ... (j < 8) over the first n - n mod 8 entries, combined as
    ((r_0 + r_1) + (r_2 + r_3)) + ((r_4 + r_5) + (r_6 + r_7)), then the rest added left to right.
    """
    b = a[start:stop]
    n = b.shape[0]
    if n < 8:
        res = -0.0  # -0.0 + x is x for every x, -0.0 included (0.0 would turn -0.0 into 0.0)
        for i in range(n):
            res += b[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
    whole = n - n % 8
    # indices from a range over a view (not a running offset): the loop unrolls, ~1.45x faster
    for k in range(1, whole // 8):
        i = 8 * k
        r0 += b[i]
        r1 += b[i + 1]
        r2 += b[i + 2]
        r3 += b[i + 3]
        r4 += b[i + 4]
        r5 += b[i + 5]
        r6 += b[i + 6]
        r7 += b[i + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(whole, n):
        res += b[j]
    return res


@compiled
def row_totals(matrices, out
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out = np.concatenate([np.add.reduce(m, axis=1) for m in matrices])`` for a tuple of
    C-contiguous R x K float64 matrices of K <= 128 columns (one call for all: a compiled call
    costs per call), answering True; False (nothing written) if a matrix is wider.

    numpy reduces each row from the identity: ``0.0 +`` its pairwise sum, which for K <= 128 is
    :func:`pairwise_block` (tests/sim/test_rows.py checks the bits). For an env step's segment
    metrics (~60 rows of a few segments), whose sums numpy's reduction took ~2.5 us a matrix to
    set up. (Wider rows would need :func:`pairwise_sum`, which made this function's cold
    compile ~1.1 s instead of ~0.3, for segment counts no scenario has: numpy sums those.)
    """
    for m in matrices:
        if m.shape[1] > PAIRWISE_BLOCK:
            return False
    at = 0
    for m in matrices:
        for r in range(m.shape[0]):
            out[at] = 0.0 + pairwise_block(m[r], 0, m.shape[1])
            at += 1
    return True
