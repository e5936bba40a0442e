"""Distance between layouts, weighted towards the consistent core.

    d(a, b) = sum_k w_k [a_k != b_k] / sum_k w_k,   w_k = core_weight where the default has a core
                                                     element at position k, else 1

Transfer between two interfaces follows their shared procedural elements (polson1986), so a moved
core element (navigation, key workflow) weighs more than a reordered content slot.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim._jit import compiled
from outcome_gym.sim._rows import pairwise_frames, pairwise_sum

PAIRS = 500
"""Users sampled per segment and step for the divergence estimators (two users a pair)."""


def layout_distance(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted share of differing positions between layouts ``a`` and ``b`` (n x S each; ``b``
    may be one layout, S or 1 x S, for every row), by the BLAS matvec.

    The passes that sum distances themselves when every weight is a whole number
    (:func:`exact_weights`: the same bits in any order) call :func:`row_distance`.
    """
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-1])
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
    for every i), summed as :func:`row_distance` does.

    Requires whole-number weights (:func:`exact_weights` true); a fractional weight is truncated
    (:func:`row_distance`), a wrong distance, so callers with other weights use
    :func:`layout_distance`.
    """
    one = b.shape[0] == 1
    for i in range(a.shape[0]):
        out[i] = row_distance(a, i, b, 0 if one else i, weight, weight_sum)


@compiled.inlined
def row_distance(a, i, b, r, weight, weight_sum
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``sum_k weight_k [a[i, k] != b[r, k]] / weight_sum``: row i of ``a`` against row r of
    ``b``, for whole-number weights only (:func:`exact_weights` true: every caller checks it
    first). A fractional weight would be truncated to an integer below (weight 2.5 counts 2):
    a wrong distance, not a rounding difference.

    The one implementation of the compiled distance: :func:`distance_rows`, :func:`sample_blocks`
    and the context events' pass call it, and numba copies it into them
    (``compiled.inlined``: as a call, one per row made ``distance_rows`` 2.3x slower at N = 1e5).
    Tests hold it to the matvec. The weight is loaded whether the positions differ or not, so the
    sum is a select, not a branch (the same additions): on pairs of fresh random users (the
    divergence sample's) a branch mispredicts about every other position. The sum is taken in
    int64: the weights are whole numbers whose every partial sum is below 2**53
    (:func:`exact_weights`), so it is the float sum exactly, and its conversion to float64 is
    exact; an integer add and select is a shorter chain than a float add (the native env's
    divergence sample at N = 200, 1,500 pairs of 3 blocks of 79, 47 and 30 distinct layouts of
    7 positions: ~23.7 -> ~20.6 us a call).
    """
    diff = 0
    for k in range(a.shape[1]):
        w = np.int64(weight[k])
        diff = diff + w if a[i, k] != b[r, k] else diff
    return diff / weight_sum


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


FEW = 8
"""Up to this many distinct layouts in a sample, :func:`distinct_rows` tells them apart by
comparing rows (no keys, no mergesort: an insertion sort of the few orders them), and a block
whose active users are all in its sample, with exact weights (:func:`exact_weights`), has its
pair distances looked up in a table of its layouts' distances (:func:`sample_blocks`): one
layout per segment, or a segment's few variants (the Variants env's five)."""


SEVERAL, NEEDS_DRAW = 1, 2
"""Flags of :func:`divergence_into`'s answer: a block has several distinct layouts; the
estimators read the uniforms (without them: not computed)."""


