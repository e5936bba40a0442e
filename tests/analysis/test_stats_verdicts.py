"""Paired statistics and verdict rules with hand-worked expectations (docs/verdicts.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from outcome_gym.analysis.stats import fieller, holm, lift_test_p, paired, sign_flip_p, t_p
from outcome_gym.analysis.verdict import (
    RULE_VERDICT,
    MetricInput,
    classify,
    combine,
    judge,
    seeds_for,
    segment_verdict,
)

T3 = 3.182446305284263  # t(0.975, 3)


def test_paired_means_lift_and_effect_size():
    ref = np.array([10.0, 12.0, 14.0, 16.0])
    pol = np.array([11.0, 13.5, 15.0, 17.5])  # differences 1, 1.5, 1, 1.5
    st = paired(ref, pol)
    sd = np.std([1, 1.5, 1, 1.5], ddof=1)  # 0.2887
    assert st.diff == pytest.approx(1.25)
    assert st.lift == pytest.approx(14.25 / 13.0 - 1)
    assert st.effect_size == pytest.approx(1.25 / sd)
    half = T3 * sd / 2
    assert (st.diff_low, st.diff_high) == pytest.approx((1.25 - half, 1.25 + half))
    # paired t = 1.25 / (0.2887 / 2) = 5 sqrt(3) = 8.66 on 3 df
    assert st.p_value == pytest.approx(2 * student_t.sf(5 * math.sqrt(3), 3)) and st.up
    assert st.lift_low <= st.lift <= st.lift_high


def test_fieller_with_a_constant_reference_is_the_difference_interval_over_its_mean():
    # ref constant 10: the quadratic's roots are (mean d +- t * se(d)) / 10
    ref = np.full(4, 10.0)
    pol = np.array([11.0, 12.0, 11.0, 12.0])  # d = 1, 2, 1, 2: mean 1.5, se 0.5774 / 2
    half = T3 * np.std([1, 2, 1, 2], ddof=1) / 2  # 0.9187
    assert fieller(ref, pol, 0.95) == pytest.approx(((1.5 - half) / 10, (1.5 + half) / 10))


def test_fieller_is_unbounded_when_the_reference_mean_is_not_away_from_zero():
    assert fieller(np.array([-1.0, 1.0, -1.0, 1.2]), np.array([0.0, 1.0, 2.0, 1.0]), 0.95) is None


def test_lift_test_is_the_t_test_of_pol_minus_scaled_ref():
    ref = np.array([10.0, 10.0, 10.0])
    pol = np.array([10.4, 10.6, 10.5])  # lift 5%; pol - 1.05 ref = -0.1, 0.1, 0: mean 0
    assert lift_test_p(ref, pol, 0.05, "greater") == pytest.approx(0.5)
    assert lift_test_p(ref, pol, 0.0, "greater") == pytest.approx(t_p(pol - ref, "greater"))


def test_t_p_degenerate_and_one_sided():
    assert t_p(np.zeros(5)) == 1.0
    assert t_p(np.full(4, 2.0)) == 0.0 and t_p(np.full(4, 2.0), "less") == 1.0
    # d = 1, 2, 3: t = 2 / (1 / sqrt(3)) = 3.464 on 2 df
    assert t_p(np.array([1.0, 2.0, 3.0]), "greater") == pytest.approx(
        student_t.sf(2 * math.sqrt(3), 2))


def test_sign_flip_exact_p_is_kept_for_the_studies():
    assert sign_flip_p(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(2 / 16)


def test_holm_by_hand():
    # sorted 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> monotone 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_zero_reference_gives_no_relative_lift():
    st = paired(np.zeros(3), np.array([1.0, 2.0, 3.0]))
    assert st.lift is None and st.diff == pytest.approx(2.0)


def test_seeds_for_is_the_smallest_n_reaching_the_power_condition():
    # z approximation: ((1.96 + 0.84) * 0.1 / 0.05)^2 = 31.4; Student-t quantiles add a little
    n = seeds_for(0.05, 0.1, 0.025)
    assert 31 <= n <= 36

    def ok(k: int) -> bool:
        return 0.05 * math.sqrt(k) / 0.1 >= student_t.ppf(0.975, k - 1) + student_t.ppf(0.8, k - 1)

    assert ok(n) and not ok(n - 1)
    assert seeds_for(0.0, 0.1, 0.025) is None


def _input(lifts, role="primary", margin=0.05, direction="increase", seg="s", name="outcome.x"):
    """A metric with reference 100 on every seed and the given per-seed lifts."""
    lifts = np.asarray(lifts, dtype=float)
    return MetricInput(name, role, None if role == "engagement" else seg, direction, margin,
                       np.full(lifts.size, 100.0), 100.0 * (1 + lifts))


def _cls(lifts, **kw):
    m = _input(lifts, **kw)
    p = t_p(m.pol - m.ref)
    return classify(m, p, p, 0.025, 0.05)


# ten seeds, lifts with sd 1% around the mean; se = 0.316%
SPREAD = np.array([-1, 1] * 5) * 0.01


@pytest.mark.parametrize(("lifts", "direction", "cls"), [
    (0.08 + SPREAD, "increase", "better"),  # +8%, t = 25: significant, beyond the 5% margin
    (0.02 + SPREAD, "increase", "equivalent"),  # +2% +- 0.7%: significant but inside +-5%
    (-0.08 + SPREAD, "increase", "worse"),  # -8%: significant, loss beyond 5% not ruled out
    (-0.08 + SPREAD, "decrease", "better"),  # a time falling 8% is better
    # +2%, se 1.67%: (2 + 5) / 1.67 = 4.2 shows > -5%; (5 - 2) / 1.67 = 1.8 < t(0.95, 9) = 1.83
    (0.02 + 5 * SPREAD, "increase", "non-inferior"),
    (0.0 + 10 * SPREAD, "increase", "unclear"),  # sd 10%: nothing shown at ten seeds
])
def test_classes_by_hand(lifts, direction, cls):
    assert _cls(lifts, direction=direction).cls == cls


def test_unclear_says_how_many_seeds():
    c = _cls(0.0 + 10 * SPREAD)
    # equivalence needs (0.05 - 0) sqrt(n) / 0.1054 >= t(0.95) + t(0.8): about 28 seeds
    assert c.seeds_needed is not None and 25 <= c.seeds_needed <= 32
    assert f"needs ~{c.seeds_needed}" in c.note


def test_significant_inside_margin_says_so():
    c = _cls(0.02 + SPREAD)  # +2%, se 0.33%: t = 6, significant; 2% is below the 5% margin
    assert c.cls != "better" and "inside the margin" in c.note


@pytest.mark.parametrize(("eng", "primary", "secondary", "rule"), [
    ("up", "worse", [], "trap"),
    ("up", "unclear", [], "inconclusive"),  # possible trap: needs seeds, never a default
    ("flat", "worse", [], "harm-primary"),
    ("up", "equivalent", ["worse"], "harm-secondary"),
    ("up", "better", [], "aligned"),
    ("up", "equivalent", ["better"], "engagement-only"),  # a secondary never makes 'aligned'
    ("flat", "better", [], "quiet-win"),
    ("down", "better", [], "quiet-win"),
    ("unclear", "better", [], "quiet-win"),
    ("down", "non-inferior", [], "engagement-loss"),
    ("flat", "equivalent", ["unclear"], "no-effect"),
    ("flat", "non-inferior", [], "inconclusive"),
    ("unclear", "equivalent", [], "inconclusive"),
])
def test_segment_rules(eng, primary, secondary, rule):
    assert segment_verdict(eng, primary, secondary) == rule


def test_combination_across_segments():
    assert combine({"a": "aligned", "b": "trap"}, "up") == "trap"
    assert combine({"a": "quiet-win", "b": "harm-secondary"}, "flat") == "harm-secondary"
    assert combine({"a": "quiet-win", "b": "inconclusive"}, "flat") == "inconclusive"
    assert combine({"a": "quiet-win", "b": "no-effect"}, "flat") == "quiet-win"
    assert combine({}, "up") == "engagement-only"
    assert RULE_VERDICT[combine({}, "unclear")] == "inconclusive"


def test_issue_cases():
    # +0.1% engagement with a significant +4% outcome under a 5% margin: not a trap
    eng = _input(0.001 + SPREAD / 10, role="engagement", margin=0.02, name="engagement.index")
    v = judge("p", "ref", eng, [_input(0.04 + SPREAD)])
    assert v.verdict == "no effect" and v.rule == "no-effect"
    # engagement +10%, primary flat, a secondary +10%: not aligned
    eng = _input(0.10 + SPREAD, role="engagement", margin=0.02, name="engagement.index")
    v = judge("p", "ref", eng, [_input(0.0 + SPREAD),
                                _input(0.10 + SPREAD, role="secondary", name="outcome.y")])
    assert v.verdict == "engagement only" and v.outcomes_better == ["y"]
    # engagement +10%, primary -10%: trap, and the rule says so
    v = judge("p", "ref", eng, [_input(-0.10 + SPREAD)])
    assert (v.verdict, v.rule) == ("trap", "trap") and v.rule_text


def test_inconclusive_carries_the_seeds_needed():
    eng = _input(0.0 + SPREAD[:4] * 10, role="engagement", margin=0.02, name="engagement.index")
    v = judge("p", "ref", eng, [_input(SPREAD[:4] * 10)])
    assert v.verdict == "inconclusive" and v.seeds_needed is not None and v.seeds_needed > 4


def test_coherence_flag_is_carried():
    eng = _input(SPREAD, role="engagement", margin=0.02, name="engagement.index")
    v = judge("p", "ref", eng, [], True, ["core consistency 80% below 95%"])
    assert v.coherence_flag and "core consistency 80% below 95%" in v.reasons


def test_aa_false_verdict_rate_on_normal_seeds():
    """A/A over normal seed-level noise: verdicts other than no effect / inconclusive are rare.

    2000 comparisons of 10 seeds, engagement and two outcome specs with sd 3% per seed. Over 20
    generator seeds the rate was 1.95%-3.1% (mean 2.6%: alpha/2 on engagement, whose 2% margin is
    below what 10 such seeds can call significant, plus rare false harms); the bound 4% fails if
    engagement were tested at the full alpha (about 5% alone).
    """
    rng = np.random.default_rng(2026)
    false = 0
    for _ in range(2000):
        x = rng.normal(100.0, 3.0, size=(6, 10))
        eng = MetricInput("engagement.index", "engagement", None, "increase", 0.02, x[0], x[1])
        outs = [MetricInput("outcome.a", "primary", "s", "increase", 0.05, x[2], x[3]),
                MetricInput("outcome.b", "secondary", "s", "decrease", 0.05, x[4], x[5])]
        v = judge("B", "A", eng, outs)
        false += v.verdict not in ("no effect", "inconclusive")
    assert false / 2000 <= 0.04


def test_two_segments_combine_and_say_which_is_undecided():
    eng = _input(SPREAD, role="engagement", margin=0.02, name="engagement.index")  # flat
    better = _input(0.10 + SPREAD, seg="a", name="outcome.a")  # segment a: quiet win
    noisy = _input(10 * SPREAD, seg="b", name="outcome.b")  # segment b: unclear, needs ~28
    v = judge("p", "ref", eng, [better, noisy])
    assert v.segments["a"]["verdict"] == "quiet win"
    assert v.segments["b"]["verdict"] == "inconclusive"
    # an undecided segment makes the policy inconclusive; its need is the policy's
    assert v.verdict == "inconclusive" and v.seeds_needed == v.segments["b"]["seeds_needed"]
    assert f"b inconclusive (needs ~{v.seeds_needed} seeds)" in v.reasons[-1]
