"""In-session scanning, choice, attention and focus (docs/design.md, step 6).

A session is a short sequence of rounds (at most ``max_engagements``), vectorized over all users in
session. At the start the user draws how deep they scan: depth = 1 + Geometric(1 - cascade_continue)
positions, capped at S (cascade model; recsim, craswell2008). Each round, among the scanned
positions k < depth, the user engages with the element at k with multinomial-logit probability

    w_k = exp(u_k) * (k + 1)^alpha,           P(k) = w_k / (no_click + sum_j w_j)
    u_k = appeal_utility * susceptibility * appeal_e  (impulsive self, kleinberg2024)
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

Self-control-driven minutes (allcott2022's "use due to self-control problems"): each pick of element
k is attributed the share of its probability that exists only because of the impulsive term,

    sc_k = max(0, 1 - P0(k) / P(k)),   P0 = the same logit without appeal_utility * susc * appeal,

and ``self_control_minutes`` adds ``sc_k * attention_cost`` per pick: the minutes the user's own
goal, habit and fatigue utilities would not have chosen. Opened notifications are attributed 0 (their
open decision is the notification mechanism's). ``appeal_utility`` is fitted so that these minutes
are ~31% of app minutes (docs/model.md section 4.6).

Layout memory (:mod:`~outcome_gym.sim.mechanisms.memory`, docs/model.md section 4.6a) enters through
two optional inputs: ``expertise`` lets a user reach a known position beyond the scan depth
(weight = expertise instead of 0), and ``select_minutes`` charges each engagement's time to find
and select its element to attention (recorded as ``search_minutes``, not ``minutes``). Without
them the cascade is as above.

Opened notifications are engaged before the session (:func:`engage_opened`): the tap leads to the
element, which costs its attention and credits its value at the user's current focus; an open that
serves no pending goal is a distraction and leaves residue like a distracting pick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from outcome_gym.sim._jit import compiled
from outcome_gym.sim._rows import rowany, rowsum
from outcome_gym.sim.mechanisms.focus import add_residue


@dataclass(frozen=True)
class ChoiceParams:
    """The ``user_model`` coefficients of in-session choice (docs/model.md section 4.6).

    Attributes:
        no_click_mass: Weight of not clicking (recsim).
        cascade_continue: Chance to scan one position further (recsim, craswell2008).
        position_exponent: Position discount exponent alpha (trecs).
        habit_utility, goal_utility, fatigue_utility: Utility weights (module docstring).
        appeal_utility: Weight on susceptibility x appeal (fitted to allcott2022's
            self-control share; docs/model.md section 4.6).
        residue: Focus lost per distracting engagement (mark2005).
        max_engagements: Rounds per session.
        need_met_exit: Chance to leave once every pending need is met.
    """

    no_click_mass: float
    cascade_continue: float
    position_exponent: float
    habit_utility: float
    goal_utility: float
    fatigue_utility: float
    residue: float
    max_engagements: int
    need_met_exit: float
    appeal_utility: float = 1.0


@dataclass(frozen=True)
class SessionInputs:
    """Per-user inputs of engagement (rows = users; a subset of them inside :func:`run_sessions`)."""

    layout: np.ndarray  # n x S element indices
    susceptibility: np.ndarray
    goal_weight: np.ndarray
    habit: np.ndarray  # n x E
    fatigue: np.ndarray
    need: np.ndarray  # n x G urgency weights
    remaining: np.ndarray  # n x G progress still needed now
    attention_left: np.ndarray
    residue: np.ndarray
    # layout memory (mechanisms/memory.py); None: no memory, the cascade alone (as before v2)
    expertise: np.ndarray | None = None  # n x S, reach of positions beyond the scan depth
    select_minutes: np.ndarray | None = None  # n x S, minutes to find and select each position


@dataclass(frozen=True)
class SessionOutcome:
    """What the sessions produced (n rows)."""

    clicks: np.ndarray
    minutes: np.ndarray
    goal_minutes: np.ndarray
    distraction_minutes: np.ndarray
    self_control_minutes: np.ndarray
    progress: np.ndarray  # n x G credited progress
    engaged: np.ndarray  # n x E engagement counts
    attention_left: np.ndarray
    residue: np.ndarray
    position_clicks: np.ndarray  # S, summed over users
    position_views: np.ndarray  # S, users who saw each position (scanned or reached from memory)
    search_minutes: np.ndarray  # n, selection time charged to attention (layout memory)
    seen: np.ndarray  # n x S bool, positions seen (what layout memory learns from)


@dataclass(frozen=True)
class OpenedOutcome:
    """What engaging the opened notifications produced (N rows)."""

    progress: np.ndarray  # N x G credited progress
    remaining: np.ndarray  # N x G progress still needed afterwards
    minutes: np.ndarray
    goal_minutes: np.ndarray
    distraction_minutes: np.ndarray
    engaged: np.ndarray  # N x E int16 engagement counts
    useful: np.ndarray  # N x M, the open made goal progress
    residue: np.ndarray  # N, focus residue afterwards


@dataclass(frozen=True)
class Engagement:
    """Everything engaged this slot, opened notifications and sessions together (N rows).

    ``attention_left`` and ``residue`` are the users' new state; ``useful_opens`` (N x M) feeds
    channel trust.
    """

    progress: np.ndarray  # N x G
    minutes: np.ndarray
    goal_minutes: np.ndarray
    distraction_minutes: np.ndarray
    self_control_minutes: np.ndarray
    element_clicks: np.ndarray  # N x E int16
    clicks: np.ndarray
    position_clicks: np.ndarray  # S
    position_views: np.ndarray  # S
    attention_left: np.ndarray
    residue: np.ndarray
    useful_opens: np.ndarray
    search_minutes: np.ndarray  # N, selection time of the sessions' engagements
    seen_positions: np.ndarray  # N x S bool, positions seen in a session


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
    um: ChoiceParams,
    inp: SessionInputs,
    appeal: np.ndarray,
    cost: np.ndarray,
    value: np.ndarray,
    u: np.ndarray,
) -> SessionOutcome:
    """Run every session of this slot.

    The per-user quantities fixed for the whole session (scan depth, position discount and reach,
    the impulsive and habit utilities) are whole-array numpy expressions; the rounds of choice
    (:func:`session_rounds`) are one compiled pass over the users (sim/_jit.py).

    Args:
        um: The mechanism's coefficients.
        inp: Inputs per session user.
        appeal, cost: Per element (E).
        value: E x G progress per engagement.
        u: n x (2 + 2 * max_engagements) uniforms from the ``choice`` stream.
    """
    n, s = inp.layout.shape
    n_el, n_goals = value.shape
    depth = scan_depth(u[:, 0], um.cascade_continue, s)
    visible = np.arange(s)[None, :] < depth[:, None]
    # beyond the scan depth, a position is reached only from memory, with weight = expertise
    reach = visible if inp.expertise is None else np.where(visible, 1.0, inp.expertise)
    disc = position_discount(s, um.position_exponent)[None, :] * reach
    layout = inp.layout.astype(np.int64)
    impulse = um.appeal_utility * inp.susceptibility[:, None] * appeal[layout]
    base = (
        impulse
        + um.habit_utility * np.take_along_axis(inp.habit, layout, 1)
        - um.fatigue_utility * inp.fatigue[:, None]
    )
    remaining = inp.remaining.astype(np.float64)  # a copy the rounds spend
    out = SessionOutcome(
        clicks=np.zeros(n, dtype=np.int64),
        minutes=np.zeros(n),
        goal_minutes=np.zeros(n),
        distraction_minutes=np.zeros(n),
        self_control_minutes=np.zeros(n),
        progress=np.zeros((n, n_goals)),
        engaged=np.zeros((n, n_el), dtype=np.int64),
        attention_left=inp.attention_left.astype(np.float64),  # a copy the rounds spend
        residue=inp.residue.astype(np.float64),
        position_clicks=np.zeros(s, dtype=np.int64),
        position_views=np.zeros(s, dtype=np.int64),
        search_minutes=np.zeros(n),
        seen=visible.copy(),
    )
    select = inp.select_minutes
    session_rounds(
        layout, _f64(base), _f64(impulse), _f64(disc), _f64(inp.need),
        _f64(um.goal_utility * inp.goal_weight), _f64(value), _f64(cost), _f64(u),
        np.zeros((1, 1)) if select is None else _f64(select), select is not None,
        float(um.no_click_mass), float(um.residue), int(um.max_engagements),
        float(um.need_met_exit), remaining, out.attention_left, out.residue, out.seen,
        out.clicks, out.minutes, out.goal_minutes, out.distraction_minutes,
        out.self_control_minutes, out.search_minutes, out.progress, out.engaged,
        out.position_clicks,
    )
    np.maximum(out.attention_left, 0.0, out=out.attention_left)
    out.position_views[:] = out.seen.sum(axis=0)
    return out


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`session_rounds` now, on one user's inputs.

    For callers that measure memory or time around a step (sim/footprint.py, benchmarks/): the
    first call's compilation would otherwise be counted as the step's.
    """
    one = SessionInputs(
        layout=np.zeros((1, 1), dtype=np.int64), susceptibility=np.zeros(1),
        goal_weight=np.zeros(1), habit=np.zeros((1, 1)), fatigue=np.zeros(1),
        need=np.zeros((1, 1)), remaining=np.zeros((1, 1)), attention_left=np.ones(1),
        residue=np.zeros(1))
    um = ChoiceParams(no_click_mass=1.0, cascade_continue=0.5, position_exponent=0.0,
                      habit_utility=0.0, goal_utility=0.0, fatigue_utility=0.0, residue=0.0,
                      max_engagements=1, need_met_exit=0.0)
    run_sessions(um, one, np.zeros(1), np.ones(1), np.zeros((1, 1)), np.full((1, 4), 0.5))


