"""The recorder's compiled pass for the derived per-user metrics (sim/recording.py)."""

from __future__ import annotations

import itertools
import pickle
import re

import numpy as np
import pytest

from outcome_gym.sim.recording import DERIVED, metric_rows
from tests.sim.reference_rows import rowsum


def _derived_by_numpy(opened, opted_out, progress, outside, active, trust, dist, consistent):
    """The derived metrics as the recorder computed them with numpy before the pass."""
    app, off = rowsum(progress), rowsum(outside)
    return {
        "opens": rowsum(opened), "opt_outs": rowsum(opted_out), "app_progress": app,
        "outside_progress": off, "goal_progress": app + off,
        "trust_sum": np.where(active, trust, 0.0), "layout_distance_sum": np.where(active, dist, 0.0),
        "core_consistent": active & consistent,
    }


def test_metric_rows_equal_the_numpy_formulas_bit_for_bit():
    # random shapes (no notification or goal columns too), signed zeros and tiny and large
    # progress (an order of addition would show), into scattered rows of a wider buffer
    rng = np.random.default_rng(21)
    for trial in range(40):
        n, m, mo, g = 57, int(rng.integers(0, 5)), int(rng.integers(0, 3)), int(rng.integers(0, 6))
        args = (rng.random((n, m)) < 0.4, rng.random((n, mo)) < 0.2,
                rng.random((n, g)) * 10.0 ** rng.integers(-9, 9, (n, g)) * rng.choice([1, -1, 0], (n, g)),
                rng.random((n, g)) * 10.0 ** rng.integers(-9, 9, (n, g)),
                rng.random(n) < 0.7, rng.random(n).astype(np.float32), rng.random(n) / 3.0,
                rng.random(n) < 0.5)
        if trial % 4 == 0 and g:
            args[2][:, 0] = -0.0  # -0.0 + ...: the first column starts the sum, as numpy's
        at = rng.permutation(12)[:len(DERIVED)].astype(np.int64)
        out, opens = np.full((12, n), np.nan), np.empty(n, np.int64)
        metric_rows(*args, at, out, opens)
        want = _derived_by_numpy(*args)
        assert opens.tobytes() == want["opens"].tobytes()
        for name, row in zip(DERIVED, at, strict=True):
            assert out[row].tobytes() == want[name].astype(np.float64).tobytes(), (trial, name)


def test_metric_rows_by_hand():
    # user 0 (active): opened 2 of 3, opted out of 1, progress 0.25 + 0.5 in the app, 0.125
    # outside, trust 0.5, distance 0.2, consistent. user 1 (inactive): trust, distance and
    # consistency count 0 (its counts and progress still count)
    opened = np.array([[True, False, True], [False, False, True]])
    opted = np.array([[True], [False]])
    progress = np.array([[0.25, 0.5], [0.0, 1.0]])
    outside = np.array([[0.125, 0.0], [0.0, 0.0]])
    out, opens = np.zeros((8, 2)), np.zeros(2, np.int64)
    metric_rows(opened, opted, progress, outside, np.array([True, False]),
                np.array([0.5, 0.9], np.float32), np.array([0.2, 0.4]), np.array([True, True]),
                np.arange(8, dtype=np.int64), out, opens)
    assert opens.tolist() == [2, 1]
    assert dict(zip(DERIVED, out.tolist(), strict=True)) == {
        "opens": [2.0, 1.0], "opt_outs": [1.0, 0.0], "app_progress": [0.75, 1.0],
        "outside_progress": [0.125, 0.0], "goal_progress": [0.875, 1.0], "trust_sum": [0.5, 0.0],
        "layout_distance_sum": [0.2, 0.0], "core_consistent": [1.0, 0.0]}