class DivergenceScratch:
    """The working arrays of :func:`divergence_into` for B blocks of P pairs (reusable: a
    caller that samples every step keeps one).

    Attributes:
        ua, ub: B x P users of each sampled pair (without exact weights only: for the matvec).
        dist: B x P distances of the sampled pairs (with exact weights only: for the pass's
            sums), written only for the blocks whose pairs the pass looks at; a block of one
            layout (n <= P) keeps an earlier step's (or ``np.empty``'s) values, read by nobody.
        freq, bounds: The distinct layouts' shares, block b's at ``bounds[b]:bounds[b + 1]``.
        n_users: B active users per block.
    """

    def __init__(self, n_blocks: int, pairs: int, exact: bool) -> None:
        self.ua, self.ub = (np.empty((n_blocks, pairs) if not exact else (0, 0), dtype=np.int64)
                            for _ in range(2))
        self.dist = np.empty((n_blocks, pairs) if exact else (0, 0))
        self.freq = np.empty(n_blocks * pairs)  # a block's distinct layouts are at most its sample
        self.bounds = np.empty(n_blocks + 1, dtype=np.int64)
        self.n_users = np.empty(n_blocks, dtype=np.int64)
        # the working stack of its sums (the pairs' distances, the entropies' terms; the
        # recorder's segment sums too): the sums run one after another, so one stack serves all
        self.frames = pairwise_frames()


def divergence_into(table: np.ndarray, cols: np.ndarray, layout: np.ndarray, active: np.ndarray,
                    starts: np.ndarray, stops: np.ndarray, weight: np.ndarray, u: np.ndarray,
                    exact: bool, scratch: DivergenceScratch) -> int:
    """How far apart the experiences of each block's users are (a segment's, from a random
    sample): block b's estimators into column ``cols[b]`` of the 4 x K ``table`` (other columns
    are left as they are); the arguments as a model passes them (C-contiguous; int64 blocks
    ``starts``/``stops``; ``u`` drawn: B x 3 x P uniforms of the ``metrics`` stream).

    Estimators (the block's active users; inactive users are skipped), the table's four rows:

    * the sum of the sampled pair distances and the number of pairs: ``layout_distance`` over P
      pairs of distinct users drawn uniformly with replacement, whose mean is unbiased for the
      mean over all pairs (hannak2013 measure the same quantity between two users'
      personalized results);
    * distinct experiences: the number of different layouts among up to P sampled users, and
      the Shannon entropy (bits) of their frequencies -- exact when the block has at most P
      active users, otherwise a lower bound on its count. A block of fewer than two active
      users: 0, 0, its count, 0.

    The sampling, the counting of distinct layouts and their frequencies are one compiled pass
    (:func:`sample_blocks`), which also computes the sampled pairs' distances and their sums
    (numpy's, :func:`~outcome_gym.sim._rows.pairwise_sum`) when the weights are whole numbers
    (``exact``, :func:`exact_weights`: the same bits as the matvec); otherwise
    :func:`layout_distance` on the sampled rows and numpy's sums. The logarithm stays numpy's
    ``log2``: one call over every block's frequencies (elementwise, the same bits as one call per
    block), summed per block by :func:`entropy_rows`, and only when a block has several distinct
    layouts (one layout's entropy is the pass's -0.0, as numpy gives it). The recorder runs
    :func:`sample_blocks` inside its own pass, before drawing ``u`` when it may need none, and
    finishes with :func:`finish_divergence`.

    Returns:
        The pass's flags: :data:`SEVERAL` (a block has several distinct layouts), plus
        :data:`NEEDS_DRAW` if the estimators read ``u``.
    """
    sc = scratch
    status = sample_blocks(layout, active, starts, stops, u, weight, exact, True, cols, sc.ua,
                           sc.ub, sc.dist, table, sc.freq, sc.bounds, sc.n_users, sc.frames)
    finish_divergence(status, table, cols, layout, weight, exact, scratch)
    return status


def finish_divergence(status: int, table: np.ndarray, cols: np.ndarray, layout: np.ndarray,
                      weight: np.ndarray, exact: bool, scratch: DivergenceScratch) -> None:
    """What :func:`sample_blocks` (answering ``status``) leaves to numpy: the sampled pairs'
    distances without exact weights (the matvec) and the entropies of blocks of several
    layouts (``log2``).
    """
    sc = scratch
    if not exact:
        ok = (sc.n_users >= 2).nonzero()[0]
        d = layout_distance(layout[sc.ua[ok].ravel()], layout[sc.ub[ok].ravel()], weight)
        table[0, cols[ok]] = d.reshape(ok.size, sc.ua.shape[1]).sum(axis=1)
    if status & SEVERAL:  # -sum p log2 p of the blocks of several layouts
        p = sc.freq[:sc.bounds[-1]]
        entropy_rows(p, np.log2(p), sc.bounds, cols, table, sc.frames)


