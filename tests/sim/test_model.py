"""The Mesa model: agents are views onto the arrays; records are immutable; bad actions refused."""

from __future__ import annotations

import pickle

import mesa
import numpy as np
import pytest

from outcome_gym.errors import ActionError, NumericalError, SimulationError
from outcome_gym.sim.agents import UserAgent
from outcome_gym.sim.interface import Action
from outcome_gym.sim.model import SimulationModel


def test_agents_are_views_onto_population(tiny):
    m = SimulationModel(tiny, 0)
    assert len(m.agents) == tiny.population.size
    for _ in range(8):
        m.step()
    agg = m.agents.agg("trust", np.sum)
    assert agg == pytest.approx(float(m.pop.trust.sum()), rel=1e-5)
    workers = m.agents.select(lambda a: a.segment == "worker")
    assert len(workers) == int((m.pop.segment == 0).sum())
    a = m.agents.select(lambda a: a.index == 3)[0]
    a.trust = 0.123
    assert m.pop.trust[3] == pytest.approx(0.123)
    assert isinstance(a, UserAgent) and m.steps == 8


def test_datacollector_reads_real_state(tiny):
    m = SimulationModel(tiny, 0)
    dc = mesa.DataCollector(model_reporters={"sessions": lambda mm: float(
        mm.totals.get("sessions", np.zeros(1)).sum())}, agent_reporters={"trust": "trust"})
    for _ in range(4):
        m.step()
        dc.collect(m)
    df = dc.get_agent_vars_dataframe()
    assert len(df) == 4 * tiny.population.size
    assert dc.get_model_vars_dataframe()["sessions"].is_monotonic_increasing


def test_team_graph_matches_teams(tiny):
    m = SimulationModel(tiny, 0, mesa_agents=False)
    g = m.team_graph()
    assert g.number_of_nodes() == tiny.population.size
    for u, v in list(g.edges)[:50]:
        assert m.pop.team[u] == m.pop.team[v]
    sizes = np.bincount(m.pop.team)
    assert g.number_of_edges() == int((sizes * (sizes - 1) // 2).sum())
    # colleagues are teammates other than oneself
    users = np.arange(tiny.population.size)
    col = m.teams.colleague(users, np.full(users.size, 0.5))
    multi = m.teams.sizes()[users] > 1
    assert (m.pop.team[col] == m.pop.team).all()
    assert (col[multi] != users[multi]).all()


def test_records_are_read_only(tiny):
    m = SimulationModel(tiny, 0, mesa_agents=False)
    rec = m.advance(m.default_action())
    with pytest.raises(ValueError):
        rec.position_clicks[0] = 1
    with pytest.raises(TypeError):
        rec.segment_metrics["clicks"] = np.zeros(2)  # type: ignore[index]
    obs = m.observe()
    with pytest.raises(ValueError):
        obs.active[0] = False


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda lay, note: (lay[:, :-1], note), "layout of shape"),
    (lambda lay, note: (lay.astype(float), note), "integer layout"),
    (lambda lay, note: (lay, note.astype(int)), "boolean notify"),
    (lambda lay, note: (np.where(np.arange(lay.shape[0])[:, None] == 5, 99, lay), note),
     r"user 5, slot 0: expected a laid-out element index, got 99"),
])
def test_bad_actions_raise_typed_errors(tiny, mutate, match):
    m = SimulationModel(tiny, 0, mesa_agents=False)
    a = m.default_action()
    lay, note = mutate(a.layout, a.notify)
    with pytest.raises(ActionError, match=match):
        m.advance(Action(layout=lay, notify=note))


def test_pushed_element_cannot_be_laid_out(tiny):
    m = SimulationModel(tiny, 0, mesa_agents=False)
    a = m.default_action()
    lay = a.layout.copy()
    lay[2, 3] = m.world.pushed_elements[0]
    with pytest.raises(ActionError, match="user 2, slot 3"):
        m.advance(Action(layout=lay, notify=a.notify))


def test_non_finite_values_raise_numerical_error(tiny):
    m = SimulationModel(tiny, 0, mesa_agents=False)
    m.pop.susceptibility[0] = np.nan  # user 0's open log-odds (susceptibility * appeal) is NaN
    with pytest.raises(NumericalError, match=r"mechanism 'notifications'.*step 0"):
        m.advance(m.default_action())


def test_model_pickles_mid_run_and_continues_identically(tiny):
    import pickle

    m = SimulationModel(tiny, 3, mesa_agents=False)
    for _ in range(5):
        m.observe()
        m.advance(m.default_action())
    m.observe()
    twin = pickle.loads(pickle.dumps(m))
    for _ in range(6):
        a, b = m.advance(m.default_action()), twin.advance(twin.default_action())
        for k in a.segment_metrics:
            assert np.array_equal(a.segment_metrics[k], b.segment_metrics[k])
    sa, sb = m.user_state(), twin.user_state()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert np.array_equal(sa[k], sb[k]), k


