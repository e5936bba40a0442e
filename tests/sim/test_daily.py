"""The day's accumulators (sim/daily.py ``accumulate``): hand-worked, and equal to numpy's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from outcome_gym.sim.daily import accumulate
from tests.sim import reference_trust as ref_trust
from tests.sim.reference_rows import rowsum


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


def _numpy_close(pop, p, u, day):
    """close_day's trust and churn as numpy's whole-array formulas (before its passes), after
    the habits: tests/sim/reference_trust.py."""
    x = ref_trust.experience(p.trust, pop.progress_today, pop.waste_today, rowsum(pop.sent_today),
                       pop.failures_today)
    new_trust, new_npe = ref_trust.update_trust(p.trust, pop.trust, pop.trust_npe, x)
    pop.trust = np.where(pop.active, new_trust, pop.trust)
    pop.trust_npe = np.where(pop.active, new_npe, pop.trust_npe)
    quit_now = ref_trust.churn(p.trust, pop.trust, pop.churn_sensitivity, pop.active, u)
    pop.active &= ~quit_now
    pop.churn_day[quit_now] = day
    return quit_now


def test_close_day_equals_the_numpy_formulas_bit_for_bit():
    # trust's passes replaced numpy's whole-array formulas: the same bits for every user, at the
    # clip's edges (trust 0 and 1), for churned users (their trust and npe kept), for a hazard
    # above 1 and below 0 (clipped), and the churn stream left where the draw leaves it
    import copy
    from dataclasses import replace

    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.daily import close_day
    from outcome_gym.sim.model import SimulationModel

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(400, 2), file="<t>")
    m = SimulationModel(sc, 3, mesa_agents=False)
    rng = np.random.default_rng(5)
    pop, n = m.pop, m.pop.n
    pop.trust[:] = rng.random(n).astype(np.float32)
    pop.trust[:4] = [0.0, 1.0, 1e-9, np.float32(0.3)]  # clipped, clipped, clipped, the knee
    pop.trust_npe[:] = rng.normal(0, 1, n).astype(np.float32)
    pop.progress_today[:] = (rng.random(n) * 3).astype(np.float32)
    pop.waste_today[:] = (rng.random(n) * 90).astype(np.float32)
    pop.sent_today[:] = rng.integers(0, 9, pop.sent_today.shape).astype(np.int16)
    pop.failures_today[:] = rng.integers(0, 3, n).astype(np.int16)
    pop.churn_sensitivity[:] = (rng.random(n) * 40 - 5).astype(np.float32)  # hazard < 0, > 1
    pop.active[rng.random(n) < 0.2] = False
    for p in (m.params, replace(m.params, trust=replace(m.params.trust, churn_base=0.0))):
        a, b = copy.deepcopy(pop), copy.deepcopy(pop)
        sa, sb = copy.deepcopy(m.streams), copy.deepcopy(m.streams)
        got = close_day(a, p, sa, 5, 20)
        # the habits and the day's reset as close_day does them, trust and churn by numpy
        b_habits = copy.deepcopy(b)
        close_day(b_habits, p, copy.deepcopy(m.streams), 5, 20)
        b.habit, b.missed_days = b_habits.habit, b_habits.missed_days
        b.app_habit, b.app_missed = b_habits.app_habit, b_habits.app_missed
        want = _numpy_close(b, p, sb["churn"].random(n), 5)
        b.reset_day()
        assert got.any() and not got.all() and np.array_equal(got, want)
        for name in ("trust", "trust_npe", "active", "churn_day", "used_today", "waste_today"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
        assert sa["churn"].bit_generator.state == sb["churn"].bit_generator.state


def test_start_day_refresh_by_hand():
    # user 0 active: attention back to its budget 30, fatigue 0.5 * (1 - 0.25) = 0.375, wear
    # 0.5 * (1 - 0.5) = 0.25 in both columns; user 1 churned: attention 0; sends and residue
    # zeroed for both
    from outcome_gym.sim.daily import refresh_rows

    f32 = np.float32
    attention, fatigue = np.array([3.0, 7.0], f32), np.array([0.5, 0.5], f32)
    wear, sent = np.full((2, 2), 0.5, f32), np.array([[2], [5]], np.int16)
    residue = np.array([0.25, 0.75], f32)
    refresh_rows(np.array([True, False]), np.array([30.0, 40.0], f32), attention, fatigue,
                 np.array([0.25, 0.5], f32), f32(1.0), wear, f32(0.5), sent, residue)
    assert attention.tolist() == [30.0, 0.0]
    assert fatigue.tolist() == [0.375, 0.25]
    assert wear.tolist() == [[0.25, 0.25], [0.25, 0.25]]
    assert sent.tolist() == [[0], [0]] and residue.tolist() == [0.0, 0.0]


def test_start_day_refresh_equals_the_numpy_updates_bit_for_bit():
    # refresh_rows replaced these numpy statements of start_day: the same bits (float32 state,
    # the wear factor a Python float rounded to float32 as numpy does), compiled and as Python
    from outcome_gym.sim.daily import refresh_rows

    rng = np.random.default_rng(13)
    n, m, c = 301, 3, 2
    for run in (refresh_rows, refresh_rows.py_func):
        for wear_recovery in (0.1, 1 / 3, 0.0):
            pop = SimpleNamespace(
                active=rng.random(n) < 0.8,
                attention_budget=(rng.random(n) * 300).astype(np.float32),
                attention_left=(rng.random(n) * 50).astype(np.float32),
                fatigue=rng.random(n).astype(np.float32),
                fatigue_recovery=rng.random(n).astype(np.float32),
                wear=rng.random((n, m)).astype(np.float32),
                sent_today=rng.integers(0, 5, (n, c)).astype(np.int16),
                residue=rng.random(n).astype(np.float32))
            want = SimpleNamespace(**{k: v.copy() for k, v in vars(pop).items()})
            want.attention_left[:] = np.where(want.active, want.attention_budget, 0.0)
            want.fatigue *= 1.0 - want.fatigue_recovery
            want.wear *= 1.0 - wear_recovery
            want.sent_today[:] = 0
            want.residue[:] = 0.0
            run(pop.active, pop.attention_budget, pop.attention_left, pop.fatigue,
                pop.fatigue_recovery, pop.fatigue_recovery.dtype.type(1.0), pop.wear,
                pop.wear.dtype.type(1.0 - wear_recovery), pop.sent_today, pop.residue)
            for k in vars(pop):
                x, y = getattr(pop, k), getattr(want, k)
                assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), (run, k)


def test_start_day_itself_gives_the_numpy_refresh_bit_for_bit():
    # start_day's own call of refresh_rows (its factors rounded to the state's dtype as numpy
    # rounded the scenario's Python floats), on a model's state after a day of use with some
    # users gone, against the five numpy statements it replaced
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.daily import start_day
    from outcome_gym.sim.model import SimulationModel

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(60, 3), file="<t>")
    m = SimulationModel(sc, 4, mesa_agents=False)
    for _ in range(m.world.slots_per_day):  # a day of use: fatigue, wear, sends, residue
        m.step()
    pop, rng = m.pop, np.random.default_rng(5)
    pop.active[rng.random(pop.n) < 0.3] = False
    pop.fatigue[:] = rng.random(pop.n).astype(np.float32)  # entries whose products round
    # rates whose 1 - r is not exact in float32 (the scenarios' 0.5 is: a float64 one would pass)
    pop.fatigue_recovery = (rng.random(pop.n) * 0.5).astype(np.float32)
    pop.wear[:] = rng.random(pop.wear.shape).astype(np.float32)
    pop.residue[:] = rng.random(pop.n).astype(np.float32)
    names = ("attention_left", "fatigue", "wear", "sent_today", "residue")
    want = {k: getattr(pop, k).copy() for k in names}
    want["attention_left"][:] = np.where(pop.active, pop.attention_budget, 0.0)
    want["fatigue"] *= 1.0 - pop.fatigue_recovery
    want["wear"] *= 1.0 - m.params.day.wear_recovery
    want["sent_today"][:] = 0
    want["residue"][:] = 0.0
    start_day(pop, m.goals, m.params, m.streams, 0, m.t)  # day 0: no close, only the start
    assert 0.0 < m.params.day.wear_recovery < 1.0 and np.any(want["wear"] != 0)
    for k in names:
        got = getattr(pop, k)
        assert got.dtype == want[k].dtype and got.tobytes() == want[k].tobytes(), k


def test_close_day_refuses_an_app_habit_that_is_no_longer_finite():
    # the app habit's pass says whether every habit it stored is finite: an inf (or a NaN) in
    # one user's app habit stops the day's close as numpy's isfinite check did
    import pytest

    from outcome_gym.errors import NumericalError
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.daily import close_day
    from outcome_gym.sim.model import SimulationModel

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(20, 2), file="<t>")
    for bad in (np.inf, np.nan):
        m = SimulationModel(sc, 0, mesa_agents=False)
        close_day(m.pop, m.params, m.streams, 1, 4)  # finite: fine
        m.pop.app_habit[7] = bad
        with pytest.raises(NumericalError, match="habits/trust"):
            close_day(m.pop, m.params, m.streams, 2, 8)
