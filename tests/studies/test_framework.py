"""The study framework: experiment files, estimates, paired lifts, result folders, the README table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.errors import ScenarioError
from outcome_gym.studies import STUDIES, Estimate, Fact, StudyResult, write_study
from outcome_gym.studies.common import lift
from outcome_gym.studies.readme import collect, render
from outcome_gym.studies.runs import Job, run_jobs
from outcome_gym.studies.spec import default_params, load_study_file, resolve, study_module
from tests.conftest import REPO

TINY = str(REPO / "tests" / "fixtures" / "tiny.yaml")


def test_estimate_is_mean_with_student_t_interval():
    # values 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.3027 -> half-width 4.3027 / sqrt(3) = 2.4841
    est = Estimate.of([1.0, 2.0, 3.0, math.nan])
    assert est.n == 3 and est.mean == 2.0
    assert est.low == pytest.approx(2.0 - 2.4841, abs=1e-4)
    assert est.high == pytest.approx(2.0 + 2.4841, abs=1e-4)
    assert Estimate.of([]).n == 0 and math.isnan(Estimate.of([]).mean)
    assert Estimate.of([0.1]).text() == "+10.0%"


def test_fact_refuses_unknown_status():
    with pytest.raises(ValueError, match="status"):
        Fact("1 trap", "x", "lit", "crit", "produced", status="maybe")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_experiment_file_errors_name_file_key_line_and_expectation(tmp_path):
    p = _write(tmp_path, "study: trap\nparams:\n  seeds: 10\n  sedes: 3\n  users: five\n")
    with pytest.raises(ScenarioError) as exc:
        load_study_file(p)
    text = str(exc.value)
    assert str(p) in text
    assert "params.sedes" in text and "seeds" in text  # the misspelling, with a suggestion
    assert "params.users" in text and ":5" in text  # file:line of the bad value
    p = _write(tmp_path, "study: trapp\n")
    with pytest.raises(ScenarioError, match="Did you mean 'trap'"):
        load_study_file(p)
    p = _write(tmp_path, "study: trap\nextra: 1\n")
    with pytest.raises(ScenarioError, match="extra"):
        load_study_file(p)


def test_fast_overrides_apply_on_top_of_the_file(tmp_path):
    p = _write(tmp_path, "study: trap\nparams:\n  seeds: 12\n")
    name, params = load_study_file(p)
    assert name == "trap" and params.seeds == 12
    _, fast = load_study_file(p, fast=True)
    assert fast.users == 1500 and fast.seeds == 6
    assert resolve("trap")[1] == load_study_file(REPO / "experiments" / "studies" / "trap.yaml")[1]


@pytest.mark.parametrize("name", list(STUDIES))
def test_every_experiment_file_matches_its_study_defaults(name):
    """experiments/<study>.yaml is the full version: it must not drift from the code's defaults,
    and ``--fast`` on it gives the test-suite version."""
    path = REPO / "experiments" / "studies" / f"{name}.yaml"
    study, params = load_study_file(path)
    assert study == name
    assert params == study_module(name).Params()
    assert load_study_file(path, fast=True)[1] == default_params(name, fast=True)


def test_runs_come_back_in_job_order_identical_with_and_without_a_pool():
    jobs = [Job(TINY, pol, seed, tag=pol) for pol in ("static", "random") for seed in (3, 1)]
    one = run_jobs(jobs, workers=1, keep=())
    two = run_jobs(jobs, workers=2, keep=())
    assert [r.job for r in one] == jobs == [r.job for r in two]
    assert [r.metrics for r in one] == [r.metrics for r in two]


def test_lift_pairs_seed_by_seed():
    jobs = [Job(TINY, "static", s) for s in (0, 1, 2)]
    res = run_jobs(jobs, keep=())
    est, p = lift(res, res, lambda r: r.metrics["engagement.index"])
    assert est.mean == 0.0 and p == 1.0
    with pytest.raises(ValueError, match="same seeds"):
        lift(res, res[::-1], lambda r: r.metrics["engagement.index"])


def test_study_folder_and_readme_table(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    facts = [Fact("3 volume", "s", "lit", "crit", "+1%", "pass"),
             Fact("1 trap", "s", "lit a|b", "crit", "-2%", "fail", explanation="missing x")]
    res = StudyResult(name="trap", title="T", command="cmd", params={"seeds": 2}, facts=facts,
                      tables={"arms": pd.DataFrame({"a": [1.5, np.nan], "b": ["x", "y"]})},
                      figures={"f": fig}, notes=["note"])
    out = write_study(res, tmp_path / "trap")
    assert sorted(p.name for p in out.iterdir()) == ["arms.csv", "facts.json", "figures",
                                                     "report.md"]
    data = json.loads((out / "facts.json").read_text())
    assert [f["status"] for f in data["facts"]] == ["pass", "fail"]
    assert (out / "figures" / "f.png").stat().st_size > 1000
    rows = collect(tmp_path)
    assert [r["fact"] for r in rows] == ["1 trap", "3 volume"]  # ordered by fact number
    text = render(rows)
    assert "lit a\\|b" in text and "**fail**" in text and "missing x" in text
    assert "Not yet run here: timing" in text
    assert "Totals: 1 fail, 1 pass." in text


def test_cli_experiment_fast_end_to_end(tmp_path):
    result = CliRunner().invoke(app, ["experiment", "trap", "--fast", "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "trap: 1 trap [productivity_tool]" in result.output
    assert (tmp_path / "trap" / "report.md").exists()
    assert "| 1 trap | productivity_tool |" in (tmp_path / "README.md").read_text()


def test_cli_experiment_bad_input_exits_2(tmp_path):
    bad = _write(tmp_path, "study: trap\nparams:\n  seeds: 1\n")
    result = CliRunner().invoke(app, ["experiment", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "exp.yaml:3: params.seeds: expected a number >= 2, got 1" in result.output
    result = CliRunner().invoke(app, ["experiment", "tarp"])
    assert result.exit_code == 2 and "Did you mean 'trap'" in result.output
