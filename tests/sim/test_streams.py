"""The run's streams: the generators numpy's ``SeedSequence(seed).spawn`` gives, in STREAMS order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from outcome_gym.sim.model import SimulationModel
from outcome_gym.sim.rng import STREAMS, make_streams

# one-word, two-word, pool-filling (4 words) and longer seeds, and the word boundaries between them
SEEDS = [0, 1, 7, 2**32 - 1, 2**32, 2**63 - 1, 2**64, 2**128, 2**300 + 11, np.int64(12345)]


@pytest.mark.parametrize("seed", SEEDS)
def test_streams_are_numpys_spawned_children_in_streams_order(seed: int) -> None:
    streams = make_streams(seed)
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    assert list(streams.generators) == list(STREAMS)
    for name, child in zip(STREAMS, children, strict=True):
        expected = np.random.Generator(np.random.PCG64(child))
        assert streams[name].bit_generator.state == expected.bit_generator.state, name
        assert streams[name].random(3).tolist() == expected.random(3).tolist()


def test_a_streams_seed_seq_is_numpys_child() -> None:
    seed_seq = make_streams(2024)["choice"].bit_generator.seed_seq
    assert isinstance(seed_seq, np.random.SeedSequence)
    assert seed_seq.entropy == 2024
    assert seed_seq.spawn_key == (STREAMS.index("choice"),)


def test_the_models_mesa_rng_is_the_key_99_child() -> None:
    model = SimulationModel("productivity_tool", 31, mesa_agents=False)
    mesa = np.random.default_rng(np.random.SeedSequence(31, spawn_key=(99,)))
    mesa.integers(np.iinfo(np.int32).max)  # Mesa's Model draws stdlib random's seed from it
    assert model.rng.bit_generator.state == mesa.bit_generator.state


def test_streams_are_made_at_first_use_in_any_order() -> None:
    # made in reverse order, or all at once: each is numpy's spawned child of its index
    children = np.random.SeedSequence(77).spawn(len(STREAMS))
    streams = make_streams(77)
    for name in reversed(STREAMS):
        want = np.random.Generator(np.random.PCG64(children[STREAMS.index(name)]))
        assert streams[name].bit_generator.state == want.bit_generator.state, name
    assert streams["tray"] is streams["tray"]  # made once


def test_the_policys_seed_needs_no_policy_stream() -> None:
    # a policy is handed child 1 of the policy child (what numpy's spawn gives), whether or not
    # the policy stream itself was ever made (a run never makes it)
    policy = np.random.SeedSequence(77).spawn(len(STREAMS))[STREAMS.index("policy")]
    want = policy.spawn(2)[1]
    got = make_streams(77).policy_seed()
    assert got.spawn_key == want.spawn_key == (STREAMS.index("policy"), 1)
    assert got.generate_state(8).tolist() == want.generate_state(8).tolist()


def test_a_copy_with_another_seed_makes_that_seeds_streams() -> None:
    # the generators made so far are the old seed's: a replaced seed must not reuse them
    streams = make_streams(1)
    team = streams["team"]
    other = dataclasses.replace(streams, seed=2)
    assert other["team"] is not team
    assert other["team"].bit_generator.state == make_streams(2)["team"].bit_generator.state
