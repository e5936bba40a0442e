"""Engagement's whole-array ways in for tests: :func:`engage` (opened notifications, then the
sessions of the users who started one), :func:`scan_depth`, on any arrays, and
:func:`inverted_depth`, the scan depth's formula by numpy.

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
    _trait_dtype,
    depth_of,
    scan_thresholds,
)


def scan_depth(u: np.ndarray, cont: float, n_slots: int) -> np.ndarray:
    """Cascade depth 1 + Geometric(1 - cont), capped at S, as the pass takes it: :func:`depth_of`
    of each draw and the thresholds :func:`scan_thresholds`.
    """
    scan_at = np.array(scan_thresholds(float(cont), int(n_slots)))
    return np.fromiter((depth_of(x, scan_at) for x in np.asarray(u, dtype=np.float64)),
                       np.int64, np.shape(u)[0])


def inverted_depth(u: np.ndarray, cont: float, n_slots: int) -> np.ndarray:
    """Cascade depth by inversion, ``min(1 + floor(log1p(-u) / log(cont)), S)`` by numpy (1 when
    ``cont <= 0``, S when ``cont >= 1``): what the step computed before the twelfth pass, and
    what :func:`scan_thresholds` must give the same depths as.
    """
    u = np.asarray(u, dtype=np.float64)
    if cont <= 0.0:
        return np.ones(u.shape, np.int64)
    if cont >= 1.0:
        return np.full(u.shape, n_slots, np.int64)
    return np.minimum(1 + np.floor(np.log1p(-u) / np.log(cont)).astype(np.int64), n_slots)


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
