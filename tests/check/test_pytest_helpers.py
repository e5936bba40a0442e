"""The assertion helpers a team uses in its own pytest suite."""

from __future__ import annotations

import pytest

from outcome_gym import compare
from outcome_gym.testing import (
    PolicyCheckError,
    assert_core_consistent,
    assert_not_trap,
    assert_outcome_lift,
)
from tests.conftest import variant


@pytest.fixture(scope="module")
def cmp(tiny):
    sc = variant(tiny, **{"population.size": 100, "clock.horizon_days": 7})
    return compare(sc, ["static", "random", "rules:rules=tests/fixtures/tiny_rules.yaml"],
                   seeds=5, guardrails=False)


def test_assert_outcome_lift(cmp):
    st = cmp.stats["random"]["outcome.practised"]
    assert_outcome_lift(cmp, "random", "practised", min_lift=st.lift_low - 0.01)
    with pytest.raises(PolicyCheckError, match="outcome 'practised' lift fell to"):
        assert_outcome_lift(cmp, "random", "practised", min_lift=st.lift_high + 0.01)


def test_assert_not_trap(cmp):
    verdict = cmp.verdicts["random"].verdict
    with pytest.raises(PolicyCheckError, match=f"verdict against 'static' is {verdict}"):
        assert_not_trap(cmp, "random", verdicts=(verdict,))
    assert_not_trap(cmp, "random", verdicts=tuple(v for v in ("trap", "harm") if v != verdict))


def test_assert_core_consistent(cmp):
    assert_core_consistent(cmp, "random", minimum=0.99)  # random keeps the core by default
    with pytest.raises(PolicyCheckError, match="not in the comparison"):
        assert_core_consistent(cmp, "nope")
