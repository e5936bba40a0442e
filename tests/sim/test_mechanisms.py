"""Hand-worked expectations for each mechanism (no simulation runs)."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.scenario.schema import ContextEvents, Instrumentation, UserModel
from outcome_gym.sim.layout import layout_distance
from outcome_gym.sim.mechanisms import context, engagement, notifications, sessions
from outcome_gym.sim.mechanisms.availability import available
from outcome_gym.sim.mechanisms.habits import update_habit
from outcome_gym.sim.mechanisms.observation import (
    EventPipe,
    pipe_rows,
    receptivity_signal,
    signal_separation,
)
from outcome_gym.sim.network import Teams, build_teams
from outcome_gym.sim.params import params_of
from outcome_gym.sim.population import habit_rate_from_days
from tests.sim import reference_engagement as ref_engagement
from tests.sim import reference_notifications as ref_notifications
from tests.sim import reference_sessions as ref_sessions
from tests.sim import reference_trust as ref_trust
from tests.sim.reference_layout import core_consistent, sampled_divergence

UM = UserModel()


def test_availability_is_weekday_times_slot_times_scale():
    table = np.zeros((1, 7, 2))
    table[0, 2, 1] = 0.5
    seg = np.zeros(3, dtype=np.int16)
    scale = np.array([1.0, 0.5, 1.0])
    active = np.array([True, True, False])
    u = np.array([0.49, 0.24, 0.0])
    # user 0: p = 0.5 > 0.49; user 1: p = 0.25 > 0.24; user 2 churned
    assert available(table, seg, scale, active, 2, 1, u).tolist() == [True, True, False]
    assert available(table, seg, scale, active, 2, 1, u + 0.02).tolist() == [False, False, False]


def test_availability_equals_the_numpy_formula_bit_for_bit():
    # the model's dtypes: float64 table, int16 segments, float32 scale; draws exactly on p
    rng = np.random.default_rng(6)
    n, k, slots = 3000, 3, 4
    table = rng.random((k, 7, slots))
    seg = rng.integers(0, k, n).astype(np.int16)
    scale, active = rng.random(n).astype(np.float32), rng.random(n) < 0.9
    for weekday, slot in ((0, 0), (6, 3), (2, 1)):
        p = table[seg, weekday, slot] * scale
        u = np.where(rng.random(n) < 0.3, p, rng.random(n))
        got = available(table, seg, scale, active, weekday, slot, u)
        assert np.array_equal(got, active & (u < p)) and got.any()


def test_habit_reaches_95_percent_after_d_days():
    days = np.array([18.0, 66.0, 254.0])
    c = habit_rate_from_days(days)
    h = np.zeros(3)
    missed = np.zeros(3, dtype=np.uint8)
    for d in range(254):
        h_before = h.copy()
        update_habit(h, c, np.ones(3, bool), missed, 0.01)
        if d + 1 == 18:
            assert h[0] == pytest.approx(0.95)
        if d + 1 == 66:
            assert h[1] == pytest.approx(0.95)
    assert h[2] == pytest.approx(0.95)
    assert (h >= h_before).all()


def test_one_missed_day_does_not_fade_two_do():
    h = np.array([0.5])
    c = np.array([0.1])
    m = np.array([0], np.uint8)
    update_habit(h, c, np.array([False]), m, 0.1)
    assert h[0] == 0.5 and m[0] == 1
    update_habit(h, c, np.array([False]), m, 0.1)
    assert h[0] == pytest.approx(0.45) and m[0] == 2
    update_habit(h, c, np.array([True]), m, 0.1)
    assert h[0] == pytest.approx(0.45 + 0.1 * 0.55) and m[0] == 0


def test_scan_depth_inverts_geometric():
    u = np.array([0.0, 0.34, 0.36, 0.99])
    # P(depth >= 2) = 0.65: u < 0.35 -> depth 1 (log1p(-u)/log(0.65) < 1)
    d = ref_engagement.scan_depth(u, 0.65, 5)
    assert d.tolist() == [1, 1, 2, 5]
    assert ref_engagement.scan_depth(u, 1.0, 3).tolist() == [3, 3, 3, 3]
    assert ref_engagement.scan_depth(u, 0.0, 3).tolist() == [1, 1, 1, 1]
    assert ref_engagement.scan_depth(u, 0.65, 1).tolist() == [1, 1, 1, 1]  # S = 1: no threshold


# the extremes: every threshold 1.0 (no u < 1 scans past position 1: 5e-324 .. 1e-17), and the
# least thresholds (~ m * 2^-53 for the greatest cont below 1)
_CONTS = [5e-324, 1e-300, 1e-17, 1e-3, 0.1, 0.3, 0.5, 0.65, 0.7, 0.9, 0.99, 1.0 - 1e-6,
          1.0 - 2.0**-52, 1.0 - 2.0**-53]


@pytest.mark.parametrize(("cont", "n_slots"),
                         [(c, 12) for c in _CONTS] + [(0.65, 1), (0.65, 2), (1.0 - 2.0**-53, 2)])
def test_scan_thresholds_give_the_inverted_depth_of_every_draw(cont, n_slots):
    # the pass compares the draw with thresholds instead of taking numpy's log1p of it: the same
    # depth for every float64 within 2^12 of each threshold (where a rounding could decide; the
    # run-time check looks at 64) and for 10^5 draws, and depth_of itself (the compiled
    # comparison) on the 64 either side; t_m is 1 - cont^m up to roundings (P(depth > m) =
    # cont^m)
    t = np.array(engagement.scan_thresholds(cont, n_slots))
    assert t.shape == (n_slots - 1,) and (np.diff(t) >= 0).all()
    reached = t < 1.0
    assert np.allclose(t[reached], 1.0 - cont ** np.arange(1, n_slots)[reached], atol=1e-12)
    assert reached.any() == (cont > 1e-16 and n_slots > 1)  # 1 - cont is 1.0 below ~1.1e-16

    def near(width):
        u = np.concatenate([np.arange(b - width, b + width + 1).view(np.float64)
                            for b in t.view(np.int64)] + [np.zeros(0)])
        return u[(u >= 0.0) & (u < 1.0)]

    u = np.concatenate([np.random.default_rng(0).random(10**5), near(2**12)])
    by_thresholds = 1 + (u[:, None] >= t[None, :]).sum(axis=1)
    assert np.array_equal(by_thresholds, ref_engagement.inverted_depth(u, cont, n_slots))
    assert np.unique(by_thresholds).size == 1 + np.unique(t[reached]).size  # every depth drawn
    u = near(64)
    assert np.array_equal(ref_engagement.scan_depth(u, cont, n_slots),
                          ref_engagement.inverted_depth(u, cont, n_slots))
    if reached.any():  # at and beside the first threshold
        at = np.array([np.nextafter(t[0], 0.0), t[0], np.nextafter(t[0], 1.0)])
        assert ref_engagement.scan_depth(at, cont, n_slots).tolist() == \
            ref_engagement.inverted_depth(at, cont, n_slots).tolist() == [1, 2, 2]


@pytest.mark.parametrize("cont", [np.nan, -0.1, 1.5, -np.inf])
def test_scan_thresholds_refuse_a_cont_outside_0_1(cont):
    with pytest.raises(ValueError, match="cascade_continue"):
        engagement.scan_thresholds(cont, 4)


def test_scan_thresholds_of_cont_0_and_1_scan_one_and_every_position():
    assert engagement.scan_thresholds(0.0, 4) == engagement.scan_thresholds(-0.0, 4) == (2.0,) * 3
    assert engagement.scan_thresholds(1.0, 4) == (0.0,) * 3


def test_scan_thresholds_check_fires_on_a_wrong_threshold():
    # cont = 0.65, S = 3: t_1 ~ 0.35, t_2 ~ 0.5775; moving t_1 one float64 up leaves the draw at
    # the true t_1 at depth 1 where the formula says 2, and the run-time check must say so
    log_cont = float(np.log(0.65))
    t = np.array(engagement.scan_thresholds(0.65, 3))
    assert np.allclose(t, [0.35, 1.0 - 0.65**2], atol=1e-15)
    engagement._check_thresholds(t, log_cont)  # the right ones pass
    for wrong in (np.nextafter(t[0], 1.0), np.nextafter(t[0], 0.0)):
        with pytest.raises(RuntimeError, match="scan depth of 1 draws"):
            engagement._check_thresholds(np.array([wrong, t[1]]), log_cont)
    with pytest.raises(RuntimeError, match="not ascending"):
        engagement._check_thresholds(t[::-1].copy(), log_cont)


def test_scan_thresholds_refuse_a_log1p_that_is_not_monotone(monkeypatch):
    # a log1p that, three float64s past the true t_1, returns the logarithm of a draw 100 below
    # it: the formula's depth there falls back to 1. Wherever the bisection then stops, the
    # thresholds and the formula differ within the checked window, so scan_thresholds raises
    t1 = engagement.scan_thresholds(0.65, 3)[0]
    bits = np.array([t1]).view(np.int64)
    dip, below = (bits + 3).view(np.float64)[0], (bits - 100).view(np.float64)[0]
    log1p = np.log1p

    def bent_log1p(x):
        return np.where(x == -dip, log1p(-below), log1p(x))

    monkeypatch.setattr(np, "log1p", bent_log1p)
    assert engagement._scan_steps(np.array([dip]), float(np.log(0.65)))[0] == 0.0  # depth 1
    with pytest.raises(RuntimeError, match="not monotone"):
        engagement.scan_thresholds.__wrapped__(0.65, 3)  # past the cache


def _one_user_inputs(layout, **kw):
    n_el = 2
    base = dict(layout=np.array([layout], dtype=np.int16), susceptibility=np.array([1.0]),
                goal_weight=np.array([1.0]), habit=np.zeros((1, n_el)), fatigue=np.zeros(1),
                need=np.zeros((1, 1)), remaining=np.zeros((1, 1)),
                attention_left=np.array([100.0]), residue=np.zeros(1))
    base.update(kw)
    return engagement.SessionInputs(**base)


@pytest.mark.parametrize(("u_choice", "expected_pos"), [(0.30, 0), (0.50, 1), (0.70, None)])
def test_choice_is_logit_with_position_discount_and_no_click(u_choice, expected_pos):
    um = UserModel(cascade_continue=1.0, max_engagements=1, appeal_utility=1.0)
    appeal = np.array([0.0, np.log(2.0)])
    cost = np.array([1.0, 2.0])
    value = np.zeros((2, 1))
    # weights: w0 = e^0 * 1 = 1; w1 = 2 * 2^-0.8 = 1.1487; total = 1 + 1 + 1.1487 = 3.1487
    # cumulative shares: pos 0 below 0.3176, pos 1 below 0.6824, else no click
    u = np.array([[0.5, u_choice, 0.9, 0.9]])
    out = engagement.run_sessions(params_of(um).choice, _one_user_inputs([0, 1]), appeal, cost, value, u)
    if expected_pos is None:
        assert out.clicks[0] == 0
    else:
        assert out.clicks[0] == 1
        assert out.position_clicks[expected_pos] == 1
        assert out.minutes[0] == cost[expected_pos]


def test_goal_progress_uses_focus_and_distraction_leaves_residue():
    um = UserModel(cascade_continue=1.0, max_engagements=2, residue=0.2, need_met_exit=0.0,
                   no_click_mass=1e-9)
    appeal = np.array([5.0, -50.0])  # element 0 (distraction) is all but certain to be chosen
    cost = np.array([1.0, 1.0])
    value = np.array([[0.0], [1.0]])
    u = np.full((1, 6), 0.01)
    inp = _one_user_inputs([0, 1], need=np.ones((1, 1)), remaining=np.ones((1, 1)))
    out = engagement.run_sessions(params_of(um).choice, inp, appeal, cost, value, u)
    assert out.clicks[0] == 2
    assert out.distraction_minutes[0] == 2.0
    assert out.residue[0] == pytest.approx(1 - 0.8 * 0.8)
    assert out.progress[0, 0] == 0.0


def test_useful_engagement_progress_is_value_times_focus():
    um = UserModel(cascade_continue=1.0, max_engagements=1, no_click_mass=1e-9)
    appeal = np.array([-50.0, 5.0])
    value = np.array([[0.0], [0.6]])
    inp = _one_user_inputs([0, 1], need=np.ones((1, 1)), remaining=np.ones((1, 1)),
                           residue=np.array([0.5]))
    out = engagement.run_sessions(params_of(um).choice, inp, appeal, np.ones(2), value, np.full((1, 4), 0.5))
    assert out.progress[0, 0] == pytest.approx(0.3)
    assert out.goal_minutes[0] == 1.0


def test_session_ends_when_attention_runs_out():
    um = UserModel(cascade_continue=1.0, max_engagements=8, no_click_mass=1e-9)
    inp = _one_user_inputs([0, 1], attention_left=np.array([3.0]))
    out = engagement.run_sessions(params_of(um).choice, inp, np.array([5.0, -50.0]),
                                  np.array([2.0, 1.0]), np.zeros((2, 1)), np.full((1, 18), 0.5))
    assert out.clicks[0] == 2 and out.attention_left[0] == 0.0


def _settle(um, count, receptive=None, fatigue=None, rate=0.1, attention=10.0, residue=0.0,
            size=0.2):
    """ref_notifications.settle for users with ``count`` deliveries of one template each column."""
    count = np.asarray(count)
    n, f32 = count.shape[0], np.float32
    delivered = np.arange(max(count.max(), 1))[None, :] < count[:, None]
    receptive = np.zeros(n, bool) if receptive is None else np.asarray(receptive)
    sending = ref_notifications.Sending(delivered, receptive, count.astype(np.int64), 1)
    tray = ref_notifications.TrayStep(None, *(np.zeros(delivered.shape, bool) for _ in range(3)),
                                  np.zeros((n, 1), bool))
    fatigue = np.zeros(n, f32) if fatigue is None else np.asarray(fatigue, f32)
    kept = np.power(1.0 - np.full(n, rate, f32), count)
    return ref_notifications.settle(um, size, sending, tray, np.ones(n, bool), fatigue, kept,
                                np.zeros(delivered.shape, f32), np.zeros((n, 1), bool),
                                np.full(n, attention, f32), np.full(n, residue, f32))


def test_fatigue_saturates():
    f = _settle(params_of(UM).notifications, [1, 2], fatigue=[0.0, 0.5]).fatigue
    assert f.tolist() == pytest.approx([0.1, 1 - 0.5 * 0.81])


def test_open_logit_hand_worked():
    um = params_of(UserModel()).notifications
    logit = ref_notifications.open_logit(
        um, appeal=np.array([0.5]), susceptibility=np.array([2.0]), goal_weight=np.array([1.0]),
        relevance=np.array([[0.4]]), receptive=np.array([True]), fatigue=np.array([0.2]),
        wear=np.array([[1.0]]), channel_trust=np.array([[0.7]]), background=np.array([56.0]))
    # open_base -1.36 (refit to pielot2018's 0.20, issue #14): -1.36 + 1 + 0.6 + 1 - 0.2 - 0.6 + 0.2
    expected = -1.36 + 2 * 0.5 + 1.5 * 0.4 + 1.0 - 1.0 * 0.2 - 0.6 * 1.0 + 1.0 * 0.2
    assert logit[0, 0] == pytest.approx(expected)


def test_optout_hazard_grows_with_volume_and_only_unreceptive_cannot_open():
    um = params_of(UserModel(optout_base=0.01, optout_volume=1.0)).notifications
    tray = notifications.Tray(np.zeros((3, 1), np.int32), np.zeros((3, 1), np.int32))
    sent = np.array([[1], [5], [5]], dtype=np.int16)
    trust_c = np.full((3, 1), 0.5)
    # logit -50: nobody opens, so receptive users 0 and 1 dismiss; user 2 is not receptive.
    # hazard: 0.01 * 1 * 2 * (1 - 0.5) = 0.01 < 0.02 vs 0.01 * 5 * 1 = 0.05 > 0.02
    u_out = np.full((3, 1), 0.02)
    left, opened, dismissed, opted = ref_notifications.deliver(
        um, tray, 0, np.full((3, 1), -50.0), np.array([True, True, False]), sent, trust_c,
        np.array([0]), 1, np.full((3, 1), 0.5), u_out)
    assert opened.sum() == 0 and dismissed[:, 0].tolist() == [True, True, False]
    assert opted[:, 0].tolist() == [False, True, False]  # user 2 never saw it: no opt-out
    assert left.sent[:, 0].tolist() == [-1, -1, 0]  # user 2's notification still waits
    minutes = _settle(um, [1, 1], receptive=[True, False]).interruption_minutes
    assert minutes.tolist() == [0.125, 0.25]  # 15 s, halved at a breakpoint


def test_session_start_probability():
    um = UserModel()
    u = np.array([0.2, 0.2, 0.9])
    # rate = 4/4 * e^0 * (1 + 0) * (0.5 + 0.5) = 1 -> p = 1 - e^-1 = 0.632
    out = ref_sessions.session_start(params_of(um).sessions, np.array([True, False, True]),
                                     np.array([False, False, True]), np.full(3, 4.0), np.zeros(3),
                                     np.zeros(3), np.full(3, 0.5), 4, u)
    assert out.tolist() == [True, False, True]  # unavailable never; opened always


def test_session_start_needs_attention_unless_a_notification_was_opened():
    um = params_of(UserModel()).sessions
    # every user would start (u = 0); user 0 has no attention left, user 1 opened a notification
    out = ref_sessions.session_start(um, np.ones(3, bool), np.array([False, True, False]),
                                     np.full(3, 4.0), np.zeros(3), np.zeros((3, 2)), np.full(3, 0.5),
                                     4, np.zeros(3), np.array([0.0, 0.0, 1.0], np.float32))
    assert out.tolist() == [False, True, True]


def test_session_start_equals_the_numpy_formula_bit_for_bit():
    # the model's dtypes: float32 traits, float64 N x G need (summed columns left to right, as the pass does)
    from tests.sim.reference_rows import rowsum

    um = sessions.SessionParams(session_habit=1.3, session_need=0.7)
    rng = np.random.default_rng(4)
    n, f32 = 2000, np.float32
    avail, opened = rng.random(n) < 0.7, rng.random(n) < 0.1
    prop, habit, trust = (rng.random(n).astype(f32) * 3 for _ in range(3))
    need, attention = rng.random((n, 3)), np.where(rng.random(n) < 0.2, 0.0, 1.0).astype(f32)
    rate = (prop / 24) * np.exp(um.session_habit * habit)
    rate = rate * (1.0 + um.session_need * rowsum(need)) * (0.5 + trust)
    p = 1.0 - np.exp(-rate)
    u = np.where(rng.random(n) < 0.3, p, rng.random(n))  # draws exactly on p: no start
    expected = avail & ((attention > 0) | opened) & ((u < p) | opened)
    got = ref_sessions.session_start(um, avail, opened, prop, habit, need, trust, 24, u, attention)
    assert np.array_equal(got, expected) and got[~opened].any()
    neg_rate = np.empty(n)  # and the rate's own bits
    sessions.rate_rows(prop, f32(24), np.exp(um.session_habit * habit), um.session_need, need,
                       trust, f32(0.5), neg_rate)
    assert neg_rate.tobytes() == (-rate).tobytes()


def test_trust_update_and_churn_hazard():
    um = UserModel(trust_gain=0.1, trust_waste=0.01, trust_overload=0.05, overload_free=3,
                   churn_trust=0.4, churn_rate=0.2, trust_memory=0.9, churn_base=0.001)
    tp = params_of(um, ContextEvents(failure_trust_cost=0.02)).trust
    # x = 0.1*2 - 0.01*10 - 0.05*(5 - 3) - 0.02*1 = -0.02
    x = ref_trust.experience(tp, np.array([2.0]), np.array([10.0]), np.array([5]), np.array([1]))
    assert x[0] == pytest.approx(-0.02)
    # day 1: npe = 0.9*0 - 0.02 = -0.02, trust = sigmoid(logit(0.5) - 0.02) = sigmoid(-0.02)
    t, npe = ref_trust.update_trust(tp, np.array([0.5]), np.array([0.0]), x)
    assert npe[0] == pytest.approx(-0.02) and t[0] == pytest.approx(1 / (1 + np.exp(0.02)))
    # day 2 without experience: npe = -0.018, log-odds back up by 0.002 (memory fades)
    t, npe = ref_trust.update_trust(tp, t, npe, np.array([0.0]))
    assert npe[0] == pytest.approx(-0.018) and t[0] == pytest.approx(1 / (1 + np.exp(0.018)))
    # hazard: 0.001 + 1 * 0.2 * (0.4 - 0.1)/0.4 = 0.151; at trust 0.5 only the base 0.001
    h = ref_trust.churn_hazard(tp, np.array([0.1, 0.5]), np.array([1.0, 1.0]))
    assert h.tolist() == pytest.approx([0.001 + 0.2 * 0.75, 0.001])


def test_close_day_runs_the_hand_worked_trust_update_and_churn():
    # the case above through the model's day close (trust's compiled passes), one user
    from dataclasses import replace
    from types import SimpleNamespace

    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.daily import close_day
    from outcome_gym.sim.model import SimulationModel

    um = UserModel(trust_gain=0.1, trust_waste=0.01, trust_overload=0.05, overload_free=3,
                   churn_trust=0.4, churn_rate=0.2, trust_memory=0.9, churn_base=0.001)
    tp = params_of(um, ContextEvents(failure_trust_cost=0.02)).trust
    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(1, 2), file="<t>")
    m = SimulationModel(sc, 0, mesa_agents=False)
    p, pop, f32 = replace(m.params, trust=tp), m.pop, np.float32

    def close(day: int, u: float) -> np.ndarray:
        # the churn draw given (u), not the stream's
        rows = SimpleNamespace(n_all=1, uniform=lambda _stream, _shape: np.array([u]))
        return close_day(pop, p, m.streams, day, 4 * day, rows)

    pop.trust[:], pop.trust_npe[:], pop.churn_sensitivity[:] = 0.5, 0.0, 1.0
    pop.progress_today[:], pop.waste_today[:], pop.failures_today[:] = 2.0, 10.0, 1
    pop.sent_today[:] = 0
    pop.sent_today[0, 0] = 5
    # day 1: x = -0.02, npe -0.02, trust sigmoid(-0.02) ~ 0.495 > 0.4: hazard 0.001 < u, stays
    assert not close(1, 0.002).any() and pop.active.tolist() == [True]
    assert pop.trust.dtype == f32 and pop.trust_npe.dtype == f32
    assert pop.trust_npe[0] == pytest.approx(-0.02, rel=1e-6)
    assert pop.trust[0] == pytest.approx(1 / (1 + np.exp(0.02)), rel=1e-6)
    # day 2 without experience (close_day emptied the day's sums; the sends are start_day's):
    # npe -0.018, log-odds back up by 0.002
    pop.sent_today[:] = 0
    assert not close(2, 0.002).any()
    assert pop.trust_npe[0] == pytest.approx(-0.018, rel=1e-6)
    assert pop.trust[0] == pytest.approx(1 / (1 + np.exp(0.018)), rel=1e-6)
    # trust 0.1 and nothing to remember: it stays 0.1, hazard 0.001 + 0.2 * 0.75 = 0.151
    pop.trust[:], pop.trust_npe[:] = 0.1, 0.0
    assert not close(3, 0.152).any() and pop.active.tolist() == [True]
    assert pop.trust[0] == pytest.approx(0.1, rel=1e-6)
    assert close(4, 0.15).tolist() == [True]
    assert pop.active.tolist() == [False] and pop.churn_day[0] == 4


def test_layout_distance_weights_core():
    w = np.array([4.0, 1.0, 1.0])
    a = np.array([[0, 1, 2]])
    assert layout_distance(a, np.array([[0, 2, 1]]), w)[0] == pytest.approx(2 / 6)
    assert layout_distance(a, np.array([[9, 1, 2]]), w)[0] == pytest.approx(4 / 6)
    assert core_consistent(np.array([[0, 2, 1], [1, 0, 2]]), np.array([0, 1, 2]),
                           np.array([True, False, False])).tolist() == [True, False]


def test_receptivity_signal_has_the_stated_auc():
    rng = np.random.default_rng(1)
    n = 200_000
    receptive = rng.random(n) < 0.4
    z = receptivity_signal(receptive, signal_separation(0.7), rng.standard_normal(n))
    pos, neg = z[receptive], z[~receptive]
    # AUC = P(score of a receptive > score of a non-receptive), estimated on random pairs
    auc = (rng.choice(pos, 100_000) > rng.choice(neg, 100_000)).mean()
    assert auc == pytest.approx(0.7, abs=0.01)
    # d' = sqrt(2) * Phi^-1(AUC): Phi^-1(0.7) = 0.5244005, Phi^-1(0.5) = 0, AUC 1 capped at 12
    assert signal_separation(0.7) == pytest.approx(1.4142136 * 0.5244005, abs=1e-6)
    assert signal_separation(0.5) == pytest.approx(0.0)
    assert signal_separation(1.0) == 12.0


def _push(pipe, step, events, u):
    """The pipe's step as the recorder runs it: this step's true counts by name (``events``; an
    instrumented event missing from it counts 0) as rows of a float64 matrix, :func:`pipe_rows`
    over them with ``u`` ((2 x events) x N uniforms), and what the product sees now.
    """
    names = [spec.event for spec in pipe.specs if spec.event in events]
    source = np.array([events[name] for name in names], np.float64).reshape(len(names), u.shape[1])
    rows = np.array([names.index(spec.event) if spec.event in events else -1
                     for spec in pipe.specs], np.int64)
    seen = np.empty((len(pipe.specs), u.shape[1]), np.int32)
    pipe_rows(source, rows, np.ascontiguousarray(u, np.float64), *pipe.pass_arrays(), step, seen)
    return pipe.visible(step, seen)


def test_event_pipe_delays_and_drops():
    inst = Instrumentation.model_validate({"events": [
        {"event": "g.completed", "delay_steps": 2},
        {"event": "g.failed", "delay_steps": 0, "miss_rate": 1.0}]})
    pipe = EventPipe(params_of(UM, inst=inst).events, 3)
    zeros = np.zeros((4, 3))
    seen = [_push(pipe, t, {"g.completed": np.array([t, 0, 1]), "g.failed": np.ones(3)}, zeros)
            for t in range(4)]
    assert seen[0]["g.completed"].tolist() == [0, 0, 0]
    assert seen[1]["g.completed"].tolist() == [0, 0, 0]
    assert seen[2]["g.completed"].tolist() == [0, 0, 1]
    assert seen[3]["g.completed"].tolist() == [1, 0, 1]
    assert all(s["g.failed"].sum() == 0 for s in seen)
    with pytest.raises(ValueError):
        seen[3]["g.completed"][0] = 5  # read-only


def test_receptivity_signal_equals_the_numpy_formula_bit_for_bit():
    # the compiled pass against (d' * receptive + z).astype(float32): AUCs below 0.5 too (d' < 0:
    # d' * False is -0.0), 1.0 (d' = 12), z over many magnitudes (the float32 rounding shows)
    rng = np.random.default_rng(4)
    for auc in (0.3, 0.5, 0.7, 0.93, 1.0):
        receptive = rng.random(500) < 0.5
        z = rng.standard_normal(500) * 10.0 ** rng.integers(-8, 8, 500)
        want = (signal_separation(auc) * receptive + z).astype(np.float32)
        got = receptivity_signal(receptive, signal_separation(auc), z)
        assert got.dtype == np.float32 and got.tobytes() == want.tobytes()
    # by hand: d' = 0 gives z rounded to float32; d' = 2 adds 2 to the receptive only
    assert receptivity_signal(np.array([True]), 0.0, np.array([0.1])).tolist() == [np.float32(0.1)]
    got = receptivity_signal(np.array([True, False]), 2.0, np.array([0.5, -0.25]))
    assert got.tolist() == [2.5, -0.25]


def test_event_pipe_pass_equals_the_numpy_formula():
    # the compiled pass against the numpy it replaced (one ring per event, numpy's where and
    # int32 arithmetic): random delays, rates, counts (whole floats and ints, an event the step
    # does not report) over 40 steps, bit for bit
    from outcome_gym.sim.mechanisms.observation import EventSpec

    rng = np.random.default_rng(8)
    specs = [EventSpec(f"g.e{i}", int(rng.integers(0, 5)), float(rng.uniform(0, 0.5)),
                       float(rng.uniform(0, 0.3))) for i in range(5)]
    n = 60
    pipe = EventPipe(specs, n)
    rings = [np.zeros((ev.delay_steps + 1, n), np.int32) for ev in specs]
    for step in range(40):
        events = {f"g.e{i}": rng.integers(0, 3, n).astype(float if i % 2 else np.int64)
                  for i in range(4)}  # g.e4 never reported: true count 0
        u = rng.random((2 * len(specs), n))
        got = _push(pipe, step, events, u)
        for i, (spec, ring) in enumerate(zip(specs, rings, strict=True)):
            true = events.get(spec.event, np.zeros(n)).astype(np.int32)
            now = np.where(u[2 * i] < spec.miss_rate, 0, true)
            now += (u[2 * i + 1] < spec.false_rate).astype(np.int32)
            ring[step % ring.shape[0]] = now
            want = (ring[(step - spec.delay_steps) % ring.shape[0]] if step >= spec.delay_steps
                    else np.zeros(n, np.int32))
            assert got[spec.event].dtype == np.int32
            assert got[spec.event].tobytes() == want.tobytes(), (step, i)


def test_event_pipe_by_hand():
    # one event, delay 1, miss below 0.5, spurious below 0.2; two users.
    # step 0: true (3, 1); user 0 missed (u 0.1) and spurious (u 0.1) -> 1; user 1 kept (0.9),
    #   not spurious (0.9) -> 1; nothing seen yet (delay 1). step 1: step 0's (1, 1) is seen.
    from outcome_gym.sim.mechanisms.observation import EventSpec

    pipe = EventPipe([EventSpec("g.e", 1, 0.5, 0.2)], 2)
    u = np.array([[0.1, 0.9], [0.1, 0.9]])
    assert _push(pipe, 0, {"g.e": np.array([3.0, 1.0])}, u)["g.e"].tolist() == [0, 0]
    assert _push(pipe, 1, {}, np.full((2, 2), 0.9))["g.e"].tolist() == [1, 1]
    assert _push(pipe, 2, {}, np.full((2, 2), 0.9))["g.e"].tolist() == [0, 0]  # step 1's nothing
    assert _push(EventPipe([], 2), 0, {}, np.zeros((0, 2))) == {}


def test_sampled_divergence_two_equal_halves():
    n = 400
    layout = np.zeros((n, 3), dtype=np.int16)
    layout[n // 2:, 2] = 7  # half the users differ in one of three equally weighted positions
    weight = np.ones(3)
    d, pairs, distinct, bits = sampled_divergence(layout, np.ones(n, bool), 0, n, weight,
                                                  np.random.default_rng(0), pairs=20_000)
    # P(two distinct users differ) = (n/2)^2 * 2 / (n (n - 1)); their distance is 1/3
    expected = (n / 2) ** 2 * 2 / (n * (n - 1)) / 3
    assert d / pairs == pytest.approx(expected, rel=0.03)
    assert distinct == 2 and bits == pytest.approx(1.0, abs=0.01)
    assert sampled_divergence(layout, np.zeros(n, bool), 0, n, weight,
                              np.random.default_rng(0)) == (0.0, 0, 0, 0.0)


def test_habit_pass_per_user_rate_on_a_matrix_keeps_float32():
    # two users x two elements, rates 0.5 (user 0) and 0.25 (user 1), fade 0.5, float32:
    # user 0 used element 0: 0.5 + 0.5 * (1 - 0.5) = 0.75; element 1 missed a 2nd day: 0.5 * 0.5
    # user 1 used element 1: 0.5 + 0.25 * 0.5 = 0.625; element 0 missed a 1st day: unchanged 0.5
    h = np.full((2, 2), 0.5, np.float32)
    rate = np.array([0.5, 0.25], np.float32)[:, None]
    used = np.array([[True, False], [False, True]])
    missed = np.array([[3, 1], [0, 7]], np.uint8)
    update_habit(h, rate, used, missed, 0.5)  # in place
    assert h.dtype == np.float32 and missed.dtype == np.uint8
    assert h.tolist() == [[0.75, 0.25], [0.5, 0.625]]
    assert missed.tolist() == [[0, 2], [1, 0]]
    # 255 missed days stay 255 (uint8 saturates, it does not wrap)
    one_h, one_m = np.full((1, 1), 0.5, np.float32), np.full((1, 1), 255, np.uint8)
    update_habit(one_h, rate[:1], np.zeros((1, 1), bool), one_m, 0.5)
    assert one_m.tolist() == [[255]]


def test_habit_update_refuses_arrays_it_could_not_write_in_place():
    # a strided habit or a missed-day count of another dtype would be copied, and the day's
    # update lost: refused instead
    h = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match="C-contiguous"):
        update_habit(h[:, ::2], np.float32(0.1), np.ones((2, 2), bool), np.zeros((2, 2), np.uint8),
                     0.1)
    with pytest.raises(ValueError, match="C-contiguous"):
        update_habit(h, np.float32(0.1), np.ones((2, 4), bool), np.zeros((2, 4), np.int64), 0.1)


def test_habit_update_says_whether_every_habit_is_finite():
    # the pass answers numpy's isfinite(habit).all() of what it stored: a NaN or an inf anywhere
    # (used or not) makes it False; finite habits True
    for bad in (None, np.nan, np.inf, -np.inf):
        for row, col in ((0, 0), (2, 1)):
            h = np.full((3, 2), 0.5, np.float32)
            if bad is not None:
                h[row, col] = bad
            got = update_habit(h, np.float32(0.1), np.array([[True, False]] * 3),
                               np.zeros((3, 2), np.uint8), 0.1)
            assert bool(got) == bool(np.isfinite(h).all()) == (bad is None)


def test_open_logit_on_float32_traits_is_numpys_mixed_arithmetic():
    # the compiled sum must give the bits numpy's expression gave on the model's float32 traits
    # (float32 products of a coefficient and a trait, widened where they meet float64 terms)
    um = params_of(UserModel()).notifications
    rng = np.random.default_rng(5)
    n, m = 50, 3
    f32 = np.float32
    appeal, background = rng.random(m), rng.random(m) * 100
    susc, gw, fat = (rng.random(n).astype(f32) for _ in range(3))
    rel, receptive = rng.random((n, m)), rng.random(n) < 0.5
    wear, trust = rng.random((n, m)).astype(f32), rng.random((n, m)).astype(f32)
    load = -0.5 * np.log(np.maximum(background, 1e-9) / 56.0)
    numpy_sum = (um.open_base + susc[:, None] * appeal[None, :]
                 + um.open_relevance * gw[:, None] * rel + um.open_receptive * receptive[:, None]
                 - um.open_fatigue * fat[:, None] - um.open_wear * wear
                 + um.open_trust * (trust - 0.5) + load[None, :])
    got = ref_notifications.open_logit(um, appeal, susc, gw, rel, receptive, fat, wear, trust,
                                   background)
    assert got.dtype == np.float64 and got.tobytes() == numpy_sum.tobytes()


def _colleague_numpy(teams, users, u):
    """Teams.colleague's numpy form before its compiled pass (reference)."""
    t = teams.team[users]
    size = teams.start[t + 1] - teams.start[t]
    offset = 1 + np.floor(u * np.maximum(size - 1, 1)).astype(np.int64)
    pos = (teams.position[users] + np.where(size > 1, offset, 0)) % np.maximum(size, 1)
    return teams.members[teams.start[t] + pos]


