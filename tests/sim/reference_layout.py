"""Layout coherence's readable definitions for tests (docs/model.md section 7): each runs the
compiled passes the recorder runs (``sim.layout``'s ``consistent_rows``, ``distance_rows``,
``divergence_into``) on one call's arrays, so the tests hold the recorder's fused pass to them.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim.layout import (
    PAIRS,
    DivergenceScratch,
    consistent_rows,
    distance_rows,
    divergence_into,
    exact_weights,
)


def core_consistent(layout: np.ndarray, default: np.ndarray, core_slot: np.ndarray) -> np.ndarray:
    """Per row: every core position shows its default element (rows without core positions are
    consistent).
    """
    out = np.empty(layout.shape[0], dtype=bool)
    consistent_rows(np.ascontiguousarray(layout), np.ascontiguousarray(default),
                    np.ascontiguousarray(core_slot, dtype=bool), out)
    return out


def exact_distance(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``layout_distance(a, b, weight)`` by the compiled row sums (``distance_rows``: the same bits
    as the matvec for whole-number weights), ``b`` one row or one row per row of ``a``.
    """
    assert exact_weights(weight), "the compiled row sums take whole-number weights only"
    out = np.empty(a.shape[0])
    distance_rows(np.ascontiguousarray(a), np.ascontiguousarray(b).reshape(-1, a.shape[1]),
                  weight, float(weight.sum()), out)
    return out


def divergence_table(layout: np.ndarray, active: np.ndarray, starts: np.ndarray,
                     stops: np.ndarray, weight: np.ndarray, u: np.ndarray,
                     exact: bool | None = None) -> np.ndarray:
    """The divergence estimators of several user blocks from their B x 3 x pairs uniforms: a
    4 x B float64 table whose rows are the sum of the sampled pair distances, the number of pairs,
    the distinct layouts and their entropy in bits (blocks of fewer than two active users: 0, 0,
    their count, 0). ``exact``: ``exact_weights(weight)`` (None: checked here).
    """
    n_blocks, _, pairs = u.shape
    weight = np.asarray(weight, dtype=np.float64)
    exact = exact_weights(weight) if exact is None else exact
    table = np.empty((4, n_blocks))
    divergence_into(table, np.arange(n_blocks), np.ascontiguousarray(layout),
                    np.ascontiguousarray(active, dtype=np.bool_),
                    np.ascontiguousarray(starts, dtype=np.int64),
                    np.ascontiguousarray(stops, dtype=np.int64), weight,
                    np.ascontiguousarray(u, dtype=np.float64), exact,
                    DivergenceScratch(n_blocks, pairs, exact))
    return table


def sampled_divergence(layout: np.ndarray, active: np.ndarray, start: int, stop: int,
                       weight: np.ndarray, rng: np.random.Generator,
                       pairs: int = PAIRS) -> tuple[float, int, int, float]:
    """How far apart the experiences of one segment's users are, from a random sample.

    Estimators (users ``start`` .. ``stop - 1``; inactive users are skipped):

    * pairwise distance: mean of ``layout_distance`` over ``pairs`` pairs of distinct users drawn
      uniformly with replacement -- unbiased for the mean over all pairs (hannak2013 measure the
      same quantity between two users' personalized results);
    * distinct experiences: number of different layouts among up to ``pairs`` sampled users, and
      the Shannon entropy (bits) of their frequencies -- exact when the segment has at most
      ``pairs`` active users, otherwise a lower bound on the segment's count.

    Returns:
        (sum of sampled pair distances, number of pairs, distinct layouts, entropy in bits).
    """
    table = divergence_table(layout, active, np.array([start]), np.array([stop]), weight,
                             rng.random((1, 3, pairs)))
    d, n_pairs, distinct, bits = table[:, 0].tolist()
    return d, int(n_pairs), int(distinct), bits
