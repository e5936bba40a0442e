"""``outcome-gym compare`` over degenerate but valid worlds (tests/degenerate.py): each file
compares, and its means say what the case gives by hand.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.loading import dump_scenario
from tests.conftest import TINY
from tests.degenerate import CASES, degenerate

runner = CliRunner()
POLICIES = ("static", "random")


def _no_templates(doc):
    for p in POLICIES:
        assert doc["means"][p]["engagement.delivered"] == doc["means"][p]["engagement.opens"] == 0


def _no_goals(doc):
    for p in POLICIES:
        assert not [m for m in doc["means"][p] if m.startswith("outcome.")]
        assert doc["means"][p]["wellbeing.goal_progress"] == 0


def _no_instrumented(doc):
    # what is not instrumented is still measured: the true outcomes are in the report
    assert {"outcome.on_time", "outcome.adjusted", "outcome.practised"} <= set(doc["means"]["random"])


def _no_context(doc):
    for p in POLICIES:
        assert doc["means"][p]["fragmentation.support_tickets"] == 0
        assert doc["means"][p]["fragmentation.context_failure_rate"] == 0


def _single_segment(doc):
    assert set(doc["verdicts"]["random"]["segments"]) == {"worker"}


def _one_user(doc):
    # the one user is a worker (the larger share); nobody is a saver, so nothing of the saver's
    # is measured (tests/cli/test_no_users.py)
    assert doc["empty_segments"] == ["saver"]
    for p in POLICIES:
        means = doc["means"][p]
        assert means["engagement.index[saver]"] is None and means["outcome.adjusted"] is None
        assert means["engagement.index"] == means["engagement.index[worker]"] > 0
    assert doc["verdicts"]["random"]["segments"]["saver"]["rule"] == "no-users"


def _a_verdict(doc):
    # the clock's cases: their step and day counts are checked in tests/sim/test_degenerate.py
    assert doc["verdicts"]["random"]["verdict"]


EXPECT = {"no_templates": _no_templates, "no_goals": _no_goals,
          "no_instrumented": _no_instrumented, "no_context": _no_context,
          "single_segment": _single_segment, "one_user": _one_user, "one_slot": _a_verdict,
          "one_day": _a_verdict}
assert set(EXPECT) == set(CASES), "every degenerate case needs its expectation here"


def _finite(node):
    if isinstance(node, dict):
        return all(_finite(v) for v in node.values())
    if isinstance(node, list):
        return all(_finite(v) for v in node)
    return not isinstance(node, float) or math.isfinite(node)


@pytest.mark.parametrize("case", sorted(CASES))
def test_compare_runs_a_degenerate_world(tmp_path, case):
    sc = degenerate(load_scenario(TINY), case, size=20, days=2)
    path = tmp_path / f"{case}.yaml"
    path.write_text(dump_scenario(sc))
    res = runner.invoke(app, ["compare", str(path), "--policies", ",".join(POLICIES),
                              "--seeds", "2", "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [p["label"] for p in doc["policies"]] == list(POLICIES) and _finite(doc["means"])
    EXPECT[case](doc)
