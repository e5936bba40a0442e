"""Distance between layouts, weighted towards the consistent core.

    d(a, b) = sum_k w_k [a_k != b_k] / sum_k w_k,   w_k = core_weight where the default has a core
                                                     element at position k, else 1

Transfer between two interfaces follows their shared procedural elements (polson1986), so a moved
core element (navigation, key workflow) weighs more than a reordered content slot.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim._jit import compiled

PAIRS = 500
"""Users sampled per segment and step for the divergence estimators (two users a pair)."""


def layout_distance(a: np.ndarray, b: np.ndarray, weight: np.ndarray,
                    exact: bool = False) -> np.ndarray:
    """Weighted share of differing positions between layouts ``a`` and ``b`` (n x S each; ``b``
    may be one layout, S or 1 x S, for every row).

    ``exact``: the caller's :func:`exact_weights` of ``weight`` (static for a run). With it, the
    sums are a compiled loop (:func:`distance_rows`), the same bits as the matvec and no
    float copy of the differences; without it, the BLAS matvec.
    """
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-1])
    # the compiled loop only for shapes it reads within bounds; anything else goes to the matvec,
    # which raises on a mismatch
    fits = (a.ndim == 2 and b.shape[-1] == a.shape[1] == weight.shape[0]
            and (b.ndim == 1 or (b.ndim == 2 and b.shape[0] in (1, a.shape[0]))))
    if exact and fits:
        out = np.empty(a.shape[0])
        distance_rows(np.ascontiguousarray(a), np.ascontiguousarray(b).reshape(-1, a.shape[1]),
                      weight, float(weight.sum()), out)
        return out
    return ((a != b) @ weight) / weight.sum()  # a BLAS matvec


def exact_weights(weight: np.ndarray) -> bool:
    """Is every sum of a subset of ``weight`` exact in float64, whatever the order of addition?

    True for whole-number weights whose total stays below 2**53 (the default core weight 4 and
    the weight 1 of other positions): any loop then gives the BLAS matvec's sums bit for bit, so
    a compiled pass may compute :func:`layout_distance` itself. A fractional core weight (e.g.
    2.3) rounds differently in another order, and keeps the matvec.
    """
    w = np.asarray(weight, dtype=np.float64)
    return bool(w.size and np.all(w == np.floor(w)) and np.all(w >= 0) and 0 < w.sum() < 2.0**53)


@compiled
def distance_rows(a, b, weight, weight_sum, out
                  ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[i] = sum_k weight_k [a[i, k] != b[i, k]] / weight_sum`` (``b`` of one row: that row
    for every i), the sum left to right: exact for whole-number weights (:func:`exact_weights`).
    """
    n, s = a.shape
    one = b.shape[0] == 1
    for i in range(n):
        r = 0 if one else i
        diff = 0.0
        for k in range(s):
            if a[i, k] != b[r, k]:
                diff += weight[k]
        out[i] = diff / weight_sum


