"""Context events and what makes them fail (docs/design.md, step 9).

Per active user and slot, each kind happens with probability rate_per_day / S:

* device switch (users with 2+ devices): the other device still shows the layout of the user's
  previous session;
* colleague share (users with a teammate): the colleague's current layout;
* support contact: support's instructions assume the default layout.

A context event fails with probability

    p_fail = base_failure + (1 - base_failure) * (1 - exp(-distance_sensitivity * d))

where d is the core-weighted layout distance (:func:`~outcome_gym.sim.layout.layout_distance`)
between the user's layout and the one the other context assumes. A failure costs
``failure_minutes`` of attention, adds focus residue and a support ticket, and costs trust at day
end. No published effect size exists for these failures under personalized UIs (docs/calibration.md,
mechanism 9): the form rests on transfer (polson1986), awareness (findlater2008) and the stability
results (mitchell1989, sears1994); every size here is a design choice (D).

A step is three calls (:class:`ContextEvents`): one compiled pass finds the events and their
distances (:func:`event_rows`), numpy's ``exp`` takes every event's ``-sensitivity * d`` at once
(numpy's, for its bits), and a second pass draws the failures and charges them
(:func:`failure_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from outcome_gym.sim._jit import compiled, written_zeros
from outcome_gym.sim.layout import layout_distance, row_distance
from outcome_gym.sim.mechanisms.focus import attention_after, residue_after
from outcome_gym.sim.network import Teams, colleague_of

KINDS = ("device_switch", "colleague_share", "support_contact")


@dataclass(frozen=True)
class ContextParams:
    """The scenario's ``context`` block as this mechanism reads it (docs/model.md section 4.9).

    Attributes:
        per_day: Events per active user and day, one per kind in :data:`KINDS` order.
        base_failure: Failure chance at distance 0.
        distance_sensitivity: Growth of the failure chance with layout distance.
        failure_minutes: Attention a failure costs.
    """

    per_day: tuple[float, float, float]
    base_failure: float
    distance_sensitivity: float
    failure_minutes: float


@dataclass(frozen=True)
class ContextOutcome:
    """Per-user events and failures of each kind (N bools), plus the distances involved (N
    float64, 0 where the kind did not happen), and ``failed``: N int16 failures of any kind (each
    one a support ticket); ``rows``: the events' and then the failures' arrays, each in
    :data:`KINDS` order (the same objects as in ``events`` and ``failures``: the recorder's
    context rows).

    Every array is a read-only row of the run's buffers (:class:`ContextEvents`): the next step
    overwrites it, so a reader copies what it keeps (the recorder copies every step's).
    """

    events: dict[str, np.ndarray]
    failures: dict[str, np.ndarray]
    distance: dict[str, np.ndarray]
    failed: np.ndarray
    rows: tuple[np.ndarray, ...]


class ContextEvents:
    """The context events of one run: its fixed inputs (who can have which kind, the teams,
    the default layout and the position weights) and the buffers each step overwrites.

    Args:
        ctx: The mechanism's parameters.
        slots_per_day: S, slots a day (a kind's chance per slot is its daily rate / S).
        can_switch: N users with 2+ devices.
        has_colleague: N users with a teammate.
        teams: The teams a colleague share picks a teammate from.
        default: S default layout (support's).
        weight: S position weights of the layout distance.
        exact: ``layout.exact_weights(weight)``: the distances by the compiled pass (the same
            bits as the matvec); otherwise by :func:`~outcome_gym.sim.layout.layout_distance`'s
            matvec, kind by kind.
        residue_size: Focus residue a failure adds (as a fraction of what is left).
        residue_dtype: The population's residue dtype (fixed for a run).
    """

    def __init__(self, ctx: ContextParams, slots_per_day: int, can_switch: np.ndarray,
                 has_colleague: np.ndarray, teams: Teams, default: np.ndarray,
                 weight: np.ndarray, exact: bool, residue_size: float,
                 residue_dtype: np.dtype[Any]) -> None:
        n = can_switch.shape[0]
        self.teams = teams
        self._threshold = np.array([rate / slots_per_day for rate in ctx.per_day])
        self._eligible = np.array([can_switch, has_colleague], dtype=bool)  # C-contiguous, writable
        self._default = np.array(default, dtype=np.int16).reshape(1, -1)  # one row
        self._weight = np.array(weight, dtype=np.float64)
        self._weight_sum = float(self._weight.sum())
        self._exact = bool(exact)
        self._neg_sensitivity = -ctx.distance_sensitivity  # as numpy's -s * d takes it
        self._base = float(ctx.base_failure)
        self._minutes = float(ctx.failure_minutes)
        # attention's and residue's arithmetic in the dtypes numpy's focus functions use
        self._residue_size = np.result_type(residue_dtype, residue_size).type(residue_size)
        self._one = np.dtype(residue_dtype).type(1)
        # the outcome's buffers: zero except at the entries of the last step's events, which
        # the next event pass clears (their pages written now: sim/_jit.written_zeros)
        self._happens = written_zeros((3, n), bool)
        self._failures = written_zeros((3, n), bool)
        self._distance = written_zeros((3, n))
        self._failed = written_zeros(n, np.int16)
        # the last step's events: kind k's users rows[k, :count[k]], and every event's
        # -sensitivity * d, then its exp, kind after kind. Only a step's events are written:
        # pages past the most a step has had are never touched (np.empty)
        self._rows = np.empty((3, n), dtype=np.int32)
        self._count = np.zeros(3, dtype=np.int64)
        self._x = np.empty(3 * n)
        self.outcome = self._views()

    def step(self, u: np.ndarray, active: np.ndarray, layout: np.ndarray,
             last_layout: np.ndarray, attention: np.ndarray, failures_today: np.ndarray,
             residue: np.ndarray) -> ContextOutcome:
        """Draw this slot's context events and their failures; charge the failures in place.

        The arrays as the passes take them (a model's, passed as they are: no conversion):
        C-ordered and writable, in the dtypes below.

        Args:
            u: N x 7 float64 uniforms, drawn for every user (columns 0-2 decide the events of
                each kind, 3-5 their failures, 6 the teammate a colleague share picks).
            active: N bool active users.
            layout: N x S int16 layouts shown this slot.
            last_layout: N x S int16 layouts of each user's previous session.
            attention: N attention left (float32), less ``failure_minutes`` a failure.
            failures_today: N int16 failures today, plus this slot's.
            residue: N focus residue, grown once for a user with a failure.

        Returns:
            :attr:`outcome`, this step's (its arrays are the run's buffers).
        """
        happens, failures, distance, failed = (self._happens, self._failures, self._distance,
                                               self._failed)
        rows, count, x = self._rows, self._count, self._x
        total = event_rows(u, self._threshold, active, self._eligible,
                           self.teams.team, self.teams.members, self.teams.start,
                           self.teams.position, layout,
                           last_layout, self._default, self._weight, self._weight_sum,
                           self._neg_sensitivity, self._exact, happens, failures, distance,
                           failed, rows, count, x)
        if not total:  # nobody has an event: nothing to measure or charge
            return self.outcome
        if not self._exact:
            self._matvec_distances(u, layout, last_layout)
        ex = x[:total]
        np.exp(ex, out=ex)  # numpy's exp (its bits), over every kind's events at once
        failure_rows(u, rows, count, ex, self._base, failures, failed, self._minutes,
                     self._residue_size, self._one, attention, failures_today, residue)
        return self.outcome

    def _matvec_distances(self, u: np.ndarray, layout: np.ndarray,
                          last_layout: np.ndarray) -> None:
        """Distances and ``-sensitivity * d`` of each kind's events by the BLAS matvec, for
        weights whose sums are not exact in every order (a fractional core weight).
        """
        pos = 0
        for k in range(3):
            c = int(self._count[k])
            if not c:
                continue
            rows = self._rows[k, :c]
            if k == 0:
                other = last_layout[rows]
            elif k == 1:
                other = layout[self.teams.colleague(rows, u[rows, 6])]
            else:
                other = self._default
            d = layout_distance(layout[rows], other, self._weight)
            self._distance[k, rows] = d
            np.multiply(self._neg_sensitivity, d, out=self._x[pos:pos + c])
            pos += c

    def _views(self) -> ContextOutcome:
        """The outcome every step returns: read-only rows of the buffers."""

        def ro(a: np.ndarray) -> np.ndarray:
            v = a.view()
            v.setflags(write=False)
            return v

        events = dict(zip(KINDS, ro(self._happens), strict=True))
        failures = dict(zip(KINDS, ro(self._failures), strict=True))
        return ContextOutcome(events=events, failures=failures,
                              distance=dict(zip(KINDS, ro(self._distance), strict=True)),
                              failed=ro(self._failed),
                              rows=(*events.values(), *failures.values()))

    def __getstate__(self) -> dict[str, Any]:
        # the outcome's views would unpickle (or deep-copy) as copies of the buffers: rebuilt
        state = self.__dict__.copy()
        del state["outcome"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.outcome = self._views()


@compiled
def event_rows(u, threshold, active, eligible, team, members, start, position, layout,
               last_layout, default, weight, weight_sum, neg_sensitivity, exact, happens,
               failures, distance, failed, rows, count, x,
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """This step's events of each kind and, with ``exact``, their distances; returns how many.

    First the previous step's entries are cleared (``distance``, ``failures`` and ``failed``
    are zero elsewhere: only ``rows[k, :count[k]]`` were written). Then per user i and kind k:
    ``happens[k, i]`` = eligible and ``u[i, k] < threshold[k]`` (eligible: active and, for a
    device switch, ``eligible[0, i]`` (2+ devices), for a colleague share, ``eligible[1, i]``
    (a teammate)); the users it happens to listed in ``rows[k, :count[k]]``, ascending.

    With ``exact`` (whole-number weights, ``layout.exact_weights``), per event, kind after kind
    (``x`` packed in that order): the layout the other context shows (kind 0: ``last_layout[i]``;
    kind 1: the layout of the teammate ``u[i, 6]`` picks, ``network.colleague_of``; kind 2:
    ``default``, 1 x S), ``distance[k, i] = d = sum_s weight_s [layout[i, s] != other_s] /
    weight_sum`` (``layout.row_distance``) and ``x[j] = neg_sensitivity * d``. Without
    ``exact`` the caller computes those (the BLAS matvec's sums).
    """
    for k in range(3):
        for j in range(count[k]):
            i = rows[k, j]
            distance[k, i] = 0.0
            failures[k, i] = False
            failed[i] = 0
        count[k] = 0
    for i in range(u.shape[0]):
        for k in range(3):
            # the draw first: most users have no event, and then nothing else is read (3x
            # faster at N = 1e5 than testing activity first)
            h = u[i, k] < threshold[k] and active[i] and (k == 2 or eligible[k, i])
            happens[k, i] = h
            if h:
                rows[k, count[k]] = i
                count[k] += 1
    total = count[0] + count[1] + count[2]
    if not exact:
        return total
    pos = 0
    for k in range(3):
        for j in range(count[k]):
            i = rows[k, j]
            if k == 0:
                d = row_distance(layout, i, last_layout, i, weight, weight_sum)
            elif k == 1:
                mate = colleague_of(team, members, start, position, i, u[i, 6])
                d = row_distance(layout, i, layout, mate, weight, weight_sum)
            else:
                d = row_distance(layout, i, default, 0, weight, weight_sum)
            distance[k, i] = d
            x[pos] = neg_sensitivity * d
            pos += 1
    return total


@compiled
def failure_rows(u, rows, count, e, base, failures, failed, minutes, residue_size, one,
                 attention, failures_today, residue,
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Each event's failure, and the failures charged (after :func:`event_rows`).

    Event j (kind k's users ``rows[k, :count[k]]``, kind after kind) with ``e[j]`` = exp(-s d)
    fails when ``u[i, 3 + k] < base + (1 - base) * (1 - e[j])``: ``failures[k, i]`` is set and
    ``failed[i]`` counts it. Then per user with ``failed[i]`` = f > 0 failures (charged once,
    at its first failing kind): attention -= minutes x f (never below 0:
    :func:`~outcome_gym.sim.mechanisms.focus.attention_after` in float64, stored rounded to the
    attention's float32), failures_today += f, and focus residue grows once
    (:func:`~outcome_gym.sim.mechanisms.focus.residue_after`: ``r + size * (one - r)`` with
    ``one`` = 1 in residue's dtype and ``residue_size`` in the dtype numpy computes ``size * (1 -
    r)`` in, so the same roundings).
    """
    pos = 0
    for k in range(3):
        for j in range(count[k]):
            i = rows[k, j]
            if u[i, 3 + k] < base + (1.0 - base) * (1.0 - e[pos]):
                failures[k, i] = True
                failed[i] += 1
            pos += 1
    for k in range(3):
        for j in range(count[k]):
            i = rows[k, j]
            if not failures[k, i] or (k > 0 and failures[0, i]) or (k > 1 and failures[1, i]):
                continue  # no failure of this kind, or charged at an earlier kind
            f = failed[i]
            attention[i] = attention_after(np.float64(attention[i]), minutes * np.float64(f))
            failures_today[i] += f
            residue[i] = residue_after(residue[i], residue_size, one)


def compile_kernel() -> None:
    """Compile (or load from the cache) the passes now, for the population's dtypes."""
    # one team of two, in build_teams' dtypes
    teams = Teams(team=np.zeros(2, np.int32), members=np.arange(2, dtype=np.int64),
                  start=np.array([0, 2], np.int64), position=np.arange(2, dtype=np.int64))
    ctx = ContextParams(per_day=(1.0, 1.0, 1.0), base_failure=0.1, distance_sensitivity=1.0,
                        failure_minutes=1.0)
    yes = np.ones(2, bool)
    for exact in (True, False):
        run = ContextEvents(ctx, 2, yes, yes, teams, np.zeros(1, np.int16), np.ones(1), exact,
                            0.1, np.dtype(np.float32))
        run.step(np.full((2, 7), 0.25), yes, np.zeros((2, 1), np.int16),
                 np.zeros((2, 1), np.int16), np.ones(2, np.float32), np.zeros(2, np.int16),
                 np.zeros(2, np.float32))
