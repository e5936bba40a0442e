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

from outcome_gym.sim._jit import compiled


@dataclass(frozen=True)
class SessionParams:
    """The ``user_model`` coefficients of session start (docs/model.md section 4.5).

    Attributes:
        session_habit: Multiplier of app habit in the exponent (lally2010, buyalskaya2023).
        session_need: Weight of summed goal urgency.
    """

    session_habit: float
    session_need: float


class Starter:
    """Session start of one run: two compiled passes around numpy's ``exp`` of the rate, and
    numpy's ``exp`` of the habit term when the app habit changed (a model's: at a day's start).

    :func:`rate_rows` and :func:`start_rows`, on buffers kept for the run; the float work in
    numpy's dtypes and order, so the bits are those of the whole-array formula. (The tests'
    ``session_start``, tests/sim/reference_sessions.py, builds one per call.)

    Args:
        um: The mechanism's coefficients.
        slots_per_day: S.
        n: Users.
        propensity_dtype, habit_dtype, trust_dtype: The traits' dtypes (float32 in a model).
    """

    def __init__(self, um: SessionParams, slots_per_day: int, n: int,
                 propensity_dtype: np.dtype, habit_dtype: np.dtype,
                 trust_dtype: np.dtype) -> None:
        self._slots = np.dtype(propensity_dtype).type(slots_per_day)
        self._half = np.dtype(trust_dtype).type(0.5)
        # numpy applies a Python float to a float32 array in float32
        self._habit_u = np.dtype(habit_dtype).type(um.session_habit)
        self._need_u = float(um.session_need)
        self._habit_term = np.empty(n, habit_dtype)
        self._habit_ready = False  # the term is computed at the first call, whatever it says
        self._rate = np.empty(n)

    def step(self, available: np.ndarray, opened_any: np.ndarray, propensity: np.ndarray,
             app_habit: np.ndarray, need: np.ndarray, trust: np.ndarray, u: np.ndarray,
             attention_left: np.ndarray, habit_changed: bool = True) -> np.ndarray:
        """Who starts a session this slot (a fresh N bool array).

        Args:
            available: N available flags (step 3).
            opened_any: N users who opened a notification this step (they always start one).
            propensity, app_habit: N traits (the dtypes the starter was built for).
            need: N x G float64 urgency per goal (summed here, left to right).
            trust: N trust (its dtype as built for).
            u: N float64 uniforms from the ``sessions`` stream.
            attention_left: N minutes left today: a self-initiated session needs some.
            habit_changed: ``app_habit`` may differ from the last call's: its term
                ``exp(session_habit * app_habit)`` is computed again (kept in this starter's
                buffer). A model's app habit changes only at the day's close, so it passes
                False at a day's other slots (two numpy calls less a step). The first call
                computes the term whatever this says (there is no earlier one to keep).

        All C-ordered (a model's arrays, passed as they are).
        """
        habit = self._habit_term
        if habit_changed or not self._habit_ready:
            np.exp(np.multiply(app_habit, self._habit_u, out=habit), out=habit)
            self._habit_ready = True
        rate_rows(propensity, self._slots, habit, self._need_u, need, trust, self._half,
                  self._rate)
        out = np.empty(available.shape[0], bool)
        start_rows(available, opened_any, attention_left, u, np.exp(self._rate, out=self._rate),
                   out)
        return out


@compiled
def rate_rows(propensity, slots, habit_term, need_u, need, trust, half, out
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Minus the start rate per user, as the module docstring's numpy formula computed it.

    ::

        -((propensity / S) * e) * (1 + need_u * sum_g need_g) * (1/2 + trust)

    ``e`` = numpy's ``exp(session_habit * app_habit)``; ``slots`` and ``half`` in the traits'
    dtypes (float32: the first product and ``1/2 + trust`` are float32, the rest float64); the
    need's columns summed left to right from a float64 first column.
    """
    n, g_n = need.shape
    for i in range(n):
        s = 0.0
        if g_n > 0:
            s = np.float64(need[i, 0])
            for g in range(1, g_n):
                s += need[i, g]
        rate = (propensity[i] / slots) * habit_term[i]
        out[i] = -(rate * (1.0 + need_u * s) * (half + trust[i]))


@compiled
def start_rows(available, opened_any, attention_left, u, exp_neg_rate, out
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out = available and (attention_left > 0 or opened) and (u < 1 - exp(-rate) or opened)``
    per user (``exp_neg_rate``: numpy's ``exp``; ``1 - e`` one IEEE subtraction).
    """
    for i in range(out.shape[0]):
        can = available[i] and (attention_left[i] > 0 or opened_any[i])
        out[i] = can and (u[i] < 1.0 - exp_neg_rate[i] or opened_any[i])


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`rate_rows` and :func:`start_rows` now (see
    engagement.compile_kernel): a model's :meth:`Starter.step`, for the population's float32
    traits and float64 need.
    """
    f32, yes = np.dtype(np.float32), np.ones(1, bool)
    one = np.ones(1, f32)
    Starter(SessionParams(0.0, 0.0), 1, 1, f32, f32, f32).step(
        yes, yes, one, one.copy(), np.ones((1, 1)), one.copy(), np.ones(1), one.copy())
