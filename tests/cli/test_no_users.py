"""A target segment with no users, end to end: ``compare --json``, the report and ``check``.

tiny at N = 1 (tests/degenerate.py, case ``one_user``): the one user is a worker (share 0.6), so
the saver segment, which owns the outcome spec ``adjusted``, has nobody in it on every seed. Before
the ``no-users`` rule the comparison said "saver: inconclusive (needs ~N seeds)" and a reference
mean of 0 — a verdict on no data. finance_alerts at N = 1 has its only target segment
(overspender, share 0.3) empty: nothing the scenario names as an outcome is measured.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outcome_gym.check import load_contract
from outcome_gym.check.contract import OutcomeLift
from outcome_gym.check.evaluate import evaluate_expectation
from outcome_gym.cli import app
from outcome_gym.compare import compare
from outcome_gym.errors import InputError
from outcome_gym.scenario import load_scenario
from outcome_gym.scenario.loading import dump_scenario
from outcome_gym.scenario.overrides import size_overrides, with_overrides
from outcome_gym.story import most_harmed
from tests.conftest import TINY
from tests.degenerate import degenerate

runner = CliRunner()


@pytest.fixture(scope="module")
def one_user(tmp_path_factory):
    """tiny with one user (a worker) over two days, as a file."""
    path = tmp_path_factory.mktemp("one") / "one_user.yaml"
    path.write_text(dump_scenario(degenerate(load_scenario(TINY), "one_user", size=20, days=2)))
    return path


@pytest.fixture(scope="module")
def report(one_user, tmp_path_factory):
    """``compare --json --out`` on it: the JSON document and the report folder."""
    out = tmp_path_factory.mktemp("cmp") / "out"
    res = runner.invoke(app, ["compare", str(one_user), "--policies", "static,random",
                              "--seeds", "2", "--workers", "1", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), out


def test_compare_json_says_the_saver_segment_is_not_measured(report):
    doc, _ = report
    v = doc["verdicts"]["random"]
    assert doc["empty_segments"] == ["saver"]
    assert v["segments"]["saver"] == {"verdict": "not measured", "rule": "no-users",
                                      "seeds_needed": None}
    assert v["segments"]["worker"]["rule"] != "no-users"  # the worker is measured
    call = v["metrics"]["outcome.adjusted"]
    assert call["cls"] == "not measured" and call["ref_mean"] is None and call["p_adj"] is None
    # no 0 reported as the saver's data, anywhere in the document
    for label in ("static", "random"):
        assert doc["means"][label]["outcome.adjusted"] is None
        assert doc["means"][label]["engagement.index[saver]"] is None
    assert doc["stats"]["random"]["outcome.adjusted"] is None
    assert doc["stats"]["random"]["outcome.on_time"]["n"] == 2  # measured metrics keep theirs
    # no seed advice for the saver: the reasons say no users, the warnings say seeds cannot help
    saver = [r for r in v["reasons"] if "saver" in r]
    assert saver and not any("needs" in r.split("saver", 1)[1].split(",")[0] for r in saver)
    assert "saver not measured (no users)" in v["reasons"][-1]
    assert any(w.startswith("segment 'saver' has no users in this run") and "whatever the seeds"
               in w for w in doc["warnings"])


def test_the_markdown_report_prints_not_measured_instead_of_zeros(report):
    _, out = report
    md = (out / "report.md").read_text()
    rows: dict[str, list[list[str]]] = {}  # first cell -> the rest of each row it starts
    for line in md.splitlines():
        if line.startswith("| "):
            cells = [c.strip() for c in line.split("|")[1:-1]]
            rows.setdefault(cells[0], []).append(cells[1:])
    gone = ["—", "—", "—", "not measured (no users in its segment)", "—", "—", "2"]
    verdict_row, table_row = rows["adjusted: adjusted_in_time (saver)"]
    assert verdict_row == ["primary (saver)", *["—"] * 6, "±5%", "not measured",
                           "segment 'saver' has no users in this run"]  # what the verdict reads
    assert table_row == gone  # the Outcomes table
    assert rows["engagement.index[saver]"] == [gone]  # the Engagement table
    assert "adjusted_in_time (saver) [primary] not measured" in md  # the summary line
    assert "- warning: segment 'saver' has no users in this run" in md
    assert rows["adjusted in time"][0][:2] == ["saver", "not measured (no users)"]  # who is harmed
    assert "not measured" in (out / "report.html").read_text()


def test_every_target_segment_empty_gives_not_measured(tmp_path):
    sc = with_overrides("finance_alerts", size_overrides(1, 2))
    assert sc.population.segment_sizes() == {"overspender": 0, "steady": 1, "newcomer": 0}
    path = tmp_path / "finance_one.yaml"
    path.write_text(dump_scenario(sc))
    res = runner.invoke(app, ["compare", str(path), "--policies", "static,random", "--seeds", "2",
                              "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    v = json.loads(res.stdout)["verdicts"]["random"]
    # not a verdict from engagement alone: that would read as one on the outcomes named
    assert (v["verdict"], v["rule"], v["seeds_needed"]) == ("not measured", "no-users", None)
    assert set(v["segments"]) == {"overspender"}


def _contract(tmp_path, scenario, expectations, population=1):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({
        "name": "c", "scenarios": [str(scenario)], "population": population, "horizon_days": 2,
        "seeds": {"count": 2}, "candidate": {"policy": "random"},
        "expectations": expectations}))
    return path


@pytest.mark.parametrize(("expectation", "kind"), [
    ({"kind": "verdict_not", "verdicts": ["trap", "harm"]}, "verdict_not"),  # reads every target
    ({"kind": "outcome_lift", "outcome": "adjusted", "min": -0.05}, "outcome_lift"),
    ({"kind": "share_worse_off", "outcome": "adjusted", "max": 0.1}, "share_worse_off"),
    ({"kind": "share_worse_off", "outcome": "engagement", "segment": "saver", "max": 0.1},
     "share_worse_off"),
])
def test_check_refuses_a_contract_reading_a_segment_with_no_users(tmp_path, expectation, kind):
    p = _contract(tmp_path, TINY, [{"kind": "engagement_lift", "max": 5.0}, expectation])
    for args in (["check", str(p)], ["check", str(p), "--dry-run"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output  # bad input, before any run: not a pass
        assert (f"expectations[1]: contract 'c', {kind}: segment 'saver' (share 0.4) of "
                "scenario 'tiny' has no users at population 1") in res.stderr


def test_check_runs_a_contract_that_reads_only_measured_segments(tmp_path):
    p = _contract(tmp_path, TINY, [{"kind": "engagement_lift", "max": 5.0},
                                   {"kind": "outcome_lift", "outcome": "on_time", "min": -10.0}])
    res = runner.invoke(app, ["check", str(p), "--json"])
    assert res.exit_code in (0, 1), res.output  # evaluated, whatever the outcome
    results = json.loads(res.stdout)["contracts"][0]["results"]
    assert [r["observed"] != "not measured" for r in results] == [True, True]


def test_an_expectation_on_an_empty_segment_fails_when_evaluated_directly(one_user):
    """The Python API (no contract loading): not measured fails, it never passes on no data."""
    sc = load_scenario(one_user)
    cmp = compare(sc, ["static", "random"], seeds=2)
    contract, _ = load_contract(_contract_file(one_user.parent))
    exp = OutcomeLift(kind="outcome_lift", outcome="adjusted", min=-0.05)
    r = evaluate_expectation(exp, contract, sc, cmp, "random")
    assert not r.passed and r.observed == "not measured" and "has no users" in r.message


def _contract_file(folder):
    path = folder / "api.yaml"
    path.write_text(json.dumps({"name": "api", "scenarios": ["tiny"], "candidate": {
        "policy": "random"}, "expectations": [{"kind": "engagement_lift", "max": 5.0}]}))
    return path


def test_no_story_is_told_of_a_spec_with_no_users(report):
    doc, out = report
    # the report's story is of the first primary whose segment has users: on_time, a worker's
    assert doc["who_is_harmed"]["stories"]["random"]["segment"] == "worker"
    res = runner.invoke(app, ["story", str(out), "--most-harmed", "adjusted"])
    assert res.exit_code == 2
    assert "outcome spec 'adjusted' is not measured: its segment 'saver' has no users" in res.stderr


def test_most_harmed_refuses_to_pick_a_user_without_a_value():
    """Every difference NaN (no user has the ratio's denominator): argmin would pick user 0."""
    values = pd.DataFrame({"policy": ["static", "static", "random", "random"],
                           "seed": [0, 0, 0, 0], "user": [0, 1, 0, 1],
                           "outcome.x": [np.nan, np.nan, np.nan, np.nan]})
    with pytest.raises(InputError, match=r"no user has a value of 'outcome\.x'"):
        most_harmed(values, "static", "random", "outcome.x", "increase")
    values.loc[3, "outcome.x"] = 0.0  # one user with both values: still NaN for the reference
    with pytest.raises(InputError):
        most_harmed(values, "static", "random", "outcome.x", "increase")
    values.loc[1, "outcome.x"] = 1.0
    assert most_harmed(values, "static", "random", "outcome.x", "increase") == (0, 1, -1.0)