def _small(tiny):
    from tests.conftest import variant

    return variant(tiny, **{"population.size": 20, "clock.horizon_days": 1})


def test_running_turns_false_at_the_horizon_and_stepping_past_it_is_refused(tiny):
    sc = _small(tiny)
    m = SimulationModel(sc, 0, mesa_agents=False)
    n = m.world.n_steps
    steps = 0
    while m.running:  # the Mesa idiom
        m.step()
        steps += 1
    assert steps == n and m.done and m.steps == n
    with pytest.raises(SimulationError, match=r"the run is over: .* has \d+ steps"):
        m.step()
    with pytest.raises(SimulationError, match=r"model\.running is False"):
        m.advance(m.default_action())
    assert m.steps == n and m.t == n and not m.running


def test_seed_and_rng_keywords_follow_mesa(tiny):
    sc = _small(tiny)

    def trust_after(model):
        while model.running:
            model.step()
        return model.pop.trust.copy()

    base = trust_after(SimulationModel(sc, 5, mesa_agents=False))
    np.testing.assert_array_equal(trust_after(SimulationModel(sc, seed=5, mesa_agents=False)), base)
    np.testing.assert_array_equal(trust_after(SimulationModel(sc, rng=5, mesa_agents=False)), base)
    assert SimulationModel(sc, rng=5, mesa_agents=False).seed == 5
    g1 = SimulationModel(sc, rng=np.random.default_rng(1), mesa_agents=False)
    g2 = SimulationModel(sc, rng=np.random.default_rng(1), mesa_agents=False)
    assert g1.seed == g2.seed and isinstance(g1.seed, int)
    np.testing.assert_array_equal(trust_after(g1), trust_after(g2))
    assert isinstance(SimulationModel(sc, mesa_agents=False).seed, int)  # OS entropy
    with pytest.raises(ValueError, match="either seed or rng"):
        SimulationModel(sc, seed=1, rng=1)
    with pytest.raises(ValueError, match="non-negative integer seed"):
        SimulationModel(sc, rng=-1)


def test_models_from_one_prebuilt_run_as_models_from_the_scenario():
    # the compiled world and its arrays are shared, never written: two models from one Prebuilt,
    # stepped in turn, record what models built from the scenario record
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.model import Prebuilt, SimulationModel

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(60, 2), file="<t>")
    built = Prebuilt.of(sc)
    shared = [SimulationModel(built, seed, mesa_agents=False) for seed in (1, 2)]
    own = [SimulationModel(sc, seed, mesa_agents=False) for seed in (1, 2)]
    assert shared[0].world is shared[1].world is built.world
    while not own[0].done:
        for a, b in zip(shared, own, strict=True):
            ra, rb = a.advance(a.default_action()), b.advance(b.default_action())
            for name, values in rb.segment_metrics.items():
                assert ra.segment_metrics[name].tobytes() == values.tobytes(), name
    for a, b in zip(shared, own, strict=True):
        for name, values in b.totals.items():
            assert a.totals[name].tobytes() == values.tobytes(), name


def test_models_of_one_prebuilt_share_the_record_plan_and_no_reader_can_write_it():
    # the segment blocks and the first observation's zeros are the prebuilt's, for every model
    # of the whole population: the zeros cannot be made writable; a subset builds its own
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.model import Prebuilt, SimulationModel

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(30, 1), file="<t>")
    built = Prebuilt.of(sc)
    a, b = (SimulationModel(built, seed, mesa_agents=False) for seed in (1, 2))
    assert a.recorder.segments is b.recorder.segments is built.record.segments
    first = a.observe()
    assert first.clicks is b.observe().clicks is built.record.empty.clicks
    shown = (first.session, first.clicks, first.minutes, first.delivered, first.opened,
             first.layout, *first.events.values())
    for arr in shown:  # neither the array nor the memory under it can be made writable
        assert not arr.flags.writeable
        for mem in (arr, arr.base):
            with pytest.raises(ValueError):
                mem.setflags(write=True)
            with pytest.raises(ValueError):
                mem[...] = 7
    # nor after a copy of the prebuilt (the env's): its plan is built again, immutable too
    copied = pickle.loads(pickle.dumps(built)).record.empty.clicks
    assert not copied.any()
    with pytest.raises(ValueError):
        copied.base.setflags(write=True)
    c = SimulationModel(built, 3, mesa_agents=False)  # a later model: the same zeros, untouched
    assert c.observe().clicks is first.clicks and not first.clicks.any()
    assert (c.observe().layout == built.world.default_layout).all()
    a.step()  # the next observation shows the step's own arrays
    assert a.observe().clicks is not first.clicks and not first.clicks.any()
    team = SimulationModel(built, 1, mesa_agents=False, users=[0])
    assert team.rows.index is not None  # user 0's team, not everyone
    assert team.recorder.segments is not built.record.segments
    assert team.observe().clicks.shape[0] == team.rows.n