def _context_numpy(ctx, spd, active, can_switch, has_colleague, teams, layout, last_layout,
                   default, weight, u):
    """The context events' per-kind numpy form before their compiled passes (reference): the
    distances by the BLAS matvec, the failure chance written out.
    """
    eligible = (active & can_switch, active & has_colleague, active)
    n = layout.shape[0]
    events, failures, distances = {}, {}, {}
    for i, kind in enumerate(context.KINDS):
        happens = eligible[i] & (u[:, i] < ctx.per_day[i] / spd)
        rows = np.flatnonzero(happens)
        d = np.zeros(n)
        fail = np.zeros(n, dtype=bool)
        if rows.size:
            other = (last_layout[rows] if i == 0
                     else layout[_colleague_numpy(teams, rows, u[rows, 6])] if i == 1
                     else default[None, :])
            d[rows] = layout_distance(layout[rows], other, weight)
            p = ctx.base_failure + (1 - ctx.base_failure) * (
                1 - np.exp(-ctx.distance_sensitivity * d[rows]))
            fail[rows] = u[rows, 3 + i] < p
        events[kind], failures[kind], distances[kind] = happens, fail, d
    return events, failures, distances, np.add.reduce(list(failures.values()), dtype=np.int16)


def _one_team_of_two_and_two_alone():
    # users 0 and 1 share team 0; users 2 and 3 are alone (teams 1 and 2)
    return Teams(team=np.array([0, 0, 1, 2], np.int32), members=np.arange(4, dtype=np.int64),
                 start=np.array([0, 2, 3, 4], np.int64), position=np.array([0, 1, 0, 0]))


