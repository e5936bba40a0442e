"""Trust and churn (docs/design.md, step 8).

Trust is a long-term satisfaction with memory, in RecSim's long-term-satisfaction form (recsim_lts:
``NPE <- memory * NPE + experience``, ``SAT = sigmoid(sensitivity * NPE)``). Once a day:

    x     = trust_gain * progress - trust_waste * distraction_minutes
            - trust_overload * max(0, sends - overload_free) - failure_trust_cost * failures
    npe   <- trust_memory * npe + x                      (npe starts at 0)
    trust = sigmoid(logit(trust_0) + npe)                 (trust_0: the user's initial trust)
    hazard = churn_base + churn_sensitivity * churn_rate * max(0, (churn_trust - trust) / churn_trust)

The sensitivity of LTS is folded into the per-unit coefficients (x is in log-odds). Unlike LTS the
starting point is not forgotten: ``logit(trust_0)`` is a per-user offset, so a user with no
experience keeps their initial trust. Because experience is discounted, trust can only approach 1
under experience that stays high every day (no saturation from summing). Reflective value (goal
progress) builds trust; attention spent on what serves no goal, overload and context failures
erode it (kleinberg2024); low trust makes quitting likely. ``churn_base`` is the churn that has
nothing to do with the product's experience (fitted to recurly2023's voluntary churn, see
docs/calibration.md); the other coefficients are D.

A day's close is three compiled passes around numpy's ``log``, ``log1p`` and ``exp`` (their bits):
:func:`experience_rows` (x, npe and the clipped trust), :func:`odds_rows` (minus the new log-odds)
and :func:`churn_rows` (the new trust and npe of the active users, the hazard and who quits). The
float work is numpy's on the population's dtypes (float32 trust, npe and day totals, int16 counts),
in its order; the whole-array formulas are tests/sim/reference_trust.py's, held to the passes bit
for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.sim._jit import compiled


@dataclass(frozen=True)
class TrustParams:
    """The coefficients of trust and churn (docs/model.md section 4.8).

    Attributes:
        trust_gain, trust_waste, trust_overload: Trust per unit of goal progress, per distraction
            minute and per send beyond ``overload_free`` a day.
        overload_free: Daily sends before overload costs trust.
        failure_trust_cost: Trust per context failure (the scenario's ``context`` block).
        churn_trust, churn_rate: Trust below which churn rises, and the added daily hazard at
            trust 0.
        trust_memory: Daily discount of past experience (recsim_lts's memory_discount; D).
        churn_base: Daily hazard at any trust (fitted to recurly2023).
    """

    trust_gain: float
    trust_waste: float
    trust_overload: float
    overload_free: int
    failure_trust_cost: float
    churn_trust: float
    churn_rate: float
    trust_memory: float
    churn_base: float


LOW, HIGH = 1e-6, 1.0 - 1e-6
"""Where trust is clipped before its log-odds are taken (kept finite at 0 and 1)."""


@compiled
def experience_rows(gain, waste_u, overload_u, overload_free, failure_u, memory, progress, waste,
                    sent_today, failures, trust, npe, new_npe, q, neg_q
                    ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user: the day's experience and npe, and the trust whose log-odds numpy takes next.

    ::

        x       = gain f64(progress) - waste_u waste - overload_u max(sends - free, 0)
                  - failure_u failures                    (sends = sum_c sent_today, integers)
        new_npe = memory f64(npe) + x
        q       = clip(f64(trust), LOW, HIGH),   neg_q = -q

    ``waste_u`` in the day totals' dtype (float32: numpy's product of a Python float and a
    float32 array is float32), the rest float64 (an integer count times a Python float is).
    """
    for i in range(trust.shape[0]):
        sends = np.int64(0)
        for c in range(sent_today.shape[1]):
            sends += sent_today[i, c]
        over = max(sends - overload_free, np.int64(0))
        x = gain * np.float64(progress[i]) - waste_u * waste[i]
        x = x - overload_u * over
        x = x - failure_u * failures[i]
        new_npe[i] = memory * np.float64(npe[i]) + x
        t = np.float64(trust[i])
        if t < LOW:  # np.clip: a NaN stays NaN
            t = LOW
        elif t > HIGH:
            t = HIGH
        q[i] = t
        neg_q[i] = -t


@compiled
def odds_rows(log_q, log1p_neg_q, new_npe, npe, out
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Minus the new log-odds per user: ``-((log q - log1p(-q)) + (new_npe - f64(npe)))`` (the
    logarithms numpy's; the negation exact, what the ``exp`` takes).
    """
    for i in range(out.shape[0]):
        out[i] = -((log_q[i] - log1p_neg_q[i]) + (new_npe[i] - np.float64(npe[i])))


@compiled
def churn_rows(exp_neg_z, new_npe, trust, npe, sensitivity, u, churn_trust, scale, rate, base,
               zero, one, day, active, churn_day, trust_out, npe_out, quit_now
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user: the new trust and npe (an active user's; a churned user's stay where they
    were), who quits today, and whether every new trust is finite.

    ::

        trust  = f32(1 / (1 + exp(-z))) if active, npe = f32(new_npe) if active
        hazard = clip(base + (sensitivity rate) max(churn_trust - trust, 0) / scale, 0, 1)
        quit   = active and u < hazard;   then active = False, churn_day = day

    ``churn_trust``, ``scale`` (= max(churn_trust, 1e-9)), ``rate``, ``base``, ``zero`` and
    ``one`` in the trust's dtype: the hazard is float32 as numpy computed it on float32 trust,
    compared with the float64 draw ``u`` widened. ``max`` as numpy's ``maximum`` (a NaN stays
    NaN). The new trust and npe are rounded to their dtypes as they are stored (as ``astype``).
    """
    finite = True
    for i in range(trust.shape[0]):
        a = active[i]
        if a:
            trust_out[i] = 1.0 / (1.0 + exp_neg_z[i])
            npe_out[i] = new_npe[i]
        else:
            trust_out[i] = trust[i]
            npe_out[i] = npe[i]
        t = trust_out[i]
        finite &= (t - t) == 0  # 0 for a finite t, NaN for an inf or a NaN
        gap = churn_trust - t
        if not (gap >= zero or gap != gap):
            gap = zero
        h = base + sensitivity[i] * rate * (gap / scale)
        if h < zero:  # np.clip: a NaN stays NaN
            h = zero
        elif h > one:
            h = one
        q = a and u[i] < h
        quit_now[i] = q
        if q:
            active[i] = False
            churn_day[i] = day
    return finite


def compile_kernel() -> None:
    """Compile (or load from the cache) the day's close passes now, for the population's
    float32 trust, npe, traits and day totals and int16 counts.
    """
    f32 = np.ones(1, np.float32)
    one, yes = np.ones(1), np.ones(1, bool)
    experience_rows(0.1, np.float32(0.1), 0.1, 3, 0.1, 0.9, f32, f32.copy(),
                    np.ones((1, 1), np.int16), np.ones(1, np.int16), f32.copy(), f32.copy(),
                    one.copy(), one.copy(), one.copy())
    odds_rows(one, one.copy(), one.copy(), f32, one.copy())
    c = np.float32(0.5)
    churn_rows(one, one.copy(), f32, f32.copy(), f32.copy(), one.copy(), c, c, c, c, c, c, 1, yes,
               np.full(1, -1, np.int32), f32.copy(), f32.copy(), yes.copy())
