"""Session start (docs/design.md, step 5).

An available user opens the product in this slot with probability

    p = 1 - exp(-(propensity / S) * exp(session_habit * app_habit) * (1 + session_need * need)
                * (0.5 + trust))

where ``need`` is the user's summed goal urgency and S the slots per day, so that ``propensity`` reads
as self-initiated sessions per day for a user available in every slot, without habit or need.
Opening a notification always starts a session (the tap leads into the product); a self-initiated
session needs attention left today. Habit raises self-initiated use (lally2010, buyalskaya2023); low
trust lowers it (kleinberg2024: low reflective value, later quitting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SessionParams:
    """The ``user_model`` coefficients of session start (docs/model.md section 4.5).

    Attributes:
        session_habit: Multiplier of app habit in the exponent (lally2010, buyalskaya2023).
        session_need: Weight of summed goal urgency.
    """

    session_habit: float
    session_need: float


def session_start(
    um: SessionParams,
    available: np.ndarray,
    opened_any: np.ndarray,
    propensity: np.ndarray,
    app_habit: np.ndarray,
    need: np.ndarray,
    trust: np.ndarray,
    slots_per_day: int,
    u: np.ndarray,
) -> np.ndarray:
    """Who starts a session this slot (N bools)."""
    rate = (propensity / slots_per_day) * np.exp(um.session_habit * app_habit)
    rate = rate * (1.0 + um.session_need * need) * (0.5 + trust)
    p = 1.0 - np.exp(-rate)
    return available & ((u < p) | opened_any)
