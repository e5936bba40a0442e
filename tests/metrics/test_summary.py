"""The typed run summary: what summary.json holds, read back, flattened the same either way."""

from __future__ import annotations

import json

from outcome_gym.metrics.flat import flatten
from outcome_gym.metrics.summary import RunSummary, SegmentSummary
from outcome_gym.runner import run


def test_summary_round_trips_through_summary_json(tiny, tmp_path):
    res = run(tiny, "random", seed=2)
    assert isinstance(res.summary, RunSummary)
    assert all(isinstance(s, SegmentSummary) for s in res.summary.segments.values())
    res.write(tmp_path / "r")
    data = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert data == res.summary.as_dict()
    back = RunSummary.from_dict(data)
    assert back == res.summary
    assert flatten(tiny, data) == flatten(tiny, res.summary)


def test_summary_fields_are_typed(tiny):
    s = run(tiny, "static", seed=0).summary
    worker = s.segments["worker"]
    assert worker.n_users == sum(s.n_users for s in s.segments.values()) - s.segments["saver"].n_users
    assert 0.0 <= worker.fragmentation.core_consistency <= 1.0
    assert set(worker.fragmentation.context_failure_rate) == set(
        worker.fragmentation.context_events_per_user)
    assert {o.segment for o in s.outcomes.values()} <= set(s.segments)
