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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def experience(
    um: TrustParams,
    progress: np.ndarray,
    waste: np.ndarray,
    sends: np.ndarray,
    failures: np.ndarray,
) -> np.ndarray:
    """The day's experience x in log-odds of trust (all arguments are per-user day totals)."""
    overload = np.maximum(sends - um.overload_free, 0)
    return (
        um.trust_gain * progress.astype(np.float64)
        - um.trust_waste * waste
        - um.trust_overload * overload
        - um.failure_trust_cost * failures
    )


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of a probability, kept finite at 0 and 1."""
    q = np.clip(p.astype(np.float64), 1e-6, 1.0 - 1e-6)
    return np.log(q) - np.log1p(-q)


def update_trust(
    um: TrustParams, trust: np.ndarray, npe: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One day of trust: returns (trust, npe) after the day's experience ``x``.

    Today's trust already holds ``logit(trust_0) + npe``, so the new trust moves its log-odds by
    the change of npe (``trust`` is the state other mechanisms read; the offset is not stored).
    """
    new_npe = um.trust_memory * npe.astype(np.float64) + x
    z = logit(trust) + (new_npe - npe)
    return (1.0 / (1.0 + np.exp(-z))).astype(trust.dtype), new_npe.astype(npe.dtype)


def churn_hazard(um: TrustParams, trust: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    """Daily probability of quitting."""
    gap = np.maximum(um.churn_trust - trust, 0.0) / max(um.churn_trust, 1e-9)
    return np.clip(um.churn_base + sensitivity * um.churn_rate * gap, 0.0, 1.0)


def churn(
    um: TrustParams,
    trust: np.ndarray,
    sensitivity: np.ndarray,
    active: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Who quits today (N bools): active users whose uniform ``u`` falls under their hazard."""
    return active & (u < churn_hazard(um, trust, sensitivity))