def test_the_habit_term_is_refreshed_at_each_days_start(tiny, monkeypatch):
    # the model tells its starter the app habit changed at slot 0 only (the day's close, its
    # one writer, runs there): 3 days must start the same sessions as a starter that recomputes
    # exp(session_habit * app_habit) every step (a refresh at t == 0 only would keep day 0's)
    from outcome_gym.sim.mechanisms import sessions
    from tests.conftest import variant

    sc = variant(tiny, **{"population.size": 200, "clock.horizon_days": 3})

    def run():
        m = SimulationModel(sc, 5, mesa_agents=False)
        started, habits = [], []
        for _ in range(3 * m.world.slots_per_day):
            m.advance(m.default_action())
            started.append(m.recorder.last.session.copy())
            habits.append(m.pop.app_habit.copy())
        return np.array(started), np.array(habits)

    started, habits = run()
    step = sessions.Starter.step
    monkeypatch.setattr(sessions.Starter, "step",
                        lambda self, *args: step(self, *args[:8], True))
    always, habits_always = run()
    assert started.tobytes() == always.tobytes() and started.any()
    # the habit moves from day to day (non-zero by day 2), so a stale term could show
    assert np.array_equal(habits, habits_always) and habits[-1].any()
    assert not np.array_equal(habits[0], habits[-1])


def test_needs_are_fresh_arrays_the_next_step_does_not_change(tiny):
    # the goals fill two buffers each step; model.needs() hands out copies of them: equal to
    # the goals' own now, and unchanged (and not the goals' arrays) after the model steps on
    m = SimulationModel(tiny, seed=1, mesa_agents=False)
    for _ in range(3):
        m.step()
    need, remaining = m.needs()
    own = m.goals.needs(m.t)
    assert need is not own[0] and remaining is not own[1]
    assert np.array_equal(need, own[0]) and np.array_equal(remaining, own[1])
    kept = need.copy(), remaining.copy()
    for _ in range(4):
        m.step()
    assert np.array_equal(need, kept[0]) and np.array_equal(remaining, kept[1])
    assert not np.array_equal(m.needs()[1], kept[1])  # the goals' state did move on


def test_the_step_draws_from_the_streams_of_its_name(tiny):
    # the six per-step generators are looked up once at build: each the Streams' own of its name
    m = SimulationModel(tiny, seed=1, mesa_agents=False)
    for name in ("availability", "notifications", "tray", "sessions", "choice", "context"):
        assert getattr(m, f"_rng_{name}") is m.streams[name], name


def test_each_hook_moves_only_the_streams_it_draws_from(monkeypatch):
    # every stream's state before and after each hook of two days' steps: a hook moves only its
    # own streams, and over the run each of them (a hook wired to another hook's generator, or
    # the recorder's handles swapped, fails here; the bitwise dump was the only other check)
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim import model as sim_model
    from outcome_gym.sim.recording import Recorder

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(60, 2), file="<t>")
    m = SimulationModel(sc, seed=4, mesa_agents=False)
    gens = m.streams.generators  # every stream made now (making one draws nothing)
    expected = {
        "_available_now": {"availability"}, "_notifications": {"notifications", "tray"},
        "_sessions": {"sessions"}, "_engage": {"choice"}, "_context": {"context"},
        "start_day": {"arrivals", "churn"}, "observation": {"instrumentation"},
        "record": {"instrumentation", "metrics"},
    }
    moved: dict[str, set[str]] = {hook: set() for hook in expected}

    def watched(hook, fn):
        def run(*args, **kwargs):
            before = {name: g.bit_generator.state for name, g in gens.items()}
            out = fn(*args, **kwargs)
            now = {name for name, g in gens.items() if g.bit_generator.state != before[name]}
            assert now <= expected[hook], (hook, now)
            moved[hook] |= now
            return out
        return run

    for hook in ("_available_now", "_notifications", "_sessions", "_engage", "_context"):
        monkeypatch.setattr(SimulationModel, hook, watched(hook, getattr(SimulationModel, hook)))
    monkeypatch.setattr(sim_model, "start_day", watched("start_day", sim_model.start_day))
    for hook in ("observation", "record"):
        monkeypatch.setattr(Recorder, hook, watched(hook, getattr(Recorder, hook)))
    for _ in range(2 * m.world.slots_per_day):
        m.advance(m.default_action())
    assert moved == expected
