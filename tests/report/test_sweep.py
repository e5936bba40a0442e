"""``outcome-gym report SWEEP_DIR``: figures, markdown and self-contained HTML, numbers checked."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.report.sweep import interval
from outcome_gym.sweeps import sweep
from tests.sweeps.helpers import write_experiment

runner = CliRunner()
MEDIAN = "population.segments.worker.attention_budget.median"


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    path = write_experiment(
        tmp / "exp.yaml", policies=["static", "random"], seeds={"count": 3},
        grid={MEDIAN: [10, 30], "policy.random.notify_prob": [0.1, 0.5],
              "population.size": [40], "clock.horizon_days": [2]})
    out = tmp / "sweep"
    assert sweep(path, out=out, workers=0).exit_code == 0
    res = runner.invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_report_files_are_written_and_self_contained(reported):
    rep = reported / "report"
    figures = sorted(p.name for p in (rep / "figures").iterdir() if p.name != ".outcome-gym")
    assert figures == ["tiny__frontier.png", "tiny__policy.random.notify_prob.png",
                       f"tiny__{MEDIAN}.png"]
    for name in figures:
        assert (rep / "figures" / name).stat().st_size > 10_000
    html = (rep / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert not re.search(r"src=['\"](?!data:)", html)
    md = (rep / "report.md").read_text()
    for name in figures:
        assert f"(figures/{name})" in md


def test_report_tables_match_the_dataset(reported):
    runs = pd.read_csv(reported / "runs.csv")
    md = (reported / "report" / "report.md").read_text()
    # random at notify_prob 0.5: per-seed means over the median axis, then a t interval
    rows = runs[(runs["policy"] == "random") & (runs["param.policy.random.notify_prob"] == 0.5)]
    per_seed = rows.groupby("seed")["engagement.index"].mean().to_numpy()
    mean = per_seed.mean()
    low, high = stats.t.interval(0.95, len(per_seed) - 1, loc=mean, scale=stats.sem(per_seed))
    assert f"| random | 0.5 | 3 | {mean:.4g} [{low:.4g}, {high:.4g}] |" in md
    # static is not swept over notify_prob: one row over all its runs
    static = runs[runs["policy"] == "static"].groupby("seed")["engagement.index"].mean()
    m, lo, hi, _ = interval(static.to_numpy())
    assert f"| static | (not swept) | 3 | {m:.4g} [{lo:.4g}, {hi:.4g}] |" in md


def test_interval_is_the_student_t_interval():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    m, lo, hi, n = interval(x)
    assert (lo, hi) == pytest.approx(stats.t.interval(0.95, 3, loc=x.mean(), scale=stats.sem(x)))
    assert n == 4 and m == 3.5
    assert np.isnan(interval(np.array([2.0]))[1])
