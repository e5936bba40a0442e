"""Trust and churn (docs/design.md, step 8).

Once a day:

    trust <- clip(trust + trust_gain * progress - trust_waste * distraction_minutes
                  - trust_overload * max(0, sends - overload_free) - failure_trust_cost * failures)
    hazard = churn_rate * churn_sensitivity * max(0, (churn_trust - trust) / churn_trust)

Reflective value (goal progress) builds trust; attention spent on what serves no goal, notification
overload and context failures erode it; low trust makes quitting likely (kleinberg2024: optimising
revealed behaviour gives long sessions of little value and later abrupt quitting; the latent,
slowly eroding state follows RecSim's long-term-satisfaction environment, recsim_lts). Sizes are D.
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
        churn_trust, churn_rate: Trust below which churn rises, and the daily hazard at trust 0.
    """

    trust_gain: float
    trust_waste: float
    trust_overload: float
    overload_free: int
    failure_trust_cost: float
    churn_trust: float
    churn_rate: float


def update_trust(
    um: TrustParams,
    trust: np.ndarray,
    progress: np.ndarray,
    waste: np.ndarray,
    sends: np.ndarray,
    failures: np.ndarray,
) -> np.ndarray:
    """One day of trust change (all arguments are per-user totals for the day)."""
    overload = np.maximum(sends - um.overload_free, 0)
    delta = (
        um.trust_gain * progress
        - um.trust_waste * waste
        - um.trust_overload * overload
        - um.failure_trust_cost * failures
    )
    return np.clip(trust + delta, 0.0, 1.0).astype(trust.dtype)


def churn_hazard(um: TrustParams, trust: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    """Daily probability of quitting."""
    gap = np.maximum(um.churn_trust - trust, 0.0) / max(um.churn_trust, 1e-9)
    return np.clip(um.churn_rate * sensitivity * gap, 0.0, 1.0)


def churn(
    um: TrustParams,
    trust: np.ndarray,
    sensitivity: np.ndarray,
    active: np.ndarray,
    u: np.ndarray,
) -> np.ndarray:
    """Who quits today (N bools): active users whose uniform ``u`` falls under their hazard."""
    return active & (u < churn_hazard(um, trust, sensitivity))