@compiled
def entropy_rows(p, log_p, bounds, cols, table, frames
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``table[3, cols[b]] = -(log_p * p)[bounds[b]:bounds[b + 1]].sum()`` for each block b of
    several shares ``p`` (the others keep the pass's 0 or -0.0); ``log_p`` is overwritten: those
    blocks' entries become the products (numpy's ``log2(p) * p``, one IEEE product each), their
    sum numpy's (:func:`~outcome_gym.sim._rows.pairwise_sum` from 0.0, ``frames`` its working
    stack, for blocks of more than 128 distinct layouts).
    """
    for b in range(bounds.shape[0] - 1):
        if bounds[b + 1] - bounds[b] > 1:
            for j in range(bounds[b], bounds[b + 1]):
                log_p[j] *= p[j]
            table[3, cols[b]] = -(0.0 + pairwise_sum(log_p, bounds[b], bounds[b + 1], frames))


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`sample_blocks` and :func:`entropy_rows` now (see
    engagement.compile_kernel).
    """
    # as a model passes them: int16 layouts, the world's read-only weights, the recorder's
    # read-only segment blocks (recording.SegmentSums: ids, starts, stops)
    weight, cols, starts, stops = np.ones(1), np.zeros(1, np.int64), np.zeros(1, np.int64), \
        np.full(1, 2, np.int64)
    for a in (weight, cols, starts, stops):
        a.setflags(write=False)
    # two users of two layouts: an entropy to sum
    divergence_into(np.zeros((4, 1)), cols, np.array([[0], [1]], np.int16), np.ones(2, bool),
                    starts, stops, weight, np.full((1, 3, 2), 0.5), True,
                    DivergenceScratch(1, 2, True))
    # distance_rows and consistent_rows: compiled into the recorder's pass, which calls them