@pytest.mark.parametrize("exact", [True, False])
def test_context_events_equal_the_per_kind_numpy_form_bit_for_bit(exact):
    from outcome_gym.sim.mechanisms.focus import add_residue, spend_attention

    rng = np.random.default_rng(8)
    n, s, e = 400, 6, 9
    ctx = params_of(UM, ContextEvents(device_switch_per_day=2.0, colleague_share_per_day=1.5,
                                      support_contact_per_day=0.8)).context
    teams = build_teams(n, 3.0, rng)  # 133 teams of three and one user alone
    active, can_switch, has_colleague = (rng.random(n) < p for p in (0.9, 0.6, 0.7))
    default = np.arange(s, dtype=np.int16)
    weight = np.array([4.0, 4.0, 1.0, 1.0, 1.0, 1.0]) if exact else np.linspace(0.3, 2.9, s)
    size = 0.37
    run = context.ContextEvents(ctx, 4, can_switch, has_colleague, teams, default, weight, exact,
                                size, np.dtype(np.float32))
    attention = (rng.random(n) * 5).astype(np.float32)
    attention[:20] = 0.0
    today = rng.integers(0, 4, n).astype(np.int16)
    residue = (rng.random(n) * 0.6).astype(np.float32)
    for _ in range(3):  # each step clears the last one's events
        layout = rng.integers(0, e, (n, s)).astype(np.int16)
        last_layout = rng.integers(0, e, (n, s)).astype(np.int16)
        u = rng.random((n, 7))
        events, failures, distances, failed = _context_numpy(
            ctx, 4, active, can_switch, has_colleague, teams, layout, last_layout, default, weight,
            u)
        hit = failed > 0
        want_att = spend_attention(attention, ctx.failure_minutes * failed)
        want_today, want_res = today + failed, residue.copy()
        want_res[hit] = add_residue(residue[hit], size)
        got = run.step(u, active, layout, last_layout, attention, today, residue)
        assert got is run.outcome
        assert sum(int(v.sum()) for v in got.failures.values()) > 5  # failures happened
        for kind in context.KINDS:
            assert np.array_equal(got.events[kind], events[kind]), kind
            assert got.events[kind].sum() > 10, kind  # every kind happened
            assert np.array_equal(got.failures[kind], failures[kind]), kind
            assert got.distance[kind].tobytes() == distances[kind].tobytes(), kind
        assert got.failed.dtype == np.int16 and np.array_equal(got.failed, failed)
        assert attention.tobytes() == want_att.tobytes()
        assert np.array_equal(today, want_today) and today.dtype == np.int16
        assert residue.tobytes() == want_res.tobytes()


