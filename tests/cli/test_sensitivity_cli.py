"""``outcome-gym sensitivity`` and ``outcome-gym params`` through the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.scenario.provenance import ENTRIES
from tests.conftest import TINY

runner = CliRunner()
FAST = ["--population", "30", "--horizon-days", "2", "--workers", "1", "--no-progress"]


@pytest.mark.parametrize(("args", "message"), [
    (["--params", "open_bse,residue"], "did you mean 'open_base'"),
    (["--params", "residue"], "at least 2 parameters"),
    (["--params", "residue,open_base", "--trajectories", "1"], "at least 2 trajectories"),
    (["--params", "residue,open_base", "--method", "sobol", "--samples", "12"],
     "power of 2 and at least 8"),
    (["--params", "residue,open_base", "--method", "fast"], "expected method morris or sobol"),
    (["--params", "residue,open_base", "--policies", "engagment_bandit"], "engagement_bandit"),
])
def test_bad_input_exits_2_before_any_run(tmp_path, args, message):
    out = tmp_path / "sens"
    res = runner.invoke(app, ["sensitivity", str(TINY), "--out", str(out), *FAST, *args])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not out.exists()  # nothing was run or written


def test_a_range_outside_the_domain_from_a_file_exits_2(tmp_path):
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text("open_base: [-2, -1]\nresidue: [0.1, 1.5]\n")
    out = tmp_path / "sens"
    res = runner.invoke(app, ["sensitivity", str(TINY), "--out", str(out), "--params",
                              "residue,open_base", "--ranges", str(ranges), *FAST])
    assert res.exit_code == 2
    assert "residue: range [0.1, 1.5] leaves the parameter's valid domain [0, 1]" in res.output
    assert not out.exists()


def test_a_range_that_breaks_the_scenario_exits_2(tmp_path):
    # habit_days x 100 pushes the lognormal's clip bound past the per-user bound 10000
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text("habit_days: [0.5, 100]\n")
    res = runner.invoke(app, ["sensitivity", str(TINY), "--out", str(tmp_path / "s"), "--params",
                              "habit_days,open_base", "--ranges", str(ranges), *FAST])
    assert res.exit_code == 2 and "range end 100 makes tiny invalid" in res.output


def test_end_to_end_on_the_tiny_world_and_resume(tmp_path):
    out = tmp_path / "sens"
    args = ["sensitivity", str(TINY), "--out", str(out), "--params", "open_base,goal_utility",
            "--trajectories", "2", "--seeds", "2", *FAST]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "engagement_bandit vs static:" in res.stdout
    for name in ("report.md", "summary.json", "indices.csv", "shares.csv", "points.csv",
                 "responses.csv", "verdicts.csv", "sensitivity.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    # Morris: r (k + 1) = 2 x 3 points; each point 2 policies x 2 seeds
    assert summary["points"] == 6 and summary["timing"]["runs"] == 24
    assert summary["timing"]["ran"] == 24
    assert any("with 2 seeds no outcome spec can reach significance" in n
               for n in summary["notes"])
    shares = pd.read_csv(out / "shares.csv")
    assert shares.groupby("policy")["share"].sum().tolist() == pytest.approx([1.0])
    first = (out / "indices.csv").read_text()
    assert "lift:engagement.index" in first
    # refused without --overwrite; with it every run is reused and the numbers are identical
    assert runner.invoke(app, args).exit_code == 2
    res = runner.invoke(app, [*args, "--overwrite"])
    assert res.exit_code == 0, res.output
    again = json.loads((out / "summary.json").read_text())
    assert again["timing"]["skipped"] == 24 and again["timing"]["ran"] == 0
    assert (out / "indices.csv").read_text() == first


def test_params_lists_every_parameter():
    res = runner.invoke(app, ["params", "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert [r["path"] for r in rows] == [e.path for e in ENTRIES]
    row = next(r for r in rows if r["name"] == "open_base")
    assert row["default"] == -1.36 and row["source"] == "pielot2018"
    text = runner.invoke(app, ["params"]).stdout
    assert "context.base_failure" in text and "guess" in text and "x[0.6, 1.4]" in text


def test_params_shows_a_scenarios_values():
    res = runner.invoke(app, ["params", "--json", "--scenario", str(TINY)])
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert rows["susceptibility"]["default"]["saver"] == 1.2
    assert runner.invoke(app, ["params", "--scenario", "no_such_world"]).exit_code == 2
