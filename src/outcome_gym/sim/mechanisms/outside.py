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


def outside_minutes(
    attention_left: np.ndarray, attention_budget: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Minutes of the day's attention left for outside progress (N).

    Args:
        attention_left: Attention not spent in the app today (0 for users who quit).
        attention_budget: The daily budget.
        active: Users still using the product; a user who quit has the whole budget outside.
    """
    return np.where(active, np.maximum(attention_left, 0.0), attention_budget).astype(np.float64)


def outside_credit(
    rate: np.ndarray, minutes: np.ndarray, need: np.ndarray, remaining: np.ndarray
) -> np.ndarray:
    """Progress made outside the app today, per goal (N x G), never beyond what is still needed.

    Args:
        rate: N progress per outside minute.
        minutes: N outside minutes (:func:`outside_minutes`).
        need: N x G urgency weights (0 for goals with nothing pending).
        remaining: N x G progress still needed after today's in-app progress.
    """
    remaining = np.maximum(remaining, 0.0)
    weight = np.where(remaining > 0, np.maximum(need, 0.0), 0.0)
    total_w = weight.sum(axis=1, keepdims=True)
    share = np.divide(weight, total_w, out=np.zeros_like(weight), where=total_w > 0)
    return np.minimum((rate * minutes)[:, None] * share, remaining)