def _f64(a: np.ndarray) -> np.ndarray:
    """A writable C-contiguous float64 array (no copy when it already is one).

    numba compiles one version per argument type, and a read-only array (the world's ``value``
    and ``cost``) is a different type: copying those few numbers keeps one compiled signature.
    """
    out = np.ascontiguousarray(a, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


@compiled
def session_rounds(  # the arrays are passed in and written in place
    layout, base, impulse, disc, need, gu_weight, value, cost, u, select, has_select,
    no_click, residue_size, max_engagements, need_met_exit,
    remaining, attention, residue, seen,
    clicks, minutes, goal_min, distr_min, sc_min, search_min, progress, engaged, pos_clicks,
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """The rounds of choice of every session, one user at a time (module docstring).

    Per user ``i`` and round ``r`` (until no-click, attention <= 0, or the need is met and
    ``u[i, 1 + R + r] < need_met_exit``; R = ``max_engagements``):

        rel_k  = sum over goals g still needed of need_g * value[e_k, g]
        util_k = base_k + gu_weight * rel_k,     w_k = exp(min(util_k, 50)) * disc_k
        w0_k   = exp(min(util_k - impulse_k, 50)) * disc_k          (the calm self's weights)
        pick k = #{k : w_0 + ... + w_k <= u[i, 1 + r] * (no_click + sum w)}  (no-click if = S)

    A pick spends the element's cost (and its selection minutes) of attention, credits
    ``min(max(value * (1 - residue), 0), max(remaining, 0))`` per goal, and is a distraction
    (residue grows as :func:`~outcome_gym.sim.mechanisms.focus.add_residue`, inlined: compiled
    code cannot call a plain Python function) unless it serves a goal still pending. Arrays from
    ``remaining`` on are written in place; sums run left to right, as the numpy rowsum did.
    """
    n, s = layout.shape
    n_goals = value.shape[1]
    w = np.empty(s)
    w0 = np.empty(s)
    for i in range(n):
        if not attention[i] > 0:
            continue
        had_need = False
        for g in range(n_goals):
            had_need = had_need or remaining[i, g] > 0
        for r in range(max_engagements):
            total = 0.0
            total0 = 0.0
            for k in range(s):
                e = layout[i, k]
                rel = 0.0
                for g in range(n_goals):
                    if remaining[i, g] > 0:
                        rel += need[i, g] * value[e, g]
                util = base[i, k] + gu_weight[i] * rel
                # math.exp: the C library's exp, the same bits compiled or interpreted
                w[k] = math.exp(min(util, 50.0)) * disc[i, k]
                w0[k] = math.exp(min(util - impulse[i, k], 50.0)) * disc[i, k]
                total += w[k]
                total0 += w0[k]
            target = u[i, 1 + r] * (no_click + total)
            if not target < total:
                break  # no click: the session ends
            acc = 0.0
            pick = 0
            for k in range(s):  # cascade pick by inversion
                acc += w[k]
                if acc <= target:
                    pick += 1
            e = layout[i, pick]
            c = cost[e]
            p_full = w[pick] / (no_click + total)
            p_calm = w0[pick] / (no_click + total0)
            pos_clicks[pick] += 1
            engaged[i, e] += 1
            seen[i, pick] = True
            clicks[i] += 1
            minutes[i] += c
            sc_min[i] += c * min(max(1.0 - p_calm / p_full, 0.0), 1.0)
            attention[i] -= c
            if has_select:  # finding the element costs attention too
                search_min[i] += select[i, pick]
                attention[i] -= select[i, pick]
            useful = False
            still = False
            for g in range(n_goals):
                pending = remaining[i, g] > 0
                # progress counts only toward what is still needed (no credit beyond the need)
                gain = min(max(value[e, g] * (1.0 - residue[i]), 0.0), max(remaining[i, g], 0.0))
                progress[i, g] += gain
                remaining[i, g] -= gain
                useful = useful or (value[e, g] > 0 and pending)
                still = still or remaining[i, g] > 0
            if useful:
                goal_min[i] += c
            else:
                distr_min[i] += c
                residue[i] = residue[i] + residue_size * (1 - residue[i])
            met = had_need and not still
            if attention[i] <= 0 or (met and u[i, 1 + max_engagements + r] < need_met_exit):
                break


def engage_opened(
    residue_size: float,
    opened: np.ndarray,
    pushed: np.ndarray,
    cost: np.ndarray,
    value: np.ndarray,
    remaining: np.ndarray,
    residue: np.ndarray,
    n_elements: int,
) -> OpenedOutcome:
    """Engage every opened notification, in column order (a loop over notifications, not users).

    Args:
        residue_size: Focus lost per distracting open (``user_model.residue``).
        opened: N x M opened notifications.
        pushed: M element index of each notification column.
        cost: E attention cost per element.
        value: E x G progress per engagement.
        remaining: N x G progress still needed.
        residue: N focus residue at the start of this slot's engagement.
        n_elements: E.
    """
    n, g = remaining.shape
    residue = residue.astype(np.float64)
    progress = np.zeros((n, g))
    rem = remaining.copy()
    minutes = np.zeros(n)
    goal_min = np.zeros(n)
    distr = np.zeros(n)
    engaged = np.zeros((n, n_elements), dtype=np.int16)  # <= max_engagements + M per step
    useful_m = np.zeros_like(opened)
    for m, e in enumerate(pushed.astype(np.int64)):
        who = np.flatnonzero(opened[:, m])
        if who.size == 0:
            continue
        gain = np.clip(value[e][None, :] * (1.0 - residue[who])[:, None], 0.0, None)
        gain = np.minimum(gain, np.maximum(rem[who], 0.0))
        progress[who] += gain
        rem[who] -= gain
        useful = rowany(gain > 0)
        useful_m[who, m] = useful
        minutes[who] += cost[e]
        goal_min[who] += np.where(useful, cost[e], 0.0)
        distr[who] += np.where(useful, 0.0, cost[e])
        idle = who[~useful]  # a distracting open leaves residue, as a distracting pick does
        residue[idle] = add_residue(residue[idle], residue_size)
        engaged[who, e] += 1
    return OpenedOutcome(progress, rem, minutes, goal_min, distr, engaged, useful_m, residue)


def engage(
    um: ChoiceParams,
    inp: SessionInputs,
    opened: np.ndarray,
    started: np.ndarray,
    pushed: np.ndarray,
    appeal: np.ndarray,
    cost: np.ndarray,
    value: np.ndarray,
    u: np.ndarray,
    memory_rows: tuple[np.ndarray, np.ndarray] | None = None,
) -> Engagement:
    """Opened notifications first, then the sessions of the users who started one.

    Args:
        um: The mechanism's coefficients.
        inp: Inputs for all N users (``remaining``, ``attention_left`` and ``residue`` as the slot
            stands before engagement).
        opened: N x M opened notifications.
        started: N users who started a session.
        pushed: M element index of each notification column.
        appeal, cost: Per element (E).
        value: E x G progress per engagement.
        u: n x (2 + 2 * max_engagements) uniforms from the ``choice`` stream for the users in
            session only (drawn for all N and indexed by the caller, so one user's draws never
            depend on who else is in a session).
        memory_rows: Layout memory's ``expertise`` and ``select_minutes`` (n x S) for the users
            in session only, in user order (computed for those rows alone, to keep the cost
            proportional to the sessions); ``None``: the ones in ``inp``, if any.
    """
    idx = np.flatnonzero(started)
    op = engage_opened(um.residue, opened, pushed, cost, value, inp.remaining, inp.residue,
                       appeal.shape[0])
    attention = np.maximum(inp.attention_left - op.minutes, 0.0)
    now = replace(inp, remaining=op.remaining, attention_left=attention, residue=op.residue)
    rows = _rows(now, idx)
    if memory_rows is not None:
        rows = replace(rows, expertise=memory_rows[0], select_minutes=memory_rows[1])
    res = run_sessions(um, rows, appeal, cost, value, u)
    progress, minutes = op.progress, op.minutes
    progress[idx] += res.progress
    minutes[idx] += res.minutes
    op.goal_minutes[idx] += res.goal_minutes
    op.distraction_minutes[idx] += res.distraction_minutes
    self_control = np.zeros(inp.attention_left.shape[0])
    self_control[idx] = res.self_control_minutes  # opens are attributed 0 (module docstring)
    clicks = rowsum(op.engaged)
    el_clicks = op.engaged
    el_clicks[idx] += res.engaged
    attention[idx] = res.attention_left
    residue = op.residue.copy()
    residue[idx] = res.residue
    clicks[idx] += res.clicks
    search = np.zeros(inp.layout.shape[0])
    search[idx] = res.search_minutes
    seen = np.zeros(inp.layout.shape, dtype=bool)
    seen[idx] = res.seen
    return Engagement(
        progress=progress,
        minutes=minutes,
        goal_minutes=op.goal_minutes,
        distraction_minutes=op.distraction_minutes,
        self_control_minutes=self_control,
        element_clicks=el_clicks,
        clicks=clicks,
        position_clicks=res.position_clicks,
        position_views=res.position_views,
        attention_left=attention,
        residue=residue,
        useful_opens=op.useful,
        search_minutes=search,
        seen_positions=seen,
    )


def _rows(inp: SessionInputs, idx: np.ndarray) -> SessionInputs:
    """The inputs of the users ``idx``."""
    return SessionInputs(**{f: None if (v := getattr(inp, f)) is None else v[idx]
                            for f in SessionInputs.__dataclass_fields__})