def test_context_events_by_hand():
    # weights (4, 1): d = (4 [first differs] + 1 [second differs]) / 5; thresholds 1 / 2 = 0.5;
    # base failure 0.1, sensitivity 2: p = 0.1 + 0.9 (1 - exp(-2 d)); 2 minutes a failure.
    # user 0 (2 devices, a teammate): a device switch, last layout = its layout: d = 0, p = 0.1,
    #   u = 0.05 fails; a support contact, its layout = the default: d = 0, p = 0.1, u = 0.1
    #   does not (not below p)
    # user 1 (one device: no switch even at u = 0): a colleague share, its teammate user 0
    #   shows (0, 1) against its (1, 0): d = 1, p = 0.1 + 0.9 (1 - e^-2) = 0.878, u = 0.8 fails
    # user 2 (alone: no share even at u = 0): a support contact, (0, 5) against (0, 1):
    #   d = 0.2, p = 0.1 + 0.9 (1 - e^-0.4) = 0.397, u = 0.5 does not fail
    # user 3: inactive, nothing
    ctx = context.ContextParams(per_day=(1.0, 1.0, 1.0), base_failure=0.1,
                                distance_sensitivity=2.0, failure_minutes=2.0)
    default = np.array([0, 1], np.int16)
    run = context.ContextEvents(ctx, 2, np.array([True, False, True, True]),
                                np.array([True, True, False, True]),
                                _one_team_of_two_and_two_alone(), default, np.array([4.0, 1.0]),
                                True, 0.5, np.dtype(np.float32))
    layout = np.array([[0, 1], [1, 0], [0, 5], [7, 1]], np.int16)
    u = np.full((4, 7), 0.9)
    u[0, [0, 2, 3, 5]] = 0.1, 0.2, 0.05, 0.1
    u[1, [0, 1, 4]] = 0.0, 0.3, 0.8
    u[2, [1, 2, 5]] = 0.0, 0.4, 0.5
    u[3] = 0.0
    active = np.array([True, True, True, False])
    attention, today = np.array([5, 1, 5, 5], np.float32), np.zeros(4, np.int16)
    residue = np.full(4, 0.5, np.float32)
    out = run.step(u, active, layout, layout.copy(), attention, today, residue)
    events = [out.events[k].tolist() for k in context.KINDS]
    assert events == [[True, False, False, False], [False, True, False, False],
                      [True, False, True, False]]
    assert [out.failures[k].tolist() for k in context.KINDS] == [
        [True, False, False, False], [False, True, False, False], [False] * 4]
    assert [out.distance[k].tolist() for k in context.KINDS] == [
        [0.0] * 4, [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.2, 0.0]]
    assert out.failed.tolist() == [1, 1, 0, 0] and today.tolist() == [1, 1, 0, 0]
    # 5 - 2 = 3; 1 - 2 stops at 0; residue 0.5 + 0.5 (1 - 0.5) for a failure
    assert attention.tolist() == [3.0, 0.0, 5.0, 5.0]
    assert residue.tolist() == [0.75, 0.75, 0.5, 0.5]
    # the next slot nobody has an event: the last one's entries are cleared, nothing charged
    assert run.step(np.full((4, 7), 0.9), active, layout, layout, attention, today,
                    residue) is out
    assert not any(out.events[k].any() or out.failures[k].any() or out.distance[k].any()
                   for k in context.KINDS)
    assert not out.failed.any() and attention.tolist() == [3.0, 0.0, 5.0, 5.0]
    with pytest.raises(ValueError, match="read-only"):
        out.failed[0] = 1


