"""Goal progress outside the product, and the app minutes that displace it (issue #14, item 1).

Users also work on their goals without the product: a task gets done at the desk, spending is cut
at the till, a lesson is practised from a book. The time for it comes from the same daily attention
budget the product draws on, so every minute spent in the app (engagements, notification
interruptions, failed hand-overs) is a minute not spent on outside progress:

    outside_minutes = attention_left at the day's last slot      (active users)
                    = attention_budget                           (users who quit: no app minutes)
    outside_total   = outside_rate * outside_minutes             (progress units)
    credit_g        = min(outside_total * share_g, remaining_g)
    share_g         = need_g [remaining_g > 0] / sum_h need_h [remaining_h > 0]

``outside_rate`` is a per-user trait (progress per outside minute, a Segment ``Param``; its default
is a guess, docs/calibration.md). The day's outside time is credited once, at the day's last slot,
after that slot's in-app progress and context events (so ``remaining`` is what is still needed
then), split over the goals still pending in proportion to their urgency; progress beyond what a
goal still needs is lost, as in the app. A day cut short by ``clock.horizon_steps`` gets no outside
credit.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim._jit import compiled
from outcome_gym.sim._rows import pairwise_sum


def outside_minutes(
    attention_left: np.ndarray, attention_budget: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Minutes of the day's attention left for outside progress (N float64; one compiled pass,
    :func:`minutes_rows`).

    Args:
        attention_left: Attention not spent in the app today (0 for users who quit).
        attention_budget: The daily budget.
        active: Users still using the product; a user who quit has the whole budget outside.
    """
    out = np.empty(np.shape(active)[0])
    minutes_rows(np.ascontiguousarray(attention_left), np.ascontiguousarray(attention_budget),
                 np.ascontiguousarray(active, bool), out)
    return out


def outside_credit(
    rate: np.ndarray, minutes: np.ndarray, need: np.ndarray, remaining: np.ndarray
) -> np.ndarray:
    """Progress made outside the app today, per goal (N x G), never beyond what is still needed
    (one compiled pass, :func:`credit_rows`).

    Args:
        rate: N progress per outside minute.
        minutes: N outside minutes (:func:`outside_minutes`).
        need: N x G urgency weights (0 for goals with nothing pending).
        remaining: N x G progress still needed after today's in-app progress.
    """
    remaining = np.ascontiguousarray(remaining, dtype=np.float64)
    out = np.empty(remaining.shape)
    # x - 0.0 is x for every float64 x (-0.0 and NaN included): no in-app progress to subtract
    credit_rows(np.ascontiguousarray(rate), np.ascontiguousarray(minutes, dtype=np.float64),
                np.ascontiguousarray(need, dtype=np.float64), remaining,
                np.zeros(remaining.shape), out)
    return out


def day_credit(attention_left: np.ndarray, attention_budget: np.ndarray, active: np.ndarray,
               rate: np.ndarray, need: np.ndarray, remaining: np.ndarray, progress: np.ndarray,
               out: np.ndarray) -> np.ndarray:
    """The day's outside progress (N x G, into ``out``) toward ``remaining - progress`` (what is
    still needed after the slot's in-app ``progress``): :func:`outside_minutes` and
    :func:`outside_credit` in one compiled pass (:func:`day_rows`), for a model's arrays
    (C-contiguous float64 ``need``, ``remaining``, ``progress`` and ``out``).
    """
    day_rows(attention_left, attention_budget, active, rate, need, remaining, progress, out)
    return out


@compiled.inlined
def minutes_of(attention_left, attention_budget, active
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """One user's outside minutes, float64: ``max(attention_left, 0)`` if active, else the
    budget (``max`` as numpy's ``maximum``: a NaN stays, -0.0 gives 0.0).
    """
    if not active:
        return np.float64(attention_budget)
    a = np.float64(attention_left)
    return a if (a > 0.0 or a != a) else 0.0


@compiled.inlined
def credit_of(rate_minutes, need, remaining, progress, weight, out, i
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Row ``i`` of ``out``: the module docstring's credit_g from ``rate_minutes`` (float64
    outside_total) and still needed ``r_g = max(remaining_g - progress_g, 0)``.

    As numpy computed it on whole arrays: weight_g = ``max(need_g, 0)`` where r_g > 0, else 0;
    their total as numpy's row sum (``0.0 + _rows.pairwise_sum``); share_g = weight_g / total
    (0 where the total is not > 0); credit_g = ``min(rate_minutes * share_g, r_g)``. ``max``
    and ``min`` as numpy's ``maximum(a, b)`` and ``minimum(a, b)``: a NaN wins, and of two equal
    values (0.0 and -0.0) ``b``.
    """
    n_goals = weight.shape[0]
    for g in range(n_goals):
        r = remaining[i, g] - progress[i, g]
        w = 0.0
        if r > 0:
            x = need[i, g]
            w = x if (x > 0.0 or x != x) else 0.0
        weight[g] = w
    # np.int64(0), not the literal 0: the signature the recorder's pass compiles (one copy)
    total = 0.0 + pairwise_sum(weight, np.int64(0), n_goals)
    for g in range(n_goals):
        r = remaining[i, g] - progress[i, g]
        r = r if (r > 0.0 or r != r) else 0.0
        share = weight[g] / total if total > 0 else 0.0
        c = rate_minutes * share
        out[i, g] = c if (c < r or c != c) else r


@compiled
def minutes_rows(attention_left, attention_budget, active, out
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """:func:`minutes_of` per user into ``out``."""
    for i in range(out.shape[0]):
        out[i] = minutes_of(attention_left[i], attention_budget[i], active[i])


@compiled
def credit_rows(rate, minutes, need, remaining, progress, out
                ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """:func:`credit_of` per user, outside_total = ``rate * minutes`` (float64)."""
    weight = np.empty(out.shape[1])
    for i in range(out.shape[0]):
        credit_of(np.float64(rate[i]) * minutes[i], need, remaining, progress, weight, out, i)


@compiled
def day_rows(attention_left, attention_budget, active, rate, need, remaining, progress, out
             ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """:func:`minutes_of`, then :func:`credit_of`, per user."""
    weight = np.empty(out.shape[1])
    for i in range(out.shape[0]):
        minutes = minutes_of(attention_left[i], attention_budget[i], active[i])
        credit_of(np.float64(rate[i]) * minutes, need, remaining, progress, weight, out, i)


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`day_rows` now, for a model's float32 attention,
    budget and rate.
    """
    f32, z = np.float32, np.zeros((1, 1))
    day_credit(np.ones(1, f32), np.ones(1, f32), np.ones(1, bool), np.ones(1, f32), z, z.copy(),
               z.copy(), z.copy())
