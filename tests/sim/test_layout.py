"""The compiled layout distance's integer sum (``sim.layout.row_distance``) against the BLAS
matvec it stands for, at the edges of :func:`~outcome_gym.sim.layout.exact_weights`."""

from __future__ import annotations

import numpy as np

from outcome_gym.sim.layout import exact_weights, layout_distance
from tests.sim.reference_layout import divergence_table, exact_distance


def test_the_integer_sum_gives_the_matvecs_bits_for_zero_and_huge_whole_weights():
    # row_distance sums the weights of the differing positions in int64 and divides once: the
    # matvec's float64 sums are exact for such weights, so the same bits; weights of 0 (a
    # position that never counts) and near 2**52 (partial sums near the float64 limit of exact
    # whole numbers) included, in the pairwise pass's divergence sums too
    rng = np.random.default_rng(23)
    for trial in range(60):
        s = int(rng.integers(1, 13))
        top = 1000.0 if trial % 3 == 0 else 2.0 ** int(rng.integers(1, 50))
        w = np.floor(rng.random(s) * top)  # 12 weights below 2**49: sums below 2**53
        w[rng.random(s) < 0.2] = 0.0
        if trial % 3 == 0:  # one weight near 2**52, the others below 1000: still below 2**53
            w[int(rng.integers(0, s))] = 2.0**52 - float(rng.integers(0, 1000))
        if not exact_weights(w):
            continue  # all zero: no distance to compare
        a = rng.integers(0, 4, (80, s)).astype(np.int16)
        b = rng.integers(0, 4, (80, s)).astype(np.int16)
        assert exact_distance(a, b, w).tobytes() == layout_distance(a, b, w).tobytes(), trial
        starts, stops = np.array([0, 30]), np.array([30, 80])
        u = rng.random((2, 3, 500))
        fast = divergence_table(a, np.ones(80, bool), starts, stops, w, u, exact=True)
        slow = divergence_table(a, np.ones(80, bool), starts, stops, w, u, exact=False)
        assert fast.tobytes() == slow.tobytes(), trial


def test_the_integer_sum_by_hand():
    # weights (4, 0, 3, 2**52): rows differing at positions 0, 1 and 3 -> (4 + 0 + 2**52) / total
    w = np.array([4.0, 0.0, 3.0, 2.0**52])
    a = np.array([[1, 1, 1, 1], [1, 1, 1, 1]], np.int16)
    b = np.array([[2, 2, 1, 2], [1, 1, 1, 1]], np.int16)
    total = 4.0 + 3.0 + 2.0**52
    assert exact_distance(a, b, w).tolist() == [(4.0 + 2.0**52) / total, 0.0]