def test_context_events_matvec_and_compiled_distances_agree():
    # whole-number weights: the matvec path (exact=False) gives the compiled path's bits
    rng = np.random.default_rng(3)
    n, s = 300, 5
    ctx = params_of(UM, ContextEvents(device_switch_per_day=3.0, colleague_share_per_day=3.0,
                                      support_contact_per_day=3.0)).context
    teams = build_teams(n, 4.0, rng)
    yes = np.ones(n, bool)
    runs = [context.ContextEvents(ctx, 4, yes, yes, teams, np.arange(s, dtype=np.int16),
                                  np.array([4.0, 1, 1, 4, 1]), exact, 0.2, np.dtype(np.float32))
            for exact in (True, False)]
    layout, last = (rng.integers(0, 7, (n, s)).astype(np.int16) for _ in range(2))
    u = rng.random((n, 7))
    state = [(np.full(n, 9, np.float32), np.zeros(n, np.int16), np.zeros(n, np.float32))
             for _ in runs]
    a, b = (r.step(u, yes, layout, last, *st) for r, st in zip(runs, state, strict=True))
    assert a.failed.sum() > 20
    for k in context.KINDS:
        assert a.distance[k].tobytes() == b.distance[k].tobytes()
        assert np.array_equal(a.failures[k], b.failures[k])
    assert all(x.tobytes() == y.tobytes() for x, y in zip(*state, strict=True))


