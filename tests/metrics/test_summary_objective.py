"""The run summary's ``objective`` block: what each learner is named after, per user over the run."""

from __future__ import annotations

import pytest

from outcome_gym.metrics.flat import flatten
from outcome_gym.metrics.summary import RunSummary
from outcome_gym.runner import run


def test_objective_block_is_the_engagement_index_and_the_weighted_outcome_events(tiny):
    """tiny.yaml instruments practice.practised (weight +1, behind the 'practised' spec) and
    work.completed and budget.adjusted, which no spec's metric is moved by (weight 0)."""
    result = run(tiny, "static", 0)
    users, objective = result.users, result.summary.objective
    n = len(users)
    assert objective["engagement"] == pytest.approx(flatten(tiny, result.summary)
                                                    ["engagement.index"])
    assert objective["outcome"] == pytest.approx(users["practice.practised"].sum() / n)
    assert objective["outcome"] > 0
    back = RunSummary.from_dict(result.summary.as_dict(), tiny)
    assert back.objective == objective
