"""Trust and churn (DESIGN step 8).

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

import numpy as np

from outcome_gym.scenario.schema import UserModel


def update_trust(
    um: UserModel,
    trust: np.ndarray,
    progress: np.ndarray,
    waste: np.ndarray,
    sends: np.ndarray,
    failures: np.ndarray,
    failure_cost: float,
) -> np.ndarray:
    """One day of trust change (all arguments are per-user totals for the day)."""
    overload = np.maximum(sends - um.overload_free, 0)
    delta = (
        um.trust_gain * progress
        - um.trust_waste * waste
        - um.trust_overload * overload
        - failure_cost * failures
    )
    return np.clip(trust + delta, 0.0, 1.0).astype(trust.dtype)


def churn_hazard(um: UserModel, trust: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    """Daily probability of quitting."""
    gap = np.maximum(um.churn_trust - trust, 0.0) / max(um.churn_trust, 1e-9)
    return np.clip(um.churn_rate * sensitivity * gap, 0.0, 1.0)