def test_context_events_pickle_with_their_outcome_on_their_buffers():
    import pickle

    ctx = context.ContextParams(per_day=(0.0, 0.0, 2.0), base_failure=1.0,
                                distance_sensitivity=1.0, failure_minutes=1.0)
    no = np.zeros(4, bool)
    run = pickle.loads(pickle.dumps(context.ContextEvents(
        ctx, 1, no, no, _one_team_of_two_and_two_alone(), np.zeros(2, np.int16), np.ones(2),
        True, 0.1, np.dtype(np.float32))))
    u = np.full((4, 7), 0.5)  # every active user has a support contact, and it fails (base 1)
    out = run.step(u, np.array([True, False, True, False]), np.zeros((4, 2), np.int16),
                   np.zeros((4, 2), np.int16), np.ones(4, np.float32), np.zeros(4, np.int16),
                   np.zeros(4, np.float32))
    assert out.failed.tolist() == [1, 0, 1, 0]
    assert out.events["support_contact"].tolist() == [True, False, True, False]
    # the rows the recorder stacks (recording.CONTEXT's order), rebuilt on the new buffers: the
    # events' and then the failures' arrays of each kind, the same objects
    want = (*(out.events[k] for k in context.KINDS), *(out.failures[k] for k in context.KINDS))
    assert len(out.rows) == 6 and all(a is b for a, b in zip(out.rows, want, strict=True))
    assert out.rows[5].tolist() == [True, False, True, False]  # support_contact's failures


