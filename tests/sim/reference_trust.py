"""Trust and churn's whole-array formulas for tests (mechanisms/trust.py's module docstring):
numpy on any arrays. ``sim.daily.close_day`` runs trust's compiled passes, held to these bit for
bit (tests/sim/test_daily.py).
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim.mechanisms.trust import TrustParams


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