@compiled
def sample_blocks(layout, active, starts, stops, u, weight, exact, drawn, cols, ua, ub, dist,
                  table, freq, bounds, n_users, frames,
                  ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per block b: the sampled pairs of distinct active users and the distinct sampled layouts.

    With the block's n active users (in user order) and P = ``u.shape[2]``:

        a_i = users[floor(u[b, 0, i] n)],  b_i = users[j + (j >= floor(u[b, 0, i] n))],
                                           j = floor(u[b, 1, i] (n - 1))   (a uniform other user)
        sample = all users if n <= P, else users[{floor(u[b, 2, i] n)}]   (distinct indices)

    Writes ``ua[b, i]``, ``ub[b, i]`` (pair i's users; without ``exact`` only), ``n_users[b] =
    n``, and the table's rows 1 and 2 in column ``cols[b]`` (P pairs and the number of distinct
    sampled layouts; for n < 2: 0 and n, and rows 0 and 3 zero; row 3 is -0.0 for one distinct
    layout, and is left to the caller for several).
    ``freq[bounds[b]:bounds[b + 1]]`` are the distinct layouts' shares of the sample (count /
    sample size) in lexicographic order of the layouts (as ``numpy.unique`` orders them); empty
    for n < 2. With ``exact`` (whole-number weights, :func:`exact_weights`), ``dist[b, i]`` is
    pair i's :func:`layout_distance`: sum_k weight_k [a_k != b_k] / sum_k weight_k, exact sums,
    and row 0 their sum as numpy's ``dist[b].sum()`` (0.0 +
    :func:`~outcome_gym.sim._rows.pairwise_sum`, ``frames`` its working stack). When every user
    is in the sample (n <= P), two users of one group of equal layouts are 0.0 apart without
    the weighted sum, and a block of one group has no pair to look at: every distance is 0.0,
    and so is their sum (numpy's sum of P zeros), written without the P distances (the
    Segments env's case every step: ~36 KB of zeros written and summed a step, for nothing).
    A block of a few groups (at most :data:`FEW`, e.g. a segment's variants) has the distance
    between two groups computed once, at their first pair, and looked up for the others
    (``row_distance`` is symmetric term by term: the same bits either way round).
    ``dist[b]`` is written only for the pairs looked at with ``exact`` (nothing else reads it;
    without ``exact`` row 0 is the caller's, from the matvec's distances).

    ``drawn`` False: ``u`` is not drawn yet; the pass stops at the first block that would read
    it (n > P, or pairs to look at) and answers :data:`NEEDS_DRAW`.

    Returns:
        :data:`SEVERAL` if a block has several distinct layouts (an entropy for the caller's
        ``log2``), plus :data:`NEEDS_DRAW` if a block reads ``u``.
    """
    n_blocks, _, pairs = u.shape
    s = layout.shape[1]
    weight_sum = 0.0  # exact weights: the same total in any order (numpy's sum's)
    for k in range(s):
        weight_sum += weight[k]
    pos = 0
    bounds[0] = 0
    status = 0
    apart = np.empty((FEW, FEW))  # a few layouts' distances
    for b in range(n_blocks):
        column = cols[b]
        users = starts[b] + np.flatnonzero(active[starts[b]:stops[b]])
        n = users.shape[0]
        n_users[b] = n
        if n < 2:
            table[0, column] = 0.0
            table[1, column] = 0.0
            table[2, column] = n
            table[3, column] = 0.0
            bounds[b + 1] = pos
            continue
        if n <= pairs:
            sample = users
        else:
            status |= NEEDS_DRAW
            if not drawn:
                return status
            take = np.zeros(n, dtype=np.bool_)
            for i in range(pairs):
                take[int(u[b, 2, i] * n)] = True
            sample = users[np.flatnonzero(take)]
        group = np.empty(sample.shape[0], dtype=np.int64)  # sample position -> its layout
        m = distinct_rows(layout, sample, freq[pos:], group)
        # the pairs; when every user is in the sample, two users of one group (one layout) are
        # 0.0 apart without the loop (whose sum of no weights is 0.0 / weight_sum = 0.0), and
        # with one group for all, every pair is: no distance is written, and their sum is
        # numpy's sum of P zeros, 0.0 (below)
        grouped = n <= pairs
        look = not (exact and grouped and m == 1)
        if look:
            status |= NEEDS_DRAW
            if not drawn:
                return status
        # a few groups: a pair's distance is its two groups', computed for the first pair of
        # the two and then looked up (the same sum of the same weights in the same order: the
        # same bits, either way round); -1.0: not yet (for the table and for the same-group
        # shortcut of more groups): distances are >= 0 with exact weights (exact_weights: no
        # negative weight), so -1.0 cannot be a distance
        few = exact and grouped and m <= FEW
        for g in range(m if few else 0):
            for h in range(m):
                apart[g, h] = 0.0 if g == h else -1.0
        for i in range(pairs if look else 0):
            ia = int(u[b, 0, i] * n)
            ib = int(u[b, 1, i] * (n - 1))
            ib += ib >= ia
            if not exact:  # the glue's matvec computes the distances of these pairs
                ua[b, i] = users[ia]
                ub[b, i] = users[ib]
                continue
            d, ga, gb = -1.0, 0, 0  # (group is by sample position: users' only if grouped)
            if grouped:
                ga, gb = group[ia], group[ib]
                d = apart[ga, gb] if few else (0.0 if ga == gb else -1.0)
            if d < 0.0:
                d = row_distance(layout, users[ia], layout, users[ib], weight, weight_sum)
                if few:
                    apart[ga, gb] = apart[gb, ga] = d
            dist[b, i] = d
        # their sum (no pair looked at: P zeros; without exact: the caller's, from the matvec's
        # distances, and this 0.0 a placeholder)
        if look and exact:
            table[0, column] = 0.0 + pairwise_sum(dist[b], np.int64(0), pairs, frames)
        else:
            table[0, column] = 0.0
        table[1, column] = pairs
        table[2, column] = m
        if m <= 1:  # one layout: -(1 log2 1) = -0.0, as numpy gives it (none: -0.0 too)
            table[3, column] = -0.0
        else:
            status |= SEVERAL
        pos += m
        bounds[b + 1] = pos
    return status


@compiled
def distinct_rows(layout, sample, freq, group
                  ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The distinct layouts among rows ``sample`` of ``layout`` (at least one row): their number
    m; ``freq[:m]`` their shares of the sample (count / sample size, numpy's ``c / c.sum()``)
    in lexicographic order of the layouts (as ``numpy.unique`` orders them); ``group[i]``:
    sample row i's distinct layout.

    A few layouts (one per segment, a segment's variants) are told apart by comparing each row
    with one row of each layout seen so far (no keys, no mergesort), numbered in order of
    appearance, then ordered by an insertion sort of the few and counted. A sample of more is
    sorted: each row as one mixed-radix number (radix = largest element + 1) sorts as the rows
    do, so one sort suffices; when that number would not fit in 62 bits (or an entry is
    negative), stable sorts from the last position to the first give the same order.
    """
    n_s, s = sample.shape[0], layout.shape[1]
    # "the first position where two rows differ" is written out in each of the three places
    # below: as one inlined helper (tried) the pass was ~13% slower in the Segments and Variants
    # envs' steps (the few scan, once per sampled row) and compiled a little slower, not faster
    first = np.empty(FEW, dtype=np.int64)  # the first row of each of the few layouts seen
    m = 0
    for i in range(n_s):
        g = 0
        while g < m:
            k = 0
            while k < s and layout[sample[i], k] == layout[sample[first[g]], k]:
                k += 1
            if k == s:
                break
            g += 1
        if g == m:
            if m == FEW:
                m = -1
                break
            first[m] = i
            m += 1
        group[i] = g
    if m == 1:
        freq[0] = n_s
    elif m > 1:
        # the few in lexicographic order: rank[g] is layout g's place (an insertion sort)
        rank = np.empty(m, dtype=np.int64)
        order = np.empty(m, dtype=np.int64)
        for j in range(m):
            g = j
            while g > 0:
                r, q = sample[first[j]], sample[first[order[g - 1]]]
                k = 0
                while k < s and layout[r, k] == layout[q, k]:
                    k += 1
                if layout[r, k] >= layout[q, k]:  # (k < s: the few layouts differ)
                    break
                order[g] = order[g - 1]
                g -= 1
            order[g] = j
        for j in range(m):
            rank[order[j]] = j
            freq[j] = 0.0
        for i in range(n_s):
            group[i] = rank[group[i]]
            freq[group[i]] += 1.0
    else:
        hi, lo = 0, 0
        for i in range(n_s):
            for k in range(s):
                hi = max(hi, np.int64(layout[sample[i], k]))
                lo = min(lo, np.int64(layout[sample[i], k]))
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
                    key = key * radix + np.int64(layout[sample[i], k])
                keys[i] = key
            ascending = True  # the rows in order already: no sort needed
            for i in range(1, n_s):
                if keys[i] < keys[i - 1]:
                    ascending = False
                    break
            # equal keys are equal rows: their order among them is moot (the stable sort below
            # serves both: one sort compiled instead of two, ~1 s less to compile)
            order = np.arange(n_s) if ascending else np.argsort(keys, kind="mergesort")
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
                freq[m - 1] += 1.0
            else:
                freq[m] = 1.0
                m += 1
            group[order[i]] = m - 1
    for j in range(m):  # count / sample size: numpy's c / c.sum() (both exact in float64)
        freq[j] /= n_s
    return m
