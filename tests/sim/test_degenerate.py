"""Scenarios that validate but are degenerate run and give well-defined tables (never NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from outcome_gym.policies.baseline import StaticPolicy
from outcome_gym.runner import run
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.overrides import with_overrides
from outcome_gym.sim.model import SimulationModel
from tests.cli.test_story_subset import lockstep
from tests.conftest import TINY, variant
from tests.degenerate import CASES as DEGENERATE
from tests.degenerate import degenerate


def _finite(result):
    num = result.steps.select_dtypes("number")
    assert np.isfinite(num.to_numpy()).all()
    unum = result.users.select_dtypes("number")
    assert np.isfinite(unum.to_numpy()).all()

    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, float):
            assert np.isfinite(o)

    walk(result.summary.as_dict())


CASES = {
    "zero_attention": {"population.segments.0.attention_budget": 0.0,
                       "population.segments.1.attention_budget": 0.0},
    "segment_share_zero": {"population.segments.0.share": 0.0,
                           "population.segments.1.share": 1.0},
    "one_slot_horizon": {"clock.horizon_steps": 1},
    "population_of_one": {"population.size": 1},
    "nobody_available": {"population.segments.0.availability.slot": [0.0, 0.0, 0.0, 0.0],
                         "population.segments.1.availability.slot": [0.0, 0.0, 0.0, 0.0]},
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("policy", ["static", "random"])
def test_degenerate_runs_are_finite(tiny, name, policy):
    sc = variant(tiny, **CASES[name])
    result = run(sc, policy, 0)
    _finite(result)
    assert len(result.steps) == sc.clock.n_steps * len(sc.population.segments)


def test_one_element_layout(tiny):
    data = {"product.layout.default": ["home"], "product.elements.1.core": False}
    sc = variant(tiny, **data)
    result = run(sc, "random", 0)
    _finite(result)
    assert result.summary.segments["worker"].fragmentation.layout_distance_mean == 0.0


def test_zero_attention_means_no_engagement(tiny):
    sc = variant(tiny, **CASES["zero_attention"])
    result = run(sc, "static", 0)
    assert result.steps["clicks"].sum() == 0
    assert result.steps["goal_progress"].sum() == 0
    assert result.steps["opens"].sum() == 0 and result.steps["sessions"].sum() == 0


# --- the matrix of degenerate worlds (tests/degenerate.py): what each case gives by hand ---------

WORLDS = {"tiny": str(TINY), "productivity_tool": "productivity_tool"}
SIZE, DAYS = 30, 3


@pytest.fixture(scope="module")
def bases():
    return {name: load_scenario(source) for name, source in WORLDS.items()}


def _zero(steps, *columns):
    sums = steps[list(columns)].sum()
    assert (sums == 0).all(), sums[sums != 0].to_dict()


def _no_templates(sc, result, base):
    _zero(result.steps, "delivered", "opens", "opt_outs", "interruption_minutes",
          "guardrail_notification_capped", "guardrail_quiet_slot")


def _no_goals(sc, result, base):
    _zero(result.steps, "goal_progress", "app_progress", "outside_progress", "goal_minutes")
    assert not [c for c in result.steps.columns if "." in c]  # no goal's metric columns
    assert result.summary.outcomes == {} and result.summary.objective["outcome"] == 0.0


def _no_instrumented(sc, result, base):
    # what the product observes changes nothing a user lives under a policy that ignores it:
    # the same run as the world with its instruments (the instrumentation stream is its own)
    assert result.summary.objective["outcome"] == 0.0  # no event a learner could be paid for
    if result.manifest["policy"]["name"] == "static":
        same = run(with_overrides(base, {"population.size": SIZE, "clock.horizon_days": DAYS}),
                   "static", 0)
        assert same.steps.equals(result.steps) and same.users.equals(result.users)
    model = SimulationModel(sc, 0)
    assert model.observe().events == {}
    assert model.advance(model.default_action()).feedback.events == {}


def _no_context(sc, result, base):
    _zero(result.steps, *(f"{kind}_{what}" for kind in ("device_switch", "colleague_share",
                                                       "support_contact")
                          for what in ("events", "failures")), "support_tickets")


def _single_segment(sc, result, base):
    first = base.population.segments[0].id
    assert set(result.steps["segment"]) == {first} and set(result.users["segment"]) == {first}
    assert len(result.users) == SIZE


def _one_user(sc, result, base):
    assert len(result.users) == 1
    assert sum(s.n_users for s in result.summary.segments.values()) == 1


def _one_slot(sc, result, base):
    assert sc.clock.n_steps == DAYS
    assert (result.steps["slot"] == 0).all()
    assert sorted(set(result.steps["day"])) == list(range(DAYS))


def _one_day(sc, result, base):
    assert sc.clock.n_steps == base.clock.slots_per_day
    assert (result.steps["day"] == 0).all()


EXPECT = {"no_templates": _no_templates, "no_goals": _no_goals,
          "no_instrumented": _no_instrumented, "no_context": _no_context,
          "single_segment": _single_segment, "one_user": _one_user, "one_slot": _one_slot,
          "one_day": _one_day}
assert set(EXPECT) == set(DEGENERATE), "every degenerate case needs its expectation here"


@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.parametrize("world", sorted(WORLDS))
@pytest.mark.parametrize("policy", ["static", "random"])
def test_a_degenerate_world_runs_to_its_horizon_as_its_case_says(bases, world, case, policy):
    base = bases[world]
    sc = degenerate(base, case, size=SIZE, days=DAYS)
    result = run(sc, policy, 0)
    _finite(result)
    assert len(result.steps) == sc.clock.n_steps * len(sc.population.segments)
    EXPECT[case](sc, result, base)


SUBSETS = {"first": lambda n: [0], "scattered": lambda n: [1, n // 2, n - 2]}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.parametrize("subset", sorted(SUBSETS))
def test_a_degenerate_worlds_subset_replay_is_the_full_run_row_by_row(bases, case, subset):
    """A model of some users (``users=``, a story's replay) lives their days of the full run."""
    sc = degenerate(bases["tiny"], case, size=40, days=2)
    n = sc.population.size
    if n == 1:  # the only subset of one user is everyone: the same run
        full, sub = SimulationModel(sc, 3), SimulationModel(sc, 3, users=[0])
        for m in (full, sub):
            while not m.done:
                m.advance(m.default_action())
        a, b = full.user_state(), sub.user_state()
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        return
    lockstep(sc, StaticPolicy, 3, SUBSETS[subset](n))
