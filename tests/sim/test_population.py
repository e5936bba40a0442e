"""The population's seed-independent part (PopulationPlan), built once per world."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.distributions import param_constant, sample_param
from outcome_gym.sim.network import build_teams
from outcome_gym.sim.population import F, build_population, habit_rate_from_days
from outcome_gym.sim.rng import make_streams
from outcome_gym.sim.world import compile_world
from tests.conftest import variant


def _population(world, seed):
    streams = make_streams(seed)
    teams = build_teams(world.n_users, world.team_size, streams["team"])
    pop = build_population(world, streams["population"], teams.team)
    return pop, streams["population"].random(4)  # what the stream draws next


def _drawn_as_before_the_plan(world, seed):
    """The traits as the build drew them before the plan: per trait, every segment's block from
    sample_param in segment order (numbers and fixed included), clipped, as float32."""
    segs = world.scenario.population.segments
    segment = world.population_plan.segment
    rng = make_streams(seed)["population"]

    def draw(get, lo=-np.inf, hi=np.inf):
        out = np.empty(segment.shape[0])
        for k, seg in enumerate(segs):
            rows = np.flatnonzero(segment == k)  # segments are contiguous blocks
            out[rows] = sample_param(get(seg), rng, rows.size)
        return np.clip(out, lo, hi).astype(F)

    return {
        "avail_scale": draw(lambda s: s.availability.scale, 0.0, 1.0),
        "attention_budget": draw(lambda s: s.attention_budget, 0.0),
        "susceptibility": draw(lambda s: s.susceptibility, 0.0),
        "goal_weight": draw(lambda s: s.goal_weight, 0.0),
        "propensity": draw(lambda s: s.session_propensity, 0.0),
        "habit_rate": habit_rate_from_days(draw(lambda s: s.habit_days, 1.0)).astype(F),
        "fatigue_rate": draw(lambda s: s.fatigue_rate, 0.0, 1.0),
        "fatigue_recovery": draw(lambda s: s.fatigue_recovery, 0.0, 1.0),
        "churn_sensitivity": draw(lambda s: s.churn_sensitivity, 0.0),
        "devices": np.rint(draw(lambda s: s.devices, 1.0, 4.0)).astype(np.int8),
        "trust": draw(lambda s: s.trust, 0.0, 1.0),
        "channel_trust": draw(lambda s: s.channel_trust, 0.0, 1.0)[:, None],
        "outside_rate": draw(lambda s: s.outside_rate, 0.0),
    }, rng.random(4)


def test_a_cached_plan_builds_what_a_fresh_world_builds():
    # segments mixing numbers, fixed and drawn traits; one world builds populations for many
    # seeds from its plan, each the same bits as a fresh world's first population, and the
    # population stream ends where it did (no draw skipped, none added)
    sc = load_scenario("finance_alerts")
    sc = variant(sc, **{"population.size": 57,
                        "population.segments.0.trust": {"dist": "fixed", "value": 0.9},
                        "population.segments.1.devices": {"dist": "uniform", "low": 2.0,
                                                          "high": 2.0}})
    shared = compile_world(sc)
    last = None
    for seed in (0, 1, 9):
        got, after = _population(shared, seed)
        want, want_after = _population(compile_world(sc), seed)
        assert after.tobytes() == want_after.tobytes()
        for f in fields(got):
            a, b = getattr(got, f.name), getattr(want, f.name)
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f.name
            assert a.flags.writeable, f.name
            if last is not None:  # the same world's populations share no array
                assert not np.shares_memory(a, getattr(last, f.name)), f.name
        last = got
        # and what the build drew before the plan, stream position included
        before, before_after = _drawn_as_before_the_plan(shared, seed)
        assert after.tobytes() == before_after.tobytes()
        for name, b in before.items():
            a = getattr(got, name)[:, :1] if name == "channel_trust" else getattr(got, name)
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    plan = shared.population_plan
    assert plan is shared.population_plan  # built once
    assert not plan.segment.flags.writeable and not plan.traits["trust"].fixed.flags.writeable
    # a template where some segments draw and some do not (the third's number kept) or none
    # draws (then the clipped float32 trait too)
    assert not plan.traits["devices"].values.base.flags.writeable
    assert plan.traits["devices"].fixed is None and not plan.traits["trust"].values.runs
    assert plan.traits["attention_budget"].values.base is None  # every segment draws
    assert (got.trust[plan.segment == 0] == np.float32(0.9)).all()
    assert (got.devices[plan.segment == 1] == 2).all()


def _goal_params_as_before_the_plan(world, rng):
    """Every goal's per-user parameters as the goal states drew them before the plan: per
    parameter, a mask per segment and sample_param, in segment order."""
    segment = world.population_plan.segment
    out = []
    for spec in world.goals:
        mine = {}
        for key, params in spec.per_user.items():
            values = np.empty(segment.shape[0])
            for k, param in enumerate(params):
                mask = segment == k
                values[mask] = sample_param(param, rng, int(mask.sum()))
            mine[key] = values
        out.append(mine)
    return out


def test_goal_parameters_from_the_plan_are_the_mask_draws():
    # a goal parameter drawn by two segments and a number for the third, one drawn by none and
    # one by every segment: the plan's draws (goal by goal, in each spec's order) give the same
    # bits as masks and sample_param, and leave the stream where they left it
    sc = load_scenario("finance_alerts")
    sc = variant(sc, **{"population.size": 41,
                        "population.segments.2.goal_params.budget.spend_ratio": 1.1,
                        "goals.1.effort": {"dist": "uniform", "low": 0.5, "high": 0.7}})
    world = compile_world(sc)
    plan = world.population_plan
    assert plan.goal_params[0]["spend_ratio"].base is not None  # the third segment's number
    assert not plan.goal_params[0]["effort"].runs  # a number for every segment
    assert plan.goal_params[1]["effort"].base is None  # every segment draws
    # compared and hashed by identity, as the arrays they hold allow (no ValueError, no TypeError)
    ratio = plan.goal_params[0]["spend_ratio"]
    assert ratio == ratio and ratio != compile_world(sc).population_plan.goal_params[0]["spend_ratio"]
    assert len({ratio, ratio}) == 1
    for seed in (0, 5):
        rng, ref = np.random.default_rng(seed), np.random.default_rng(seed)
        want = _goal_params_as_before_the_plan(world, ref)
        for params, expected in zip(plan.goal_params, want, strict=True):
            assert list(params) == list(expected)
            for key, values in params.items():
                got = values.sample(rng)
                assert got.dtype == np.float64 and got.tobytes() == expected[key].tobytes(), key
                assert got.flags.writeable
        assert rng.random(3).tolist() == ref.random(3).tolist()
    assert (plan.goal_params[0]["spend_ratio"].sample(rng)[plan.segment == 2] == 1.1).all()


def test_what_draws_nothing_is_aparam_constant():
    # numbers and fixed draw nothing (sample_param gives the value); a distribution draws even
    # when its support is one value, so it is not a constant
    sc = load_scenario("finance_alerts")
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    for param, value in ((3, 3.0), (0.25, 0.25)):
        assert param_constant(param) == value
        assert sample_param(param, rng, 2).tolist() == [value, value]
    fixed = variant(sc, **{"population.segments.0.trust": {"dist": "fixed", "value": 0.4}})
    assert param_constant(fixed.population.segments[0].trust) == 0.4
    assert rng.bit_generator.state == state
    uniform = variant(sc, **{"population.segments.0.trust": {"dist": "uniform", "low": 0.4,
                                                              "high": 0.4}})
    assert param_constant(uniform.population.segments[0].trust) is None


def test_teams_cut_the_last_team_to_fit():
    # fixed size 3 for 7 users: teams of 3, 3 and 1 (the last cut to fit), members in the
    # permutation's order, each user's position its place in its team's member list
    rng = np.random.default_rng(4)
    order = np.random.default_rng(4).permutation(7)
    teams = build_teams(7, 3.0, rng)
    assert teams.start.tolist() == [0, 3, 6, 7] and teams.start.dtype == np.int64
    assert teams.members.tolist() == order.tolist()
    assert teams.team[order].tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert teams.position[order].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert teams.sizes().tolist() == [3 if t < 2 else 1 for t in teams.team]
    # a size above n: one team of everyone
    assert build_teams(5, 8.0, np.random.default_rng(0)).start.tolist() == [0, 5]


def test_a_per_user_parameter_draws_runs_of_segments_in_one_call():
    # two segments of one lognormal around a number, then another lognormal and a categorical:
    # one call for the two (its users an index array: the number's block keeps its value), one
    # each for the others; the same bits and stream position as each segment's own sample in
    # segment order
    from pydantic import TypeAdapter

    from outcome_gym.scenario.distributions import Distribution
    from outcome_gym.sim.population import PerUser, _segment_blocks

    dist = TypeAdapter(Distribution).validate_python
    params = [dist({"dist": "lognormal", "median": 5, "sigma": 0.5, "high": 6}), 2.0,
              dist({"dist": "lognormal", "median": 5, "sigma": 0.5, "high": 6}),
              dist({"dist": "lognormal", "median": 9, "sigma": 0.2, "high": 9.5}),
              dist({"dist": "categorical", "values": [1, 4], "probs": [0.5, 0.5]})]
    blocks = _segment_blocks(np.array([4, 3, 5, 6, 2]))
    values = PerUser.of(params, blocks)
    assert len(values.runs) == 3 and values.runs[0][0].tolist() == [0, 1, 2, 3, 7, 8, 9, 10, 11]
    assert values.runs[1][0] == slice(12, 18) and values.runs[2][0] == slice(18, 20)
    for seed in range(5):
        rng, ref = np.random.default_rng(seed), np.random.default_rng(seed)
        want = np.concatenate([sample_param(p, ref, b.stop - b.start)
                               for p, b in zip(params, blocks, strict=True)])
        assert values.sample(rng).tobytes() == want.tobytes()
        assert rng.random(2).tolist() == ref.random(2).tolist()


def test_reset_day_empties_every_accumulator_and_nothing_else():
    # the day's accumulators filled with non-zero values, then emptied in place (the same
    # arrays, their dtypes kept); every other field untouched
    import copy

    world = compile_world(load_scenario("productivity_tool"))
    pop, _ = _population(world, 0)
    today = ("used_today", "session_today", "progress_today", "waste_today", "failures_today")
    for name in today:
        getattr(pop, name)[...] = 1
    before = copy.deepcopy(pop)
    arrays = {name: getattr(pop, name) for name in today}
    pop.reset_day()
    for name in today:
        a = getattr(pop, name)
        assert a is arrays[name] and a.dtype == getattr(before, name).dtype, name
        assert not a.any(), name
    for f in fields(pop):
        if f.name not in today:
            assert np.array_equal(getattr(pop, f.name), getattr(before, f.name)), f.name
