"""Engagement's whole-array ways in for tests: :func:`engage` (opened notifications, then the
sessions of the users who started one) and :func:`scan_depth`, on any arrays.

Moved out of ``src`` in the ninth pass (issue #18): only tests called them. They run the same
compiled pass as a model's step (``engage_rows``; :func:`scan_depth` applies its scan depth,
``depth_of``, per entry); ``run_sessions`` and ``SessionInputs`` stay in ``src``
(experiments/studies/mechanisms.py uses them).
"""

from __future__ import annotations

import numpy as np

from outcome_gym.sim.mechanisms.engagement import (
    ChoiceParams,
    Engagement,
    Fixed,
    SessionInputs,
    _engage_all,
    _log_cont,
    _trait_dtype,
    depth_of,
    stay_logs_of_negated,
)


def scan_depth(u: np.ndarray, cont: float, n_slots: int, log_cont: float | None = None
               ) -> np.ndarray:
    """Cascade depth 1 + Geometric(1 - cont) by inversion, capped at S (:func:`depth_of` of
    numpy's ``log1p(-u)``, :func:`stay_logs_of_negated`).

    ``log_cont``: ``np.log(cont)`` when the caller has it (:class:`Fixed`: once per run).
    """
    u = np.asarray(u, dtype=np.float64)
    lg = stay_logs_of_negated(-u, cont)
    log_cont = _log_cont(cont) if log_cont is None else log_cont
    cont, log_cont, n_slots = float(cont), float(log_cont), int(n_slots)
    return np.fromiter((depth_of(x, cont, log_cont, n_slots) for x in lg), np.int64, lg.shape[0])


def engage(
    um: ChoiceParams,
    inp: SessionInputs,
    opened: np.ndarray,
    started: np.ndarray,
    pushed: np.ndarray,
    appeal: np.ndarray,
    cost: np.ndarray,
    value: np.ndarray,
    u: np.ndarray,
    memory_rows: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> Engagement:
    """Opened notifications first, then the sessions of the users who started one.

    Args:
        um: The mechanism's coefficients.
        inp: Inputs for all N users (``remaining``, ``attention_left`` and ``residue`` as the slot
            stands before engagement).
        opened: N x M opened notifications.
        started: N users who started a session.
        pushed: M element index of each notification column.
        appeal, cost: Per element (E).
        value: E x G progress per engagement.
        u: N x (2 + 2 * max_engagements) uniforms from the ``choice`` stream, drawn for every
            user (only the rows of users in session are read), so one user's draws never depend
            on who else is in a session.
        memory_rows: Layout memory's ``expertise`` and ``select_minutes`` (n x S) for the users
            in session only, in user order (computed for those rows alone, to keep the cost
            proportional to the sessions); ``None``: the ones in ``inp``, if any (all N rows).

    :class:`Fixed` is built here, per call (a model's :class:`StepPass` builds it once per run).
    """
    rows = np.asarray(started).nonzero()[0]  # np.flatnonzero of the 1-D flags
    if memory_rows is None:
        memory_rows = (_take(inp.expertise, rows), _take(inp.select_minutes, rows))
    fixed = Fixed.of(um, pushed, appeal, cost, value, inp.layout.shape[1], _trait_dtype(inp))
    return _engage_all(um, inp, opened, rows, fixed, u, memory_rows)


def _take(a: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    """``a``'s ``rows`` (None stays None: an input the scenario does not have)."""
    return None if a is None else a[rows]
