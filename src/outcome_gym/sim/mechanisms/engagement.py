"""In-session scanning, choice, attention and focus (docs/design.md, step 6).

A session is a short sequence of rounds (at most ``max_engagements``), run for every user in
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

Opened notifications are engaged before the session (in the same compiled pass,
:func:`engage_rows`): the tap leads to the element, which costs its attention and credits its value
at the user's current focus; an open that serves no pending goal is a distraction and leaves
residue like a distracting pick.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from outcome_gym.sim._jit import compiled, pass_array
from outcome_gym.sim._rows import finite_rows
from outcome_gym.sim.mechanisms.focus import attention_after, residue_after
from outcome_gym.sim.mechanisms.memory import (
    MemoryParams,
    _selection_terms,
    expertise_rows,
    learn_rows,
    selection_rows,
)
from outcome_gym.sim.mechanisms.notifications import trust_rows


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
    """Per-user inputs of engagement, one row per user (all N; the tests' ``engage``,
    tests/sim/reference_engagement.py, passes the indices of the users in session beside them).
    """

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


class Engagement(NamedTuple):
    """Everything engaged this slot, opened notifications and sessions together (N rows).

    ``attention_left`` and ``residue`` are the users' new state; ``useful_opens`` (N x M) feeds
    channel trust. (A named tuple: built every step, it costs a fifth of a frozen dataclass;
    ``_engagement`` builds it by position: a field added or moved must be moved there too, and
    tests/sim/test_step_passes.py checks each field's array.)
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
    element_totals: np.ndarray  # E int64, engagements per element summed over users


def position_discount(n_slots: int, alpha: float) -> np.ndarray:
    """(k + 1)^alpha for k = 0..S-1."""
    return np.power(np.arange(1, n_slots + 1, dtype=np.float64), alpha)


@dataclass(frozen=True)
class Fixed:
    """What the engagement pass reads that stays the same for a whole run, converted once.

    Built once per compiled world and traits' dtype (``sim.model.Prebuilt.engagement_fixed``)
    and read by a model's :class:`StepPass` every step; :func:`run_sessions` (and the tests' ``engage``)
    builds it per call without one (the same numbers).

    Attributes:
        pushed: M int64 element of each notification column.
        appeal, cost: E float64 per element.
        value: E x G float64 progress per engagement.
        pd: S position discounts (:func:`position_discount`).
        coef: The appeal, habit, fatigue and goal utilities in the traits' dtype (numpy applies
            a Python float to a float32 trait as a float32 product).
        scan_at: The S - 1 scan draws from which a session scans past positions 1 .. S - 1
            (:func:`scan_thresholds`).
    """

    pushed: np.ndarray
    appeal: np.ndarray
    cost: np.ndarray
    value: np.ndarray
    pd: np.ndarray
    coef: np.ndarray
    scan_at: np.ndarray

    @classmethod
    def of(cls, um: ChoiceParams, pushed: np.ndarray, appeal: np.ndarray, cost: np.ndarray,
           value: np.ndarray, n_slots: int, dtype: np.dtype) -> Fixed:
        """The fixed inputs of ``um`` and the world's arrays, for S = ``n_slots`` positions and
        traits of ``dtype``.
        """
        coef = np.array([um.appeal_utility, um.habit_utility, um.fatigue_utility,
                         um.goal_utility], dtype=dtype)
        return cls(pushed=_i64(pushed), appeal=_f64(appeal), cost=_f64(cost), value=_f64(value),
                   pd=position_discount(n_slots, um.position_exponent), coef=coef,
                   scan_at=np.array(scan_thresholds(float(um.cascade_continue), n_slots)))


_ONE_BITS = np.float64(1.0).view(np.int64)

# The float64s either side of each threshold on which _check_thresholds compares the thresholds'
# depth with the formula's. Why 64: let u* be the exact crossing, log(1 - u*) = m * log_cont. A
# log1p within e ulp and the rounded division put the computed quotient within (e + 1) * 2^-52
# (relative) of the exact one, so its floor can differ from the exact floor (the only place the
# formula can be non-monotone) only for |u - u*| <= (e + 1) * 2^-52 * (1 - u*) * |log(1 - u*)|,
# that is within 2 * (e + 1) float64s of u* (the float64 spacing at u* is >= u* * 2^-53, and
# (1 - u) * |log(1 - u)| <= u on (0, 1)). The bisection stops on a change of the computed
# predicate, so in that band, and the band lies within 4 * (e + 1) + 1 float64s of the threshold:
# 64 covers a log1p within 14 ulp (numpy's accuracy tests allow its float64 log1p 1 ulp).
_CHECK_WINDOW = 64


@functools.cache
def scan_thresholds(cont: float, n_slots: int) -> tuple[float, ...]:
    """The scan draws u from which a session scans past position m (m = 1 .. S - 1): the scan
    depth is ``1 + #{m : u >= t_m}`` (:func:`depth_of`), t_m ~ 1 - cont^m (P(depth > m) =
    cont^m, the geometric).

    t_m is where the depth by inversion, ``min(1 + floor(log1p(-u) / log(cont)), S)`` with
    numpy's ``log1p`` (:func:`_scan_steps`; what the step computed per session before the twelfth
    pass), passes m: found by bisection over the float64s in [0, 1] (62 halvings, numpy's
    ``log1p`` of S - 1 candidates each; once per process and (cont, S)). The thresholds give that
    depth for every draw if numpy's ``log1p`` is within 14 ulp of the logarithm (then the formula
    could only disagree with the exact one, and so be non-monotone, within a few float64s of each
    threshold): :func:`_check_thresholds` compares the two on the 64 float64s either side of each
    threshold, on the machine that runs, and raises if they differ. 1.0 (never reached) where no
    u < 1 scans that far; all 2.0 when ``cont == 0`` (depth 1) and all 0.0 when ``cont == 1``
    (depth S).

    Why thresholds: the step's one transcendental call (numpy's ``log1p`` of the scan draws,
    between two compiled passes) is gone, and the pass compares instead.

    Raises:
        ValueError: ``cont`` is NaN or outside [0, 1].
        RuntimeError: The thresholds would not give the formula's depth (numpy's ``log1p`` not
            monotone near a threshold).
    """
    if not 0.0 <= cont <= 1.0:  # NaN too (functools.cache would key each NaN apart)
        raise ValueError(f"cascade_continue must be in [0, 1], got {cont!r}")
    if not 0.0 < cont < 1.0:
        return (2.0 if cont == 0.0 else 0.0,) * (n_slots - 1)
    log_cont = float(np.log(cont))
    m = np.arange(1, n_slots, dtype=np.float64)
    lo = np.zeros(n_slots - 1, np.int64)  # the bits of 0.0 (depth 1: below every t_m)
    hi = np.full(n_slots - 1, _ONE_BITS)  # of 1.0 (log1p(-1) = -inf)
    # float64s in [0, 1] are ordered as their bits: halve the bits between lo and hi
    while (hi - lo > 1).any():
        mid = lo + (hi - lo) // 2
        past = _scan_steps(mid.view(np.float64), log_cont) >= m
        hi, lo = np.where(past, mid, hi), np.where(past, lo, mid)
    thresholds = hi.view(np.float64)
    _check_thresholds(thresholds, log_cont)
    return tuple(thresholds.tolist())


def _scan_steps(u: np.ndarray, log_cont: float) -> np.ndarray:
    """``floor(log1p(-u) / log(cont))``, numpy's ``log1p``: the positions past the first that a
    draw ``u`` scans by inversion (before the cap at S); the one definition the bisection of
    :func:`scan_thresholds` and :func:`_check_thresholds` use.
    """
    return np.floor(np.log1p(-u) / log_cont)


def _check_thresholds(thresholds: np.ndarray, log_cont: float) -> None:
    """Raise unless the thresholds give the formula's depth (:func:`_scan_steps`, capped at S)
    on the :data:`_CHECK_WINDOW` float64s in [0, 1) either side of each threshold.

    Raises:
        RuntimeError: A draw there whose depths differ, or thresholds not ascending
            (:func:`depth_of` stops at the first one a draw does not reach).
    """
    n_slots = thresholds.shape[0] + 1
    if (np.diff(thresholds) < 0).any():
        raise RuntimeError(f"scan_thresholds: not ascending for log(cont) = {log_cont!r}: "
                           f"{thresholds.tolist()}")
    offsets = np.arange(-_CHECK_WINDOW, _CHECK_WINDOW + 1)
    bits = np.clip(thresholds.view(np.int64)[:, None] + offsets, 0, _ONE_BITS - 1)
    u = bits.reshape(-1).view(np.float64)
    by_thresholds = 1 + np.searchsorted(thresholds, u, side="right")
    by_formula = np.minimum(1 + _scan_steps(u, log_cont), n_slots)
    wrong = by_thresholds != by_formula
    if wrong.any():
        raise RuntimeError(
            f"scan_thresholds: numpy's log1p is not monotone near a scan threshold on this "
            f"machine (log(cont) = {log_cont!r}): the thresholds would change the scan depth of "
            f"{int(wrong.sum())} draws, e.g. u = {float(u[wrong][0])!r} (depth "
            f"{int(by_thresholds[wrong][0])}, the formula's {int(by_formula[wrong][0])})")


@compiled.inlined
def depth_of(u, scan_at
             ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """One session's scan depth from its draw ``u``: 1 plus the thresholds ``scan_at``
    (:func:`scan_thresholds`, ascending) that ``u`` reaches.
    """
    depth = np.int64(1)
    for m in range(scan_at.shape[0]):
        if u < scan_at[m]:
            break
        depth += 1
    return depth


def run_sessions(
    um: ChoiceParams,
    inp: SessionInputs,
    appeal: np.ndarray,
    cost: np.ndarray,
    value: np.ndarray,
    u: np.ndarray,
) -> SessionOutcome:
    """Run a session for every row of ``inp`` (no notifications opened before it).

    The same compiled pass as a model's step (:func:`engage_rows`), with no opened notifications
    and every row in session.

    Args:
        um: The mechanism's coefficients.
        inp: Inputs per session user.
        appeal, cost: Per element (E).
        value: E x G progress per engagement.
        u: n x (2 + 2 * max_engagements) uniforms from the ``choice`` stream.
    """
    n = inp.layout.shape[0]
    rows = np.arange(n)
    fixed = Fixed.of(um, np.zeros(0, np.int64), appeal, cost, value, inp.layout.shape[1],
                     _trait_dtype(inp))
    res = _engage_all(um, inp, np.zeros((n, 0), dtype=bool), rows, fixed, u,
                      (inp.expertise, inp.select_minutes))
    return SessionOutcome(
        clicks=res.clicks, minutes=res.minutes, goal_minutes=res.goal_minutes,
        distraction_minutes=res.distraction_minutes,
        self_control_minutes=res.self_control_minutes, progress=res.progress,
        engaged=res.element_clicks.astype(np.int64), attention_left=res.attention_left,
        residue=res.residue, position_clicks=res.position_clicks,
        position_views=res.position_views, search_minutes=res.search_minutes,
        seen=res.seen_positions)


def compile_kernel() -> None:
    """Compile (or load from the cache) the passes of a model's engagement hook now
    (:class:`StepPass`'s two compiled calls, :func:`engage_rows` and :func:`commit_rows`, with
    layout memory's and channel trust's passes copied into them), on one user's inputs in a
    model's dtypes.

    For callers that measure memory or time around a step (sim/footprint.py, benchmarks/): the
    first call's compilation would otherwise be counted as the step's.
    """
    f32 = np.dtype(np.float32)  # the population's traits, attention, trust and memory counts
    um = ChoiceParams(no_click_mass=1.0, cascade_continue=0.5, position_exponent=0.0,
                      habit_utility=0.0, goal_utility=0.0, fatigue_utility=0.0, residue=0.0,
                      max_engagements=1, need_met_exit=0.0)
    fixed = Fixed.of(um, np.zeros(1, np.int64), np.zeros(1), np.ones(1), np.zeros((1, 1)), 1, f32)
    step = StepPass(um, MemoryParams(1.0, 0.0, 1.0, 1.0, 1.0), 0.0, 0.0, fixed,
                    np.zeros(1, np.int64), 1, f32)
    yes, z = np.ones((1, 1), bool), np.zeros((1, 1))
    step.run(yes, ~yes, np.ones(1, bool), np.zeros((1, 1), np.int16), z, z.copy(),
             np.full((1, 4), 0.5), (np.zeros(1, f32), np.zeros(1, f32), np.zeros((1, 1), f32),
                                    np.zeros(1, f32)), np.ones(1, f32), np.zeros(1, f32),
             np.zeros((1, 1), f32), np.zeros((1, 1), f32), np.zeros((1, 1), np.int16))


def _f64(a: np.ndarray) -> np.ndarray:
    """:func:`pass_array` float64."""
    return pass_array(a, np.float64)


def _float(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """:func:`pass_array` float32 or float64: the model's traits stay float32, so the pass
    computes as numpy did on them.
    """
    return pass_array(a, np.float64 if dtype != np.float32 else np.float32)


def _i64(a: np.ndarray) -> np.ndarray:
    """:func:`pass_array` int64."""
    return pass_array(a, np.int64)


# engage_rows' ``memory`` argument: where layout memory's expertise and selection minutes come from
NO_MEMORY = 0  # none: the cascade alone
MEMORY_GIVEN = 1  # given (``expertise``, ``select``: run_sessions and the tests' engage)
MEMORY_FROM_COUNTS = 2  # computed in the pass from the practice counts (a model's step)


@compiled
def engage_rows(  # the arrays from ``attention`` to ``el_totals`` are written, every entry
    opened, pushed, rows, layout, scan_at, susc, goal_weight, habit, fatigue, appeal, coef, pd,
    expertise, need, value, cost, u, select, memory, no_click, residue_size, max_engagements,
    need_met_exit, remaining_in, attention_in, residue_in, attention, residue, progress,
    minutes, goal_min, distr_min, sc_min, search_min, engaged, clicks, useful_m, seen,
    pos_clicks, pos_views, el_totals, count, remembered, memory_max, count_one,
    scan, decide, point,
):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Opened notifications, then the session, of every user: one pass, one user at a time.

    The weights are recomputed only after a pick that met a goal (they depend on nothing else a
    round changes, and a session's ``remaining`` only falls), and the calm self's only when a pick
    needs them (a session that ends without a click never does): the same numbers, fewer ``exp``.

    Row ``i`` of the N-row arrays is user ``i``; session row ``j`` (of ``expertise``,
    ``select``) is user ``rows[j]`` (rows ascending); its scan depth is :func:`depth_of`
    ``u[i, 0]`` and the thresholds ``scan_at``. ``attention`` and ``residue``
    start as copies of ``attention_in`` and ``residue_in`` (widened to float64), the progress
    still needed (a row's scratch) as ``remaining_in``'s row, and every other output as zeros,
    made row by row here rather than as array copies and zeroed arrays per step (the outputs may
    be ``np.empty``; row by row, not as flat runs first: at N = 1e5 a row is still in cache when
    the pass counts into it). Returns whether every minute and progress came out finite (a
    model's step then raises before the users' state changes).

    **Layout memory** (``memory``): none (:data:`NO_MEMORY`, the cascade alone), or the
    expertise and selection minutes (k x S) of the k users in session, given
    (:data:`MEMORY_GIVEN`), or, in a model's step (:class:`StepPass`), computed here from its
    practice counts (:data:`MEMORY_FROM_COUNTS`; then ``expertise`` and ``select`` are
    placeholders of the same types), replaced by
    :func:`~outcome_gym.sim.mechanisms.memory.expertise_rows` and
    :func:`~outcome_gym.sim.mechanisms.memory.selection_rows` of the N x S ``count`` and
    ``remembered`` elements, with L = ``memory_max`` and 1 = ``count_one`` in the counts' dtype
    and the selection terms ``scan``, ``decide``, ``point`` (copied in: no call of their own
    before this one).

    **A session's fixed terms**, per position k showing element e (``coef`` = the float32
    appeal, habit, fatigue and goal utilities; float32 products as numpy's of the float32 traits,
    widened to float64 where they meet a float64 term)::

        impulse_k = (appeal_u * susc) * appeal_e
        base_k    = impulse_k + habit_u * habit_e - fatigue_u * fatigue
        disc_k    = pd_k if k < depth, else pd_k * expertise_k (layout memory; 0 without it)
        gu_weight = goal_u * goal_weight

    **Opened notifications** (module docstring), in column order m: element e = pushed[m] credits
    ``min(max(value[e, g] * (1 - residue), 0), max(remaining_g, 0))`` per goal, costs its minutes,
    counts as a goal minute if it credited anything (``useful_m``) and else leaves residue. Then
    ``attention = max(attention - open minutes, 0)`` (``focus.attention_after``).

    **Session rounds** (user in ``rows``; r < R = ``max_engagements``, until no-click, attention
    <= 0, or the need is met and ``u[i, 1 + R + r] < need_met_exit``)::

        rel_k  = sum over goals g still needed of need_g * value[e_k, g]
        util_k = base_k + gu_weight * rel_k,     w_k = exp(min(util_k, 50)) * disc_k
        w0_k   = exp(min(util_k - impulse_k, 50)) * disc_k          (the calm self's weights)
        pick k = #{k : w_0 + ... + w_k <= u[i, 1 + r] * (no_click + sum w)}  (no-click if = S)

    (the weights by :func:`_weight`: no ``exp`` where ``disc_k`` is 0).

    A pick spends the element's cost (and its selection minutes) of attention, credits as an open
    does, and is a distraction (residue grows as
    :func:`~outcome_gym.sim.mechanisms.focus.residue_after`) unless it serves a goal still
    pending. The session's own sums start at zero and are added to the opens' at its end, and
    sums run left to right: the same order, so the same bits, as the numpy opens-then-sessions
    they replace. Attention ends >= 0.

    Summed over users on the way: clicks and views per position (``pos_clicks``, ``pos_views``)
    and engagements per element (``el_totals``), integer counts.
    """
    n, s = layout.shape
    n_goals = value.shape[1]
    n_push = pushed.shape[0]
    has_select = memory != NO_MEMORY  # expertise and selection minutes to read
    if memory == MEMORY_FROM_COUNTS:  # a model's step: memory's terms of the users in session
        expertise = np.empty((rows.shape[0], s), count.dtype)
        select = np.empty((rows.shape[0], s))
        expertise_rows(rows, count, remembered, layout, memory_max, count_one, expertise)
        selection_rows(expertise, count_one, scan, decide, point, select)
    w = np.empty(s)
    w0 = np.empty(s)
    util = np.empty(s)
    impulse = np.empty(s)
    base = np.empty(s)
    disc = np.empty(s)
    gain_s = np.empty(n_goals)
    remaining = np.empty(n_goals)  # the row's progress still needed, spent as it is credited
    for k in range(s):
        pos_clicks[k] = 0
        pos_views[k] = 0
    for e in range(el_totals.shape[0]):
        el_totals[e] = 0
    j = 0
    for i in range(n):
        attention[i] = attention_in[i]
        residue[i] = residue_in[i]
        for g in range(n_goals):
            remaining[g] = remaining_in[i, g]
            progress[i, g] = 0.0
        goal_min[i] = 0.0
        distr_min[i] = 0.0
        sc_min[i] = 0.0  # opens are attributed 0 (module docstring)
        search_min[i] = 0.0
        clicks[i] = 0
        for e in range(engaged.shape[1]):
            engaged[i, e] = 0
        for m in range(n_push):
            useful_m[i, m] = False
        for k in range(s):
            seen[i, k] = False
        # --- opened notifications, in column order ---
        op_min = 0.0
        for m in range(n_push):
            if not opened[i, m]:
                continue
            e = pushed[m]
            useful = False
            for g in range(n_goals):
                gain = min(max(value[e, g] * (1.0 - residue[i]), 0.0), max(remaining[g], 0.0))
                progress[i, g] += gain
                remaining[g] -= gain
                useful = useful or gain > 0
            useful_m[i, m] = useful
            op_min += cost[e]
            if useful:
                goal_min[i] += cost[e]
            else:
                distr_min[i] += cost[e]
                residue[i] = residue_after(residue[i], residue_size, 1.0)
            engaged[i, e] += 1
            el_totals[e] += 1
            clicks[i] += 1
        minutes[i] = op_min
        attention[i] = attention_after(attention[i], op_min)
        if j >= rows.shape[0] or rows[j] != i:
            continue
        # --- the session of session row j ---
        depth = depth_of(u[i, 0], scan_at)
        sus = coef[0] * susc[i]  # float32, as the numpy setup this replaces
        fat = coef[2] * fatigue[i]
        gu = np.float64(coef[3] * goal_weight[i])
        for k in range(s):
            seen[i, k] = k < depth
            e = layout[i, k]
            impulse[k] = sus * appeal[e]
            base[k] = impulse[k] + coef[1] * habit[i, e] - fat
            if k < depth:
                disc[k] = pd[k]
            elif has_select:  # beyond the scan depth, reached from memory with its expertise
                disc[k] = pd[k] * np.float64(expertise[j, k])
            else:
                disc[k] = 0.0
        if attention[i] > 0:
            sess_min = 0.0
            sess_goal = 0.0
            sess_distr = 0.0
            sess_sc = 0.0
            sess_search = 0.0
            for g in range(n_goals):
                gain_s[g] = 0.0
            had_need = False
            for g in range(n_goals):
                had_need = had_need or remaining[g] > 0
            total = 0.0
            total0 = 0.0
            stale = True  # the weights depend on which goals are pending, nothing else
            calm_stale = True
            for r in range(max_engagements):
                if stale:
                    stale = False
                    calm_stale = True
                    total = 0.0
                    for k in range(s):
                        e = layout[i, k]
                        rel = 0.0
                        for g in range(n_goals):
                            if remaining[g] > 0:
                                rel += need[i, g] * value[e, g]
                        util[k] = base[k] + gu * rel
                        w[k] = _weight(util[k], disc[k])
                        total += w[k]
                target = u[i, 1 + r] * (no_click + total)
                if not target < total:
                    break  # no click: the session ends
                if calm_stale:  # the calm self's weights: only once a pick needs them
                    calm_stale = False
                    total0 = 0.0
                    for k in range(s):
                        w0[k] = _weight(util[k] - impulse[k], disc[k])
                        total0 += w0[k]
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
                el_totals[e] += 1
                seen[i, pick] = True
                clicks[i] += 1
                sess_min += c
                sess_sc += c * min(max(1.0 - p_calm / p_full, 0.0), 1.0)
                attention[i] -= c
                if has_select:  # finding the element costs attention too
                    sess_search += select[j, pick]
                    attention[i] -= select[j, pick]
                useful = False
                still = False
                for g in range(n_goals):
                    pending = remaining[g] > 0
                    # progress counts only toward what is still needed (no credit beyond it)
                    gain = min(max(value[e, g] * (1.0 - residue[i]), 0.0),
                               max(remaining[g], 0.0))
                    gain_s[g] += gain
                    remaining[g] -= gain
                    useful = useful or (value[e, g] > 0 and pending)
                    still = still or remaining[g] > 0
                    # a goal met: recompute the weights (remaining never grows in a session)
                    stale = stale or (pending and not remaining[g] > 0)
                if useful:
                    sess_goal += c
                else:
                    sess_distr += c
                    residue[i] = residue_after(residue[i], residue_size, 1.0)
                met = had_need and not still
                if attention[i] <= 0 or (met and u[i, 1 + max_engagements + r] < need_met_exit):
                    break
            for g in range(n_goals):
                progress[i, g] += gain_s[g]
            minutes[i] += sess_min
            goal_min[i] += sess_goal
            distr_min[i] += sess_distr
            sc_min[i] = sess_sc
            search_min[i] = sess_search
            attention[i] = max(attention[i], 0.0)
        for k in range(s):
            if seen[i, k]:
                pos_views[k] += 1
        j += 1
    return finite_rows(minutes) & finite_rows(progress.reshape(-1))


@compiled.inlined
def _weight(util, disc):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A position's choice weight ``exp(min(util, 50)) * disc``, without the ``exp`` where the
    discount is 0 (a position neither scanned nor known): the product is then 0.0 (the ``exp``
    is finite and positive) unless ``util`` is NaN, which still gives NaN.

    ``math.exp``: the C library's exp, the same bits compiled or interpreted.
    """
    if disc == 0.0 and util == util:
        return 0.0
    return math.exp(min(util, 50.0)) * disc


def _trait_dtype(inp: SessionInputs) -> np.dtype:
    """The dtype numpy computes the utilities' trait products in (float32 in a model)."""
    return np.result_type(inp.susceptibility, inp.goal_weight, inp.habit, inp.fatigue)


def _engage_all(
    um: ChoiceParams, inp: SessionInputs, opened: np.ndarray, rows: np.ndarray, fixed: Fixed,
    u: np.ndarray, memory_rows: tuple[np.ndarray | None, np.ndarray | None],
) -> Engagement:
    """Engagement of the session rows ``rows`` (ascending; :func:`run_sessions`, and the tests'
    ``engage``): setup, then the compiled pass.
    """
    n, s = inp.layout.shape
    n_el, n_goals = fixed.value.shape
    expertise, select = memory_rows
    if (expertise is None) != (select is None):
        raise ValueError("layout memory needs both expertise and selection minutes, or neither")
    u = _f64(u)
    dtype = fixed.coef.dtype  # the traits' (the utilities are applied in it)
    out = _outputs(n, s, n_el, n_goals, opened.shape[1])
    if expertise is None:
        expertise, select = _unread(dtype, s)
        memory = NO_MEMORY
    else:
        expertise, select, memory = _float(expertise, expertise.dtype), _f64(select), MEMORY_GIVEN
    engage_rows(
        pass_array(opened, bool), fixed.pushed, _i64(rows), _int(inp.layout),
        fixed.scan_at, _float(inp.susceptibility, dtype), _float(inp.goal_weight, dtype),
        _float(inp.habit, dtype), _float(inp.fatigue, dtype),
        fixed.appeal, fixed.coef, fixed.pd, expertise, _f64(inp.need), fixed.value, fixed.cost,
        u, select, memory, float(um.no_click_mass), float(um.residue),
        int(um.max_engagements), float(um.need_met_exit), _f64(inp.remaining),
        _contiguous(inp.attention_left), _contiguous(inp.residue), out.attention_left,
        out.residue,
        out.progress, out.minutes, out.goal_minutes, out.distraction_minutes,
        out.self_control_minutes, out.search_minutes, out.element_clicks, out.clicks,
        out.useful_opens, out.seen_positions, out.position_clicks, out.position_views,
        out.element_totals, *_no_counts(expertise),
    )
    return out


def _unread(dtype: np.dtype, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Placeholders (0 x S, never read) for layout memory's arrays that :func:`engage_rows` takes
    but a caller does not have: in ``dtype`` (the expertise's or the counts') and float64 (the
    selection minutes' or terms'), the types a model's step passes, so that every caller on
    float32 traits shares one compiled signature.
    """
    return np.zeros((0, s), dtype), np.zeros((0, s))


def _no_counts(expertise: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.generic, np.generic, np.ndarray, np.ndarray,
                          np.ndarray]:
    """:func:`engage_rows`' last arguments (``count`` to ``point``) when the expertise is given
    (or there is no memory): placeholders (:func:`_unread`) for the counts and their scalars in
    the expertise's dtype, the remembered int16 elements and the selection terms.
    """
    counts, terms = _unread(expertise.dtype, expertise.shape[1])
    zero = expertise.dtype.type(0)
    return (counts, np.zeros(counts.shape, np.int16), zero, zero, terms, terms, terms)


def _outputs(n: int, s: int, n_el: int, n_goals: int, n_push: int) -> Engagement:
    """Empty output arrays for :func:`engage_rows` (which writes every entry)."""
    return _engagement(_buffers(n, s, n_goals, n_push), n, s, n_el)


def _buffers(n: int, s: int, n_goals: int, n_push: int) -> tuple[np.ndarray, ...]:
    """The outputs a :class:`StepPass` keeps for a run (read within the step, by the record;
    overwritten by the next step), in :class:`Engagement`'s field order: progress, goal,
    distraction and self-control minutes, attention left, residue, useful opens, search minutes
    and seen positions.
    """
    return (np.empty((n, n_goals)), np.empty(n), np.empty(n), np.empty(n), np.empty(n),
            np.empty(n), np.empty((n, n_push), dtype=bool), np.empty(n),
            np.empty((n, s), dtype=bool))


def _engagement(kept: tuple[np.ndarray, ...], n: int, s: int, n_el: int) -> Engagement:
    """An :class:`Engagement` of the buffers ``kept`` (:func:`_buffers`) and fresh arrays for
    the other outputs (the step's record and the next observation keep them); built without
    dicts (a step's dicts and ``**`` merge cost ~2 us).

    By position, in the field order (by keyword the call took ~0.56 us more at N = 200); several
    fields share a shape, so tests/sim/test_step_passes.py checks each field's array by
    identity, shape and dtype (a swap would pass the passes' tests unnoticed).
    """
    (progress, goal_minutes, distraction_minutes, self_control_minutes, attention_left, residue,
     useful_opens, search_minutes, seen_positions) = kept
    return Engagement(
        progress, np.empty(n), goal_minutes, distraction_minutes, self_control_minutes,
        np.empty((n, n_el), dtype=np.int16),  # element_clicks: <= R + M per step
        np.empty(n, dtype=np.int64), np.empty(s, dtype=np.int64), np.empty(s, dtype=np.int64),
        attention_left, residue, useful_opens, search_minutes, seen_positions,
        np.empty(n_el, dtype=np.int64))


class StepPass:
    """A model's engagement hook (step 6) as two compiled calls on arrays already in the form
    they take (no conversions, no copies): :func:`engage_rows` (layout memory's expertise and
    selection minutes of the users in session, opened notifications then the sessions, the
    finiteness check) and :func:`commit_rows` (the new attention and residue, channel trust and
    what layout memory learns, once the step is known finite). No numpy call between them: the
    scan depth compares the draw with per-run thresholds (:func:`scan_thresholds`) instead of
    taking numpy's ``log1p`` of it.

    Not one call: numba compiles a called pass again inside its caller, and copying a pass
    into its caller (``compiled.inlined``) costs compile time with its length (numba deep-copies
    the callee's IR block by block: ~1.4 s for :func:`engage_rows`); with :func:`commit_rows`
    copied into :func:`engage_rows` the module took ~0.5 s more to compile, with it called from
    there ~0.3 s more, for ~1 us a step (docs/performance.md, twelfth pass).

    Built once per run, for ``n`` users: the fixed inputs (:class:`Fixed`, memory's terms) and
    the buffers of what does not outlive the step. Of the :class:`Engagement` it returns,
    ``minutes``, ``clicks``, ``element_clicks``, ``position_clicks``, ``position_views`` and
    ``element_totals`` are fresh arrays (the step's record and the next step's observation keep
    them); the other arrays are this object's buffers, overwritten by the next step.

    Args:
        um: The mechanism's coefficients.
        memory: Layout memory's coefficients (``mechanisms/memory.py``).
        trust_gain, trust_loss: Channel trust's ``channel_trust_gain`` and ``channel_trust_loss``
            (``mechanisms/notifications.py``).
        fixed: :meth:`Fixed.of` the coefficients and the world's arrays.
        channel_of: M int64 channel of each notification column.
        n: Users.
        count_dtype: The layout memory counts' dtype (float32 in a model).
    """

    def __init__(self, um: ChoiceParams, memory: MemoryParams, trust_gain: float,
                 trust_loss: float, fixed: Fixed, channel_of: np.ndarray, n: int,
                 count_dtype: np.dtype) -> None:
        self.fixed = fixed
        s, (n_el, n_goals), n_push = fixed.pd.shape[0], fixed.value.shape, fixed.pushed.shape[0]
        self._sizes = (n, s, n_el)
        one = np.dtype(count_dtype).type
        # memory's terms in the counts' dtype (L, 1) and its selection terms; placeholders
        # for the expertise and selection minutes engage_rows computes from the counts
        self._memory = (one(memory.memory_max), one(1.0), *_selection_terms(memory, s))
        self._placeholders = _unread(count_dtype, s)
        self._trust = (float(trust_gain), float(trust_loss))
        self._channel_of = _i64(channel_of)
        self._knobs = (float(um.no_click_mass), float(um.residue), int(um.max_engagements),
                       float(um.need_met_exit))
        self._kept = _buffers(n, s, n_goals, n_push)  # the buffers the record reads

    def run(self, opened: np.ndarray, ignored: np.ndarray, started: np.ndarray,
            layout: np.ndarray, need: np.ndarray, remaining: np.ndarray, u: np.ndarray,
            traits: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
            attention_left: np.ndarray, residue: np.ndarray, channel_trust: np.ndarray,
            memory_count: np.ndarray, memory_element: np.ndarray,
            ) -> tuple[Engagement | None, np.ndarray]:
        """One step's engagement; ``attention_left``, ``residue`` (float32), ``memory_count``
        and ``memory_element`` updated in place.

        Args:
            opened, ignored: N x M notifications opened, and dismissed, replaced or expired
                (C-ordered bool: the notification step's arrays, passed as they are).
            started: N users who started a session.
            layout: N x S int16 layout shown (C-ordered: the step's, passed as it is).
            need, remaining: N x G urgency and progress still needed (read only).
            u: N x (2 + 2 R) ``choice`` uniforms.
            traits: Susceptibility, goal weight, habit (N x E) and fatigue (float32).
            attention_left, residue: N float32 state.
            channel_trust: N x C float32 channel trust (read; the new trust is returned).
            memory_count, memory_element: N x S layout memory.

        Returns:
            The engagement and the new channel trust; ``(None, channel_trust)`` when a minute or
            a progress came out non-finite (nothing of the users' state changed then).
        """
        fx = self.fixed
        rows = started.nonzero()[0]  # the users in session, ascending (np.flatnonzero)
        no_click, residue_size, max_eng, exit_p = self._knobs
        eng = _engagement(self._kept, *self._sizes)
        susc, goal_weight, habit, fatigue = traits
        expertise, select = self._placeholders
        memory_max, one, scan, decide, point = self._memory
        if not engage_rows(
                opened, fx.pushed, rows, layout, fx.scan_at, susc, goal_weight, habit, fatigue,
                fx.appeal, fx.coef, fx.pd, expertise, need, fx.value, fx.cost, u, select,
                MEMORY_FROM_COUNTS, no_click, residue_size, max_eng, exit_p, remaining,
                attention_left, residue, eng.attention_left, eng.residue, eng.progress,
                eng.minutes, eng.goal_minutes, eng.distraction_minutes, eng.self_control_minutes,
                eng.search_minutes, eng.element_clicks, eng.clicks, eng.useful_opens,
                eng.seen_positions, eng.position_clicks, eng.position_views, eng.element_totals,
                memory_count, memory_element, memory_max, one, scan, decide, point):
            return None, channel_trust  # before any of the users' state changes
        trust = np.empty_like(channel_trust)
        commit_rows(rows, eng.attention_left, eng.residue, attention_left, residue, *self._trust,
                    channel_trust, ignored, opened, eng.useful_opens, self._channel_of,
                    channel_trust.dtype.type(1), trust, memory_count,
                    memory_element, layout, eng.seen_positions, one)
        return eng, trust


@compiled
def commit_rows(rows, attention, residue, attention_out, residue_out, gain_u, loss_u, trust,
                ignored, opened, useful, channel_of, one, trust_out, count, remembered, layout,
                seen, count_one
                ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A step's engagement into the users' state, once it is known finite: the float64
    ``attention`` and ``residue`` into the float32 state ``attention_out`` and ``residue_out``
    (rounded to nearest, as numpy's ``copyto``), channel trust into ``trust_out``
    (:func:`~outcome_gym.sim.mechanisms.notifications.trust_rows`, ``one`` its dtype's 1) and
    layout memory's learning of the users ``rows`` in place
    (:func:`~outcome_gym.sim.mechanisms.memory.learn_rows`, ``count_one`` the counts' 1).
    """
    for i in range(attention.shape[0]):
        attention_out[i] = attention[i]
        residue_out[i] = residue[i]
    trust_rows(gain_u, loss_u, trust, ignored, opened, useful, channel_of, one, trust_out)
    learn_rows(rows, count, remembered, layout, seen, count_one)


def _int(a: np.ndarray) -> np.ndarray:
    """An integer array as the pass takes it: writable C-contiguous, in its own integer dtype
    (a model's int16 layout is not widened every step), anything else as int64.
    """
    return pass_array(a, a.dtype if a.dtype.kind in "iu" else np.int64)


def _contiguous(a: np.ndarray) -> np.ndarray:
    """A writable C-contiguous float array in its own dtype (read only, then widened by the
    pass), anything not float as float64.
    """
    a = np.asarray(a)
    return pass_array(a, a.dtype if a.dtype.kind == "f" else np.float64)