def test_every_array_of_a_record_and_an_observation_is_read_only():
    # the segment metrics (rows of the gathered sums and of the divergence table), the feedback
    # (the pass's opens, the pipe's seen events) and the next observation (Last's arrays)
    import pytest

    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.model import SimulationModel

    sc = with_overrides(load_scenario("finance_alerts"), size_overrides(60, 2), file="<t>")
    m = SimulationModel(sc, 3, mesa_agents=False)
    for _ in range(3):
        rec = m.advance(m.default_action())
    fb, obs = rec.feedback, m.observe()
    assert len(fb.events) > 0 and "layout_entropy_bits" in rec.segment_metrics
    arrays = [*rec.segment_metrics.values(), fb.clicks, fb.minutes, fb.sessions, fb.opens,
              *fb.events.values(), obs.session, obs.clicks, obs.minutes, obs.delivered,
              obs.opened, obs.receptivity, obs.active, obs.layout, *obs.events.values()]
    for a in arrays:
        with pytest.raises(ValueError):
            a[(0,) * a.ndim] = 1
    assert fb.opens.dtype == np.int64 and obs.receptivity.dtype == np.float32


def test_segment_sums_are_reduceat_bit_for_bit():
    # the per-segment sums of the pass against numpy's reduceat: blocks of 1 to ~700 users,
    # values over many magnitudes and signs, signed zeros
    from outcome_gym.sim._rows import pairwise_frames
    from outcome_gym.sim.recording import block_sums

    rng = np.random.default_rng(31)
    for trial in range(30):
        n = int(rng.integers(1, 2000))
        x = rng.random((6, n)) * 10.0 ** rng.integers(-9, 9, (6, n)) * rng.choice([1, -1, 0], (6, n))
        x[0] = -0.0
        starts = np.r_[0, np.sort(rng.choice(np.arange(1, n), min(n - 1, int(rng.integers(0, 6))),
                                             replace=False))].astype(np.int64)
        stops = np.r_[starts[1:], n].astype(np.int64)
        table = np.full((6, starts.size), np.nan)
        frames = pairwise_frames()
        for j in range(6):
            block_sums(x[j], starts, stops, np.arange(starts.size), table[j], frames)
        want = np.add.reduceat(x, starts, axis=1)
        assert table.tobytes() == want.tobytes(), trial


def test_segment_sums_by_hand():
    # users 0-1 in segment 2, users 2-4 in segment 0, no user in segment 1 (its column stays 0)
    from outcome_gym.sim._rows import pairwise_frames
    from outcome_gym.sim.recording import SegmentSums, block_sums

    sums = SegmentSums(np.array([2, 2, 0, 0, 0]), 3)
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [-0.0, -0.0, 0.5, 0.25, 0.0]])
    table = sums.new_table((2, 3))
    for row, out in zip(x, table, strict=True):
        block_sums(row, sums.starts, sums.stops, sums.ids, out, pairwise_frames())
    assert table.tolist() == [[12.0, 0.0, 3.0], [0.75, 0.0, 0.0]]
    assert np.signbit(table[1, 2])  # -0.0 + -0.0, as reduceat gives it


def _model(policy_layout=None):
    from outcome_gym.scenario import load_scenario
    from outcome_gym.scenario.overrides import size_overrides, with_overrides
    from outcome_gym.sim.model import SimulationModel

    sc = with_overrides(load_scenario("productivity_tool"), size_overrides(90, 2), file="<t>")
    return SimulationModel(sc, 5, mesa_agents=False)


def test_the_observed_receptivity_is_the_signal_of_who_is_available():
    # the model's observation (Recorder.observation) against d' * available + z: d' of the
    # scenario's AUC 0.7 (sqrt(2) * Phi^-1(0.7) = 0.7416), z the instrumentation stream's next
    # N normals (drawn from a copy of it), rounded to float32 once
    import copy

    from outcome_gym.sim.mechanisms.observation import signal_separation

    m = _model()
    for _ in range(3):  # some steps in: the streams have moved on, some users are available
        m.advance(m.default_action())
    assert m.world.params.receptivity_auc == 0.7
    assert signal_separation(0.7) == pytest.approx(0.7416143, abs=1e-7)
    z = copy.deepcopy(m.streams["instrumentation"]).standard_normal(m.rows.n_all)
    obs = m.observe()
    avail = m._available_now()
    assert 0 < avail.sum() < avail.shape[0]
    want = (signal_separation(0.7) * avail + z).astype(np.float32)
    assert obs.receptivity.dtype == np.float32 and obs.receptivity.tobytes() == want.tobytes()