@compiled
def consistent_rows(layout, default, core_slot, out
                    ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out[i]``: every core position k (``core_slot[k]``) of row i shows ``default[k]``."""
    n, s = layout.shape
    for i in range(n):
        ok = True
        for k in range(s):
            if core_slot[k] and layout[i, k] != default[k]:
                ok = False
                break
        out[i] = ok


def core_consistent(layout: np.ndarray, default: np.ndarray, core_slot: np.ndarray) -> np.ndarray:
    """Per row: every core position shows its default element (one compiled pass over the rows;
    rows without core positions are consistent).
    """
    out = np.empty(layout.shape[0], dtype=bool)
    consistent_rows(np.ascontiguousarray(layout), np.ascontiguousarray(default),
                    np.ascontiguousarray(core_slot, dtype=bool), out)
    return out


def sampled_divergence(layout: np.ndarray, active: np.ndarray, start: int, stop: int,
                       weight: np.ndarray, rng: np.random.Generator,
                       pairs: int = PAIRS) -> tuple[float, int, int, float]:
    """How far apart the experiences of one segment's users are, from a random sample.

    Estimators (users ``start`` .. ``stop - 1``; inactive users are skipped):

    * pairwise distance: mean of ``layout_distance`` over ``pairs`` pairs of distinct users drawn
      uniformly with replacement — unbiased for the mean over all pairs (hannak2013 measure the same
      quantity between two users' personalized results);
    * distinct experiences: number of different layouts among up to ``pairs`` sampled users, and
      the Shannon entropy (bits) of their frequencies — exact when the segment has at most
      ``pairs`` active users, otherwise a lower bound on the segment's count.

    Args:
        layout: N x S layouts.
        active: N active flags.
        start, stop: The segment's user block.
        weight: S position weights.
        rng: The ``metrics`` stream (drawn the same amount every step whatever the policy does).
        pairs: Sample size.

    Returns:
        (sum of sampled pair distances, number of pairs, distinct layouts, entropy in bits).
    """
    out = blocks_divergence(layout, active, np.array([start]), np.array([stop]), weight,
                            rng.random((1, 3, pairs)))
    return out[0]


def blocks_divergence(layout: np.ndarray, active: np.ndarray, starts: np.ndarray,
                      stops: np.ndarray, weight: np.ndarray, u: np.ndarray,
                      exact: bool | None = None) -> list[tuple[float, int, int, float]]:
    """:func:`sampled_divergence` of several user blocks at once, from their B x 3 x pairs uniforms.

    The sampling and the counting of distinct layouts are one compiled pass
    (:func:`sample_blocks`), which also computes the sampled pairs' distances when the weights
    are whole numbers (:func:`exact_weights`: the same bits as the matvec); otherwise, and for
    the entropies, numpy on the sampled rows. ``exact``: :func:`exact_weights` of ``weight``
    when the caller knows it (None: checked here).
    """
    n_blocks, _, pairs = u.shape
    ua = np.zeros((n_blocks, pairs), dtype=np.int64)
    ub = np.zeros((n_blocks, pairs), dtype=np.int64)
    counts = np.zeros((n_blocks, pairs), dtype=np.int64)
    n_users = np.zeros(n_blocks, dtype=np.int64)
    distinct = np.zeros(n_blocks, dtype=np.int64)
    dist = np.zeros((n_blocks, pairs))
    weight = np.array(weight, dtype=np.float64)  # writable: one compiled signature
    exact = exact_weights(weight) if exact is None else exact
    sample_blocks(np.ascontiguousarray(layout, dtype=np.int64), np.ascontiguousarray(active),
                  np.ascontiguousarray(starts, dtype=np.int64),
                  np.ascontiguousarray(stops, dtype=np.int64),
                  np.ascontiguousarray(u, dtype=np.float64), ua, ub, counts, n_users, distinct,
                  weight, float(weight.sum()) if exact else 1.0, exact, dist)
    ok = (n_users >= 2).nonzero()[0]
    if exact:  # the pass's distances: the same ok.size x pairs matrix numpy sums below
        d = dist if ok.size == n_blocks else dist[ok]
    else:
        d = layout_distance(layout[ua[ok].ravel()], layout[ub[ok].ravel()], weight)
    d_sum = d.reshape(ok.size, pairs).sum(axis=1)  # each row: numpy's sum of that block's pairs
    out = [(0.0, 0, int(n), 0.0) for n in n_users]
    for row, b in enumerate(ok):
        c = counts[b, :distinct[b]]
        p = c / c.sum()
        out[b] = (float(d_sum[row]), int(pairs), int(c.size), float(-(p * np.log2(p)).sum()))
    return out


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`sample_blocks` now (see engagement.compile_kernel)."""
    blocks_divergence(np.zeros((2, 1), np.int16), np.ones(2, bool), np.zeros(1, np.int64),
                      np.full(1, 2, np.int64), np.ones(1), np.full((1, 3, 2), 0.5))
    # as a model passes them: int16 layouts, the world's read-only default and weights
    frozen16, weight, core = np.zeros((1, 1), np.int16), np.ones(1), np.ones(1, bool)
    for a in (frozen16, weight, core):
        a.setflags(write=False)
    for b in (np.zeros((1, 1), np.int16), frozen16):
        layout_distance(np.zeros((1, 1), np.int16), b, weight, exact=True)
    core_consistent(np.zeros((1, 1), np.int16), frozen16[0], core)


@compiled
def sample_blocks(layout, active, starts, stops, u, ua, ub, counts, n_users, distinct,
                  weight, weight_sum, exact, dist,
                  ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per block b: the sampled pairs of distinct active users and the distinct sampled layouts.

    With the block's n active users (in user order) and P = ``u.shape[2]``:

        a_i = users[floor(u[b, 0, i] n)],  b_i = users[j + (j >= floor(u[b, 0, i] n))],
                                           j = floor(u[b, 1, i] (n - 1))   (a uniform other user)
        sample = all users if n <= P, else users[{floor(u[b, 2, i] n)}]   (distinct indices)

    ``counts[b, :distinct[b]]`` are the sample's layout frequencies in lexicographic order of the
    layouts (as ``numpy.unique`` orders them); blocks with n < 2 are left at zero (n_users says n).
    With ``exact`` (whole-number weights, :func:`exact_weights`), ``dist[b, i]`` is pair i's
    :func:`layout_distance`: sum_k weight_k [a_k != b_k] / ``weight_sum``, exact sums.
    """
    n_blocks, _, pairs = u.shape
    s = layout.shape[1]
    for b in range(n_blocks):
        users = starts[b] + np.flatnonzero(active[starts[b]:stops[b]])
        n = users.shape[0]
        n_users[b] = n
        if n < 2:
            continue
        for i in range(pairs):
            ia = int(u[b, 0, i] * n)
            ib = int(u[b, 1, i] * (n - 1))
            if ib >= ia:
                ib += 1
            ua[b, i] = users[ia]
            ub[b, i] = users[ib]
            if exact:
                diff = 0.0
                for k in range(s):
                    if layout[users[ia], k] != layout[users[ib], k]:
                        diff += weight[k]
                dist[b, i] = diff / weight_sum
        if n <= pairs:
            sample = users
        else:
            take = np.zeros(n, dtype=np.bool_)
            for i in range(pairs):
                take[int(u[b, 2, i] * n)] = True
            sample = users[np.flatnonzero(take)]
        # the sample's distinct rows counted in lexicographic order: each row as one mixed-radix
        # number (radix = largest element + 1) sorts as the rows do, so one sort suffices; when
        # that number would not fit in 62 bits (or an entry is negative), stable sorts from the
        # last position to the first give the same order
        n_s = sample.shape[0]
        hi, lo = 0, 0
        for i in range(n_s):
            for k in range(s):
                hi = max(hi, layout[sample[i], k])
                lo = min(lo, layout[sample[i], k])
        radix = hi + 1
        fits = lo >= 0
        cap = 1
        for _ in range(s):
            if not fits or cap > (1 << 62) // radix:
                fits = False
                break
            cap *= radix
        keys = np.zeros(n_s, dtype=np.int64)
        if fits:
            for i in range(n_s):
                key = 0
                for k in range(s):
                    key = key * radix + layout[sample[i], k]
                keys[i] = key
            order = np.argsort(keys)  # equal keys are equal rows: their order among them is moot
        else:
            order = np.arange(n_s)
            for k in range(s - 1, -1, -1):
                col = np.empty(n_s, dtype=np.int64)
                for i in range(n_s):
                    col[i] = layout[sample[order[i]], k]
                order = order[np.argsort(col, kind="mergesort")]
        m = 0
        for i in range(n_s):
            same = i > 0
            if same and fits:
                same = keys[order[i]] == keys[order[i - 1]]
            elif same:
                for k in range(s):
                    if layout[sample[order[i]], k] != layout[sample[order[i - 1]], k]:
                        same = False
                        break
            if same:
                counts[b, m - 1] += 1
            else:
                counts[b, m] = 1
                m += 1
        distinct[b] = m
