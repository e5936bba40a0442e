"""Mesa's own tools run the model as they run any Mesa model: DataCollector and batch_run."""

from __future__ import annotations

import numpy as np
import pytest
from mesa.batchrunner import batch_run

from outcome_gym.errors import ScenarioError
from outcome_gym.scenario import load_scenario
from outcome_gym.sim.collect import AGENT_REPORTERS, MODEL_REPORTERS
from outcome_gym.sim.model import SimulationModel
from tests.conftest import TINY


def test_no_datacollector_unless_asked(tiny):
    assert not hasattr(SimulationModel(tiny, 0), "datacollector")


def test_collects_at_construction_and_after_every_step(tiny):
    m = SimulationModel(tiny, 3, collect=True)
    for _ in range(5):
        m.step()
    model = m.datacollector.get_model_vars_dataframe()
    assert list(model.columns) == list(MODEL_REPORTERS) and len(model) == 6  # step 0 and 1..5
    assert model["total_sessions"].iloc[0] == 0  # nothing has happened at step 0
    assert model["total_sessions"].iloc[-1] == m.totals["sessions"].sum()
    assert model["total_sessions"].is_monotonic_increasing
    agents = m.datacollector.get_agent_vars_dataframe()
    assert list(agents.columns) == list(AGENT_REPORTERS)
    assert len(agents) == 6 * tiny.population.size
    last = agents.xs(5, level="Step")
    np.testing.assert_allclose(last["trust"].to_numpy(), m.pop.trust, rtol=1e-6)
    assert set(last["segment"]) == {"worker", "saver"}


def test_custom_reporters_and_no_agent_views(tiny):
    m = SimulationModel(tiny, 0, model_reporters={"t": lambda mm: mm.t}, mesa_agents=False)
    m.step()
    assert m.datacollector.get_model_vars_dataframe()["t"].tolist() == [0, 1]
    assert m.datacollector.agent_reporters == {}
    with pytest.raises(ValueError, match="agent reporters need agent views"):
        SimulationModel(tiny, 0, agent_reporters={"trust": "trust"}, mesa_agents=False)


def test_collecting_changes_nothing_the_run_records(tiny):
    plain, collected = SimulationModel(tiny, 7), SimulationModel(tiny, 7, collect=True)
    for _ in range(8):
        a, b = plain.advance(plain.default_action()), collected.advance(collected.default_action())
        assert a.segment_metrics.keys() == b.segment_metrics.keys()
        for k in a.segment_metrics:
            np.testing.assert_array_equal(a.segment_metrics[k], b.segment_metrics[k])


def test_a_scenario_by_name_or_path(tiny):
    by_path = SimulationModel(str(TINY), 1)
    assert by_path.scenario == tiny
    assert SimulationModel("productivity_tool", 1, mesa_agents=False).scenario.name == \
        "productivity_tool"
    with pytest.raises(ScenarioError):
        SimulationModel("no_such_world", 1)


def test_batch_run_without_workarounds():
    """Mesa's batch_run: a parameter grid, iterations, max_steps, collection every 4 steps."""
    small = str(TINY)
    rows = batch_run(SimulationModel, {"scenario": small, "seed": [0, 1], "collect": True},
                     iterations=1, max_steps=10_000, data_collection_period=4,
                     number_processes=1, display_progress=False)
    n_users, n_steps = load_scenario(TINY).population.size, 14 * 4
    steps = sorted({r["Step"] for r in rows})
    assert steps == [*range(0, n_steps, 4), n_steps - 1]  # stopped by running, not max_steps
    assert len(rows) == 2 * len(steps) * n_users
    # each run's last collected row is its own model's state: same seed, same numbers
    for seed in (0, 1):
        m = SimulationModel(small, seed, collect=True)
        while m.running:
            m.step()
        got = [r for r in rows if r["seed"] == seed and r["Step"] == n_steps - 1]
        want = m.datacollector.get_model_vars_dataframe().iloc[n_steps - 1]
        assert got[0]["total_sessions"] == want["total_sessions"] and got[0]["scenario"] == small


@pytest.mark.slow
def test_batch_run_in_parallel_gives_the_serial_rows():
    """Two spawned processes (Mesa's pool) give exactly the rows one process gives."""
    params = {"scenario": str(TINY), "seed": [0, 1, 2], "collect": True}
    kw = {"iterations": 1, "max_steps": 10_000, "display_progress": False}
    serial = batch_run(SimulationModel, params, number_processes=1, **kw)
    parallel = batch_run(SimulationModel, params, number_processes=2, **kw)

    def key(r: dict) -> tuple:
        return r["seed"], r["Step"], r["AgentID"]

    assert sorted(serial, key=key) == sorted(parallel, key=key)


def test_reset_rng_is_kept_as_plain_mesa_keeps_it(tiny):
    # Mesa's reset_rng, then a read of the agent registry: the model's rng is still the one
    # reset_rng set (what a plain mesa.Model does), not the seed's key-99 child again
    m = SimulationModel(tiny, 3, mesa_agents=False)
    m.reset_rng(5)
    assert len(m.agents) == 0
    assert m.rng.bit_generator.state == np.random.default_rng(5).bit_generator.state