def test_record_rows_equal_the_stack_numpy_built():
    # every per-segment sum and total of a few steps against the matrix the recorder built with
    # numpy before its pass: each metric's row (the outcome's arrays as float64, the derived
    # metrics by numpy's formulas), reduceat per segment, totals added step by step; and the
    # divergence estimators against divergence_table on the metrics stream's draw (these
    # layouts differ within a segment, so the sample reads its numbers: the first step through
    # the retry after trying without them, the later steps drawn first)
    import copy

    from outcome_gym.sim import recording
    from outcome_gym.sim.layout import PAIRS, layout_distance
    from tests.sim.reference_layout import core_consistent, divergence_table

    m = _model()
    w, rec = m.world, m.recorder
    seen: list = []
    keep = rec.record
    rec.record = lambda out: (seen.append(out), keep(out))[1]
    rng = np.random.default_rng(2)
    totals: dict = {}
    for _ in range(6):
        action = m.default_action()
        lay = np.array(action.layout)
        swap = rng.random(lay.shape[0]) < 0.5  # half the users see two positions swapped
        lay[swap, 0], lay[swap, -1] = lay[swap, -1], lay[swap, 0]
        before = copy.deepcopy(m.streams["metrics"])
        r = m.advance(type(action)(layout=lay, notify=action.notify))
        out = seen[-1]
        seg = rec.segments
        u = before.random((seg.starts.size, 3, PAIRS))
        assert before.bit_generator.state == m.streams["metrics"].bit_generator.state
        want = divergence_table(out.layout, out.active, seg.starts, seg.stops, w.slot_weight, u)
        got = np.array([r.segment_metrics[k] for k in recording.DIVERGENCE])
        assert got.tobytes() == want.tobytes()
        assert not rec._undrawn and got[0].all()  # the sample read its numbers: pairs apart
        eng, dlv, ctx = out.engagement, out.delivery, out.context
        flags = (out.active, out.available, out.started, out.churned,
                 *(ctx.events[k] for k in recording.KINDS),
                 *(ctx.failures[k] for k in recording.KINDS))
        rows = dict(zip(recording.FLAGS + recording.CONTEXT, flags, strict=True))
        rows.update(clicks=eng.clicks, delivered=dlv.delivered_count, minutes=eng.minutes,
                    goal_minutes=eng.goal_minutes, distraction_minutes=eng.distraction_minutes,
                    self_control_minutes=eng.self_control_minutes,
                    interruption_minutes=dlv.interruption_minutes,
                    search_minutes=eng.search_minutes, support_tickets=ctx.failed, **out.events)
        d = layout_distance(out.layout, w.default_layout, w.slot_weight)
        ok = core_consistent(out.layout, w.default_layout, w.core_slot)
        rows.update(_derived_by_numpy(dlv.opened, dlv.opted_out, eng.progress, out.outside,
                                      out.active, out.trust, d, ok))
        starts = rec.segments.starts
        for name in recording.METRICS + tuple(out.events):
            row = np.asarray(rows[name], dtype=np.float64)
            want = np.add.reduceat(row, starts)
            assert r.segment_metrics[name].tobytes() == want.tobytes(), name
            if name not in recording.NOT_TOTALLED:
                totals[name] = totals.get(name, 0.0) + row
        assert r.feedback.opens.tolist() == rowsum(dlv.opened).tolist()
    assert set(totals) == set(m.totals)
    for name, v in totals.items():
        assert m.totals[name].tobytes() == v.tobytes(), name
    assert list(r.segment_metrics)[-4:] == list(recording.DIVERGENCE)


def test_divergence_without_its_numbers_leaves_the_stream_where_the_draw_would():
    # every user on the default layout: each segment's sampled users share one layout, no pair
    # needs looking at, so the metrics stream is advanced instead of drawn -- and ends where the
    # draw would have left it, with the estimators the drawn numbers give (0 apart, one layout)
    import copy

    from outcome_gym.sim.layout import PAIRS
    from tests.sim.reference_layout import divergence_table

    m = _model()
    blocks = m.recorder.segments.starts.size
    for _ in range(3):
        before = copy.deepcopy(m.streams["metrics"])
        r = m.advance(m.default_action())
        u = before.random((blocks, 3, PAIRS))
        assert before.bit_generator.state == m.streams["metrics"].bit_generator.state
        seg = m.recorder.segments
        want = divergence_table(m.recorder.last.layout, m.pop.active, seg.starts, seg.stops,
                                m.world.slot_weight, u)
        got = np.array([r.segment_metrics[k] for k in ("pair_distance_sum", "pairs",
                                                        "distinct_layouts", "layout_entropy_bits")])
        assert got.tobytes() == want.tobytes()
        assert m.recorder._undrawn  # and the next step tries without the numbers again
    assert got[2].tolist() == [1.0] * blocks and got[0].tolist() == [0.0] * blocks


