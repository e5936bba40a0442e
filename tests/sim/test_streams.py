"""The run's streams: the generators numpy's SeedSequence spawns, computed together."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from outcome_gym.sim.model import SimulationModel
from outcome_gym.sim.rng import MESA_KEY, STREAMS, StreamSeed, make_streams, spawned_states

# one-word, two-word, pool-filling (4 words) and longer seeds (the root mixes words past the
# pool's 4 before the key), and the word boundaries between them
SEEDS = [0, 1, 7, 2**32 - 1, 2**32, 2**63 - 1, 2**64, 2**96 + 7, 2**128 - 1, 2**128,
         2**128 + 12345, 2**160 + 3, 2**300 + 11,
         *np.random.default_rng(0).integers(0, 2**63 - 1, 20).tolist()]


@pytest.mark.parametrize("seed", SEEDS)
def test_streams_are_numpys_spawned_children(seed: int) -> None:
    streams = make_streams(seed)
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    for name, child in zip(STREAMS, children, strict=True):
        expected = np.random.Generator(np.random.PCG64(child))
        assert streams[name].bit_generator.state == expected.bit_generator.state, name
        assert streams[name].random(3).tolist() == expected.random(3).tolist()
    mesa = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(MESA_KEY,)))
    assert streams.mesa.bit_generator.state == mesa.bit_generator.state


def test_spawned_states_are_generate_state_of_each_child() -> None:
    keys = (0, 5, 99, 2**32 - 1)
    expected = [np.random.SeedSequence(123, spawn_key=(k,)).generate_state(4, np.uint64)
                for k in keys]
    assert spawned_states(123, keys).tolist() == np.array(expected).tolist()


def test_a_stream_seed_answers_as_the_sequence_it_stands_for() -> None:
    seed = make_streams(2024)["choice"].bit_generator.seed_seq
    assert isinstance(seed, StreamSeed)
    numpys = np.random.SeedSequence(2024, spawn_key=(STREAMS.index("choice"),))
    for n_words, dtype in ((4, np.uint64), (8, np.uint32), (3, np.uint64)):
        assert seed.generate_state(n_words, dtype).tolist() == \
            numpys.generate_state(n_words, dtype).tolist()
    # spawning continues the sequence, as numpy's does (a second spawn gives new children)
    for _ in range(2):
        ours, theirs = seed.spawn(2), numpys.spawn(2)
        assert [s.generate_state(2).tolist() for s in ours] == \
            [s.generate_state(2).tolist() for s in theirs]


def test_a_stream_pickles_and_spawns_generators() -> None:
    rng = make_streams(5)["tray"]
    rng.random(3)
    copy = pickle.loads(pickle.dumps(rng))
    assert copy.random(4).tolist() == rng.random(4).tolist()
    child = rng.spawn(1)[0]
    numpys = np.random.default_rng(
        np.random.SeedSequence(5, spawn_key=(STREAMS.index("tray"),)).spawn(1)[0])
    assert child.random(2).tolist() == numpys.random(2).tolist()


def test_the_models_mesa_rng_is_the_key_99_child() -> None:
    model = SimulationModel("productivity_tool", 31, mesa_agents=False)
    mesa = np.random.default_rng(np.random.SeedSequence(31, spawn_key=(99,)))
    mesa.integers(np.iinfo(np.int32).max)  # Mesa's Model draws stdlib random's seed from it
    assert model.rng.bit_generator.state == mesa.bit_generator.state