def _charge(failed, minutes, size, attention, today, residue):
    """failure_rows charging ``failed[i]`` failures to user i (its kinds 0 .. failed[i] - 1,
    each certain: base failure 1).
    """
    n = failed.shape[0]
    rows, count = np.zeros((3, n), np.int32), np.zeros(3, np.int64)
    for i in range(n):
        for k in range(int(failed[i])):
            rows[k, count[k]] = i
            count[k] += 1
    one = np.dtype(residue.dtype).type(1)
    context.failure_rows(np.zeros((n, 7)), rows, count, np.zeros(3 * n), 1.0,
                         np.zeros((3, n), bool), np.zeros(n, np.int16), minutes,
                         np.result_type(residue.dtype, size).type(size), one, attention, today,
                         residue)


def test_charge_answers_max_at_zero_and_nan_as_numpy():
    """np.maximum(x, 0) gives +0.0 for -0.0 and keeps a NaN; the pass's inlined max must too (a
    ``not x >= 0`` form kept -0.0: a sign bit the numpy step never had).
    """
    from outcome_gym.sim.mechanisms.focus import spend_attention

    attention = np.array([-0.0, 0.0, np.nan, 2.0, -1.0], np.float32)
    failed = np.ones(5, np.int16)
    want = spend_attention(attention, 0.0 * failed)
    _charge(failed, 0.0, 0.1, attention, np.zeros(5, np.int16), np.zeros(5, np.float32))
    assert np.array_equal(np.signbit(attention), np.signbit(want))
    assert np.array_equal(attention, want, equal_nan=True)
    assert not np.signbit(attention[0]) and np.isnan(attention[2])  # by hand: +0.0, NaN