def test_metric_rows_sum_as_the_stacked_entries_do():
    # a record's segment metrics (the recorder's table, then the guardrail sums) summed a matrix
    # at a time: the bits of the sums of every entry stacked in one matrix
    from outcome_gym.sim.interface import FrozenMap, MetricRows, row_sums

    rng = np.random.default_rng(4)
    for k in (1, 3, 4, 9):
        table = rng.random((7, k)) * 10.0 ** rng.integers(-9, 9, (7, k))
        extra = rng.random((2, k)) * 10.0 ** rng.integers(-9, 9, (2, k))
        for m in (table, extra):
            m.setflags(write=False)
        names = [*(f"m{i}" for i in range(7)), "g0", "g1"]
        rows = MetricRows(names[:7], table).merged(names[7:], extra)
        assert isinstance(rows, MetricRows) and list(rows) == names
        assert [rows[n].tobytes() for n in names] == [*map(bytes, table), *map(bytes, extra)]
        want = np.add.reduce(np.concatenate([table, extra]), axis=1)
        assert np.array(list(row_sums(rows).values())).tobytes() == want.tobytes()
        assert list(row_sums(rows)) == names
        plain = FrozenMap(dict(rows))  # another mapping: stacked, the same sums
        assert row_sums(plain) == row_sums(rows)


