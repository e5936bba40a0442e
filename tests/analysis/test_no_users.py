"""A target segment with no users in the run: rule ``no-users``, verdict ``not measured``.

Segment sizes are the deterministic largest-remainder allocation (the same on every seed), so a
share too small for the population gives a segment no users on every seed; every value of its
metrics is then a 0 for want of users. The rule reports it as not measured: no means, no tests,
no seeds-needed advice (no number of seeds gives it users), and it is left out of the Holm family.
"""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.analysis.verdict import (
    NOT_MEASURED,
    RULE_VERDICT,
    RULES,
    MetricInput,
    combine,
    judge,
)
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.scenario.schema import segment_counts
from outcome_gym.sim.population import _segment_of
from tests.conftest import TINY

SPREAD = np.array([-1, 1] * 5) * 0.01  # ten seeds, lifts with sd 1%


def _input(lifts, role="primary", seg="a", name="outcome.a", margin=0.05):
    """Reference 100 on every seed, the policy at the given per-seed lifts."""
    lifts = np.asarray(lifts, dtype=float)
    return MetricInput(name, role, None if role == "engagement" else seg, "increase", margin,
                       np.full(lifts.size, 100.0), 100.0 * (1 + lifts))


def _nobody(seg="b", name="outcome.b"):
    """A spec of a segment with no users: 0 on every seed under both policies."""
    return MetricInput(name, "primary", seg, "increase", 0.05, np.zeros(10), np.zeros(10))


ENG_FLAT = _input(SPREAD, role="engagement", name="engagement.index", margin=0.02)


@pytest.mark.parametrize(("n", "shares", "counts"), [
    (1, [0.6, 0.4], [1, 0]),  # tiny at N = 1: nobody is a saver
    (1, [0.3, 0.5, 0.2], [0, 1, 0]),  # finance_alerts at N = 1: only 'steady' has a user
    # 2.5, 1.5, 1.0 -> floors 2, 1, 1; the one left goes to the first of the equal remainders
    (5, [0.5, 0.3, 0.2], [3, 1, 1]),
    (10, [0.0, 1.0], [0, 10]),  # a share of 0 is empty at every size
])
def test_segment_counts_by_hand_and_as_the_simulator_allocates(n, shares, counts):
    assert segment_counts(n, shares).tolist() == counts
    assert np.bincount(_segment_of(n, shares), minlength=len(shares)).tolist() == counts


def test_the_population_names_its_empty_segments():
    tiny = load_scenario(TINY)
    assert tiny.population.segment_sizes() == {"worker": 120, "saver": 80}
    assert tiny.population.empty_segments() == []
    one = with_overrides(tiny, {"population.size": 1})
    assert one.population.empty_segments() == ["saver"]


def test_an_empty_segment_is_not_measured_and_gives_no_seed_advice():
    better = _input(0.10 + SPREAD)  # segment a: +10%, t = 32: a quiet win
    v = judge("p", "ref", ENG_FLAT, [better, _nobody()], empty={"b"})
    assert v.segments["b"] == {"verdict": NOT_MEASURED, "rule": "no-users", "seeds_needed": None}
    call = v.metrics["outcome.b"]
    assert call["cls"] == NOT_MEASURED and call["seeds_needed"] is None
    for key in ("ref_mean", "pol_mean", "lift", "p", "p_adj", "p_noninferior", "p_equivalent"):
        assert call[key] is None, key  # no 0 reported as a mean, no test made
    assert "no users" in call["note"] and "needs" not in call["note"]
    # the measured segment decides; the empty one is left out of the Holm family, so a's
    # adjusted p is its raw p, as if the scenario had only segment a
    alone = judge("p", "ref", ENG_FLAT, [better])
    assert (v.verdict, v.rule) == (alone.verdict, alone.rule) == ("quiet win", "quiet-win")
    assert v.metrics["outcome.a"]["p_adj"] == alone.metrics["outcome.a"]["p_adj"]
    assert v.metrics["outcome.a"]["p_adj"] == v.metrics["outcome.a"]["p"]
    assert "b not measured (no users)" in v.reasons[-1]
    assert not any("needs" in r for r in v.reasons if "outcome.b" in r or r.startswith("b "))


def test_without_the_rule_the_zeros_read_as_an_undecided_segment():
    """What the rule replaces: the same zeros judged as data ("reference mean is 0", and the
    segment inconclusive with the engagement's seed advice)."""
    noisy_eng = _input(10 * SPREAD, role="engagement", name="engagement.index", margin=0.02)
    v = judge("p", "ref", noisy_eng, [_input(0.10 + SPREAD), _nobody()])
    assert v.segments["b"]["verdict"] == "inconclusive" and v.segments["b"]["seeds_needed"]
    v = judge("p", "ref", noisy_eng, [_input(0.10 + SPREAD), _nobody()], empty={"b"})
    assert v.segments["b"]["verdict"] == NOT_MEASURED and v.segments["b"]["seeds_needed"] is None


def test_every_target_segment_empty_is_not_measured():
    up = _input(0.10 + SPREAD, role="engagement", name="engagement.index", margin=0.02)
    v = judge("p", "ref", up, [_nobody()], empty={"b"})
    # not 'engagement only': that would say the primary was shown within its margin
    assert (v.verdict, v.rule, v.seeds_needed) == (NOT_MEASURED, "no-users", None)
    assert v.rule_text == RULES["no-users"] and "no number of seeds" in v.rule_text


def test_combination_leaves_empty_segments_out():
    assert combine({"a": "no-users", "b": "quiet-win"}, "flat") == "quiet-win"
    assert combine({"a": "no-users", "b": "inconclusive"}, "up") == "inconclusive"
    assert combine({"a": "no-users", "b": "no-users"}, "up") == "no-users"
    assert RULE_VERDICT["no-users"] == NOT_MEASURED
    assert combine({}, "up") == "engagement-only"  # no outcome specs at all: engagement alone
