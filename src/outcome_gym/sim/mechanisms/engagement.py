"""In-session scanning, choice, attention and focus (DESIGN step 6).

A session is a short sequence of rounds (at most ``max_engagements``), vectorized over all users in
session. At the start the user draws how deep they scan: depth = 1 + Geometric(1 - cascade_continue)
positions, capped at S (cascade model; recsim, craswell2008). Each round, among the scanned
positions k < depth, the user engages with the element at k with multinomial-logit probability

    w_k = exp(u_k) * (k + 1)^alpha,           P(k) = w_k / (no_click + sum_j w_j)
    u_k = susceptibility * appeal_e                   (impulsive self, kleinberg2024)
          + goal_utility * goal_weight * relevance_e  (reflective self: value x current need)
          + habit_utility * habit_e - fatigue_utility * fatigue

with alpha = position_exponent (trecs: -0.8) and no_click mass 1.0 (recsim). Choosing no-click
ends the session (abandonment). An engagement spends ``attention_cost`` minutes of the day's
attention and makes goal progress min(value * focus, still needed) on every goal the user still
needs; an element that serves none of the user's pending goals is a distraction and leaves residue,
focus <- focus * (1 - residue), for the rest of the session and, fading by ``residue_carry`` per
slot, into the next ones (mark2005, altmann2007). The session also ends when attention
runs out, or, once every pending need is met, with probability ``need_met_exit`` (outcome-serving
sessions are short).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.scenario.schema import UserModel
from outcome_gym.sim._rows import rowany, rowsum


@dataclass(frozen=True)
class SessionInputs:
    """Per-session-user inputs (n rows = users in session)."""

    layout: np.ndarray  # n x S element indices
    susceptibility: np.ndarray
    goal_weight: np.ndarray
    habit: np.ndarray  # n x E
    fatigue: np.ndarray
    need: np.ndarray  # n x G urgency weights
    remaining: np.ndarray  # n x G progress still needed now
    attention_left: np.ndarray
    residue: np.ndarray


@dataclass(frozen=True)
class SessionOutcome:
    """What the sessions produced (n rows)."""

    clicks: np.ndarray
    minutes: np.ndarray
    goal_minutes: np.ndarray
    distraction_minutes: np.ndarray
    progress: np.ndarray  # n x G credited progress
    engaged: np.ndarray  # n x E engagement counts
    attention_left: np.ndarray
    residue: np.ndarray
    position_clicks: np.ndarray  # S, summed over users
    position_views: np.ndarray  # S, users who scanned each position


def position_discount(n_slots: int, alpha: float) -> np.ndarray:
    """(k + 1)^alpha for k = 0..S-1."""
    return np.power(np.arange(1, n_slots + 1, dtype=np.float64), alpha)


def scan_depth(u: np.ndarray, cont: float, n_slots: int) -> np.ndarray:
    """Cascade depth 1 + Geometric(1 - cont) by inversion, capped at S."""
    if cont <= 0.0:
        return np.ones(u.shape[0], dtype=np.int64)
    if cont >= 1.0:
        return np.full(u.shape[0], n_slots, dtype=np.int64)
    extra = np.floor(np.log1p(-u) / np.log(cont)).astype(np.int64)
    return np.minimum(1 + extra, n_slots)


def run_sessions(
    um: UserModel,
    inp: SessionInputs,
    appeal: np.ndarray,
    cost: np.ndarray,
    value: np.ndarray,
    u: np.ndarray,
) -> SessionOutcome:
    """Run every session of this slot.

    Args:
        um: User-model parameters.
        inp: Inputs per session user.
        appeal, cost: Per element (E).
        value: E x G progress per engagement.
        u: n x (2 + 2 * max_engagements) uniforms from the ``choice`` stream.
    """
    n, s = inp.layout.shape
    n_el = appeal.shape[0]
    depth = scan_depth(u[:, 0], um.cascade_continue, s)
    visible = np.arange(s)[None, :] < depth[:, None]
    disc = position_discount(s, um.position_exponent)[None, :] * visible
    serves = value > 0  # E x G
    remaining = inp.remaining.astype(np.float64).copy()
    had_need = rowany(remaining > 0)
    attention = inp.attention_left.astype(np.float64).copy()
    residue = inp.residue.astype(np.float64).copy()
    clicks = np.zeros(n, dtype=np.int64)
    minutes = np.zeros(n)
    goal_min = np.zeros(n)
    distr_min = np.zeros(n)
    progress = np.zeros_like(remaining)
    engaged = np.zeros((n, n_el), dtype=np.int64)
    pos_clicks = np.zeros(s, dtype=np.int64)
    alive = attention > 0
    layout = inp.layout.astype(np.int64)
    base = (
        inp.susceptibility[:, None] * appeal[layout]
        + um.habit_utility * np.take_along_axis(inp.habit, layout, 1)
        - um.fatigue_utility * inp.fatigue[:, None]
    )
    goals = range(value.shape[1])
    value_at = [value[:, g][layout] for g in goals]  # n x S value of the shown element, per goal
    gu_weight = um.goal_utility * inp.goal_weight
    hits_user, hits_el = [], []
    for r in range(um.max_engagements):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        rem_now = remaining[idx]
        need_now = inp.need[idx] * (rem_now > 0)
        rel = need_now[:, :1] * value_at[0][idx]
        for g in goals[1:]:
            rel += need_now[:, g : g + 1] * value_at[g][idx]
        util = base[idx] + gu_weight[idx, None] * rel
        w = np.exp(np.minimum(util, 50.0)) * disc[idx]
        # cascade pick by inversion: k = number of cumulative weights <= target (columns, not rows)
        total_w = rowsum(w)
        target = u[idx, 1 + r] * (um.no_click_mass + total_w)
        picked = target < total_w
        acc = w[:, 0].copy()
        k = (acc <= target).astype(np.int64)
        for j in range(1, s):
            acc += w[:, j]
            k += acc <= target
        alive[idx[~picked]] = False
        go, k = idx[picked], k[picked]
        e = layout[go, k]
        c = cost[e]
        pos_clicks += np.bincount(k, minlength=s)
        hits_user.append(go)
        hits_el.append(e)
        clicks[go] += 1
        minutes[go] += c
        attention[go] -= c
        rem_go = rem_now[picked]
        pending = rem_go > 0
        # progress counts only toward what is still needed (no credit beyond the need)
        res_go = residue[go]
        gain = np.clip(value[e] * (1.0 - res_go)[:, None], 0.0, None)
        gain = np.minimum(gain, np.maximum(rem_go, 0.0))
        progress[go] += gain
        rem_go -= gain
        remaining[go] = rem_go
        useful = rowany(serves[e] & pending)
        goal_min[go] += np.where(useful, c, 0.0)
        distr_min[go] += np.where(useful, 0.0, c)
        residue[go] = np.where(useful, res_go, res_go + um.residue * (1 - res_go))
        met = had_need[go] & ~rowany(rem_go > 0)
        leave = (attention[go] <= 0) | (
            met & (u[go, 1 + um.max_engagements + r] < um.need_met_exit)
        )
        alive[go[leave]] = False
    if hits_user:
        flat = np.concatenate(hits_user) * n_el + np.concatenate(hits_el)
        engaged = np.bincount(flat, minlength=n * n_el).reshape(n, n_el)
    views = visible.sum(axis=0)
    return SessionOutcome(
        clicks=clicks,
        minutes=minutes,
        goal_minutes=goal_min,
        distraction_minutes=distr_min,
        progress=progress,
        engaged=engaged,
        attention_left=np.maximum(attention, 0.0),
        residue=residue,
        position_clicks=pos_clicks,
        position_views=views.astype(np.int64),
    )