def test_a_records_metric_rows_by_hand():
    from outcome_gym.sim.interface import FrozenMap, MetricRows, row_sums

    def frozen(a):
        a.setflags(write=False)
        return a

    rows = MetricRows(["a", "b"], frozen(np.array([[1.0, 2.0], [0.5, -0.5]])))
    assert row_sums(rows) == {"a": 3.0, "b": 0.0}
    assert rows["b"].tolist() == [0.5, -0.5] and not rows["b"].flags.writeable
    assert "a" in rows and rows.get("c") is None and len(rows) == 2
    with pytest.raises(AttributeError):
        rows._names = ("x", "y")
    # a name again, or a writable matrix: no longer rows of read-only matrices, a plain map
    again = rows.merged(["a"], frozen(np.array([[4.0, 4.0]])))
    assert type(again) is FrozenMap and row_sums(again) == {"a": 8.0, "b": 0.0}
    assert type(rows.merged(["c"], np.array([[1.0, 1.0]]))) is FrozenMap
    with pytest.raises(ValueError, match="expected 2 names"):
        MetricRows(["a"], frozen(np.zeros((2, 2))))
    # too many names: the message shows every name given, the extra one too
    with pytest.raises(ValueError, match=re.escape("expected 2 names, got ('a', 'b', 'c')")):
        MetricRows(["a", "b", "c"], frozen(np.zeros((2, 2))))
    with pytest.raises(ValueError, match=re.escape("expected 2 names, got ('c', 'd', 'e')")):
        rows.merged(["c", "d", "e"], frozen(np.zeros((2, 2))))  # the merged matrix's names only
    # a matrix in another order (or writable) is refused, and merged as a plain map: its rows
    # would be reduced in another order than the stacked entries (other last bits)
    fortran = frozen(np.asfortranarray(np.array([[1.0, 2.0], [3.0, 4.0]])))
    # (a 1-D array too: row_sums' compiled sums index its second axis)
    for bad in (fortran, np.array([[1.0, 2.0], [3.0, 4.0]]), frozen(np.array([1.0, 2.0]))):
        with pytest.raises(ValueError, match="read-only C-contiguous 2-D float64"):
            MetricRows(["x", "y"], bad)
    assert type(rows.merged(["x", "y"], fortran)) is FrozenMap
    # and so is a matrix of another dtype (row_sums' compiled sums are float64's)
    ints = frozen(np.array([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match="float64"):
        MetricRows(["x", "y"], ints)
    assert type(rows.merged(["x", "y"], ints)) is FrozenMap
    # the same names merged again (the answer for the last two name tuples is kept): rows of
    # matrices each time; a name the map has, from the same tuple object, a plain map
    new = ("c", "d")
    for _ in range(2):
        assert type(rows.merged(new, frozen(np.zeros((2, 2))))) is MetricRows
    twice = rows.merged(new, frozen(np.zeros((2, 2))))
    for _ in range(2):
        assert type(twice.merged(new, frozen(np.ones((2, 2))))) is FrozenMap
    # pickled as a FrozenMap of its entries
    back = pickle.loads(pickle.dumps(rows))
    assert type(back) is FrozenMap and {k: v.tolist() for k, v in back.items()} == {
        "a": [1.0, 2.0], "b": [0.5, -0.5]}


def test_records_and_observations_hold_every_field_of_their_classes():
    # the recorder builds them without __init__ (interface._instance): each holds exactly its
    # class's fields, in order, with the step's values; __init__ accepts them again
    # (dataclasses.replace) and a pickle round trip keeps the type and fields; the merged
    # record has a dict of its own (the original keeps its metrics)
    import dataclasses

    from outcome_gym.sim.interface import Feedback, Observation, StepRecord

    m = _model()
    rec = m.advance(m.default_action())
    obs = m.observe()
    extra = np.zeros((1, len(next(iter(rec.segment_metrics.values())))))
    extra.setflags(write=False)
    merged = rec.with_metrics(("extra",), extra)
    for got, cls in ((rec, StepRecord), (rec.feedback, Feedback), (obs, Observation),
                     (merged, StepRecord)):
        names = [f.name for f in dataclasses.fields(cls)]
        assert type(got) is cls and list(vars(got)) == names
        assert type(dataclasses.replace(got)) is cls
        back = pickle.loads(pickle.dumps(got))
        assert type(back) is cls and list(vars(back)) == names
    assert rec.step == merged.step == 0 and obs.step == 1
    assert obs.receptivity.shape == (90,) and rec.feedback.sessions.shape == (90,)
    assert merged.feedback is rec.feedback and list(merged.segment_metrics)[-1] == "extra"
    assert "extra" not in rec.segment_metrics and vars(merged) is not vars(rec)


def test_the_record_and_the_next_observation_hold_the_steps_own_arrays():
    # each field is the step's own array (the same object: a swap of two of one shape, e.g.
    # delivered and opened, would pass a shape check), read-only; the observation's minutes the
    # engagement's as float32, its layout a read-only view of the step's
    m = _model()
    rec = m.recorder
    seen: list = []
    keep = rec.record
    rec.record = lambda out: (seen.append(out), keep(out))[1]
    for _ in range(3):
        r = m.advance(m.default_action())
        out, obs = seen[-1], m.observe()
        eng, dlv = out.engagement, out.delivery
        assert obs.session is out.started and obs.clicks is eng.element_clicks
        assert obs.delivered is dlv.delivered and obs.opened is dlv.opened
        assert obs.events is r.feedback.events
        assert obs.minutes.dtype == np.float32
        assert obs.minutes.tobytes() == eng.minutes.astype(np.float32).tobytes()
        assert obs.layout.base is out.layout and not obs.layout.flags.writeable
        fb = r.feedback
        assert fb.clicks is eng.clicks and fb.minutes is eng.minutes
        assert fb.sessions is out.started and fb.opens.tolist() == rowsum(dlv.opened).tolist()
        assert r.position_clicks is eng.position_clicks
        assert r.position_views is eng.position_views and r.element_clicks is eng.element_totals
        assert rec.last == (obs.session, obs.clicks, obs.minutes, obs.delivered, obs.opened,
                            obs.events, obs.layout)


def test_a_records_metrics_are_one_row_per_name_of_a_row_matrix():
    # the recorder builds its map without MetricRows' checks (MetricRows._of): the table must
    # pass them, with the divergence estimators' rows and without them (a replay's)
    from outcome_gym.sim import recording
    from outcome_gym.sim.interface import MetricRows

    m = _model()
    for sample in (True, False, True, np.False_, np.True_):  # numpy's bools too
        m.recorder.sample_divergence = sample
        metrics = m.advance(m.default_action()).segment_metrics
        (table,) = metrics.matrices
        names = recording.METRICS + m.recorder._events + (recording.DIVERGENCE if sample else ())
        assert metrics.names == names and table.shape == (len(names), len(m.world.segment_ids))
        checked = MetricRows(list(names), table)  # the checks pass (they raise otherwise)
        assert {k: v.tobytes() for k, v in checked.items()} == {
            k: v.tobytes() for k, v in metrics.items()}


def test_metric_rows_make_their_rows_at_the_first_read_only():
    # no row made before a read (the map's _data slot unset): a pickle, a merge and every read
    # make or share the same views; entries read after a merge are the merged map's own
    from outcome_gym.sim.interface import FrozenMap, MetricRows

    table = np.arange(6.0).reshape(3, 2).copy()  # its own memory: the rows' base
    table.setflags(write=False)
    for first in ("pickle", "get", "merge"):
        rows = MetricRows(("a", "b", "c"), table)
        with pytest.raises(AttributeError):
            rows._data  # noqa: B018 - the slot is unset until a read
        if first == "pickle":
            back = pickle.loads(pickle.dumps(rows))
            assert type(back) is FrozenMap and back["c"].tolist() == [4.0, 5.0]
        elif first == "merge":
            extra = np.ones((1, 2))
            extra.setflags(write=False)
            merged = rows.merged(("d",), extra)
            assert list(merged) == ["a", "b", "c", "d"] and merged["d"].tolist() == [1.0, 1.0]
        assert rows["b"] is rows["b"] and rows["b"].base is table
        assert dict(rows.items()) == {"a": rows["a"], "b": rows["b"], "c": rows["c"]}


def test_kept_records_and_observations_do_not_change_as_the_model_steps_on():
    # what the recorder allocates every step (the segment table, the feedback's opens, the
    # pipe's seen events, the receptivity signal) and the step's other arrays: a record or an
    # observation kept by the caller holds the same bytes a day of random-layout steps later,
    # and no two steps share memory (a per-run buffer there would be rewritten under the
    # caller)
    m = _model()
    rng = np.random.default_rng(3)
    action = m.default_action()
    kept = []
    for _ in range(2 * m.world.slots_per_day):
        layout = np.array([rng.permutation(row) for row in action.layout])
        obs = m.observe()
        rec = m.advance(type(action)(layout=layout, notify=action.notify))
        arrays = {"table": rec.segment_metrics.matrices[0], "opens": rec.feedback.opens,
                  "receptivity": obs.receptivity, "sessions": rec.feedback.sessions,
                  "clicks": rec.feedback.clicks, "minutes": rec.feedback.minutes,
                  **{f"seen {k}": v for k, v in obs.events.items()},
                  **{f"metric {k}": v for k, v in rec.segment_metrics.items()}}
        kept.append({k: (v, v.tobytes()) for k, v in arrays.items()})
    assert any(len(k) > 10 for k in kept) and any(
        "seen" in name for name in kept[-1])  # the scenario instruments events
    for step in kept:
        for name, (array, was) in step.items():
            assert array.tobytes() == was, name
    for a, b in itertools.pairwise(kept):
        for name in ("table", "opens", "receptivity"):
            assert not np.shares_memory(a[name][0], b[name][0]), name


def test_a_merge_into_a_frozen_map_record_leaves_the_kept_record_alone():
    # with_metrics on a record whose metrics are a FrozenMap (not the recorder's MetricRows):
    # the merged record has the new entries, the kept one neither them nor a changed entry
    from outcome_gym.sim.interface import FrozenMap

    m = _model()
    rec = m.advance(m.default_action())
    plain = dict(rec.segment_metrics.items())
    base = type(rec)(**{**vars(rec), "segment_metrics": FrozenMap(plain)})
    extra = np.ones(len(m.world.segment_ids))
    extra.setflags(write=False)
    merged = base.with_metrics(("extra",), (extra,))
    assert list(merged.segment_metrics)[-1] == "extra"
    assert "extra" not in base.segment_metrics
    assert list(base.segment_metrics) == list(plain)
    assert all(base.segment_metrics[k] is plain[k] for k in plain)