def test_the_per_user_focus_forms_equal_the_numpy_forms_at_the_edges():
    """focus.residue_after and attention_after (what the passes call) answer as add_residue and
    spend_attention, in float32 and float64, at -0.0, 0, a NaN and an overspent budget.
    """
    from outcome_gym.sim.mechanisms.focus import (
        add_residue,
        attention_after,
        residue_after,
        spend_attention,
    )

    for dtype in (np.float32, np.float64):
        residue = np.array([0.0, 0.2, 0.5, 0.9, 1.0], dtype)
        one, size = dtype(1), dtype(0.15)
        # numba returns a Python float: a float32 result is exact in it, so the cast is exact
        got = np.array([residue_after(r, size, one) for r in residue], dtype)
        assert np.array_equal(got, add_residue(residue, 0.15))
        assert got[1] == dtype(0.2) + dtype(0.15) * (dtype(1) - dtype(0.2))  # by hand: 0.32
    attention = np.array([-0.0, 0.0, np.nan, 2.0, 0.5], np.float32)
    for minutes in (0.0, 1.0):
        got = np.array([attention_after(np.float64(a), minutes) for a in attention], np.float32)
        want = spend_attention(attention, np.full(5, minutes))
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))  # -0.0 - 0 gives +0.0
    assert attention_after(2.0, 1.0) == 1.0 and attention_after(0.5, 1.0) == 0.0


def test_charge_equals_spend_attention_and_add_residue_bit_for_bit():
    from outcome_gym.sim.mechanisms.focus import add_residue, spend_attention

    rng = np.random.default_rng(2)
    n = 500
    failed = rng.integers(0, 4, n).astype(np.int16)
    attention = (rng.random(n) * 5).astype(np.float32)
    attention[:20] = 0.0
    today = rng.integers(0, 4, n).astype(np.int16)
    residue = (rng.random(n) * 0.6).astype(np.float32)
    minutes, size = 1.7, 0.37  # Python floats, as the params hold them
    hit = failed > 0
    want_att = spend_attention(attention, minutes * failed)
    want_today = today + failed
    want_res = residue.copy()
    want_res[hit] = add_residue(residue[hit], size)
    _charge(failed, minutes, size, attention, today, residue)
    assert np.array_equal(attention, want_att) and attention.dtype == np.float32
    assert np.array_equal(today, want_today) and today.dtype == np.int16
    assert np.array_equal(residue, want_res)
    # by hand: 2 failures of 1.7 minutes from 3 minutes leave 0 (never below); residue 0.5
    # after one failure's 0.37: 0.5 + 0.37 * 0.5 = 0.685 (in float32), once for two failures
    a, t, r = np.array([3.0], np.float32), np.zeros(1, np.int16), np.array([0.5], np.float32)
    _charge(np.array([2], np.int16), 1.7, 0.37, a, t, r)
    assert a.tolist() == [0.0] and t.tolist() == [2]
    assert r[0] == np.float32(0.5) + np.float32(0.37) * (np.float32(1.0) - np.float32(0.5))


def test_event_pipe_rows_of_a_matrix_by_hand():
    # the recorder's way in: event 0's counts in row 2 of a float64 matrix, event 1 not reported
    # this step (row -1: 0); delay 0, nothing missed, nothing spurious -> seen as they are
    from outcome_gym.sim.mechanisms.observation import EventSpec

    pipe = EventPipe([EventSpec("g.a", 0, 0.0, 0.0), EventSpec("g.b", 0, 0.0, 0.0)], 3)
    source = np.array([[9.0, 9.0, 9.0], [8.0, 8.0, 8.0], [2.0, 0.0, 1.0]])
    out = np.empty((2, 3), np.int32)
    pipe_rows(source, np.array([2, -1]), np.full((4, 3), 0.5), *pipe.pass_arrays(), 0, out)
    seen = pipe.visible(0, out)
    assert seen["g.a"].tolist() == [2, 0, 1] and seen["g.b"].tolist() == [0, 0, 0]
    assert seen["g.a"].dtype == np.int32


def test_a_starter_kept_for_a_run_gives_each_step_what_a_fresh_one_gives():
    # the model keeps one sessions.Starter per run: its buffers carry nothing from one step to
    # the next (the first step's answer is a fresh array, not overwritten by the second)
    um = sessions.SessionParams(session_habit=0.8, session_need=0.5)
    rng = np.random.default_rng(9)
    n, f32 = 300, np.float32
    prop, habit, trust = (rng.random(n).astype(f32) * 3 for _ in range(3))
    starter = sessions.Starter(um, 24, n, np.dtype(f32), np.dtype(f32), np.dtype(f32))
    kept = []
    for _ in range(2):
        avail, opened = rng.random(n) < 0.7, rng.random(n) < 0.1
        need, u = rng.random((n, 2)), rng.random(n)
        attention = np.where(rng.random(n) < 0.2, 0.0, 1.0).astype(f32)
        got = starter.step(avail, opened, prop, habit, need, trust, u, attention)
        want = ref_sessions.session_start(um, avail, opened, prop, habit, need, trust, 24, u,
                                          attention)
        assert np.array_equal(got, want) and got[~opened].any()
        kept.append((got, want.copy()))
    assert np.array_equal(*kept[0]) and kept[0][0] is not kept[1][0]


def test_a_starter_keeps_the_habit_term_until_told_the_habit_changed():
    # a model's app habit changes only at a day's start: at the other slots the starter reuses
    # the term exp(session_habit * app_habit) of its last computation
    um = sessions.SessionParams(session_habit=0.8, session_need=0.5)
    rng = np.random.default_rng(4)
    n, f32 = 400, np.float32
    prop, trust = (rng.random(n).astype(f32) * 3 for _ in range(2))
    day_habit, later_habit = (rng.random(n).astype(f32) * 3 for _ in range(2))
    avail, opened = rng.random(n) < 0.7, np.zeros(n, bool)
    need, u, attention = rng.random((n, 2)), rng.random(n), np.ones(n, f32)
    starter = sessions.Starter(um, 24, n, np.dtype(f32), np.dtype(f32), np.dtype(f32))
    starter.step(avail, opened, prop, day_habit, need, trust, u, attention, True)
    kept = starter.step(avail, opened, prop, later_habit, need, trust, u, attention, False)
    again = starter.step(avail, opened, prop, later_habit, need, trust, u, attention, True)

    def want(habit):
        return ref_sessions.session_start(um, avail, opened, prop, habit, need, trust, 24, u,
                                          attention)

    assert np.array_equal(kept, want(day_habit)) and np.array_equal(again, want(later_habit))
    assert not np.array_equal(want(day_habit), want(later_habit))  # the habits start apart


def test_a_starter_computes_the_habit_term_at_its_first_call_whatever_it_is_told():
    # a first call told the habit has not changed has no earlier term to keep (np.empty's)
    um = sessions.SessionParams(session_habit=0.8, session_need=0.5)
    rng = np.random.default_rng(5)
    n, f32 = 400, np.float32
    prop, trust, habit = (rng.random(n).astype(f32) * 3 for _ in range(3))
    avail, opened = rng.random(n) < 0.7, np.zeros(n, bool)
    need, u, attention = rng.random((n, 2)), rng.random(n), np.ones(n, f32)
    starter = sessions.Starter(um, 24, n, np.dtype(f32), np.dtype(f32), np.dtype(f32))
    starter._habit_term[:] = np.nan  # what np.empty may hold: no user would start
    got = starter.step(avail, opened, prop, habit, need, trust, u, attention, False)
    want = ref_sessions.session_start(um, avail, opened, prop, habit, need, trust, 24, u,
                                      attention)
    assert np.array_equal(got, want) and want.any()
