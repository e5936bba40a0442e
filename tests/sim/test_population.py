"""The population's seed-independent part (PopulationPlan), built once per world."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.distributions import sample_param
from outcome_gym.sim.network import build_teams
from outcome_gym.sim.population import _constant, build_population
from outcome_gym.sim.rng import make_streams
from outcome_gym.sim.world import compile_world
from tests.conftest import variant


def _population(world, seed):
    streams = make_streams(seed)
    teams = build_teams(world.n_users, world.team_size, streams["team"])
    pop = build_population(world, streams["population"], teams.team)
    return pop, streams["population"].random(4)  # what the stream draws next


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
    for seed in (0, 1, 9):
        got, after = _population(shared, seed)
        want, want_after = _population(compile_world(sc), seed)
        assert after.tobytes() == want_after.tobytes()
        for f in fields(got):
            a, b = getattr(got, f.name), getattr(want, f.name)
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f.name
            assert a.flags.writeable and not np.shares_memory(a, b), f.name
    plan = shared.population_plan
    assert plan is shared.population_plan  # built once
    assert not plan.segment.flags.writeable and not plan.traits["trust"].base.flags.writeable
    assert (got.trust[plan.segment == 0] == np.float32(0.9)).all()
    assert (got.devices[plan.segment == 1] == 2).all()


def test_what_draws_nothing_is_a_constant():
    # numbers and fixed draw nothing (sample_param gives the value); a distribution draws even
    # when its support is one value, so it is not a constant
    sc = load_scenario("finance_alerts")
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    for param, value in ((3, 3.0), (0.25, 0.25)):
        assert _constant(param) == value
        assert sample_param(param, rng, 2).tolist() == [value, value]
    fixed = variant(sc, **{"population.segments.0.trust": {"dist": "fixed", "value": 0.4}})
    assert _constant(fixed.population.segments[0].trust) == 0.4
    assert rng.bit_generator.state == state
    uniform = variant(sc, **{"population.segments.0.trust": {"dist": "uniform", "low": 0.4,
                                                              "high": 0.4}})
    assert _constant(uniform.population.segments[0].trust) is None


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
    assert teams.size_of(np.arange(7)).tolist() == [3 if t < 2 else 1 for t in teams.team]
    # a size above n: one team of everyone
    assert build_teams(5, 8.0, np.random.default_rng(0)).start.tolist() == [0, 5]
