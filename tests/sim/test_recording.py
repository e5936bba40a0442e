"""The recorder's compiled pass for the derived per-user metrics (sim/recording.py)."""

from __future__ import annotations

import numpy as np

from outcome_gym.sim._rows import rowsum
from outcome_gym.sim.recording import DERIVED, metric_rows


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
