"""The day's accumulators (sim/daily.py ``accumulate``): hand-worked, and equal to numpy's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from outcome_gym.sim._rows import rowsum
from outcome_gym.sim.daily import accumulate


def _pop(n: int, e: int, s: int, rng: np.random.Generator) -> SimpleNamespace:
    return SimpleNamespace(
        used_today=rng.random((n, e)) < 0.3, session_today=rng.random(n) < 0.3,
        last_layout=rng.integers(0, e, (n, s)).astype(np.int16),
        progress_today=rng.random(n).astype(np.float32),
        waste_today=(10 * rng.random(n)).astype(np.float32))


def test_accumulate_by_hand():
    pop = SimpleNamespace(used_today=np.array([[False, True], [False, False]]),
                          session_today=np.array([False, True]),
                          last_layout=np.array([[0, 1], [1, 0]], np.int16),
                          progress_today=np.array([0.5, 0.0], np.float32),
                          waste_today=np.array([1.0, 2.0], np.float32))
    # user 0 starts a session on layout [1, 0], clicks element 0, makes 0.25 + 0.5 progress and
    # 3 distraction minutes; user 1 has no session (keeps its layout and session flag)
    accumulate(pop, np.array([True, False]), np.array([[1, 0], [0, 1]], np.int16),
               np.array([[1, 0], [0, 0]], np.int16), np.array([[0.25, 0.5], [0.0, 0.0]]),
               np.array([3.0, 0.0]))
    assert pop.used_today.tolist() == [[True, True], [False, False]]
    assert pop.session_today.tolist() == [True, True]
    assert pop.last_layout.tolist() == [[1, 0], [1, 0]]
    assert pop.progress_today.tolist() == [1.25, 0.0]
    assert pop.waste_today.tolist() == [4.0, 2.0]


def test_accumulate_equals_the_numpy_updates_bit_for_bit():
    # the pass replaced these numpy updates of the model's bookkeeping: the same bits
    rng = np.random.default_rng(11)
    n, e, s = 300, 6, 5
    for n_goals in (0, 1, 3):
        a, b = _pop(n, e, s, rng), None
        b = SimpleNamespace(**{k: v.copy() for k, v in vars(a).items()})
        started = rng.random(n) < 0.4
        layout = rng.integers(0, e, (n, s)).astype(np.int16)
        clicks = (rng.random((n, e)) < 0.2).astype(np.int16)
        progress = rng.random((n, n_goals)) / 7.0
        distraction = rng.random(n) * 3.3
        accumulate(a, started, layout, clicks, progress, distraction)
        b.used_today |= clicks > 0
        b.session_today |= started
        b.last_layout[started] = layout[started]
        b.progress_today += rowsum(progress).astype(np.float32)
        b.waste_today += distraction.astype(np.float32)
        for k in vars(a):
            assert np.array_equal(getattr(a, k), getattr(b, k)), (n_goals, k)
            assert getattr(a, k).dtype == getattr(b, k).dtype


def test_close_day_refuses_a_trust_that_is_no_longer_finite():
    import pytest

    from outcome_gym.errors import NumericalError
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.daily import close_day
    from outcome_gym.sim.model import SimulationModel

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(20, 2), file="<t>")
    m = SimulationModel(sc, 0, mesa_agents=False)
    close_day(m.pop, m.params, m.streams, 1, 4)  # finite: fine
    m.pop.trust[3] = np.nan
    with pytest.raises(NumericalError, match="habits/trust"):
        close_day(m.pop, m.params, m.streams, 2, 8)
