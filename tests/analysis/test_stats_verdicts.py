"""Paired statistics and verdict rules with hand-worked expectations."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.analysis.stats import PairedStat, paired, sign_flip_p
from outcome_gym.analysis.verdict import decide
from outcome_gym.metrics.flat import MetricInfo


def test_paired_means_lift_and_effect_size():
    ref = np.array([10.0, 12.0, 14.0, 16.0])
    pol = np.array([11.0, 13.5, 15.0, 17.5])  # differences 1, 1.5, 1, 1.5
    st = paired(ref, pol)
    assert st.diff == pytest.approx(1.25)
    assert st.lift == pytest.approx(14.25 / 13.0 - 1)
    assert st.effect_size == pytest.approx(1.25 / np.std([1, 1.5, 1, 1.5], ddof=1))
    # Student-t interval: 1.25 +- t(0.975, 3) * sd / 2
    half = 3.182446305 * np.std([1, 1.5, 1, 1.5], ddof=1) / 2
    assert (st.diff_low, st.diff_high) == pytest.approx((1.25 - half, 1.25 + half))
    assert st.p_value == pytest.approx(2 / 16) and not st.up  # 4 seeds cannot reach 5%
    assert st.lift_low <= st.lift <= st.lift_high


def test_sign_flip_exact_p():
    # all 4 differences positive: only the all-plus and all-minus sign patterns reach |mean|
    assert sign_flip_p(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(2 / 16)
    assert sign_flip_p(np.zeros(5)) == 1.0


def test_zero_reference_gives_no_relative_lift():
    st = paired(np.zeros(3), np.array([1.0, 2.0, 3.0]))
    assert st.lift is None and st.diff == pytest.approx(2.0)


def _st(low, high, lift=0.1):
    mid = (low + high) / 2
    significant = low > 0 or high < 0
    return PairedStat(n=10, ref_mean=1.0, pol_mean=1.0 + mid, diff=mid, diff_low=low,
                      diff_high=high, lift=lift, lift_low=lift - 0.05, lift_high=lift + 0.05,
                      effect_size=0.0, p_value=0.001 if significant else 0.5)


UP, FLAT, DOWN = _st(0.1, 0.3), _st(-0.1, 0.1, 0.0), _st(-0.3, -0.1, -0.1)
INC = MetricInfo("outcome.x", "outcome", "increase", "x", "seg", threshold=0.05)
DEC = MetricInfo("outcome.t", "outcome", "decrease", "t", "seg", threshold=0.05)


@pytest.mark.parametrize(("eng", "outs", "expected"), [
    (UP, {"x": (INC, FLAT)}, "trap"),
    (UP, {"x": (INC, DOWN)}, "trap"),  # engagement up, outcome not up: trap first
    (FLAT, {"x": (INC, DOWN)}, "harm"),
    (UP, {"x": (INC, UP)}, "aligned"),
    (DOWN, {"x": (INC, UP)}, "quiet win"),
    (FLAT, {"x": (INC, UP)}, "quiet win"),
    (FLAT, {"x": (INC, FLAT)}, "no effect"),
    (FLAT, {"t": (DEC, DOWN)}, "quiet win"),  # a time metric falling is better
    (FLAT, {"t": (DEC, UP)}, "harm"),
    (UP, {"x": (INC, _st(0.01, 0.02, lift=0.01))}, "trap"),  # significant but under threshold
])
def test_verdict_rules(eng, outs, expected):
    assert decide("p", "ref", eng, outs, False, []).verdict == expected


def test_coherence_flag_is_carried():
    v = decide("p", "ref", FLAT, {}, True, ["core consistency 80% below 95%"])
    assert v.coherence_flag and "core consistency 80% below 95%" in v.reasons
