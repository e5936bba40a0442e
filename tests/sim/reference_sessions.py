"""Session start's whole-array way in for tests: :func:`session_start`, on any arrays.

Moved out of ``src`` in the ninth pass's review (issue #18): only tests called it (and
``sessions.compile_kernel``, which now builds a :class:`~outcome_gym.sim.mechanisms.sessions.
Starter` as a model does). It runs the same compiled passes as a model's step (a ``Starter``
built for the call), taking what the step never gives: a 1-D ``need``, no ``attention_left``,
arrays in any dtype or order.
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim.mechanisms.sessions import SessionParams, Starter


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
    attention_left: np.ndarray | None = None,
) -> np.ndarray:
    """Who starts a session this slot (N bools): :meth:`Starter.step` of a starter built for
    this call, on the arrays in the dtypes its passes take.

    Args:
        um: The mechanism's coefficients.
        available: N available flags (step 3).
        opened_any: N users who opened a notification this step (they always start one).
        propensity, app_habit, trust: N traits and state (float32 in a model).
        need: N summed goal urgency, or N x G urgency per goal (summed here, left to right).
        slots_per_day: S.
        u: N uniforms from the ``sessions`` stream.
        attention_left: N minutes left today: a self-initiated session needs some (``None``: no
            such condition).
    """
    need2 = need.reshape(need.shape[0], -1) if need.ndim == 1 else need
    n = need2.shape[0]
    prop = np.ascontiguousarray(propensity)
    attention = np.ones(n, np.float32) if attention_left is None else attention_left
    starter = Starter(um, slots_per_day, n, prop.dtype, np.asarray(app_habit).dtype,
                      np.asarray(trust).dtype)
    return starter.step(np.ascontiguousarray(available, bool),
                        np.ascontiguousarray(opened_any, bool), prop,
                        np.ascontiguousarray(app_habit), np.ascontiguousarray(need2),
                        np.ascontiguousarray(trust), np.ascontiguousarray(u, np.float64),
                        np.ascontiguousarray(attention))
